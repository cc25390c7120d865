"""Running the ledger audit against the tables, and sending its digest.

Reads only, and never a Scan: the employees come from the directory's `employees` index (Query);
per employee, the balance (consistent GetItem, its chain head included) and the entries as stored
(consistent Query on the employee's ledger partition: their amounts are summed, their hash chain
recomputed and checked against the balance's head, `shared.ledger.chain.verify_chain`); the admin context
from the quarantine's `by_day` index (one Query per day) and the tickets' sparse `unmapped` index
(one Query per source).

Writers keep running while the audit reads. A ticket's points change the entries and the balance in
one transaction, but the audit reads them in separate requests, so a write landing between them
would look like a mismatch. Each employee is therefore read balance, entries, balance: the entries
are trusted only when both balance reads agree (available points, entry count and chain head: the count only
grows, so a credit and a debit of the same size in between cannot pass for "no change"). When they
differ, the employee is read again, up to MAX_RETRIES more times; an employee still changing after
that is listed as not checked, never as a mismatch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.events import Source
from shared.ledger.audit import AuditFinding, AuditReport, QuarantineDigest, build_report, reconcile, render_email, summarise_quarantine
from shared.ledger.chain import StoredEntry, verify_chain
from shared.ledger.store import Balance
from shared.notify import EmailContent
from shared.observability import logger

MAX_RETRIES = 3
RETRY_PAUSE_S = 0.2  # times the attempt number: lets a burst of writes for one employee settle
QUARANTINE_DAYS = 7
LOGGED_MISMATCHES = 1000


class EmployeeLister(Protocol):
    def employee_ids(self) -> Iterable[str]: ...


class LedgerReader(Protocol):
    def balance(self, employee_id: str, *, with_pending: bool = True) -> Balance: ...

    def stored_entries(self, employee_id: str) -> list[StoredEntry]: ...


class QuarantineLister(Protocol):
    def list_day(self, day: str) -> list[dict[str, object]]: ...


class UnmappedTickets(Protocol):
    def unmapped_ticket_keys(self, source: str) -> list[str]: ...


class EmailSender(Protocol):
    def send(self, email: EmailContent) -> str | None: ...


def _unchanged(before: Balance, after: Balance) -> bool:
    return (before.available, before.entry_count, before.chain) == (after.available, after.entry_count, after.chain)


def audit_employee(
    ledger: LedgerReader, employee_id: str, *, retries: int = MAX_RETRIES, pause: Callable[[float], None] = time.sleep
) -> AuditFinding | None:
    """The employee's finding, read while their balance stood still; None if it never did.

    Reads: balance, entries, balance; on a change, entries and balance again (the last balance read
    opens the next attempt), at most `retries` times.
    """
    before = ledger.balance(employee_id, with_pending=False)  # the audit compares available points only
    for attempt in range(retries + 1):
        entries = ledger.stored_entries(employee_id)
        after = ledger.balance(employee_id, with_pending=False)
        if _unchanged(before, after):
            breaks = verify_chain(employee_id, entries, after.chain, after.entry_count)
            return reconcile(employee_id, after.available, [entry.amount for entry in entries], breaks)
        logger.info('balance changed while auditing; reading again', extra={'employee_id': employee_id, 'attempt': attempt + 1})
        before = after
        if attempt < retries:
            pause(RETRY_PAUSE_S * (attempt + 1))
    return None


def quarantine_days(audited_at: datetime, days: int = QUARANTINE_DAYS) -> list[str]:
    """The `days` UTC days ending with the audit's own day, oldest first (the `by_day` index keys)."""
    today = (audited_at.astimezone(UTC) if audited_at.tzinfo else audited_at).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


@dataclass
class LedgerAuditor:
    directory: EmployeeLister
    ledger: LedgerReader
    quarantine: QuarantineLister | None = None
    tickets: UnmappedTickets | None = None
    retries: int = MAX_RETRIES
    pause: Callable[[float], None] = field(default=time.sleep)

    @classmethod
    def from_settings(cls) -> LedgerAuditor:
        from shared.directory.store import DirectoryStore
        from shared.ledger.store import LedgerStore
        from shared.quarantine.store import QuarantineStore
        from shared.tickets.store import TicketStore

        return cls(directory=DirectoryStore(), ledger=LedgerStore(), quarantine=QuarantineStore(), tickets=TicketStore())

    def run(self, audited_at: datetime, *, days: int = QUARANTINE_DAYS) -> AuditReport:
        findings: list[AuditFinding] = []
        unstable: list[str] = []
        for employee_id in self.directory.employee_ids():
            finding = audit_employee(self.ledger, employee_id, retries=self.retries, pause=self.pause)
            if finding is None:
                unstable.append(employee_id)
            else:
                findings.append(finding)
        report = build_report(
            audited_at,
            findings,
            unstable=unstable,
            quarantine=self._quarantine(audited_at, days),
            unmapped_tickets=self._unmapped(),
        )
        for finding in report.mismatches[:LOGGED_MISMATCHES]:
            logger.warning('balance does not equal the sum of its ledger entries', extra={'finding': finding.model_dump()})
        for chain_break in report.chain_breaks[:LOGGED_MISMATCHES]:
            logger.warning('ledger hash chain broken', extra={'chain_break': chain_break.model_dump(mode='json')})
        if report.unstable:
            logger.warning('balances kept changing during the audit; not checked this run',
                           extra={'employee_ids': list(report.unstable[:LOGGED_MISMATCHES])})
        logger.info('ledger audited', extra={'employees_audited': report.employees_audited, 'entries_checked': report.entries_checked,
                                             'mismatches': len(report.mismatches), 'broken_chains': len(report.broken_chains),
                                             'unstable': len(report.unstable)})
        return report

    def _quarantine(self, audited_at: datetime, days: int) -> QuarantineDigest | None:
        if self.quarantine is None:
            return None
        day_keys = quarantine_days(audited_at, days)
        items = [item for day in day_keys for item in self.quarantine.list_day(day)]
        return summarise_quarantine(items, day_keys[0], day_keys[-1])

    def _unmapped(self) -> dict[str, int] | None:
        if self.tickets is None:
            return None
        return {source.value: len(self.tickets.unmapped_ticket_keys(source.value)) for source in Source}


def send_digest(report: AuditReport, sender: EmailSender, *, stage: str | None = None) -> str | None:
    """Render the report and send it; SES's message id, or None when no recipient is configured."""
    return sender.send(render_email(report, stage=stage))


def audit_summary(report: AuditReport, message_id: str | None, *, max_ids: int = 100) -> dict[str, Any]:
    """What the function returns: small and JSON-serialisable (employee ids only)."""
    return {
        'ok': report.ok,
        'audited_at': report.audited_at.isoformat(),
        'employees_audited': report.employees_audited,
        'entries_checked': report.entries_checked,
        'mismatches': len(report.mismatches),
        'mismatched_employees': [f.employee_id for f in report.mismatches[:max_ids]],
        'chain_breaks': len(report.chain_breaks),
        'broken_chain_employees': list(report.broken_chains[:max_ids]),
        'unstable_employees': list(report.unstable[:max_ids]),
        'quarantined_waiting': report.quarantine.total_waiting if report.quarantine else None,
        'unmapped_tickets': sum(report.unmapped_tickets.values()) if report.unmapped_tickets is not None else None,
        'email_sent': message_id is not None,
        'email_message_id': message_id,
    }
