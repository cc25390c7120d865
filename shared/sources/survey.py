"""Survey responses, signed with the Pitcrew scheme (`shared.sources.signing`), in one of two bodies:

* our format `pitcrew.survey/v1` (`events/schemas/survey_response.schema.json`): one response to one ticket;
* a Freshdesk satisfaction rating as the API returns it, wrapped: `{"schema": "freshdesk.satisfaction_rating",
  "rating": {...}}` (a poller or relay forwards `GET /api/v2/surveys/satisfaction_ratings` items).

The event is filed under the *rated ticket's* source and id, so it joins that ticket; its id is
`survey:<response_id>`, so a resent response is a duplicate (an edited answer must come with a new response_id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StringConstraints

from shared.errors import InvalidPayload
from shared.events import AssigneeRole, Kind, Source, TicketEvent
from shared.sources import signing
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import IsoDatetime, build_event, load_json_object, validate

SCHEMA_ID = 'pitcrew.survey/v1'
FRESHDESK_SCHEMA_ID = 'freshdesk.satisfaction_rating'
MAX_COMMENT = 4000
# Freshdesk answers (classic and custom surveys) on our 1-5 scale.
FRESHDESK_RATINGS = {103: 5, 102: 4, 101: 4, 100: 3, -101: 2, -102: 2, -103: 1}

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TicketSource = Literal['zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms']


def _csat(value: Any) -> Any:
    """1-5, or 'good' / 'bad' (thumbs surveys) as 5 / 1. No floats, numeric strings or booleans."""
    if isinstance(value, str) and value.strip().lower() in ('good', 'bad'):
        return 5 if value.strip().lower() == 'good' else 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError('csat must be an integer 1-5, "good" or "bad"')
    return value


Csat = Annotated[int, BeforeValidator(_csat), Field(ge=1, le=5)]


class SurveyResponse(BaseModel):
    model_config = ConfigDict(extra='forbid')

    schema_: Literal['pitcrew.survey/v1'] = Field(alias='schema')
    response_id: Id
    ticket_source: TicketSource
    ticket_id: Id
    submitted_at: IsoDatetime
    csat: Csat | None = None
    nps: Annotated[StrictInt, Field(ge=0, le=10)] | None = None
    comment: Annotated[str, Field(max_length=MAX_COMMENT)] | None = None
    agent_key: Id | None = Field(default=None, description='The agent the response is about, when the survey tool knows')


def _freshdesk_id(value: Any) -> Any:
    """Freshdesk ids are JSON numbers; a relay may quote them. Either way they become text."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError('id must not be negative')
        return str(value)
    if not isinstance(value, str):
        raise ValueError('id must be an integer or a string')
    return value


FreshdeskId = Annotated[Id, BeforeValidator(_freshdesk_id)]


class FreshdeskRatings(BaseModel):
    model_config = ConfigDict(extra='allow')

    default_question: StrictInt


class FreshdeskRating(BaseModel):
    model_config = ConfigDict(extra='ignore')

    id: FreshdeskId
    ticket_id: FreshdeskId
    agent_id: FreshdeskId | None = None
    ratings: FreshdeskRatings
    feedback: str | None = None
    created_at: IsoDatetime
    updated_at: IsoDatetime | None = None


class FreshdeskRatingEnvelope(BaseModel):
    model_config = ConfigDict(extra='forbid')

    schema_: Literal['freshdesk.satisfaction_rating'] = Field(alias='schema')
    rating: FreshdeskRating


def _from_survey(body: SurveyResponse) -> TicketEvent:
    if body.csat is None and body.nps is None:
        raise InvalidPayload('at least one of csat and nps is required', field='csat')
    fields: dict[str, Any] = {
        'source': Source(body.ticket_source),
        'kind': Kind.SURVEY,
        'external_id': body.ticket_id,
        'occurred_at': body.submitted_at,
        'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': body.agent_key},) if body.agent_key else (),
        'survey': {'response_id': body.response_id, 'csat': body.csat, 'nps': body.nps, 'comment': body.comment},
    }
    names = {'event_id': 'response_id', 'external_id': 'ticket_id', 'survey': 'response_id', 'assignees': 'agent_key'}
    return build_event(fields, event_id=f'survey:{body.response_id}', field_names=names)


def _from_freshdesk(body: FreshdeskRatingEnvelope) -> TicketEvent:
    rating = body.rating
    csat = FRESHDESK_RATINGS.get(rating.ratings.default_question)
    if csat is None:
        raise InvalidPayload(
            f'unknown Freshdesk rating {rating.ratings.default_question}: expected 103, 102, 101, 100, -101, -102 or -103',
            field='rating.ratings.default_question',
        )
    response_id = f'freshdesk:{rating.id}'
    comment = rating.feedback.strip()[:MAX_COMMENT] if rating.feedback and rating.feedback.strip() else None
    agent = rating.agent_id
    fields: dict[str, Any] = {
        'source': Source.FRESHDESK,
        'kind': Kind.SURVEY,
        'external_id': rating.ticket_id,
        'occurred_at': rating.created_at,
        'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': agent},) if agent else (),
        'survey': {'response_id': response_id, 'csat': csat, 'comment': comment},
    }
    names = {'event_id': 'rating.id', 'external_id': 'rating.ticket_id', 'survey': 'rating.id', 'assignees': 'rating.agent_id'}
    return build_event(fields, event_id=f'survey:{response_id}', field_names=names)


class SurveyAdapter:
    name: str = Source.SURVEY.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        signing.verify(request, secret, now, check_freshness=check_freshness)

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        data = load_json_object(request.body)
        schema = data.get('schema')
        if schema == SCHEMA_ID:
            event = _from_survey(validate(lambda: SurveyResponse.model_validate(data)))
        elif schema == FRESHDESK_SCHEMA_ID:
            event = _from_freshdesk(validate(lambda: FreshdeskRatingEnvelope.model_validate(data)))
        elif schema is None:
            raise InvalidPayload('field is required', field='schema')
        else:
            reason = f'unknown schema {str(schema)[:60]!r}: expected {SCHEMA_ID} or {FRESHDESK_SCHEMA_ID}'
            raise InvalidPayload(reason, field='schema')
        return ParseResult(events=[event])


adapter = SurveyAdapter()
