"""The engine: version by basis time, program dates, pilot, scope, conditions, multipliers, caps and clawback on the
award, several programs side by side; pure and independent of event order."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from shared.directory.people import Employee
from shared.events import Channel, Kind, Priority, Source, Status, Survey
from shared.programs.awards import ClawbackPolicy
from shared.programs.engine import evaluate
from shared.sla.config import Location
from shared.tickets.state import fold
from tests.unit.programs.builders import (
    ADVISOR,
    EMPLOYEES,
    MET_BOTH,
    T0,
    TECH_1,
    book,
    document,
    event,
    job_card,
    rule,
    solved_ticket,
    versions,
)


def keys(awards) -> list[tuple[str, str, int]]:
    return [(a.rule_id, a.employee_id, a.points) for a in awards]


def test_the_version_in_force_at_the_basis_prices_it() -> None:
    # Given v1 (10 points) and v2 (20 points) effective one hour after the ticket was solved
    v1 = document([rule('fcr', 10)])
    v2 = document([rule('fcr', 20, version=2)], effective_from=(T0 + timedelta(hours=3)).isoformat())
    state = solved_ticket()  # solved at T0 + 2 h

    # When evaluated after v2 was published
    (award,) = evaluate(versions((1, v1), (2, v2)), state, EMPLOYEES, None, None)

    # Then the solve is priced by v1 (past bases are never re-priced); a later solve by v2
    assert (award.program_version, award.rule_version, award.points) == (1, 1, 10)
    later = document([rule('fcr', 20, version=2)], effective_from=(T0 + timedelta(hours=1)).isoformat())
    (award,) = evaluate(versions((1, v1), (2, later)), state, EMPLOYEES, None, None)
    assert (award.program_version, award.rule_version, award.points) == (2, 2, 20)


def test_each_basis_of_one_ticket_picks_its_own_version_even_for_rules_the_newer_version_dropped() -> None:
    # Given v1 with FCR and CSAT rules, v2 (effective between the solve and the survey) with CSAT only
    v1 = document([rule('fcr', 10), rule('csat_positive', 5)])
    v2 = document([rule('csat_positive', 8)], effective_from=(T0 + timedelta(hours=5)).isoformat())
    state = solved_ticket(extra_events=(event(9, 600, kind=Kind.SURVEY, survey=Survey(response_id='R1', csat=5)),))

    # When evaluated
    awards = evaluate(versions((1, v1), (2, v2)), state, EMPLOYEES, None, None)

    # Then the solve (before v2) still earns FCR under v1, and the survey (after v2) is priced by v2
    assert [(a.rule_id, a.program_version, a.points) for a in awards] == [('csat_positive', 2, 8), ('fcr', 1, 10)]


def test_nothing_is_earned_before_the_first_version_or_outside_the_program_dates() -> None:
    future = document([rule('fcr', 10)], effective_from=(T0 + timedelta(days=1)).isoformat())
    assert evaluate(book(future), solved_ticket(), EMPLOYEES, None, None) == []
    ended = document([rule('fcr', 10)], ends_on='2026-10-04')
    assert evaluate(book(ended), solved_ticket(), EMPLOYEES, None, None) == []
    not_started = document([rule('fcr', 10)], starts_on='2026-10-06')
    assert evaluate(book(not_started), solved_ticket(), EMPLOYEES, None, None) == []


def test_program_dates_are_days_in_the_program_time_zone() -> None:
    # Given a ticket solved at 11:00 UTC on 5 Oct, a program ending 5 Oct in Kiritimati (UTC+14: already 6 Oct)
    doc = document([rule('fcr', 10)], time_zone='Pacific/Kiritimati', ends_on='2026-10-05')
    assert evaluate(book(doc), solved_ticket(), EMPLOYEES, None, None) == []


def test_before_the_rollout_only_pilot_locations_earn() -> None:
    # Given a workshop program piloted at BLR until 1 Nov
    pilot = {'locations': ['IN-BLR-01'], 'rollout_on': '2026-11-01'}
    doc = document([rule('on_time_delivery', 40)], pilot=pilot)

    # Then a BLR card earns in October, a PNQ card does not until the rollout
    assert keys(evaluate(book(doc), job_card(), EMPLOYEES, None, None)) == [('on_time_delivery', 'E2', 40)]
    pune = fold([e.model_copy(update={'location_id': 'IN-PNQ-01'} if e.location_id else {}) for e in _card_events()])
    assert evaluate(book(doc), pune, EMPLOYEES, None, None) == []
    rolled_out = document([rule('on_time_delivery', 40)], pilot={'locations': ['IN-BLR-01'], 'rollout_on': '2026-10-01'})
    assert keys(evaluate(book(rolled_out), pune, EMPLOYEES, None, None)) == [('on_time_delivery', 'E2', 40)]


def test_scope_roles_locations_regions_and_channels() -> None:
    state = solved_ticket(replies=1)
    nyc = Location(location_id='US-NYC', region='US-East', calendar_id='24x7')

    def earns(**scope) -> bool:
        return bool(evaluate(book(document([rule('fcr', 10)], scope=scope)), state, EMPLOYEES, None, nyc))

    assert earns(roles=['agent'], locations=['US-NYC'], regions=['US-East'], channels=['email'])
    assert not earns(roles=['support'])
    assert not earns(locations=['UK-LON'])
    assert not earns(regions=['UK'])
    assert not earns(channels=['chat'])
    assert not earns(job_grades=['junior'])


def test_rule_conditions_on_the_person_and_on_the_ticket() -> None:
    vip_urgent = solved_ticket(channel=Channel.CHAT, priority=Priority.URGENT, tags=('tier:vip',))

    def earns(state, **conditions) -> bool:
        return bool(evaluate(book(document([rule('fcr', 10, conditions=conditions)])), state, EMPLOYEES, None, None))

    assert earns(vip_urgent, roles=['agent'], job_grades=['senior'], channels=['chat'], priorities=['urgent', 'high'],
                 locations=['US-NYC'], customer_tiers=['vip'])
    assert not earns(vip_urgent, customer_tiers=['gold'])
    assert not earns(solved_ticket(), customer_tiers=['vip'])  # no tier tag: not a VIP
    assert not earns(vip_urgent, priorities=['low'])
    assert not earns(vip_urgent, channels=['phone'])
    assert not earns(vip_urgent, job_grades=['junior'])
    assert not earns(vip_urgent, roles=['technician'])
    assert not earns(vip_urgent, locations=['UK-LON'])


def test_multipliers_apply_within_their_range_and_are_recorded() -> None:
    quick = {'name': 'fast', 'factor': 1.5, 'input': 'sla_used_pct', 'max': 50}
    slow = {'name': 'slow', 'factor': 0.5, 'input': 'sla_used_pct', 'min': 90}
    (award,) = evaluate(book(document([rule('resolution_within_sla', 10, multipliers=[quick, slow])])), solved_ticket(), EMPLOYEES, MET_BOTH, None)
    assert award.points == 15 and award.inputs['multipliers'] == 'fastx1.5'  # 25 % of the target used


def test_hold_caps_and_clawback_are_copied_onto_the_award() -> None:
    doc = document([rule('resolution_within_sla', 10, hold_hours=72, caps={'day': 50, 'month': 400},
                         clawback={'policy': 'reverse', 'within_days': 30})], time_zone='America/New_York')
    (award,) = evaluate(book(doc), solved_ticket(), EMPLOYEES, MET_BOTH, None)
    assert award.release_at - award.basis_at == timedelta(hours=72)
    assert dict(award.caps) == {'day': 50, 'month': 400}
    assert (award.clawback, award.clawback_days, award.time_zone) == (ClawbackPolicy.REVERSE, 30, 'America/New_York')
    assert (award.program_ref, award.rule_ref) == ('test@1', 'resolution_within_sla@1')


def test_two_programs_run_side_by_side() -> None:
    support = document([rule('fcr', 10)], program_id='support')
    workshop = document([rule('on_time_delivery', 40)], program_id='workshop')
    both = book(support, workshop)
    assert [(a.program_id, a.rule_id) for a in evaluate(both, solved_ticket(), EMPLOYEES, None, None)] == [('support', 'fcr')]
    assert [(a.program_id, a.rule_id) for a in evaluate(both, job_card(), EMPLOYEES, None, None)] == [('workshop', 'on_time_delivery')]


def test_unmapped_or_inactive_people_earn_nothing_and_one_person_in_two_roles_gets_one_award() -> None:
    doc = document([rule('zero_defect', 30, credit={'advisor': 40, 'technician': 60})])
    inactive = dict(EMPLOYEES, **{'tech-1': Employee('E3', role='technician', active=False)})
    assert keys(evaluate(book(doc), job_card(assignees=(ADVISOR, TECH_1)), inactive, None, None)) == [('zero_defect', 'E2', 12)]
    same_person = dict(EMPLOYEES, **{'tech-1': Employee('E2', role='service_advisor')})
    assert keys(evaluate(book(doc), job_card(assignees=(ADVISOR, TECH_1)), same_person, None, None)) == [('zero_defect', 'E2', 30)]


def test_awards_do_not_depend_on_the_order_or_the_repetition_of_the_events() -> None:
    # Given a job card's events and a program of several kinds
    doc = document([rule('on_time_delivery', 40), rule('zero_defect', 30, credit={'advisor': 40, 'technician': 60}),
                    rule('upsell', 0, params={'mode': 'per_category', 'categories': {'tyres': 50}})], currency='INR', points_per_currency_unit=1)
    events = _card_events()
    expected = evaluate(book(doc), fold(events), EMPLOYEES, None, None)
    rng = random.Random(7)

    # When they arrive shuffled and duplicated
    for _ in range(20):
        shuffled = events + rng.sample(events, 2)
        rng.shuffle(shuffled)

        # Then the awards are the same, keys, amounts and basis times
        assert evaluate(book(doc), fold(shuffled), EMPLOYEES, None, None) == expected
    assert [a.basis_key for a in expected] == ['on_time_delivery', 'upsell:UL-1', 'zero_defect', 'zero_defect']


def _card_events():
    common: dict[str, Any] = {'kind': Kind.JOB_CARD, 'external_id': 'JC-1'}
    line = {'line_id': 'UL-1', 'category': 'tyres', 'amount': '8000.00', 'currency': 'INR'}
    return [
        event(1, 0, source=Source.DMS, status=Status.OPEN, raw_status='opened', assignees=(ADVISOR, TECH_1), location_id='IN-BLR-01',
              promised_at=T0 + timedelta(hours=6), upsell_lines=(line,), **common),
        event(2, 60, source=Source.DMS, status=Status.PENDING, raw_status='awaiting_approval', **common),
        event(3, 120, source=Source.DMS, status=Status.OPEN, raw_status='approved', **common),
        event(4, 180, source=Source.DMS, status=Status.SOLVED, raw_status='work_done', **common),
        event(5, 240, source=Source.DMS, status=Status.CLOSED, raw_status='delivered', resolved_at=T0 + timedelta(hours=4), **common),
    ]

