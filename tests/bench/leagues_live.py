"""Bench figures of the live league standings (issue 12); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

- rank_read_requests_1k, rank_read_requests_50k: DynamoDB requests to read one person's rank (`LiveStore.rank`) AND the
  top 10 of their division (`LiveStore.top`), counted at botocore (tests/support/counting.py), with 1,000 and with 50,000
  people in the division; the most any of 20 people spread over the ranking needed (the best, the last, ties, people
  whose next better score is in another histogram bucket, which costs the one extra GetItem). The top 10 is the same
  one Query for everyone in a division, so it is counted once per division and added. The goal is that they are
  equal: O(1) in the people. Each division is seeded in its own moto, straight into moto's store (its backend's
  put_item: 2,000 BatchWriteItem requests through botocore took ~55 s for 50,000 people) with the items the scorer
  writes: month items with their board keys and the histogram items, built with the scorer's own key and bucket
  functions (shared/leagues/live.py). (moto answers a GSI Query by reading the whole table, DynamoDB reads the
  partition: that is time, not requests.)
- league_scorer_wru_per_entry, league_scorer_wru_per_event: write units (tests/bench/capacity.py's sizing: 2x per item
  of a transaction, a ConditionCheck sized as a write, index entries) of the league scorer per ledger entry it applies,
  and per ticket event. Measured on the real thing: a clean slice of the sample month (both shipped programs, every
  source) is processed by the ticket processor with the hold release every 3 simulated hours (the deployed release runs
  every 15 minutes: 2,900 release runs a month cost this drill ~6 s for nothing the figure needs; entries are recorded
  up to 3 h later than in production, which moves few across a month boundary); every person gets a KPI
  month item with 10 job cards and 10 tickets, so everyone is qualified and in the histograms (the scorer's dearest
  case, and 15 s faster than running the KPI aggregator over the tickets stream); then the ledger's stream, as Lambda
  delivers it, goes to the scorer in batches of 100 (BatchSize in template.yaml). Per event = the scorer's write units ÷ the slice's ticket events, so it carries the
  sample month's own ratio of ledger entries to events (printed as league_sample_entries_per_event). A batch holds
  several entries of a person (one transaction for them all); league_scorer_wru_per_transaction is the cost of an
  entry that arrives alone (thin traffic: one entry per person per batch).
"""

from __future__ import annotations

import json
import os
import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

PROGRAM = 'bench'
MONTH = '2026-10'
SAMPLE_PEOPLE = 20
SCORER_SCALE = float(os.environ.get('BENCH_LEAGUES_SCALE', '0.04'))
SCORER_BATCH = 100
RELEASE_EVERY = timedelta(hours=3)


def _bench_league() -> Any:
    from shared.leagues.config import LeagueConfig

    return LeagueConfig.model_validate({'name': 'Bench League', 'divisions': {'by': ['role', 'region']},
                                        'scoring': {'score': 'points', 'workload_kpi': 'job_cards', 'min_items': 3}})  # fmt: skip


def _seed_division(table: str, division: str, people: int, rng: random.Random) -> dict[str, int]:
    """`people` qualified month items of one division and its histogram, put into moto's store; returns the points."""
    from moto.dynamodb.models import dynamodb_backends

    from shared.leagues.live import (
        TOP_SK,
        board_pk,
        board_sk,
        bucket_attr,
        bucket_of,
        bucket_sk,
        histogram_pk,
        person_pk,
        score_attr,
    )

    points = {f'{division[:1]}{i:06d}': max(-50, int(rng.lognormvariate(6.0, 1.1)) - 40) for i in range(people)}
    top: dict[str, int] = {'n': people}
    buckets: dict[int, dict[str, int]] = {}
    items: list[dict[str, Any]] = []
    for employee_id, value in points.items():
        score = value * 100
        items.append({'pk': {'S': person_pk(PROGRAM, employee_id)}, 'sk': {'S': MONTH}, 'employee_id': {'S': employee_id},
                      'division': {'S': division}, 'points': {'N': str(value)}, 'items': {'N': '5'}, 'score_x100': {'N': str(score)},
                      'qualified': {'BOOL': True}, 'board_pk': {'S': board_pk(PROGRAM, MONTH, division)},
                      'board_sk': {'S': board_sk(score, employee_id)}})  # fmt: skip
        top[bucket_attr(bucket_of(score))] = top.get(bucket_attr(bucket_of(score)), 0) + 1
        counts = buckets.setdefault(bucket_of(score), {})
        counts[score_attr(score)] = counts.get(score_attr(score), 0) + 1
    pk = histogram_pk(PROGRAM, MONTH, division)
    items.append({'pk': {'S': pk}, 'sk': {'S': TOP_SK}} | {name: {'N': str(count)} for name, count in top.items()})
    for bucket, counts in buckets.items():
        items.append({'pk': {'S': pk}, 'sk': {'S': bucket_sk(bucket)}} | {name: {'N': str(count)} for name, count in counts.items()})
    backend = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']]
    for item in items:
        backend.put_item(table, item)
    return points


def _sample(points: dict[str, int], rng: random.Random) -> list[str]:
    """People spread over the ranking: the best, the last, the best of the second-best histogram bucket (their next
    better score is in another bucket: the extra read), and random others."""
    from shared.leagues.live import bucket_of

    ordered = sorted(points, key=lambda who: -points[who])
    edge = next(who for before, who in zip(ordered, ordered[1:], strict=False)
                if bucket_of(points[before] * 100) != bucket_of(points[who] * 100))  # fmt: skip
    return [ordered[0], ordered[-1], edge, *rng.sample(ordered, SAMPLE_PEOPLE - 3)]


def rank_read_figures() -> dict[str, Any]:
    from shared.leagues.live_store import LiveStore
    from tests.support.counting import count_requests
    from tests.support.local_aws import local_aws

    rng = random.Random(1212)
    league = _bench_league()
    figures: dict[str, Any] = {}
    for label, people, division in (('1k', 1_000, 'small|-'), ('50k', 50_000, 'large|-')):
        with local_aws():
            points = _seed_division(os.environ['LEAGUES_TABLE'], division, people, rng)
            store = LiveStore()
            with count_requests() as counter:
                top = store.top(PROGRAM, MONTH, division, 10)
            top_requests = counter.ddb_reads + counter.ddb_writes
            ordered = sorted(points.values(), reverse=True)
            assert [row.points for row in top] == ordered[:10]
            counts = []
            for employee_id in _sample(points, rng):
                with count_requests() as counter:
                    view = store.rank(PROGRAM, employee_id, MONTH, league)
                assert view is not None and view.of == people
                assert view.rank == 1 + sum(1 for other in ordered if other > points[employee_id])
                counts.append(counter.ddb_reads + counter.ddb_writes + top_requests)
            figures[f'rank_read_requests_{label}'] = max(counts)
            figures[f'rank_read_requests_{label}_mean'] = round(statistics.mean(counts), 2)
    return figures


def scorer_write_figures(scale: float = SCORER_SCALE) -> dict[str, Any]:
    from functions.league_scorer.app import entries_of
    from shared.alerts.store import AlertStore
    from shared.directory.store import DirectoryStore
    from shared.leagues.live_store import LiveStore
    from shared.leagues.scorer import LeagueScorer
    from shared.ledger.holds import release_due
    from shared.ledger.store import LedgerStore
    from shared.tickets.processing import TicketProcessor
    from shared.tickets.store import TicketStore
    from tests.bench.capacity import metered
    from tests.bench.holds import _setup_stack, canonical_events
    from tests.support.local_aws import local_aws

    month, events = canonical_events(scale)
    events = sorted(events, key=lambda event: event.occurred_at)
    start = events[0].occurred_at
    with local_aws() as aws:
        _setup_stack(month, start)
        processor = TicketProcessor(tickets=TicketStore(), directory=DirectoryStore(), ledger=LedgerStore())
        next_release = start + RELEASE_EVERY
        for event in events:
            while event.occurred_at >= next_release:
                release_due(processor.tickets, processor, next_release)
                next_release += RELEASE_EVERY
            processor.apply(event, event.occurred_at)
        release_due(processor.tickets, processor, events[-1].occurred_at + timedelta(days=40))
        months = sorted({event.occurred_at.strftime('%Y-%m') for event in events} | {'2026-11'})
        for person in month.employees:
            for kpi_month in months:
                aws.dynamodb.put_item(TableName=os.environ['KPI_TABLE'], Item={
                    'pk': {'S': f'employee#{person.employee_id}'}, 'sk': {'S': kpi_month}, 'j': {'N': '10'}, 't': {'N': '10'}})  # fmt: skip
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']].get_table(os.environ['LEDGER_TABLE']).stream_shard
        assert shard is not None, 'the ledger table has no stream (template.yaml StreamSpecification)'
        records = [item.to_json() for item in shard.items]
        scorer = LeagueScorer(LiveStore(), AlertStore())
        applied = transactions = achievements = 0
        with metered() as meter:
            for first in range(0, len(records), SCORER_BATCH):
                entries, _ = entries_of(records[first : first + SCORER_BATCH])
                result = scorer.apply(entries, datetime.now(UTC))
                assert not result.failed
                applied, transactions = applied + result.applied, transactions + result.transactions
                achievements += len(result.achievements)
        wru = meter.write_units
    return {
        'league_scorer_wru_per_entry': round(wru / max(applied, 1), 2),
        'league_scorer_wru_per_event': round(wru / max(len(events), 1), 3),
        'league_sample_entries_per_event': round(len(records) / max(len(events), 1), 3),
        'league_scorer_entries_applied': applied,
        'league_scorer_transactions': transactions,
        # One entry alone in its batch costs one whole transaction: the figure per entry at the thinnest traffic.
        'league_scorer_wru_per_transaction': round(wru / max(transactions, 1), 2),
        'league_scorer_achievements': achievements,
        'league_scorer_sample_events': len(events),
    }


def figures() -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)

    return rank_read_figures() | scorer_write_figures()


if __name__ == '__main__':
    print(json.dumps(figures()))
