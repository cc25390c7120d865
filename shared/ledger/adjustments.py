"""Admin adjustments: a manager's or admin's correction, written as its own ledger entry.

Corrections never edit or delete an entry: a credit or a debit is appended with who asked, why and
under which request id; the same request id applied twice writes once; a debit never takes a
balance below zero.

Maker-checker: an adjustment of more than the approval amount (`ADJUSTMENT_APPROVAL_ABOVE` points, either sign) is
only *requested* (shared/ledger/approvals.py); a second, authenticated person's approval writes its entry, once. The
entry's inputs name the maker and the approver as the platform authenticated them (an IAM ARN, or a console
invocation's CloudTrail request id), never the payload's `requested_by`, which is kept as a claimed label.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.directory.store import DirectoryStore
from shared.errors import InvalidPayload
from shared.ledger.approval_store import ApprovalStore
from shared.ledger.approvals import Actor, Decision, Refused, RequestedAdjustment, RequestStatus, Scalar, check_decision, needs_approval
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import InsufficientBalance, LedgerStore


class AdjustmentRequest(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    adjustment_id: str = Field(min_length=3, max_length=128, description='Unique per request; a retry reuses it')
    employee_id: str = Field(min_length=1, max_length=64)
    points: int = Field(description='Positive to credit, negative to debit', ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=5, max_length=1000)
    requested_by: str | None = Field(default=None, min_length=1, max_length=256,
                                     description='A claimed label only: the identity is the authenticated caller')  # fmt: skip
    ticket_key: str | None = Field(default=None, max_length=300, description='The ticket this corrects, if any')


class AdjustmentDecision(BaseModel):
    """An approval or rejection of a requested adjustment (the decider is the authenticated caller)."""

    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    adjustment_id: str = Field(min_length=3, max_length=128)
    approve: bool
    reason: str | None = Field(default=None, max_length=1000)

    def model_post_init(self, context: object) -> None:
        if not self.approve and (self.reason is None or len(self.reason) < 5):
            raise ValueError('a rejection needs a reason (at least 5 characters)')


def adjustment_entry_id(adjustment_id: str) -> str:
    return 'A' + hashlib.sha256(f'adjustment|{adjustment_id}'.encode()).hexdigest()[:32]


def _entry(request: RequestedAdjustment, *, active: bool, approver: Actor | None, now: datetime) -> LedgerEntry:
    inputs: dict[str, Scalar] = {'employee_active': active, **request.maker.inputs('maker'), **request.links}
    if request.maker.claimed:
        inputs['requested_by'] = request.maker.claimed  # the claimed label, as before (not the identity)
    if approver is not None:
        inputs |= approver.inputs('approver') | {'approval_requested_at': request.requested_at.isoformat()}
    return LedgerEntry(
        entry_id=adjustment_entry_id(request.adjustment_id),
        employee_id=request.employee_id,
        amount=request.points,
        kind=EntryKind.ADJUSTMENT,
        status=EntryStatus.AVAILABLE,
        reason=EntryReason(
            ticket_key=request.ticket_key or '-',
            source_event_id=f'adjustment:{request.adjustment_id}',
            basis_event_id=f'adjustment:{request.adjustment_id}',
            rule_id='admin_adjustment',
            rule_version=1,
            program_id='admin',
            inputs=inputs,
            note=request.reason,
        ),
        occurred_at=now,
        recorded_at=now,
    )


def submit_adjustment(
    request: AdjustmentRequest,
    *,
    maker: Actor,
    ledger: LedgerStore,
    directory: DirectoryStore,
    approvals: ApprovalStore,
    approval_above: int,
    now: datetime,
    links: dict[str, Scalar] | None = None,
) -> dict[str, object]:
    """Apply a small adjustment at once; record a large one as requested, for a second person to approve."""
    if request.points == 0:
        raise InvalidPayload('an adjustment of 0 points changes nothing', field='points')
    profile = directory.profile_of(request.employee_id)
    if profile is None:
        raise InvalidPayload(f'no employee {request.employee_id} in the directory', field='employee_id')
    if request.requested_by and not maker.claimed:
        maker = maker.model_copy(update={'claimed': request.requested_by})
    pending = RequestedAdjustment(adjustment_id=request.adjustment_id, employee_id=request.employee_id, points=request.points,
                                  reason=request.reason, ticket_key=request.ticket_key, links=dict(links or {}), maker=maker,
                                  requested_at=now)  # fmt: skip
    if needs_approval(request.points, approval_above):
        if approvals.put_new(pending):
            return {'ok': True, 'status': RequestStatus.REQUESTED.value, 'adjustment_id': request.adjustment_id, 'applied': False,
                    'approval_above': approval_above, 'maker': maker.label,
                    'next': f'a second person approves it: POST /admin/adjustments/{request.adjustment_id}/approve'}  # fmt: skip
        existing = approvals.get(request.adjustment_id)
        status = existing.status.value if existing else 'requested'
        return {'ok': True, 'status': status, 'adjustment_id': request.adjustment_id, 'applied': False, 'duplicate': True}
    entry = _entry(pending, active=bool(profile.active), approver=None, now=now)
    try:
        written = ledger.append_adjustment(entry)
    except InsufficientBalance as short:
        raise InvalidPayload(f'debit of {-request.points} exceeds the {short.available} points available', field='points') from short
    balance = ledger.balance(request.employee_id)
    return {'ok': True, 'status': 'applied', 'entry_id': entry.entry_id, 'applied': written, 'duplicate': not written,
            'available': balance.available}  # fmt: skip


def decide_adjustment(
    decision: AdjustmentDecision,
    *,
    checker: Actor,
    ledger: LedgerStore,
    directory: DirectoryStore,
    approvals: ApprovalStore,
    now: datetime,
) -> dict[str, object]:
    """Approve (write the entry, once, with the request's status change in one transaction) or reject with a reason.
    Raises Refused (nothing written) for an unknown or decided request, an unauthenticated caller or the maker approving."""
    request = approvals.get(decision.adjustment_id)
    check_decision(request, decision.adjustment_id, checker, decision.approve)
    assert request is not None
    status = RequestStatus.APPROVED if decision.approve else RequestStatus.REJECTED
    record = Decision(status=status, by=checker, at=now, reason=decision.reason)
    if not decision.approve:
        if not approvals.reject(request, record):
            raise Refused('decided', f'adjustment {decision.adjustment_id} was decided meanwhile')
        return {'ok': True, 'status': status.value, 'adjustment_id': request.adjustment_id, 'applied': False, 'reason': decision.reason}
    profile = directory.profile_of(request.employee_id)
    entry = _entry(request, active=bool(profile and profile.active), approver=checker, now=now)
    try:
        outcome = ledger.append_adjustment_guarded(entry, approvals.decision_update(request, record))
    except InsufficientBalance as short:
        raise Refused('insufficient', f'debit of {-request.points} exceeds the {short.available} points available now') from short
    if outcome == 'refused':
        raise Refused('decided', f'adjustment {decision.adjustment_id} was decided meanwhile')
    if outcome == 'duplicate':  # cannot happen unless the id was applied outside the request: say so, write nothing
        raise Refused('decided', f'adjustment {decision.adjustment_id} already has its ledger entry')
    balance = ledger.balance(request.employee_id)
    return {'ok': True, 'status': status.value, 'adjustment_id': request.adjustment_id, 'entry_id': entry.entry_id, 'applied': True,
            'available': balance.available}  # fmt: skip


def apply_adjustment(request: AdjustmentRequest, *, ledger: LedgerStore, directory: DirectoryStore, now: datetime) -> dict[str, object]:
    """A small adjustment from a console invocation without a reference (kept for callers that predate approvals)."""
    maker = Actor(via='console', reference=f'adjustment:{request.adjustment_id}', claimed=request.requested_by)
    return submit_adjustment(request, maker=maker, ledger=ledger, directory=directory, approvals=ApprovalStore(),
                             approval_above=1_000_000, now=now)  # fmt: skip
