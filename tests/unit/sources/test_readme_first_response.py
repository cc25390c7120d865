"""The setups the README documents for Freshdesk, Gorgias and Salesforce carry the first agent reply: each documented
payload, rendered as the helpdesk would and parsed by the real adapter, yields a first response."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from shared.sources.base import WebhookRequest
from shared.sources.freshdesk import adapter as freshdesk
from shared.sources.gorgias import adapter as gorgias
from shared.sources.salesforce import adapter as salesforce

README = (Path(__file__).resolve().parents[3] / 'README.md').read_text()
RECEIVED = datetime(2026, 10, 5, 9, 40, tzinfo=UTC)


def section(title: str) -> str:
    start = README.index(f'\n### {title}')
    return README[start:README.index('\n### ', start + 5)]


def json_blocks(text: str) -> list[str]:
    return re.findall(r'```json\n(.*?)```', text, re.S)


def render(template: str, values: dict[str, str]) -> bytes:
    """Fill `{{placeholder}}`s as the helpdesk does (unknown placeholders render empty)."""
    return re.sub(r'\{\{\s*([^}]+?)\s*\}\}', lambda m: values.get(m.group(1), ''), template).encode()


def test_the_freshdesk_agent_replied_rule_reports_the_first_response() -> None:
    # Given the README's Freshdesk bodies, rendered for an open ticket as the rules would send them
    values = {'ticket.id': '4711', 'ticket.status': 'Open', 'ticket.priority': 'High', 'ticket.source': 'Email',
              'ticket.agent.email': 'agent1@example.com', 'ticket.group.name': 'Support', 'ticket.tags': 'vip'}
    bodies = [render(block, values) for block in json_blocks(section('Freshdesk'))]

    # When the real adapter parses each
    events = [freshdesk.parse(WebhookRequest(body=body, headers={}), RECEIVED).events[0] for body in bodies]

    # Then one of the documented rules yields the first response (the reply rule, at the time it fired)
    assert [event.first_response_at for event in events if event.first_response_at] == [RECEIVED]


def test_the_gorgias_integration_reports_a_reply_after_the_customers_last_message() -> None:
    # Given the README's Gorgias body, rendered after an agent answered the customer
    values = {'ticket.id': '88', 'ticket.status': 'open', 'ticket.channel': 'email', 'ticket.via': 'email',
              'ticket.created_datetime': '2026-10-05T09:00:00', 'ticket.updated_datetime': '2026-10-05T09:31:00',
              'ticket.assignee_user.email': 'agent1@example.com', 'ticket.last_message_datetime': '2026-10-05T09:31:00',
              'ticket.last_received_message_datetime': '2026-10-05T09:00:00', 'ticket.tags': 'shop'}
    [block] = json_blocks(section('Gorgias'))

    # When the real adapter parses it
    [event] = gorgias.parse(WebhookRequest(body=render(block, values), headers={}), RECEIVED).events

    # Then the reply is the first response
    assert event.first_response_at == datetime(2026, 10, 5, 9, 31, tzinfo=UTC)


def test_the_salesforce_outbound_message_fields_carry_the_first_response() -> None:
    # Given an Outbound Message with exactly the Case fields the README says to tick
    text = section('Salesforce Service Cloud (Outbound Message)')
    fields = re.findall(r'`([A-Za-z_]+)`', text[text.index('Fields to send'):text.index('3. **First replies.**')])
    sample = {'Id': '500000000100001AAA', 'Status': 'Working', 'IsClosed': 'false', 'Priority': 'High', 'Origin': 'Email',
              'OwnerId': '005000000000001AAA', 'CreatedDate': '2026-10-05T09:00:00.000Z', 'LastModifiedDate': '2026-10-05T09:31:00.000Z',
              'IsEscalated': 'false', 'First_Response_At__c': '2026-10-05T09:25:00.000Z'}
    case = ''.join(f'<sf:{name}>{sample[name]}</sf:{name}>' for name in dict.fromkeys(fields) if name in sample)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        '<OrganizationId>00D5g000000ABCDEAZ</OrganizationId><Notification><Id>04l000000000001AAA</Id>'
        f'<sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{case}</sObject></Notification>'
        '</notifications></soapenv:Body></soapenv:Envelope>'
    ).encode()

    # When the real adapter parses it
    [event] = salesforce.parse(WebhookRequest(body=body, headers={}), RECEIVED).events

    # Then the ticked custom field is the first response
    assert 'First_Response_At__c' in fields
    assert event.first_response_at == datetime(2026, 10, 5, 9, 25, tzinfo=UTC)
