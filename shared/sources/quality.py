"""Quality-review scorecards (QA): a format we define (`events/schemas/quality_review.schema.json`), signed with the
Pitcrew scheme (`shared.sources.signing`). One request = one review, or a correction of it.

A reviewer scores how an agent (or support-staff member) handled a ticket on a named scorecard: `score` out of
`max_score`. Each review is its own item (`quality#<review id>`); a correction is resent with a new `event_id` and a
later `occurred_at`, and the latest counts. The agent is named by employee id (resolved through the directory's
profile); the reviewer must be someone else.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.errors import InvalidPayload
from shared.events import AssigneeRole, Kind, Source, TicketEvent
from shared.sources import signing
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import IsoDatetime, build_event, load_json_object, validate

SCHEMA_ID = 'pitcrew.quality.review/v1'

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
EmployeeId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Score = Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=2, description='A JSON number or a decimal string: "42.5"')]
TicketSource = Literal['zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms']


class TicketRef(BaseModel):
    model_config = ConfigDict(extra='ignore')

    source: TicketSource
    id: Id


class Review(BaseModel):
    # Unknown keys inside the review (per-question answers, comments) are ignored.
    model_config = ConfigDict(extra='ignore')

    id: Id
    employee_id: EmployeeId
    reviewer_id: EmployeeId
    scorecard: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
    score: Score
    max_score: Score
    reviewed_at: IsoDatetime
    ticket: TicketRef | None = None
    location_id: Id | None = None


class ReviewEvent(BaseModel):
    model_config = ConfigDict(extra='forbid')

    schema_: Literal['pitcrew.quality.review/v1'] = Field(alias='schema')
    event_id: Id
    occurred_at: IsoDatetime
    review: Review


def to_event(body: ReviewEvent) -> TicketEvent:
    review = body.review
    if review.max_score <= 0:
        raise InvalidPayload('max_score must be greater than 0', field='review.max_score')
    if review.score > review.max_score:
        raise InvalidPayload('score is above max_score', field='review.score')
    if review.reviewer_id.lower() == review.employee_id.lower():
        raise InvalidPayload('an agent cannot review their own handling', field='review.reviewer_id')
    fields: dict[str, Any] = {
        'source': Source.QUALITY,
        'kind': Kind.QUALITY_REVIEW,
        'external_id': review.id,
        'occurred_at': body.occurred_at,
        'created_at': review.reviewed_at,
        'location_id': review.location_id,
        'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': review.employee_id},),
        'quality_review': {
            'review_id': review.id,
            'ticket_ref': f'{review.ticket.source}#{review.ticket.id}' if review.ticket else None,
            'scorecard': review.scorecard,
            'score': review.score,
            'max_score': review.max_score,
            'reviewer_id': review.reviewer_id,
            'reviewed_at': review.reviewed_at,
        },
    }
    names = {'event_id': 'event_id', 'external_id': 'review.id', 'assignees': 'review.employee_id', 'quality_review': 'review'}
    return build_event(fields, event_id=body.event_id, field_names=names)


class QualityAdapter:
    name: str = Source.QUALITY.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        signing.verify(request, secret, now, check_freshness=check_freshness)

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        data = load_json_object(request.body)
        body = validate(lambda: ReviewEvent.model_validate(data))
        return ParseResult(events=[to_event(body)])


adapter = QualityAdapter()
