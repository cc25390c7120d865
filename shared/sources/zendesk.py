"""Zendesk: a webhook connected to a trigger, whose JSON body is the template we document (README).

Zendesk renders `{{placeholders}}` as display text ("Solved", "On-hold", "High", "Phone call (incoming)"), so the
maps below take display text and API values alike, case-insensitively. Signature: base64(HMAC-SHA256(secret string
bytes, timestamp header + raw body)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from shared.errors import AuthenticationFailed, InvalidPayload
from shared.events import AssigneeRole, Channel, Kind, Priority, Source, Status, TicketEvent
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import (
    build_event,
    ensure_fresh,
    load_json_object,
    optional_datetime,
    optional_int,
    optional_str,
    parse_datetime,
    require_str,
    source_matches,
    split_tags,
)

SIGNATURE_HEADER = 'X-Zendesk-Webhook-Signature'
TIMESTAMP_HEADER = 'X-Zendesk-Webhook-Signature-Timestamp'

STATUSES = {
    'new': Status.NEW,
    'open': Status.OPEN,
    'pending': Status.PENDING,
    'hold': Status.ON_HOLD,
    'on-hold': Status.ON_HOLD,
    'on hold': Status.ON_HOLD,
    'on_hold': Status.ON_HOLD,
    'solved': Status.SOLVED,
    'closed': Status.CLOSED,
}
PRIORITIES = {'low': Priority.LOW, 'normal': Priority.NORMAL, 'high': Priority.HIGH, 'urgent': Priority.URGENT}
NO_PRIORITY = {'-', 'none'}
# `{{ticket.via}}` display text (and the API's via.channel values) -> channel. Anything else -> other.
CHANNELS = {
    'mail': Channel.EMAIL,
    'email': Channel.EMAIL,
    'web form': Channel.WEB,
    'web': Channel.WEB,
    'help center': Channel.WEB,
    'web widget': Channel.CHAT,
    'chat': Channel.CHAT,
    'messaging': Channel.CHAT,
    'native messaging': Channel.CHAT,
    'native_messaging': Channel.CHAT,
    'mobile sdk': Channel.CHAT,
    'facebook messenger': Channel.SOCIAL,
    'facebook': Channel.SOCIAL,
    'instagram direct': Channel.SOCIAL,
    'twitter': Channel.SOCIAL,
    'twitter dm': Channel.SOCIAL,
    'x corp': Channel.SOCIAL,
    'line': Channel.SOCIAL,
    'wechat': Channel.SOCIAL,
    'telegram': Channel.SOCIAL,
    'viber': Channel.SOCIAL,
    'whatsapp': Channel.WHATSAPP,
    'sms': Channel.SMS,
    'text': Channel.SMS,
    'voice': Channel.PHONE,
    'voicemail': Channel.PHONE,
    'phone': Channel.PHONE,
}


def _channel(via: str) -> Channel:
    text = via.strip().lower()
    if text in CHANNELS:
        return CHANNELS[text]
    if 'whatsapp' in text:
        return Channel.WHATSAPP
    if text.startswith(('phone call', 'voice')):
        return Channel.PHONE
    return Channel.OTHER


def _status(raw: str) -> Status:
    status = STATUSES.get(raw.strip().lower())
    if status is None:
        raise InvalidPayload(
            'unknown status: expected New, Open, Pending, On-hold, Solved or Closed '
            '(the webhook must render English placeholders)',
            field='ticket.status',
        )
    return status


def _priority(raw: str) -> Priority | None:
    text = raw.strip().lower()
    if text in NO_PRIORITY:
        return None
    priority = PRIORITIES.get(text)
    if priority is None:
        raise InvalidPayload('unknown priority: expected Low, Normal, High or Urgent', field='ticket.priority')
    return priority


def _survey(rating: str | None, ticket_id: str) -> dict[str, Any] | None:
    """Legacy CSAT: 'Good'/'Bad' (also 'Good, I'm satisfied' style texts). Offered/Unoffered/empty: no answer yet."""
    text = (rating or '').strip().lower()
    if text.startswith('good'):
        return {'response_id': f'zendesk:{ticket_id}:satisfaction', 'csat': 5}
    if text.startswith('bad'):
        return {'response_id': f'zendesk:{ticket_id}:satisfaction', 'csat': 1}
    return None


def _valid_signature(body: bytes, timestamp: str, signature: str, secret: str) -> bool:
    mac = hmac.new(secret.encode('utf-8'), timestamp.encode('utf-8') + body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(mac), signature.strip().encode('utf-8', 'replace'))


FIELD_NAMES = {
    'external_id': 'ticket.id',
    'raw_status': 'ticket.status',
    'assignees': 'ticket.assignee_email',
    'survey': 'ticket.satisfaction_rating',
    'location_id': 'ticket.location',
    'tags': 'ticket.tags',
    'occurred_at': 'ticket.updated_at',
}


class ZendeskAdapter:
    name: str = Source.ZENDESK.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            raise AuthenticationFailed(f'missing {SIGNATURE_HEADER} header', field=SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        if not timestamp:
            raise AuthenticationFailed(f'missing {TIMESTAMP_HEADER} header', field=TIMESTAMP_HEADER)
        candidates = [secret.secret] + ([secret.previous_secret] if secret.previous_secret else [])
        results = [_valid_signature(request.body, timestamp, signature, candidate) for candidate in candidates]
        if not any(results):
            raise AuthenticationFailed('signature does not match', field=SIGNATURE_HEADER)
        if check_freshness:
            try:
                signed_at = parse_datetime(timestamp, TIMESTAMP_HEADER)
            except InvalidPayload as exc:
                raise AuthenticationFailed(f'{TIMESTAMP_HEADER} is not an ISO-8601 date-time', field=TIMESTAMP_HEADER) from exc
            ensure_fresh(signed_at.timestamp(), now, TIMESTAMP_HEADER)

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        data = load_json_object(request.body)
        source_matches(data, Source.ZENDESK)
        ticket = data.get('ticket')
        if ticket is None:
            raise InvalidPayload('field is required', field='ticket')
        if not isinstance(ticket, dict):
            raise InvalidPayload(f'expected an object, got {type(ticket).__name__}', field='ticket')
        return ParseResult(events=[self._event(ticket, request, received_at)])

    def _event(self, ticket: dict[str, Any], request: WebhookRequest, received_at: datetime) -> TicketEvent:
        ticket_id = require_str(ticket, 'id', 'ticket.id')
        raw_status = optional_str(ticket, 'status', 'ticket.status')
        raw_priority = optional_str(ticket, 'priority', 'ticket.priority')
        via = optional_str(ticket, 'via', 'ticket.via')
        updated_at = optional_datetime(ticket.get('updated_at'), 'ticket.updated_at')
        occurred_at, from_payload = updated_at, True
        if occurred_at is None:
            from_payload = False
            try:
                occurred_at = optional_datetime(request.header(TIMESTAMP_HEADER), TIMESTAMP_HEADER) or received_at
            except InvalidPayload:
                occurred_at = received_at
        agent_key = optional_str(ticket, 'assignee_email', 'ticket.assignee_email') or optional_str(
            ticket, 'assignee_id', 'ticket.assignee_id'
        )
        status = _status(raw_status) if raw_status else None
        resolved_at = optional_datetime(ticket.get('solved_at'), 'ticket.solved_at')
        if status is not None and not status.is_resolved:
            resolved_at = None  # ticket metrics keep the last solve of a reopened ticket: it is not resolved now
        fields: dict[str, Any] = {
            'source': Source.ZENDESK,
            'kind': Kind.TICKET,
            'external_id': ticket_id,
            'occurred_at': occurred_at,
            'created_at': optional_datetime(ticket.get('created_at'), 'ticket.created_at'),
            'channel': _channel(via) if via else None,
            'priority': _priority(raw_priority) if raw_priority else None,
            'status': status,
            'raw_status': raw_status,
            'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': agent_key},) if agent_key else (),
            'survey': _survey(optional_str(ticket, 'satisfaction_rating', 'ticket.satisfaction_rating'), ticket_id),
            'reply_count': optional_int(ticket, 'replies', 'ticket.replies'),
            'reopen_count': optional_int(ticket, 'reopens', 'ticket.reopens'),
            'first_response_at': optional_datetime(ticket.get('first_reply_at'), 'ticket.first_reply_at'),
            'resolved_at': resolved_at,
            'location_id': optional_str(ticket, 'location', 'ticket.location'),
            'tags': split_tags(ticket.get('tags'), 'ticket.tags'),
        }
        return build_event(fields, hash_occurred_at=from_payload, field_names=FIELD_NAMES)


adapter = ZendeskAdapter()
