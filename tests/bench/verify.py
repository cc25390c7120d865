"""Bench figures of verify mode (issue 13, "a token is a licence to mint points"); wired in tests/bench/run.py.

With `verify: source_api` for Freshdesk, Gorgias and Salesforce against the local fakes of their APIs
(infrastructure/local/fake_helpdesks.py, over a local socket), webhooks with the right token go through the real
ingest (WebhookReceiver: token check, the adapters' parsing), the ticket processor (which asks the API) and the hold
release after the hold window, on moto.

- forged_points_verify_mode: points earned by FORGED webhooks (goal 0): per helpdesk, N tickets the helpdesk does not
  know, claimed solved for a mapped agent, and N genuine tickets re-sent as solved for another mapped agent.
- verified_points_genuine: points earned by the genuine tickets' own webhooks (sanity: > 0), including the first
  response the API reports (Gorgias' and Salesforce's webhooks carry none here).
- verify_api_requests_per_event: helpdesk API requests per verified event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

N = 20
NOW = datetime(2026, 10, 20, tzinfo=UTC)
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
TOKENS = {'freshdesk': 'freshdesk-local-token', 'gorgias': 'gorgias-local-token', 'salesforce': 'salesforce-local-token'}
DIRECTORY = """employee_id,name,role,job_grade,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone,freshdesk_agent_id,gorgias_agent_id,salesforce_agent_id
G1,Gia Genuine,agent,L1,UK-LON,UK,,+447700900001,no,gia@example.com,Europe/London,gia@example.com,gia@example.com,005000000000001AAA
F1,Finn Forger,agent,L1,UK-LON,UK,,+447700900002,no,finn@example.com,Europe/London,finn@example.com,finn@example.com,005000000000002AAA
"""
AGENTS = {'G1': {'freshdesk': 'gia@example.com', 'gorgias': 'gia@example.com', 'salesforce': '005000000000001AAA'},
          'F1': {'freshdesk': 'finn@example.com', 'gorgias': 'finn@example.com', 'salesforce': '005000000000002AAA'}}


def _iso(moment: datetime) -> str:
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def _body(source: str, ticket_id: str, agent: str, status: str, moment: datetime) -> tuple[bytes, dict[str, str], str]:
    """The webhook as the README's setup sends it (no first reply in Gorgias' and Salesforce's), with its token."""
    if source == 'freshdesk':
        ticket = {'id': ticket_id, 'status': 'Resolved' if status == 'solved' else 'Open', 'priority': 'Medium', 'source': 'Email',
                  'agent_email': agent, 'updated_at': _iso(moment)}
        return json.dumps({'source': 'freshdesk', 'ticket': ticket}).encode(), {'X-Pitcrew-Token': TOKENS[source]}, ''
    if source == 'gorgias':
        data = {'source': 'gorgias', 'ticket_id': ticket_id, 'status': 'closed' if status == 'solved' else 'open', 'channel': 'email',
                'created_datetime': _iso(T0), 'updated_datetime': _iso(moment), 'closed_datetime': _iso(moment) if status == 'solved' else '',
                'assignee_email': agent}
        return json.dumps(data).encode(), {'X-Pitcrew-Token': TOKENS[source]}, ''
    closed = status == 'solved'
    case = (f'<sf:Id>{ticket_id}</sf:Id><sf:Status>{"Closed" if closed else "Working"}</sf:Status><sf:IsClosed>{str(closed).lower()}'
            f'</sf:IsClosed><sf:Priority>Medium</sf:Priority><sf:Origin>Email</sf:Origin><sf:OwnerId>{agent}</sf:OwnerId>'
            f'<sf:CreatedDate>{_iso(T0)}</sf:CreatedDate><sf:LastModifiedDate>{_iso(moment)}</sf:LastModifiedDate>'
            + (f'<sf:ClosedDate>{_iso(moment)}</sf:ClosedDate>' if closed else ''))
    body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
            f'<OrganizationId>00D5g000000ABCDEAZ</OrganizationId><Notification><Id>04l{abs(hash((ticket_id, status, agent))) % 10**15:015d}</Id>'
            f'<sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{case}</sObject></Notification>'
            '</notifications></soapenv:Body></soapenv:Envelope>')
    return body.encode(), {}, f'?token={TOKENS[source]}'


def figures() -> dict[str, Any]:
    from infrastructure.local.fake_helpdesks import FakeHelpdesks, FakeTicket
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.events import QueueMessage
    from shared.ingest.secrets import SsmSecretProvider
    from shared.ingest.webhooks import WebhookReceiver
    from shared.ledger.store import LedgerStore
    from shared.sources.base import WebhookRequest
    from shared.tickets.processing import TicketProcessor
    from shared.tickets.store import TicketStore
    from shared.verify.base import ApiCredentials
    from shared.verify.service import SourceVerification
    from shared.verify.settings import SourceSettings
    from tests.support.local_aws import local_aws

    class Queue:
        def __init__(self) -> None:
            self.messages: list[QueueMessage] = []

        def send(self, messages: Any) -> None:
            self.messages.extend(messages)

    fake = FakeHelpdesks().start()
    settings = SourceSettings(verify='source_api', requests_per_minute=60_000, burst=1_000)
    credentials = fake.credentials()

    class Credentials:
        def get(self, source: str) -> ApiCredentials:
            return ApiCredentials.model_validate(credentials[source])

    verifier = SourceVerification(Credentials(), lambda: dict.fromkeys(('freshdesk', 'gorgias', 'salesforce'), settings))
    try:
        with local_aws():
            directory = DirectoryStore()
            directory.import_rows(parse_export(DIRECTORY, 'csv'), NOW)
            queue = Queue()
            receiver = WebhookReceiver(secrets=SsmSecretProvider(), queue=queue, quarantine=None, max_body_bytes=1_048_576)  # type: ignore[arg-type]
            processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore(), verifier=verifier)
            events: list[Any] = []  # in send order: genuine open, genuine solved, forged unknown, forged other agent
            for index, source in enumerate(('freshdesk', 'gorgias', 'salesforce')):
                for n in range(N):
                    number = 100_000 + index * 1_000 + n
                    genuine = f'500{number:012d}AAA' if source == 'salesforce' else str(number)
                    unknown = f'500{number + 500:012d}AAA' if source == 'salesforce' else str(number + 500)
                    replied, solved = T0 + timedelta(minutes=20), T0 + timedelta(minutes=70)
                    fake.put(source, FakeTicket(genuine, AGENTS['G1'][source], 'solved', T0, replied, solved, agent_id=1))
                    for ticket_id, agent, status, moment in ((genuine, AGENTS['G1'][source], 'open', T0),
                                                             (genuine, AGENTS['G1'][source], 'solved', solved),
                                                             (unknown, AGENTS['F1'][source], 'solved', solved),
                                                             (genuine, AGENTS['F1'][source], 'solved', solved + timedelta(minutes=1))):
                        body, headers, query = _body(source, ticket_id, agent, status, moment)
                        request = WebhookRequest(body=body, headers={'Content-Type': 'application/json', **headers},
                                                 query=dict([query[1:].split('=', 1)]) if query else {})
                        answer = receiver.receive(source, request, NOW)
                        if answer.status_code != 200:
                            raise RuntimeError(f'{source} webhook refused: {answer.status_code} {answer.body}')
                        events.extend(message.event for message in queue.messages if message.event is not None)
                        queue.messages.clear()
            outcomes = [processor.apply(event, NOW).outcome.value for event in events]
            for key in {event.ticket_key for event in events}:
                processor.release(key, NOW + timedelta(days=60))
            forged = sum(entry.amount for entry in processor.ledger.entries_for('F1'))
            genuine_points = sum(entry.amount for entry in processor.ledger.entries_for('G1'))
            api_requests = sum(fake.count(source) for source in ('freshdesk', 'gorgias', 'salesforce'))
            return {
                'forged_points_verify_mode': forged,
                'verified_points_genuine': genuine_points,
                'verify_forged_events': 2 * 3 * N,
                'verify_events_rejected': outcomes.count('rejected'),
                'verify_api_requests_per_event': round(api_requests / len(events), 2),
            }
    finally:
        fake.stop()

