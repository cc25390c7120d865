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
    STRUCTURED_TAG_PREFIXES,
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
    tags_dropped: int = 0  # tags not kept: beyond a ticket's MAX_TICKET_TAGS, or cut by an event's own caps
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


MAX_TICKET_TAGS = 100  # free tags a ticket keeps (the smallest in sort order); structured tags are always kept


class Fold(BaseModel):
    """The fold's running state after some events in (occurred_at, event_id) order: what `fold` computes, kept
    between events so a ticket can store the fold of its oldest events instead of the events themselves
    (`shared.tickets.history`). `step` continues it with a later event; `absorb` takes an event that is older than
    everything already folded (only its order-independent facts can still count)."""

    head_source: Source | None = None
    head_kind: Kind | None = None
    head_external_id: str | None = None
    head_is_survey: bool = True
    first_at: datetime | None = None
    last_at: datetime | None = None
    last_event_id: str | None = None
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
    reply_count: int = 0
    agent_touches: int = 0
    replies_reported: bool = False
    reported_reopens: int = 0
    transitions: int = 0
    survey: SurveyState | None = None
    upsells: dict[str, tuple[UpsellLine, str]] = {}
    promised_at: datetime | None = None
    vehicle_id: str | None = None
    customer_key: str | None = None
    complaint_code: str | None = None
    tags: set[str] = set()
    tags_dropped: int = 0
    repeat_visits: dict[str, datetime] = {}
    training: Training | None = None
    quality_review: QualityReview | None = None
    safety_report: SafetyReport | None = None
    count: int = 0

    @property
    def order_key(self) -> tuple[datetime, str] | None:
        """The last folded event's place in the fold order."""
        return (self.last_at, self.last_event_id) if self.last_at is not None and self.last_event_id is not None else None

    def _head(self, event: TicketEvent) -> None:
        if self.head_source is None or (self.head_is_survey and event.kind is not Kind.SURVEY):
            self.head_source, self.head_kind, self.head_external_id = event.source, event.kind, event.external_id
            self.head_is_survey = event.kind is Kind.SURVEY

    def _tags(self, event: TicketEvent) -> None:
        """Add the event's tags; free tags beyond MAX_TICKET_TAGS keep the smallest in sort order (so the kept set does
        not depend on arrival order), and every occurrence of a tag not kept is counted in `tags_dropped`."""
        self.tags_dropped += event.tags_truncated
        for tag in event.tags:
            if tag.startswith(REPEAT_VISIT_TAG):
                self.repeat_visits.setdefault(tag.removeprefix(REPEAT_VISIT_TAG), event.occurred_at)
            if tag in self.tags:
                continue
            self.tags.add(tag)
            if len(self.tags) > MAX_TICKET_TAGS and not tag.startswith(STRUCTURED_TAG_PREFIXES):
                free = sorted(t for t in self.tags if not t.startswith(STRUCTURED_TAG_PREFIXES))
                if len(free) > MAX_TICKET_TAGS:
                    self.tags.discard(free[-1])
                    self.tags_dropped += 1

    def _facts(self, event: TicketEvent) -> None:
        """The order-independent facts: minimums, maximums and unions."""
        if event.created_at is not None:
            self.created_at = event.created_at if self.created_at is None else min(self.created_at, event.created_at)
        if event.first_response_at is not None:
            first = event.first_response_at
            self.first_response = first if self.first_response is None else min(self.first_response, first)
        if event.reply_count is not None or event.agent_touches is not None:
            self.replies_reported = True
        if event.reply_count:
            self.reply_count = max(self.reply_count, event.reply_count)
        if event.agent_touches:
            self.agent_touches = max(self.agent_touches, event.agent_touches)
        if event.reopen_count:
            self.reported_reopens = max(self.reported_reopens, event.reopen_count)

    def step(self, event: TicketEvent) -> None:
        """Fold the next event in order (it must come after every event folded so far)."""
        self._head(event)
        self.first_at = self.first_at or event.occurred_at
        self.last_at, self.last_event_id = event.occurred_at, event.event_id
        self.count += 1
        for tag in event.tags:
            if tag.startswith(REPEAT_VISIT_TAG):
                self.repeat_visits[tag.removeprefix(REPEAT_VISIT_TAG)] = event.occurred_at
        self._tags(event)
        had_first_response = self.first_response is not None or event.first_response_at is not None
        self._facts(event)
        if event.reply_count and not had_first_response:
            # The sender did not report when the first reply went out: the first event that shows
            # a reply is the best bound we have.
            self.first_response = event.occurred_at
        if event.survey is not None and (self.survey is None or self.survey.survey != event.survey):
            # The same answer repeated on later updates (a helpdesk that sends the rating with every change)
            # keeps the time it was first seen: the survey's basis does not move.
            self.survey = SurveyState(event_id=event.event_id, submitted_at=event.occurred_at, survey=event.survey)
        for line in event.upsell_lines:
            self.upsells[line.line_id] = (line, event.event_id)
        self.training = event.training or self.training
        self.quality_review = event.quality_review or self.quality_review
        self.safety_report = event.safety_report or self.safety_report
        if event.kind is Kind.SURVEY:
            return
        if event.status is not None:
            was_resolved = self.status is not None and self.status.is_resolved
            if event.status.is_resolved and not was_resolved:
                self.resolved_since, self.resolved_by = event.occurred_at, event.event_id
            if was_resolved and not event.status.is_resolved:
                self.transitions += 1
                self.reopened_at = event.occurred_at
            self.status, self.raw_status = event.status, event.raw_status
        if event.resolved_at is not None:
            self.reported_resolved_at = event.resolved_at
        self.priority = event.priority or self.priority
        self.channel = event.channel or self.channel
        self.location_id = event.location_id or self.location_id
        if event.assignees:
            if event.assignees != self.assignees:
                self.assigned_by = event.event_id
            self.assignees = event.assignees
        self.promised_at = event.promised_at or self.promised_at
        self.vehicle_id = event.vehicle_id or self.vehicle_id
        self.customer_key = event.customer_key or self.customer_key
        self.complaint_code = event.complaint_code or self.complaint_code

    def absorb(self, event: TicketEvent) -> bool:
        """Fold an event older than every event folded so far (it arrived after its place was compacted). Exact for
        the order-independent facts (first times, maximum counts, tags, upsell lines not seen since); a field a
        later event already set keeps that value, as the ordered fold would; its status change is not replayed
        into the reopen count or the SLA history. Returns whether it changed anything: absorbing the same event
        twice changes nothing the second time, so a late duplicate is recognised without its id (an event whose only
        news is a tag the cap drops adds nothing either)."""
        before, dropped = self.model_dump(exclude={'tags_dropped'}), self.tags_dropped
        self._head(event)
        self.first_at = min(self.first_at, event.occurred_at) if self.first_at else event.occurred_at
        self._tags(event)
        self._facts(event)
        if event.survey is not None and self.survey is None:
            self.survey = SurveyState(event_id=event.event_id, submitted_at=event.occurred_at, survey=event.survey)
        for line in event.upsell_lines:
            self.upsells.setdefault(line.line_id, (line, event.event_id))
        self.training = self.training or event.training
        self.quality_review = self.quality_review or event.quality_review
        self.safety_report = self.safety_report or event.safety_report
        if event.kind is not Kind.SURVEY:
            for name in ('status', 'raw_status', 'priority', 'channel', 'location_id', 'promised_at', 'vehicle_id', 'customer_key',
                         'complaint_code'):
                if getattr(self, name) is None and getattr(event, name) is not None:
                    setattr(self, name, getattr(event, name))
            if not self.assignees and event.assignees:
                self.assignees, self.assigned_by = event.assignees, event.event_id
        if self.model_dump(exclude={'tags_dropped'}) == before:
            self.tags_dropped = dropped
            return False
        self.count += 1
        return True

    def state(self) -> TicketState:
        if self.head_source is None or self.head_kind is None or self.head_external_id is None or self.last_at is None:
            raise ValueError('a ticket state needs at least one event')
        resolved = self.status is not None and self.status.is_resolved
        reported_resolved_at = self.reported_resolved_at
        # A solve time the sender reported before the last reopen belongs to the earlier solve.
        if reported_resolved_at is not None and self.reopened_at is not None and reported_resolved_at < self.reopened_at:
            reported_resolved_at = None
        resolved_at = (reported_resolved_at or self.resolved_since) if resolved else None
        upsells = sorted(self.upsells.values(), key=lambda pair: pair[0].line_id)
        return TicketState(
            ticket_key=f'{self.head_source.value}#{self.head_external_id}',
            source=self.head_source,
            kind=self.head_kind,
            external_id=self.head_external_id,
            status=self.status,
            raw_status=self.raw_status,
            priority=self.priority,
            channel=self.channel,
            location_id=self.location_id,
            assignees=self.assignees,
            assigned_by_event=self.assigned_by,
            created_at=self.created_at or self.first_at,
            first_response_at=self.first_response,
            resolved_at=resolved_at,
            resolved_by_event=self.resolved_by if resolved else None,
            last_event_at=self.last_at,
            reply_count=self.reply_count,
            agent_touches=self.agent_touches,
            reopen_count=max(self.reported_reopens, self.transitions),
            replies_reported=self.replies_reported,
            survey=self.survey,
            upsell_lines=tuple(line for line, _ in upsells),
            upsell_events=tuple(event_id for _, event_id in upsells),
            promised_at=self.promised_at,
            vehicle_id=self.vehicle_id,
            customer_key=self.customer_key,
            complaint_code=self.complaint_code,
            job_type=_tag_value(self.tags, 'job_type:'),
            repeat_of=_tag_value(self.tags, 'repeat_of:'),
            repeat_visits=tuple(sorted(self.repeat_visits.items())),
            tags=tuple(sorted(self.tags)),
            tags_dropped=self.tags_dropped,
            training=self.training,
            quality_review=self.quality_review,
            safety_report=self.safety_report,
            event_count=self.count,
        )


def fold_into(base: Fold | None, events: Iterable[TicketEvent]) -> Fold:
    """`base` (unchanged) continued with `events` (all later than it; duplicates by event_id ignored)."""
    acc = base.model_copy(deep=True) if base is not None else Fold()
    unique = {event.event_id: event for event in events}
    for event in sorted(unique.values(), key=_order):
        acc.step(event)
    return acc


def fold(events: Iterable[TicketEvent], base: Fold | None = None) -> TicketState:
    """The state of one ticket given all its events (duplicates by event_id are ignored), or given the fold of
    its oldest events (`base`) and the rest."""
    return fold_into(base, events).state()
