"""Nothing received is lost: every rejected webhook, and every accepted event whose processing failed
after its retries, is kept here with its reason and the exact test event that replays it.

Admins find items in the DynamoDB console (index `by_day`: day → received_at) and replay one by
invoking the QuarantineReplay function with the item's `replay_event`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from pynamodb.attributes import BinaryAttribute, BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
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
REPLAYED_RETENTION = timedelta(days=90)


class Stage(StrEnum):
    INGEST = 'ingest'  # rejected at the webhook boundary
    PROCESSING = 'processing'  # accepted, then failed after every retry


class QuarantineStatus(StrEnum):
    QUARANTINED = 'quarantined'
    REPLAYED = 'replayed'


class ByDayIndex(GlobalSecondaryIndex['QuarantineRecord']):
    class Meta:
        index_name = 'by_day'
        projection = AllProjection()

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
    headers = UnicodeAttribute(default='{}')
    query_params = UnicodeAttribute(default='{}')
    event = UnicodeAttribute(null=True)  # canonical event JSON (processing stage)
    replay_event = UnicodeAttribute()
    replay_count = NumberAttribute(default=0)
    replayed_at = UnicodeAttribute(null=True)
    replay_result = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL: set only once an item has been replayed successfully
    body_erased_at = UnicodeAttribute(null=True)  # a forget removed the body and event (they named a forgotten person)
    by_day = ByDayIndex()


@lru_cache(maxsize=4)
def quarantine_model(table_name: str) -> type[QuarantineRecord]:
    return type('BoundQuarantineRecord', (QuarantineRecord,), {'Meta': meta_for(table_name), 'by_day': ByDayIndex()})


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
    headers: dict[str, str]
    query: dict[str, str]
    event: str | None
    status: QuarantineStatus
    received_at: str


def new_quarantine_id(now: datetime) -> str:
    return f'q-{now:%Y%m%d}-{uuid.uuid4().hex[:20]}'


class QuarantineStore:
    def __init__(self, table_name: str | None = None) -> None:
        self.model = quarantine_model(table_name or get_settings().QUARANTINE_TABLE)

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
    ) -> str:
        quarantine_id = new_quarantine_id(now)
        stored, truncated = _compress(body)
        record = self.model(
            quarantine_id,
            day=f'{now:%Y-%m-%d}',
            received_at=now.isoformat(),
            stage=Stage.INGEST.value,
            source=source[:64],
            status_code=status_code,
            reason=safe_reason(reason)[:2000],
            field=field,
            correlation_id=correlation_id,
            authenticated=authenticated,
            body=stored,
            body_size=len(body),
            body_sha256=hashlib.sha256(body).hexdigest(),
            body_truncated=truncated,
            headers=json.dumps({k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}),
            query_params=json.dumps({k: v for k, v in query.items() if k.lower() != 'token'}),
            replay_event=json.dumps({'quarantine_id': quarantine_id}),
        )
        record.save(condition=self.model.pk.does_not_exist())
        return quarantine_id

    def keep_failed(self, *, source: str, event_json: str, reason: str, correlation_id: str | None, now: datetime) -> str:
        quarantine_id = new_quarantine_id(now)
        record = self.model(
            quarantine_id,
            day=f'{now:%Y-%m-%d}',
            received_at=now.isoformat(),
            stage=Stage.PROCESSING.value,
            source=source[:64],
            reason=safe_reason(reason)[:2000],
            correlation_id=correlation_id,
            authenticated=True,
            event=event_json,
            replay_event=json.dumps({'quarantine_id': quarantine_id}),
        )
        record.save(condition=self.model.pk.does_not_exist())
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
                self.model.expires_at.set(int((now + REPLAYED_RETENTION).timestamp())),
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
            }
            for r in self.model.by_day.query(day)
        ]


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
