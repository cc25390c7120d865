"""Safety nets of the stream readers (README, "Safety nets"), on moto: a poison record is quarantined with its reason
while the rest of the batch is applied, and an admin replays it through the reader; a refused write is reported from
its first change so that a retry, whole or bisected, counts every change once; a reader's on-failure message (shard and
sequence range only) is turned back into a quarantine item holding the records, which replays."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.kpi_aggregator import app as kpi_app
from shared.kpi.definitions import Contribution
from shared.kpi.report import read_month
from shared.kpi.store import KpiStore
from shared.quarantine.replay import replay_item
from shared.quarantine.store import QuarantineStatus, QuarantineStore, Stage
from shared.quarantine.stream import ReaderInvoker, drain_failures
from shared.sla.config import KpiSettings
from tests.support.apigw import lambda_context
from tests.support.local_aws import LocalAws, local_aws

NOW = datetime(2026, 11, 1, tzinfo=UTC)


class InProcessLambda:
    """Lambda's Invoke API for the replay: runs the reader's real handler on the payload, answers as Lambda does."""

    def __init__(self, handlers: dict[str, Any]) -> None:
        self.handlers = handlers
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        event = json.loads(Payload)
        self.invocations.append(event)
        try:
            answer = self.handlers[FunctionName](event, lambda_context())
        except Exception as exc:
            body = {'errorMessage': str(exc), 'errorType': type(exc).__name__}
            return {'StatusCode': 200, 'FunctionError': 'Unhandled', 'Payload': io.BytesIO(json.dumps(body).encode())}
        return {'StatusCode': 200, 'Payload': io.BytesIO(json.dumps(answer, default=str).encode())}


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        kpi_app._store = None  # bound to this test's tables
        yield aws
        kpi_app._store = None


def kpi_record(event_id: str, sequence: int, scopes: tuple[str, ...] = ('location#US-NYC',), kpi: str | None = None) -> dict[str, Any]:
    value = kpi if kpi is not None else Contribution('2026-10-22', scopes, {'t': 1}).to_json()
    return {'eventID': event_id, 'eventName': 'MODIFY',
            'dynamodb': {'SequenceNumber': str(sequence), 'NewImage': {'pk': {'S': f'T#{event_id}'}, 'kpi': {'S': value}}}}  # fmt: skip


def tickets(scope: str = 'location#US-NYC') -> int:
    return int(read_month(KpiStore(), scope, '2026-10', KpiSettings()).kpis['tickets'].value or 0)


def replayer() -> tuple[ReaderInvoker, InProcessLambda]:
    fake = InProcessLambda({'kpi-fn': kpi_app.lambda_handler})
    return ReaderInvoker({'kpi_aggregator': 'kpi-fn'}, client=fake), fake


def quarantined() -> list[dict[str, Any]]:
    return QuarantineStore().list_day(datetime.now(UTC).date().isoformat())


def test_a_poison_record_is_kept_with_its_reason_the_batch_goes_on_and_a_corrected_replay_applies_it(aws: LocalAws) -> None:
    # Given a batch in which the middle record's KPI contribution is corrupt
    batch = [kpi_record('a', 100), kpi_record('poison', 200, kpi='{"day": 7'), kpi_record('c', 300)]

    # When the KPI aggregator reads it
    answer = kpi_app.lambda_handler({'Records': batch}, lambda_context())

    # Then the other two are counted, nothing is reported failed, and the poison record is kept whole with its reason
    assert tickets() == 2
    assert answer['batchItemFailures'] == []
    [item] = quarantined()
    assert (item['stage'], item['source']) == (Stage.STREAM.value, 'kpi_aggregator')
    assert 'JSONDecodeError' in str(item['reason'])
    kept = QuarantineStore().get(str(item['quarantine_id']))
    assert kept is not None and json.loads(kept.body or b'[]') == [batch[1]]

    # When an admin replays it as it is
    invoker, fake = replayer()
    as_is = replay_item(QuarantineStore(), None, str(item['quarantine_id']), now=NOW, requeue=lambda _: None, rerun=invoker)  # type: ignore[arg-type]

    # Then the reader refuses it again, says why, and does not quarantine it a second time
    assert as_is['ok'] is False and 'still unreadable' in as_is['error']
    assert len(quarantined()) == 1 and tickets() == 2

    # When the admin replays it with the record corrected
    fixed = json.dumps([kpi_record('poison', 200)]).encode()
    outcome = replay_item(QuarantineStore(), None, str(item['quarantine_id']), now=NOW, corrected_body=fixed,  # type: ignore[arg-type]
                          requeue=lambda _: None, rerun=invoker)  # fmt: skip

    # Then the reader's own handler applied it once, and the item is marked replayed
    assert outcome == {'ok': True, 'result': 'kpi_aggregator applied 1 record(s)'}
    assert tickets() == 3
    assert fake.invocations[-1]['replay_of'] == item['quarantine_id']
    replayed = QuarantineStore().get(str(item['quarantine_id']))
    assert replayed is not None and replayed.status is QuarantineStatus.REPLAYED


class RefusingClient:
    """The real DynamoDB client, except that the n-th transaction is refused (a throttled or failing table)."""

    def __init__(self, real: Any, refuse: set[int]) -> None:
        self.real, self.refuse, self.calls = real, refuse, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls in self.refuse:
            raise self.real.exceptions.InternalServerError({'Error': {'Code': 'InternalServerError', 'Message': 'refused'}}, 'TransactWriteItems')
        return self.real.transact_write_items(**kwargs)


def test_a_refused_run_is_reported_from_its_first_change_and_retries_count_every_change_once(aws: LocalAws) -> None:
    # Given three changes that each fill a run of their own (60 scopes each), and a table that refuses the second run
    def record(n: int) -> dict[str, Any]:
        return kpi_record(f'r{n}', n * 100, scopes=('location#US-NYC', *(f'team#t{n}-{i}' for i in range(59))))

    batch = [record(1), record(2), record(3)]
    kpi_app._store = KpiStore(client=RefusingClient(aws.dynamodb, refuse={2}))

    # When the aggregator reads the batch
    answer = kpi_app.lambda_handler({'Records': batch}, lambda_context())

    # Then it reports the refused run's first record (Lambda's retry starts there) and only the first change counts
    assert answer['batchItemFailures'] == [{'itemIdentifier': '200'}]
    assert tickets() == 1

    # When Lambda retries from there, bisected into halves, and then the whole rest again
    kpi_app._store = KpiStore()
    halves = [kpi_app.lambda_handler({'Records': part}, lambda_context()) for part in (batch[1:2], batch[2:])]
    again = kpi_app.lambda_handler({'Records': batch[1:]}, lambda_context())

    # Then every change counts exactly once
    assert [h['batchItemFailures'] for h in halves] == [[], []] and again['already_applied'] == 2
    assert tickets() == 3


class TableStream:
    """DynamoDB Streams' GetShardIterator/GetRecords over moto's in-process stream of a table (moto's own streams
    endpoint does not answer the current botocore): AT_SEQUENCE_NUMBER, pages of `Limit`, NextShardIterator."""

    def __init__(self, table_name: str) -> None:
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends['123456789012']['us-east-1'].get_table(table_name).stream_shard
        assert shard is not None
        self.shard = shard

    def records(self) -> list[dict[str, Any]]:
        return [item.to_json() for item in self.shard.items]

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str, SequenceNumber: str) -> dict[str, Any]:  # noqa: N803
        assert ShardIteratorType == 'AT_SEQUENCE_NUMBER'
        positions = [i for i, r in enumerate(self.records()) if int(r['dynamodb']['SequenceNumber']) >= int(SequenceNumber)]
        if not positions:
            raise LookupError('TrimmedDataAccessException')
        return {'ShardIterator': str(positions[0])}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        start, records = int(ShardIterator), self.records()
        page = records[start : start + min(Limit, 2)]  # small pages: the reader must follow NextShardIterator
        return {'Records': page, 'NextShardIterator': str(start + len(page)) if start + len(page) < len(records) else None}


def test_an_on_failure_message_is_reread_into_the_quarantine_and_replays_in_stream_order(aws: LocalAws) -> None:
    # Given five ticket changes on the tickets table's stream, and the KPI reader's on-failure message naming the
    # second to the fourth (Lambda sends the shard and sequence range, not the records)
    import os

    table = os.environ['TICKETS_TABLE']
    for n in range(5):
        contribution = Contribution('2026-10-22', ('location#US-NYC',), {'t': 1}).to_json()
        aws.dynamodb.put_item(TableName=table, Item={'pk': {'S': f'T#{n}'}, 'kpi': {'S': contribution}})
    stream = TableStream(table)
    sequence = [r['dynamodb']['SequenceNumber'] for r in stream.records()]
    arn = f'arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-11-01T00:00:00.000'
    failure = {'requestContext': {'requestId': 'req-1', 'condition': 'RetryAttemptsExhausted', 'approximateInvokeCount': 6},
               'DDBStreamBatchInfo': {'shardId': 'shardId-1', 'startSequenceNumber': sequence[1], 'endSequenceNumber': sequence[3],
                                      'batchSize': 3, 'streamArn': arn}}  # fmt: skip
    dlq = aws.queues['KpiStreamDLQ']
    aws.sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(failure))
    lost = dict(failure, DDBStreamBatchInfo=dict(failure['DDBStreamBatchInfo'], startSequenceNumber='9' * 30, endSequenceNumber='9' * 31))
    aws.sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(lost))

    # When the admin drains the reader's failures
    drained = drain_failures('kpi_aggregator', queue_url=dlq, sqs=aws.sqs, streams=stream, store=QuarantineStore())

    # Then one item holds exactly those three records in stream order; the range no longer in the stream is kept as
    # metadata with that reason; the queue is empty
    assert len(drained['quarantined']) == 2 and len(drained['not_re_readable']) == 1
    items = {i['quarantine_id']: i for i in quarantined()}
    full = QuarantineStore().get(drained['quarantined'][0])
    assert full is not None
    records = json.loads(full.body or b'[]')
    assert [r['dynamodb']['SequenceNumber'] for r in records] == sequence[1:4]
    assert all(r['eventSourceARN'] == arn for r in records)
    assert 'RetryAttemptsExhausted after 6 attempts' in str(items[drained['quarantined'][0]]['reason'])
    assert 'not re-readable' in str(items[drained['quarantined'][1]]['reason'])
    assert aws.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get('Messages', []) == []

    # When both are replayed
    invoker, fake = replayer()
    replayed = replay_item(QuarantineStore(), None, drained['quarantined'][0], now=NOW, requeue=lambda _: None, rerun=invoker)  # type: ignore[arg-type]
    empty = replay_item(QuarantineStore(), None, drained['quarantined'][1], now=NOW, requeue=lambda _: None, rerun=invoker)  # type: ignore[arg-type]

    # Then the three changes are applied once, as one batch, and the empty item says it holds nothing
    assert replayed['ok'] is True and tickets() == 3
    assert [len(event['Records']) for event in fake.invocations] == [3]
    assert empty['ok'] is False and 'holds no stream records' in empty['error']
