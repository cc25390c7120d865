"""Gorgias: `GET /api/tickets/{id}` and `GET /api/tickets/{id}/messages` (Basic auth: the user's e-mail and API key).

The first agent reply is the earliest public message with `from_agent: true` (internal notes are not replies to the
customer). Gorgias paces API-key integrations with a leaky bucket of 40 requests per 20 s (10 s on Enterprise);
responses carry X-Gorgias-Account-Api-Call-Limit ("10/40") and a 429 carries Retry-after.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

from shared.events import Source, Status
from shared.sources.gorgias import _channel
from shared.verify.base import ApiClient, ApiCredentials, HelpdeskTicket, parse_api_datetime

_TICKET_ID = re.compile(r'[0-9]{1,15}')
STATUSES = {'open': Status.OPEN, 'closed': Status.CLOSED}


def first_agent_reply(messages: list[Any]) -> datetime | None:
    times = []
    for message in messages:
        if not isinstance(message, dict) or message.get('from_agent') is not True or message.get('public') is False:
            continue
        moment = parse_api_datetime(message.get('sent_datetime')) or parse_api_datetime(message.get('created_datetime'))
        if moment is not None:
            times.append(moment)
    return min(times, default=None)


class GorgiasApi:
    name: str = Source.GORGIAS.value
    requests_per_second: float = 40 / 20  # the leaky bucket's drain rate for API keys
    burst: int = 40

    def auth_headers(self, credentials: ApiCredentials, token: str | None) -> dict[str, str]:
        basic = base64.b64encode(f'{credentials.email or ""}:{credentials.api_key or ""}'.encode()).decode()
        return {'Authorization': f'Basic {basic}'}

    def fetch_token(self, credentials: ApiCredentials, post: Any) -> str | None:
        return None

    def fetch(self, external_id: str, api: ApiClient) -> HelpdeskTicket | None:
        if not _TICKET_ID.fullmatch(external_id):
            return None
        response = api.get(f'/api/tickets/{external_id}')
        if response.status == 404 or not isinstance(response.body, dict):
            return None
        ticket = response.body
        messages = ticket.get('messages')
        if not isinstance(messages, list):
            listed = api.get(f'/api/tickets/{external_id}/messages')
            data = listed.body.get('data') if isinstance(listed.body, dict) else None
            messages = data if isinstance(data, list) else []
        user: dict[str, Any] = ticket['assignee_user'] if isinstance(ticket.get('assignee_user'), dict) else {}
        keys = [str(value).lower() for value in (user.get('id'), user.get('email')) if value not in (None, '')]
        status = STATUSES.get(str(ticket.get('status')).lower())
        channel = ticket.get('channel')
        return HelpdeskTicket(
            external_id=external_id,
            status=status,
            assignee_keys=tuple(keys),
            created_at=parse_api_datetime(ticket.get('created_datetime')),
            first_response_at=first_agent_reply(messages),
            resolved_at=parse_api_datetime(ticket.get('closed_datetime')) if status is Status.CLOSED else None,
            channel=_channel(channel) if isinstance(channel, str) and channel else None,
        )


adapter = GorgiasApi()
