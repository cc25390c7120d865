"""Maker-checker for adjustments (pure): who asked, who approved, and when an approval is refused.

An adjustment whose size exceeds the approval amount is not written to the ledger when it is made: it is kept as a
*requested* adjustment, and only a second, different person's approval writes its ledger entry (once). Who acts is
never taken from the payload: it is the caller's authenticated identity, an `Actor`:

- `via='iam'`: an IAM-authorized HTTP API route; the identity is `requestContext.authorizer.iam.userArn`, which API
  Gateway fills from the SigV4 signature it verified (payload format 2.0);
- `via='console'`: a Lambda console test invocation (or any direct Invoke). The event carries no identity; the
  invocation's `aws_request_id` is recorded, and CloudTrail's data event for that Invoke (its `requestID`) names
  the caller. A console invocation may *make* a request; an approval needs an authenticated (IAM) identity.

A payload's `requested_by` is kept as a claimed label only (`claimed`), never as the identity.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Scalar = str | int | float | bool | None

DEFAULT_APPROVAL_ABOVE = 500


class Actor(BaseModel):
    """Who made a call, as the platform authenticated it."""

    model_config = ConfigDict(frozen=True)

    via: Literal['iam', 'console']
    principal: str | None = None  # the IAM ARN (iam); None for a console invocation
    reference: str  # the HTTP API requestId (iam) or the Lambda aws_request_id: what CloudTrail and the logs are searched by
    invocation_id: str | None = None  # the Lambda aws_request_id of an API call too (CloudTrail shows apigateway invoked it)
    claimed: str | None = None  # free text from the payload (e.g. requested_by): a label, not an identity

    @property
    def authenticated(self) -> bool:
        return self.via == 'iam' and bool(self.principal)

    @property
    def name(self) -> str | None:
        """The IAM user name or role session name (the last part of the ARN): `user/maria` -> maria,
        `assumed-role/PitcrewManagers/M1` -> M1."""
        if not self.principal:
            return None
        return self.principal.rsplit('/', 1)[-1] or None

    @property
    def label(self) -> str:
        return self.principal if self.principal else f'console (CloudTrail requestID {self.reference})'

    def inputs(self, prefix: str) -> dict[str, Scalar]:
        """How this actor is recorded on a ledger entry's inputs."""
        values: dict[str, Scalar] = {f'{prefix}_via': self.via, f'{prefix}_reference': self.reference}
        if self.principal:
            values[f'{prefix}'] = self.principal
        if self.invocation_id and self.invocation_id != self.reference:
            values[f'{prefix}_invocation'] = self.invocation_id
        if self.claimed:
            values[f'{prefix}_claimed'] = self.claimed
        return values


def actor_from_event(event: dict[str, Any], aws_request_id: str, claimed: str | None = None) -> Actor:
    """The actor of a Lambda invocation: an HTTP API event with an IAM authorizer, else a console invocation.

    An HTTP API event without an IAM identity (a route left without `Auth: Authorizer: AWS_IAM`) is *not* trusted:
    it is recorded as unauthenticated (console-like, no principal), so it can never approve anything.
    """
    context = event.get('requestContext')
    if isinstance(context, dict) and isinstance(context.get('http'), dict):
        iam = (context.get('authorizer') or {}).get('iam') or {}
        arn = iam.get('userArn') if isinstance(iam, dict) else None
        reference = str(context.get('requestId') or aws_request_id)
        if isinstance(arn, str) and arn.startswith('arn:'):
            return Actor(via='iam', principal=arn, reference=reference, invocation_id=aws_request_id, claimed=claimed)
        return Actor(via='console', reference=aws_request_id, claimed=claimed)
    return Actor(via='console', reference=aws_request_id, claimed=claimed)


class RequestStatus(StrEnum):
    REQUESTED = 'requested'
    APPROVED = 'approved'
    REJECTED = 'rejected'


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: RequestStatus
    by: Actor
    at: datetime
    reason: str | None = None


class RequestedAdjustment(BaseModel):
    """An adjustment waiting for a second person (kept beside the balances, never in the ledger)."""

    model_config = ConfigDict(frozen=True)

    adjustment_id: str
    employee_id: str
    points: int
    reason: str
    ticket_key: str | None = None
    links: dict[str, Scalar] = Field(default_factory=dict)  # e.g. the dispute this adjustment settles
    maker: Actor
    requested_at: datetime
    status: RequestStatus = RequestStatus.REQUESTED
    decision: Decision | None = None


class Refused(Exception):
    """A decision that must not happen; nothing is written. `code` is stable for callers and tests."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def needs_approval(points: int, approval_above: int) -> bool:
    return abs(points) > approval_above


def same_person(maker: Actor, checker: Actor) -> bool:
    """The checker is the maker: the same IAM principal, or (a console maker, whose identity only CloudTrail knows)
    the same name as the maker's claimed label — the runtime can only catch the honest mistake; the audit can compare
    the CloudTrail identity of `maker_reference` with the approver afterwards."""
    if maker.principal and checker.principal:
        return _principal_key(maker.principal) == _principal_key(checker.principal)
    if maker.claimed and checker.name:
        return maker.claimed.strip().lower() in {checker.name.lower(), (checker.principal or '').lower()}
    return False


def _principal_key(arn: str) -> str:
    """An assumed role's ARN carries the session name: the same person in two sessions of one role keeps the same
    session name (SSO user, or an enforced sts:SourceIdentity/RoleSessionName), so compare the whole ARN, case-folded."""
    return arn.strip().lower()


def check_decision(request: RequestedAdjustment | None, adjustment_id: str, checker: Actor, approve: bool) -> None:
    """Raise Refused unless `checker` may approve (or reject) this request now."""
    if request is None:
        raise Refused('unknown', f'no requested adjustment {adjustment_id}')
    if request.status is not RequestStatus.REQUESTED:
        decided = request.decision
        who = f' by {decided.by.label}' if decided else ''
        raise Refused('decided', f'adjustment {adjustment_id} was already {request.status.value}{who}')
    if not checker.authenticated:
        raise Refused('unauthenticated', 'an approval or rejection needs an authenticated identity: use the IAM-authorized route '
                                         '(POST /admin/adjustments/{id}/approve), not a console invocation')  # fmt: skip
    if approve and same_person(request.maker, checker):
        raise Refused('own_request', f'{checker.label} made adjustment {adjustment_id} and cannot approve it: a second person must')
