"""Salesforce Service Cloud: a workflow / flow Outbound Message on Case (SOAP, 1..100 notifications per request).

Salesforce cannot add headers or sign the message, so the endpoint URL carries `?token=<secret>` and the message's
`OrganizationId` must be our org. Each notification carries the Case's *current* field values (only the fields
ticked in the Outbound Message definition); redeliveries keep their notification `Id`, which is the event id.
Tick at least Id, Status, IsClosed, Priority, Origin, OwnerId, CreatedDate, ClosedDate and LastModifiedDate:
LastModifiedDate is what orders the changes (without it the event time falls back to SystemModstamp, ClosedDate,
CreatedDate, then the receive time).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from shared.errors import AuthenticationFailed, InvalidPayload
from shared.events import AssigneeRole, Channel, Kind, Priority, Source, Status, TicketEvent
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import build_event, check_token, decode_utf8, parse_datetime

MAX_NOTIFICATIONS = 100
ACK_CONTENT_TYPE = 'text/xml; charset=utf-8'
ACK_BODY = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
    <soapenv:Body>
        <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
            <Ack>true</Ack>
        </notificationsResponse>
    </soapenv:Body>
</soapenv:Envelope>
"""
_XSI = '{http://www.w3.org/2001/XMLSchema-instance}'
_DECLARATION = re.compile(r'<!\s*(DOCTYPE|ENTITY)', re.IGNORECASE)
_ORG_ID_LENGTH = 15  # 18-character ids are the 15-character id plus a case-checksum suffix
FIRST_RESPONSE_FIELD = 'First_Response_At__c'  # custom Case field (README: Salesforce setup)
USER_ID_PREFIX = '005'  # OwnerId is a User (005...) or a Queue (00G...); only users are assignees

STATUSES = {
    'new': Status.NEW,
    'working': Status.OPEN,
    'escalated': Status.OPEN,
    'open': Status.OPEN,
    'in progress': Status.OPEN,
    'on hold': Status.ON_HOLD,
    'on-hold': Status.ON_HOLD,
    'waiting on customer': Status.PENDING,
    'awaiting customer': Status.PENDING,
    'pending': Status.PENDING,
    'solved': Status.SOLVED,
    'resolved': Status.SOLVED,
    'closed': Status.CLOSED,
}
PRIORITIES = {
    'low': Priority.LOW,
    'medium': Priority.NORMAL,
    'normal': Priority.NORMAL,
    'high': Priority.HIGH,
    'critical': Priority.URGENT,
    'urgent': Priority.URGENT,
}
ORIGINS = {
    'phone': Channel.PHONE,
    'email': Channel.EMAIL,
    'email-to-case': Channel.EMAIL,
    'web': Channel.WEB,
    'web-to-case': Channel.WEB,
    'portal': Channel.WEB,
    'community': Channel.WEB,
    'chat': Channel.CHAT,
    'messaging': Channel.CHAT,
    'sms': Channel.SMS,
    'text': Channel.SMS,
    'whatsapp': Channel.WHATSAPP,
    'facebook': Channel.SOCIAL,
    'twitter': Channel.SOCIAL,
    'social': Channel.SOCIAL,
    'walk-in': Channel.WALK_IN,
    'walk in': Channel.WALK_IN,
}


def _local(tag: str) -> str:
    return tag.rsplit('}', 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) == name:
            return child
    return None


def _notifications(body: bytes) -> ET.Element:
    """The <notifications> element, parsed safely: no DTDs or entities (no entity expansion, no external fetch)."""
    text = decode_utf8(body)
    if not text.strip():
        raise InvalidPayload('body is empty', field='body')
    if '\x00' in text:
        raise InvalidPayload('body contains NUL characters', field='body')
    if _DECLARATION.search(text):
        raise InvalidPayload('DOCTYPE and ENTITY declarations are not accepted', field='body')
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError, LookupError, RecursionError) as exc:
        raise InvalidPayload(f'body is not well-formed XML: {exc}'[:200], field='body') from exc
    if _local(root.tag) != 'Envelope':
        raise InvalidPayload('expected a SOAP Envelope as the root element', field='Envelope')
    soap_body = _child(root, 'Body')
    if soap_body is None:
        raise InvalidPayload('field is required', field='Envelope.Body')
    notifications = _child(soap_body, 'notifications')
    if notifications is None:
        raise InvalidPayload('field is required', field='notifications')
    return notifications


def _text(element: ET.Element | None) -> str | None:
    """Element text; None when absent, empty or xsi:nil."""
    if element is None or element.get(f'{_XSI}nil') == 'true':
        return None
    text = (element.text or '').strip()
    return text or None


def _bool(value: str | None, field: str) -> bool | None:
    if value is None:
        return None
    if value in ('true', '1'):
        return True
    if value in ('false', '0'):
        return False
    raise InvalidPayload('expected true or false', field=field)


def _status(raw: str | None, is_closed: bool | None) -> Status | None:
    if is_closed:
        return Status.CLOSED  # closed statuses are configurable per org: IsClosed is the truth
    if raw is None:
        return None
    status = STATUSES.get(raw.lower(), Status.OPEN)
    if is_closed is False and status.is_resolved:
        return Status.OPEN
    return status


class SalesforceAdapter:
    name: str = Source.SALESFORCE.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        # Outbound Messages carry no timestamp: redeliveries (for up to 24 h) are caught by notification id.
        check_token(request, secret)
        expected = (secret.organization_id or '').strip()
        if len(expected) < _ORG_ID_LENGTH:
            raise AuthenticationFailed('no Salesforce organization_id is configured for this source', field='OrganizationId')
        try:
            notifications = _notifications(request.body)
        except InvalidPayload:
            return  # the token is right; parse() rejects the unreadable body as invalid (400), not as unauthenticated
        given = _text(_child(notifications, 'OrganizationId')) or ''
        if len(given) < _ORG_ID_LENGTH or given[:_ORG_ID_LENGTH] != expected[:_ORG_ID_LENGTH]:
            raise AuthenticationFailed('OrganizationId is not the configured organisation', field='OrganizationId')

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        notifications = [
            child for child in _notifications(request.body) if isinstance(child.tag, str) and _local(child.tag) == 'Notification'
        ]
        if not notifications:
            raise InvalidPayload('at least one Notification is required', field='Notification')
        if len(notifications) > MAX_NOTIFICATIONS:
            reason = f'at most {MAX_NOTIFICATIONS} notifications per message, got {len(notifications)}'
            raise InvalidPayload(reason, field='Notification')
        events = [self._event(notification, index, received_at) for index, notification in enumerate(notifications)]
        return ParseResult(events=events, ack_content_type=ACK_CONTENT_TYPE, ack_body=ACK_BODY)

    def _event(self, notification: ET.Element, index: int, received_at: datetime) -> TicketEvent:
        at = f'Notification[{index}]'
        notification_id = _text(_child(notification, 'Id'))
        if notification_id is None:
            raise InvalidPayload('field is required', field=f'{at}.Id')
        sobject = _child(notification, 'sObject')
        if sobject is None:
            raise InvalidPayload('field is required', field=f'{at}.sObject')
        sobject_type = (sobject.get(f'{_XSI}type') or '').rsplit(':', 1)[-1]
        if sobject_type != 'Case':
            # An sObject type is a schema name, not data: named when it looks like one (never free text from the sender)
            named = sobject_type if re.fullmatch(r'[A-Za-z][A-Za-z0-9_]{0,39}', sobject_type) else 'another type'
            reason = f'only Case outbound messages are supported, got sObject type {named}'
            raise InvalidPayload(reason, field=f'{at}.sObject')
        case: dict[str, str | None] = {}
        for child in sobject:
            if isinstance(child.tag, str):
                case.setdefault(_local(child.tag), _text(child))

        def date(name: str) -> datetime | None:
            value = case.get(name)
            return parse_datetime(value, f'{at}.sObject.{name}') if value is not None else None

        case_id = case.get('Id')
        if case_id is None:
            raise InvalidPayload('field is required', field=f'{at}.sObject.Id')
        is_closed = _bool(case.get('IsClosed'), f'{at}.sObject.IsClosed')
        is_escalated = _bool(case.get('IsEscalated'), f'{at}.sObject.IsEscalated')
        occurred_at = date('LastModifiedDate') or date('SystemModstamp') or date('ClosedDate') or date('CreatedDate')
        owner = case.get('OwnerId')
        is_user = owner is not None and owner.startswith(USER_ID_PREFIX)
        priority = case.get('Priority')
        origin = case.get('Origin')
        fields: dict[str, Any] = {
            'source': Source.SALESFORCE,
            'kind': Kind.TICKET,
            'external_id': case_id,
            'occurred_at': occurred_at or received_at,
            'created_at': date('CreatedDate'),
            'channel': ORIGINS.get(origin.lower(), Channel.OTHER) if origin else None,
            'priority': PRIORITIES.get(priority.lower()) if priority else None,
            'status': _status(case.get('Status'), is_closed),
            'raw_status': case.get('Status'),
            'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': owner},) if is_user else (),
            'resolved_at': date('ClosedDate'),
            # Filled by the README's record-triggered flow on the Case's first outgoing EmailMessage.
            'first_response_at': date(FIRST_RESPONSE_FIELD),
            'tags': ('escalated',) if is_escalated else (),
        }
        names = {
            'event_id': f'{at}.Id',
            'external_id': f'{at}.sObject.Id',
            'raw_status': f'{at}.sObject.Status',
            'assignees': f'{at}.sObject.OwnerId',
        }
        return build_event(fields, event_id=notification_id, field_names=names)


adapter = SalesforceAdapter()
