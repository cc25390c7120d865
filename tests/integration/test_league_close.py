"""The league close on DynamoDB and SQS (moto), through its two handlers as deployed: the coordinator
(LeagueCloseFunction) and the division worker (LeagueCloseDivisionFunction, fed LeagueCloseQueue's messages).

Pitstop's October 2026 (Asia/Kolkata) with two divisions at IN-BLR-01 (technicians and service advisors of
IN-South): frozen standings, prizes, trophies and challenge rewards paid once; a second close writes nothing; a
crash between divisions, between prize payments and after freezing, then a rerun, gives the same standings and
pays each award once; points that change after the close never change the frozen standings; bad requests are
refused with the field named and nothing written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.directory.employees import EmployeeRow
from shared.directory.store import DirectoryStore
from shared.leagues.close_store import LeagueCloseStore
from shared.ledger.store import LedgerStore
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook, ProgramVersion
from tests.support.counting import count_requests
from tests.support.league_close import Score, bind_handlers, deliver, deliver_bodies, drive, score_item, seed_scores
from tests.support.local_aws import LocalAws, local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'
MONTH = '2026-10'
TECHS, ADVISORS = 'technician|IN-South', 'service_advisor|IN-South'
SCHEDULED = {'program_id': 'pitstop', 'scheduled_time': '2026-10-31T18:35:00Z'}  # 00:05 on 1 Nov in Asia/Kolkata
CONSOLE = {'program_id': 'pitstop', 'month': MONTH}


def workshop(**changes: Any) -> Any:
    document = json.loads((EVENTS / 'program_workshop.json').read_text()) | changes
    return parse_program(document)


def book(*documents: Any) -> ProgramBook:
    return ProgramBook({doc.program_id: [ProgramVersion(3, doc)] for doc in documents})


def person(employee_id: str, role: str, *, active: bool = True) -> EmployeeRow:
    return EmployeeRow(employee_id=employee_id, name=f'Person {employee_id}', role=role, location_id='IN-BLR-01', region='IN-South',
                       active=active)


SCORES = [
    Score('T1', TECHS, 500), Score('T2', TECHS, 400), Score('T3', TECHS, 400), Score('T4', TECHS, 100, items=2, qualified=False),
    Score('A1', ADVISORS, 300), Score('A2', ADVISORS, 250),
]
KPIS = {
    'T1': {'cs_g': 8, 'cs_n': 10, 'ta_s': 10 * 3 * 3600, 'ta_n': 10, 'zd': 10, 'ftf_ok': 9, 'ftf_n': 10},
    'T2': {'cs_g': 9, 'cs_n': 10, 'ta_s': 10 * 2 * 3600, 'ta_n': 10, 'zd': 9, 'ftf_ok': 10, 'ftf_n': 10},
    'T3': {'cs_g': 10, 'cs_n': 10, 'ta_s': 10 * 4 * 3600, 'ta_n': 10, 'zd': 10, 'ftf_ok': 8, 'ftf_n': 10},
    'T4': {'ta_s': 10 * 3600, 'ta_n': 10, 'zd': 10},  # fastest and no comebacks, but not qualified
    'A1': {'cs_g': 5, 'cs_n': 5, 'pd_ok': 19, 'pd_n': 20},
    'A2': {'cs_g': 3, 'cs_n': 4, 'pd_ok': 9, 'pd_n': 10},
}
# (rank, employee, points, prize, trophies, challenges), as the shipped Pitstop league judges October:
# T2 and T3 tie on 400: T3's higher CSAT ranks first. A3 has no score item.
EXPECTED = {
    TECHS: [(1, 'T1', 500, 1000, ('mvp',), ('zero_comebacks',)), (2, 'T3', 400, 600, ('customer_wow',), ('zero_comebacks',)),
            (3, 'T2', 400, 300, ('sharpshooter', 'speed_racer'), ()), (None, 'T4', 100, 0, (), ('zero_comebacks',))],
    ADVISORS: [(1, 'A1', 300, 1000, ('mvp', 'customer_wow'), ('on_time_95',)), (2, 'A2', 250, 600, (), ()), (None, 'A3', 0, 0, (), ())],
}
PAID = {'T1': 1000 + 250 + 300, 'T3': 600 + 200 + 300, 'T2': 300 + 200 + 200, 'T4': 300, 'A1': 1000 + 250 + 200 + 300, 'A2': 600, 'A3': 0}
ENTRIES = {'T1': 3, 'T3': 3, 'T2': 3, 'T4': 1, 'A1': 4, 'A2': 1, 'A3': 0}


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    with local_aws() as local:
        bind_handlers(lambda: book(workshop()), monkeypatch, local.queues['LeagueCloseQueue'])
        people = [person('T1', 'technician'), person('T2', 'technician'), person('T3', 'technician'), person('T4', 'technician'),
                  person('T9', 'technician', active=False), person('A1', 'service_advisor'), person('A2', 'service_advisor'),
                  person('A3', 'service_advisor'), person('M1', 'manager')]
        DirectoryStore().import_rows(people, datetime(2026, 10, 1, tzinfo=UTC))
        seed_scores(local.dynamodb, 'pitstop', MONTH, SCORES, KPIS)
        yield local


def queue(aws: LocalAws) -> str:
    return aws.queues['LeagueCloseQueue']


def standings(division: str) -> list[tuple[Any, ...]]:
    close = LeagueCloseStore().snapshot('pitstop', MONTH, division)
    assert close is not None, f'{division} is not frozen'
    return [(r.rank, r.employee_id, r.points, r.prize, r.trophies, r.challenges) for r in close.result.rows]


def paid() -> dict[str, tuple[int, int]]:
    """Per person: (available balance, number of league entries)."""
    ledger = LedgerStore()
    return {e: (ledger.balance(e, with_pending=False).available, len(ledger.entries_for(e))) for e in PAID}


def expected_paid() -> dict[str, tuple[int, int]]:
    return {e: (PAID[e], ENTRIES[e]) for e in PAID}


def test_the_scheduled_close_freezes_each_division_and_pays_prizes_trophies_and_challenges_once(
        aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    # Given: Pitstop's October scores and KPIs; the schedule fires at 00:05 on 1 November in Asia/Kolkata
    # When: the coordinator runs, then the division worker takes each queued division
    run = drive(SCHEDULED, aws.sqs, queue(aws))
    # Then: October was closed in two divisions (7 eligible: not the inactive technician, not the manager)
    assert (run.started['month'], run.started['divisions'], run.started['people'], run.started['queued']) == (MONTH, 2, 7, 2)
    assert len(run.divisions) == 2 and run.failures == 0
    # And: each division's standings are frozen as the league's rules say
    assert standings(TECHS) == EXPECTED[TECHS]
    assert standings(ADVISORS) == EXPECTED[ADVISORS]
    # And: every award is one available ledger entry, and the balances add up
    assert paid() == expected_paid()
    entry = next(e for e in LedgerStore().entries_for('T3') if e.reason.rule_id == 'league_trophy')
    assert (entry.reason.inputs['trophy_id'], entry.reason.inputs['value'], entry.reason.program_id) == ('customer_wow', 100.0, 'pitstop@3')
    # And: the close is finalized once, with each division's participation, published as LeagueParticipation
    marker = LeagueCloseStore().marker('pitstop', MONTH)
    assert marker is not None and marker.finalized_at is not None
    assert {d: marker.stats[d]['participation_pct'] for d in marker.divisions or ()} == {TECHS: 100.0, ADVISORS: 66.7}
    assert [(r.division, r.eligible, r.scored) for r in LeagueCloseStore().results(marker)] == [(ADVISORS, 3, 2), (TECHS, 4, 4)]
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"LeagueParticipation"' in line]
    assert sorted((m['division'], m['program'], m['LeagueParticipation']) for m in emitted) == [
        ('Service advisors · South', 'pitstop', [66.7]), ('Workshop technicians · South', 'pitstop', [100.0])]


def test_a_second_close_writes_nothing_and_answers_with_the_outcome(aws: LocalAws) -> None:
    # Given: October closed
    drive(SCHEDULED, aws.sqs, queue(aws))
    before = paid()
    # When: an admin re-runs it from the console, counted at botocore
    with count_requests() as counter:
        again = drive(CONSOLE, aws.sqs, queue(aws))
    # Then: no DynamoDB write, no message sent, the same balances; the answer carries the winners
    assert counter.ddb_writes == 0
    assert counter.calls[('sqs', 'SendMessageBatch')] == 0 and again.divisions == []
    assert again.started['finalized'] is True and paid() == before
    tops = {d['division']: d['top'][0][1] for d in again.started['outcome']['divisions']}
    assert tops == {TECHS: 'T1', ADVISORS: 'A1'}


class Crashing(LeagueCloseStore):
    """A store that raises once, at the n-th call of `month_figures` or `pay` (the Lambda timed out or died there)."""

    def __init__(self, method: str, at_call: int) -> None:
        super().__init__()
        self.method, self.at_call, self.calls, self.crashed = method, at_call, 0, False

    def _tick(self, method: str) -> None:
        if method != self.method:
            return
        self.calls += 1
        if self.calls == self.at_call and not self.crashed:
            self.crashed = True
            raise TimeoutError(f'crashed in {method}')

    def month_figures(self, *args: Any, **kwargs: Any) -> Any:
        self._tick('month_figures')
        return super().month_figures(*args, **kwargs)

    def pay(self, *args: Any, **kwargs: Any) -> Any:
        self._tick('pay')
        return super().pay(*args, **kwargs)


def use_store(monkeypatch: pytest.MonkeyPatch, store: LeagueCloseStore) -> None:
    from functions.league_close_division import app as worker

    monkeypatch.setattr(worker, '_store', store)


def test_a_crash_between_divisions_then_a_console_rerun_gives_the_same_standings_and_pays_once(
        aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: a worker that dies reading the second division's scores, and that division's message then lost (DLQ)
    crashing = Crashing('month_figures', at_call=2)
    use_store(monkeypatch, crashing)
    from functions.league_close import app as coordinator
    from tests.support.apigw import lambda_context

    coordinator.lambda_handler(SCHEDULED, lambda_context())
    first = aws.sqs.receive_message(QueueUrl=queue(aws), MaxNumberOfMessages=10, VisibilityTimeout=0)['Messages']
    assert len(first) == 2
    aws.sqs.purge_queue(QueueUrl=queue(aws))
    failures = deliver_bodies([m['Body'] for m in first])
    assert failures == 1 and crashing.crashed
    # Then: one division is frozen and paid, the other not; the close is not finalized
    marker = LeagueCloseStore().marker('pitstop', MONTH)
    assert marker is not None and len(marker.done) == 1 and marker.finalized_at is None
    # When: the admin re-runs the close from the console
    rerun = drive(CONSOLE, aws.sqs, queue(aws))
    # Then: only the missing division is queued; the standings are the clean run's and every award is paid once
    assert rerun.started['queued'] == 1 and rerun.started['started'] is False
    assert standings(TECHS) == EXPECTED[TECHS] and standings(ADVISORS) == EXPECTED[ADVISORS]
    assert paid() == expected_paid()
    marker = LeagueCloseStore().marker('pitstop', MONTH)
    assert marker is not None and marker.finalized_at is not None


def test_a_crash_between_prize_payments_then_the_redelivery_pays_each_award_once(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: payments one at a time, and a worker that dies at its second payment (the first person is paid)
    monkeypatch.setenv('LEAGUE_PAY_THREADS', '1')
    from shared.config import get_settings

    get_settings.cache_clear()
    crashing = Crashing('pay', at_call=2)
    use_store(monkeypatch, crashing)
    # When: the close runs; SQS delivers the failed division again
    run = drive(SCHEDULED, aws.sqs, queue(aws))
    # Then: the crash happened and was retried; every award is in the ledger once and the balances add up
    assert crashing.crashed and run.failures == 1
    assert paid() == expected_paid()
    assert standings(TECHS) == EXPECTED[TECHS] and standings(ADVISORS) == EXPECTED[ADVISORS]


def test_a_division_frozen_before_a_crash_is_read_back_never_recomputed(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: a worker that dies at the first payment, right after freezing the first division it takes
    crashing = Crashing('pay', at_call=1)
    use_store(monkeypatch, crashing)
    from functions.league_close import app as coordinator
    from tests.support.apigw import lambda_context

    coordinator.lambda_handler(SCHEDULED, lambda_context())
    first = aws.sqs.receive_message(QueueUrl=queue(aws), MaxNumberOfMessages=1, VisibilityTimeout=0)['Messages'][0]
    division = json.loads(first['Body'])['division']
    assert deliver_bodies([first['Body']]) == 1
    frozen = standings(division)
    # And: that division's leader's score item changes afterwards (a late write the close must ignore)
    leader = frozen[0][1]
    aws.dynamodb.put_item(TableName=os.environ['LEAGUES_TABLE'],
                          Item=score_item('pitstop', MONTH, Score(leader, division, 1, digest='ffffffffffffffff')))
    # When: the division is delivered again
    deliver(aws.sqs, queue(aws))
    # Then: its standings are the frozen ones, and the leader is paid their prize once
    assert standings(division) == frozen == EXPECTED[division]
    assert paid() == expected_paid()


def test_points_that_change_after_the_close_never_change_its_standings(aws: LocalAws) -> None:
    # Given: October closed
    drive(SCHEDULED, aws.sqs, queue(aws))
    store = LeagueCloseStore()
    before = {d: store.snapshot('pitstop', MONTH, d) for d in (TECHS, ADVISORS)}
    # When: a late entry changes T2's October score item (now the leader), and the close is re-run and a division
    # message delivered again (a duplicate from SQS)
    aws.dynamodb.put_item(TableName=os.environ['LEAGUES_TABLE'],
                          Item=score_item('pitstop', MONTH, Score('T2', TECHS, 900, entries=6, digest='fedcba9876543210')))
    drive(CONSOLE, aws.sqs, queue(aws))
    aws.sqs.send_message(QueueUrl=queue(aws), MessageBody=json.dumps({'program_id': 'pitstop', 'month': MONTH, 'version': 3,
                                                                     'division': TECHS}))
    deliver(aws.sqs, queue(aws))
    # Then: the snapshots, their digests and the payments are exactly as they were
    after = {d: store.snapshot('pitstop', MONTH, d) for d in (TECHS, ADVISORS)}
    assert after == before
    assert paid() == expected_paid()


def test_standings_and_rosters_larger_than_an_item_are_paged_and_read_back_whole(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: items limited to 64 bytes (instead of ~300 KB), so that each roster and snapshot spans several items
    from shared.leagues import close_store

    monkeypatch.setattr(close_store, 'CHUNK_BYTES', 64)
    # When: October is closed
    drive(SCHEDULED, aws.sqs, queue(aws))
    # Then: the snapshots and rosters took several items each, and read back whole: the same standings and payments
    head = aws.dynamodb.get_item(TableName=os.environ['LEAGUES_TABLE'], Key={'pk': {'S': 'CLOSE#pitstop#2026-10'}, 'sk': {'S': f'DIV#{TECHS}'}})
    assert int(head['Item']['pages']['N']) > 1
    rosters = aws.dynamodb.query(TableName=os.environ['LEAGUES_TABLE'], KeyConditionExpression='pk = :pk AND begins_with(sk, :r)',
                                 ExpressionAttributeValues={':pk': {'S': 'CLOSE#pitstop#2026-10'}, ':r': {'S': f'ROSTER#{TECHS}#'}})
    assert rosters['Count'] > 1
    assert standings(TECHS) == EXPECTED[TECHS] and standings(ADVISORS) == EXPECTED[ADVISORS]
    assert paid() == expected_paid()


def _league_table_items(aws: LocalAws) -> int:
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends['123456789012']['us-east-1'].get_table(os.environ['LEAGUES_TABLE'])
    return sum(1 for item in table.all_items() if not item.hash_key.value.startswith('S#'))


@pytest.mark.parametrize(
    ('event', 'field', 'says'),
    [
        ({'program_id': 'pitstop', 'month': '2026-13'}, 'month', 'String should match pattern'),
        ({'program_id': 'pitstop', 'month': 'October'}, 'month', 'String should match pattern'),
        ({'program_id': 'pitstop', 'month': MONTH, 'scheduled_time': '2026-10-31T18:25:00Z'}, 'month', 'has not ended in Asia/Kolkata'),
        ({'program_id': 'pitstop', 'month': '2099-01'}, 'month', 'has not ended'),
        ({'program_id': 'workshop', 'month': MONTH}, 'program_id', "unknown program 'workshop'"),
        ({'program_id': 'noleague', 'month': MONTH}, 'program_id', 'has no league'),
        ({'program_id': 'pitstop', 'period': MONTH}, 'period', 'Extra inputs are not permitted'),
    ],
    ids=['month-13', 'month-words', 'not-ended-in-the-programs-zone', 'future', 'unknown-program', 'no-league', 'unknown-field'],
)
def test_a_bad_close_request_is_refused_with_the_field_named_and_nothing_written(
        aws: LocalAws, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], field: str, says: str) -> None:
    # Given: Pitstop, and a program without a league
    from functions.league_close import app as coordinator
    from tests.support.apigw import lambda_context

    monkeypatch.setattr(coordinator, '_book', lambda: book(workshop(), workshop(program_id='noleague', league=None)))
    # When: the request reaches the coordinator
    with count_requests() as counter:
        answer = coordinator.lambda_handler(event, lambda_context())
    # Then: it is refused, naming the field and why; nothing is written or queued
    assert (answer['ok'], answer['field']) == (False, field)
    assert says in answer['error']
    assert counter.ddb_writes == 0 and counter.calls[('sqs', 'SendMessageBatch')] == 0
    assert _league_table_items(aws) == 0


def test_the_schedule_without_a_program_closes_every_league_whose_month_ended(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: both shipped programs (the support program has nobody in its scope here)
    from functions.league_close import app as coordinator

    support = parse_program((EVENTS / 'program_support.json').read_text())
    monkeypatch.setattr(coordinator, '_book', lambda: book(workshop(), support))
    # When: an EventBridge scheduled event without a program arrives on 1 December (November ended in both zones)
    run = drive({'source': 'aws.events', 'detail-type': 'Scheduled Event', 'time': '2026-12-01T05:10:00Z'}, aws.sqs, queue(aws))
    # Then: each program's month that just ended is closed (the one with nobody eligible is finalized at once)
    closes = {c['program_id']: c for c in run.started['closes']}
    assert set(closes) == {'pitstop', 'ecommerce_support'}
    assert closes['ecommerce_support']['finalized'] is True and closes['ecommerce_support']['divisions'] == 0
    assert closes['pitstop']['month'] == closes['ecommerce_support']['month']


def league_notices(aws: LocalAws) -> list[dict[str, Any]]:
    """The winners' notices waiting for the alert sender (the test reads the whole small table)."""
    table = os.environ['ALERTS_TABLE']
    items = aws.dynamodb.scan(TableName=table)['Items']
    return [item for item in items if item['pk']['S'].startswith('ALERT#') and 'league_result' in json.dumps(item)]


def test_the_last_division_announces_the_close_once_even_when_finalizing_it_failed(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: the close of October, whose last step (marking it finalized) fails after the announcement went out, every
    # time, until the last division's message is given up (moved to the dead-letter queue by the redrive policy)
    real_finalize = LeagueCloseStore.finalize
    broken = [True]

    def finalize(self: LeagueCloseStore, program_id: str, month: str, now: datetime) -> bool:
        if broken[0]:
            raise RuntimeError('injected: crashed before the close was marked finalized')
        return real_finalize(self, program_id, month, now)

    monkeypatch.setattr(LeagueCloseStore, 'finalize', finalize)
    from functions.league_close import app as coordinator
    from tests.support.apigw import lambda_context

    coordinator.lambda_handler(SCHEDULED, lambda_context())
    _, failures = deliver(aws.sqs, queue(aws))
    announced = league_notices(aws)
    marker = LeagueCloseStore().marker('pitstop', MONTH)
    assert marker is not None and marker.all_done and marker.finalized_at is None and failures >= 2

    # When: the cause is fixed and an admin re-runs the close from the console
    broken[0] = False
    again = drive(CONSOLE, aws.sqs, queue(aws))

    # Then: the coordinator hands the last division to the worker again, which finalizes the close; each winner (a
    # prize, a trophy or a challenge) has exactly one notice although the announcement ran on every attempt
    winners = {e for e, (points, _) in expected_paid().items() if points > 0}
    assert again.started['queued'] == 1 and again.failures == 0
    assert len(announced) == len(winners) == len(league_notices(aws))
    marker = LeagueCloseStore().marker('pitstop', MONTH)
    assert marker is not None and marker.finalized_at is not None
    assert paid() == expected_paid()


def test_the_statement_learns_when_each_league_closed_from_the_markers(aws: LocalAws) -> None:
    # Given: October's close of Pitstop has started (its marker exists); September's never ran
    from shared.leagues.markers import LeagueMarkers, months_back

    marker, _ = LeagueCloseStore().open('pitstop', MONTH, 3, datetime(2026, 10, 31, 18, 35, tzinfo=UTC))
    # When: the statement asks when the leagues of November and the two months before closed
    closes = LeagueMarkers().closed_at(('pitstop', m) for m in months_back('2026-11', 3))
    # Then: only October's close is known, at the instant its marker was written
    assert months_back('2026-11', 3) == ['2026-09', '2026-10', '2026-11'] and months_back('2026-01', 2) == ['2025-12', '2026-01']
    assert closes == {('pitstop', MONTH): datetime.fromisoformat(marker.closed_at)}
