"""Cash payout through payroll (SAP HR): a person asks to cash out points during a month; at the month's end in the
program's time zone one export per program is written (CSV and manifest), and each payout is a ledger debit that
references the file.

- `Payouts.request_cash_out`: validated (the program pays out, at least `PayoutConfig.min_points`, at most what is
  available, the period not yet exported), stored as `CASHOUT#<program>#<period>` sk `<employee>` in RewardsTable. No
  debit yet: the points stay spendable until the export (a later request of the same period replaces the earlier).
- `Payouts.export(program_id, period, now)`: for each request of the period (a Query, paginated), a PAYOUT debit of
  min(requested, available at run time), id derived from program + period + employee, written in one transaction with
  the request item moving from `requested` to `paid` (the amount stored on it). A second run finds the request paid
  and uses the amount written then: no second debit, and the same rows. The CSV is deterministic (sorted by personnel
  number; amount = points / points_per_currency_unit with 2 decimals), the manifest holds the rows, totals, currency,
  the CSV's SHA-256 and `generated_at` = the period's end (not wall time): a re-run writes byte-identical files. Then
  the run item `PAYOUT#<program>` sk `<period>` records what was written.

The CSV (SAP HR infotype 0015 "additional payments" import; one row per person):
  personnel_number,wage_type,amount,currency,period,reference
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.programs.document import ProgramDocument
from shared.programs.loader import ProgramBook
from shared.programs.period import month_bounds
from shared.wallet.config import PayoutConfig

PERIOD_PATTERN = r'^\d{4}-(0[1-9]|1[0-2])$'
CSV_COLUMNS = ('personnel_number', 'wage_type', 'amount', 'currency', 'period', 'reference')
RULE_ID = 'payroll_payout'



class CashOutOrder(BaseModel):
    """A request to be paid points through payroll (the redemption function's `cash_out` action; the people API later)."""

    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    program_id: str = Field(min_length=1, max_length=64)
    employee_id: str = Field(min_length=1, max_length=64)
    points: int = Field(ge=1, le=10_000_000)

class PayoutRefused(Exception):
    """A cash-out request or an export refused: nothing written. `code` for the caller, `field` names the input."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message

    def answer(self) -> dict[str, Any]:
        return {'ok': False, 'code': self.code, 'field': self.field, 'error': self.message}


class CashOutRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    program_id: str
    period: str = Field(pattern=PERIOD_PATTERN)
    employee_id: str
    points: int = Field(gt=0)
    requested_at: datetime
    status: str = 'requested'  # requested | paid | skipped
    paid_points: int = 0
    entry_id: str | None = None


class PayoutRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    personnel_number: str
    wage_type: str
    amount: str  # currency units, 2 decimals
    currency: str
    period: str
    reference: str  # the PAYOUT entry id
    points: int


class PayoutSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    program_id: str
    period: str
    key: str
    manifest_key: str
    rows: int
    total_points: int
    total_amount: str
    currency: str
    sha256: str
    generated_at: str
    debits_written: int = 0  # this run's new PAYOUT entries (0 on a re-run)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()


# --- pure -----------------------------------------------------------------------------------------------------------
def period_of(time_zone: str, now: datetime) -> str:
    """The month (YYYY-MM) `now` is in, in the program's time zone."""
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(time_zone)).strftime('%Y-%m')


def period_end(period: str, time_zone: str) -> datetime:
    return month_bounds(period, time_zone)[1]


def file_key(program_id: str, period: str) -> str:
    return f'payouts/{program_id}/{period}/payout.csv'


def manifest_key(program_id: str, period: str) -> str:
    return f'payouts/{program_id}/{period}/manifest.json'


def payout_id_for(program_id: str, period: str, employee_id: str) -> str:
    return f'P{hashlib.sha256(f"payout|{program_id}|{period}|{employee_id}".encode()).hexdigest()[:32]}'


def currency_amount(points: int, points_per_currency_unit: float) -> Decimal:
    """points / rate in the currency, 2 decimals, half up (10 points at 10 per $ = 1.00)."""
    rate = Decimal(str(points_per_currency_unit))
    return (Decimal(points) / rate).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)


def payout_entry(program_ref: str, period: str, employee_id: str, points: int, requested: int, program: ProgramDocument,
                 now: datetime) -> LedgerEntry:
    program_id = program.program_id
    key = file_key(program_id, period)
    amount = currency_amount(points, program.points_per_currency_unit)
    note = f'paid through payroll for {period}: {amount} {program.currency} in {key}'
    if points != requested:
        note += f' ({requested} points requested, {points} available at the export)'
    reason = EntryReason(ticket_key=f'payout#{program_id}#{period}', source_event_id=f'payout:{program_id}:{period}',
                         basis_event_id=f'cashout:{program_id}:{period}:{employee_id}', rule_id=RULE_ID, rule_version=1,
                         program_id=program_ref,
                         inputs={'file_key': key, 'period': period, 'requested_points': requested, 'currency': program.currency,
                                 'amount': str(amount), 'points_per_currency_unit': program.points_per_currency_unit},
                         note=note)  # fmt: skip
    return LedgerEntry(entry_id=payout_id_for(program_id, period, employee_id), employee_id=employee_id, amount=-points,
                       kind=EntryKind.PAYOUT, status=EntryStatus.AVAILABLE, reason=reason,
                       occurred_at=min(now, period_end(period, program.time_zone)), recorded_at=now)  # fmt: skip


def build_csv(rows: Sequence[PayoutRow]) -> bytes:
    """The export, deterministic: a header, rows sorted by personnel number then reference, '\\n' line ends, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(CSV_COLUMNS)
    for row in sorted(rows, key=lambda r: (r.personnel_number, r.reference)):
        writer.writerow([row.personnel_number, row.wage_type, row.amount, row.currency, row.period, row.reference])
    return out.getvalue().encode()


def build_manifest(program_id: str, period: str, rows: Sequence[PayoutRow], body: bytes, currency: str,
                   generated_at: datetime) -> tuple[bytes, PayoutSummary]:
    total_amount = sum((Decimal(row.amount) for row in rows), Decimal('0.00')).quantize(Decimal('0.01'))
    summary = PayoutSummary(program_id=program_id, period=period, key=file_key(program_id, period),
                            manifest_key=manifest_key(program_id, period), rows=len(rows),
                            total_points=sum(row.points for row in rows), total_amount=str(total_amount), currency=currency,
                            sha256=hashlib.sha256(body).hexdigest(), generated_at=generated_at.astimezone(UTC).isoformat())  # fmt: skip
    manifest = {'program_id': program_id, 'period': period, 'file': summary.key, 'format': 'csv', 'columns': list(CSV_COLUMNS),
                'rows': summary.rows, 'total_points': summary.total_points, 'total_amount': summary.total_amount,
                'currency': currency, 'sha256': summary.sha256, 'generated_at': summary.generated_at}  # fmt: skip
    return (json.dumps(manifest, sort_keys=True, indent=2) + '\n').encode(), summary


# --- the use case ---------------------------------------------------------------------------------------------------
class PayoutStoreLike(Protocol):
    def put_request(self, request: CashOutRequest) -> None: ...
    def requests(self, program_id: str, period: str) -> list[CashOutRequest]: ...
    def run(self, program_id: str, period: str) -> dict[str, Any] | None: ...
    def record_run(self, summary: PayoutSummary, now: datetime) -> None: ...
    def pay(self, request: CashOutRequest, entry: LedgerEntry) -> str: ...
    def skip(self, request: CashOutRequest, reason: str, now: datetime) -> None: ...
    def put_object(self, key: str, body: bytes, content_type: str) -> None: ...


@dataclass
class Payouts:
    store: PayoutStoreLike
    available: Callable[[str], int]  # employee id -> spendable points now (consistent)
    programs: Callable[[], ProgramBook]
    # Employee ids -> SAP personnel numbers where the directory has one (the employee id otherwise).
    personnel_numbers: Callable[[list[str]], Mapping[str, str]] = field(default=lambda employee_ids: {})

    def _program(self, program_id: str) -> tuple[ProgramDocument, str, PayoutConfig]:
        version = self.programs().latest(program_id)
        if version is None:
            raise PayoutRefused('unknown_program', 'program_id', f'unknown program {program_id!r}')
        document = version.document
        payout = document.wallet.payout if document.wallet is not None else None
        if payout is None:
            raise PayoutRefused('no_payout', 'program_id', f'program {program_id} does not pay points out through payroll')
        return document, version.ref, payout

    def request_cash_out(self, program_id: str, employee_id: str, points: int, now: datetime) -> CashOutRequest:
        """Ask to cash `points` out at the end of the current month (in the program's zone). Refused with the field named
        and nothing written: an unknown program or one without payout, fewer points than the minimum, more than
        available, a period already exported."""
        document, _, payout = self._program(program_id)
        if not re.fullmatch(r'[A-Za-z0-9._@-]{1,100}', employee_id or ''):
            raise PayoutRefused('invalid_employee', 'employee_id', 'employee_id is empty or malformed')
        if points < payout.min_points:
            raise PayoutRefused('below_minimum', 'points', f'at least {payout.min_points} points can be cashed out (asked {points})')
        available = self.available(employee_id)
        if points > available:
            raise PayoutRefused('insufficient_points', 'points', f'{points} points asked, {available} available')
        period = period_of(document.time_zone, now)
        if self.store.run(program_id, period) is not None:
            raise PayoutRefused('period_exported', 'period', f'the {period} payout has already been exported')
        request = CashOutRequest(program_id=program_id, period=period, employee_id=employee_id, points=points, requested_at=now)
        self.store.put_request(request)
        return request

    def export(self, program_id: str, period: str, now: datetime) -> PayoutSummary:
        """Write the period's payout (debits, CSV, manifest, run item); idempotent: a re-run writes the same files."""
        document, ref, payout = self._program(program_id)
        if not re.fullmatch(PERIOD_PATTERN, period or ''):
            raise PayoutRefused('invalid_period', 'period', f'period must be YYYY-MM (got {period!r})')
        end = period_end(period, document.time_zone)
        if now < end:
            raise PayoutRefused('period_open', 'period', f'{period} has not ended in {document.time_zone} (it ends at {end.isoformat()})')
        paid: list[CashOutRequest] = []
        written = 0
        for request in sorted(self.store.requests(program_id, period), key=lambda r: r.employee_id):
            if request.status == 'requested':
                request, new = self._pay(request, ref, document, now)
                written += int(new)
            if request.status == 'paid' and request.entry_id:
                paid.append(request)
        numbers = self.personnel_numbers([request.employee_id for request in paid]) if paid else {}
        rows: list[PayoutRow] = []
        for request in paid:
            assert request.entry_id is not None
            rows.append(PayoutRow(personnel_number=numbers.get(request.employee_id, request.employee_id), wage_type=payout.wage_type,
                                  amount=str(currency_amount(request.paid_points, document.points_per_currency_unit)),
                                  currency=document.currency, period=period, reference=request.entry_id,
                                  points=request.paid_points))  # fmt: skip
        body = build_csv(rows)
        manifest, summary = build_manifest(program_id, period, rows, body, document.currency, end)
        self.store.put_object(summary.key, body, 'text/csv')
        self.store.put_object(summary.manifest_key, manifest, 'application/json')
        summary = summary.model_copy(update={'debits_written': written})
        self.store.record_run(summary, now)
        return summary

    def _pay(self, request: CashOutRequest, ref: str, document: ProgramDocument, now: datetime) -> tuple[CashOutRequest, bool]:
        from shared.ledger.store import InsufficientBalance

        for _ in range(3):
            points = min(request.points, self.available(request.employee_id))
            if points <= 0:
                self.store.skip(request, 'no points available at the export', now)
                return request.model_copy(update={'status': 'skipped'}), False
            entry = payout_entry(ref, request.period, request.employee_id, points, request.points, document, now)
            try:
                outcome = self.store.pay(request, entry)
            except InsufficientBalance:
                continue  # spent between the read and the debit: read again
            paid = request.model_copy(update={'status': 'paid', 'paid_points': points, 'entry_id': entry.entry_id})
            if outcome == 'written':
                return paid, True
            # 'refused' (another run paid it first) or 'duplicate': what was written then is the truth
            stored = {r.employee_id: r for r in self.store.requests(request.program_id, request.period)}.get(request.employee_id)
            return (stored or paid), False
        raise RuntimeError(f'the balance of {request.employee_id} kept changing during the payout')
