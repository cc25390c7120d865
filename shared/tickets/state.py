"""Ticket state: a pure fold over the set of events a ticket has received.

The state is a function of the *set* of events, never of their arrival order: events are sorted by
(occurred_at, event_id) before folding, and every field is either last-writer-wins in that order or
a min/max that does not depend on order. Duplicates are removed by event id before folding. So the
same events delivered in any order, any number of times, give the same state.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.events import (
    Assignee,
    AssigneeRole,
    Channel,
    Kind,
    Priority,
    QualityReview,
    SafetyReport,
    Source,
    Status,
    Survey,
    TicketEvent,
    Training,
    UpsellLine,
)


class SurveyState(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    submitted_at: datetime
    survey: Survey


class TicketState(BaseModel):
    model_config = ConfigDict(frozen=True)

    ticket_key: str
    source: Source
    kind: Kind
    external_id: str
    status: Status | None = None
    raw_status: str | None = None
    priority: Priority | None = None
    channel: Channel | None = None
    location_id: str | None = None
    assignees: tuple[Assignee, ...] = ()
    assigned_by_event: str | None = None
    created_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by_event: str | None = None
    last_event_at: datetime | None = None
    reply_count: int = 0
    agent_touches: int = 0
    reopen_count: int = 0
    replies_reported: bool = False  # the sender reports reply counts or agent touches for this ticket
    survey: SurveyState | None = None
    upsell_lines: tuple[UpsellLine, ...] = ()
    upsell_events: tuple[str, ...] = ()
    promised_at: datetime | None = None
    vehicle_id: str | None = None
    customer_key: str | None = None
    complaint_code: str | None = None
    job_type: str | None = None
    repeat_of: str | None = None  # the earlier job card this visit repeats (as the DMS reports it)
    repeat_visits: tuple[tuple[str, datetime], ...] = ()  # later visits that repeated this one: (ticket key, when)
    tags: tuple[str, ...] = ()
    training: Training | None = None  # the latest by (occurred_at, event_id): an enrolment, then its completion
    quality_review: QualityReview | None = None
    safety_report: SafetyReport | None = None
    event_count: int = 0

    @property
    def is_resolved(self) -> bool:
        return self.status is not None and self.status.is_resolved

    @property
    def primary_assignee(self) -> Assignee | None:
        """Who owns the outcome: the first agent or service advisor, else the first assignee."""
        for assignee in self.assignees:
            if assignee.role in (AssigneeRole.AGENT, AssigneeRole.ADVISOR):
                return assignee
        return self.assignees[0] if self.assignees else None


REPEAT_VISIT_TAG = 'repeat_visit:'


def _tag_value(tags: set[str], prefix: str) -> str | None:
    return next((tag.removeprefix(prefix) for tag in sorted(tags) if tag.startswith(prefix)), None)


def _order(event: TicketEvent) -> tuple[datetime, str]:
    return (event.occurred_at, event.event_id)


def fold(events: Iterable[TicketEvent]) -> TicketState:
    """The state of one ticket given all its events (duplicates by event_id are ignored)."""
    unique = {event.event_id: event for event in events}
    if not unique:
        raise ValueError('a ticket state needs at least one event')
    ordered = sorted(unique.values(), key=_order)
    head = next((e for e in ordered if e.kind is not Kind.SURVEY), ordered[0])

    status: Status | None = None
    raw_status: str | None = None
    priority: Priority | None = None
    channel: Channel | None = None
    location_id: str | None = None
    assignees: tuple[Assignee, ...] = ()
    assigned_by: str | None = None
    created_at: datetime | None = None
    first_response: datetime | None = None
    reported_resolved_at: datetime | None = None
    resolved_since: datetime | None = None
    reopened_at: datetime | None = None
    resolved_by: str | None = None
    reply_count = agent_touches = 0
    replies_reported = False
    reported_reopens = 0
    transitions = 0
    survey: SurveyState | None = None
    upsells: dict[str, tuple[UpsellLine, str]] = {}
    promised_at: datetime | None = None
    vehicle_id = customer_key = complaint_code = None
    tags: set[str] = set()
    repeat_visits: dict[str, datetime] = {}
    training: Training | None = None
    quality_review: QualityReview | None = None
    safety_report: SafetyReport | None = None

    for event in ordered:
        for tag in event.tags:
            tags.add(tag)
            if tag.startswith(REPEAT_VISIT_TAG):
                repeat_visits[tag.removeprefix(REPEAT_VISIT_TAG)] = event.occurred_at
        if event.created_at is not None:
            created_at = event.created_at if created_at is None else min(created_at, event.created_at)
        if event.first_response_at is not None:
            first_response = event.first_response_at if first_response is None else min(first_response, event.first_response_at)
        if event.reply_count is not None or event.agent_touches is not None:
            replies_reported = True
        if event.reply_count:
            reply_count = max(reply_count, event.reply_count)
            if event.first_response_at is None and first_response is None:
                # The sender did not report when the first reply went out: the first event that shows
                # a reply is the best bound we have.
                first_response = event.occurred_at
        if event.agent_touches:
            agent_touches = max(agent_touches, event.agent_touches)
        if event.reopen_count:
            reported_reopens = max(reported_reopens, event.reopen_count)
        if event.survey is not None and (survey is None or survey.survey != event.survey):
            # The same answer repeated on later updates (a helpdesk that sends the rating with every change)
            # keeps the time it was first seen: the survey's basis does not move.
            survey = SurveyState(event_id=event.event_id, submitted_at=event.occurred_at, survey=event.survey)
        for line in event.upsell_lines:
            upsells[line.line_id] = (line, event.event_id)
        training = event.training or training
        quality_review = event.quality_review or quality_review
        safety_report = event.safety_report or safety_report
        if event.kind is Kind.SURVEY:
            continue
        if event.status is not None:
            was_resolved = status is not None and status.is_resolved
            if event.status.is_resolved and not was_resolved:
                resolved_since, resolved_by = event.occurred_at, event.event_id
            if was_resolved and not event.status.is_resolved:
                transitions += 1
                reopened_at = event.occurred_at
            status, raw_status = event.status, event.raw_status
        if event.resolved_at is not None:
            reported_resolved_at = event.resolved_at
        priority = event.priority or priority
        channel = event.channel or channel
        location_id = event.location_id or location_id
        if event.assignees:
            if event.assignees != assignees:
                assigned_by = event.event_id
            assignees = event.assignees
        promised_at = event.promised_at or promised_at
        vehicle_id = event.vehicle_id or vehicle_id
        customer_key = event.customer_key or customer_key
        complaint_code = event.complaint_code or complaint_code

    resolved = status is not None and status.is_resolved
    # A solve time the sender reported before the last reopen belongs to the earlier solve.
    if reported_resolved_at is not None and reopened_at is not None and reported_resolved_at < reopened_at:
        reported_resolved_at = None
    resolved_at = (reported_resolved_at or resolved_since) if resolved else None
    return TicketState(
        ticket_key=head.ticket_key,
        source=head.source,
        kind=head.kind,
        external_id=head.external_id,
        status=status,
        raw_status=raw_status,
        priority=priority,
        channel=channel,
        location_id=location_id,
        assignees=assignees,
        assigned_by_event=assigned_by,
        created_at=created_at or ordered[0].occurred_at,
        first_response_at=first_response,
        resolved_at=resolved_at,
        resolved_by_event=resolved_by if resolved else None,
        last_event_at=ordered[-1].occurred_at,
        reply_count=reply_count,
        agent_touches=agent_touches,
        reopen_count=max(reported_reopens, transitions),
        replies_reported=replies_reported,
        survey=survey,
        upsell_lines=tuple(line for line, _ in sorted(upsells.values(), key=lambda pair: pair[0].line_id)),
        upsell_events=tuple(event_id for _, event_id in sorted(upsells.values(), key=lambda pair: pair[0].line_id)),
        promised_at=promised_at,
        vehicle_id=vehicle_id,
        customer_key=customer_key,
        complaint_code=complaint_code,
        job_type=_tag_value(tags, 'job_type:'),
        repeat_of=_tag_value(tags, 'repeat_of:'),
        repeat_visits=tuple(sorted(repeat_visits.items())),
        tags=tuple(sorted(tags)),
        training=training,
        quality_review=quality_review,
        safety_report=safety_report,
        event_count=len(ordered),
    )
