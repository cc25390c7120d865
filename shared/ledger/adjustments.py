"""Admin adjustments: a manager's or admin's correction, written as its own ledger entry.

Corrections never edit or delete an entry: a credit or a debit is appended with who asked, why and
under which request id; the same request id applied twice writes once; a debit never takes a
balance below zero.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.directory.store import DirectoryStore
from shared.errors import InvalidPayload
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import InsufficientBalance, LedgerStore


class AdjustmentRequest(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    adjustment_id: str = Field(min_length=3, max_length=128, description='Unique per request; a retry reuses it')
    employee_id: str = Field(min_length=1, max_length=64)
    points: int = Field(description='Positive to credit, negative to debit', ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=5, max_length=1000)
    requested_by: str = Field(min_length=1, max_length=256)
    ticket_key: str | None = Field(default=None, max_length=300, description='The ticket this corrects, if any')


def adjustment_entry_id(adjustment_id: str) -> str:
    return 'A' + hashlib.sha256(f'adjustment|{adjustment_id}'.encode()).hexdigest()[:32]


def apply_adjustment(request: AdjustmentRequest, *, ledger: LedgerStore, directory: DirectoryStore, now: datetime) -> dict[str, object]:
    if request.points == 0:
        raise InvalidPayload('an adjustment of 0 points changes nothing', field='points')
    profile = directory.profile_of(request.employee_id)
    if profile is None:
        raise InvalidPayload(f'no employee {request.employee_id} in the directory', field='employee_id')
    entry = LedgerEntry(
        entry_id=adjustment_entry_id(request.adjustment_id),
        employee_id=request.employee_id,
        amount=request.points,
        kind=EntryKind.ADJUSTMENT,
        status=EntryStatus.AVAILABLE,
        reason=EntryReason(
            ticket_key=request.ticket_key or '-',
            source_event_id=f'adjustment:{request.adjustment_id}',
            basis_event_id=f'adjustment:{request.adjustment_id}',
            rule_id='admin_adjustment',
            rule_version=1,
            program_id='admin',
            inputs={'requested_by': request.requested_by, 'employee_active': bool(profile.active)},
            note=request.reason,
        ),
        occurred_at=now,
        recorded_at=now,
    )
    try:
        written = ledger.append_adjustment(entry)
    except InsufficientBalance as short:
        raise InvalidPayload(f'debit of {-request.points} exceeds the {short.available} points available', field='points') from short
    balance = ledger.balance(request.employee_id)
    return {'ok': True, 'entry_id': entry.entry_id, 'applied': written, 'duplicate': not written, 'available': balance.available}
