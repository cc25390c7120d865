"""The rules of a dispute (pure): who may file one on which entry, who may decide it, and what a decision changes.

Filing is refused, with the reason, when the code names no entry of the filer's, when the entry is someone else's,
when the entry is already disputed, or when the comment is missing. Deciding is refused when the dispute is unknown or
already decided, or when the decider is not in scope: in scope are the employee's managers (the `manager_id` chain in
the directory, up to the top) and admins (IAM principals listed in ADMIN_PRINCIPALS). A console invocation is not an
identity: it may decide only as an admin would (whoever may invoke the function in the console is an admin by IAM),
and it is recorded as such, with its CloudTrail reference.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from datetime import datetime

from shared.disputes.model import MAX_COMMENT, Dispute, DisputeRefused, DisputeStatus, HistoryEvent, dispute_id_for, entry_code
from shared.ledger.approvals import Actor
from shared.ledger.entries import LedgerEntry

MAX_CHAIN = 10


def parse_command(body: str) -> tuple[str, str]:
    """`DISPUTE <entry code> <comment>` -> (code, comment); either may be empty when the person left it out."""
    parts = body.strip().split(maxsplit=2)
    code = parts[1] if len(parts) > 1 else ''
    comment = parts[2].strip() if len(parts) > 2 else ''
    return code, comment


def check_filing(filer_id: str, code: str, candidates: Sequence[LedgerEntry], existing: Dispute | None, comment: str) -> LedgerEntry:
    """The entry a filing disputes, or DisputeRefused. `candidates`: the filer's entries whose id starts with the code."""
    if len(code) < 8 or not code.isalnum():
        raise DisputeRefused('usage', 'send DISPUTE <entry code> <what is wrong>; the 8-character entry codes are on your statement')
    if not comment:
        raise DisputeRefused('no_comment', f'say what is wrong with entry {code.upper()} after its code', entry_code=code.upper())
    if not candidates:
        raise DisputeRefused('unknown_entry', f'no entry {code.upper()} among your points entries', entry_code=code.upper())
    if len(candidates) > 1:
        raise DisputeRefused('ambiguous', f'{code.upper()} matches {len(candidates)} of your entries: send more characters of the code',
                             entry_code=code.upper())  # fmt: skip
    [entry] = candidates
    if entry.employee_id != filer_id:
        raise DisputeRefused('not_yours', f'entry {entry_code(entry.entry_id)} is not one of your entries', entry_code=code.upper())
    if existing is not None:
        raise DisputeRefused('already_disputed', f'entry {existing.entry_code} is already disputed ({existing.dispute_id}, '
                             f'{existing.status.value})', entry_code=existing.entry_code, dispute=existing.dispute_id,
                             status=existing.status.value)  # fmt: skip
    return entry


def new_dispute(entry: LedgerEntry, comment: str, channel: str, now: datetime) -> Dispute:
    return Dispute(
        dispute_id=dispute_id_for(entry.entry_id),
        entry_id=entry.entry_id,
        entry_code=entry_code(entry.entry_id),
        employee_id=entry.employee_id,
        entry_amount=entry.amount,
        entry_rule=entry.reason.rule_id,
        comment=comment[:MAX_COMMENT],
        channel=channel,
        filed_at=now,
        history=(HistoryEvent(at=now, event='filed', by=entry.employee_id, note=comment[:MAX_COMMENT]),),
    )


def is_admin(actor: Actor, admin_principals: str) -> bool:
    patterns = [pattern.strip() for pattern in admin_principals.split(',') if pattern.strip()]
    return bool(actor.principal) and any(fnmatch.fnmatchcase(actor.principal or '', pattern) for pattern in patterns)


def check_decision(dispute: Dispute | None, dispute_id: str, actor: Actor, managers: Sequence[str], admin: bool) -> Dispute:
    """`managers`: the employee's manager chain (nearest first). Raises DisputeRefused; returns the open dispute."""
    if dispute is None:
        raise DisputeRefused('unknown', f'no dispute {dispute_id}')
    if dispute.status is not DisputeStatus.OPEN:
        raise DisputeRefused('decided', f'dispute {dispute_id} was already {dispute.status.value}'
                             + (f' by {dispute.decided_by.label}' if dispute.decided_by else ''))  # fmt: skip
    if actor.via == 'console' or admin:
        return dispute
    name = actor.name
    if name is None or name not in managers:
        raise DisputeRefused('out_of_scope', f'{actor.label} is not a manager of {dispute.employee_id} in the directory (managers: '
                             f'{", ".join(managers) or "none"}) nor an admin')  # fmt: skip
    if name == dispute.employee_id:
        raise DisputeRefused('own_dispute', 'nobody decides their own dispute')
    return dispute


def decided(dispute: Dispute, *, accept: bool, actor: Actor, reason: str, now: datetime, adjustment_id: str | None = None,
            points: int | None = None, adjustment_status: str | None = None) -> Dispute:  # fmt: skip
    status = DisputeStatus.ACCEPTED if accept else DisputeStatus.REJECTED
    note = reason if not accept else f'{points:+d} points ({adjustment_status}): {reason}'
    return dispute.model_copy(update={
        'status': status, 'decided_by': actor, 'decided_at': now, 'decision_reason': reason, 'adjustment_id': adjustment_id,
        'adjustment_points': points, 'adjustment_status': adjustment_status,
        'history': (*dispute.history, HistoryEvent(at=now, event=status.value, by=actor.label, note=note)),
    })  # fmt: skip
