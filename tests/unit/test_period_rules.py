"""Period rules (pure): rule validation names the field, accelerator bands and amounts, survey bonuses
and their minimum responses, team bonuses (monthly and quarterly), scope and pilot, entry identity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.programs.period import (
    PeriodData,
    Person,
    ended_months,
    month_bounds,
    period_entries,
    reads_for,
)
from shared.programs.period_rules import parse_period_rule
from tests.support.period_programs import ACCELERATOR, CSAT_BONUS, NPS_BONUS, TEAM_BONUS, Pilot, Scope, program

NOW = datetime(2026, 11, 4, 0, 10, tzinfo=UTC)
MONTH = '2026-10'
ANA = Person('E1', role='agent', job_grade='L1', location_id='NYC', region='East', team_id='M1')
BO = Person('E2', role='agent', job_grade='L2', location_id='NYC', region='East', team_id='M1')
CHANDRA = Person('E3', role='service_advisor', job_grade='SA2', location_id='BLR', region='South', team_id='M2')


def sla(met: int, breached: int) -> dict[str, int]:
    return {'sfr_met': met, 'srs_br': breached}


def errors(data: dict[str, Any], context: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        parse_period_rule(data, context)
    return [('.'.join(map(str, error['loc'])), error['msg']) for error in caught.value.errors()]


# --- validation ------------------------------------------------------------------------------------
def test_unknown_kpi_is_rejected_naming_the_field() -> None:
    # Given: an accelerator on a KPI the report does not compute
    # When: validating it
    found = errors(ACCELERATOR | {'kpi': 'happiness_index'})
    # Then: the error is on accelerator.kpi and names the KPI
    assert [loc for loc, _ in found] == ['accelerator.kpi']
    assert 'happiness_index' in found[0][1]


def test_overlapping_bands_are_rejected_naming_the_bands() -> None:
    # Given: bands [90, 96) and [95, inf)
    bands = [{'min': 90, 'max': 96, 'factor': 1.2}, {'min': 95, 'factor': 1.5}]
    # When: validating
    found = errors(ACCELERATOR | {'bands': bands})
    # Then: the field is bands, and the message says which two overlap
    assert found[0][0] == 'accelerator.bands'
    assert 'bands 0 and 1 overlap' in found[0][1]


@pytest.mark.parametrize(
    ('change', 'field'),
    [
        ({'bands': [{'min': 95, 'factor': 0}]}, 'accelerator.bands.0.factor'),
        ({'bands': [{'min': 95, 'max': 90, 'factor': 1.5}]}, 'accelerator.bands.0'),
        ({'applies_to': []}, 'accelerator.applies_to'),
        ({'kind': 'bonus_of_the_month'}, ''),
    ],
    ids=['factor-zero', 'max-below-min', 'no-rules', 'unknown-kind'],
)
def test_bad_rules_name_the_field(change: dict[str, Any], field: str) -> None:
    # Given / When: an accelerator with one bad value
    found = errors(ACCELERATOR | change)
    # Then: the error is located at that field
    assert found[0][0] == field, found


def test_survey_and_team_rules_reject_out_of_range_values() -> None:
    # Given / When / Then: a CSAT threshold above 100%, an NPS threshold above 100, a target of 0 minutes
    assert errors(CSAT_BONUS | {'threshold': 120})[0][0] == 'csat_bonus'
    assert errors(NPS_BONUS | {'threshold': 101})[0][0] == 'nps_bonus.threshold'
    assert errors(TEAM_BONUS | {'first_response_target_minutes': 0})[0][0] == 'team_bonus.first_response_target_minutes'
    assert errors(CSAT_BONUS | {'min_responses': 0})[0][0] == 'csat_bonus.min_responses'


def test_unknown_role_or_location_is_rejected_when_the_context_knows_them() -> None:
    # Given: conditions naming a role and a location the context does not know
    rule = CSAT_BONUS | {'conditions': {'roles': ['astronaut'], 'locations': ['MARS']}}
    context = {'roles': {'agent', 'technician'}, 'locations': {'NYC', 'BLR'}}
    # When: validating with the directory's roles and the service config's locations
    found = errors(rule, context)
    # Then: both fields are named; without a context nothing is checked
    assert {loc for loc, _ in found} == {'csat_bonus.conditions.roles', 'csat_bonus.conditions.locations'}
    assert parse_period_rule(rule).conditions.roles == ['astronaut']


def test_kpi_aliases_and_report_names_are_accepted() -> None:
    # Given / When: accelerators on the brief's names and the report's names
    for kpi in ('sla_compliance', 'csat', 'fcr_rate', 'first_time_fix_rate', 'first_contact_resolution', 'nps'):
        # Then: each validates
        assert parse_period_rule(ACCELERATOR | {'kpi': kpi}).kind == 'accelerator'


# --- accelerator -----------------------------------------------------------------------------------
def accelerate(counters: dict[str, int], earned: dict[str, int], **rule: Any) -> list[Any]:
    prog = program('support', [ACCELERATOR | rule])
    data = PeriodData({('employee#E1', MONTH): counters}, {'E1': earned})
    return period_entries(prog, 3, [ANA], MONTH, data, NOW)


@pytest.mark.parametrize(
    ('met', 'breached', 'factor', 'bonus'),
    [(19, 1, 1.5, 100), (47, 3, 1.2, 40), (9, 1, 1.2, 40), (89, 11, 1.0, 0), (100, 0, 1.5, 100)],
    ids=['95%-top-band', '94%-middle', '90%-lower-edge', '89%-factor-1', '100%'],
)
def test_accelerator_picks_the_band_holding_the_attainment(met: int, breached: int, factor: float, bonus: int) -> None:
    # Given: SLA compliance met/(met+breached) and 200 points released under the listed rule (50 under another)
    earned = {'r_resolution_within_sla': 200, 'r_csat_positive': 50}
    # When: closing the month
    entries = accelerate(sla(met, breached), earned)
    # Then: bonus = (factor - 1) x 200, with the band and the KPI figures as inputs
    assert sum(e.amount for e in entries) == bonus
    if bonus:
        (entry,) = entries
        assert entry.reason.inputs['factor'] == factor
        assert entry.reason.inputs['earned_points'] == 200
        assert entry.reason.inputs['count'] == met + breached
        assert entry.reason.inputs['value'] == round(met / (met + breached) * 100, 2)


def test_accelerator_below_one_deducts_and_rounds_half_up() -> None:
    # Given: a band below 80% with factor 0.75, and 2 points earned
    bands = [{'min': 0, 'max': 80, 'factor': 0.75}, {'min': 80, 'factor': 1.25}]
    # When: attainment 50% / 100%
    low = accelerate(sla(1, 1), {'r_resolution_within_sla': 2}, bands=bands)
    high = accelerate(sla(1, 0), {'r_resolution_within_sla': 2}, bands=bands)
    # Then: -0.5 rounds to -1 (a deduction), +0.5 rounds to +1
    assert [e.amount for e in low] == [-1]
    assert [e.amount for e in high] == [1]


def test_accelerator_needs_its_minimum_count_and_earned_points() -> None:
    # Given: 100% SLA over 3 items, min_count 5; and an employee with no released points
    # When / Then: nothing is paid in either case
    assert accelerate(sla(3, 0), {'r_resolution_within_sla': 200}, min_count=5) == []
    assert accelerate(sla(20, 0), {}) == []


def test_accelerator_rule_id_with_a_dash_reads_the_earnings_attribute_the_ledger_writes() -> None:
    # Given: applies_to a rule id with a dash (the ledger writes r_<id with _>)
    entries = accelerate(sla(20, 0), {'r_sla_resolution': 100}, applies_to=['sla-resolution'])
    # Then: its points are found
    assert [e.amount for e in entries] == [50]


# --- survey bonuses --------------------------------------------------------------------------------
def test_csat_bonus_needs_the_minimum_responses_and_the_threshold() -> None:
    prog = program('support', [CSAT_BONUS])

    def paid(responses: int, good: int) -> list[int]:
        data = PeriodData({('employee#E1', MONTH): {'cs_n': responses, 'cs_g': good, 'cs_sum': 5 * good}})
        return [e.amount for e in period_entries(prog, 1, [ANA], MONTH, data, NOW)]

    # Given / When / Then: 4 perfect responses (min 5) -> nothing; 5 at 100% -> 50; 10 at 80% -> nothing; 10 at 90% -> 50
    assert paid(4, 4) == []
    assert paid(5, 5) == [50]
    assert paid(10, 8) == []
    assert paid(10, 9) == [50]


def test_csat_bonus_on_the_average_rating_uses_the_reports_average() -> None:
    # Given: a CSAT-average bonus at 4.5 and ratings summing to 23 over 5 responses (4.6)
    prog = program('support', [CSAT_BONUS | {'metric': 'csat_average', 'threshold': 4.5}])
    data = PeriodData({('employee#E1', MONTH): {'cs_n': 5, 'cs_g': 5, 'cs_sum': 23}})
    # When: closing
    (entry,) = period_entries(prog, 1, [ANA], MONTH, data, NOW)
    # Then: paid, with the average and count as inputs
    assert (entry.amount, entry.reason.inputs['value'], entry.reason.inputs['count']) == (50, 4.6, 5)


def test_nps_bonus_counts_promoters_minus_detractors() -> None:
    # Given: 4 responses, 3 promoters and 1 detractor (NPS 50), threshold 50, min 3
    prog = program('support', [NPS_BONUS])
    data = PeriodData({('employee#E1', MONTH): {'np_n': 4, 'np_p': 3, 'np_d': 1}})
    # When / Then: paid 40 points
    assert [e.amount for e in period_entries(prog, 1, [ANA], MONTH, data, NOW)] == [40]
    # And: 2 promoters of 2 (NPS 100, below the minimum of 3 responses) does not; 4 with NPS 25 does not
    data = PeriodData({('employee#E1', MONTH): {'np_n': 2, 'np_p': 2}})
    assert period_entries(prog, 1, [ANA], MONTH, data, NOW) == []
    data = PeriodData({('employee#E1', MONTH): {'np_n': 4, 'np_p': 2, 'np_d': 1}})
    assert period_entries(prog, 1, [ANA], MONTH, data, NOW) == []


# --- team bonus ------------------------------------------------------------------------------------
def team(first_response_min: float, resolution_min: float, tickets: int = 10) -> dict[str, int]:
    return {'fr_n': tickets, 'fr_s': int(first_response_min * 60 * tickets), 'rs_n': tickets, 'rs_s': int(resolution_min * 60 * tickets)}


def test_team_bonus_pays_each_member_when_both_averages_are_within_target() -> None:
    # Given: team M1 (Ana, Bo) at 20 min first response and 300 min resolution; team M2 (Chandra) at 45 min
    prog = program('support', [TEAM_BONUS])
    data = PeriodData({('team#M1', MONTH): team(20, 300), ('team#M2', MONTH): team(45, 300)})
    # When: closing the month
    entries = period_entries(prog, 1, [ANA, BO, CHANDRA], MONTH, data, NOW)
    # Then: Ana and Bo get 25 each, with the team's figures; Chandra's team missed the first-response target
    assert {(e.employee_id, e.amount) for e in entries} == {('E1', 25), ('E2', 25)}
    assert entries[0].reason.inputs['first_response_minutes'] == 20
    assert entries[0].reason.inputs['resolution_minutes'] == 300


def test_team_bonus_misses_on_resolution_or_too_few_tickets() -> None:
    prog = program('support', [TEAM_BONUS | {'min_tickets': 5}])
    # Given / When / Then: resolution 481 min > 480 -> nothing; 4 tickets < 5 -> nothing
    assert period_entries(prog, 1, [ANA], MONTH, PeriodData({('team#M1', MONTH): team(10, 481)}), NOW) == []
    assert period_entries(prog, 1, [ANA], MONTH, PeriodData({('team#M1', MONTH): team(10, 100, tickets=4)}), NOW) == []


def test_quarterly_team_bonus_is_judged_on_the_quarters_three_months_at_its_end() -> None:
    # Given: a quarterly team bonus; July and August fast, September slow (first response 60 min)
    prog = program('support', [TEAM_BONUS | {'period': 'quarterly'}])
    items = {('team#M1', '2026-07'): team(10, 100), ('team#M1', '2026-08'): team(10, 100), ('team#M1', '2026-09'): team(60, 100)}
    # When: closing August (not a quarter end) and September (Q3's end)
    august = period_entries(prog, 1, [ANA], '2026-08', PeriodData(items), NOW)
    september = period_entries(prog, 1, [ANA], '2026-09', PeriodData(items), NOW)
    # Then: nothing in August; in September the quarter's average first response is (10+10+60)/3 = 26.67 min <= 30
    assert august == []
    (entry,) = september
    assert entry.reason.inputs['first_response_minutes'] == 26.67
    assert entry.reason.basis_event_id == 'team-speed#2026-Q3'
    # And: the reads ask for the three months of the team
    assert set(reads_for(prog, [ANA], '2026-09').kpi_keys) == set(items)


# --- who, what and when ----------------------------------------------------------------------------
def test_scope_conditions_and_pilot_decide_who_is_paid() -> None:
    # Given: CSAT bonus for agents only, a program scoped to NYC and BLR, piloted at BLR until 2026-11-01
    rules = [CSAT_BONUS | {'conditions': {'roles': ['agent', 'service_advisor']}}]
    perfect = {'cs_n': 5, 'cs_g': 5, 'cs_sum': 25}
    people = [ANA, CHANDRA, Person('E9', role='agent', location_id='LON'), Person('E8', role='agent', location_id='NYC', active=False)]
    data = PeriodData({(f'employee#{p.employee_id}', MONTH): perfect for p in people})
    scoped = program('support', rules, scope=Scope(locations=['NYC', 'BLR']), pilot=Pilot(['BLR'], date(2026, 11, 1)))
    # When: closing October (before the rollout) and, without the pilot, the same month
    piloted = {e.employee_id for e in period_entries(scoped, 1, people, MONTH, data, NOW)}
    rolled_out = {e.employee_id for e in period_entries(program('support', rules, scope=Scope(locations=['NYC', 'BLR'])), 1, people, MONTH, data, NOW)}
    # Then: only the pilot location before rollout; afterwards both scoped locations; never London nor a leaver
    assert piloted == {'E3'}
    assert rolled_out == {'E1', 'E3'}


def test_entries_are_identified_by_program_rule_employee_and_period() -> None:
    # Given: the same close computed twice, a minute apart, with different program versions
    prog = program('support', [CSAT_BONUS])
    data = PeriodData({('employee#E1', MONTH): {'cs_n': 5, 'cs_g': 5, 'cs_sum': 25}})
    (first,) = period_entries(prog, 3, [ANA], MONTH, data, NOW)
    (second,) = period_entries(prog, 4, [ANA], MONTH, data, NOW + timedelta(minutes=1))
    # Then: one entry id (a rerun finds it written); the reason names program@version and rule@version
    assert first.entry_id == second.entry_id
    assert (first.reason.program_id, first.reason.rule_id, first.reason.rule_version) == ('support@3', 'csat-bonus', 1)
    assert first.kind.value == 'award' and first.status.value == 'available'
    # And: it belongs to October in the program's zone
    assert first.period == MONTH


def test_entry_falls_in_the_closed_month_of_the_programs_zone() -> None:
    # Given: a program in Kolkata (UTC+5:30)
    prog = program('support', [CSAT_BONUS], time_zone='Asia/Kolkata')
    data = PeriodData({('employee#E1', MONTH): {'cs_n': 5, 'cs_g': 5, 'cs_sum': 25}})
    # When / Then: the entry's period is October although its UTC instant is 31 Oct 18:29:59
    (entry,) = period_entries(prog, 1, [ANA], MONTH, data, NOW)
    assert entry.period == MONTH
    assert month_bounds(MONTH, 'Asia/Kolkata')[1] == datetime(2026, 10, 31, 18, 30, tzinfo=UTC)


def test_months_end_in_the_programs_zone_plus_grace() -> None:
    # Given: a Los Angeles program (October ends 1 Nov 07:00 UTC), grace 72 h
    prog = program('support', [CSAT_BONUS], time_zone='America/Los_Angeles', starts_on=date(2026, 9, 15))
    grace = timedelta(hours=72)
    # When / Then: on 4 Nov 06:59 UTC October is not due yet; at 07:00 it is; September overlaps the program's dates
    assert ended_months(prog, datetime(2026, 11, 4, 6, 59, tzinfo=UTC), grace) == ['2026-09']
    assert ended_months(prog, datetime(2026, 11, 4, 7, 0, tzinfo=UTC), grace) == ['2026-09', '2026-10']


def test_a_program_document_closes_like_the_local_program() -> None:
    # Given: the support program as a real ProgramDocument (period rules validated inside it)
    from shared.programs.document import ProgramDocument

    document = ProgramDocument.model_validate({
        'program_id': 'support', 'name': 'Support', 'time_zone': 'UTC', 'currency': 'USD', 'points_per_currency_unit': 10,
        'period': 'monthly', 'starts_on': '2026-10-01', 'effective_from': '2026-10-01T00:00:00Z',
        'rules': [{'rule_id': 'resolution_within_sla', 'kind': 'resolution_within_sla', 'points': 10}],
        'period_rules': [ACCELERATOR, CSAT_BONUS], 'pilot': {'locations': ['NYC'], 'rollout_on': '2026-12-01'},
    })
    data = PeriodData({('employee#E1', MONTH): sla(19, 1) | {'cs_n': 5, 'cs_g': 5}, ('employee#E3', MONTH): {'cs_n': 5, 'cs_g': 5}},
                      {'E1': {'r_resolution_within_sla': 200}})
    # When: closing October (before the pilot's rollout)
    entries = period_entries(document, 7, [ANA, CHANDRA], MONTH, data, NOW)
    # Then: Ana (pilot location) gets the accelerator and the CSAT bonus; Chandra (BLR) nothing yet
    assert [(e.employee_id, e.reason.rule_id, e.amount) for e in entries] == [('E1', 'csat-bonus', 50), ('E1', 'sla-accelerator', 100)]
    assert entries[0].reason.program_id == 'support@7'
