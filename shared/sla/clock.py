"""SLA clocks of one ticket or job card: due times while a target runs, met/breached when it completes.

Pure: the input is the ticket's events (any order, duplicates allowed), its folded state, the policy
that matched and the location's calendar. The clocks are re-derived from the whole timeline after
every event, so a priority change (targets are recalculated from the start, as Zendesk does), a pause
or resume, a reopen or a late event always gives the due times the full history implies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from shared.events import Kind, Priority, Status, TicketEvent
from shared.sla.calendar import BusinessCalendar
from shared.sla.policy import Metric, SlaPolicy, Target
from shared.tickets.state import TicketState

_AWAITING_CUSTOMER = (Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED)


class Clock(Protocol):
    def elapsed(self, start: datetime, end: datetime) -> float: ...
    def add(self, start: datetime, seconds: float) -> datetime: ...


class WallClock:
    """Calendar time: every second counts."""

    def elapsed(self, start: datetime, end: datetime) -> float:
        return max((end - start).total_seconds(), 0.0)

    def add(self, start: datetime, seconds: float) -> datetime:
        return start + timedelta(seconds=max(seconds, 0.0))


WALL_CLOCK = WallClock()


class ClockState(StrEnum):
    RUNNING = 'running'
    PAUSED = 'paused'
    MET = 'met'
    BREACHED = 'breached'


class TargetClock(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: Metric
    target_minutes: float
    business_hours: bool
    state: ClockState
    started_at: datetime
    due_at: datetime | None = None  # while running: when the target will be missed
    completed_at: datetime | None = None
    breached_at: datetime | None = None  # the instant the target was exceeded, once it has been
    elapsed_s: float = 0.0  # counted on the target's clock (business or calendar, pauses excluded)
    running_since: datetime | None = None  # while running: the start of the current stretch (elapsed_s is before it)
    cycles_met: int = 0  # next_response: each customer turn is a cycle
    cycles_breached: int = 0

    @property
    def is_complete(self) -> bool:
        return self.state in (ClockState.MET, ClockState.BREACHED)


class SlaReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    policy_id: str
    policy_version: int
    calendar_id: str
    priority: Priority
    clocks: dict[Metric, TargetClock]

    def summary(self) -> str:
        """One compact, readable line for the ticket item (an admin browsing the table sees each target):
        'standard@1 high 24x7 | first_response met 45/60m | resolution running due 2026-10-06T17:00Z 120/480m bus'."""
        parts = [f'{self.policy_id}@{self.policy_version} {self.priority.value} {self.calendar_id}']
        for metric, clock in self.clocks.items():
            text = f'{metric.value} {clock.state.value}'
            if clock.due_at is not None:
                text += f' due {clock.due_at:%Y-%m-%dT%H:%MZ}'
            text += f' {clock.elapsed_s / 60:.0f}/{clock.target_minutes:g}m{" bus" if clock.business_hours else ""}'
            if metric is Metric.NEXT_RESPONSE and (clock.cycles_met or clock.cycles_breached):
                text += f' cycles {clock.cycles_met} met {clock.cycles_breached} breached'
            parts.append(text)
        return ' | '.join(parts)

    @property
    def next_due_at(self) -> datetime | None:
        dues = [clock.due_at for clock in self.clocks.values() if clock.state is ClockState.RUNNING and clock.due_at]
        return min(dues) if dues else None


@dataclass(frozen=True)
class Checkpoint:
    """The ticket as it stood after one event."""

    at: datetime
    event_id: str
    status: Status
    priority: Priority
    replies: int
    resolved_at: datetime | None = None  # the solve time the sender reported with this event, if any


def checkpoints(events: Iterable[TicketEvent], before: Sequence[Checkpoint] = ()) -> list[Checkpoint]:
    """The ticket after each non-survey event, in order; `before`: the checkpoints of earlier events the ticket
    keeps only as checkpoints (its compacted history), continued by these events."""
    unique = {event.event_id: event for event in events if event.kind is not Kind.SURVEY}
    status, priority, replies = Status.OPEN, Priority.NORMAL, 0
    if before:
        status, priority, replies = before[-1].status, before[-1].priority, before[-1].replies
    points = list(before)
    for event in sorted(unique.values(), key=lambda e: (e.occurred_at, e.event_id)):
        status = event.status or status
        priority = event.priority or priority
        replies = max(replies, event.reply_count or 0)
        points.append(Checkpoint(event.occurred_at, event.event_id, status, priority, replies, event.resolved_at))
    return points


Segment = tuple[datetime, datetime | None, Status]


def _segments(state: TicketState, points: Sequence[Checkpoint]) -> list[Segment]:
    """Status over time, from creation; the last segment is open-ended."""
    start = state.created_at or points[0].at
    segments: list[Segment] = []
    status, since = Status.OPEN, start
    for point in points:
        at = point.at
        if point.status != status and point.status.is_resolved:
            # A solve is dated by the sender's own solve time when it reported one (with this event, or
            # on a later event for the final solve), not by when the event happened to be sent.
            if point.resolved_at is not None:
                at = point.resolved_at
            elif point.event_id == state.resolved_by_event and state.resolved_at is not None:
                at = state.resolved_at
        at = max(at, since)
        if point.status != status:
            segments.append((since, at, status))
            status, since = point.status, at
    segments.append((since, None, status))
    return [(a, b, s) for a, b, s in segments if b is None or b > a]


def _run(
    intervals: Sequence[tuple[datetime, datetime | None]], target_s: float, clock: Clock
) -> tuple[float, datetime | None, datetime | None]:
    """Consumed time, due instant (if the last interval is still running) and breach instant."""
    consumed, breached_at, due_at = 0.0, None, None
    for start, end in intervals:
        if end is None:
            due_at = clock.add(start, target_s - consumed) if consumed <= target_s else breached_at
            break
        part = clock.elapsed(start, end)
        if breached_at is None and consumed + part > target_s:
            breached_at = clock.add(start, target_s - consumed)
        consumed += part
    return consumed, due_at, breached_at


def _clip(
    segments: Sequence[Segment], start: datetime, end: datetime | None, running: set[Status] | None
) -> list[tuple[datetime, datetime | None]]:
    """The parts of [start, end) spent in a running status (all of it when `running` is None)."""
    if running is None:
        return [(start, end)]
    out: list[tuple[datetime, datetime | None]] = []
    for seg_start, seg_end, status in segments:
        if status not in running:
            continue
        lo = max(seg_start, start)
        hi: datetime | None
        if seg_end is None:
            hi = end
        elif end is None:
            hi = seg_end
        else:
            hi = min(seg_end, end)
        if hi is None or hi > lo:
            out.append((lo, hi))
    return out


def _clock_for(
    metric: Metric,
    target: Target,
    started: datetime,
    intervals: list[tuple[datetime, datetime | None]],
    completed_at: datetime | None,
    clock: Clock,
) -> TargetClock:
    target_s = target.minutes * 60
    consumed, due_at, breached_at = _run(intervals, target_s, clock)
    running = bool(intervals) and intervals[-1][1] is None
    if completed_at is not None:
        state = ClockState.MET if consumed <= target_s else ClockState.BREACHED
        due_at = None
    elif running:
        state = ClockState.RUNNING  # due_at may already be in the past: it is then the breach time
    else:
        state, due_at = ClockState.PAUSED, None
    return TargetClock(
        metric=metric,
        target_minutes=target.minutes,
        business_hours=target.business_hours,
        state=state,
        started_at=started,
        due_at=due_at,
        completed_at=completed_at,
        breached_at=breached_at,
        running_since=intervals[-1][0] if running and completed_at is None else None,
        elapsed_s=round(consumed, 3),
    )


def evaluate(
    state: TicketState,
    events: Iterable[TicketEvent],
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    points: Sequence[Checkpoint] | None = None,
) -> SlaReport:
    """Every target of the policy for this ticket, as of its latest event (`points`: its checkpoints, when the
    caller already has them)."""
    points = checkpoints(events) if points is None else points
    priority = points[-1].priority if points else (state.priority or Priority.NORMAL)
    clocks: dict[Metric, TargetClock] = {}
    if not points:
        return SlaReport(
            policy_id=policy.policy_id, policy_version=policy.version, calendar_id=calendar.calendar_id, priority=priority, clocks=clocks
        )
    segments = _segments(state, points)
    created = segments[0][0] if segments else (state.created_at or points[0].at)
    resolved = {Status.SOLVED, Status.CLOSED}
    all_statuses = set(Status)
    for metric, per_priority in policy.targets.items():
        target = per_priority.get(priority)
        if target is None:
            continue
        clock: Clock = calendar if target.business_hours else WALL_CLOCK
        pausable = metric in policy.paused_metrics
        running = all_statuses - (set(policy.pause_statuses) if pausable else set())
        if metric is Metric.FIRST_RESPONSE:
            done = state.first_response_at
            intervals = _clip(segments, created, done, running - resolved if pausable else None)
            if done is None and segments[-1][2] in resolved:
                continue  # solved without a reply (self-service, merged, spam): no first-response outcome
            clocks[metric] = _clock_for(metric, target, created, intervals, done, clock)
        elif metric in (Metric.RESOLUTION, Metric.TURNAROUND):
            if (metric is Metric.TURNAROUND) != (state.kind is Kind.JOB_CARD):
                continue
            done = state.resolved_at if state.is_resolved else None
            intervals = _clip(segments, created, done, running - resolved)
            clocks[metric] = _clock_for(metric, target, created, intervals, done, clock)
        elif metric is Metric.NEXT_RESPONSE:
            cycles = reply_cycles(points, created, state.first_response_at)[1:]
            cycle = _next_response(metric, target, cycles, segments, running, clock)
            if cycle is not None:
                clocks[metric] = cycle
    return SlaReport(
        policy_id=policy.policy_id, policy_version=policy.version, calendar_id=calendar.calendar_id, priority=priority, clocks=clocks
    )


def reply_cycles(
    points: Sequence[Checkpoint], created: datetime, first_response_at: datetime | None
) -> list[tuple[datetime, datetime | None]]:
    """Every wait for an agent reply: creation to the first reply, then each customer turn after it
    (the ticket goes back to open from pending, on-hold or solved) to the next reply. A turn that ends
    in a solve without a reply is not a wait for a reply. The last wait may still be open (end None)."""
    cycles: list[tuple[datetime, datetime | None]] = [(created, first_response_at)]
    if first_response_at is None:
        return cycles
    waiting_since: datetime | None = None
    replies_then = 0
    previous: Checkpoint | None = None
    for point in points:
        if waiting_since is not None:
            if point.replies > replies_then:
                cycles.append((waiting_since, point.at))
                waiting_since = None
            elif point.status.is_resolved:
                waiting_since = None
        if (
            waiting_since is None
            and previous is not None
            and point.at > first_response_at
            and previous.status in _AWAITING_CUSTOMER
            and point.status in (Status.OPEN, Status.NEW)
            and point.replies == previous.replies
        ):
            waiting_since, replies_then = point.at, point.replies
        previous = point
    if waiting_since is not None:
        cycles.append((waiting_since, None))
    return cycles


def _next_response(
    metric: Metric,
    target: Target,
    cycles: Sequence[tuple[datetime, datetime | None]],
    segments: Sequence[Segment],
    running: set[Status],
    clock: Clock,
) -> TargetClock | None:
    """Each customer turn after the first reply is a cycle; the clock shown is the open cycle (else
    the last one), with the counts of cycles met and breached."""
    met = breached = 0
    shown: TargetClock | None = None
    for start, end in cycles:
        shown = _clock_for(metric, target, start, _clip(segments, start, end, running), end, clock)
        met += shown.state is ClockState.MET
        breached += shown.state is ClockState.BREACHED
    if shown is None:
        return None
    return shown.model_copy(update={'cycles_met': met, 'cycles_breached': breached})
