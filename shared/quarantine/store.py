"""Nothing authentic is lost: every rejected webhook that authenticated, and every accepted event whose processing
failed after its retries, is kept here whole with its reason and the exact test event that replays it.

A request that never authenticated (unknown source 404, missing or wrong credentials 401/403, too large before
its signature was checked 413) costs whoever sends it nothing, so it must cost us almost nothing too: it is
counted per source and hour (one UpdateItem ADD on a small counter item, `REJ#<source>#<yyyy-mm-ddThh>`), and
only the first REJECTION_SAMPLES of each source and hour are also kept as a metadata item (source, status,
reason, field, body size, SHA-256 and the first 2 KB of the body; no headers, no query). Metadata items are not
replayable: the body is not there, the sender must send it again.

Every item (counters too) carries `expires_at`, the table's TTL attribute: QUARANTINE_RETENTION_DAYS after it
was written (or replayed). The `by_day` index (day -> received_at) projects keys only; `list_day` reads the
items it lists with BatchGetItem.

Admins list a day's items and counters with the QuarantineReplay function (`{"list_day": ...}`,
`{"list_rejections": ...}`) and replay one with its `replay_event`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pynamodb.attributes import BinaryAttribute, BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from shared.config import get_settings
from shared.dynamo import meta_for
from shared.observability import safe_reason

# Items hold at most this much compressed body; bigger bodies keep their head, size and SHA-256.
MAX_STORED_BODY = 300_000
# Only headers that help an admin or are needed to re-verify a signature are kept; tokens never are.
KEPT_HEADERS = (
    'content-type',
    'user-agent',
    'x-zendesk-webhook-signature',
    'x-zendesk-webhook-signature-timestamp',
    'x-zendesk-webhook-id',
    'x-zendesk-webhook-invocation-id',
    'x-zendesk-account-id',
    'x-pitcrew-signature',
    'x-pitcrew-timestamp',
    'soapaction',
)
# What is kept of a request that never authenticated: the first 2 KB of its body (plus its size and SHA-256).
UNAUTHENTICATED_HEAD = 2048
# The counter items' key prefix; the only keys the public functions may UpdateItem (template.yaml, LeadingKeys).
COUNTER_PREFIX = 'REJ#'
# Counters of rejections whose source is not one we know are kept under this one name (the path is the sender's choice).
UNKNOWN_SOURCE = '_unknown'
# Sources that may reject unauthenticated requests besides the webhook adapters (shared.sources.ADAPTER_NAMES).
OTHER_COUNTED_SOURCES = ('twilio',)


class Stage(StrEnum):
    INGEST = 'ingest'  # rejected at the webhook boundary
    PROCESSING = 'processing'  # accepted, then failed after every retry
    STREAM = 'stream'  # DynamoDB stream records a reader could not apply (shared/quarantine/stream.py)


class QuarantineStatus(StrEnum):
    QUARANTINED = 'quarantined'
    REPLAYED = 'replayed'


class ByDayIndex(GlobalSecondaryIndex['QuarantineRecord']):
    class Meta:
        index_name = 'by_day'
        projection = KeysOnlyProjection()

    day = UnicodeAttribute(hash_key=True)
    received_at = UnicodeAttribute(range_key=True)


class QuarantineRecord(Model):
    class Meta:
        table_name = 'pitcrew-quarantine'

    pk = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute()
    received_at = UnicodeAttribute()
    stage = UnicodeAttribute()
    status = UnicodeAttribute(default=QuarantineStatus.QUARANTINED.value)
    source = UnicodeAttribute()
    status_code = NumberAttribute(null=True)
    reason = UnicodeAttribute()
    field = UnicodeAttribute(null=True)
    correlation_id = UnicodeAttribute(null=True)
    authenticated = BooleanAttribute(default=False)
    body = BinaryAttribute(legacy_encoding=False, null=True)
    body_size = NumberAttribute(default=0)
    body_sha256 = UnicodeAttribute(null=True)
    body_truncated = BooleanAttribute(default=False)
    metadata_only = BooleanAttribute(null=True)  # True: rejected before authentication, `body_head` holds its first 2 KB
    body_head = BinaryAttribute(legacy_encoding=False, null=True)
    headers = UnicodeAttribute(default='{}')
    query_params = UnicodeAttribute(default='{}')
    event = UnicodeAttribute(null=True)  # canonical event JSON (processing stage)
    replay_event = UnicodeAttribute()
    replay_count = NumberAttribute(default=0)
    replayed_at = UnicodeAttribute(null=True)
    replay_result = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL (epoch seconds): retention after it was written, or replayed
    body_erased_at = UnicodeAttribute(null=True)  # a forget removed the body and event (they named a forgotten person)
    by_day = ByDayIndex()


class RejectionCounter(Model):
    """Unauthenticated rejections of one source in one hour (UTC): a total and the count per status."""

    class Meta:
        table_name = 'pitcrew-quarantine'

    pk = UnicodeAttribute(hash_key=True)  # REJ#<source>#<yyyy-mm-ddThh>
    rejections = NumberAttribute(default=0)
    s401 = NumberAttribute(null=True)
    s403 = NumberAttribute(null=True)
    s404 = NumberAttribute(null=True)
    s413 = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


COUNTED_STATUSES = (401, 403, 404, 413)


@lru_cache(maxsize=4)
def quarantine_model(table_name: str) -> type[QuarantineRecord]:
    return type('BoundQuarantineRecord', (QuarantineRecord,), {'Meta': meta_for(table_name), 'by_day': ByDayIndex()})


@lru_cache(maxsize=4)
def counter_model(table_name: str) -> type[RejectionCounter]:
    return type('BoundRejectionCounter', (RejectionCounter,), {'Meta': meta_for(table_name)})


def counted_sources() -> tuple[str, ...]:
    from shared.sources import ADAPTER_NAMES

    return (*ADAPTER_NAMES, *OTHER_COUNTED_SOURCES, UNKNOWN_SOURCE)


def counter_key(source: str, at: datetime) -> str:
    """`REJ#<source>#<yyyy-mm-ddThh>` (UTC hour); a source we do not know counts as `_unknown`."""
    name = source if source in counted_sources() else UNKNOWN_SOURCE
    return f'{COUNTER_PREFIX}{name}#{at.astimezone(UTC):%Y-%m-%dT%H}'


@dataclass(frozen=True)
class QuarantinedItem:
    quarantine_id: str
    stage: Stage
    source: str
    reason: str
    field: str | None
    status_code: int | None
    authenticated: bool
    body: bytes | None
    body_truncated: bool
    body_size: int
    body_sha256: str | None
    metadata_only: bool  # rejected before authentication: only `body_head` (the first 2 KB), not replayable
    body_head: bytes | None
    headers: dict[str, str]
    query: dict[str, str]
    event: str | None
    status: QuarantineStatus
    received_at: str


def new_quarantine_id(now: datetime) -> str:
    return f'q-{now:%Y%m%d}-{uuid.uuid4().hex[:20]}'


class QuarantineStore:
    def __init__(self, table_name: str | None = None, *, retention_days: int | None = None, samples_per_hour: int | None = None) -> None:
        settings = get_settings()
        self.model = quarantine_model(table_name or settings.QUARANTINE_TABLE)
        self.counters = counter_model(table_name or settings.QUARANTINE_TABLE)
        self.retention = timedelta(days=settings.QUARANTINE_RETENTION_DAYS if retention_days is None else retention_days)
        self.samples_per_hour = settings.QUARANTINE_REJECTION_SAMPLES if samples_per_hour is None else samples_per_hour

    def _expires_at(self, now: datetime) -> int:
        return int((now + self.retention).timestamp())

    def keep_rejected(
        self,
        *,
        source: str,
        body: bytes,
        headers: dict[str, str],
        query: dict[str, str],
        reason: str,
        field: str | None,
        status_code: int,
        authenticated: bool,
        correlation_id: str | None,
        now: datetime,
    ) -> str | None:
        """Keep a rejected request: whole when it authenticated, else counted (and sampled as metadata).

        Returns the quarantine id, or None when an unauthenticated rejection was only counted."""
        if not authenticated:
            return self._count_unauthenticated(source=source, body=body, reason=reason, field=field, status_code=status_code,
                                               correlation_id=correlation_id, now=now)
        stored, truncated = _compress(body)
        return self._save(
            now, Stage.INGEST, source, _stored_reason(reason), correlation_id,
            status_code=status_code,
            field=field,
            authenticated=authenticated,
            body=stored,
            body_size=len(body),
            body_sha256=hashlib.sha256(body).hexdigest(),
            body_truncated=truncated,
            headers=json.dumps({k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}),
            query_params=json.dumps({k: v for k, v in query.items() if k.lower() != 'token'}),
        )

    def _count_unauthenticated(self, *, source: str, body: bytes, reason: str, field: str | None, status_code: int,
                               correlation_id: str | None, now: datetime) -> str | None:
        counter = self.counters(counter_key(source, now))
        actions: list[Action] = [self.counters.rejections.add(1), self.counters.expires_at.set(self._expires_at(now))]
        if status_code in COUNTED_STATUSES:
            actions.append(getattr(self.counters, f's{status_code}').add(1))
        counter.update(actions=actions)
        if int(counter.rejections or 0) > self.samples_per_hour:
            return None  # counted; enough of this source's hour is kept already
        return self._save(
            now, Stage.INGEST, source, _stored_reason(reason, 300), correlation_id[:128] if correlation_id else None,
            status_code=status_code,
            field=field[:120] if field else None,
            authenticated=False,
            metadata_only=True,
            body_size=len(body),
            body_sha256=hashlib.sha256(body).hexdigest(),
            body_truncated=len(body) > UNAUTHENTICATED_HEAD,
            body_head=body[:UNAUTHENTICATED_HEAD] or None,
        )

    def keep_failed(self, *, source: str, event_json: str, reason: str, correlation_id: str | None, now: datetime) -> str:
        return self._save(
            now, Stage.PROCESSING, source, _stored_reason(reason), correlation_id,
            authenticated=True,
            event=event_json,
        )

    def keep_stream_records(self, *, reader: str, records_json: str, reason: str, correlation_id: str | None, now: datetime) -> str:
        """Stream records (Lambda's event shape, in stream order) that `reader` could not apply; replayed together."""
        raw = records_json.encode()
        stored, truncated = _compress(raw)
        return self._save(
            now, Stage.STREAM, reader, _stored_reason(reason), correlation_id,
            authenticated=True,
            body=stored,
            body_size=len(raw),
            body_sha256=hashlib.sha256(raw).hexdigest(),
            body_truncated=truncated,
        )

    def _save(self, now: datetime, stage: Stage, source: str, reason: str, correlation_id: str | None, **fields: Any) -> str:
        """One quarantine item, every kind: its envelope (id, day, stage, source, the reason as _stored_reason gave it,
        the replay event, the retention TTL: stream records expire like every other item) and `fields`; written once."""
        quarantine_id = new_quarantine_id(now)
        self.model(
            quarantine_id,
            day=f'{now:%Y-%m-%d}',
            received_at=now.isoformat(),
            stage=stage.value,
            source=source[:64],
            reason=reason,
            correlation_id=correlation_id,
            replay_event=json.dumps({'quarantine_id': quarantine_id}),
            expires_at=self._expires_at(now),
            **fields,
        ).save(condition=self.model.pk.does_not_exist())
        return quarantine_id

    def get(self, quarantine_id: str) -> QuarantinedItem | None:
        try:
            record = self.model.get(quarantine_id, consistent_read=True)
        except self.model.DoesNotExist:
            return None
        return QuarantinedItem(
            quarantine_id=record.pk,
            stage=Stage(record.stage),
            source=record.source,
            reason=record.reason,
            field=record.field,
            status_code=int(record.status_code) if record.status_code is not None else None,
            authenticated=bool(record.authenticated),
            body=zlib.decompress(record.body) if record.body is not None else None,
            body_truncated=bool(record.body_truncated),
            body_size=int(record.body_size or 0),
            body_sha256=record.body_sha256,
            metadata_only=bool(record.metadata_only),
            body_head=record.body_head,
            headers=json.loads(record.headers),
            query=json.loads(record.query_params),
            event=record.event,
            status=QuarantineStatus(record.status),
            received_at=record.received_at,
        )

    def mark_replayed(self, quarantine_id: str, result: str, now: datetime) -> None:
        record = self.model(quarantine_id)
        record.update(
            actions=[
                self.model.status.set(QuarantineStatus.REPLAYED.value),
                self.model.replayed_at.set(now.isoformat()),
                self.model.replay_result.set(result[:2000]),
                self.model.replay_count.add(1),
                self.model.expires_at.set(self._expires_at(now)),
            ],
            condition=self.model.pk.exists(),
        )

    def note_failed_replay(self, quarantine_id: str, result: str, now: datetime) -> None:
        record = self.model(quarantine_id)
        record.update(
            actions=[self.model.replay_result.set(f'{now.isoformat()} {result}'[:2000]), self.model.replay_count.add(1)],
            condition=self.model.pk.exists(),
        )

    def list_day(self, day: str) -> list[dict[str, object]]:
        """The day's items, in the order received: the index gives their keys, BatchGetItem the listed attributes."""
        keys = [entry.pk for entry in self.model.by_day.query(day)]
        records = {r.pk: r for r in self.model.batch_get(keys, attributes_to_get=list(LISTED_ATTRIBUTES))} if keys else {}
        return [
            {
                'quarantine_id': r.pk,
                'received_at': r.received_at,
                'stage': r.stage,
                'source': r.source,
                'status': r.status,
                'status_code': r.status_code,
                'field': r.field,
                'reason': r.reason,
                'metadata_only': bool(r.metadata_only),
            }
            for r in sorted(records.values(), key=lambda r: (r.received_at, r.pk))
        ]

    def list_rejections(self, day: str) -> list[dict[str, object]]:
        """The day's unauthenticated-rejection counters (UTC hours), per source and hour: BatchGetItem of every
        (source, hour) key there can be (11 sources x 24 hours), no Scan."""
        keys = [f'{COUNTER_PREFIX}{source}#{day}T{hour:02d}' for source in counted_sources() for hour in range(24)]
        found = []
        for counter in self.counters.batch_get(keys):
            _, source, hour = counter.pk.split('#', 2)
            by_status = {str(code): int(n) for code in COUNTED_STATUSES if (n := getattr(counter, f's{code}')) is not None}
            found.append({'source': source, 'hour': hour, 'rejections': int(counter.rejections or 0), 'by_status': by_status})
        return sorted(found, key=lambda c: (str(c['hour']), str(c['source'])))


    # --- forgetting a person (shared.privacy.erase): a Query per day of the `by_day` index, never a Scan ----------
    def day_ids(self, day: str) -> list[str]:
        """The ids of a day's items (keys only, so it works whatever the index projects)."""
        return [record.pk for record in self.model.by_day.query(day, attributes_to_get=['pk'])]

    def texts(self, quarantine_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Per id: (everything the item holds from a sender, as text: body, event, query string, headers; its reason)."""
        found: dict[str, tuple[str, str]] = {}
        for record in self.model.batch_get(quarantine_ids):
            body = zlib.decompress(record.body).decode('utf-8', 'replace') if record.body is not None else ''
            sender = '\n'.join((body, record.event or '', record.query_params or '', record.headers or ''))
            found[record.pk] = (sender, record.reason)
        return found

    def erase_payload(self, quarantine_id: str, now: datetime, *, erase_reason: bool, reason: str) -> None:
        """Remove what a sender sent (body, event, query string); keep the metadata. The reason goes too when it names
        the person. The item can no longer be replayed as it was (the admin sends a corrected body)."""
        actions: list[Action] = [self.model.body.remove(), self.model.event.remove(), self.model.query_params.set('{}'),
                   self.model.body_erased_at.set(now.isoformat())]  # fmt: skip
        if erase_reason:
            actions.append(self.model.reason.set(reason))
        self.model(quarantine_id).update(actions=actions, condition=self.model.pk.exists())


LISTED_ATTRIBUTES = ('pk', 'received_at', 'stage', 'source', 'status', 'status_code', 'field', 'reason', 'metadata_only')


def _stored_reason(reason: str, limit: int = 2000) -> str:
    """Every reason the quarantine stores, on every path: personal values masked (safe_reason), then capped."""
    return safe_reason(reason)[:limit]


def _compress(body: bytes) -> tuple[bytes, bool]:
    packed = zlib.compress(body, 9)
    if len(packed) <= MAX_STORED_BODY:
        return packed, False
    head = len(body)
    while len(packed) > MAX_STORED_BODY:
        head //= 2
        packed = zlib.compress(body[:head], 9)
    return packed, True


def body_preview(body: bytes | None, limit: int = 200) -> str:
    if body is None:
        return ''
    try:
        return body[:limit].decode('utf-8')
    except UnicodeDecodeError:
        return 'base64:' + base64.b64encode(body[:limit]).decode()
