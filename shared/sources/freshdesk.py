"""Freshdesk: an automation rule's "Trigger webhook" action (no signature; secret X-Pitcrew-Token header).

Two body shapes are accepted:
* our Advanced-content template, `{"source": "freshdesk", "ticket": {...}}`, whose placeholders render display text
  ("Open", "Low", "Portal");
* the API ticket object itself (`GET /api/v2/tickets/{id}?include=stats`, `id` at top level), with numeric codes.

Freshdesk renders date placeholders in the account's display format (e.g. "Wed, 18 May, 2016 11:36 PM", no zone),
so date strings that are not ISO-8601 are ignored rather than rejected; `due_by` / `fr_due_by` are never read.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shared.errors import InvalidPayload
from shared.events import AssigneeRole, Channel, Kind, Priority, Source, Status, TicketEvent
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import (
    build_event,
    check_token,
    load_json_object,
    optional_str,
    parse_datetime,
    require_str,
    source_matches,
    split_tags,
)

STATUS_CODES = {2: Status.OPEN, 3: Status.PENDING, 4: Status.SOLVED, 5: Status.CLOSED}  # >= 6: custom, treated as open
STATUS_NAMES = {'open': Status.OPEN, 'pending': Status.PENDING, 'resolved': Status.SOLVED, 'closed': Status.CLOSED}
PRIORITY_CODES = {1: Priority.LOW, 2: Priority.NORMAL, 3: Priority.HIGH, 4: Priority.URGENT}
PRIORITY_NAMES = {
    'low': Priority.LOW,
    'medium': Priority.NORMAL,
    'normal': Priority.NORMAL,
    'high': Priority.HIGH,
    'urgent': Priority.URGENT,
}
SOURCE_CODES = {
    1: Channel.EMAIL,
    2: Channel.WEB,  # Portal
    3: Channel.PHONE,
    5: Channel.SOCIAL,  # Twitter
    6: Channel.SOCIAL,  # Facebook
    7: Channel.CHAT,
    9: Channel.WEB,  # Feedback widget
    10: Channel.EMAIL,  # Outbound email
}
SOURCE_NAMES = {
    'email': Channel.EMAIL,
    'portal': Channel.WEB,
    'phone': Channel.PHONE,
    'twitter': Channel.SOCIAL,
    'facebook': Channel.SOCIAL,
    'chat': Channel.CHAT,
    'feedback widget': Channel.WEB,
    'feedback_widget': Channel.WEB,
    'outbound email': Channel.EMAIL,
    'outbound_email': Channel.EMAIL,
    'whatsapp': Channel.WHATSAPP,
}
AGENT_REPLY = 'agent_reply'  # the "event" of the README's rule on "Reply is sent"
_CODE = re.compile(r'[0-9]{1,6}')

FIELD_NAMES = {
    'external_id': 'ticket.id',
    'raw_status': 'ticket.status',
    'assignees': 'ticket.agent_email',
    'location_id': 'ticket.location',
    'tags': 'ticket.tags',
}


def _code_or_name(ticket: dict[str, Any], key: str, field: str) -> int | str | None:
    """A code (JSON number or digit string) or a display name; None when absent or empty."""
    value = ticket.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidPayload(f'expected a number or a name, got {type(value).__name__}', field=field)
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _CODE.fullmatch(text) else text
    return value


def _status(value: int | str, field: str) -> Status:
    if isinstance(value, int):
        if value in STATUS_CODES:
            return STATUS_CODES[value]
        if value >= 6:
            return Status.OPEN
        raise InvalidPayload(f'unknown status code {value}', field=field)
    # A name not in the table is a custom status (Freshdesk's are all "unresolved" states).
    return STATUS_NAMES.get(value.lower(), Status.OPEN)


def _priority(value: int | str, field: str) -> Priority:
    priority = PRIORITY_CODES.get(value) if isinstance(value, int) else PRIORITY_NAMES.get(value.lower())
    if priority is None:
        raise InvalidPayload('unknown priority: expected 1-4 or Low/Medium/High/Urgent', field=field)
    return priority


def _channel(value: int | str) -> Channel:
    if isinstance(value, int):
        return SOURCE_CODES.get(value, Channel.OTHER)
    return SOURCE_NAMES.get(value.lower(), Channel.OTHER)


def _lenient_datetime(data: dict[str, Any], key: str, field: str) -> datetime | None:
    """ISO-8601 date-time or None. A non-ISO string (a display-format placeholder) is ignored; a non-string fails."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f'expected a date-time string, got {type(value).__name__}', field=field)
    try:
        return parse_datetime(value, field)
    except InvalidPayload:
        return None


class FreshdeskAdapter:
    name: str = Source.FRESHDESK.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        # No timestamp is sent, so there is nothing to check for freshness: duplicates are caught by event id.
        check_token(request, secret)

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        data = load_json_object(request.body)
        if 'ticket' in data:
            source_matches(data, Source.FRESHDESK)
            ticket, prefix = data['ticket'], 'ticket'
            if not isinstance(ticket, dict):
                raise InvalidPayload(f'expected an object, got {type(ticket).__name__}', field='ticket')
        elif 'id' in data:
            ticket, prefix = data, ''  # the API ticket object, sent as is
        else:
            raise InvalidPayload('field is required', field='ticket')
        return ParseResult(events=[self._event(ticket, prefix, received_at, agent_reply=data.get('event') == AGENT_REPLY)])

    def _event(self, ticket: dict[str, Any], prefix: str, received_at: datetime, *, agent_reply: bool = False) -> TicketEvent:
        def path(key: str) -> str:
            return f'{prefix}.{key}' if prefix else key

        ticket_id = require_str(ticket, 'id', path('id'))
        status = _code_or_name(ticket, 'status', path('status'))
        priority = _code_or_name(ticket, 'priority', path('priority'))
        channel = _code_or_name(ticket, 'source', path('source'))
        stats = ticket.get('stats')
        if stats is None:
            stats = {}
        elif not isinstance(stats, dict):
            raise InvalidPayload(f'expected an object, got {type(stats).__name__}', field=path('stats'))
        updated_at = _lenient_datetime(ticket, 'updated_at', path('updated_at'))
        first_response_at = _lenient_datetime(stats, 'first_responded_at', path('stats.first_responded_at'))
        resolved_at = _lenient_datetime(stats, 'resolved_at', path('stats.resolved_at')) or _lenient_datetime(
            stats, 'closed_at', path('stats.closed_at')
        )
        reopened_at = _lenient_datetime(stats, 'reopened_at', path('stats.reopened_at'))
        canonical_status = _status(status, path('status')) if status is not None else None
        if canonical_status is not None and not canonical_status.is_resolved:
            resolved_at = None  # stats keep the last resolution of a reopened ticket: it is not resolved now
        if reopened_at is not None and resolved_at is not None and reopened_at > resolved_at:
            resolved_at = None  # reopened after its last resolution
        agent_key = optional_str(ticket, 'agent_email', path('agent_email')) or optional_str(
            ticket, 'responder_id', path('responder_id')
        )
        fields: dict[str, Any] = {
            'source': Source.FRESHDESK,
            'kind': Kind.TICKET,
            'external_id': ticket_id,
            'occurred_at': updated_at or received_at,
            'created_at': _lenient_datetime(ticket, 'created_at', path('created_at')),
            'channel': _channel(channel) if channel is not None else None,
            'priority': _priority(priority, path('priority')) if priority is not None else None,
            'status': canonical_status,
            'raw_status': str(status) if status is not None else None,
            'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': agent_key},) if agent_key else (),
            # The README's "Agent replied" rule fires as the reply is sent: its time is the reply's time.
            'first_response_at': first_response_at or ((updated_at or received_at) if agent_reply else None),
            'resolved_at': resolved_at,
            'reopen_count': 1 if reopened_at is not None else None,  # stats only say "reopened", i.e. at least once
            'location_id': optional_str(ticket, 'location', path('location')),
            'tags': split_tags(ticket.get('tags'), path('tags'), ','),
        }
        names = {key: path(value.removeprefix('ticket.')) for key, value in FIELD_NAMES.items()}
        return build_event(fields, hash_occurred_at=updated_at is not None, field_names=names)


adapter = FreshdeskAdapter()
