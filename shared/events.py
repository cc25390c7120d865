"""The canonical ticket event: what every source adapter turns its sender's payload into.

One model for helpdesk tickets, dealer-management job cards, survey responses and the inputs no helpdesk
sends (LMS trainings, QA reviews, safety reports), so that ticket state, KPIs and rules never look at a
vendor's wire format.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator


class Source(StrEnum):
    ZENDESK = 'zendesk'
    FRESHDESK = 'freshdesk'
    SALESFORCE = 'salesforce'
    GORGIAS = 'gorgias'
    DMS = 'dms'
    SURVEY = 'survey'
    LMS = 'lms'
    QUALITY = 'quality'
    SAFETY = 'safety'


class Kind(StrEnum):
    TICKET = 'ticket'
    JOB_CARD = 'job_card'
    SURVEY = 'survey'
    TRAINING = 'training'  # one LMS enrolment (enrolled, then completed)
    QUALITY_REVIEW = 'quality_review'  # one QA scorecard review of an agent's handling of a ticket
    SAFETY_REPORT = 'safety_report'  # one manager-entered compliance check or hazard report

    @property
    def is_about_a_person(self) -> bool:
        """Trainings, quality reviews and safety reports: no customer, no channel, no lifecycle to work on."""
        return self in (Kind.TRAINING, Kind.QUALITY_REVIEW, Kind.SAFETY_REPORT)


class Channel(StrEnum):
    EMAIL = 'email'
    CHAT = 'chat'
    PHONE = 'phone'
    SMS = 'sms'
    WHATSAPP = 'whatsapp'
    SOCIAL = 'social'
    WEB = 'web'
    WALK_IN = 'walk_in'
    OTHER = 'other'


class Priority(StrEnum):
    LOW = 'low'
    NORMAL = 'normal'
    HIGH = 'high'
    URGENT = 'urgent'


class Status(StrEnum):
    """Canonical lifecycle. Job-card stages map onto it (the raw stage is kept in `raw_status`)."""

    NEW = 'new'
    OPEN = 'open'
    PENDING = 'pending'  # waiting on the customer / on approval: SLA clocks may pause
    ON_HOLD = 'on_hold'  # waiting on a third party
    SOLVED = 'solved'
    CLOSED = 'closed'

    @property
    def is_resolved(self) -> bool:
        return self in (Status.SOLVED, Status.CLOSED)


class AssigneeRole(StrEnum):
    AGENT = 'agent'
    ADVISOR = 'advisor'
    TECHNICIAN = 'technician'


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError('datetime must carry a time zone (adapters convert naive sender times to UTC)')
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
NonEmptyStr = Annotated[str, Field(min_length=1, max_length=256)]


class Assignee(BaseModel):
    """A person the source says works this item, in the source's own terms (email or agent id).

    `agent_key` is mapped to an employee by the directory when the event is processed; an unknown key
    is kept and surfaced as unmapped, never dropped.
    """

    model_config = ConfigDict(frozen=True)

    role: AssigneeRole = AssigneeRole.AGENT
    agent_key: NonEmptyStr

    @field_validator('agent_key')
    @classmethod
    def _normalise(cls, value: str) -> str:
        return value.strip().lower()


class Survey(BaseModel):
    model_config = ConfigDict(frozen=True)

    response_id: NonEmptyStr
    csat: int | None = Field(default=None, ge=1, le=5, description='1-5; good/bad maps to 5/1')
    nps: int | None = Field(default=None, ge=0, le=10)
    comment: str | None = Field(default=None, max_length=4000)


class UpsellLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_id: NonEmptyStr
    category: NonEmptyStr
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(default='USD', min_length=3, max_length=3)
    accepted: bool = True
    # Gross margin of the line in the same currency: may be negative (sold below cost), never above amount.
    margin: Decimal | None = Field(default=None, max_digits=14, decimal_places=2)

    @model_validator(mode='after')
    def _margin_within_amount(self) -> UpsellLine:
        if self.margin is not None and self.margin > self.amount:
            raise ValueError('margin must not exceed amount')
        return self


class Training(BaseModel):
    """One LMS enrolment of one employee in one course: enrolled, then (perhaps) completed."""

    model_config = ConfigDict(frozen=True)

    course_id: NonEmptyStr
    course_name: NonEmptyStr
    status: Literal['enrolled', 'completed']
    completed_at: UtcDatetime | None = None
    score: int | None = Field(default=None, ge=0, le=100, description='Final assessment score, percent')
    certification: bool = False
    milestone: str | None = Field(default=None, min_length=1, max_length=128, description="e.g. 'level_2' in a learning path")

    @model_validator(mode='after')
    def _completed_has_time(self) -> Training:
        if (self.status == 'completed') != (self.completed_at is not None):
            raise ValueError('completed_at is required when status is completed, and only then')
        return self


class QualityReview(BaseModel):
    """A QA reviewer's scorecard on how an agent handled a ticket."""

    model_config = ConfigDict(frozen=True)

    review_id: NonEmptyStr
    ticket_ref: str | None = Field(default=None, min_length=1, max_length=256, description="'<source>#<ticket id>' when known")
    scorecard: NonEmptyStr
    score: Decimal = Field(ge=0, max_digits=8, decimal_places=2)
    max_score: Decimal = Field(gt=0, max_digits=8, decimal_places=2)
    reviewer_id: NonEmptyStr
    reviewed_at: UtcDatetime

    @model_validator(mode='after')
    def _score_within_max(self) -> QualityReview:
        if self.score > self.max_score:
            raise ValueError('score must not exceed max_score')
        return self

    @property
    def percent(self) -> Decimal:
        """score as a percentage of max_score, 2 decimals (what the KPI sums and rules compare)."""
        return (self.score * 100 / self.max_score).quantize(Decimal('0.01'))


class SafetyReport(BaseModel):
    """A manager-entered safety compliance check (passed / failed) or a hazard report (reported)."""

    model_config = ConfigDict(frozen=True)

    report_id: NonEmptyStr
    report_type: Literal['compliance_check', 'hazard_report']
    outcome: Literal['passed', 'failed', 'reported']
    severity: Literal['low', 'medium', 'high'] | None = None
    reported_by: NonEmptyStr = Field(description='Employee id of the manager who entered it')
    description: str | None = Field(default=None, max_length=2000)

    @model_validator(mode='after')
    def _outcome_fits_type(self) -> SafetyReport:
        expected = ('reported',) if self.report_type == 'hazard_report' else ('passed', 'failed')
        if self.outcome not in expected:
            raise ValueError(f'outcome of a {self.report_type} must be {" or ".join(expected)}')
        return self


MAX_EVENT_TAGS = 50  # tags one event keeps (the first, after normalising)
MAX_TAG_LENGTH = 64  # characters of a free tag (longer ones are cut)
MAX_STRUCTURED_TAG_LENGTH = 300  # a structured tag holds an id (up to 256 characters)
STRUCTURED_TAG_PREFIXES = ('job_type:', 'repeat_of:', 'repeat_visit:')  # set by Pitcrew; their values keep their case


def normalise_tags(tags: Any) -> tuple[Any, int]:
    """Tags as a ticket keeps them, and how many were cut or dropped: trimmed, inner whitespace collapsed, free
    tags lower-cased and cut to MAX_TAG_LENGTH, duplicates and empty ones removed, at most MAX_EVENT_TAGS (structured
    tags first: they are never dropped for free ones)."""
    if not isinstance(tags, list | tuple):
        return tags, 0  # pydantic reports the type
    cut = 0
    structured: dict[str, None] = {}
    free: dict[str, None] = {}
    for raw in tags:
        if not isinstance(raw, str):
            return tags, 0
        tag = ' '.join(raw.split())
        if tag.startswith(STRUCTURED_TAG_PREFIXES):
            if len(tag) > MAX_STRUCTURED_TAG_LENGTH:
                tag, cut = tag[:MAX_STRUCTURED_TAG_LENGTH], cut + 1
            structured[tag] = None
            continue
        tag = tag.lower()
        if len(tag) > MAX_TAG_LENGTH:
            tag, cut = tag[:MAX_TAG_LENGTH], cut + 1
        if tag:
            free[tag] = None
    kept = list(structured) + list(free)
    cut += max(0, len(kept) - MAX_EVENT_TAGS)
    return tuple(kept[:MAX_EVENT_TAGS]), cut


class TicketEvent(BaseModel):
    """One change to one ticket, job card, survey, training enrolment, quality review or safety report, as the sender
    reported it."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    source: Source
    kind: Kind = Kind.TICKET
    external_id: NonEmptyStr = Field(description="The sender's id for the ticket / case / job card")
    event_id: NonEmptyStr = Field(description='Stable id of this change; a redelivery carries the same id')
    occurred_at: UtcDatetime
    created_at: UtcDatetime | None = None
    location_id: str | None = Field(default=None, max_length=128)
    channel: Channel | None = None
    priority: Priority | None = None
    status: Status | None = None
    raw_status: str | None = Field(default=None, max_length=128)
    assignees: tuple[Assignee, ...] = ()
    first_response_at: UtcDatetime | None = None
    resolved_at: UtcDatetime | None = None
    reply_count: int | None = Field(default=None, ge=0)
    agent_touches: int | None = Field(default=None, ge=0)
    reopen_count: int | None = Field(default=None, ge=0)
    survey: Survey | None = None
    upsell_lines: tuple[UpsellLine, ...] = ()
    promised_at: UtcDatetime | None = None
    vehicle_id: str | None = Field(default=None, max_length=64)
    customer_key: str | None = Field(default=None, max_length=256)
    complaint_code: str | None = Field(default=None, max_length=64)
    tags: tuple[str, ...] = ()
    tags_truncated: int = Field(default=0, ge=0, description='Tags cut or dropped by the caps (normalise_tags)')
    training: Training | None = None
    quality_review: QualityReview | None = None
    safety_report: SafetyReport | None = None

    @model_validator(mode='before')
    @classmethod
    def _bounded_tags(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get('tags'):
            tags, cut = normalise_tags(data['tags'])
            data = data | {'tags': tags, 'tags_truncated': int(data.get('tags_truncated') or 0) + cut}
        return data

    @property
    def ticket_key(self) -> str:
        """Key of the ticket this event belongs to. Surveys attach to the ticket they rate."""
        return f'{self.source.value}#{self.external_id}'

    def to_message(self) -> str:
        return self.model_dump_json(exclude_none=True, exclude_defaults=True)

    @classmethod
    def from_message(cls, body: str) -> TicketEvent:
        return cls.model_validate_json(body)


def content_event_id(source: Source, external_id: str, fields: dict[str, Any]) -> str:
    """A stable event id for senders that give none: a digest of what the change says.

    Two deliveries of the same change (retries, two triggers firing on one update) get the same id,
    so the second is a duplicate; a change that says something new gets a new id.
    """
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(',', ':'))
    digest = hashlib.sha256(f'{source.value}|{external_id}|{canonical}'.encode()).hexdigest()[:24]
    return f'{source.value}:{external_id}:{digest}'


class QueueMessage(BaseModel):
    """What travels on the events queue: a canonical event, or a request to re-evaluate a ticket
    (after a directory import maps an agent who was unknown when the ticket's events arrived)."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    event: TicketEvent | None = None
    reconcile: str | None = Field(default=None, description='ticket key to re-evaluate')
    correlation_id: str | None = None
    # Set only on an event an admin replays from the quarantine: its own time is old by then (the source is still asked).
    # None rather than False otherwise, so that ordinary messages stay as they were on the wire (dumped without Nones).
    skip_freshness: bool | None = None
