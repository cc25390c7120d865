"""The ledger audit: does every employee's balance equal the sum of their ledger entries, and is their
entries' hash chain intact (`shared.ledger.chain`: nothing overwritten, deleted or inserted)?

Pure: no storage here (the reads, and the retry that keeps concurrent writers from causing false
alarms, are in `shared.ledger.auditor`). A balance is a running total kept beside the append-only
entries for fast reads; the entries are the record. A difference means the balance item was changed
outside the ledger's transactions, or an entry went missing: either way the points cannot be trusted
until someone looks.

The report also carries admin context for the digest e-mail: payloads still waiting in quarantine,
grouped by source and reason code, and tickets waiting for a directory mapping. It names employees by
id only: no names, phone numbers or e-mail addresses, and no quarantine reason text (which can quote
a payload), only codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, computed_field

from shared.errors import AuthenticationFailed, InvalidPayload, PayloadTooLarge, ServiceUnavailable, UnknownSource
from shared.ledger.chain import ChainBreak
from shared.notify import EmailContent

# A quarantined item keeps the HTTP status it was refused with, not the error code; the code is
# recovered from the status (a stale timestamp is a 401 too, so it counts as authentication_failed).
_CODE_BY_STATUS = {error.status_code: error.code for error in (InvalidPayload, AuthenticationFailed, UnknownSource, PayloadTooLarge,
                                                                ServiceUnavailable)}
MAX_EMAILED_ROWS = 100


class AuditFinding(BaseModel):
    """One employee's balance set against their entries (`difference` = balance - entries_sum), and what is
    wrong with their entries' hash chain (nothing: `chain_breaks` is empty)."""

    model_config = ConfigDict(frozen=True)

    employee_id: str
    balance: int
    entries_sum: int
    entries: int
    chain_breaks: tuple[ChainBreak, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def difference(self) -> int:
        return self.balance - self.entries_sum

    @property
    def reconciles(self) -> bool:
        return self.difference == 0


def reconcile(employee_id: str, balance: int, amounts: Sequence[int], chain_breaks: Sequence[ChainBreak] = ()) -> AuditFinding:
    """Set an employee's available balance against the amounts of the entries on their ledger partition."""
    return AuditFinding(employee_id=employee_id, balance=balance, entries_sum=sum(amounts), entries=len(amounts),
                        chain_breaks=tuple(chain_breaks))


class QuarantineCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    reason_code: str
    count: int


class QuarantineDigest(BaseModel):
    """Payloads quarantined on days first_day..last_day (UTC) that are still waiting for a replay."""

    model_config = ConfigDict(frozen=True)

    first_day: str
    last_day: str
    waiting: tuple[QuarantineCount, ...] = ()
    replayed: int = 0

    @property
    def total_waiting(self) -> int:
        return sum(count.count for count in self.waiting)


def reason_code(item: Mapping[str, object]) -> str:
    """A short, bounded code for why an item was quarantined (an item of `QuarantineStore.list_day`).

    Rejected at the webhook: the error code of its HTTP status, plus the offending field when one
    was named (`invalid_payload:ticket.status`). Failed in processing: `processing_failed:` plus the
    exception's class name, which the stored reason starts with.
    """
    if item.get('stage') == 'processing':
        name = str(item.get('reason') or '').split(':', 1)[0].strip()
        return f'processing_failed:{name}' if name.isidentifier() else 'processing_failed'
    status = item.get('status_code')
    status_code = int(status) if isinstance(status, int | float) else int(status) if isinstance(status, str) and status.isdigit() else None
    code = _CODE_BY_STATUS.get(status_code, f'http_{status_code}') if status_code is not None else 'rejected'
    field = str(item.get('field') or '')[:80]
    return f'{code}:{field}' if field else code


def summarise_quarantine(items: Iterable[Mapping[str, object]], first_day: str, last_day: str) -> QuarantineDigest:
    waiting: Counter[tuple[str, str]] = Counter()
    replayed = 0
    for item in items:
        if item.get('status') == 'quarantined':
            waiting[(str(item.get('source') or '?'), reason_code(item))] += 1
        else:
            replayed += 1
    counts = sorted(waiting.items(), key=lambda pair: (-pair[1], pair[0]))
    return QuarantineDigest(
        first_day=first_day,
        last_day=last_day,
        waiting=tuple(QuarantineCount(source=source, reason_code=code, count=n) for (source, code), n in counts),
        replayed=replayed,
    )


class AuditReport(BaseModel):
    """One run of the audit.

    employees_audited counts the employees whose balance was read stable and checked; `unstable`
    lists those whose balance kept changing during every attempt (busy, not wrong: they are neither
    counted nor reported as mismatches, and the next run checks them again).
    """

    model_config = ConfigDict(frozen=True)

    audited_at: datetime
    employees_audited: int
    entries_checked: int
    mismatches: tuple[AuditFinding, ...] = ()
    chain_breaks: tuple[ChainBreak, ...] = ()
    unstable: tuple[str, ...] = ()
    quarantine: QuarantineDigest | None = None
    unmapped_tickets: dict[str, int] | None = None  # source -> tickets waiting for a directory mapping

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.chain_breaks

    @property
    def broken_chains(self) -> tuple[str, ...]:
        """The employees whose chain has at least one break, in report order."""
        return tuple(dict.fromkeys(b.employee_id for b in self.chain_breaks))


def build_report(
    audited_at: datetime,
    findings: Iterable[AuditFinding],
    *,
    unstable: Iterable[str] = (),
    quarantine: QuarantineDigest | None = None,
    unmapped_tickets: Mapping[str, int] | None = None,
) -> AuditReport:
    employees = entries = 0
    mismatches: list[AuditFinding] = []
    breaks: list[ChainBreak] = []
    for finding in findings:
        employees += 1
        entries += finding.entries
        breaks += finding.chain_breaks
        if not finding.reconciles:
            mismatches.append(finding)
    mismatches.sort(key=lambda f: (-abs(f.difference), f.employee_id))
    return AuditReport(
        audited_at=audited_at,
        employees_audited=employees,
        entries_checked=entries,
        mismatches=tuple(mismatches),
        chain_breaks=tuple(sorted(breaks, key=lambda b: (b.employee_id, b.seq or 0, b.problem.value))),
        unstable=tuple(sorted(unstable)),
        quarantine=quarantine,
        unmapped_tickets=None if unmapped_tickets is None else {s: n for s, n in sorted(unmapped_tickets.items()) if n},
    )


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f'{n} {word if n == 1 else (plural or word + "s")}'


def render_email(report: AuditReport, *, stage: str | None = None, max_rows: int = MAX_EMAILED_ROWS) -> EmailContent:
    """The admin digest as a plain-text e-mail. The subject says OK or how many balances mismatch."""
    when = report.audited_at.astimezone(UTC) if report.audited_at.tzinfo else report.audited_at.replace(tzinfo=UTC)
    problems = ([_plural(len(report.mismatches), 'mismatch', 'mismatches')] if report.mismatches else []) + (
        [_plural(len(report.broken_chains), 'broken chain')] if report.chain_breaks else [])
    verdict = ', '.join(problems) if problems else 'OK'
    where = f' ({stage})' if stage else ''
    subject = f'Pitcrew ledger audit{where} {when:%Y-%m-%d}: {verdict}'

    lines = [
        f'Pitcrew ledger audit{where}, {when:%Y-%m-%d %H:%M} UTC',
        '',
        f'Result: {verdict}',
        f'Employees audited: {report.employees_audited}',
        f'Ledger entries checked: {report.entries_checked}',
        '',
    ]
    if report.mismatches:
        lines += [
            'Balances that do not equal the sum of their ledger entries:',
            f'  {"employee":<20} {"balance":>10} {"entries sum":>12} {"difference":>11} {"entries":>8}',
        ]
        for f in report.mismatches[:max_rows]:
            lines.append(f'  {f.employee_id:<20} {f.balance:>10} {f.entries_sum:>12} {f.difference:>+11} {f.entries:>8}')
        if len(report.mismatches) > max_rows:
            lines.append(f'  ... and {len(report.mismatches) - max_rows} more (every mismatch is in the function log)')
        lines += [
            '',
            'The entries are the record; the balance is a running total kept beside them. Compare the',
            'balance item (BalancesTable, pk EMP#<employee>) with the entries (LedgerTable, pk EMP#<employee>)',
            'before correcting anything: an adjustment entry changes both, so it does not close a difference.',
            '',
        ]
    else:
        lines += ['Every audited balance equals the sum of its ledger entries.', '']
    if report.chain_breaks:
        lines += [
            'Ledger entries whose hash chain is broken (overwritten, deleted or inserted outside the ledger\'s writes):',
            f'  {"employee":<20} {"entry":<34} {"seq":>6} {"problem":<15} expected / found',
        ]
        for b in report.chain_breaks[:max_rows]:
            seq = '' if b.seq is None else str(b.seq)
            lines.append(f'  {b.employee_id:<20} {b.entry_id or "-":<34} {seq:>6} {b.problem.value:<15} {b.expected} / {b.found}')
        if len(report.chain_breaks) > max_rows:
            lines.append(f'  ... and {len(report.chain_breaks) - max_rows} more (every break is in the function log)')
        lines += [
            '',
            'Restore the named entries from point-in-time recovery (LedgerTable) and find who wrote them before',
            'trusting these employees\' points.',
            '',
        ]
    else:
        lines += ['Every audited ledger chain is intact.', '']
    if report.unstable:
        shown = ', '.join(report.unstable[:max_rows]) + (' ...' if len(report.unstable) > max_rows else '')
        lines += [f'Not checked, balance changed during every attempt ({len(report.unstable)}): {shown}',
                  'These are checked again on the next run.', '']
    if report.quarantine is not None:
        q = report.quarantine
        lines.append(f'Quarantined payloads still waiting, received {q.first_day} to {q.last_day} (UTC): {q.total_waiting}')
        if q.waiting:
            lines.append(f'  {"source":<12} {"reason":<40} {"count":>6}')
            lines += [f'  {c.source:<12} {c.reason_code:<40} {c.count:>6}' for c in q.waiting[:max_rows]]
        if q.replayed:
            lines.append(f'  ({_plural(q.replayed, "more item")} from those days already replayed)')
        if q.waiting:
            lines.append('  Look or replay: QuarantineReplayFunction with {"list_day": "YYYY-MM-DD"}.')
        lines.append('')
    if report.unmapped_tickets is not None:
        waiting = sum(report.unmapped_tickets.values())
        lines.append(f'Tickets waiting for a directory mapping: {waiting}')
        lines += [f'  {source:<12} {n:>6}' for source, n in report.unmapped_tickets.items()]
        if waiting:
            lines.append('  Add the agents to the HR export and run DirectoryImportFunction; their points follow.')
        lines.append('')
    return EmailContent(subject=subject, text='\n'.join(lines).rstrip() + '\n')
