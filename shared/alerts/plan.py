"""When a ticket or job card deserves an alert: its alert checkpoints, derived from its SLA clocks (pure).

A checkpoint is (ticket, kind, metric, threshold) at an instant: the moment a running target has used a
configured share of its time (counted on the target's own clock, business or calendar), the breach
itself, each escalation level after it, a job card past its promised time, and a job card waiting for
the customer's approval too long. Checkpoints are re-derived after every event from the clocks, so a
resolve, a pause or a completed target leaves none (its pending alerts are cancelled), and a priority
change or a reassignment moves them. The checkpoint's key is what makes an alert go out once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Kind, Status
from shared.sla.calendar import BusinessCalendar
from shared.sla.clock import WALL_CLOCK, Checkpoint, Clock, ClockState, SlaReport, TargetClock
from shared.tickets.state import TicketState


class AlertKind(StrEnum):
    SLA_RISK = 'sla_risk'
    SLA_BREACH = 'sla_breach'
    PROMISE_MISSED = 'promise_missed'
    APPROVAL_WAITING = 'approval_waiting'
    REPEAT_VISIT = 'repeat_visit'  # the DMS says this job card repeats an earlier one on the same vehicle
    UPSELL_FLAGGED = 'upsell_flagged'  # an upsell opportunity flagged at the service bay, not yet accepted
    DAILY_REMINDER = 'daily_reminder'
    # Disputes (shared/disputes): a new dispute for the employee's manager, and its outcome for the employee.
    DISPUTE_FILED = 'dispute_filed'
    DISPUTE_ACCEPTED = 'dispute_accepted'
    DISPUTE_REJECTED = 'dispute_rejected'
    # Leagues (shared/leagues): a level reached and a badge earned, written once by the league scorer.
    LEVEL_UP = 'level_up'
    BADGE_EARNED = 'badge_earned'
    # The close's announcement to a prize, trophy or challenge winner (shared/leagues/announce.py): the result line is
    # composed in the person's language when the league closes and travels as the threshold.
    LEAGUE_RESULT = 'league_result'
    # Recognition (shared/recognition): thanks or a spot award received; a collusion flag for the manager in scope; a spot
    # award waiting for the approver (and its daily reminder), and its outcome for the maker; a nudge suggesting an award.
    RECOGNITION_RECEIVED = 'recognition_received'
    SPOT_AWARD_RECEIVED = 'spot_award_received'
    COLLUSION_FLAG = 'collusion_flag'
    SPOT_APPROVAL_WAITING = 'spot_approval_waiting'
    SPOT_AWARD_DECIDED = 'spot_award_decided'
    NUDGE = 'nudge'
    # Wallet (shared/wallet): a redemption fulfilled, failed and refunded, or waiting in the budget queue.
    REDEMPTION_UPDATE = 'redemption_update'


class Recipient(StrEnum):
    ASSIGNEE = 'assignee'
    MANAGER = 'manager'


class Escalation(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    after_minutes: float = Field(ge=0, description='after the breach, on the target clock')
    notify: list[Recipient] = Field(default_factory=lambda: [Recipient.ASSIGNEE, Recipient.MANAGER])
    shift_hours_only: bool = Field(default=False, description="held until the recipient's working hours, not only quiet hours")


class AlertRules(BaseModel):
    """Per program: the shares of a target that warn the assignee, and the escalations after a breach
    (Freshdesk allows up to four levels for resolution)."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    risk_shares: list[float] = Field(default_factory=lambda: [0.75], description='e.g. 0.75 = 75% of the target used')
    escalations: list[Escalation] = Field(default_factory=lambda: [Escalation(after_minutes=0)], max_length=4)
    approval_wait_minutes: float = Field(default=120, gt=0, description='a job card awaiting approval longer than this')

    def model_post_init(self, context: object) -> None:
        if any(not 0 < share < 1 for share in self.risk_shares):
            raise ValueError('risk_shares: each share must be between 0 and 1 (exclusive)')


@dataclass(frozen=True)
class AlertCheckpoint:
    ticket_key: str
    kind: AlertKind
    metric: str  # the SLA metric, or 'promise' / 'approval'
    threshold: str  # '75%', 'level-1', ...
    due_at: datetime
    notify: tuple[Recipient, ...]
    shift_only: bool = False
    target_due_at: datetime | None = None  # an SLA checkpoint: when the target itself is due (what its message names)

    @property
    def key(self) -> str:
        """(item, alert kind, threshold): an alert goes out once per key, however often it is planned."""
        return f'{self.ticket_key}|{self.kind.value}|{self.metric}|{self.threshold}'


def _share_instant(clock: TargetClock, share: float, on: Clock) -> datetime | None:
    if clock.running_since is None:
        return None
    wanted = share * clock.target_minutes * 60 - clock.elapsed_s
    return on.add(clock.running_since, wanted) if wanted > 0 else clock.running_since


def plan(
    state: TicketState, points: Sequence[Checkpoint], sla: SlaReport | None, calendar: BusinessCalendar, rules: AlertRules
) -> list[AlertCheckpoint]:
    """Every alert checkpoint the ticket has now, in time order (past ones included: the sender decides
    whether a late checkpoint still goes out). Trainings, QA reviews and safety reports have none."""
    if state.is_resolved or state.kind.is_about_a_person:
        return []
    found: list[AlertCheckpoint] = []
    for clock in sla.clocks.values() if sla is not None else ():
        if clock.state is not ClockState.RUNNING or clock.due_at is None:
            continue  # paused or complete: nothing pending
        on: Clock = calendar if clock.business_hours else WALL_CLOCK
        metric = clock.metric.value
        for share in rules.risk_shares:
            at = _share_instant(clock, share, on)
            if at is not None:
                found.append(AlertCheckpoint(state.ticket_key, AlertKind.SLA_RISK, metric, f'{share:.0%}', at, (Recipient.ASSIGNEE,),
                                             target_due_at=clock.due_at))  # fmt: skip
        for level, escalation in enumerate(rules.escalations, start=1):
            at = on.add(clock.due_at, escalation.after_minutes * 60)
            found.append(
                AlertCheckpoint(
                    state.ticket_key,
                    AlertKind.SLA_BREACH,
                    metric,
                    f'level-{level}',
                    at,
                    tuple(escalation.notify),
                    escalation.shift_hours_only,
                    clock.due_at,
                )
            )
    if state.kind is Kind.JOB_CARD:
        if state.promised_at is not None:
            found.append(
                AlertCheckpoint(
                    state.ticket_key,
                    AlertKind.PROMISE_MISSED,
                    'promise',
                    'promised',
                    state.promised_at,
                    (Recipient.ASSIGNEE, Recipient.MANAGER),
                )
            )
        waiting_since = _pending_since(points)
        if waiting_since is not None:
            at = calendar.add(waiting_since, rules.approval_wait_minutes * 60)
            found.append(
                AlertCheckpoint(
                    state.ticket_key,
                    AlertKind.APPROVAL_WAITING,
                    'approval',
                    f'{rules.approval_wait_minutes:g}m@{waiting_since:%Y%m%dT%H%M}',
                    at,
                    (Recipient.ASSIGNEE,),
                )
            )
        flagged_at = state.last_event_at or state.created_at
        if state.repeat_of is not None and state.created_at is not None:
            found.append(
                AlertCheckpoint(
                    state.ticket_key,
                    AlertKind.REPEAT_VISIT,
                    'vehicle',
                    state.repeat_of,
                    state.created_at,
                    (Recipient.ASSIGNEE, Recipient.MANAGER),
                )
            )
        for line in state.upsell_lines:
            if not line.accepted and flagged_at is not None:
                found.append(
                    AlertCheckpoint(state.ticket_key, AlertKind.UPSELL_FLAGGED, 'upsell', line.line_id, flagged_at, (Recipient.ASSIGNEE,))
                )
    return sorted(found, key=lambda checkpoint: (checkpoint.due_at, checkpoint.key))


def _pending_since(points: Sequence[Checkpoint]) -> datetime | None:
    """When the card last went into pending (awaiting the customer's approval), if it still is."""
    since: datetime | None = None
    for point in points:
        since = (since or point.at) if point.status is Status.PENDING else None
    return since


class PlannedAlert(BaseModel):
    """One checkpoint as the ticket item carries it (the alert planner turns these into pending alerts)."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: AlertKind
    metric: str
    threshold: str
    due_at: datetime
    notify: tuple[Recipient, ...]
    shift_only: bool = False
    target_due_at: datetime | None = None


class TicketAlerts(BaseModel):
    """What the alerting side needs to know about a ticket, carried on the ticket item as `alerts` (JSON):
    who owns it, whether it is still open (the owner's worklist), its SLA breaches so far (yesterday's breaches in
    the daily reminder) and its alert checkpoints. The tickets table's stream carries it before and after."""

    model_config = ConfigDict(frozen=True)

    ticket_key: str
    kind: Kind
    ref: str  # the helpdesk's or DMS's own id, as people know the ticket
    owner: str | None = None  # employee id of the primary assignee, when the directory knows them
    location_id: str | None = None
    open: bool = True
    status: str | None = None
    priority: str | None = None
    promised_at: datetime | None = None
    approval_since: datetime | None = None
    sla_due_at: datetime | None = None
    breaches: tuple[str, ...] = ()  # 'metric@2026-11-23T15:00:00Z'
    planned: tuple[PlannedAlert, ...] = ()

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def from_json(cls, text: str | None) -> TicketAlerts | None:
        return cls.model_validate_json(text) if text else None


def ticket_alerts(
    state: TicketState,
    points: Sequence[Checkpoint],
    sla: SlaReport | None,
    calendar: BusinessCalendar,
    rules: AlertRules,
    owner: str | None,
    location_id: str | None,
) -> TicketAlerts:
    planned = tuple(
        PlannedAlert(
            key=checkpoint.key,
            kind=checkpoint.kind,
            metric=checkpoint.metric,
            threshold=checkpoint.threshold,
            due_at=checkpoint.due_at,
            notify=checkpoint.notify,
            shift_only=checkpoint.shift_only,
            target_due_at=checkpoint.target_due_at,
        )
        for checkpoint in plan(state, points, sla, calendar, rules)
    )
    breaches = tuple(
        sorted(
            f'{clock.metric.value}@{clock.breached_at:%Y-%m-%dT%H:%M:%SZ}'
            for clock in (sla.clocks.values() if sla is not None else ())
            if clock.breached_at is not None
        )
    )
    return TicketAlerts(
        ticket_key=state.ticket_key,
        kind=state.kind,
        ref=state.external_id,
        owner=owner,
        location_id=location_id,
        open=not state.is_resolved and not state.kind.is_about_a_person,  # a training or a QA review is no worklist item
        status=state.status.value if state.status else None,
        priority=state.priority.value if state.priority else None,
        promised_at=state.promised_at,
        approval_since=_pending_since(points) if state.kind is Kind.JOB_CARD else None,
        sla_due_at=sla.next_due_at if sla is not None else None,
        breaches=breaches,
        planned=planned,
    )
