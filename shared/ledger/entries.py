"""The points ledger's entries and how a change in deserved awards becomes new entries.

Pure: no storage here. Entries are append-only. An award that is no longer deserved is undone by a
new reversal entry that points at it; the original is never edited or deleted. Entry ids are
deterministic (derived from the ticket, the rule, the employee and the event that made the award
due), so a retried write of the same entry is recognised and never counted twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.rules.program import Award, Scalar


class EntryKind(StrEnum):
    AWARD = 'award'
    REVERSAL = 'reversal'
    ADJUSTMENT = 'adjustment'


class EntryStatus(StrEnum):
    """`pending` points are earned but not yet spendable; `available` are spendable. An award's
    effective status becomes `reversed` when a reversal entry points at it (derived, never written
    onto the original)."""

    PENDING = 'pending'
    AVAILABLE = 'available'
    REVERSED = 'reversed'


class EntryReason(BaseModel):
    """Why an entry exists: enough to explain it to the employee and to an auditor."""

    model_config = ConfigDict(frozen=True)

    ticket_key: str
    source_event_id: str  # the event whose processing wrote this entry
    basis_event_id: str  # the event that made the award due
    rule_id: str
    rule_version: int
    program_id: str = 'default'
    inputs: dict[str, Scalar] = Field(default_factory=dict)
    note: str | None = None


class LedgerEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry_id: str
    employee_id: str
    amount: int  # positive credits, negative debits
    kind: EntryKind
    status: EntryStatus
    reverses: str | None = None
    reason: EntryReason
    occurred_at: datetime  # when the basis event happened: decides the league period
    recorded_at: datetime

    @property
    def period(self) -> str:
        return self.occurred_at.strftime('%Y-%m')


class AwardRecord(BaseModel):
    """What a ticket remembers about an award it caused, to know what to reverse later."""

    model_config = ConfigDict(frozen=True)

    entry_id: str
    employee_id: str
    points: int
    rule_id: str
    rule_version: int = 1
    active: bool = True
    generation: int = 0


def entry_id_for(ticket_key: str, award_key: str, generation: int = 0) -> str:
    digest = hashlib.sha256(f'{ticket_key}|{award_key}|{generation}'.encode()).hexdigest()[:32]
    return f'E{digest}'


def reversal_id_for(entry_id: str) -> str:
    return f'R{hashlib.sha256(f"reversal|{entry_id}".encode()).hexdigest()[:32]}'


class LedgerPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    entries: tuple[LedgerEntry, ...]
    awards: dict[str, AwardRecord]

    def balance_changes(self) -> dict[str, int]:
        changes: dict[str, int] = {}
        for entry in self.entries:
            changes[entry.employee_id] = changes.get(entry.employee_id, 0) + entry.amount
        return changes


def plan_entries(
    *,
    ticket_key: str,
    current: Mapping[str, AwardRecord],
    desired: Sequence[Award],
    source_event_id: str,
    occurred_at: datetime,
    now: datetime,
    program_id: str = 'default',
) -> LedgerPlan:
    """The entries that move the ledger from the awards a ticket has to the awards it deserves.

    New awards are credited once; awards no longer deserved are reversed once; an award already in
    place is left alone even if the rule's amount changed since (points are not re-priced
    retroactively).
    """
    wanted = {award.key: award for award in desired}
    awards = dict(current)
    entries: list[LedgerEntry] = []

    for key, award in sorted(wanted.items()):
        record = awards.get(key)
        if record is not None and record.active:
            continue
        generation = 0 if record is None else record.generation + 1
        entry_id = entry_id_for(ticket_key, key, generation)
        reason = EntryReason(
            ticket_key=ticket_key,
            source_event_id=source_event_id,
            basis_event_id=award.basis_event_id,
            rule_id=award.rule_id,
            rule_version=award.rule_version,
            program_id=program_id,
            inputs=dict(award.inputs),
        )
        entries.append(
            LedgerEntry(
                entry_id=entry_id,
                employee_id=award.employee_id,
                amount=award.points,
                kind=EntryKind.AWARD,
                status=EntryStatus.AVAILABLE,
                reason=reason,
                occurred_at=occurred_at,
                recorded_at=now,
            )
        )
        awards[key] = AwardRecord(
            entry_id=entry_id,
            employee_id=award.employee_id,
            points=award.points,
            rule_id=award.rule_id,
            rule_version=award.rule_version,
            generation=generation,
        )

    for key, record in sorted(current.items()):
        if not record.active or key in wanted:
            continue
        reason = EntryReason(
            ticket_key=ticket_key,
            source_event_id=source_event_id,
            basis_event_id=source_event_id,
            rule_id=record.rule_id,
            rule_version=record.rule_version,
            program_id=program_id,
            note=f'reverses {record.entry_id}: the ticket no longer meets rule {record.rule_id}',
        )
        entries.append(
            LedgerEntry(
                entry_id=reversal_id_for(record.entry_id),
                employee_id=record.employee_id,
                amount=-record.points,
                kind=EntryKind.REVERSAL,
                status=EntryStatus.AVAILABLE,
                reverses=record.entry_id,
                reason=reason,
                occurred_at=occurred_at,
                recorded_at=now,
            )
        )
        awards[key] = record.model_copy(update={'active': False})

    return LedgerPlan(entries=tuple(entries), awards=awards)
