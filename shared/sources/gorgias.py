"""Gorgias: an HTTP integration (no signature; secret X-Pitcrew-Token header or ?token=) whose JSON form is our
template. Every value arrives as a string because the template quotes them; an empty string means null. Gorgias
date-times carry no time zone and are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.errors import InvalidPayload
from shared.events import AssigneeRole, Channel, Kind, Source, Status, TicketEvent
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import (
    build_event,
    check_token,
    load_json_object,
    optional_datetime,
    optional_int,
    optional_str,
    require_str,
    source_matches,
    split_tags,
)

STATUSES = {'open': Status.OPEN, 'closed': Status.CLOSED}
CHANNELS = {
    'email': Channel.EMAIL,
    'chat': Channel.CHAT,
    'phone': Channel.PHONE,
    'aircall': Channel.PHONE,
    'sms': Channel.SMS,
    'whatsapp': Channel.WHATSAPP,
    'contact_form': Channel.WEB,
    'contact-form': Channel.WEB,
    'help-center': Channel.WEB,
}
SOCIAL_PREFIXES = ('facebook', 'instagram', 'twitter', 'tiktok', 'yotpo', 'google')

FIELD_NAMES = {
    'external_id': 'ticket_id',
    'raw_status': 'status',
    'assignees': 'assignee_email',
    'survey': 'satisfaction_score',
    'location_id': 'location_id',
    'tags': 'tags',
}


def _channel(raw: str) -> Channel:
    text = raw.lower()
    if text in CHANNELS:
        return CHANNELS[text]
    if text.startswith(SOCIAL_PREFIXES):
        return Channel.SOCIAL
    return Channel.OTHER  # api, internal-note, ...


def _date(data: dict[str, Any], key: str) -> datetime | None:
    return optional_datetime(data.get(key), key, naive_is_utc=True)


def _tags(value: Any) -> tuple[str, ...]:
    """"refund, vip" from the template; the API's [{"name": "refund"}, ...] is accepted too."""
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        names = [item.get('name') for item in value]
        return split_tags([name for name in names if isinstance(name, str)], 'tags')
    return split_tags(value, 'tags', ',')


class GorgiasAdapter:
    name: str = Source.GORGIAS.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        # No timestamp is sent, so there is nothing to check for freshness: duplicates are caught by event id.
        check_token(request, secret)

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        data = load_json_object(request.body)
        source_matches(data, Source.GORGIAS)
        return ParseResult(events=[self._event(data, received_at)])

    def _event(self, data: dict[str, Any], received_at: datetime) -> TicketEvent:
        ticket_id = require_str(data, 'ticket_id', 'ticket_id')
        raw_status = optional_str(data, 'status', 'status')
        status = STATUSES.get(raw_status.lower()) if raw_status else None
        if raw_status and status is None:
            raise InvalidPayload('unknown status: expected open or closed', field='status')
        channel = optional_str(data, 'channel', 'channel') or optional_str(data, 'via', 'via')
        closed_at = _date(data, 'closed_datetime')
        updated_at = _date(data, 'updated_datetime')
        scored_at = _date(data, 'scored_datetime')
        score = optional_int(data, 'satisfaction_score', 'satisfaction_score', minimum=None)
        survey: dict[str, Any] | None = None
        if score is not None:
            if not 1 <= score <= 5:
                raise InvalidPayload('satisfaction score must be 1-5', field='satisfaction_score')
            survey_id = optional_str(data, 'satisfaction_survey_id', 'satisfaction_survey_id')
            survey = {
                'response_id': f'gorgias:{survey_id}' if survey_id else f'gorgias:{ticket_id}:satisfaction',
                'csat': score,
                'comment': optional_str(data, 'satisfaction_comment', 'satisfaction_comment'),
            }
        # The change time: updated_datetime when the template sends it; else the latest of the closing and the
        # scoring time (for a closed ticket); else the receive time.
        fallback = [moment for moment in (closed_at if status == Status.CLOSED else None, scored_at) if moment is not None]
        occurred_at = updated_at or (max(fallback) if fallback else None)
        # The ticket's last message went out after the customer's last one: a reply (the earliest such time is kept).
        last_message, last_received = _date(data, 'last_message_datetime'), _date(data, 'last_received_message_datetime')
        replied_at = last_message if last_message and last_received and last_message > last_received else None
        agent_key = optional_str(data, 'assignee_email', 'assignee_email') or optional_str(
            data, 'assignee_user_id', 'assignee_user_id'
        )
        fields: dict[str, Any] = {
            'source': Source.GORGIAS,
            'kind': Kind.TICKET,
            'external_id': ticket_id,
            'occurred_at': occurred_at or received_at,
            'created_at': _date(data, 'created_datetime'),
            'channel': _channel(channel) if channel else None,
            'status': status,
            'raw_status': raw_status,
            'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': agent_key},) if agent_key else (),
            'resolved_at': closed_at if status != Status.OPEN else None,
            'first_response_at': replied_at,
            'survey': survey,
            'location_id': optional_str(data, 'location_id', 'location_id'),
            'tags': _tags(data.get('tags')),
        }
        return build_event(fields, hash_occurred_at=occurred_at is not None, field_names=FIELD_NAMES)


adapter = GorgiasAdapter()
