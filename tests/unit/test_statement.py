"""The monthly statement (shared/ledger/statement.py), pure: totals that reconcile with the balance, a mismatch
flagged, late entries marked (period bonuses excepted), pending awards with their release dates, entries grouped
by rule with one readable line each, and months counted in each program's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.disputes.model import entry_code
from shared.ledger.entries import AwardRecord, AwardState, EntryKind, EntryReason, EntryStatus, LedgerEntry, reversal_id_for
from shared.ledger.statement import build_statement, rule_title

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
ZONES = {'support': 'America/New_York', 'workshop': 'Asia/Kolkata'}


@dataclass(frozen=True)
class Bal:
    available: int
    pending: int = 0


def entry(entry_id: str, amount: int, at: datetime, *, rule: str = 'resolved_within_sla', program: str = 'support@2',
          kind: EntryKind = EntryKind.AWARD, recorded: datetime | None = None, ticket: str = 'zendesk#1001',
          basis: str = 'resolution', reverses: str | None = None, note: str | None = None,
          inputs: dict[str, str | int | float | bool | None] | None = None) -> LedgerEntry:
    return LedgerEntry(
        entry_id=entry_id, employee_id='E1', amount=amount, kind=kind, status=EntryStatus.AVAILABLE, reverses=reverses,
        reason=EntryReason(ticket_key=ticket, source_event_id='release:x', basis_event_id=basis, rule_id=rule, rule_version=3,
                           program_id=program, inputs=inputs or {}, note=note),
        occurred_at=at, recorded_at=recorded or at + timedelta(hours=1),
    )


def pending(entry_id: str, points: int, basis_at: datetime, release_at: datetime, program: str = 'support@2') -> tuple[str, AwardRecord]:
    return 'zendesk#2002', AwardRecord(entry_id=entry_id, employee_id='E1', points=points, rule_id='csat_positive', rule_version=1,
                                       program=program, state=AwardState.PENDING, basis_key='survey:r9', basis_at=basis_at,
                                       release_at=release_at, inputs={'csat': 5}, time_zone=ZONES[program.split('@')[0]])


NOV = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
LEDGER = [
    entry('E0000001', 10, datetime(2026, 10, 20, 15, tzinfo=UTC)),  # October: opening balance
    entry('E0000002', 10, NOV, inputs={'elapsed_minutes': 42.5, 'target_minutes': 240, 'business_hours': True}),
    entry('E0000003', 10, NOV + timedelta(days=1), ticket='zendesk#1003'),
    entry('E0000004', 5, NOV + timedelta(days=2), rule='first_response_within_sla'),
    entry(reversal_id_for('E0000003'), -10, NOV + timedelta(days=5), kind=EntryKind.REVERSAL, ticket='zendesk#1003',
          reverses='E0000003', note='claws back E0000003: the ticket no longer meets rule resolved_within_sla',
          inputs={'status': 'open', 'reopen_count': 1}),
    entry('E0000005', -3, NOV + timedelta(days=6), rule='sla_breach', basis='breach:resolution'),
    entry('A0000001', 25, NOV + timedelta(days=7), kind=EntryKind.ADJUSTMENT, rule='admin_adjustment', program='admin',
          ticket='-', note='Spot award for cover'),
    entry('E0000006', 10, datetime(2026, 12, 2, 15, tzinfo=UTC)),  # December: after the month
]


def test_totals_reconcile_with_the_balance_and_account_for_every_entry() -> None:
    # Given entries before, in and after November and a balance equal to their sum, 7 points pending
    total = sum(e.amount for e in LEDGER)
    waiting = [pending('E0000009', 7, NOV + timedelta(days=20), NOV + timedelta(days=23))]
    # When the November statement is built
    s = build_statement(employee_id='E1', month='2026-11', entries=LEDGER, pending=waiting, balance=Bal(total, 7),
                        time_zones=ZONES, now=NOW)
    # Then the totals split the month's entries by kind, and opening + month + after = every entry = the balance
    t = s.totals
    assert (t.opening_available, t.earned, t.penalties, t.reversed, t.adjusted) == (10, 25, -3, -10, 25)
    assert t.closing_available == 10 + 25 - 3 - 10 + 25 == 47
    assert t.after_month == 10 and t.closing_available + t.after_month == total
    assert t.pending == 7 and t.pending_from_month == 7
    assert s.reconciliation.reconciles and s.reconciliation.available_difference == 0
    assert s.reconciliation.entry_count == len(LEDGER)
    assert 'balance check OK' in s.to_text()


def test_a_balance_that_does_not_equal_the_entries_is_flagged() -> None:
    # Given a balance item 15 points above the sum of the entries (and a pending total that differs from the view)
    total = sum(e.amount for e in LEDGER)
    # When the statement is built
    s = build_statement(employee_id='E1', month='2026-11', entries=LEDGER, pending=[], balance=Bal(total + 15, 4),
                        time_zones=ZONES, now=NOW)
    # Then it does not reconcile, states the difference, and the text says so
    r = s.reconciliation
    assert not r.reconciles and r.available_difference == 15 and r.balance_pending == 4 and r.pending_view_total == 0
    text = s.to_text()
    assert 'BALANCE MISMATCH' in text and 'difference +15' in text and '4 pending' in text


def test_an_entry_recorded_after_its_month_ended_is_marked_late_but_a_period_bonus_is_not() -> None:
    # Given a November award recorded on December 3, an on-time one, and a November period bonus paid at the close
    late = entry('E0000020', 10, NOV, recorded=datetime(2026, 12, 3, 9, tzinfo=UTC))
    on_time = entry('E0000021', 10, NOV, recorded=NOV + timedelta(days=3))
    bonus = entry('P0000001', 50, datetime(2026, 12, 1, 4, 59, 59, tzinfo=UTC), rule='sla_accelerator',
                  ticket='period#support#2026-11', basis='sla_accelerator#2026-11', recorded=datetime(2026, 12, 4, tzinfo=UTC))
    # When the November statement is built
    s = build_statement(employee_id='E1', month='2026-11', entries=[late, on_time, bonus], pending=[], balance=Bal(70),
                        time_zones=ZONES, now=NOW)
    # Then only the late award is late, with the date it was recorded
    lines = {line.entry_id: line for group in s.groups for line in group.lines}
    assert lines['E0000020'].late and any('recorded 2026-12-03' in note for note in lines['E0000020'].notes)
    assert not lines['E0000021'].late and not lines['P0000001'].late
    assert s.late_entries == 1
    assert lines['P0000001'].explanation == '+50 SLA accelerator bonus for 2026-11'
    assert 'LATE' in s.to_text() and '1 entry arrived late' in s.to_text()


def test_an_entry_that_arrived_after_its_months_league_closed_is_listed_late_in_the_next_statement() -> None:
    # Given the support league of November closed on Dec 1 at 00:05 New York time, an award earned on Nov 29 released
    # on Dec 2 (after the close), one released on Nov 30 (before it), and a league prize for November paid at the close
    closed = {('support', '2026-11'): datetime(2026, 12, 1, 5, 5, tzinfo=UTC)}
    after = entry('E0000040', 15, datetime(2026, 11, 29, 15, tzinfo=UTC), recorded=datetime(2026, 12, 2, 15, tzinfo=UTC))
    before = entry('E0000041', 10, datetime(2026, 11, 28, 15, tzinfo=UTC), recorded=datetime(2026, 11, 30, 15, tzinfo=UTC))
    prize = entry('L0000001', 500, datetime(2026, 12, 1, 4, 59, 59, tzinfo=UTC), rule='league_prize', ticket='league#support#2026-11',
                  recorded=datetime(2026, 12, 1, 5, 6, tzinfo=UTC))
    ledger = [after, before, prize]

    # When the November and December statements are built
    def statement(month: str) -> Any:
        return build_statement(employee_id='E1', month=month, entries=ledger, pending=[], balance=Bal(525), time_zones=ZONES,
                               now=NOW, league_closed_at=closed)

    november, december = statement('2026-11'), statement('2026-12')

    # Then November holds the on-time award and the prize (not late); the late award is in December, marked late with
    # the day it was earned, and no month counts it twice
    nov_lines = {line.entry_id: line for group in november.groups for line in group.lines}
    dec_lines = {line.entry_id: line for group in december.groups for line in group.lines}
    assert set(nov_lines) == {'E0000041', 'L0000001'} and not any(line.late for line in nov_lines.values())
    assert set(dec_lines) == {'E0000040'} and dec_lines['E0000040'].late and december.late_entries == 1
    assert any('earned 2026-11-29' in note and 'league closed' in note for note in dec_lines['E0000040'].notes)
    assert november.totals.closing_available == 510 and november.totals.after_month == 15
    assert december.totals.opening_available == 510 and december.totals.closing_available == 525
    assert november.reconciliation.reconciles and december.reconciliation.reconciles


def test_pending_awards_are_listed_with_their_release_date_in_the_program_zone() -> None:
    # Given two pending awards: one earned in November releasing on Dec 1 at 02:00 New York time, one earned in December
    basis = datetime(2026, 11, 28, 18, tzinfo=UTC)
    waiting = [pending('E0000030', 5, basis, datetime(2026, 12, 1, 7, tzinfo=UTC)),
               pending('E0000031', 8, datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 8, 12, tzinfo=UTC))]
    # When the November statement is built
    s = build_statement(employee_id='E1', month='2026-11', entries=[], pending=waiting, balance=Bal(0, 13), time_zones=ZONES, now=NOW)
    # Then both are listed, soonest release first, with local release dates; the month's share is told apart
    first, second = s.pending
    assert (first.code, first.release_date, first.basis_date, first.in_month) == (entry_code('E0000030'), '2026-12-01',
                                                                                  '2026-11-28', True)
    assert (second.release_date, second.in_month) == ('2026-12-08', False)
    assert s.totals.pending == 13 and s.totals.pending_from_month == 5
    assert 'available from 2026-12-01 02:00' in first.explanation
    assert 'release 2026-12-01' in s.to_text()


def test_entries_are_grouped_by_rule_with_one_readable_line_each() -> None:
    # Given the November ledger (two rules, a clawback of one award, a penalty and an adjustment)
    s = build_statement(employee_id='E1', month='2026-11', entries=LEDGER, pending=[], balance=Bal(sum(e.amount for e in LEDGER)),
                        time_zones=ZONES, employee_name='Ana Agent', now=NOW)
    # When reading its groups
    by_rule = {group.rule_id: group for group in s.groups}
    # Then one group per rule, the clawback inside its rule's group, adjustments last
    assert list(by_rule) == ['resolved_within_sla', 'first_response_within_sla', 'sla_breach', 'admin_adjustment']
    resolved = by_rule['resolved_within_sla']
    assert (resolved.title, resolved.points, resolved.awards, resolved.clawbacks) == ('Resolved within SLA', 10, 2, 1)
    assert s.groups[-1].title == 'Adjustments' and s.groups[-1].points == 25
    # And each line says what it was for, in words, with its code, versions, source and inputs
    award, _, reversal = resolved.lines
    assert award.explanation == '+10 for "Resolved within SLA" on zendesk#1001 (resolution)'
    assert (award.program, award.rule, award.date) == ('support@2', 'resolved_within_sla@3', '2026-11-10')
    assert award.inputs_text == 'elapsed minutes 42.5 · target minutes 240 · business hours yes'
    assert reversal.reverses == entry_code('E0000003') and reversal.kind == 'reversal'
    assert reversal.explanation == '-10 clawed back: zendesk#1003 no longer qualifies for "Resolved within SLA" (ticket now open)'
    assert by_rule['sla_breach'].lines[0].explanation.startswith('-3 penalty "SLA breach"')
    assert by_rule['admin_adjustment'].lines[0].explanation == '+25 adjustment by an administrator: Spot award for cover'
    # And the text has one header per rule, then its lines (not a flat list of amounts)
    text = s.to_text().splitlines()
    assert text[0].startswith('Points statement for E1 (Ana Agent) - November 2026')
    headers = [line for line in text if line and not line.startswith(' ') and 'points (' in line]
    assert headers[0] == 'Resolved within SLA: +10 points (2 awards, 1 clawed back)  [support, rule resolved_within_sla]'
    assert len(headers) == 4


def test_months_are_counted_in_each_program_time_zone() -> None:
    # Given an award of a Kolkata program and an adjustment, both at 20:00 UTC on October 31
    # (November 1, 01:30 in Kolkata; still October 31 in UTC)
    at = datetime(2026, 10, 31, 20, tzinfo=UTC)
    ledger = [entry('E0000040', 10, at, program='workshop@1', rule='on_time_delivery'),
              entry('A0000040', 5, at, kind=EntryKind.ADJUSTMENT, rule='admin_adjustment', program='admin', note='x')]
    # When the November statement is built
    s = build_statement(employee_id='E1', month='2026-11', entries=ledger, pending=[], balance=Bal(15), time_zones=ZONES, now=NOW)
    # Then the workshop award is November's (dated Nov 1 locally); the adjustment is October's (UTC)
    [group] = s.groups
    assert group.rule_id == 'on_time_delivery' and group.lines[0].date == '2026-11-01'
    assert s.totals.opening_available == 5 and s.totals.closing_available == 15
    assert s.time_zones == {'workshop': 'Asia/Kolkata', '*': 'UTC'}


def test_rule_titles_read_as_words() -> None:
    assert rule_title('first_response_within_sla') == 'First response within SLA'
    assert rule_title('nps_promoter') == 'NPS promoter'
    assert rule_title('upsell') == 'Upsell'
