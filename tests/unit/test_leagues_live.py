"""Live league standings, pure (shared/leagues/live.py): which month an entry scores in, a person's month item and
lifetime from their stream records, histogram moves, levels and badges once, and ranks read from histograms."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.leagues.config import LeagueConfig
from shared.leagues.live import (
    EMPTY_DIGEST,
    TOP_SK,
    League,
    MonthScore,
    PersonInputs,
    StreamEntry,
    bucket_of,
    bucket_sk,
    competition_ranks,
    count_above,
    digest_of,
    histogram_pk,
    lowest_in,
    next_bucket_above,
    padded_seq,
    parse_record,
    place,
    plan_person,
    ranking_value,
)
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry

KOLKATA = ZoneInfo('Asia/Kolkata')


def league(**overrides: object) -> League:
    config = {
        'name': 'Pitstop League',
        'divisions': {'by': ['role', 'region'], 'labels': {'technician': 'Workshop technicians', 'IN-West': 'West'}},
        'scoring': {'score': 'points', 'workload_kpi': 'job_cards', 'min_items': 3},
        'levels': [{'name': 'Rookie', 'min_points': 0}, {'name': 'Pit crew', 'min_points': 100}, {'name': 'Crew chief', 'min_points': 300}],
        'badges': [{'badge_id': 'first_five_star', 'name': 'First 5-star CSAT', 'kind': 'milestone', 'rule_id': 'csat_positive',
                    'input': 'csat', 'min': 5},
                   {'badge_id': 'fcr_3', 'name': 'Three first-contact resolutions', 'kind': 'milestone', 'rule_id': 'fcr', 'count': 3}],
    } | overrides  # fmt: skip
    return League('pitstop', LeagueConfig.model_validate(config), KOLKATA)


def entry(entry_id: str, amount: int, occurred: datetime, recorded: datetime | None = None, *, rule: str = 'on_time_delivery',
          employee: str = 'T1', program: str = 'pitstop@3', inputs: dict[str, object] | None = None,
          kind: EntryKind = EntryKind.AWARD) -> LedgerEntry:  # fmt: skip
    reason = EntryReason(ticket_key='dms#JC1', source_event_id='e', basis_event_id='b', rule_id=rule, rule_version=1,
                         program_id=program, inputs=inputs or {})  # fmt: skip
    return LedgerEntry(entry_id=entry_id, employee_id=employee, amount=amount, kind=kind, status=EntryStatus.AVAILABLE, reason=reason,
                       occurred_at=occurred, recorded_at=recorded or occurred)  # fmt: skip


def record(seq: int, ledger_entry: LedgerEntry) -> StreamEntry:
    return StreamEntry(padded_seq(str(seq)), str(seq), ledger_entry)


PROFILE = {'role': 'technician', 'region': 'IN-West', 'location_id': 'IN-BLR-01'}


def inputs(months: dict[tuple[str, str], MonthScore] | None = None, *, profile: dict[str, str | None] | None = None,
           kpi: dict[str, dict[str, int]] | None = None, closed: set[tuple[str, str]] | None = None, lives: dict | None = None) -> PersonInputs:  # fmt: skip
    return PersonInputs(months=months or {}, lives=lives or {}, profile=PROFILE if profile is None else profile,
                        kpi_months=kpi if kpi is not None else {'2026-10': {'j': 5}, '2026-11': {'j': 4}}, closed=closed or set())  # fmt: skip


def stored(plan_months: dict) -> dict[tuple[str, str], MonthScore]:
    return {key: after for key, (_, after) in plan_months.items()}


OCT_30 = datetime(2026, 10, 30, 6, 0, tzinfo=UTC)
NOV_2 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


# --- which month -----------------------------------------------------------------------------------------------------
def test_an_entry_scores_in_the_local_month_of_its_basis() -> None:
    # Given an award whose basis happened at 20:00 UTC on Oct 31, which is already Nov 1 in Kolkata
    award = entry('E1', 10, datetime(2026, 10, 31, 20, 0, tzinfo=UTC))

    # When it is placed
    placement = place(award, league(), closed=set())

    # Then it scores in November (the program's time zone), not late, with nothing to check
    assert (placement.month, placement.late, placement.close_check) == ('2026-11', False, None)


def test_an_entry_recorded_after_its_month_ended_scores_there_until_the_close_starts_then_in_the_new_month_as_late() -> None:
    # Given an award earned on Oct 30 and released on Nov 2
    award = entry('E1', 10, OCT_30, NOV_2)

    # When October's close has not started / has started
    before_close = place(award, league(), closed=set())
    after_close = place(award, league(), closed={'2026-10'})

    # Then before the close it counts for October, on condition the marker is still absent; after it, for November, late
    assert (before_close.month, before_close.late, before_close.close_check) == ('2026-10', False, '2026-10')
    assert (after_close.month, after_close.late, after_close.close_check, after_close.earned_month) == ('2026-11', True, None, '2026-10')


def test_an_entry_recorded_just_before_midnight_but_scored_after_the_month_ended_is_checked_against_the_close() -> None:
    # Given an award earned and recorded on Oct 31 at 23:58 Kolkata time, scored by the stream reader at 00:07 on Nov 1
    recorded = datetime(2026, 10, 31, 18, 28, tzinfo=UTC)
    award = entry('E1', 10, recorded - timedelta(hours=1), recorded)
    scored_at = datetime(2026, 10, 31, 18, 37, tzinfo=UTC)

    # When it is placed before and after October's close started (at 00:05), and as if scored at once
    open_month = place(award, league(), closed=set(), now=scored_at)
    closed_month = place(award, league(), closed={'2026-10'}, now=scored_at)
    at_once = place(award, league(), closed={'2026-10'}, now=recorded)

    # Then its write is conditioned on October's marker; once the close started it scores, late, in November
    assert (open_month.month, open_month.close_check) == ('2026-10', '2026-10')
    assert (closed_month.month, closed_month.late, closed_month.close_check) == ('2026-11', True, None)
    assert (at_once.month, at_once.late, at_once.close_check) == ('2026-10', False, None)


def test_a_released_league_counts_the_month_of_release_and_a_league_payout_never_scores() -> None:
    # Given a league counting released points, an award earned in October released in November, and a league prize
    released = league(counts='released')
    award = entry('E1', 10, OCT_30, NOV_2)
    prize = entry('L1', 1000, OCT_30, NOV_2, rule='league_prize')

    # When they are placed
    # Then the award scores in November (never late) and the prize nowhere
    assert (place(award, released, closed={'2026-10'}).month, place(award, released, closed=set()).late) == ('2026-11', False)
    assert place(prize, league(), closed=set()).month is None


def test_a_late_entry_counts_in_the_new_month_and_is_kept_as_late_on_both_months() -> None:
    # Given T1 had 40 points in October, whose close has started, and an October award of 10 released on Nov 2
    october = MonthScore('pitstop', 'T1', '2026-10', 'technician|IN-West', 40, 5, 4000, 3, 'ab' * 8, padded_seq('5'), '', qualified=True,
                         exists=True)  # fmt: skip
    late = record(9, entry('E9', 10, OCT_30, NOV_2))

    # When T1's record is planned
    plan = plan_person('T1', [late], {'pitstop': league()}, inputs({('pitstop', '2026-10'): october}, closed={('pitstop', '2026-10')}))

    # Then November holds the 10 points, 10 of them late; October's points and place are unchanged, its late_points say 10
    nov = plan.months[('pitstop', '2026-11')][1]
    oct_after = plan.months[('pitstop', '2026-10')][1]
    assert (nov.points, nov.late_points_in, nov.entries, nov.late_points) == (10, 10, 1, 0)
    assert (oct_after.points, oct_after.score_x100, oct_after.entries, oct_after.late_points) == (40, 4000, 3, 10)
    assert plan.late == 1 and not plan.close_checks
    assert all(pk != histogram_pk('pitstop', '2026-10', 'technician|IN-West') for pk, _ in plan.histograms)


# --- a person's month ------------------------------------------------------------------------------------------------
def test_a_person_month_adds_points_counts_entries_and_keeps_an_order_independent_digest() -> None:
    # Given three October awards of T1 (one a penalty) and 5 job cards in the KPI month
    records = [record(1, entry('E1', 10, OCT_30)), record(2, entry('E2', 25, OCT_30)), record(3, entry('E3', -5, OCT_30, rule='reopen'))]

    # When they are planned
    plan = plan_person('T1', records, {'pitstop': league()}, inputs())

    # Then the month has 30 points from 3 entries, is qualified, ranks by points x100, and its digest is the XOR of the ids
    month = plan.months[('pitstop', '2026-10')][1]
    assert (month.points, month.entries, month.items, month.qualified, month.score_x100) == (30, 3, 5, True, 3000)
    assert month.division == 'technician|IN-West' and month.seq == padded_seq('3')
    assert month.digest == digest_of(['E3', 'E1', 'E2']) != EMPTY_DIGEST
    # and the person enters the division's histogram once
    pk = histogram_pk('pitstop', '2026-10', 'technician|IN-West')
    assert plan.histograms[(pk, TOP_SK)] == {'n': 1, 'b0': 1}
    assert plan.histograms[(pk, bucket_sk(0))] == {'s3000': 1}


def test_a_redelivered_batch_is_counted_once() -> None:
    # Given a batch applied once
    records = [record(1, entry('E1', 10, OCT_30)), record(2, entry('E2', 25, OCT_30))]
    first = plan_person('T1', records, {'pitstop': league()}, inputs())

    # When the same batch arrives again, on top of what was written
    lives = {program: after for program, (_, after) in first.lives.items()}
    again = plan_person('T1', records, {'pitstop': league()}, inputs(stored(first.months), lives=lives))

    # Then nothing changes and both records are skipped
    assert again.empty and not again.histograms and not again.achievements
    assert (again.applied, again.skipped) == (0, 2)


def test_a_batch_partly_applied_before_applies_only_the_rest() -> None:
    # Given records 1-2 applied, then a redelivery of 1-3
    records = [record(1, entry('E1', 10, OCT_30)), record(2, entry('E2', 25, OCT_30)), record(3, entry('E3', 7, OCT_30))]
    first = plan_person('T1', records[:2], {'pitstop': league()}, inputs())
    lives = {program: after for program, (_, after) in first.lives.items()}

    # When the redelivered batch is planned
    plan = plan_person('T1', records, {'pitstop': league()}, inputs(stored(first.months), lives=lives))

    # Then only the third counts
    month = plan.months[('pitstop', '2026-10')][1]
    assert (month.points, month.entries, plan.applied, plan.skipped) == (42, 3, 1, 2)
    assert plan.lives['pitstop'][1].points == 42


def test_a_person_who_moved_division_moves_in_the_histograms() -> None:
    # Given T1 ranked in technicians · West with 30 points, now listed in IN-South by the directory
    before = MonthScore('pitstop', 'T1', '2026-10', 'technician|IN-West', 30, 5, 3000, 2, 'cd' * 8, padded_seq('2'), '', qualified=True,
                        exists=True)  # fmt: skip

    # When a new award of 10 is planned
    plan = plan_person('T1', [record(3, entry('E3', 10, OCT_30))], {'pitstop': league()},
                       inputs({('pitstop', '2026-10'): before}, profile={'role': 'technician', 'region': 'IN-South'}))  # fmt: skip

    # Then T1 leaves West's histogram at 30 points and enters South's at 40
    west, south = histogram_pk('pitstop', '2026-10', 'technician|IN-West'), histogram_pk('pitstop', '2026-10', 'technician|IN-South')
    assert plan.histograms[(west, TOP_SK)] == {'n': -1, 'b0': -1} and plan.histograms[(west, 'B0')] == {'s3000': -1}
    assert plan.histograms[(south, TOP_SK)] == {'n': 1, 'b0': 1} and plan.histograms[(south, 'B0')] == {'s4000': 1}
    assert plan.months[('pitstop', '2026-10')][1].division == 'technician|IN-South'


def test_a_person_below_the_minimum_of_items_is_not_in_the_histogram_and_qualifying_later_adds_them() -> None:
    # Given 2 job cards (3 needed)
    first = plan_person('T1', [record(1, entry('E1', 10, OCT_30))], {'pitstop': league()}, inputs(kpi={'2026-10': {'j': 2}}))
    assert not first.months[('pitstop', '2026-10')][1].qualified and not first.histograms

    # When a third job card is counted and another award arrives
    lives = {program: after for program, (_, after) in first.lives.items()}
    second = plan_person('T1', [record(2, entry('E2', 5, OCT_30))], {'pitstop': league()},
                         inputs(stored(first.months), lives=lives, kpi={'2026-10': {'j': 3}}))  # fmt: skip

    # Then the person enters the histogram with 15 points
    pk = histogram_pk('pitstop', '2026-10', 'technician|IN-West')
    assert second.months[('pitstop', '2026-10')][1].qualified
    assert second.histograms[(pk, TOP_SK)] == {'n': 1, 'b0': 1} and second.histograms[(pk, 'B0')] == {'s1500': 1}


@pytest.mark.parametrize(
    ('score', 'points', 'items', 'role', 'expected'),
    [
        ('points', 45, 0, 'technician', (4500, True)),
        ('points_per_item', 45, 4, 'technician', (1125, True)),  # 11.25 points per item
        ('points_per_item', 45, 0, 'technician', (4500, False)),  # no items: divided by 1, not qualified (min 1)
        ('percent_of_expected', 45, 0, 'technician', (4500, True)),  # 45 of 100 expected: 45.00 %
        ('percent_of_expected', 45, 0, 'advisor', (0, False)),  # no expected points for the role: not ranked
    ],
)
def test_ranking_values(score: str, points: int, items: int, role: str, expected: tuple[int, bool]) -> None:
    # Given a league scoring by `score` (1 item to qualify for per-item scoring)
    scoring = {'score': score, 'workload_kpi': 'job_cards', 'min_items': 1 if score == 'points_per_item' else 0,
               'expected_points': {'technician': 100}}  # fmt: skip
    config = league(scoring=scoring).scoring

    # When a month is valued
    # Then the ranking value (x100) and qualification are as the scoring says
    assert ranking_value(config, points, items, role) == expected


# --- levels and badges -------------------------------------------------------------------------------------------------
def test_a_level_is_reached_once_with_its_reason() -> None:
    # Given T1 with 90 lifetime points and 40 more points in two awards
    records = [record(1, entry('E1', 90, OCT_30)), record(2, entry('E2', 20, OCT_30)), record(3, entry('E3', 20, OCT_30))]

    # When they are planned
    plan = plan_person('T1', records, {'pitstop': league()}, inputs())

    # Then 'Pit crew' (100 points) is reached once, by the entry that crossed it, and the lifetime says level 1
    levels = [a for a in plan.achievements if a.kind == 'level']
    assert [(a.key, a.name, a.entry_id, a.lifetime_points, a.sk) for a in levels] == [('1', 'Pit crew', 'E2', 110, 'LEVEL#1')]
    life = plan.lives['pitstop'][1]
    assert (life.points, life.level, life.best_level) == (130, 1, 1)

    # And when more points arrive later, below the next rung, no level is reached again
    later = plan_person('T1', [record(4, entry('E4', 50, OCT_30))], {'pitstop': league()},
                        inputs(stored(plan.months), lives={'pitstop': life}))  # fmt: skip
    assert not later.achievements and later.lives['pitstop'][1].points == 180


def test_a_jump_over_two_rungs_reaches_both_and_a_level_is_not_lost_unless_the_league_demotes() -> None:
    # Given one 320-point entry (over 100 and 300), then a -100 reversal
    jump = plan_person('T1', [record(1, entry('E1', 320, OCT_30))], {'pitstop': league()}, inputs())
    assert [a.sk for a in jump.achievements] == ['LEVEL#1', 'LEVEL#2']
    life = jump.lives['pitstop'][1]
    reversal = record(2, entry('R1', -100, OCT_30, rule='on_time_delivery', kind=EntryKind.REVERSAL))

    # When the reversal is planned without and with demotion
    kept = plan_person('T1', [reversal], {'pitstop': league()}, inputs(stored(jump.months), lives={'pitstop': life}))
    demoted = plan_person('T1', [reversal], {'pitstop': league(demote=True)}, inputs(stored(jump.months), lives={'pitstop': life}))

    # Then the level stays at 2 by default and drops to 1 with demote; no achievement either way
    assert kept.lives['pitstop'][1].level == 2 and demoted.lives['pitstop'][1].level == 1
    assert demoted.lives['pitstop'][1].best_level == 2 and not kept.achievements and not demoted.achievements

    # And climbing back after a demotion reaches nothing new (it was reached before)
    back = plan_person('T1', [record(3, entry('E3', 100, OCT_30))], {'pitstop': league(demote=True)},
                       inputs(stored(demoted.months), lives={'pitstop': demoted.lives['pitstop'][1]}))  # fmt: skip
    assert back.lives['pitstop'][1].level == 2 and not back.achievements


def test_a_milestone_badge_is_earned_once_on_the_count_th_matching_award() -> None:
    # Given CSAT awards rated 4, 5 and 5, and fcr awards (the badge needs 3), one of them reversed
    records = [
        record(1, entry('E1', 5, OCT_30, rule='csat_positive', inputs={'csat': 4})),
        record(2, entry('E2', 5, OCT_30, rule='csat_positive', inputs={'csat': 5})),
        record(3, entry('E3', 5, OCT_30, rule='csat_positive', inputs={'csat': 5})),
        record(4, entry('F1', 3, OCT_30, rule='fcr')),
        record(5, entry('F2', 3, OCT_30, rule='fcr')),
        record(6, entry('R2', -3, OCT_30, rule='fcr', kind=EntryKind.REVERSAL)),
        record(7, entry('F3', 3, OCT_30, rule='fcr')),
        record(8, entry('F4', 3, OCT_30, rule='fcr')),
    ]

    # When they are planned
    plan = plan_person('T1', records, {'pitstop': league()}, inputs())

    # Then the 5-star badge comes with the first 5 (E2) and the fcr badge with the third fcr award (a reversal is not one)
    badges = {a.key: (a.entry_id, a.inputs) for a in plan.achievements if a.kind == 'badge'}
    assert badges == {'first_five_star': ('E2', {'csat': 5}), 'fcr_3': ('F3', {})}
    assert dict(plan.lives['pitstop'][1].badge_counts) == {'first_five_star': 2, 'fcr_3': 4}


def test_a_league_payout_counts_for_lifetime_and_levels_but_not_in_a_month() -> None:
    # Given a 150-point league prize
    plan = plan_person('T1', [record(1, entry('L1', 150, OCT_30, NOV_2, rule='league_prize'))], {'pitstop': league()}, inputs())

    # Then no month item changes, lifetime is 150 and 'Pit crew' is reached
    assert not plan.months and plan.lives['pitstop'][1].points == 150
    assert [a.sk for a in plan.achievements] == ['LEVEL#1']


def test_entries_of_programs_without_a_league_are_skipped() -> None:
    # Given an adjustment (program 'admin') and an award of a program without a league
    records = [record(1, entry('A1', 50, OCT_30, program='admin', rule='admin_adjustment')), record(2, entry('E2', 5, OCT_30, program='other@1'))]

    # When planned
    plan = plan_person('T1', records, {'pitstop': league()}, inputs())

    # Then nothing is written
    assert plan.empty and plan.skipped == 2


# --- stream records ------------------------------------------------------------------------------------------------------
def test_a_stream_record_of_a_new_ledger_entry_is_read_and_other_records_are_not() -> None:
    # Given a ledger INSERT as Lambda delivers it, and a MODIFY
    award = entry('E1', 10, OCT_30)
    insert = {'eventName': 'INSERT', 'dynamodb': {'SequenceNumber': '4200000000001234', 'NewImage': {'entry': {'S': award.model_dump_json()}}}}

    # When read
    parsed = parse_record(insert)

    # Then the entry and its sequence number come back (padded for comparison); the MODIFY is nothing
    assert parsed is not None and parsed.entry == award and parsed.sequence_number == '4200000000001234'
    assert parsed.seq == '4200000000001234'.zfill(40) and parsed.seq > padded_seq('999')
    assert parse_record({**insert, 'eventName': 'MODIFY'}) is None


# --- ranks from histograms ------------------------------------------------------------------------------------------------
def histogram(scores: list[int]) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    from shared.leagues.live import bucket_attr, score_attr

    top: dict[str, int] = {'n': len(scores)}
    buckets: dict[int, dict[str, int]] = {}
    for score in scores:
        top[bucket_attr(bucket_of(score))] = top.get(bucket_attr(bucket_of(score)), 0) + 1
        item = buckets.setdefault(bucket_of(score), {})
        item[score_attr(score)] = item.get(score_attr(score), 0) + 1
    return top, buckets


def test_histogram_ranks_equal_brute_force_ranks_over_random_scores() -> None:
    # Given 500 random scores with ties and negatives, spread over many buckets (fixed seed)
    rng = random.Random(12)
    scores = [rng.choice([rng.randint(-20_000, 400_000), rng.randint(0, 50) * 100]) for _ in range(500)]
    top, buckets = histogram(scores)

    for score in scores:
        # When a rank is read as the store reads it: TOP + the own bucket, and the next bucket above when needed
        above, tied, nearest, nearest_count = count_above(score, top, buckets.get(bucket_of(score), {}))
        if nearest is None:
            higher = next_bucket_above(score, top)
            if higher is not None:
                nearest, nearest_count = lowest_in(buckets[higher]) or (None, 0)

        # Then it equals standard competition ranking over the list, and so do the next better score and its rank
        better = [other for other in scores if other > score]
        assert above + 1 == len(better) + 1
        assert tied == scores.count(score)
        assert nearest == (min(better) if better else None)
        if better:
            next_best = min(better)
            assert above - nearest_count + 1 == 1 + sum(1 for other in scores if other > next_best)


def test_competition_ranks_share_a_place_and_skip_the_next() -> None:
    # Given scores listed best first, two tied
    # Then they rank 1, 2, 2, 4
    assert competition_ranks([900, 500, 500, 100]) == [1, 2, 2, 4]


def test_the_league_in_force_is_the_one_of_the_version_in_force() -> None:
    # Given the workshop program's version 1 in force and a version 2, published with a renamed league, from December
    from pathlib import Path

    from shared.leagues.scorer import leagues_of
    from shared.programs.document import parse_program
    from shared.programs.loader import ProgramBook, ProgramVersion

    v1 = parse_program((Path(__file__).resolve().parents[2] / 'events' / 'program_workshop.json').read_text())
    assert v1.league is not None
    v2 = v1.model_copy(update={'effective_from': datetime(2026, 12, 1, tzinfo=UTC), 'league': v1.league.model_copy(update={'name': 'Winter Cup'})})
    book = ProgramBook({'pitstop': [ProgramVersion(1, v1), ProgramVersion(2, v2)]})

    # When the leagues are read in November, and in December
    # Then November scores the Pitstop League and December the Winter Cup, each in the program's time zone and scope
    november, december = leagues_of(book, datetime(2026, 11, 20, tzinfo=UTC))['pitstop'], leagues_of(book, datetime(2026, 12, 2, tzinfo=UTC))['pitstop']
    assert (november.name, december.name) == ('Pitstop League', 'Winter Cup')
    assert november.zone == KOLKATA and november.admits('technician', 'IN-BLR-01') and not november.admits('agent', 'IN-BLR-01')
