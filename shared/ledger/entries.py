"""The points ledger's entries, and how a change in deserved awards becomes pending awards and entries.

Pure: no storage here. Entries are append-only. An award first waits in the ticket's pending view (and the
person's PendingAwardsTable items) until its rule's hold window closes; only then is it written, once, as an
available entry (`plan_release`). Inside the window a change in what the ticket deserves moves the pending view
only. After it, an award the ticket no longer deserves is kept or clawed back by a reversal entry that points at
it, as the rule's clawback policy says (`plan_awards`); the original is never edited or deleted. Entry ids are
deterministic (the ticket and the award's stable key: program, rule, employee and a basis the state names), so
a retried write of the same entry is recognised and never counted twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.programs.awards import Award, ClawbackPolicy, Scalar


class EntryKind(StrEnum):
    AWARD = 'award'  # earned by a program rule (shared/programs), or a league prize (shared/leagues)
    REVERSAL = 'reversal'  # a clawback of an award, pointing at it
    ADJUSTMENT = 'adjustment'  # an admin's or a dispute's correction (shared/ledger/adjustments.py)
    RECOGNITION = 'recognition'  # peer thanks received, from the giver's monthly allowance (shared/recognition)
    SPOT_AWARD = 'spot_award'  # a manager's spot award, from the manager's monthly budget (shared/recognition)
    REDEMPTION = 'redemption'  # points reserved for a catalogue item (a debit; refunded if it fails) (shared/wallet)
    REFUND = 'refund'  # a failed redemption's points given back, pointing at its debit (shared/wallet)
    PAYOUT = 'payout'  # points paid as cash through payroll, referencing the export file (shared/wallet)
    DEBT_RECOVERY = 'debt_recovery'  # later earnings repaying a clawback debt (shared/wallet/debt.py)


# What a league scores: what was earned by performance, its clawbacks and corrections. Peer thanks and spot awards are
# spendable but never league points (a league a colleague can buy into invites collusion); spending never lowers a score.
LEAGUE_KINDS = frozenset({EntryKind.AWARD, EntryKind.REVERSAL, EntryKind.ADJUSTMENT})


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
    program_id: str = 'default'  # program_id@version
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


class AwardState(StrEnum):
    PENDING = 'pending'  # in the pending view: not in the ledger yet, may still change or vanish
    RELEASED = 'released'  # its hold window closed: written to the ledger as one available entry
    REVERSED = 'reversed'  # released, then clawed back by a reversal entry (never re-awarded)


class AwardRecord(BaseModel):
    """What a ticket remembers about an award: while pending, the award as the program prices it now
    (the pending view); once released, what the ledger holds (so a later event can claw it back)."""

    model_config = ConfigDict(frozen=True)

    entry_id: str
    employee_id: str
    points: int
    rule_id: str
    rule_version: int = 1
    program: str = 'default@1'  # program_id@version
    state: AwardState = AwardState.RELEASED
    basis_key: str = ''
    basis_at: datetime | None = None
    release_at: datetime | None = None
    inputs: dict[str, Scalar] = Field(default_factory=dict)
    clawback: ClawbackPolicy = ClawbackPolicy.KEEP
    clawback_days: int = 0
    caps: dict[str, int] = Field(default_factory=dict)
    time_zone: str = 'UTC'

    @model_validator(mode='before')
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Tickets written before holds existed carry `active`/`generation`: an active award was in the
        ledger (released), an inactive one had been reversed."""
        if isinstance(data, dict) and 'active' in data and 'state' not in data:
            data = {k: v for k, v in data.items() if k not in ('active', 'generation')} | {
                'state': AwardState.RELEASED if data['active'] else AwardState.REVERSED
            }
        return data

    @property
    def program_id(self) -> str:
        return self.program.rsplit('@', 1)[0]

    @property
    def program_version(self) -> int:
        return int(self.program.rsplit('@', 1)[1])

    @classmethod
    def pending(cls, ticket_key: str, award: Award) -> AwardRecord:
        return cls(
            entry_id=entry_id_for(ticket_key, award.key),
            employee_id=award.employee_id,
            points=award.points,
            rule_id=award.rule_id,
            rule_version=award.rule_version,
            program=award.program_ref,
            state=AwardState.PENDING,
            basis_key=award.basis_key,
            basis_at=award.basis_at,
            release_at=award.release_at,
            inputs=dict(award.inputs),
            clawback=award.clawback,
            clawback_days=award.clawback_days,
            caps=dict(award.caps),
            time_zone=award.time_zone,
        )


def entry_id_for(ticket_key: str, award_key: str) -> str:
    """Derived from the ticket and the award's stable key only: the same award has the same id whatever
    the order, number or timing of the deliveries that made it due."""
    digest = hashlib.sha256(f'{ticket_key}|{award_key}|0'.encode()).hexdigest()[:32]
    return f'E{digest}'


def reversal_id_for(entry_id: str) -> str:
    return f'R{hashlib.sha256(f"reversal|{entry_id}".encode()).hexdigest()[:32]}'


class TicketAwardsPlan(BaseModel):
    """How one event changes a ticket's awards: the new award map, the pending view's changes, and the
    ledger entries (only clawback reversals: awards reach the ledger when they are released)."""

    model_config = ConfigDict(frozen=True)

    awards: dict[str, AwardRecord]
    pending_put: tuple[AwardRecord, ...] = ()
    pending_delete: tuple[AwardRecord, ...] = ()
    entries: tuple[LedgerEntry, ...] = ()

    @property
    def changes_pending_view(self) -> bool:
        return bool(self.pending_put or self.pending_delete)

    def balance_changes(self) -> dict[str, int]:
        return _balance_changes(self.entries)


def _balance_changes(entries: Sequence[LedgerEntry]) -> dict[str, int]:
    changes: dict[str, int] = {}
    for entry in entries:
        changes[entry.employee_id] = changes.get(entry.employee_id, 0) + entry.amount
    return changes


def plan_awards(
    *,
    ticket_key: str,
    current: Mapping[str, AwardRecord],
    desired: Sequence[Award],
    trigger_event_id: str,
    trigger_at: datetime,
    facts: Mapping[str, Scalar],
    now: datetime,
) -> TicketAwardsPlan:
    """Move a ticket's awards to what its programs say it deserves now.

    - A pending award follows the program: added, re-priced or dropped freely (the pending view churns,
      the ledger does not).
    - A released award is never re-priced. If it is no longer deserved, its rule's clawback policy
      decides: `keep`, or `reverse` when the undoing event happened within `clawback_days` of the
      release; the reversal points at the original and carries the facts that justify it.
    - A reversed award is never awarded again for the same basis.
    """
    wanted = {award.key: award for award in desired}
    awards = dict(current)
    puts: list[AwardRecord] = []
    deletes: list[AwardRecord] = []
    entries: list[LedgerEntry] = []

    for key, award in sorted(wanted.items()):
        record = awards.get(key)
        if record is not None and record.state is not AwardState.PENDING:
            continue
        candidate = AwardRecord.pending(ticket_key, award)
        if candidate != record:
            awards[key] = candidate
            puts.append(candidate)

    for key, record in sorted(current.items()):
        if key in wanted:
            continue
        if record.state is AwardState.PENDING:
            del awards[key]
            deletes.append(record)
        elif record.state is AwardState.RELEASED and _clawed_back(record, trigger_at):
            entries.append(reversal_entry(ticket_key, record, trigger_event_id, trigger_at, facts, now))
            awards[key] = record.model_copy(update={'state': AwardState.REVERSED})

    return TicketAwardsPlan(awards=awards, pending_put=tuple(puts), pending_delete=tuple(deletes), entries=tuple(entries))


def _clawed_back(record: AwardRecord, undone_at: datetime) -> bool:
    if record.clawback is not ClawbackPolicy.REVERSE:
        return False
    released = record.release_at or record.basis_at
    return released is None or undone_at <= released + timedelta(days=record.clawback_days)


def reversal_entry(
    ticket_key: str, record: AwardRecord, trigger_event_id: str, trigger_at: datetime, facts: Mapping[str, Scalar], now: datetime
) -> LedgerEntry:
    inputs: dict[str, Scalar] = {f'original_{name}': value for name, value in record.inputs.items()}
    inputs |= dict(facts) | {'undone_by_event': trigger_event_id, 'undone_at': trigger_at.isoformat()}
    inputs['clawback_days'] = record.clawback_days
    reason = EntryReason(
        ticket_key=ticket_key,
        source_event_id=trigger_event_id,
        basis_event_id=record.basis_key,
        rule_id=record.rule_id,
        rule_version=record.rule_version,
        program_id=record.program,
        inputs=inputs,
        note=f'claws back {record.entry_id}: the ticket no longer meets rule {record.rule_id} '
        f'within its {record.clawback_days}-day clawback window',
    )
    return LedgerEntry(
        entry_id=reversal_id_for(record.entry_id),
        employee_id=record.employee_id,
        amount=-record.points,
        kind=EntryKind.REVERSAL,
        status=EntryStatus.AVAILABLE,
        reverses=record.entry_id,
        reason=reason,
        occurred_at=trigger_at,
        recorded_at=now,
    )


class ReleasePlan(BaseModel):
    """Pending awards whose hold window closed, released to the ledger as one entry each."""

    model_config = ConfigDict(frozen=True)

    awards: dict[str, AwardRecord]
    released: tuple[AwardRecord, ...] = ()
    entries: tuple[LedgerEntry, ...] = ()

    def balance_changes(self) -> dict[str, int]:
        return _balance_changes(self.entries)


def due_awards(awards: Mapping[str, AwardRecord], now: datetime) -> list[AwardRecord]:
    return [r for _, r in sorted(awards.items()) if r.state is AwardState.PENDING and r.release_at is not None and r.release_at <= now]


def hold_due(awards: Mapping[str, AwardRecord]) -> datetime | None:
    """When the ticket's next pending award is due for release (the hold index's sort key)."""
    due = [r.release_at for r in awards.values() if r.state is AwardState.PENDING and r.release_at is not None]
    return min(due) if due else None


def plan_release(
    *, ticket_key: str, awards: Mapping[str, AwardRecord], now: datetime, amounts: Mapping[str, int] | None = None,
    only: Collection[str] | None = None,
) -> ReleasePlan:
    """Release every pending award due by `now` (or only those of them whose entry ids are in `only`: one step of
    a release too large for one transaction). `amounts` (entry id -> points) overrides the points of an award a cap
    cut down; the cut is stated on the entry."""
    amounts = amounts or {}
    out = dict(awards)
    released: list[AwardRecord] = []
    entries: list[LedgerEntry] = []
    for key, record in sorted(awards.items()):
        if record not in due_awards({key: record}, now) or (only is not None and record.entry_id not in only):
            continue
        amount = amounts.get(record.entry_id, record.points)
        inputs = dict(record.inputs)
        note = None
        if amount != record.points:
            inputs |= {'capped_from': record.points, 'cap': ','.join(f'{p}={v}' for p, v in sorted(record.caps.items()))}
            note = f'capped: {record.points} points earned, {amount} within the rule caps'
        reason = EntryReason(
            ticket_key=ticket_key,
            source_event_id=f'release:{record.release_at:%Y-%m-%dT%H:%M:%SZ}' if record.release_at else 'release',
            basis_event_id=record.basis_key,
            rule_id=record.rule_id,
            rule_version=record.rule_version,
            program_id=record.program,
            inputs=inputs,
            note=note,
        )
        entries.append(
            LedgerEntry(
                entry_id=record.entry_id,
                employee_id=record.employee_id,
                amount=amount,
                kind=EntryKind.AWARD,
                status=EntryStatus.AVAILABLE,
                reason=reason,
                occurred_at=record.basis_at or now,
                recorded_at=now,
            )
        )
        released_record = record.model_copy(update={'state': AwardState.RELEASED, 'points': amount})
        out[key] = released_record
        released.append(released_record)
    return ReleasePlan(awards=out, released=tuple(released), entries=tuple(entries))


# --- plans larger than one transaction ----------------------------------------------------------------------

MAX_STEP_ITEMS = 100  # DynamoDB's limit per TransactWriteItems (the ticket item counts as one)


def _items_for(puts: int, deletes: int, entries: Sequence[LedgerEntry], extra: int = 0) -> int:
    """Items one transaction needs: the ticket, the pending-view puts and deletes, the entries, one balance update
    per employee with an entry, and `extra` (earnings counters)."""
    return 1 + puts + deletes + len(entries) + len({entry.employee_id for entry in entries}) + extra


def split_plan(current: Mapping[str, AwardRecord], plan: TicketAwardsPlan, max_items: int = MAX_STEP_ITEMS) -> list[TicketAwardsPlan]:
    """The plan as steps that each fit one transaction. Every step is a complete plan from the awards the previous
    step left: its award map is the one the ticket holds once the step is written, so a crash between steps leaves
    a ticket whose awards match the ledger and the pending view exactly, and planning again from it yields the
    remaining steps (each award key changes in one step only; entry ids are deterministic).

    A plan that fits is returned as is (one step)."""
    if _items_for(len(plan.pending_put), len(plan.pending_delete), plan.entries) <= max_items:
        return [plan]
    puts = {record.entry_id: record for record in plan.pending_put}
    deletes = {record.entry_id: record for record in plan.pending_delete}
    reversals = {entry.reverses: entry for entry in plan.entries if entry.reverses}
    changed = sorted(key for key in set(current) | set(plan.awards) if current.get(key) != plan.awards.get(key))
    steps: list[TicketAwardsPlan] = []
    awards = dict(current)
    step_puts: list[AwardRecord] = []
    step_deletes: list[AwardRecord] = []
    step_entries: list[LedgerEntry] = []

    def close_step() -> None:
        steps.append(TicketAwardsPlan(awards=dict(awards), pending_put=tuple(step_puts), pending_delete=tuple(step_deletes),
                                      entries=tuple(step_entries)))
        step_puts.clear()
        step_deletes.clear()
        step_entries.clear()

    for key in changed:
        before, after = current.get(key), plan.awards.get(key)
        put = puts.get(after.entry_id) if after is not None else None
        delete = deletes.get(before.entry_id) if before is not None and after is None else None
        entry = reversals.get(before.entry_id) if before is not None and after is not None and after.state is AwardState.REVERSED else None
        adds = ([put] if put else [], [delete] if delete else [], [entry] if entry else [])
        if _items_for(len(step_puts) + len(adds[0]), len(step_deletes) + len(adds[1]), step_entries + adds[2]) > max_items:
            close_step()
        step_puts.extend(adds[0])
        step_deletes.extend(adds[1])
        step_entries.extend(adds[2])
        if after is None:
            awards.pop(key, None)
        else:
            awards[key] = after
    close_step()
    steps[-1] = steps[-1].model_copy(update={'awards': dict(plan.awards)})
    return steps


def release_limit(due: Sequence[AwardRecord], counters_for: Callable[[Sequence[AwardRecord]], int],
                  max_items: int = MAX_STEP_ITEMS) -> int:
    """How many of the due awards (in order) one release transaction can take: the ticket, an entry and a pending
    delete per award, a balance update per employee and `counters_for(awards)` earnings counters."""
    count = len(due)
    while count > 1:
        chosen = due[:count]
        employees = len({record.employee_id for record in chosen})
        if 1 + 2 * count + employees + counters_for(chosen) <= max_items:
            break
        count -= max(1, (1 + 2 * count + employees + counters_for(chosen) - max_items) // 2)
    return max(count, 1)
