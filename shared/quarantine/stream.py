"""The stream readers' safety net (KPI aggregator, alert planner, league scorer).

Two layers, so that one bad record never stops a shard and nothing is lost:

1. A record the reader cannot read (a deterministic fault: retrying it can only fail again) is kept in the quarantine
   with its image and reason (`keep_poison`), and the batch goes on. Only the record's type, field names and the
   error's kind are logged, never its values.
2. A batch that still fails (a write refused, a timeout) is retried by Lambda, bisected, at most a few times, then its
   metadata (shard, first and last sequence number: NOT the records) goes to the reader's on-failure queue, which
   alarms. `drain_failures` re-reads those records from the stream (GetShardIterator AT_SEQUENCE_NUMBER, GetRecords;
   the stream keeps them 24 hours, MaximumRecordAgeInSeconds leaves the admin most of that) and keeps them as ONE
   quarantine item, in stream order.

Either item is replayed by the quarantine replay (`ReaderInvoker`): the reader's own function is invoked with the
records, as one batch in their order (the KPI run markers and the scorer's sequence numbers make a re-applied record a
no-op only for the same batch shape), so the reader's logic and its own permissions apply. During a replay a record
that is still unreadable is not quarantined again: the replay fails and says why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from shared.observability import logger

# The readers and the environment variables (of the replay function) naming their functions and on-failure queues.
READERS: dict[str, tuple[str, str]] = {
    'kpi_aggregator': ('KPI_AGGREGATOR_FUNCTION', 'KPI_STREAM_DLQ_URL'),
    'alert_planner': ('ALERT_PLANNER_FUNCTION', 'ALERT_PLAN_DLQ_URL'),
    'league_scorer': ('LEAGUE_SCORER_FUNCTION', 'LEAGUE_STREAM_DLQ_URL'),
    'debt_recovery': ('DEBT_RECOVERY_FUNCTION', 'DEBT_STREAM_DLQ_URL'),
}
REPLAY_KEY = 'replay_of'  # set in the event by the replay: the quarantine id being replayed
MAX_GET_RECORDS_CALLS = 200

_replaying: ContextVar[str | None] = ContextVar('stream_replaying', default=None)


class PoisonRecord(Exception):
    """A record that is still unreadable while it is being replayed (it is not quarantined twice)."""


@contextmanager
def reading(event: Mapping[str, Any]) -> Iterator[None]:
    """Wrap a reader's handler: tells `keep_poison` whether this invocation is an admin's replay."""
    token = _replaying.set(str(event[REPLAY_KEY]) if event.get(REPLAY_KEY) else None)
    try:
        yield
    finally:
        _replaying.reset(token)


def describe(exc: BaseException) -> str:
    """The error's kind and the fields it names, without the values (records carry personal data)."""
    if isinstance(exc, ValidationError):
        problems = '; '.join(f'{".".join(map(str, e["loc"])) or "-"}: {e["type"]}' for e in exc.errors()[:10])
        return f'ValidationError ({exc.error_count()}): {problems}'
    if isinstance(exc, KeyError):
        return f'KeyError: missing {exc.args[0]!r}' if exc.args else 'KeyError'
    return f'{type(exc).__name__}: {str(exc)[:300]}'


def _sequence_number(record: Mapping[str, Any]) -> str | None:
    value = (record.get('dynamodb') or {}).get('SequenceNumber')
    return str(value) if value is not None else None


def keep_poison(reader: str, record: Mapping[str, Any], exc: BaseException, store: Any = None, now: datetime | None = None) -> str:
    """Keep an unreadable record with its reason and skip it; raises PoisonRecord during a replay, and lets a failing
    quarantine write propagate (the batch then fails and is retried: the record is never dropped)."""
    reason = describe(exc)
    replay = _replaying.get()
    if replay is not None:
        raise PoisonRecord(f'record {record.get("eventID")} is still unreadable: {reason}')
    if store is None:
        from shared.quarantine.store import QuarantineStore

        store = QuarantineStore()
    quarantine_id: str = store.keep_stream_records(
        reader=reader, records_json=json.dumps([record], default=str), reason=reason, correlation_id=str(record.get('eventID')),
        now=now or datetime.now(UTC))  # fmt: skip
    logger.error('unreadable stream record quarantined and skipped',
                 extra={'reader': reader, 'event_id': record.get('eventID'), 'sequence_number': _sequence_number(record),
                        'event_name': record.get('eventName'), 'reason': reason, 'quarantine_id': quarantine_id})  # fmt: skip
    return quarantine_id


class ReaderInvoker:
    """Re-runs a reader on records by invoking its function synchronously (its code, its permissions)."""

    def __init__(self, functions: Mapping[str, str], client: Any = None) -> None:
        self.functions = dict(functions)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client('lambda')
        return self._client

    def __call__(self, reader: str, records: Sequence[Mapping[str, Any]], quarantine_id: str) -> str | None:
        """None when the reader applied every record; otherwise why not."""
        function = self.functions.get(reader)
        if not function:
            return f'no function is configured for the stream reader {reader!r}'
        payload = json.dumps({'Records': list(records), REPLAY_KEY: quarantine_id}, default=str).encode()
        response = self.client.invoke(FunctionName=function, InvocationType='RequestResponse', Payload=payload)
        body = response['Payload'].read()
        answer = json.loads(body) if body else None
        if response.get('FunctionError'):
            message = answer.get('errorMessage') if isinstance(answer, dict) else None
            return f'{reader} failed: {message or response["FunctionError"]}'
        failures = answer.get('batchItemFailures') if isinstance(answer, dict) else None
        if failures:
            return f'{reader} could not apply {len(failures)} record(s) from {failures[0].get("itemIdentifier")}'
        return None


# --- the on-failure queues -----------------------------------------------------------------------------------------
def _lambda_shape(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (epoch seconds, the event source ARN)."""
    body = dict(record.get('dynamodb') or {})
    created = body.get('ApproximateCreationDateTime')
    if isinstance(created, datetime):
        body['ApproximateCreationDateTime'] = created.timestamp()
    return {**record, 'dynamodb': body, 'eventSource': 'aws:dynamodb', 'eventSourceARN': stream_arn}


def reread(streams: Any, info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records of a failed batch (its DDBStreamBatchInfo), re-read from the stream in order."""
    stream_arn, start, end = str(info['streamArn']), str(info['startSequenceNumber']), int(info['endSequenceNumber'])
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=str(info['shardId']), ShardIteratorType='AT_SEQUENCE_NUMBER',
                                          SequenceNumber=start)['ShardIterator']  # fmt: skip
    records: list[dict[str, Any]] = []
    for _ in range(MAX_GET_RECORDS_CALLS):
        if iterator is None:
            break
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page.get('Records', []):
            if int(record['dynamodb']['SequenceNumber']) > end:
                return records
            records.append(_lambda_shape(record, stream_arn))
        if len(records) >= int(info.get('batchSize') or 0) > 0:
            return records
        iterator = page.get('NextShardIterator')
    return records


def drain_failures(reader: str, *, queue_url: str, sqs: Any, streams: Any, store: Any, max_messages: int = 100,
                   now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Turn the reader's on-failure messages into quarantine items (records re-read from the stream); each message is
    deleted once its item is written. Records the stream no longer holds are kept as metadata with that reason."""
    kept: list[str] = []
    lost: list[str] = []
    seen = 0
    while seen < max_messages:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(10, max_messages - seen), WaitTimeSeconds=0,
                                    VisibilityTimeout=300).get('Messages', [])  # fmt: skip
        if not batch:
            break
        for message in batch:
            seen += 1
            failure = json.loads(message['Body'])
            info = failure.get('DDBStreamBatchInfo') or {}
            context = failure.get('requestContext') or {}
            where = f'shard {info.get("shardId")} sequence {info.get("startSequenceNumber")}..{info.get("endSequenceNumber")}'
            reason = f'{context.get("condition", "failed")} after {context.get("approximateInvokeCount", "?")} attempts: {where}'
            try:
                records = reread(streams, info) if info else []
            except Exception as exc:  # trimmed (older than 24 h), expired iterator, stream gone
                logger.warning('failed stream records could not be re-read',
                               extra={'reader': reader, 'where': where, 'error': type(exc).__name__})  # fmt: skip
                records = []
                reason += f'; not re-readable ({type(exc).__name__})'
            if not records:
                lost.append(where)
            quarantine_id = store.keep_stream_records(reader=reader, records_json=json.dumps(records, default=str), reason=reason,
                                                      correlation_id=context.get('requestId'), now=now or datetime.now(UTC))  # fmt: skip
            kept.append(quarantine_id)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message['ReceiptHandle'])
    logger.info('stream failures drained', extra={'reader': reader, 'kept': len(kept), 'not_re_readable': len(lost)})
    return {'ok': True, 'reader': reader, 'quarantined': kept, 'not_re_readable': lost}
