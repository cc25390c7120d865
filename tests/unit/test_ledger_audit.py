"""The ledger audit's pure logic: reconciling a balance, the report, the digest e-mail, and reading an
employee while writers keep writing (against a stub ledger boundary, not the logic under test)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.ledger.audit import (
    AuditFinding,
    QuarantineDigest,
    build_report,
    reason_code,
    reconcile,
    render_email,
    summarise_quarantine,
)
from shared.ledger.auditor import LedgerAuditor, audit_employee, audit_summary, quarantine_days
from shared.ledger.chain import BreakKind, ChainBreak, StoredEntry
from shared.ledger.store import Balance

AUDITED_AT = datetime(2024, 5, 20, 2, 15, tzinfo=UTC)


def finding(employee_id: str, balance: int, entries_sum: int, entries: int = 1) -> AuditFinding:
    return AuditFinding(employee_id=employee_id, balance=balance, entries_sum=entries_sum, entries=entries)


# --- reconcile and the report ----------------------------------------------------------------------
def test_the_audit_logic_imports_no_aws_sdk() -> None:
    # When the pure audit module is imported in a fresh interpreter
    code = ('import sys, shared.ledger.audit; '
            'print(",".join(m for m in ("boto3", "botocore", "pynamodb", "aws_lambda_powertools") if m in sys.modules))')
    loaded = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2]).stdout.strip()

    # Then no AWS SDK, storage or Powertools module came with it
    assert loaded == ''


def test_a_balance_equal_to_its_entries_reconciles() -> None:
    # Given a balance of 15 and entries of +10, +10, -5
    amounts = [10, 10, -5]

    # When reconciled
    result = reconcile('E1', 15, amounts)

    # Then it reconciles, with the sum and count stated
    assert result.reconciles
    assert (result.entries_sum, result.entries, result.difference) == (15, 3, 0)


@pytest.mark.parametrize(('balance', 'difference'), [(60, 50), (0, -10)])
def test_a_balance_off_its_entries_is_a_mismatch_with_a_signed_difference(balance: int, difference: int) -> None:
    # Given one entry of 10 and a balance that says otherwise
    # When reconciled
    result = reconcile('E1', balance, [10])

    # Then it does not reconcile, and the difference is balance minus entries
    assert not result.reconciles
    assert result.difference == difference
    assert result.model_dump()['difference'] == difference


def test_report_counts_everything_and_lists_only_mismatches_largest_first() -> None:
    # Given four findings, two of them mismatched, and one employee that was never stable
    findings = [finding('E1', 10, 10, 2), finding('E2', 7, 5, 3), finding('E3', 0, 40, 4), finding('E4', 0, 0, 0)]

    # When the report is built
    report = build_report(AUDITED_AT, findings, unstable=['E9'], unmapped_tickets={'zendesk': 2, 'dms': 0})

    # Then it counts the audited employees and entries, orders mismatches by size, lists E9 apart
    assert (report.employees_audited, report.entries_checked) == (4, 9)
    assert [f.employee_id for f in report.mismatches] == ['E3', 'E2']
    assert report.unstable == ('E9',)
    assert not report.ok
    assert report.unmapped_tickets == {'zendesk': 2}


# --- quarantine context ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ('item', 'code'),
    [
        ({'stage': 'ingest', 'status_code': 400, 'field': 'ticket.status'}, 'invalid_payload:ticket.status'),
        ({'stage': 'ingest', 'status_code': 401, 'field': None}, 'authentication_failed'),
        ({'stage': 'ingest', 'status_code': 404}, 'unknown_source'),
        ({'stage': 'ingest', 'status_code': 413}, 'payload_too_large'),
        ({'stage': 'ingest', 'status_code': 418}, 'http_418'),
        ({'stage': 'ingest', 'status_code': None}, 'rejected'),
        ({'stage': 'processing', 'reason': 'ConcurrentUpdate: ticket changed since it was read'}, 'processing_failed:ConcurrentUpdate'),
        ({'stage': 'processing', 'reason': 'something went wrong'}, 'processing_failed'),
    ],
)
def test_reason_code_is_short_and_carries_no_payload_text(item: dict[str, object], code: str) -> None:
    # When a quarantined item's reason is coded
    # Then it is the error code (and field), never the free-text reason
    assert reason_code(item) == code


def test_quarantine_is_grouped_by_source_and_code_and_replayed_items_are_set_apart() -> None:
    # Given three waiting zendesk 401s, one waiting freshdesk 400, and one replayed item
    items = [{'source': 'zendesk', 'stage': 'ingest', 'status_code': 401, 'status': 'quarantined'}] * 3 + [
        {'source': 'freshdesk', 'stage': 'ingest', 'status_code': 400, 'field': 'ticket.id', 'status': 'quarantined'},
        {'source': 'zendesk', 'stage': 'ingest', 'status_code': 401, 'status': 'replayed'},
    ]

    # When summarised
    digest = summarise_quarantine(items, '2024-05-14', '2024-05-20')

    # Then counts are per (source, code), most frequent first, and the replayed one is only counted
    assert [(c.source, c.reason_code, c.count) for c in digest.waiting] == [
        ('zendesk', 'authentication_failed', 3),
        ('freshdesk', 'invalid_payload:ticket.id', 1),
    ]
    assert (digest.total_waiting, digest.replayed) == (4, 1)


def test_quarantine_days_are_the_seven_utc_days_ending_on_the_audit_day() -> None:
    # Given an audit at 01:00 in India on 20 May, which is still 19 May in UTC
    audited_at = datetime(2024, 5, 20, 1, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))

    # When the days to list are chosen
    days = quarantine_days(audited_at)

    # Then they are 13..19 May, oldest first
    assert days == [f'2024-05-{d}' for d in range(13, 20)]


# --- the e-mail ------------------------------------------------------------------------------------
def test_email_of_a_clean_audit_says_ok() -> None:
    # Given a report without mismatches
    report = build_report(AUDITED_AT, [finding('E1', 10, 10)])

    # When rendered
    email = render_email(report, stage='prod')

    # Then the subject says OK and the body says every balance matched
    assert email.subject == 'Pitcrew ledger audit (prod) 2024-05-20: OK'
    assert 'Every audited balance equals the sum of its ledger entries.' in email.text
    assert 'Employees audited: 1' in email.text


@pytest.mark.parametrize(('mismatched', 'verdict'), [(1, '1 mismatch'), (3, '3 mismatches')])
def test_email_subject_counts_the_mismatches(mismatched: int, verdict: str) -> None:
    # Given a report with mismatched balances
    report = build_report(AUDITED_AT, [finding(f'E{n}', 60, 10) for n in range(mismatched)])

    # When rendered
    email = render_email(report)

    # Then the subject says how many
    assert email.subject == f'Pitcrew ledger audit 2024-05-20: {verdict}'


def test_email_body_names_each_mismatch_and_the_admin_context() -> None:
    # Given a mismatch, an unstable employee, quarantined payloads and unmapped tickets
    quarantine = summarise_quarantine([{'source': 'dms', 'stage': 'ingest', 'status_code': 401, 'status': 'quarantined'}],
                                      '2024-05-14', '2024-05-20')
    report = build_report(AUDITED_AT, [finding('E1', 60, 10, 1), finding('E2', 5, 5)], unstable=['E7'],
                          quarantine=quarantine, unmapped_tickets={'zendesk': 4})

    # When rendered
    text = render_email(report).text

    # Then the mismatch row shows balance, entries sum, signed difference and entry count
    row = next(line for line in text.splitlines() if line.strip().startswith('E1 '))
    assert row.split() == ['E1', '60', '10', '+50', '1']
    assert not any(line.strip().startswith('E2 ') for line in text.splitlines())
    # And the unstable employee, the quarantine counts and the unmapped tickets are there
    assert 'balance changed during every attempt (1): E7' in text
    assert 'received 2024-05-14 to 2024-05-20 (UTC): 1' in text
    assert any(line.split() == ['dms', 'authentication_failed', '1'] for line in text.splitlines())
    assert 'Tickets waiting for a directory mapping: 4' in text
    assert any(line.split() == ['zendesk', '4'] for line in text.splitlines())


def test_email_names_each_broken_chain_and_the_summary_counts_them() -> None:
    # Given a report where E2's entry A1 was altered (its sums still agree) and E1 mismatches
    broken = ChainBreak(employee_id='E2', problem=BreakKind.ALTERED, entry_id='A1', seq=3, expected='hash aaaa (stored when written)',
                        found='hash bbbb (of the fields now)')
    report = build_report(AUDITED_AT, [finding('E1', 60, 10), finding('E2', 5, 5).model_copy(update={'chain_breaks': (broken,)})])

    # When the digest is rendered and the function's answer summarised
    email = render_email(report, stage='prod')
    summary = audit_summary(report, None)

    # Then the subject counts both problems, the body names the employee, the entry, its seq, the problem and what differs
    assert not report.ok and report.broken_chains == ('E2',)
    assert email.subject == 'Pitcrew ledger audit (prod) 2024-05-20: 1 mismatch, 1 broken chain'
    [row] = [line.split(maxsplit=4) for line in email.text.splitlines() if line.strip().startswith('E2 ')]
    assert row == ['E2', 'A1', '3', 'altered', 'hash aaaa (stored when written) / hash bbbb (of the fields now)']
    assert (summary['chain_breaks'], summary['broken_chain_employees']) == (1, ['E2'])


def test_email_of_intact_chains_says_so() -> None:
    # Given a clean report
    email = render_email(build_report(AUDITED_AT, [finding('E1', 5, 5)]))
    # Then the body says every chain is intact
    assert 'Every audited ledger chain is intact.' in email.text


def test_email_caps_the_mismatch_table() -> None:
    # Given 5 mismatches and room for 2 rows
    report = build_report(AUDITED_AT, [finding(f'E{n}', n + 1, 0) for n in range(5)])

    # When rendered
    text = render_email(report, max_rows=2).text

    # Then two rows are shown (the largest differences) and the rest are counted
    assert [line.split()[0] for line in text.splitlines() if line.startswith('  E')] == ['E4', 'E3']
    assert '... and 3 more' in text


def test_summary_is_small_and_json_shaped() -> None:
    # Given a report with one mismatch
    report = build_report(AUDITED_AT, [finding('E1', 60, 10), finding('E2', 1, 1)],
                          quarantine=QuarantineDigest(first_day='2024-05-14', last_day='2024-05-20'), unmapped_tickets={})

    # When summarised for the function's answer
    summary = audit_summary(report, 'msg-1')

    # Then it names the employee and the counts
    assert summary == {
        'ok': False, 'audited_at': '2024-05-20T02:15:00+00:00', 'employees_audited': 2, 'entries_checked': 2, 'mismatches': 1,
        'mismatched_employees': ['E1'], 'chain_breaks': 0, 'broken_chain_employees': [], 'unstable_employees': [],
        'quarantined_waiting': 0, 'unmapped_tickets': 0, 'email_sent': True, 'email_message_id': 'msg-1',
    }


# --- reading while writers write -------------------------------------------------------------------
@dataclass
class ScriptedLedger:
    """A ledger boundary whose balance reads follow a script (what concurrent writers would cause)."""

    balances: list[tuple[int, int]]  # (available, entry_count) returned by successive balance reads
    amounts: list[int]  # the amounts of the entries on the employee's ledger partition
    reads: list[str] = field(default_factory=list)

    def balance(self, employee_id: str, *, with_pending: bool = True) -> Balance:
        self.reads.append('balance')
        available, count = self.balances.pop(0) if len(self.balances) > 1 else self.balances[0]
        return Balance(employee_id, available, 0, available, count)

    def stored_entries(self, employee_id: str) -> list[StoredEntry]:
        self.reads.append('entries')
        return [StoredEntry(entry_id=f'L{n}', fields={'amount': amount}) for n, amount in enumerate(self.amounts)]


def test_a_stable_balance_is_read_balance_entries_balance_once() -> None:
    # Given a balance nobody is writing to
    ledger = ScriptedLedger(balances=[(10, 1)], amounts=[10])
    pauses: list[float] = []

    # When the employee is audited
    result = audit_employee(ledger, 'E1', pause=pauses.append)

    # Then one attempt is enough, and it reconciles
    assert ledger.reads == ['balance', 'entries', 'balance']
    assert result is not None and result.reconciles
    assert pauses == []


def test_a_balance_that_moved_between_reads_is_read_again_not_reported() -> None:
    # Given a write lands during the first attempt (10 -> 20 points), then the balance holds
    ledger = ScriptedLedger(balances=[(10, 1), (20, 2), (20, 2)], amounts=[10, 10])

    # When the employee is audited
    result = audit_employee(ledger, 'E1', pause=lambda _: None)

    # Then the second attempt (balance read 20 twice) is the one checked, and it reconciles
    assert ledger.reads == ['balance', 'entries', 'balance', 'entries', 'balance']
    assert result is not None and result.reconciles and result.balance == 20


def test_a_credit_and_a_debit_of_the_same_size_between_reads_still_counts_as_a_change() -> None:
    # Given the available points read the same twice, but two entries were written in between
    ledger = ScriptedLedger(balances=[(10, 1), (10, 3), (10, 3)], amounts=[10, 5, -5])

    # When the employee is audited
    result = audit_employee(ledger, 'E1', pause=lambda _: None)

    # Then the entry count gave the change away and the employee was read again
    assert ledger.reads.count('entries') == 2
    assert result is not None and result.entries == 3


def test_a_balance_that_never_holds_still_is_given_up_after_three_retries() -> None:
    # Given a balance that changes between every two reads, and entries that disagree with it
    ledger = ScriptedLedger(balances=[(n, n) for n in range(1, 20)], amounts=[])
    pauses: list[float] = []

    # When the employee is audited
    result = audit_employee(ledger, 'E1', pause=pauses.append)

    # Then it is retried 3 times (4 attempts, 5 balance reads, growing pauses) and not reported at all
    assert result is None
    assert ledger.reads.count('entries') == 4 and ledger.reads.count('balance') == 5
    assert pauses == sorted(pauses) and len(pauses) == 3


@dataclass
class Directory:
    ids: list[str]

    def employee_ids(self) -> Iterable[str]:
        return iter(self.ids)


@dataclass
class PerEmployeeLedger:
    ledgers: dict[str, ScriptedLedger]

    def balance(self, employee_id: str, *, with_pending: bool = True) -> Balance:
        return self.ledgers[employee_id].balance(employee_id)

    def stored_entries(self, employee_id: str) -> list[StoredEntry]:
        return self.ledgers[employee_id].stored_entries(employee_id)


def test_auditor_reports_a_busy_employee_apart_from_mismatches() -> None:
    # Given one employee off by 50, one reconciled, and one whose balance never holds still
    ledger = PerEmployeeLedger({
        'E1': ScriptedLedger(balances=[(60, 1)], amounts=[10]),
        'E2': ScriptedLedger(balances=[(5, 1)], amounts=[5]),
        'E3': ScriptedLedger(balances=[(n, n) for n in range(1, 20)], amounts=[]),
    })
    auditor = LedgerAuditor(directory=Directory(['E1', 'E2', 'E3']), ledger=ledger, pause=lambda _: None)

    # When the audit runs (no quarantine or tickets store given: no admin context)
    report = auditor.run(AUDITED_AT)

    # Then only E1 is a mismatch, E3 is listed as not checked, and only stable employees are counted
    assert [(f.employee_id, f.difference) for f in report.mismatches] == [('E1', 50)]
    assert report.unstable == ('E3',)
    assert report.employees_audited == 2
    assert report.quarantine is None and report.unmapped_tickets is None
