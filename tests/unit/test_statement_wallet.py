"""The statement's lines and totals for recognition and the wallet (shared/ledger/statement.py): peer thanks, spot
awards, redemptions with their worth, a failed redemption folded with its refund into one line, a refund of an
earlier month's redemption, a payroll payout, a clawback that left a debt and the debt's recovery (the debt still
owed shown), with totals that still reconcile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.disputes.model import entry_code
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.statement import build_statement, money

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
ZONES = {'pitstop': 'Asia/Kolkata'}
RATES = {'pitstop': ('INR', 1.0)}
OCT = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Bal:
    available: int
    pending: int = 0
    debt: int = 0


def entry(entry_id: str, amount: int, kind: EntryKind, at: datetime, *, rule: str, note: str | None = None,
          reverses: str | None = None, inputs: dict[str, str | int | float | bool | None] | None = None) -> LedgerEntry:
    return LedgerEntry(entry_id=entry_id, employee_id='E1', amount=amount, kind=kind, status=EntryStatus.AVAILABLE, reverses=reverses,
                       reason=EntryReason(ticket_key=f'{rule}#{entry_id}', source_event_id='x', basis_event_id='x', rule_id=rule,
                                          rule_version=1, program_id='pitstop@1', inputs=inputs or {}, note=note),
                       occurred_at=at, recorded_at=at)  # fmt: skip


SEPT_REDEMPTION = entry('Dsept', -200, EntryKind.REDEMPTION, datetime(2026, 9, 28, 6, tzinfo=UTC), rule='redemption',
                        note='Fuel card ₹200 x1')
LEDGER = [
    entry('Egood', 700, EntryKind.AWARD, datetime(2026, 9, 2, tzinfo=UTC), rule='job_card_on_time'),
    SEPT_REDEMPTION,
    entry('Gthanks', 20, EntryKind.RECOGNITION, OCT, rule='peer_recognition', note='thanks from Bo for #teamwork',
          inputs={'giver_id': 'Bo', 'value': 'teamwork', 'message': 'Stayed late to finish the Innova brake job', 'month': '2026-10'}),
    entry('Sspot', 50, EntryKind.SPOT_AWARD, OCT + timedelta(days=1), rule='spot_award', note='Spot award: Zero-defect repair',
          inputs={'manager_id': 'M1', 'reason_id': 'zero_defect_repair'}),
    entry('Damazon', -500, EntryKind.REDEMPTION, OCT + timedelta(days=2), rule='redemption', note='Amazon voucher ₹500 x1',
          inputs={'item_id': 'amazon-500', 'quantity': 1, 'unit_price': 500}),
    entry('Dfuel', -100, EntryKind.REDEMPTION, OCT + timedelta(days=3), rule='redemption', note='Fuel card ₹100 x1'),
    entry('Ffuel', 100, EntryKind.REFUND, OCT + timedelta(days=4), rule='redemption_refund', reverses='Dfuel',
          note='Fuel card ₹100 x1: provider out of stock'),
    entry('Fsept', 200, EntryKind.REFUND, OCT + timedelta(days=5), rule='redemption_refund', reverses='Dsept',
          note='Fuel card ₹200 x1: provider refused'),
    entry('Ppay', -150, EntryKind.PAYOUT, OCT + timedelta(days=20), rule='payroll_payout',
          inputs={'file_key': 'payouts/pitstop/2026-10/payout.csv', 'period': '2026-10', 'amount': '150.00', 'currency': 'INR'}),
    entry('Rclaw', -20, EntryKind.REVERSAL, OCT + timedelta(days=21), rule='job_card_on_time', reverses='Egood',
          note='claws back Egood; 30 points owed as a debt, recovered from later earnings',
          inputs={'status': 'reopened', 'debt_points': 30, 'unrecovered_points': 30, 'requested_points': 50}),
    entry('Eafter', 10, EntryKind.AWARD, OCT + timedelta(days=22), rule='job_card_on_time'),
    entry('Drec', -10, EntryKind.DEBT_RECOVERY, OCT + timedelta(days=22, hours=1), rule='debt_recovery',
          note='repays 10 of the 30 points owed since clawback Rclaw; 20 points still owed',
          inputs={'debt_before': 30, 'recovered': 10, 'debt_left': 20}),
]


def october() -> tuple[dict[str, str], object]:
    total = sum(e.amount for e in LEDGER)
    statement = build_statement(employee_id='E1', month='2026-10', entries=LEDGER, pending=[], balance=Bal(total, debt=20),
                                time_zones=ZONES, now=NOW, conversions=RATES)
    return {line.entry_id: line.explanation for group in statement.groups for line in group.lines}, statement


def test_each_new_kind_reads_as_one_plain_line() -> None:
    # Given a month with thanks, a spot award, redemptions, refunds, a payout, a clawback leaving a debt and its recovery
    # When the October statement is built
    lines, _ = october()

    # Then each reads as what happened
    assert lines['Gthanks'] == "+20 thanks from Bo for #teamwork: 'Stayed late to finish the Innova brake job'"
    assert lines['Sspot'] == '+50 spot award from M1: Zero-defect repair'
    assert lines['Damazon'] == '-500 redeemed: Amazon voucher ₹500 (worth ₹500)'
    assert lines['Fsept'] == '+200 refunded: Fuel card ₹200 (the redemption failed: provider refused)'
    assert lines['Ppay'] == '-150 paid out: ₹150 through payroll for 2026-10'
    assert lines['Rclaw'].startswith('-20 clawed back: job_card_on_time#Rclaw no longer qualifies for "Job card on time"')
    assert lines['Rclaw'].endswith('30 points owed, recovered from later earnings')
    assert lines['Drec'] == '-10 repaid towards a clawback debt from later earnings (20 points still owed)'


def test_a_redemption_refunded_in_the_same_month_is_one_line_not_a_pair() -> None:
    # Given a fuel card redeemed (-100) and refunded (+100) in October
    # When the statement is built
    lines, statement = october()

    # Then one line says it failed and was refunded, for 0 points, disputable by the redemption's code
    assert 'Ffuel' not in lines
    assert lines['Dfuel'].startswith('0 redemption failed and refunded: Fuel card ₹100 (100 points reserved 2026-10-08, given back')
    assert lines['Dfuel'].endswith(': provider out of stock)')
    text = statement.to_text()  # type: ignore[attr-defined]
    assert f'{entry_code("Dfuel")}' in text and 'redemption failed and refunded' in text
    assert text.count('Fuel card ₹100') == 1


def test_totals_split_spending_and_show_the_debt_still_owed_and_still_reconcile() -> None:
    # Given the October ledger and a balance item that says 20 points are still owed
    # When the statement is built
    _, statement = october()
    t = statement.totals  # type: ignore[attr-defined]

    # Then the month's totals name each kind (the folded pair in neither spent nor refunded), the debt is shown, and
    # opening + every total = closing = the balance
    assert (t.received_from_colleagues, t.spot_awards, t.spent, t.refunded, t.paid_out, t.debt_recovered, t.debt) == (
        20, 50, -500, 200, -150, -10, 20)
    assert t.opening_available + t.earned + t.penalties + t.reversed + t.adjusted + t.received_from_colleagues + t.spot_awards \
        + t.spent + t.refunded + t.paid_out + t.debt_recovered == t.closing_available
    assert statement.reconciliation.reconciles  # type: ignore[attr-defined]
    text = statement.to_text()  # type: ignore[attr-defined]
    assert 'received from colleagues' in text and 'Debt owed (repaid from later earnings)             20' in text


def test_a_redemption_refunded_in_a_later_month_says_so() -> None:
    # Given September's fuel card, refunded in October
    statement = build_statement(employee_id='E1', month='2026-09', entries=LEDGER, pending=[], balance=Bal(sum(e.amount for e in LEDGER)),
                                time_zones=ZONES, now=NOW, conversions=RATES)

    # When September's statement is read, then its line stays -200 with a note that it was refunded later
    [line] = [line for group in statement.groups for line in group.lines if line.entry_id == 'Dsept']
    assert line.amount == -200 and any('refunded later' in note for note in line.notes)


def test_money_is_shown_with_the_currency_symbol() -> None:
    assert (money(500, 'INR'), money(100.5, 'USD'), money(12.5, 'AED')) == ('₹500', '$100.50', 'AED 12.50')
