"""Where a ticket's events, derived state and awards are kept (DynamoDB, one item per ticket).

The item holds the ticket's history (`shared.tickets.history`: its most recent events whole and the fold of the
older ones, zlib-compressed JSON), so its state can be re-derived whatever the arrival order; the awards it caused
(compressed), so a change can be reversed; a version number for optimistic concurrency; `unsettled` while a ledger
change too large for one transaction is still being written in steps; and readable copies of the main state fields
for admins browsing the table in the console. Its size is bounded: at most KEEP_EVENTS events, a capped set of
tags, a capped SLA history (about 64 KB however many events the ticket receives; the awards add about 60 bytes each).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from pynamodb.attributes import BinaryAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from shared.alerts.plan import TicketAlerts
from shared.config import get_settings
from shared.dynamo import meta_for
from shared.events import TicketEvent
from shared.kpi.definitions import Contribution
from shared.ledger.entries import AwardRecord, hold_due
from shared.sla.clock import SlaReport
from shared.tickets.history import CompactedHistory, TicketHistory
from shared.tickets.state import TicketState


class UnmappedIndex(GlobalSecondaryIndex['TicketRecord']):
    """Sparse index of tickets whose assignees are not (yet) in the employee directory."""

    class Meta:
        index_name = 'unmapped'
        projection = KeysOnlyProjection()

    unmapped_source = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class HoldsIndex(GlobalSecondaryIndex['TicketRecord']):
    """Sparse index of tickets with pending awards, by the time the next one is due for release: the hold
    release reads what is due and nothing else (no Scan)."""

    class Meta:
        index_name = 'holds'
        projection = KeysOnlyProjection()

    hold_shard = UnicodeAttribute(hash_key=True)
    hold_due = UnicodeAttribute(range_key=True)


class TicketRecord(Model):
    class Meta:
        table_name = 'pitcrew-tickets'

    pk = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    events = BinaryAttribute(legacy_encoding=False)  # the most recent events (shared/tickets/history.py)
    history = BinaryAttribute(legacy_encoding=False, null=True)  # the fold of the older events, once there are any
    awards = UnicodeAttribute(null=True)  # items written before the awards were compressed
    awards_z = BinaryAttribute(legacy_encoding=False, null=True)  # the awards (zlib-compressed JSON)
    unsettled = NumberAttribute(null=True)  # 1 while a large ledger change is written in steps (shared/ledger/entries.py)
    state = UnicodeAttribute(default='{}')
    status = UnicodeAttribute(null=True)
    location_id = UnicodeAttribute(null=True)
    employee_ids = ListAttribute(of=UnicodeAttribute, null=True)
    unmapped_source = UnicodeAttribute(null=True)
    unmapped_agents = ListAttribute(of=UnicodeAttribute, null=True)
    sla = UnicodeAttribute(null=True)  # the SLA clocks, one readable line: policy, each target's state, due time, elapsed
    sla_due_at = UnicodeAttribute(null=True)  # the next due time of a running target (ISO, UTC)
    kpi = UnicodeAttribute(null=True)  # this ticket's KPI contribution; the stream carries old and new
    alerts = UnicodeAttribute(null=True)  # owner, worklist fields, breaches and alert checkpoints (shared/alerts/plan.py)
    hold_shard = UnicodeAttribute(null=True)  # set only while the ticket has pending awards
    hold_due = UnicodeAttribute(null=True)  # the earliest release time of its pending awards (ISO, UTC)
    updated_at = UnicodeAttribute()
    unmapped_index = UnmappedIndex()
    holds_index = HoldsIndex()


@lru_cache(maxsize=4)
def ticket_model(table_name: str) -> type[TicketRecord]:
    return type(
        'BoundTicketRecord', (TicketRecord,), {'Meta': meta_for(table_name), 'unmapped_index': UnmappedIndex(), 'holds_index': HoldsIndex()}
    )


def hold_shard(ticket_key: str, shards: int) -> str:
    return str(int(hashlib.sha256(ticket_key.encode()).hexdigest()[:8], 16) % shards)


def _pack_awards(awards: dict[str, AwardRecord]) -> bytes:
    packed = {key: value.model_dump(mode='json', exclude_defaults=True) for key, value in sorted(awards.items())}
    return zlib.compress(json.dumps(packed, separators=(',', ':')).encode(), 6)


def _unpack_awards(record: TicketRecord) -> dict[str, AwardRecord]:
    raw = zlib.decompress(record.awards_z) if record.awards_z else (record.awards or '{}')
    return {key: AwardRecord.model_validate(value) for key, value in json.loads(raw).items()}


def _pack_events(events: list[TicketEvent]) -> bytes:
    payload = '[' + ','.join(event.to_message() for event in events) + ']'
    return zlib.compress(payload.encode(), 6)


def _unpack_events(blob: bytes) -> list[TicketEvent]:
    return [TicketEvent.model_validate(item) for item in json.loads(zlib.decompress(blob))]


def _pack_history(history: TicketHistory) -> bytes | None:
    return zlib.compress(history.base.model_dump_json(exclude_defaults=True).encode(), 6) if history.base is not None else None


def _unpack_history(record: TicketRecord) -> TicketHistory:
    base = CompactedHistory.model_validate_json(zlib.decompress(record.history)) if record.history else None
    return TicketHistory.of(_unpack_events(record.events), base)


@dataclass
class StoredTicket:
    ticket_key: str
    version: int
    history: TicketHistory
    awards: dict[str, AwardRecord] = field(default_factory=dict)
    unsettled: bool = False  # a ledger change is still being written in steps: apply its remaining steps first

    @property
    def events(self) -> list[TicketEvent]:
        """The events kept whole (the most recent ones)."""
        return self.history.events

    def has_event(self, event_id: str) -> bool:
        return self.history.has_event(event_id)


class TicketStore:
    def __init__(self, table_name: str | None = None) -> None:
        settings = get_settings()
        self.model = ticket_model(table_name or settings.TICKETS_TABLE)
        self.shards = settings.HOLD_SHARDS

    def get(self, ticket_key: str) -> StoredTicket | None:
        return self.get_record(ticket_key)[0]

    def get_record(self, ticket_key: str) -> tuple[StoredTicket | None, TicketRecord | None]:
        """The ticket as the domain sees it, and the item as stored (to rewrite it with new awards)."""
        try:
            record = self.model.get(ticket_key, consistent_read=True)
        except self.model.DoesNotExist:
            return None, None
        stored = StoredTicket(ticket_key, int(record.version), _unpack_history(record), _unpack_awards(record), bool(record.unsettled))
        return stored, record

    def state_of(self, stored: StoredTicket) -> TicketState:
        return stored.history.state()

    def with_awards(
        self, record: TicketRecord, awards: dict[str, AwardRecord], now: datetime, *, unsettled: bool = False
    ) -> tuple[TicketRecord, Condition]:
        """The same item with its awards (and hold index fields) replaced, and the version check that
        makes the rewrite safe against the processor writing the ticket meanwhile."""
        previous = int(record.version)
        due = hold_due(awards)
        record.version = previous + 1
        record.awards = None
        record.awards_z = _pack_awards(awards)
        record.unsettled = 1 if unsettled else None
        record.hold_shard = hold_shard(record.pk, self.shards) if due is not None else None
        record.hold_due = f'{due:%Y-%m-%dT%H:%M:%SZ}' if due is not None else None
        record.updated_at = now.isoformat()
        return record, self.model.version == previous

    def build(
        self,
        previous: StoredTicket | None,
        history: TicketHistory,
        state: TicketState,
        awards: dict[str, AwardRecord],
        employee_ids: list[str],
        unmapped: list[str],
        now: datetime,
        sla: SlaReport | None = None,
        kpi: Contribution | None = None,
        alerts: TicketAlerts | None = None,
        unsettled: bool = False,
    ) -> tuple[TicketRecord, Condition]:
        """The item to write and the condition that makes the write safe against a concurrent writer."""
        version = 1 if previous is None else previous.version + 1
        due = hold_due(awards)
        record = self.model(
            state.ticket_key,
            version=version,
            events=_pack_events(history.events),
            history=_pack_history(history),
            awards_z=_pack_awards(awards),
            unsettled=1 if unsettled else None,
            # The readable copy leaves out the upsell lines (a card may have a thousand; the events hold them).
            state=state.model_copy(update={'upsell_lines': ()}).model_dump_json(exclude_none=True, exclude={'upsell_events'}),
            status=str(state.status) if state.status else None,
            location_id=state.location_id,
            employee_ids=employee_ids or None,
            unmapped_source=state.source.value if unmapped else None,
            unmapped_agents=unmapped or None,
            sla=sla.summary() if sla is not None and sla.clocks else None,
            sla_due_at=f'{sla.next_due_at:%Y-%m-%dT%H:%M:%SZ}' if sla is not None and sla.next_due_at else None,
            kpi=kpi.to_json() if kpi is not None else None,
            alerts=alerts.to_json() if alerts is not None else None,
            hold_shard=hold_shard(state.ticket_key, self.shards) if due is not None else None,
            hold_due=f'{due:%Y-%m-%dT%H:%M:%SZ}' if due is not None else None,
            updated_at=now.isoformat(),
        )
        condition = self.model.pk.does_not_exist() if previous is None else (self.model.version == previous.version)
        return record, condition

    def due_holds(self, shard: int, now: datetime, limit: int = 500) -> tuple[list[str], int]:
        """Tickets in one partition of the holds index whose next pending award is due by `now`, and the
        number of index items read (the release's read cost)."""
        due = self.model.hold_due <= f'{now:%Y-%m-%dT%H:%M:%SZ}'
        keys = [item.pk for item in self.model.holds_index.query(str(shard), due, limit=limit)]
        return keys, len(keys)

    def unmapped_ticket_keys(self, source: str) -> list[str]:
        """Tickets waiting for a directory mapping (admin and directory-import path, not the hot path)."""
        return [item.pk for item in self.model.unmapped_index.query(source)]
