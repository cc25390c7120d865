"""Local fakes of the three helpdesk REST APIs that verify mode asks (Freshdesk v2, Gorgias, Salesforce REST), on one
local port, each under its own path prefix (`/freshdesk`, `/gorgias`, `/salesforce`): the credentials' `base_url`.

They answer in each vendor's wire format from the tickets put in them (`put`): the local stack puts the sample
month's tickets, so `make run` with verify mode on still awards points, and a ticket nobody put is a 404, as a
forged one is. Wrong credentials get 401; `fail_next` injects a 429 with Retry-After or a 5xx. Every request is
recorded (`requests`).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FRESHDESK_API_KEY = 'local-freshdesk-api-key'
GORGIAS_EMAIL, GORGIAS_API_KEY = 'pitcrew@example.com', 'local-gorgias-api-key'
SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET = 'local-salesforce-client', 'local-salesforce-secret'
SALESFORCE_TOKEN = 'local-salesforce-access-token'
_FRESHDESK_STATUS = {'open': 2, 'pending': 3, 'solved': 4, 'closed': 5}
_FRESHDESK_PRIORITY = {'low': 1, 'normal': 2, 'medium': 2, 'high': 3, 'urgent': 4}
_FRESHDESK_SOURCE = {'email': 1, 'portal': 2, 'web': 2, 'phone': 3, 'chat': 7}
_SALESFORCE_STATUS = {'open': 'Working', 'pending': 'Waiting on Customer', 'solved': 'Closed', 'closed': 'Closed'}
_SALESFORCE_PRIORITY = {'low': 'Low', 'normal': 'Medium', 'medium': 'Medium', 'high': 'High', 'urgent': 'Critical'}
_SOQL_ID = re.compile(r"(?:ParentId|CaseId) = '([A-Za-z0-9]{15,18})'")


@dataclass
class FakeTicket:
    """A helpdesk ticket in neutral terms; each API renders it in its own format."""

    ticket_id: str
    agent_email: str  # Salesforce: the owner's user id (005...)
    status: str = 'open'  # open | pending | solved | closed
    created_at: datetime | None = None
    replied_at: datetime | None = None  # the first agent reply
    solved_at: datetime | None = None
    priority: str = 'normal'
    channel: str = 'email'
    agent_id: int = 0


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ') if moment else None


class FakeHelpdesks:
    def __init__(self, port: int = 0) -> None:
        self.tickets: dict[str, dict[str, FakeTicket]] = {'freshdesk': {}, 'gorgias': {}, 'salesforce': {}}
        self.requests: list[tuple[str, str]] = []  # (source, path)
        self._failures: dict[str, list[tuple[int, float | None]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(('127.0.0.1', port), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def credentials(self) -> dict[str, dict[str, str]]:
        """What the local stack stores at <SOURCE_API_PREFIX>/<source> for these fakes."""
        return {
            'freshdesk': {'base_url': f'{self.base_url}/freshdesk', 'api_key': FRESHDESK_API_KEY},
            'gorgias': {'base_url': f'{self.base_url}/gorgias', 'email': GORGIAS_EMAIL, 'api_key': GORGIAS_API_KEY},
            'salesforce': {'base_url': f'{self.base_url}/salesforce', 'client_id': SALESFORCE_CLIENT_ID,
                           'client_secret': SALESFORCE_CLIENT_SECRET},
        }

    def start(self) -> FakeHelpdesks:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def put(self, source: str, ticket: FakeTicket) -> None:
        with self._lock:
            self.tickets[source][ticket.ticket_id] = ticket

    def fail_next(self, source: str, status: int, retry_after: float | None = None) -> None:
        with self._lock:
            self._failures.setdefault(source, []).append((status, retry_after))

    def count(self, source: str) -> int:
        return sum(1 for name, _ in self.requests if name == source)

    # --- answers ------------------------------------------------------------------------------------------------
    def answer(self, source: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.requests.append((source, path))
            failures = self._failures.get(source)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            status, wait = failure
            return status, {'message': 'injected failure'}, ({'Retry-After': f'{wait:g}'} if wait is not None else {})
        if source == 'salesforce' and path == '/services/oauth2/token':
            form = parse_qs(body.decode())
            if form.get('client_id') == [SALESFORCE_CLIENT_ID] and form.get('client_secret') == [SALESFORCE_CLIENT_SECRET]:
                return 200, {'access_token': SALESFORCE_TOKEN, 'token_type': 'Bearer'}, {}
            return 400, {'error': 'invalid_client'}, {}
        if not self._authorized(source, headers.get('authorization', '')):
            return 401, {'message': 'authentication failed'}, {}
        handler = {'freshdesk': self._freshdesk, 'gorgias': self._gorgias, 'salesforce': self._salesforce}[source]
        return handler(path, query)

    def _authorized(self, source: str, header: str) -> bool:
        if source == 'salesforce':
            return header == f'Bearer {SALESFORCE_TOKEN}'
        user, password = {'freshdesk': (FRESHDESK_API_KEY, 'X'), 'gorgias': (GORGIAS_EMAIL, GORGIAS_API_KEY)}[source]
        return header == 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()

    def _find(self, source: str, ticket_id: str) -> FakeTicket | None:
        with self._lock:
            return self.tickets[source].get(ticket_id)

    def _freshdesk(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        limits = {'X-RateLimit-Total': '3000', 'X-RateLimit-Remaining': '2999', 'X-RateLimit-Used-CurrentRequest': '1'}
        found = re.fullmatch(r'/api/v2/(tickets|agents)/([0-9]+)', path)
        if found and found.group(1) == 'agents':
            agent = next((t for t in list(self.tickets['freshdesk'].values()) if str(t.agent_id) == found.group(2)), None)
            if agent is None:
                return 404, None, limits
            return 200, {'id': agent.agent_id, 'contact': {'email': agent.agent_email}}, limits
        ticket = self._find('freshdesk', found.group(2)) if found else None
        if ticket is None:
            return 404, None, limits
        resolved = ticket.status in ('solved', 'closed')
        body: dict[str, Any] = {
            'id': int(ticket.ticket_id), 'status': _FRESHDESK_STATUS[ticket.status],
            'priority': _FRESHDESK_PRIORITY[ticket.priority.lower()],
            'source': _FRESHDESK_SOURCE.get(ticket.channel.lower(), 1), 'responder_id': ticket.agent_id, 'group_id': None,
            'created_at': _iso(ticket.created_at), 'updated_at': _iso(ticket.solved_at or ticket.replied_at or ticket.created_at),
            'custom_fields': {},
        }
        if query.get('include') == ['stats']:
            body['stats'] = {'first_responded_at': _iso(ticket.replied_at), 'resolved_at': _iso(ticket.solved_at) if resolved else None,
                             'closed_at': None, 'agent_responded_at': _iso(ticket.replied_at)}
        return 200, body, limits

    def _gorgias(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        limits = {'X-Gorgias-Account-Api-Call-Limit': '1/40'}
        found = re.fullmatch(r'/api/tickets/([0-9]+)(/messages)?', path)
        ticket = self._find('gorgias', found.group(1)) if found else None
        if found is None or ticket is None:
            return 404, {'error': {'msg': 'Resource not found.'}}, limits
        messages = [{'id': 1, 'from_agent': False, 'public': True, 'created_datetime': _iso(ticket.created_at),
                     'sent_datetime': _iso(ticket.created_at)}]
        if ticket.replied_at is not None:
            messages.append({'id': 2, 'from_agent': True, 'public': True, 'created_datetime': _iso(ticket.replied_at),
                             'sent_datetime': _iso(ticket.replied_at)})
        if found.group(2):
            return 200, {'data': messages, 'meta': {'next_cursor': None}}, limits
        closed = ticket.status in ('solved', 'closed')
        return 200, {
            'id': int(ticket.ticket_id), 'status': 'closed' if closed else 'open', 'channel': ticket.channel, 'via': ticket.channel,
            'assignee_user': {'id': ticket.agent_id, 'email': ticket.agent_email},
            'created_datetime': _iso(ticket.created_at), 'closed_datetime': _iso(ticket.solved_at) if closed else None,
        }, limits

    def _salesforce(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        limits = {'Sforce-Limit-Info': 'api-usage=1/15000'}
        found = re.fullmatch(r'/services/data/v[0-9.]+/sobjects/Case/([A-Za-z0-9]+)', path)
        if found:
            ticket = self._find('salesforce', found.group(1))
            if ticket is None:
                return 404, [{'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}], limits
            closed = ticket.status in ('solved', 'closed')
            return 200, {
                'attributes': {'type': 'Case'}, 'Id': ticket.ticket_id, 'Status': _SALESFORCE_STATUS[ticket.status], 'IsClosed': closed,
                'OwnerId': ticket.agent_email, 'Priority': _SALESFORCE_PRIORITY[ticket.priority.lower()], 'Origin': ticket.channel,
                'CreatedDate': _iso(ticket.created_at), 'ClosedDate': _iso(ticket.solved_at) if closed else None,
            }, limits
        if re.fullmatch(r'/services/data/v[0-9.]+/query', path):
            soql = (query.get('q') or [''])[0]
            case = _SOQL_ID.search(soql)
            ticket = self._find('salesforce', case.group(1)) if case else None
            records: list[dict[str, Any]] = []
            if ticket is not None and ticket.replied_at is not None:
                if 'FROM EmailMessage' in soql:
                    records = [{'attributes': {'type': 'EmailMessage'}, 'MessageDate': _iso(ticket.replied_at)}]
                elif 'FROM CaseMilestone' in soql:
                    records = [{'attributes': {'type': 'CaseMilestone'}, 'CompletionDate': _iso(ticket.replied_at)}]
            return 200, {'totalSize': len(records), 'done': True, 'records': records}, limits
        return 404, [{'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}], limits


def _handler(fake: FakeHelpdesks) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            url = urlsplit(self.path)
            source, _, rest = url.path.lstrip('/').partition('/')
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else b''
            if source not in fake.tickets:
                status, payload, extra = 404, {'message': 'unknown helpdesk'}, dict[str, str]()
            else:
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = fake.answer(source, '/' + rest, parse_qs(url.query), headers, body)
            data = json.dumps(payload).encode() if payload is not None else b''
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve  # noqa: N815

    return Handler
