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

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.disputes.model import entry_codes
from shared.ledger.entries import AwardRecord, EntryKind, LedgerEntry
from shared.ledger.statement_texts import BASIS, INPUTS, PRODUCT_RULES, STATUSES, day, decimal, month_year, number, signed, texts
from shared.notify.languages import DECIMAL_COMMA, supported
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


# --- readable text (in the statement's language: shared/ledger/statement_texts.py) ----------------------------------
def rule_title(rule_id: str, language: str = 'en') -> str:
    """'resolution_within_sla' -> 'Resolution within SLA'. A rule Pitcrew itself writes (recognition, the wallet, a
    league's close) has its title in each language; a program's rule reads as its id in words in every language, unless
    the program document gives it titles (`program_rule_titles`)."""
    language = supported(language)
    if language != 'en' and rule_id in PRODUCT_RULES[language]:
        return PRODUCT_RULES[language][rule_id]
    words = [word.upper() if word in ACRONYMS else word for word in rule_id.replace('-', '_').split('_') if word]
    if not words:
        return rule_id
    return (words[0][:1].upper() + words[0][1:]) + (' ' + ' '.join(words[1:]) if len(words) > 1 else '')


def _value(value: Scalar, language: str = 'en') -> str:
    if isinstance(value, bool):
        return texts(language)['yes' if value else 'no']
    if isinstance(value, float):
        return decimal(language, value)
    if isinstance(value, int):
        return number(language, value)
    return str(value)


def _label(name: str, language: str = 'en') -> str:
    language = supported(language)
    if language != 'en':
        if name in INPUTS[language]:
            return INPUTS[language][name]
        if name.startswith('original_') and name.removeprefix('original_') in INPUTS[language]:  # a clawback's copy of the award's
            return texts(language)['original'].format(label=INPUTS[language][name.removeprefix('original_')])
    words = [word.upper() if word in ACRONYMS else word for word in name.split('_') if word]
    return ' '.join(words) or name


def readable_inputs(inputs: Mapping[str, Scalar], limit: int | None = None, language: str = 'en') -> str:
    """'elapsed minutes 42 · target minutes 240 · policy default@1' (empty values left out)."""
    def shown(name: str, value: Scalar) -> str:
        return _status_word(value, language) if name == 'status' and isinstance(value, str) else _value(value, language)

    parts = [f'{_label(name, language)} {shown(name, value)}' for name, value in inputs.items() if value is not None and value != '']
    if limit is not None and len(parts) > limit:
        parts = parts[:limit] + [texts(language)['more'].format(count=len(parts) - limit)]
    return ' · '.join(parts)


def _points(amount: int, language: str = 'en') -> str:
    return signed(language, amount)


def _count(language: str, value: Scalar) -> str:
    """A figure the ledger stored (an int, maybe a float): as English always printed it, grouped in the others."""
    if supported(language) == 'en' or isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return number(language, int(value)) if float(value).is_integer() else decimal(language, float(value))


def _basis(basis_key: str, language: str = 'en') -> str:
    """'survey:R1' -> 'survey R1' ('encuesta R1'); 'resolution' -> 'resolution' ('resolución')."""
    text = basis_key.replace(':', ' ', 1).replace('#', ' ')
    language = supported(language)
    if language == 'en':
        return text
    head = re.split(r'[:#]', basis_key, maxsplit=1)[0]
    return BASIS[language][head] + text[len(head):] if head in BASIS[language] else text


def _period(period: str, language: str) -> str:
    """'2026-11' as the language names a month ('noviembre de 2026'); English and anything else as it is."""
    return month_year(language, period) if supported(language) != 'en' and re.fullmatch(r'\d{4}-(0[1-9]|1[0-2])', period) else period


def _status_word(status: Scalar, language: str) -> str:
    """A help desk's ticket status in the language ('open' -> 'abierto'); English and unknown ones as they came."""
    language = supported(language)
    return STATUSES[language].get(str(status), str(status)) if language != 'en' else str(status)


def _status(status: Scalar | None, language: str) -> str:
    """' (ticket now open)' after a clawback ('' when the ticket's status is unknown)."""
    return texts(language)['ticket_now'].format(status=_status_word(status, language)) if status else ''


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
        return self.message_in('en')

    def message_in(self, language: str) -> str:
        """The balance check in words, in `language` ('balance check OK: ...' / 'BALANCE MISMATCH: ...')."""
        t = texts(language)
        if self.reconciles:
            return t['balance_ok'].format(count=number(language, self.entry_count), total=number(language, self.entries_total),
                                          available=number(language, self.balance_available))
        parts = []
        if self.available_difference:
            parts.append(t['mismatch_available'].format(total=number(language, self.entries_total),
                                                        available=number(language, self.balance_available),
                                                        difference=signed(language, self.available_difference)))
        if self.pending_view_total != self.balance_pending:
            parts.append(t['mismatch_pending'].format(pending=number(language, self.pending_view_total),
                                                      balance=number(language, self.balance_pending)))
        return t['mismatch'].format(parts='; '.join(parts))


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
    # The language its lines are written in (shared/notify/languages.py); not part of the JSON (the caller knows it).
    language: str = Field(default='en', exclude=True)

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
    language: str = 'en',
    rule_titles: Mapping[tuple[str, str], str] | None = None,
) -> Statement:
    """The month's statement of one employee from everything the ledger holds for them.

    `time_zones`: program id -> IANA zone (from the program documents); `pending`: the pending view as
    (ticket key, award); `balance`: the balance item (`available`) and the pending view's total;
    `league_closed_at`: (program id, YYYY-MM) -> when that month's league closed (see the module docstring);
    `conversions`: program id -> (currency, points per currency unit), to show what a redemption was worth;
    `language`: the person's (every line, note and total in words; a language Pitcrew does not speak reads English);
    `rule_titles`: (program id, rule id) -> the rule's title in that language, when the program gives one
    (`program_rule_titles`).
    """
    language = supported(language)
    given_titles = dict(rule_titles or {})

    def title(program_ref: str, rule_id: str) -> str:
        return given_titles.get((program_of(program_ref), rule_id)) or rule_title(rule_id, language)

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
                   entry.entry_id in moved, rates, folded.get(entry.entry_id), entry.entry_id in refunded_later, language,
                   title(entry.reason.program_id, entry.reason.rule_id))
             for entry in sorted(in_month, key=lambda e: (e.occurred_at, e.entry_id)) if entry.entry_id not in hidden]
    groups = _groups(lines, language, title)

    month_amounts = {kind: sum(e.amount for e in in_month if e.kind is kind) for kind in EntryKind}
    earned = sum(e.amount for e in in_month if e.kind is EntryKind.AWARD and e.amount > 0)
    penalties = month_amounts[EntryKind.AWARD] - earned
    closing = before + sum(e.amount for e in in_month)

    pending_lines = []
    for ticket_key, record in sorted(pending, key=lambda p: (p[1].release_at or now, p[1].entry_id)):
        zone = zones.get(record.program_id, record.time_zone or default_time_zone)
        start, end = window(record.program)
        pending_lines.append(_pending_line(ticket_key, record, codes[record.entry_id], zone, start, end, language,
                                           title(record.program, record.rule_id)))
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
        language=language,
    )


def _line(entry: LedgerEntry, codes: Mapping[str, str], window: tuple[datetime, datetime], zone: str,
          after_league: bool = False, conversions: Mapping[str, tuple[str, float]] | None = None,
          refund: LedgerEntry | None = None, refunded_later: bool = False, language: str = 'en',
          title: str | None = None) -> StatementLine:
    reason = entry.reason
    t = texts(language)
    title = title or rule_title(reason.rule_id, language)
    _, end = window
    local = entry.occurred_at.astimezone(ZoneInfo(zone))
    notes: list[str] = []
    reverses_code = codes.get(entry.reverses, entry.reverses) if entry.reverses else None
    note = reason.note
    if note and entry.reverses and reverses_code:
        note = note.replace(entry.reverses, reverses_code)  # the code the employee sees, not the raw id
    if note and entry.kind not in SELF_EXPLAINED:  # an adjustment's (a redemption's...) note is its explanation
        notes.append(_stored_note(entry, note, language, reverses_code))
    if reverses_code and entry.kind is not EntryKind.REFUND and not any(reverses_code in n for n in notes):
        notes.append(t['claws_back'].format(code=reverses_code))
    is_period = reason.ticket_key.startswith(PERIOD_PREFIX)
    # A period bonus or a league prize is paid at the close, after the month, by design.
    late = entry.recorded_at >= end and not is_period and not reason.rule_id.startswith(LEAGUE_RULE_PREFIX)
    if after_league:
        late = True
        notes.append(t['late_league'].format(late=t['late'], date=day(language, local), month=month_year(language, f'{local:%Y-%m}')))
    elif late:
        recorded = entry.recorded_at.astimezone(ZoneInfo(zone))
        notes.append(t['late_recorded'].format(late=t['late'], date=day(language, recorded), month=month_year(language, f'{local:%Y-%m}')))
    inputs = dict(reason.inputs)
    explanation = explain(entry, is_period, conversions, language=language, title=title)
    amount = entry.amount
    if refund is not None:  # a failed redemption and its refund: one line, nothing spent
        amount = entry.amount + refund.amount
        given_back = refund.occurred_at.astimezone(ZoneInfo(zone))
        why = (refund.reason.note or '').split(': ', 1)[-1] if refund.reason.note and ': ' in refund.reason.note else ''
        explanation = t['redemption_refunded'].format(points=_points(amount, language), item=_item(entry, language),
                                                      reserved=number(language, -entry.amount), reserved_on=day(language, local),
                                                      given_on=day(language, given_back), why=f': {why}' if why else '')
        notes.append(t['refund_note'].format(code=codes.get(refund.entry_id, refund.entry_id), points=number(language, refund.amount)))
    elif refunded_later:
        notes.append(t['refunded_later'])
    if entry.kind is EntryKind.REFUND and reverses_code:
        notes.append(t['gives_back'].format(code=reverses_code))
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
        inputs_text=readable_inputs(inputs, language=language),
        notes=notes,
        late=late,
        reverses=reverses_code,
        occurred_at=entry.occurred_at,
        recorded_at=entry.recorded_at,
    )


def explain(entry: LedgerEntry, is_period: bool = False, conversions: Mapping[str, tuple[str, float]] | None = None,
            language: str = 'en', title: str | None = None) -> str:
    """One line a frontline reader understands, in their language: what the points were for, or why they were taken back.
    `title`: the rule's title (default: `rule_title` of the rule id in `language`)."""
    reason = entry.reason
    t = texts(language)
    title = title or rule_title(reason.rule_id, language)
    wallet = _explain_wallet(entry, conversions, language, title)
    if wallet is not None:
        return wallet
    points = _points(entry.amount, language)
    if entry.kind is EntryKind.ADJUSTMENT:
        return t['adjustment'].format(points=points, note=reason.note or t['no_reason'])
    if entry.kind is EntryKind.REVERSAL:
        why = _status(reason.inputs.get('status'), language)
        return t['clawed_back'].format(points=points, ticket=reason.ticket_key, title=title, why=why)
    if is_period:
        period = reason.ticket_key.rsplit('#', 1)[-1]
        return t['period_bonus'].format(points=points, title=title, period=_period(period, language))
    basis = _basis(reason.basis_event_id, language)
    return t['penalty' if entry.amount < 0 else 'award'].format(points=points, title=title, ticket=reason.ticket_key, basis=basis)


# What the ledger appends to a debit it could not fully take (shared.ledger.store.cap_debits), once or more.
UNRECOVERED_NOTE = re.compile(r'(?:; -?\d+ points (?:owed as a debt, recovered from later earnings|not recovered \(balance too low\)))+$')


def _stored_note(entry: LedgerEntry, note: str, language: str, reverses_code: str | None) -> str:
    """A note the ledger stored with the entry (in English) as the language says it: a cap, a clawback, what a debit could
    not recover, a league's rank. Any other note (an administrator's reason, a league trophy's) is shown as it was written."""
    if supported(language) == 'en':
        return note
    t, inputs = texts(language), entry.reason.inputs
    suffix = ''
    unrecovered = UNRECOVERED_NOTE.search(note)
    if unrecovered is not None:
        points = int(inputs.get('unrecovered_points') or 0)
        said = t['note_owed' if inputs.get('debt_points') else 'note_not_recovered']
        suffix = said.format(points=number(language, points)) if points > 0 else ''
        note = note[: unrecovered.start()]
        if not note:
            return suffix.removeprefix('; ')
    if note.startswith('capped: ') and inputs.get('capped_from') is not None:
        return t['note_capped'].format(earned=_count(language, inputs['capped_from']), kept=number(language, entry.amount)) + suffix
    if note.startswith('claws back ') and entry.kind is EntryKind.REVERSAL:
        code = reverses_code or entry.reverses or ''
        days = inputs.get('clawback_days')
        text = (t['note_clawback'].format(code=code, rule=entry.reason.rule_id, days=days) if days is not None
                else t['claws_back'].format(code=code))
        return text + suffix
    ranked = all(inputs.get(key) is not None for key in ('league', 'month', 'rank', 'of', 'score', 'points'))
    if entry.reason.rule_id == 'league_prize' and ranked:
        return t['note_league_rank'].format(league=inputs['league'], month=_period(str(inputs['month']), language),
                                            rank=inputs['rank'], of=inputs['of'],
                                            division=inputs.get('division_name') or inputs.get('division') or '',
                                            score=_count(language, inputs['score']), points=_count(language, inputs['points']))
    return note + suffix


# --- recognition and the wallet ---------------------------------------------------------------------------
SELF_EXPLAINED = frozenset({EntryKind.ADJUSTMENT, EntryKind.RECOGNITION, EntryKind.SPOT_AWARD, EntryKind.REDEMPTION,
                            EntryKind.REFUND, EntryKind.PAYOUT, EntryKind.DEBT_RECOVERY})
CURRENCY_SYMBOLS = {'INR': '₹', 'USD': '$', 'EUR': '€', 'GBP': '£'}
MESSAGE_SHOWN = 80


def money(amount: float, currency: str, language: str = 'en') -> str:
    """'₹500', '$50.50', 'AED 12.50' (whole amounts without decimals; '€50,50' in a language with a decimal comma)."""
    text = f'{amount:,.2f}'.removesuffix('.00')
    if supported(language) in DECIMAL_COMMA:
        text = text.translate(str.maketrans(',.', '.,'))
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f'{symbol}{text}' if symbol else f'{currency} {text}'


def _item(entry: LedgerEntry, language: str = 'en') -> str:
    """A redemption's item as the wallet names it in the entry's note ('Amazon voucher ₹500 x1' -> without ' x1')."""
    note = (entry.reason.note or '').split(': ', 1)[0] if entry.kind is EntryKind.REFUND else (entry.reason.note or '')
    name = note.removesuffix(' x1').strip()
    return name or str(entry.reason.inputs.get('item_id') or texts(language)['catalogue_item'])


def _explain_wallet(entry: LedgerEntry, conversions: Mapping[str, tuple[str, float]] | None, language: str = 'en',
                    title: str | None = None) -> str | None:
    """The line of a recognition, spot award, redemption, refund, payout or debt recovery (None: another kind)."""
    reason, inputs, points, t = entry.reason, entry.reason.inputs, _points(entry.amount, language), texts(language)
    if entry.kind is EntryKind.RECOGNITION:
        message = str(inputs.get('message') or '')
        shown = message if len(message) <= MESSAGE_SHOWN else message[: MESSAGE_SHOWN - 1] + '…'
        value = t['thanks_value'].format(value=inputs['value']) if inputs.get('value') else ''
        giver = inputs.get('giver_name') or inputs.get('giver_id') or t['a_colleague']
        said = t['thanks_message'].format(message=shown) if shown else ''
        return t['thanks'].format(points=points, giver=giver, value=value, message=said)
    if entry.kind is EntryKind.SPOT_AWARD:
        why = (reason.note or '').removeprefix('Spot award: ') or rule_title(str(inputs.get('reason_id') or 'spot_award'), language)
        approved = t['spot_approved'].format(approver=inputs['approver']) if inputs.get('approver') else ''
        return t['spot_award'].format(points=points, manager=inputs.get('manager_id') or t['a_manager'], why=why, approved=approved)
    if entry.kind is EntryKind.REDEMPTION:
        worth = ''
        rate = (conversions or {}).get(program_of(reason.program_id))
        if rate is not None:
            worth = t['worth'].format(money=money(-entry.amount / rate[1], rate[0], language))
        return t['redeemed'].format(points=points, item=_item(entry, language), worth=worth)
    if entry.kind is EntryKind.REFUND:
        why = (reason.note or '').split(': ', 1)[1] if ': ' in (reason.note or '') else ''
        return t['refunded'].format(points=points, item=_item(entry, language), why=f': {why}' if why else '')
    if entry.kind is EntryKind.PAYOUT:
        period = str(inputs.get('period') or '')
        cash = (f'{money(float(str(inputs["amount"])), str(inputs["currency"]), language)} '
                if inputs.get('amount') and inputs.get('currency') else '')
        return t['paid_out'].format(points=points, cash=cash, period=_period(period, language)).replace('  ', ' ')
    if entry.kind is EntryKind.DEBT_RECOVERY:
        left = int(inputs.get('debt_left') or 0)
        tail = t['debt_left'].format(points=number(language, left)) if left else t['debt_cleared']
        return t['debt_repaid'].format(points=points, left=tail)
    if entry.kind is EntryKind.REVERSAL and inputs.get('debt_points'):
        title = title or rule_title(reason.rule_id, language)
        return (t['clawed_back'].format(points=points, ticket=reason.ticket_key, title=title, why=_status(inputs.get('status'), language))
                + t['clawback_debt'].format(debt=_count(language, inputs['debt_points'])))
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


def _adjustments(group: RuleGroup) -> bool:
    """The group of an administrator's adjustments (titled 'Adjustments', listed last, no program rule to name)."""
    return group.rule_id in ADJUSTMENT_RULES or all(m.kind == EntryKind.ADJUSTMENT.value for m in group.lines)


def _groups(lines: Sequence[StatementLine], language: str = 'en', title: Callable[[str, str], str] | None = None) -> list[RuleGroup]:
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
                title=(texts(language)['adjustments_title'] if adjustment
                       else title(program, rule_id) if title is not None else rule_title(rule_id, language)),
                points=sum(m.amount for m in members),
                entries=len(members),
                awards=sum(1 for m in members if m.kind == EntryKind.AWARD.value),
                clawbacks=sum(1 for m in members if m.kind == EntryKind.REVERSAL.value),
                lines=list(members),
            )
        )
    # Programs' rules first (biggest first), adjustments last.
    return sorted(out, key=lambda g: (_adjustments(g), g.program_id, -abs(g.points), g.rule_id))


def _pending_line(ticket_key: str, record: AwardRecord, code: str, zone: str, start: datetime, end: datetime,
                  language: str = 'en', title: str | None = None) -> PendingLine:
    tz = ZoneInfo(zone)
    t = texts(language)
    basis_local = record.basis_at.astimezone(tz) if record.basis_at else None
    release_local = record.release_at.astimezone(tz) if record.release_at else None
    title = title or rule_title(record.rule_id, language)
    when = t['available_from'].format(date=day(language, release_local, clock=True)) if release_local else ''
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
        explanation=t['pending'].format(points=_points(record.points, language), title=title, ticket=ticket_key,
                                        basis=_basis(record.basis_key, language), when=when),
        inputs=dict(record.inputs),
        inputs_text=readable_inputs(record.inputs, language=language),
        in_month=record.basis_at is not None and start <= record.basis_at < end,
    )


# --- text ---------------------------------------------------------------------------------------------
def render_text(statement: Statement, *, inputs: bool = True, language: str | None = None) -> str:
    """The statement as a frontline person reads it (for the local command and `make run`), in `language` (default: the
    language it was built in; its lines were written then)."""
    language = supported(language or statement.language)
    w, t, r = texts(language), statement.totals, statement.reconciliation

    def whole(value: int) -> str:
        return number(language, value)

    def plus(value: int) -> str:
        return signed(language, value, zero='+0')

    month_name = month_year(language, statement.month)
    who = f'{statement.employee_id}' + (f' ({statement.employee_name})' if statement.employee_name else '')
    zones = ', '.join(w['other_zone'].format(zone=zone) if program == '*' else f'{program} {zone}'
                      for program, zone in statement.time_zones.items())
    out = [w['header'].format(who=who, month=month_name, zones=zones), '']
    rows = [
        (w['opening'], t.opening_available, False),
        (w['earned'], t.earned, True),
        (w['penalties'], t.penalties, True),
        (w['clawed_back_total'], t.reversed, True),
        (w['adjustments_total'], t.adjusted, True),
    ]
    wallet_rows = [(w['received_total'], t.received_from_colleagues), (w['spot_awards_total'], t.spot_awards),
                   (w['spent_total'], t.spent), (w['refunded_total'], t.refunded), (w['paid_out_total'], t.paid_out),
                   (w['debt_repaid_total'], t.debt_recovered)]
    rows += [(label, value, True) for label, value in wallet_rows if value]
    rows.append((w['closing'].format(month=month_name), t.closing_available, False))
    for label, value, sign in rows:
        out.append(f'{label:<44}{(plus(value) if sign else whole(value)):>9}')
    if t.after_month:
        out.append(f'{w["after_month"].format(month=month_name):<44}{plus(t.after_month):>9}')
    from_month = w['pending_from_month'].format(points=whole(t.pending_from_month), month=month_name)
    out.append(f'{w["pending_total"]:<44}{whole(t.pending):>9}' + (from_month if t.pending_from_month != t.pending else ''))
    if t.debt:
        out.append(f'{w["debt_owed"]:<44}{whole(t.debt):>9}')
    out.append(r.message_in(language))
    if statement.late_entries:
        out.append(w['late_one' if statement.late_entries == 1 else 'late_many'].format(count=whole(statement.late_entries),
                                                                                        flag=w['late_flag']))
    out.append('')
    if not statement.groups:
        out.append(w['no_entries'].format(month=month_name))
    late_note = w['late'] + ':'
    for group in statement.groups:
        counts = w['awards_one' if group.awards == 1 else 'awards_many'].format(count=whole(group.awards)) if group.awards else ''
        if group.clawbacks:
            clawed = w['clawed_one' if group.clawbacks == 1 else 'clawed_many'].format(count=whole(group.clawbacks))
            counts += (', ' if counts else '') + clawed
        if not counts:
            counts = w['entries_one' if group.entries == 1 else 'entries_many'].format(count=whole(group.entries))
        reference = '' if _adjustments(group) else w['group_reference'].format(program=group.program_id, rule=group.rule_id)
        out.append(w['group'].format(title=group.title, points=plus(group.points), counts=counts, reference=reference))
        for line in group.lines:
            flag = f' {w["late_flag"]}' if line.late else ''
            words = line.explanation.removeprefix(f'{_points(line.amount, language)} ')
            when = line.date if language == 'en' else day(language, date.fromisoformat(line.date), year=False)
            out.append(f'  {when:<10}  {line.code:<9} {plus(line.amount):>5}  {words}{flag}')
            detail = []
            if inputs and line.inputs_text:
                detail.append(line.inputs_text)
            detail += [n for n in line.notes if not n.startswith(late_note)] + [n for n in line.notes if n.startswith(late_note)]
            if detail:
                out.append(f'  {"":10}  {"":9} {"":5}  {w["why"]}' + ' | '.join(detail) + f'  ({line.program}, {line.rule})')
            else:
                out.append(f'  {"":10}  {"":9} {"":5}  ({line.program}, {line.rule})')
        out.append('')
    if statement.pending:
        out.append(w['pending_header'])
        for p in statement.pending:
            words = p.explanation.removeprefix(f'{_points(p.points, language)} ')
            release = p.release_date or '-'
            if language != 'en' and p.release_date:
                release = day(language, date.fromisoformat(p.release_date))
            out.append(f'  {w["release"]} {release:10}  {p.code:<9} {plus(p.points):>5}  {words}')
    else:
        out.append(w['no_pending'])
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
    language: str = 'en',
    rule_titles: Mapping[tuple[str, str], str] | None = None,
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
                                    league_closed_at=league_closed_at, conversions=conversions, language=language,
                                    rule_titles=rule_titles)
        if statement.reconciliation.reconciles:
            break
    assert statement is not None
    return statement


def program_rule_titles(book: ProgramBook, language: str) -> dict[tuple[str, str], str]:
    """(program id, rule id) -> the rule's title in `language` as the newest valid version of its program gives it
    (`titles` of an event or period rule; the English title when that language has none). Rules without titles are left
    out: the statement names them by their id in words."""
    language = supported(language)
    out = {}
    for program_id in book.programs:
        latest = book.latest(program_id)
        if latest is None:
            continue
        for rule in [*latest.document.rules, *latest.document.period_rules]:
            title = rule.titles.get(language) or rule.titles.get('en')
            if title:
                out[(program_id, rule.rule_id)] = title
    return out


def program_time_zones(book: ProgramBook) -> dict[str, str]:
    """Program id -> the time zone of its newest valid version (the zone its months are counted in)."""
    zones = {}
    for program_id in book.programs:
        latest = book.latest(program_id)
        if latest is not None:
            zones[program_id] = latest.document.time_zone
    return zones
