"""Managers' spot awards (pure): the request, the award record, who may give and who may approve, budgets by month.

A manager gives one of their people points for a reason from the program (`SpotAwardConfig.reasons`), charged to the
manager's monthly budget in the program (`SpotAwardConfig.budget_for`; the month is the program's time zone's). Above
`approval_above` points the award is only *requested*: its points are reserved on the budget at once (two requests can
never overspend it together), and the maker's own manager or an admin approves it (maker-checker, with the identity
rules of `shared.ledger.approvals`: the checker is authenticated and is never the maker) or rejects it (the reservation
is released). A request nobody decided expires after `approval_expires_days` (released too).

Every refusal is a `SpotRefused` with a stable `code` and a reason that names what was wrong (the remaining budget when
it is the budget); nothing is written then. `spot_texts` says the same to people in their language.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.ledger.approvals import Actor, Scalar, same_person

SPOT_RULE_ID = 'spot_award'
MAX_MESSAGE = 500
MAX_CHAIN = 10
Via = Literal['console', 'http', 'whatsapp', 'sms', 'nudge']


class SpotStatus(StrEnum):
    AWARDED = 'awarded'  # written at once (at or below approval_above)
    REQUESTED = 'requested'  # waiting for the maker's manager or an admin; the points are reserved on the budget
    APPROVED = 'approved'  # written on approval
    REJECTED = 'rejected'  # the reservation released
    EXPIRED = 'expired'  # nobody decided in time: the reservation released


OPEN = frozenset({SpotStatus.REQUESTED})
WRITTEN = frozenset({SpotStatus.AWARDED, SpotStatus.APPROVED})


class SpotRequest(BaseModel):
    """What a manager asks for (the console event, the HTTP body, a nudge's YES or amount reply)."""

    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True, frozen=True)

    program_id: str = Field(min_length=1, max_length=64)
    manager_id: str = Field(min_length=1, max_length=64, description='the giver, whose budget pays')
    employee_id: str = Field(min_length=1, max_length=64, description='the receiver')
    points: int = Field(description='1..max_points of the program', ge=-10_000_000, le=10_000_000)
    reason_id: str = Field(min_length=1, max_length=64, description="one of the program's spot award reasons")
    message: str = Field(default='', max_length=MAX_MESSAGE)
    idempotency_key: str = Field(min_length=1, max_length=128, description='the same key again never awards twice')
    via: Via = 'console'
    source_ref: str | None = Field(default=None, max_length=200, description='what prompted it, e.g. the nudge id')


class SpotDecision(BaseModel):
    """An approval or a rejection of a requested award (the decider is the authenticated caller, never the payload)."""

    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True, frozen=True)

    award_id: str = Field(min_length=3, max_length=64)
    approve: bool
    reason: str | None = Field(default=None, max_length=1000)

    def model_post_init(self, context: object) -> None:
        if not self.approve and (self.reason is None or len(self.reason) < 5):
            raise ValueError('a rejection needs a reason (at least 5 characters)')


class SpotAward(BaseModel):
    """The SPOT#<award_id> record: an award, or an approval request and its outcome."""

    model_config = ConfigDict(frozen=True)

    award_id: str
    program_id: str
    program_ref: str  # program@version that priced it
    manager_id: str
    employee_id: str
    points: int
    reason_id: str
    reason_name: str
    message: str = ''
    month: str  # yyyy-mm in the program's zone: the budget it is charged to
    budget: int  # the manager's budget that month, when it was made
    status: SpotStatus
    via: Via = 'console'
    source_ref: str | None = None
    idempotency_key: str
    maker: Actor
    requested_at: datetime
    expires_at: datetime | None = None  # a request's deadline
    decided_at: datetime | None = None
    decided_by: Actor | None = None
    decision_reason: str | None = None
    entry_id: str | None = None
    # Where the award shows in the feed, once written (FEED#<program>#T#<team> and #L#<location>, sk <feed_at>#<id>).
    feed_team: str | None = None
    feed_location: str | None = None
    feed_at: datetime | None = None

    @property
    def feed_sk(self) -> str | None:
        """As the recognition feed's `feed_sk` (shared/recognition/feed.py on i14-recognition): ISO UTC with offset."""
        return f'{self.feed_at.astimezone(UTC).isoformat()}#{self.award_id}' if self.feed_at is not None else None

    @property
    def pending_sk(self) -> str:
        assert self.expires_at is not None
        return f'{iso(self.expires_at)}#{self.award_id}'


class SpotResult(BaseModel):
    """The answer of `SpotAwards.award` and `.decide` (and of the function, as JSON)."""

    model_config = ConfigDict(frozen=True)

    ok: bool = True
    status: SpotStatus
    award_id: str
    program_id: str
    manager_id: str
    employee_id: str
    points: int
    month: str
    budget: int
    used: int
    remaining: int
    entry_id: str | None = None
    duplicate: bool = False
    expires_at: datetime | None = None
    approver_hint: str | None = None

    def body(self) -> dict[str, object]:
        return self.model_dump(mode='json', exclude_none=True)


class SpotRefused(Exception):
    """A spot award or decision that must not happen; nothing is written. `code` is stable for callers and tests;
    `values` carries what the person is told (e.g. `remaining`)."""

    def __init__(self, code: str, reason: str, field: str | None = None, **values: Scalar) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field
        self.values: dict[str, Scalar] = dict(values)

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {'ok': False, 'refused': self.code, 'error': self.reason}
        if self.field:
            body['field'] = self.field
        return body | self.values


# --- ids and keys -----------------------------------------------------------------------------------------------
def award_id_for(program_id: str, manager_id: str, idempotency_key: str) -> str:
    """The award's id: the same manager's same key in a program is the same award (a retry never awards twice)."""
    return 'SP' + hashlib.sha256(f'{program_id}|{manager_id}|{idempotency_key}'.encode()).hexdigest()[:30]


def spot_entry_id(award_id: str) -> str:
    return 'S' + hashlib.sha256(f'spot|{award_id}'.encode()).hexdigest()[:32]


def iso(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo('UTC')).strftime('%Y-%m-%dT%H:%M:%SZ')


def month_of(at: datetime, time_zone: str) -> str:
    return at.astimezone(ZoneInfo(time_zone)).strftime('%Y-%m')


def local_day(at: datetime, time_zone: str) -> str:
    return at.astimezone(ZoneInfo(time_zone)).strftime('%Y-%m-%d')


def expires_at(requested_at: datetime, days: int) -> datetime:
    return requested_at + timedelta(days=days)


# --- who may -----------------------------------------------------------------------------------------------------
def is_admin(actor: Actor, admin_principals: str) -> bool:
    """An IAM principal listed (fnmatch patterns, comma-separated) in ADMIN_PRINCIPALS (as shared/disputes/workflow.py)."""
    patterns = [pattern.strip() for pattern in admin_principals.split(',') if pattern.strip()]
    return bool(actor.principal) and any(fnmatch.fnmatchcase(actor.principal or '', pattern) for pattern in patterns)


def check_caller(request: SpotRequest, actor: Actor, *, admin: bool) -> None:
    """The caller speaks for `manager_id`: an IAM caller is that manager (by the ARN's last part) or an admin; a console
    invocation or a channel that authenticated the manager itself names the manager. Checked first: someone else's
    session learns nothing of the manager's awards or people."""
    if actor.via == 'iam' and not admin and actor.name != request.manager_id:
        raise SpotRefused('not_the_giver', f'{actor.label} is not manager {request.manager_id} nor an admin', field='manager_id')


def check_giver(request: SpotRequest, actor: Actor, *, admin: bool, managers_of_receiver: Sequence[str]) -> None:
    """The caller speaks for `manager_id` (`check_caller`), and the manager manages the receiver (is in the receiver's
    manager chain), unless an admin gives it."""
    check_caller(request, actor, admin=admin)
    if request.employee_id == request.manager_id:
        raise SpotRefused('self', 'nobody gives themselves a spot award', field='employee_id')
    if not admin and request.manager_id not in managers_of_receiver:
        raise SpotRefused('not_your_report', f'{request.employee_id} does not report to {request.manager_id} '
                          f'(managers: {", ".join(managers_of_receiver) or "none"})', field='employee_id')  # fmt: skip


def check_points(points: int, max_points: int) -> None:
    if points < 1:
        raise SpotRefused('points', 'a spot award is at least 1 point', field='points', max_points=max_points)
    if points > max_points:
        raise SpotRefused('points', f'at most {max_points} points in one spot award', field='points', max_points=max_points)


def check_budget(points: int, budget: int, used: int, month: str) -> None:
    remaining = max(budget - used, 0)
    if points > remaining:
        raise SpotRefused('over_budget', f'{points} points is over the budget: {remaining} of {budget} points left for {month}',
                          field='points', remaining=remaining, budget=budget, month=month)  # fmt: skip


def check_decision(award: SpotAward | None, award_id: str, checker: Actor, *, approve: bool, admin: bool,
                   managers_of_maker: Sequence[str], now: datetime) -> SpotAward:  # fmt: skip
    """Raise SpotRefused unless `checker` may approve (or reject) this request now; return the open request."""
    if award is None:
        raise SpotRefused('unknown', f'no spot award request {award_id}', field='award_id')
    if award.status is not SpotStatus.REQUESTED:
        who = f' by {award.decided_by.label}' if award.decided_by else ''
        raise SpotRefused('decided', f'spot award {award_id} was already {award.status.value}{who}', field='award_id',
                          status=award.status.value)  # fmt: skip
    if award.expires_at is not None and now >= award.expires_at:
        raise SpotRefused('expired', f'spot award request {award_id} expired at {iso(award.expires_at)}', field='award_id')
    if not checker.authenticated:
        raise SpotRefused('unauthenticated', 'an approval or rejection needs an authenticated identity: use the IAM-authorized route '
                          f'(POST /admin/spot-awards/{award_id}/approve), not a console invocation')  # fmt: skip
    if checker.name == award.employee_id:
        raise SpotRefused('own_award', f'{checker.label} receives spot award {award_id} and cannot decide it')
    if checker.name == award.manager_id or same_person(award.maker, checker):
        raise SpotRefused('own_request', f'{checker.label} asked for spot award {award_id} and cannot decide it: their manager '
                          'or an admin does')  # fmt: skip
    if not admin and checker.name not in managers_of_maker:
        raise SpotRefused('not_approver', f'{checker.label} is not a manager of {award.manager_id} (managers: '
                          f'{", ".join(managers_of_maker) or "none"}) nor an admin')  # fmt: skip
    return award


def decided(award: SpotAward, status: SpotStatus, by: Actor | None, reason: str | None, now: datetime) -> SpotAward:
    entry = spot_entry_id(award.award_id) if status in WRITTEN else None
    return award.model_copy(update={'status': status, 'decided_at': now, 'decided_by': by, 'decision_reason': reason, 'entry_id': entry})
