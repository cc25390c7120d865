"""Freshdesk: `GET /api/v2/tickets/{id}?include=stats` (Basic auth, the API key as user name, `X` as password).

`stats.first_responded_at` is the first agent reply; `stats.resolved_at` / `closed_at` the resolution. The ticket
names its agent by `responder_id`; the agent's e-mail (which our template sends) comes from `GET /api/v2/agents/{id}`,
cached per container. Limits are per account and plan, per minute on legacy plans (Growth 200, Pro 400, Enterprise
700) and per hour on current ones; responses carry X-RateLimit-Total / -Remaining, and a 429 carries Retry-After.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from shared.events import Source, Status
from shared.sources.freshdesk import PRIORITY_CODES, SOURCE_CODES, STATUS_CODES
from shared.verify.base import ApiClient, ApiCredentials, HelpdeskTicket, parse_api_datetime

_TICKET_ID = re.compile(r'[0-9]{1,15}')


class FreshdeskApi:
    name: str = Source.FRESHDESK.value
    requests_per_second: float = 50 / 60  # 3,000 an hour (the smallest current plan), paced evenly
    burst: int = 20

    def __init__(self) -> None:
        self._agent_emails: dict[str, str | None] = {}

    def auth_headers(self, credentials: ApiCredentials, token: str | None) -> dict[str, str]:
        basic = base64.b64encode(f'{credentials.api_key or ""}:X'.encode()).decode()
        return {'Authorization': f'Basic {basic}'}

    def fetch_token(self, credentials: ApiCredentials, post: Any) -> str | None:
        return None

    def fetch(self, external_id: str, api: ApiClient) -> HelpdeskTicket | None:
        if not _TICKET_ID.fullmatch(external_id):
            return None  # Freshdesk ticket ids are numbers: anything else cannot exist there
        response = api.get(f'/api/v2/tickets/{external_id}', {'include': 'stats'})
        if response.status == 404 or not isinstance(response.body, dict):
            return None
        ticket = response.body
        stats: dict[str, Any] = ticket['stats'] if isinstance(ticket.get('stats'), dict) else {}
        status = STATUS_CODES.get(ticket['status']) if isinstance(ticket.get('status'), int) else None
        responder = ticket.get('responder_id')
        keys: list[str] = []
        if isinstance(responder, int):
            keys.append(str(responder))
            email = self._agent_email(str(responder), api)
            if email:
                keys.append(email.lower())
        resolved = parse_api_datetime(stats.get('resolved_at')) or parse_api_datetime(stats.get('closed_at'))
        return HelpdeskTicket(
            external_id=external_id,
            status=status if status is not None else (Status.OPEN if isinstance(ticket.get('status'), int) else None),
            assignee_keys=tuple(keys),
            created_at=parse_api_datetime(ticket.get('created_at')),
            first_response_at=parse_api_datetime(stats.get('first_responded_at')),
            resolved_at=resolved if status is not None and status.is_resolved else None,
            priority=PRIORITY_CODES.get(ticket.get('priority')),  # type: ignore[arg-type]
            channel=SOURCE_CODES.get(ticket.get('source')),  # type: ignore[arg-type]
        )

    def _agent_email(self, agent_id: str, api: ApiClient) -> str | None:
        if agent_id not in self._agent_emails:
            response = api.get(f'/api/v2/agents/{agent_id}')
            contact = response.body.get('contact') if response.status == 200 and isinstance(response.body, dict) else None
            email = contact.get('email') if isinstance(contact, dict) else None
            self._agent_emails[agent_id] = email if isinstance(email, str) else None
        return self._agent_emails[agent_id]


adapter = FreshdeskApi()
