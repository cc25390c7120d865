"""An employee's points statement for one month: every entry explained, and totals that reconcile.

Pure: no storage here (`read_statement` takes the stores it reads from). What a statement shows, for a
frontline reader first and an auditor second:

- the month's ledger entries, grouped by rule, one line each: the date the basis happened, the short
  code the employee quotes to dispute it, the points, what it was for (ticket and basis), the KPI inputs
  that justify it, and its notes (a cap that cut it, a clawback and what undid the award, points not
  recovered, an entry recorded after the month ended: `late`);
- the pending awards (still inside their hold window: not spendable yet) with their release dates;
- the totals: opening available balance (every entry before the month), earned, penalties, clawed back,
  adjustments, closing available balance, pending;
- the reconciliation: the sum of all the employee's entries must equal the balance item's `available`
  (and the pending view's sum the balance's `pending`); a mismatch is flagged, never hidden.

A month is a month of the program's time zone: each entry is placed by `occurred_at` (the time its basis
happened) in the time zone of the program it names (`program_id@version`); entries of no known program
(adjustments) use the statement's default zone (UTC unless told). The same rule places the earnings
counters and the period close, so a statement agrees with the bonuses computed on that month.

One exception, the league's: an entry recorded after the league of its month closed (`league_closed_at`,
from the close markers) never rewrites the closed league; it scores in the month it arrived in
(`shared.leagues.live`), and the statement places it there too, listed as late with the day it was earned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.disputes.model import entry_codes
from shared.ledger.entries import AwardRecord, EntryKind, LedgerEntry
from shared.programs.awards import Scalar

if TYPE_CHECKING:
    from shared.programs.loader import ProgramBook

ADJUSTMENT_RULES = {'admin_adjustment'}
ACRONYMS = {'sla', 'csat', 'nps', 'fcr', 'kpi', 'qa', 'frt', 'id', 'lms'}
PERIOD_PREFIX = 'period#'
LEAGUE_RULE_PREFIX = 'league_'  # prizes, trophies and challenge rewards paid by a league's close


# --- months and zones -----------------------------------------------------------------------------
def month_bounds(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of a month (YYYY-MM) in a time zone, as aware datetimes of that zone."""
    zone = ZoneInfo(time_zone)
    first = date.fromisoformat(f'{month}-01')
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(first.year, first.month, 1, tzinfo=zone), datetime(following.year, following.month, 1, tzinfo=zone)


def program_of(program_ref: str) -> str:
    """'support@3' -> 'support' (a reference without a version is the program id itself)."""
    return program_ref.rsplit('@', 1)[0] if '@' in program_ref else program_ref


# --- readable text --------------------------------------------------------------------------------
def rule_title(rule_id: str) -> str:
    """'resolution_within_sla' -> 'Resolution within SLA'."""
    words = [word.upper() if word in ACRONYMS else word for word in rule_id.replace('-', '_').split('_') if word]
    if not words:
        return rule_id
    return (words[0][:1].upper() + words[0][1:]) + (' ' + ' '.join(words[1:]) if len(words) > 1 else '')


def _value(value: Scalar) -> str:
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, float):
        return f'{value:.2f}'.rstrip('0').rstrip('.')
    return str(value)


def _label(name: str) -> str:
    words = [word.upper() if word in ACRONYMS else word for word in name.split('_') if word]
    return ' '.join(words) or name


def readable_inputs(inputs: Mapping[str, Scalar], limit: int | None = None) -> str:
    """'elapsed minutes 42 · target minutes 240 · policy default@1' (empty values left out)."""
    parts = [f'{_label(name)} {_value(value)}' for name, value in inputs.items() if value is not None and value != '']
    if limit is not None and len(parts) > limit:
        parts = parts[:limit] + [f'+{len(parts) - limit} more']
    return ' · '.join(parts)


def _points(amount: int) -> str:
    return f'{amount:+d}' if amount else '0'


def _basis(basis_key: str) -> str:
    """'survey:R1' -> 'survey R1'; 'resolution' -> 'resolution'."""
    return basis_key.replace(':', ' ', 1).replace('#', ' ')


# --- the statement ----------------------------------------------------------------------------------
class StatementLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str  # DISPUTE <code> <comment> disputes the entry (shared.disputes.model.entry_codes)
    entry_id: str
    date: str  # the local date the basis happened (YYYY-MM-DD)
    amount: int
    kind: str  # award | reversal | adjustment
    program: str  # program_id@version
    rule: str  # rule_id@version
    ticket_key: str
    basis: str  # what in the ticket earned it: 'resolution', 'survey R1', 'upsell L2'
    source_event_id: str
    explanation: str  # one readable line
    inputs: dict[str, Scalar] = Field(default_factory=dict)
    inputs_text: str = ''
    notes: list[str] = Field(default_factory=list)
    late: bool = False  # recorded after its month had ended
    reverses: str | None = None  # the code of the entry this one claws back
    occurred_at: datetime
    recorded_at: datetime


class RuleGroup(BaseModel):
    model_config = ConfigDict(frozen=True)

    program_id: str
    rule_id: str
    title: str
    points: int
    entries: int
    awards: int
    clawbacks: int
    lines: list[StatementLine]


class PendingLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str  # the code the award's entry will carry once released (disputable from then on)
    entry_id: str
    points: int
    program: str
    rule: str
    ticket_key: str
    basis: str
    basis_date: str | None
    release_date: str | None  # the local date it becomes available (if nothing undoes it first)
    release_at: datetime | None
    explanation: str
    inputs: dict[str, Scalar] = Field(default_factory=dict)
    inputs_text: str = ''
    in_month: bool  # its basis happened in the statement's month


class Totals(BaseModel):
    model_config = ConfigDict(frozen=True)

    opening_available: int  # every entry before the month
    earned: int  # awards (credits) in the month
    penalties: int  # awards that deduct (penalty rules) in the month
    reversed: int  # clawbacks in the month
    adjusted: int  # admin adjustments in the month
    closing_available: int  # opening + the month's entries
    after_month: int  # entries placed after the month (a statement of a past month, read later)
    pending: int  # the whole pending view now (not spendable yet)
    pending_from_month: int  # of which the basis happened in the month
    # Recognition and the wallet (signed like the rest: what went out is negative). A redemption refunded in the same
    # month is folded into one line and counted in neither `spent` nor `refunded` (nothing was spent).
    received_from_colleagues: int = 0  # peer thanks received
    spot_awards: int = 0  # managers' spot awards
    spent: int = 0  # redemptions
    refunded: int = 0  # refunds of redemptions of earlier months
    paid_out: int = 0  # cash paid through payroll
    debt_recovered: int = 0  # later earnings that repaid a clawback debt
    debt: int = 0  # clawed-back points still owed now (recovered from later earnings)


class Reconciliation(BaseModel):
    model_config = ConfigDict(frozen=True)

    entries_total: int  # the sum of every entry of the employee (= closing + after_month)
    entry_count: int
    balance_available: int  # the balance item's `available`
    available_difference: int  # balance_available - entries_total (0 when they reconcile)
    pending_view_total: int
    balance_pending: int
    reconciles: bool

    @property
    def message(self) -> str:
        if self.reconciles:
            return (f'balance check OK: the {self.entry_count} entries sum to {self.entries_total} = '
                    f'available balance {self.balance_available}')
        parts = []
        if self.available_difference:
            parts.append(f'entries sum to {self.entries_total} but the available balance says {self.balance_available} '
                         f'(difference {self.available_difference:+d})')
        if self.pending_view_total != self.balance_pending:
            parts.append(f'pending awards sum to {self.pending_view_total} but the balance says {self.balance_pending} pending')
        return 'BALANCE MISMATCH: ' + '; '.join(parts) + ' - report it to an administrator'


class Statement(BaseModel):
    model_config = ConfigDict(frozen=True)

    employee_id: str
    employee_name: str | None = None
    month: str  # YYYY-MM
    time_zones: dict[str, str]  # program id -> its zone ('*' = entries of no known program)
    generated_at: datetime
    totals: Totals
    reconciliation: Reconciliation
    groups: list[RuleGroup]
    pending: list[PendingLine]
    late_entries: int

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode='json')

    def to_text(self) -> str:
        return render_text(self)


class BalanceLike(Protocol):
    @property
    def available(self) -> int: ...
    @property
    def pending(self) -> int: ...


def build_statement(
    *,
    employee_id: str,
    month: str,
    entries: Sequence[LedgerEntry],
    pending: Sequence[tuple[str, AwardRecord]],
    balance: BalanceLike,
    time_zones: Mapping[str, str] | None = None,
    default_time_zone: str = 'UTC',
    employee_name: str | None = None,
    now: datetime,
    code: Callable[[str], str] | None = None,
    league_closed_at: Mapping[tuple[str, str], datetime] | None = None,
    conversions: Mapping[str, tuple[str, float]] | None = None,
) -> Statement:
    """The month's statement of one employee from everything the ledger holds for them.

    `time_zones`: program id -> IANA zone (from the program documents); `pending`: the pending view as
    (ticket key, award); `balance`: the balance item (`available`) and the pending view's total;
    `league_closed_at`: (program id, YYYY-MM) -> when that month's league closed (see the module docstring);
    `conversions`: program id -> (currency, points per currency unit), to show what a redemption was worth.
    """
    ids = [entry.entry_id for entry in entries] + [record.entry_id for _, record in pending]
    codes = {i: code(i) for i in ids} if code is not None else entry_codes(ids)  # what DISPUTE <code> accepts
    zones = dict(time_zones or {})
    bounds: dict[str, tuple[datetime, datetime]] = {}

    def window(program_ref: str) -> tuple[datetime, datetime]:
        zone = zones.get(program_of(program_ref), default_time_zone)
        if zone not in bounds:
            bounds[zone] = month_bounds(month, zone)
        return bounds[zone]

    closes = dict(league_closed_at or {})

    def after_league(entry: LedgerEntry) -> bool:
        """Recorded after the league of its month closed: it counts in the month it arrived in."""
        if not closes or entry.reason.rule_id.startswith(LEAGUE_RULE_PREFIX) or entry.reason.ticket_key.startswith(PERIOD_PREFIX):
            return False
        program = program_of(entry.reason.program_id)
        zone = ZoneInfo(zones.get(program, default_time_zone))
        closed_at = closes.get((program, f'{entry.occurred_at.astimezone(zone):%Y-%m}'))
        return closed_at is not None and entry.recorded_at >= closed_at

    moved = {entry.entry_id for entry in entries if after_league(entry)}
    before = after = 0
    in_month: list[LedgerEntry] = []
    for entry in entries:
        start, end = window(entry.reason.program_id)
        placed = entry.recorded_at if entry.entry_id in moved else entry.occurred_at
        if placed < start:
            before += entry.amount
        elif placed >= end:
            after += entry.amount
        else:
            in_month.append(entry)

    rates = dict(conversions or {})
    folded = _folded_refunds(in_month)  # redemption entry id -> its refund, both in the month
    hidden = {refund.entry_id for refund in folded.values()}
    refunded_later = {e.reverses for e in entries if e.kind is EntryKind.REFUND and e.reverses and e.entry_id not in hidden}
    lines = [_line(entry, codes, window(entry.reason.program_id), zones.get(program_of(entry.reason.program_id), default_time_zone),
                   entry.entry_id in moved, rates, folded.get(entry.entry_id), entry.entry_id in refunded_later)
             for entry in sorted(in_month, key=lambda e: (e.occurred_at, e.entry_id)) if entry.entry_id not in hidden]
    groups = _groups(lines)

    month_amounts = {kind: sum(e.amount for e in in_month if e.kind is kind) for kind in EntryKind}
    earned = sum(e.amount for e in in_month if e.kind is EntryKind.AWARD and e.amount > 0)
    penalties = month_amounts[EntryKind.AWARD] - earned
    closing = before + sum(e.amount for e in in_month)

    pending_lines = []
    for ticket_key, record in sorted(pending, key=lambda p: (p[1].release_at or now, p[1].entry_id)):
        zone = zones.get(record.program_id, record.time_zone or default_time_zone)
        start, end = window(record.program)
        pending_lines.append(_pending_line(ticket_key, record, codes[record.entry_id], zone, start, end))
    pending_total = sum(line.points for line in pending_lines)

    total = sum(entry.amount for entry in entries)
    reconciliation = Reconciliation(
        entries_total=total,
        entry_count=len(entries),
        balance_available=int(balance.available),
        available_difference=int(balance.available) - total,
        pending_view_total=pending_total,
        balance_pending=int(balance.pending),
        reconciles=total == int(balance.available) and pending_total == int(balance.pending),
    )
    totals = Totals(
        opening_available=before,
        earned=earned,
        penalties=penalties,
        reversed=month_amounts[EntryKind.REVERSAL],
        adjusted=month_amounts[EntryKind.ADJUSTMENT],
        closing_available=closing,
        after_month=after,
        pending=pending_total,
        pending_from_month=sum(line.points for line in pending_lines if line.in_month),
        received_from_colleagues=month_amounts[EntryKind.RECOGNITION],
        spot_awards=month_amounts[EntryKind.SPOT_AWARD],
        spent=month_amounts[EntryKind.REDEMPTION] + sum(refund.amount for refund in folded.values()),
        refunded=month_amounts[EntryKind.REFUND] - sum(refund.amount for refund in folded.values()),
        paid_out=month_amounts[EntryKind.PAYOUT],
        debt_recovered=month_amounts[EntryKind.DEBT_RECOVERY],
        debt=int(getattr(balance, 'debt', 0) or 0),
    )
    used = {program_of(e.reason.program_id) for e in entries} | {r.program_id for _, r in pending}
    shown = {program: zone for program, zone in sorted(zones.items()) if program in used}
    if any(program_of(e.reason.program_id) not in zones for e in entries):
        shown['*'] = default_time_zone
    return Statement(
        employee_id=employee_id,
        employee_name=employee_name,
        month=month,
        time_zones=shown or {'*': default_time_zone},
        generated_at=now,
        totals=totals,
        reconciliation=reconciliation,
        groups=groups,
        pending=pending_lines,
        late_entries=sum(1 for line in lines if line.late),
    )


def _line(entry: LedgerEntry, codes: Mapping[str, str], window: tuple[datetime, datetime], zone: str,
          after_league: bool = False, conversions: Mapping[str, tuple[str, float]] | None = None,
          refund: LedgerEntry | None = None, refunded_later: bool = False) -> StatementLine:
    reason = entry.reason
    _, end = window
    local = entry.occurred_at.astimezone(ZoneInfo(zone))
    notes: list[str] = []
    reverses_code = codes.get(entry.reverses, entry.reverses) if entry.reverses else None
    note = reason.note
    if note and entry.reverses and reverses_code:
        note = note.replace(entry.reverses, reverses_code)  # the code the employee sees, not the raw id
    if note and entry.kind not in SELF_EXPLAINED:  # an adjustment's (a redemption's...) note is its explanation
        notes.append(note)
    if reverses_code and not any(reverses_code in n for n in notes):
        notes.append(f'claws back entry {reverses_code}')
    is_period = reason.ticket_key.startswith(PERIOD_PREFIX)
    # A period bonus or a league prize is paid at the close, after the month, by design.
    late = entry.recorded_at >= end and not is_period and not reason.rule_id.startswith(LEAGUE_RULE_PREFIX)
    if after_league:
        late = True
        notes.append(f'late: earned {local:%Y-%m-%d}, arrived after the {local:%B %Y} league closed; counts in this month')
    elif late:
        recorded = entry.recorded_at.astimezone(ZoneInfo(zone))
        notes.append(f'late: recorded {recorded:%Y-%m-%d}, after {local:%B %Y} had ended')
    inputs = dict(reason.inputs)
    explanation = explain(entry, is_period, conversions)
    amount = entry.amount
    if refund is not None:  # a failed redemption and its refund: one line, nothing spent
        amount = entry.amount + refund.amount
        given_back = refund.occurred_at.astimezone(ZoneInfo(zone))
        why = (refund.reason.note or '').split(': ', 1)[-1] if refund.reason.note and ': ' in refund.reason.note else ''
        explanation = (f'{_points(amount)} redemption failed and refunded: {_item(entry)} ({-entry.amount} points reserved '
                       f'{local:%Y-%m-%d}, given back {given_back:%Y-%m-%d}' + (f': {why}' if why else '') + ')')
        notes.append(f'refund {codes.get(refund.entry_id, refund.entry_id)} gave the {refund.amount} points back')
    elif refunded_later:
        notes.append('refunded later (see the refund in the month it was given back)')
    if entry.kind is EntryKind.REFUND and reverses_code:
        notes = [n for n in notes if not n.startswith('claws back')] + [f'gives back redemption {reverses_code}']
    return StatementLine(
        code=codes[entry.entry_id],
        entry_id=entry.entry_id,
        date=f'{local:%Y-%m-%d}',
        amount=amount,
        kind=entry.kind.value,
        program=reason.program_id,
        rule=f'{reason.rule_id}@{reason.rule_version}',
        ticket_key=reason.ticket_key,
        basis=_basis(reason.basis_event_id),
        source_event_id=reason.source_event_id,
        explanation=explanation,
        inputs=inputs,
        inputs_text=readable_inputs(inputs),
        notes=notes,
        late=late,
        reverses=reverses_code,
        occurred_at=entry.occurred_at,
        recorded_at=entry.recorded_at,
    )


def explain(entry: LedgerEntry, is_period: bool = False, conversions: Mapping[str, tuple[str, float]] | None = None) -> str:
    """One line a frontline reader understands: what the points were for, or why they were taken back."""
    reason = entry.reason
    title = rule_title(reason.rule_id)
    wallet = _explain_wallet(entry, conversions)
    if wallet is not None:
        return wallet
    if entry.kind is EntryKind.ADJUSTMENT:
        return f'{_points(entry.amount)} adjustment by an administrator: {reason.note or "no reason given"}'
    if entry.kind is EntryKind.REVERSAL:
        what = reason.inputs.get('status')
        why = f' (ticket now {what})' if what else ''
        return f'{_points(entry.amount)} clawed back: {reason.ticket_key} no longer qualifies for "{title}"{why}'
    if is_period:
        period = reason.ticket_key.rsplit('#', 1)[-1]
        return f'{_points(entry.amount)} {title} bonus for {period}'
    if entry.amount < 0:
        return f'{_points(entry.amount)} penalty "{title}" on {reason.ticket_key} ({_basis(reason.basis_event_id)})'
    return f'{_points(entry.amount)} for "{title}" on {reason.ticket_key} ({_basis(reason.basis_event_id)})'


# --- recognition and the wallet ---------------------------------------------------------------------------
SELF_EXPLAINED = frozenset({EntryKind.ADJUSTMENT, EntryKind.RECOGNITION, EntryKind.SPOT_AWARD, EntryKind.REDEMPTION,
                            EntryKind.REFUND, EntryKind.PAYOUT, EntryKind.DEBT_RECOVERY})
CURRENCY_SYMBOLS = {'INR': '₹', 'USD': '$', 'EUR': '€', 'GBP': '£'}
MESSAGE_SHOWN = 80


def money(amount: float, currency: str) -> str:
    """'₹500', '$50.50', 'AED 12.50' (whole amounts without decimals)."""
    text = f'{amount:,.2f}'.removesuffix('.00')
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f'{symbol}{text}' if symbol else f'{currency} {text}'


def _item(entry: LedgerEntry) -> str:
    """A redemption's item as the wallet names it in the entry's note ('Amazon voucher ₹500 x1' -> without ' x1')."""
    note = (entry.reason.note or '').split(': ', 1)[0] if entry.kind is EntryKind.REFUND else (entry.reason.note or '')
    name = note.removesuffix(' x1').strip()
    return name or str(entry.reason.inputs.get('item_id') or 'catalogue item')


def _explain_wallet(entry: LedgerEntry, conversions: Mapping[str, tuple[str, float]] | None) -> str | None:
    """The line of a recognition, spot award, redemption, refund, payout or debt recovery (None: another kind)."""
    reason, inputs, points = entry.reason, entry.reason.inputs, _points(entry.amount)
    if entry.kind is EntryKind.RECOGNITION:
        message = str(inputs.get('message') or '')
        shown = message if len(message) <= MESSAGE_SHOWN else message[: MESSAGE_SHOWN - 1] + '…'
        value = f' for #{inputs["value"]}' if inputs.get('value') else ''
        giver = inputs.get('giver_name') or inputs.get('giver_id') or 'a colleague'
        return f'{points} thanks from {giver}{value}' + (f": '{shown}'" if shown else '')
    if entry.kind is EntryKind.SPOT_AWARD:
        why = (reason.note or '').removeprefix('Spot award: ') or rule_title(str(inputs.get('reason_id') or 'spot_award'))
        approved = f', approved by {inputs["approver"]}' if inputs.get('approver') else ''
        return f'{points} spot award from {inputs.get("manager_id") or "a manager"}: {why}{approved}'
    if entry.kind is EntryKind.REDEMPTION:
        worth = ''
        rate = (conversions or {}).get(program_of(reason.program_id))
        if rate is not None:
            worth = f' (worth {money(-entry.amount / rate[1], rate[0])})'
        return f'{points} redeemed: {_item(entry)}{worth}'
    if entry.kind is EntryKind.REFUND:
        why = (reason.note or '').split(': ', 1)[1] if ': ' in (reason.note or '') else ''
        return f'{points} refunded: {_item(entry)} (the redemption failed' + (f': {why})' if why else ')')
    if entry.kind is EntryKind.PAYOUT:
        period = inputs.get('period') or ''
        cash = f'{money(float(str(inputs["amount"])), str(inputs["currency"]))} ' if inputs.get('amount') and inputs.get('currency') else ''
        return f'{points} paid out: {cash}through payroll for {period}'.replace('  ', ' ')
    if entry.kind is EntryKind.DEBT_RECOVERY:
        left = int(inputs.get('debt_left') or 0)
        tail = f'{left} points still owed' if left else 'debt cleared'
        return f'{points} repaid towards a clawback debt from later earnings ({tail})'
    if entry.kind is EntryKind.REVERSAL and inputs.get('debt_points'):
        what = inputs.get('status')
        why = f' (ticket now {what})' if what else ''
        return (f'{points} clawed back: {reason.ticket_key} no longer qualifies for "{rule_title(reason.rule_id)}"{why}; '
                f'{inputs["debt_points"]} points owed, recovered from later earnings')
    return None


def _folded_refunds(entries: Sequence[LedgerEntry]) -> dict[str, LedgerEntry]:
    """Redemption entry id -> its refund, for the pairs both in the month (shown as one line)."""
    redemptions = {e.entry_id for e in entries if e.kind is EntryKind.REDEMPTION}
    return {e.reverses: e for e in entries if e.kind is EntryKind.REFUND and e.reverses in redemptions}


def program_conversions(book: ProgramBook) -> dict[str, tuple[str, float]]:
    """Program id -> (currency, points per currency unit) of its newest valid version."""
    out = {}
    for program_id in book.programs:
        latest = book.latest(program_id)
        if latest is not None:
            out[program_id] = (latest.document.currency, float(latest.document.points_per_currency_unit))
    return out


def _groups(lines: Sequence[StatementLine]) -> list[RuleGroup]:
    grouped: dict[tuple[str, str], list[StatementLine]] = {}
    for line in lines:
        program = program_of(line.program)
        rule_id = line.rule.rsplit('@', 1)[0]
        grouped.setdefault((program, rule_id), []).append(line)
    out = []
    for (program, rule_id), members in grouped.items():
        adjustment = rule_id in ADJUSTMENT_RULES or all(m.kind == EntryKind.ADJUSTMENT.value for m in members)
        out.append(
            RuleGroup(
                program_id=program,
                rule_id=rule_id,
                title='Adjustments' if adjustment else rule_title(rule_id),
                points=sum(m.amount for m in members),
                entries=len(members),
                awards=sum(1 for m in members if m.kind == EntryKind.AWARD.value),
                clawbacks=sum(1 for m in members if m.kind == EntryKind.REVERSAL.value),
                lines=list(members),
            )
        )
    # Programs' rules first (biggest first), adjustments last.
    return sorted(out, key=lambda g: (g.title == 'Adjustments', g.program_id, -abs(g.points), g.rule_id))


def _pending_line(ticket_key: str, record: AwardRecord, code: str, zone: str, start: datetime, end: datetime) -> PendingLine:
    tz = ZoneInfo(zone)
    basis_local = record.basis_at.astimezone(tz) if record.basis_at else None
    release_local = record.release_at.astimezone(tz) if record.release_at else None
    title = rule_title(record.rule_id)
    when = f', available from {release_local:%Y-%m-%d %H:%M}' if release_local else ''
    return PendingLine(
        code=code,
        entry_id=record.entry_id,
        points=record.points,
        program=record.program,
        rule=f'{record.rule_id}@{record.rule_version}',
        ticket_key=ticket_key,
        basis=_basis(record.basis_key),
        basis_date=f'{basis_local:%Y-%m-%d}' if basis_local else None,
        release_date=f'{release_local:%Y-%m-%d}' if release_local else None,
        release_at=record.release_at,
        explanation=f'{_points(record.points)} pending for "{title}" on {ticket_key} ({_basis(record.basis_key)}){when}',
        inputs=dict(record.inputs),
        inputs_text=readable_inputs(record.inputs),
        in_month=record.basis_at is not None and start <= record.basis_at < end,
    )


# --- text ---------------------------------------------------------------------------------------------
def render_text(statement: Statement, *, inputs: bool = True) -> str:
    """The statement as a frontline person reads it (for the local command and `make run`)."""
    t, r = statement.totals, statement.reconciliation
    month_name = f'{date.fromisoformat(statement.month + "-01"):%B %Y}'
    who = f'{statement.employee_id}' + (f' ({statement.employee_name})' if statement.employee_name else '')
    zones = ', '.join(f'other entries {zone}' if program == '*' else f'{program} {zone}' for program, zone in statement.time_zones.items())
    out = [f'Points statement for {who} - {month_name} (time zones: {zones})', '']
    rows = [
        ('Opening available balance', t.opening_available, False),
        ('  earned', t.earned, True),
        ('  penalties', t.penalties, True),
        ('  clawed back', t.reversed, True),
        ('  adjustments', t.adjusted, True),
    ]
    wallet_rows = [('  received from colleagues', t.received_from_colleagues), ('  spot awards', t.spot_awards), ('  spent', t.spent),
                   ('  refunded', t.refunded), ('  paid out', t.paid_out), ('  debt repaid', t.debt_recovered)]
    rows += [(label, value, True) for label, value in wallet_rows if value]
    rows.append((f'Closing available balance ({month_name})', t.closing_available, False))
    for label, value, signed in rows:
        out.append(f'{label:<44}{(f"{value:+d}" if signed else str(value)):>9}')
    if t.after_month:
        out.append(f'{"  entries after " + month_name:<44}{t.after_month:>+9d}')
    out.append(f'{"Pending (earned, not spendable yet)":<44}{t.pending:>9}' + (f'   ({t.pending_from_month} from {month_name})'
                                                                             if t.pending_from_month != t.pending else ''))
    if t.debt:
        out.append(f'{"Debt owed (repaid from later earnings)":<44}{t.debt:>9}')
    out.append(r.message)
    if statement.late_entries:
        out.append(f'{statement.late_entries} entr{"y" if statement.late_entries == 1 else "ies"} arrived late (marked LATE; '
                   f'each note says when it was earned and why it is listed here)')
    out.append('')
    if not statement.groups:
        out.append(f'No entries in {month_name}.')
    for group in statement.groups:
        counts = f'{group.awards} award{"s" if group.awards != 1 else ""}' if group.awards else ''
        if group.clawbacks:
            counts += (', ' if counts else '') + f'{group.clawbacks} clawed back'
        if not counts:
            counts = f'{group.entries} entr{"y" if group.entries == 1 else "ies"}'
        program = '' if group.title == 'Adjustments' else f'  [{group.program_id}, rule {group.rule_id}]'
        out.append(f'{group.title}: {group.points:+d} points ({counts}){program}')
        for line in group.lines:
            flag = ' LATE' if line.late else ''
            words = line.explanation.removeprefix(f'{_points(line.amount)} ')
            out.append(f'  {line.date}  {line.code:<9} {line.amount:>+5d}  {words}{flag}')
            detail = []
            if inputs and line.inputs_text:
                detail.append(line.inputs_text)
            detail += [note for note in line.notes if not note.startswith('late:')] + [n for n in line.notes if n.startswith('late:')]
            if detail:
                out.append(f'  {"":10}  {"":9} {"":5}  why: ' + ' | '.join(detail) + f'  ({line.program}, {line.rule})')
            else:
                out.append(f'  {"":10}  {"":9} {"":5}  ({line.program}, {line.rule})')
        out.append('')
    if statement.pending:
        out.append('Pending awards (spendable from the release date unless the ticket changes first):')
        for p in statement.pending:
            words = p.explanation.removeprefix(f'{_points(p.points)} ')
            out.append(f'  release {p.release_date or "-":10}  {p.code:<9} {p.points:>+5d}  {words}')
    else:
        out.append('No pending awards.')
    return '\n'.join(out)


# --- reading ------------------------------------------------------------------------------------------
class LedgerReader(Protocol):
    def entries_for(self, employee_id: str) -> list[LedgerEntry]: ...
    def pending_awards(self, employee_id: str) -> list[tuple[str, AwardRecord]]: ...
    def balance(self, employee_id: str) -> BalanceLike: ...


def read_statement(
    ledger: LedgerReader,
    employee_id: str,
    month: str,
    *,
    time_zones: Mapping[str, str] | None = None,
    employee_name: str | None = None,
    default_time_zone: str = 'UTC',
    now: datetime,
    league_closed_at: Mapping[tuple[str, str], datetime] | None = None,
    conversions: Mapping[str, tuple[str, float]] | None = None,
) -> Statement:
    """Read what one statement needs (a Query of the entries, a Query of the pending view, the balance item)
    and build it. A write landing between the reads (a release, a clawback) can make the figures disagree for
    a moment: on a mismatch the reads are repeated once before the mismatch is reported."""
    statement = None
    for _ in range(2):
        entries = ledger.entries_for(employee_id)
        pending = ledger.pending_awards(employee_id)
        balance = ledger.balance(employee_id)
        statement = build_statement(employee_id=employee_id, month=month, entries=entries, pending=pending, balance=balance,
                                    time_zones=time_zones, default_time_zone=default_time_zone, employee_name=employee_name, now=now,
                                    league_closed_at=league_closed_at, conversions=conversions)
        if statement.reconciliation.reconciles:
            break
    assert statement is not None
    return statement


def program_time_zones(book: ProgramBook) -> dict[str, str]:
    """Program id -> the time zone of its newest valid version (the zone its months are counted in)."""
    zones = {}
    for program_id in book.programs:
        latest = book.latest(program_id)
        if latest is not None:
            zones[program_id] = latest.document.time_zone
    return zones
