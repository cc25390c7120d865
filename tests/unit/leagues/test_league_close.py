"""The league close, pure (shared/leagues/close.py): who is in a division, the ranking and its tie-break chain,
prizes, trophies, challenges, the digest and the ledger entries of the awards; and the program document's own
refusals of a league (through shared.programs.document.parse_program)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.leagues.close import Figures, Member, division_digest, league_entries, plan_divisions, rank_division
from shared.leagues.config import LeagueConfig
from shared.leagues.roster import RosterPerson
from shared.ledger.entries import EntryKind, EntryStatus
from shared.programs.document import ProgramInvalid, parse_program

EVENTS = Path(__file__).resolve().parents[3] / 'events'
MONTH = '2026-10'
CLOSED_AT = '2026-10-31T18:35:00+00:00'


def league(**overrides: Any) -> LeagueConfig:
    base: dict[str, Any] = {
        'name': 'Pitstop League',
        'divisions': {'by': ['role'], 'labels': {'technician': 'Workshop technicians'}},
        'scoring': {'score': 'points', 'workload_kpi': 'job_cards', 'min_items': 3},
        'prizes': [1000, 600, 300],
        'trophies': [
            {'trophy_id': 'mvp', 'name': 'MVP', 'points': 250},
            {'trophy_id': 'customer_wow', 'name': 'Customer-wow champion', 'kpi': 'csat', 'min_count': 5, 'points': 200},
            {'trophy_id': 'speed_racer', 'name': 'Speed racer', 'kpi': 'turnaround_time', 'min_count': 5, 'points': 200},
        ],
        'challenges': [
            {'challenge_id': 'zero_comebacks', 'name': 'No comebacks', 'kpi': 'first_time_fix_rate', 'target': 95, 'min_count': 10,
             'points': 300, 'roles': ['technician']},
            {'challenge_id': 'on_time', 'name': 'On time', 'kpi': 'on_time_delivery', 'target': 95, 'min_count': 10, 'points': 300,
             'roles': ['service_advisor']},
        ],
    }
    return LeagueConfig.model_validate(base | overrides)


def figures(points: int, *, qualified: bool = True, reached_at: str = '2026-10-20T10:00:00+00:00', entries: int = 5,
            digest: str = 'a' * 16) -> Figures:
    return Figures(points=points, items=10, score_x100=points * 100, entries=entries, digest=digest, reached_at=reached_at,
                   qualified=qualified)


def csat(good: int, responses: int, breaches: int = 0) -> dict[str, int]:
    return {'cs_g': good, 'cs_n': responses, 'srs_br': breaches, 'srs_met': 20}


def rank(config: LeagueConfig, people: dict[str, Figures], counters: dict[str, dict[str, int]] | None = None,
         role: str = 'technician') -> Any:
    members = [Member(employee_id, role, 'IN-BLR-01') for employee_id in sorted(people)]
    return rank_division(config, program_id='pitstop', version=3, month=MONTH, division=role, members=members, figures=people,
                         counters=counters or {}, closed_at=CLOSED_AT)


def order(close: Any) -> list[tuple[int | None, str]]:
    return [(row.rank, row.employee_id) for row in close.result.rows]


def test_equal_scores_are_ranked_by_csat_then_fewer_breaches_then_who_reached_the_score_first_then_employee_id() -> None:
    # Given: five technicians on 400 points, and one on 500
    people = {
        'T1': figures(400, reached_at='2026-10-20T10:00:00+00:00'),
        'T2': figures(400, reached_at='2026-10-21T10:00:00+00:00'),  # same CSAT and breaches as T1, reached later
        'T3': figures(400),  # higher CSAT than everyone on 400
        'T4': figures(400),  # same CSAT as T1/T2 but one more breach
        'T5': figures(400, reached_at='2026-10-20T10:00:00+00:00'),  # T1's twin: only the employee id separates them
        'T6': figures(500),
    }
    counters = {'T1': csat(9, 10), 'T2': csat(9, 10), 'T3': csat(10, 10), 'T4': csat(9, 10, breaches=1), 'T5': csat(9, 10), 'T6': csat(1, 10)}
    # When: the division is ranked with the chain csat, fewer_breaches, earliest
    close = rank(league(tie_breaks=['csat', 'fewer_breaches', 'earliest']), people, counters)
    # Then: the higher score first, then each tie-break in turn, and the employee id last
    assert order(close) == [(1, 'T6'), (2, 'T3'), (3, 'T1'), (4, 'T5'), (5, 'T2'), (6, 'T4')]
    assert close.result.rows[0].csat == 10.0 and close.result.rows[5].breaches == 1


def test_the_tie_break_chain_is_applied_in_the_order_the_program_lists_it() -> None:
    # Given: two people on the same score: A has the better CSAT, B reached the score first
    people = {'A': figures(300, reached_at='2026-10-25T00:00:00+00:00'), 'B': figures(300, reached_at='2026-10-05T00:00:00+00:00')}
    counters = {'A': csat(10, 10), 'B': csat(5, 10)}
    # When: ranked with csat first, then with earliest first
    by_csat = rank(league(tie_breaks=['csat', 'earliest']), people, counters)
    by_time = rank(league(tie_breaks=['earliest', 'csat']), people, counters)
    # Then: each chain decides by its own first tie-break
    assert order(by_csat) == [(1, 'A'), (2, 'B')]
    assert order(by_time) == [(1, 'B'), (2, 'A')]


def test_no_csat_ranks_after_any_csat_and_the_unqualified_are_listed_unranked_after_the_ranked() -> None:
    # Given: a tie between someone with a CSAT of 0% and someone with no survey; an unqualified person with more points
    people = {'A': figures(200), 'B': figures(200), 'C': figures(900, qualified=False)}
    counters = {'A': csat(0, 3)}
    # When
    close = rank(league(), people, counters)
    # Then: a CSAT of 0 still beats no CSAT; the unqualified person is listed last, unranked, with no prize or trophy
    assert order(close) == [(1, 'A'), (2, 'B'), (None, 'C')]
    unqualified = close.result.rows[2]
    assert (unqualified.prize, unqualified.trophies) == (0, ())


def test_prizes_go_to_the_top_n_qualified_with_points_and_the_mvp_is_rank_one() -> None:
    # Given: four qualified people, the fourth on negative points, and prizes for three ranks
    people = {'A': figures(500), 'B': figures(400), 'C': figures(-20), 'D': figures(300)}
    # When
    close = rank(league(trophies=[{'trophy_id': 'mvp', 'name': 'MVP', 'points': 250}]), people)
    # Then: ranks 1-3 are A, B, D with 1000/600/300; C (rank 4) gets nothing; A is MVP
    prizes = {row.employee_id: row.prize for row in close.result.rows}
    assert prizes == {'A': 1000, 'B': 600, 'D': 300, 'C': 0}
    assert close.result.rows[0].trophies == ('mvp',)
    assert sorted((a.employee_id, a.kind, a.points) for a in close.awards) == [
        ('A', 'prize', 1000), ('A', 'trophy', 250), ('B', 'prize', 600), ('D', 'prize', 300)]


def test_a_rank_within_the_prizes_without_points_above_zero_gets_no_prize() -> None:
    # Given: two qualified people, the second on 0 points
    close = rank(league(), {'A': figures(50), 'B': figures(0)})
    # Then: only A is paid a prize (B is ranked 2nd but has nothing to reward)
    assert [(row.employee_id, row.rank, row.prize) for row in close.result.rows] == [('A', 1, 1000), ('B', 2, 0)]


def test_a_kpi_trophy_goes_to_the_best_qualified_value_with_enough_items_lower_being_better_for_times() -> None:
    # Given: CSAT and turnaround of four people; D has the best of both but is not qualified; C has too few surveys
    people = {'A': figures(500), 'B': figures(400), 'C': figures(300), 'D': figures(100, qualified=False)}
    counters = {
        'A': csat(8, 10) | {'ta_s': 10 * 3 * 3600, 'ta_n': 10},  # 80% CSAT, 3 h
        'B': csat(9, 10) | {'ta_s': 10 * 2 * 3600, 'ta_n': 10},  # 90% CSAT, 2 h
        'C': csat(4, 4) | {'ta_s': 4 * 1 * 3600, 'ta_n': 4},  # 100% CSAT and 1 h, but on 4 items (< 5)
        'D': csat(10, 10) | {'ta_s': 10 * 1800, 'ta_n': 10},  # best of all, unqualified
    }
    # When
    close = rank(league(), people, counters)
    # Then: B is the customer-wow champion (highest CSAT) and the speed racer (lowest turnaround); A is MVP
    trophies = {row.employee_id: row.trophies for row in close.result.rows if row.trophies}
    assert trophies == {'A': ('mvp',), 'B': ('customer_wow', 'speed_racer')}
    speed = next(a for a in close.awards if a.award_id == 'speed_racer')
    assert (speed.inputs['kpi'], speed.inputs['value'], speed.inputs['count']) == ('turnaround_time', 2.0, 10)


def test_a_kpi_trophy_tie_goes_to_the_better_rank() -> None:
    # Given: two people with the same CSAT; B is ranked above A
    close = rank(league(), {'A': figures(100), 'B': figures(200)}, {'A': csat(9, 10), 'B': csat(9, 10)})
    # Then: the trophy is B's
    winner = next(a for a in close.awards if a.award_id == 'customer_wow')
    assert winner.employee_id == 'B'


def test_challenges_pay_everyone_eligible_who_meets_them_in_their_role_and_month_qualified_or_not() -> None:
    # Given: three technicians' first-time-fix months: 96% on 25 cards, 96% on 4 (too few), 80% on 20; C unqualified
    people = {'A': figures(100), 'B': figures(100), 'C': figures(10, qualified=False)}
    counters = {'A': {'ftf_ok': 24, 'ftf_n': 25}, 'B': {'ftf_ok': 4, 'ftf_n': 4}, 'C': {'ftf_ok': 20, 'ftf_n': 20}}
    # When: the technicians' division is closed in October, and in a league whose challenge runs only in November
    october = rank(league(), people, counters)
    november_only = league(challenges=[{'challenge_id': 'zero_comebacks', 'name': 'No comebacks', 'kpi': 'first_time_fix_rate',
                                        'target': 95, 'min_count': 10, 'points': 300, 'months': ['2026-11']}])
    # Then: A and C meet it (C although unqualified); B rests on too few cards; the advisors' challenge is not theirs
    assert {row.employee_id: row.challenges for row in october.result.rows} == {'A': ('zero_comebacks',), 'B': (), 'C': ('zero_comebacks',)}
    reward = next(a for a in october.awards if a.employee_id == 'A' and a.kind == 'challenge')
    assert (reward.points, reward.inputs['value'], reward.inputs['count'], reward.inputs['target']) == (300, 96.0, 25, 95.0)
    assert not [a for a in rank(november_only, people, counters).awards if a.kind == 'challenge']


def test_participation_counts_the_eligible_who_scored() -> None:
    # Given: four eligible people: two with points, one with penalties only, one without a score item
    # When
    members_only = rank_division(league(), program_id='pitstop', version=3, month=MONTH, division='technician',
                                 members=[Member(e, 'technician') for e in ('A', 'B', 'C', 'D')],
                                 figures={'A': figures(10), 'B': figures(5, qualified=False), 'C': figures(-5)}, counters={},
                                 closed_at=CLOSED_AT)
    # Then: 2 of 4 scored (50%); D, without a score item, is listed unqualified with 0 points
    assert (members_only.result.eligible, members_only.result.scored, members_only.result.participation_pct) == (4, 2, 50.0)
    assert members_only.result.rows[-1].employee_id == 'D' and not members_only.result.rows[-1].qualified


def test_the_digest_names_the_entries_behind_the_standings_whatever_their_order() -> None:
    # Given: the same score items in two orders, and one whose entry digest differs
    one = {'A': figures(10, digest='1' * 16), 'B': figures(20, digest='2' * 16)}
    reordered = {'B': figures(20, digest='2' * 16), 'A': figures(10, digest='1' * 16)}
    other_entry = {'A': figures(10, digest='3' * 16), 'B': figures(20, digest='2' * 16)}
    # Then: the order does not matter; a different entry (same points) changes the digest
    assert division_digest(one) == division_digest(reordered)
    assert division_digest(one) != division_digest(other_entry)
    assert rank(league(), one).result.digest == division_digest(one)


def test_award_entries_have_deterministic_ids_league_rule_ids_and_say_why() -> None:
    # Given: a closed division with a prize, trophies and a challenge
    people = {'A': figures(500), 'B': figures(400)}
    counters = {'A': csat(9, 10) | {'ftf_ok': 24, 'ftf_n': 25}, 'B': csat(10, 10)}
    close = rank(league(), people, counters)
    now = datetime(2026, 11, 1, 0, 6, tzinfo=UTC)
    # When: its entries are made twice, at different times
    first = league_entries(close, 'Asia/Kolkata', now)
    again = league_entries(close, 'Asia/Kolkata', datetime(2026, 11, 3, tzinfo=UTC))
    # Then: the same ids (a rerun finds them written), all distinct, one letter and hex digits
    ids = {e.entry_id for entries in first.values() for e in entries}
    assert ids == {e.entry_id for entries in again.values() for e in entries}
    assert len(ids) == sum(len(v) for v in first.values()) == 5  # A: prize, mvp, challenge; B: prize, customer_wow
    assert all(i[0] == 'L' and int(i[1:], 16) >= 0 and len(i) == 33 for i in ids)
    # And: each is an available award of the month (its last second in the program's zone) with a league_ rule id
    prize = next(e for e in first['A'] if e.reason.rule_id == 'league_prize')
    assert (prize.kind, prize.status, prize.amount) == (EntryKind.AWARD, EntryStatus.AVAILABLE, 1000)
    assert prize.occurred_at.astimezone(ZoneInfo('Asia/Kolkata')).strftime('%Y-%m-%d %H:%M:%S') == '2026-10-31 23:59:59'
    assert {e.reason.rule_id for v in first.values() for e in v} == {'league_prize', 'league_trophy', 'league_challenge'}
    assert prize.reason.program_id == 'pitstop@3'
    assert (prize.reason.inputs['rank'], prize.reason.inputs['score'], prize.reason.inputs['division']) == (1, 500.0, 'technician')
    assert 'rank 1 of 2 in Workshop technicians' in (prize.reason.note or '')
    wow = next(e for e in first['B'] if e.reason.rule_id == 'league_trophy')
    assert (wow.reason.inputs['kpi'], wow.reason.inputs['value']) == ('csat', 100.0)


def test_divisions_hold_the_active_people_in_the_programs_scope_grouped_by_the_leagues_attributes() -> None:
    # Given: the shipped Pitstop program (role x region; IN-BLR-01 pilot until 2026-10-15, then IN-PNQ-01 too)
    program = parse_program((EVENTS / 'program_workshop.json').read_text())
    assert program.league is not None
    people = [
        RosterPerson('T1', role='technician', region='IN-South', location_id='IN-BLR-01'),
        RosterPerson('T2', role='technician', region='IN-West', location_id='IN-PNQ-01'),
        RosterPerson('T3', role='technician', region='IN-South', location_id='IN-BLR-01', active=False),
        RosterPerson('M1', role='manager', region='IN-South', location_id='IN-BLR-01'),  # not in the program's roles
        RosterPerson('A1', role='service_advisor', region='IN-West', location_id='IN-PNQ-01'),
        RosterPerson('X1', role='technician', region='US-East', location_id='US-NYC'),  # not a program location
    ]
    # When: October (after the rollout) and September (pilot only) are planned
    october = plan_divisions(program.league, program, people, '2026-10')
    september = plan_divisions(program.league, program, people, '2026-09')
    # Then: October has three divisions; in September only the pilot location's technician takes part
    assert {key: [m.employee_id for m in members] for key, members in october.items()} == {
        'service_advisor|IN-West': ['A1'], 'technician|IN-South': ['T1'], 'technician|IN-West': ['T2']}
    assert list(september) == ['technician|IN-South']
    assert program.league.division_name('technician|IN-West') == 'Workshop technicians · West'
    assert program.starts_on == date(2024, 1, 1)


@pytest.mark.parametrize(
    ('change', 'field'),
    [
        (lambda lg: lg['divisions'].__setitem__('by', ['role', 'shoe_size']), "league.divisions.by: the directory has no attribute 'shoe_size'"),
        (lambda lg: lg['levels'].__setitem__(2, {'name': 'Crew chief', 'min_points': 900}), 'league.levels: the ladder must increase'),
        (lambda lg: lg['challenges'][0].__setitem__('kpi', 'happiness'), "league.challenges.0.kpi: unknown KPI 'happiness'"),
        (lambda lg: lg['trophies'][1].__setitem__('kpi', 'happiness'), "league.trophies.1.kpi: unknown KPI 'happiness'"),
        (lambda lg: lg.__setitem__('tie_breaks', ['csat', 'coin_toss']), 'league.tie_breaks.1:'),
    ],
    ids=['division-attribute', 'ladder', 'challenge-kpi', 'trophy-kpi', 'tie-break'],
)
def test_a_league_the_directory_or_the_kpis_cannot_judge_is_refused_with_the_field_named(change: Any, field: str) -> None:
    # Given: the shipped Pitstop program with one league field broken
    document = json.loads((EVENTS / 'program_workshop.json').read_text())
    change(document['league'])
    # When: the document is validated as the loader validates a parameter
    with pytest.raises(ProgramInvalid) as refused:
        parse_program(document)
    # Then: the refusal names the field and why
    assert any(line.startswith(field) for line in refused.value.errors), refused.value.errors
