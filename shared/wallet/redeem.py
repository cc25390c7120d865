"""Redemptions (pure): the request, the rules that refuse one, the redemption record and its ledger entries.

A redemption is exactly once. Its id is derived from the program, the person and the client's idempotency key
(`redemption_id`), so a retried or duplicated request names the same redemption; the reserving transaction
(shared/wallet/store.py) puts `RDM#<id>` with `attribute_not_exists`, so only one request ever debits.

Life of a redemption:
- `queued`: the location's budget for the month is spent; the points (a REDEMPTION debit) and the stock (and the
  person's limit) ARE reserved, so the place in the queue is a promise that can be kept; the budget is charged when the
  queue releases it (the scheduled redemption_queue, in order, never overspending). Reserving the points at once also
  means the person cannot spend them twice while waiting; cancelling a queued redemption (an admin's `fail`) refunds.
- `reserved`: points, stock, limit and budget taken in one transaction; waiting for its provider (the SQS worker) or,
  for a `manual` item, for an admin.
- `completed`: fulfilled (a voucher code, a reference); the person is told.
- `failed`: the provider refused (or an admin did); a REFUND entry (+points, `reverses` the debit) and the stock, limit
  and budget are given back in one transaction; the person is told why.

Refusals (`Refused`, nothing written) name the request field they are about.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.programs.document import PROGRAM_ID
from shared.wallet.catalogue import CatalogueItem, ItemKind
from shared.wallet.catalogue_loader import CatalogueVersion
from shared.wallet.providers.base import Fulfilment

MAX_QUANTITY = 20


class RedeemRequest(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True, frozen=True)

    program_id: str = Field(pattern=PROGRAM_ID)
    employee_id: str = Field(min_length=1, max_length=64)
    item_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    idempotency_key: str = Field(min_length=1, max_length=128, description="the client's key: a retry reuses it")


class RedemptionStatus(StrEnum):
    QUEUED = 'queued'
    RESERVED = 'reserved'
    COMPLETED = 'completed'
    FAILED = 'failed'


class Redemption(BaseModel):
    model_config = ConfigDict(frozen=True)

    redemption_id: str
    program_id: str
    program_ref: str  # program@version whose conversion and budget applied
    employee_id: str
    item_id: str
    item_name: str
    kind: ItemKind
    provider: str
    same_day: bool = False
    quantity: int
    unit_price: int
    points: int
    catalogue_version: int
    location_id: str
    limit_sk: str | None = None  # the LIMIT# item's sort key (month or `lifetime`); None: no limit
    counts_stock: bool = False
    month: str  # the budget month (yyyy-mm in the program's time zone) it was, or will be, charged to
    budget_charged: bool = False  # the location budget was charged (refunded with the points if it fails)
    status: RedemptionStatus
    requested_at: datetime
    entry_id: str
    language: str = 'en'
    fulfilment: Fulfilment | None = None
    failure: str | None = None
    decided_by: str | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    erased_at: datetime | None = None  # a forget removed the code, notes and reason (shared/privacy/erase.py)

    @property
    def queue_sk(self) -> str:
        return f'{self.requested_at:%Y-%m-%dT%H:%M:%S.%fZ}#{self.redemption_id}'


class Refused(Exception):
    """A redemption refused before anything is written: `code`, the request `field` it is about, a readable reason."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    @property
    def reason(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        return {'ok': False, 'refused': self.code, 'field': self.field, 'error': self.message}


@dataclass(frozen=True)
class Person:
    employee_id: str
    active: bool
    location_id: str | None
    language: str = 'en'
    name: str | None = None


def redemption_id(program_id: str, employee_id: str, idempotency_key: str) -> str:
    return hashlib.sha256(f'{program_id}|{employee_id}|{idempotency_key}'.encode()).hexdigest()[:32]


def debit_entry_id(rid: str) -> str:
    return 'D' + hashlib.sha256(f'redemption|{rid}'.encode()).hexdigest()[:32]


def refund_entry_id(rid: str) -> str:
    return 'F' + hashlib.sha256(f'refund|{rid}'.encode()).hexdigest()[:32]


def month_of(at: datetime, time_zone: str) -> str:
    return at.astimezone(ZoneInfo(time_zone)).strftime('%Y-%m')


def limit_sk(item: CatalogueItem, month: str) -> str | None:
    if item.per_person_limit is None:
        return None
    return month if item.limit_period == 'month' else 'lifetime'


def check(request: RedeemRequest, *, catalogue: CatalogueVersion | None, person: Person | None, available: int,
          now: datetime, debt: int = 0) -> CatalogueItem:  # fmt: skip
    """The item, or Refused naming the field: the checks that need no counter (stock, limits, budget and the balance are
    checked again atomically by the transaction's conditions)."""
    if person is None:
        raise Refused('unknown_person', 'employee_id', f'no employee {request.employee_id} in the directory')
    if not person.active:
        raise Refused('inactive', 'employee_id', f'employee {request.employee_id} is not active')
    if catalogue is None:
        raise Refused('no_catalogue', 'program_id', f'program {request.program_id} has no catalogue')
    item = catalogue.document.item(request.item_id)
    if item is None or not item.active:
        raise Refused('unknown_item', 'item_id', f'no item {request.item_id!r} in the catalogue of {request.program_id}')
    why = item.valid_at(now)
    if why is not None:
        code = 'not_yet_valid' if item.valid_from is not None and now < item.valid_from else 'expired'
        raise Refused(code, 'item_id', f'{item.name} is {why}')
    if not item.offered_at(person.location_id, catalogue.document.city_of(person.location_id)):
        raise Refused('not_offered', 'item_id', f'{item.name} is not offered at {person.location_id or "your location"}')
    if item.per_person_limit is not None and request.quantity > item.per_person_limit:
        raise Refused('over_limit', 'quantity', f'{item.name}: at most {item.per_person_limit} per person per {item.limit_period}')
    if item.stock is not None and request.quantity > item.stock:
        raise Refused('out_of_stock', 'item_id', f'{item.name} is out of stock')
    price = item.price_points * request.quantity
    if debt > 0:  # a clawback's unrecovered points are repaid from the next points first (shared/wallet/debt.py)
        raise Refused('in_debt', 'quantity', f'{debt} points of a clawback are still owed: they are repaid from your points first, '
                      'then you can spend again')  # fmt: skip
    if price > available:
        raise Refused('insufficient', 'quantity', f'{item.name} x{request.quantity} costs {price} points; {available} are available')
    return item


def new_redemption(request: RedeemRequest, item: CatalogueItem, *, catalogue_version: int, program_ref: str, person: Person,
                   time_zone: str, now: datetime) -> Redemption:  # fmt: skip
    rid = redemption_id(request.program_id, request.employee_id, request.idempotency_key)
    month = month_of(now, time_zone)
    return Redemption(
        redemption_id=rid, program_id=request.program_id, program_ref=program_ref, employee_id=request.employee_id,
        item_id=item.item_id, item_name=item.name, kind=item.kind, provider=item.provider, same_day=item.same_day,
        quantity=request.quantity, unit_price=item.price_points, points=item.price_points * request.quantity,
        catalogue_version=catalogue_version, location_id=person.location_id or '-', limit_sk=limit_sk(item, month),
        counts_stock=item.stock is not None, month=month, status=RedemptionStatus.RESERVED, requested_at=now,
        entry_id=debit_entry_id(rid), language=person.language,
    )  # fmt: skip


def _reason(redemption: Redemption, rule_id: str, note: str) -> EntryReason:
    return EntryReason(
        ticket_key=f'redemption#{redemption.redemption_id}',
        source_event_id=f'redemption:{redemption.redemption_id}',
        basis_event_id=f'redemption:{redemption.redemption_id}',
        rule_id=rule_id,
        rule_version=1,
        program_id=redemption.program_ref,
        inputs={'item_id': redemption.item_id, 'quantity': redemption.quantity, 'unit_price': redemption.unit_price,
                'catalogue_version': redemption.catalogue_version, 'location_id': redemption.location_id,
                'redemption_id': redemption.redemption_id},  # fmt: skip
        note=note[:300],
    )


def debit_entry(redemption: Redemption) -> LedgerEntry:
    return LedgerEntry(entry_id=redemption.entry_id, employee_id=redemption.employee_id, amount=-redemption.points,
                       kind=EntryKind.REDEMPTION, status=EntryStatus.AVAILABLE,
                       reason=_reason(redemption, 'redemption', f'{redemption.item_name} x{redemption.quantity}'),
                       occurred_at=redemption.requested_at, recorded_at=redemption.requested_at)  # fmt: skip


def refund_entry(redemption: Redemption, why: str, now: datetime) -> LedgerEntry:
    return LedgerEntry(entry_id=refund_entry_id(redemption.redemption_id), employee_id=redemption.employee_id,
                       amount=redemption.points, kind=EntryKind.REFUND, status=EntryStatus.AVAILABLE, reverses=redemption.entry_id,
                       reason=_reason(redemption, 'redemption_refund', f'{redemption.item_name}: {why}'),
                       occurred_at=now, recorded_at=now)  # fmt: skip
