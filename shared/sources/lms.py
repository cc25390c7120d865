"""Training from a learning-management system (LMS): a format we define (`events/schemas/lms_training.schema.json`),
signed with the Pitcrew scheme (`shared.sources.signing`). One request = one enrolment event.

An enrolment is its own item (`lms#<enrolment id>`): the employee is enrolled in a course (`enrolled`), later
completes it (`completed`, with the completion time and, where the course is assessed, a score 0-100). The learner
is named by their employee id, resolved through the directory's profile (no per-LMS user mapping). A course may be
a certification and may mark a milestone of a learning path (e.g. `ev_level_2`), which rules can reward.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from shared.errors import InvalidPayload
from shared.events import AssigneeRole, Kind, Source, TicketEvent
from shared.sources import signing
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import IsoDatetime, build_event, load_json_object, validate

SCHEMA_ID = 'pitcrew.lms.training/v1'

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
EmployeeId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class Course(BaseModel):
    model_config = ConfigDict(extra='ignore')

    id: Id
    name: Name
    certification: StrictBool = False


class Enrolment(BaseModel):
    # Unknown keys inside the enrolment are ignored, so a connector may send more than we read.
    model_config = ConfigDict(extra='ignore')

    id: Id
    employee_id: EmployeeId
    course: Course
    enrolled_at: IsoDatetime | None = None
    completed_at: IsoDatetime | None = None
    score: Annotated[StrictInt, Field(ge=0, le=100)] | None = None
    milestone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] | None = None
    location_id: Id | None = None


class TrainingEvent(BaseModel):
    model_config = ConfigDict(extra='forbid')

    schema_: Literal['pitcrew.lms.training/v1'] = Field(alias='schema')
    event_id: Id
    event_type: Literal['enrolled', 'completed']
    occurred_at: IsoDatetime
    enrolment: Enrolment


def to_event(body: TrainingEvent) -> TicketEvent:
    enrolment = body.enrolment
    completed = body.event_type == 'completed'
    if completed and enrolment.completed_at is None:
        raise InvalidPayload('a completed event needs completed_at', field='enrolment.completed_at')
    if not completed and enrolment.completed_at is not None:
        raise InvalidPayload('only a completed event carries completed_at', field='enrolment.completed_at')
    if not completed and enrolment.score is not None:
        raise InvalidPayload('only a completed event carries a score', field='enrolment.score')
    if enrolment.enrolled_at is not None and enrolment.completed_at is not None and enrolment.completed_at < enrolment.enrolled_at:
        raise InvalidPayload('completed_at is before enrolled_at', field='enrolment.completed_at')
    fields: dict[str, Any] = {
        'source': Source.LMS,
        'kind': Kind.TRAINING,
        'external_id': enrolment.id,
        'occurred_at': body.occurred_at,
        'created_at': enrolment.enrolled_at or body.occurred_at,
        'location_id': enrolment.location_id,
        'raw_status': body.event_type,
        'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': enrolment.employee_id},),
        'training': {
            'course_id': enrolment.course.id,
            'course_name': enrolment.course.name,
            'status': body.event_type,
            'completed_at': enrolment.completed_at,
            'score': enrolment.score,
            'certification': enrolment.course.certification,
            'milestone': enrolment.milestone,
        },
    }
    names = {'event_id': 'event_id', 'external_id': 'enrolment.id', 'assignees': 'enrolment.employee_id', 'training': 'enrolment'}
    return build_event(fields, event_id=body.event_id, field_names=names)


class LmsAdapter:
    name: str = Source.LMS.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        signing.verify(request, secret, now, check_freshness=check_freshness)

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        data = load_json_object(request.body)
        body = validate(lambda: TrainingEvent.model_validate(data))
        return ParseResult(events=[to_event(body)])


adapter = LmsAdapter()
