from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import AuthenticationFailed, InvalidPayload
from shared.events import AssigneeRole, Channel, Kind, Priority, Source, Status
from shared.sources.base import SourceSecret, WebhookRequest
from shared.sources.common import TOKEN_HEADER
from shared.sources.salesforce import ACK_BODY, ACK_CONTENT_TYPE, adapter

from ._support import RECEIVED_AT, TWO_MEGABYTES, make_request, parse_outcome, sample_bytes

ORG_ID_18 = '00D5g000000ABCDEAZ'
SECRET = SourceSecret(secret='sf-token-77aa', organization_id=ORG_ID_18)
CASE_XML = sample_bytes('salesforce_outbound_case.xml').decode()
FIRST_NOTIFICATION = CASE_XML[CASE_XML.index('<Notification>') : CASE_XML.index('</Notification>') + len('</Notification>')]


def with_notifications(notifications: list[str]) -> bytes:
    """The case sample with its notifications replaced."""
    head = CASE_XML[: CASE_XML.index('<Notification>')]
    tail = CASE_XML[CASE_XML.rindex('</Notification>') + len('</Notification>') :]
    return (head + ''.join(notifications) + tail).encode()


def first_case(**fields: str | None) -> bytes:
    """The sample's first notification only, with sObject fields set (None = xsi:nil) or added."""
    notification = FIRST_NOTIFICATION
    for name, value in fields.items():
        element = f'<sf:{name} xsi:nil="true"/>' if value is None else f'<sf:{name}>{escape(value)}</sf:{name}>'
        start = notification.find(f'<sf:{name}>')
        if start == -1:
            start = notification.find(f'<sf:{name} ')
        if start == -1:
            notification = notification.replace('</sObject>', f'{element}</sObject>')
        else:
            end = notification.find('>', start)
            closing = notification.find(f'</sf:{name}>', start)
            stop = end + 1 if notification[end - 1] == '/' else closing + len(f'</sf:{name}>')
            notification = notification[:start] + element + notification[stop:]
    return with_notifications([notification])


def parse(body: bytes) -> list:
    return adapter.parse(make_request(body), RECEIVED_AT).events


def authed_request(body: bytes, token: str = SECRET.secret) -> WebhookRequest:
    return WebhookRequest(body=body, headers={'content-type': 'text/xml; charset=utf-8'}, query={'token': token})


# --- authentication ---------------------------------------------------------------------------------------------


def test_token_in_the_query_and_our_org_authenticate() -> None:
    # Given the sample from our org, to the endpoint URL with ?token=
    # When / Then it authenticates
    adapter.authenticate(authed_request(sample_bytes('salesforce_outbound_case.xml')), SECRET, RECEIVED_AT)


def test_fifteen_character_configured_org_id_matches_the_eighteen_character_one() -> None:
    # Given the admin stored the 15-character org id
    secret = SourceSecret(secret=SECRET.secret, organization_id=ORG_ID_18[:15])

    # When / Then the 18-character OrganizationId in the message matches it
    adapter.authenticate(authed_request(sample_bytes('salesforce_outbound_case.xml')), secret, RECEIVED_AT)


def test_wrong_token_is_rejected() -> None:
    # Given the right org but a wrong token
    # When / Then authentication fails on the token
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(authed_request(sample_bytes('salesforce_outbound_case.xml'), token='guess'), SECRET, RECEIVED_AT)
    assert caught.value.field == TOKEN_HEADER


def test_missing_token_is_rejected() -> None:
    # Given no token at all
    request = WebhookRequest(body=sample_bytes('salesforce_outbound_case.xml'), headers={})

    # When / Then authentication fails
    with pytest.raises(AuthenticationFailed):
        adapter.authenticate(request, SECRET, RECEIVED_AT)


@pytest.mark.parametrize('configured', ['00D7F00000107XsUAI', '00D5g000000ABCE', '00d5g000000abcdeaz'])
def test_message_from_another_org_is_rejected(configured: str) -> None:
    # Given a correct token but a configured org id that is not the message's (ids are case-sensitive)
    secret = SourceSecret(secret=SECRET.secret, organization_id=configured)

    # When / Then authentication fails naming OrganizationId
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(authed_request(sample_bytes('salesforce_outbound_case.xml')), secret, RECEIVED_AT)
    assert caught.value.field == 'OrganizationId'


def test_missing_configured_org_id_fails_closed() -> None:
    # Given a secret without organization_id
    # When / Then nothing authenticates
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(authed_request(CASE_XML.encode()), SourceSecret(SECRET.secret), RECEIVED_AT)
    assert caught.value.field == 'OrganizationId'


def test_message_without_organization_id_is_rejected() -> None:
    # Given a message whose OrganizationId element is missing
    body = CASE_XML.replace('<OrganizationId>00D5g000000ABCDEAZ</OrganizationId>', '').encode()

    # When / Then authentication fails naming OrganizationId
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(authed_request(body), SECRET, RECEIVED_AT)
    assert caught.value.field == 'OrganizationId'


def test_redelivery_a_day_later_still_authenticates() -> None:
    # Given an outbound message retried 23 hours later (it carries no timestamp)
    # When / Then freshness does not apply: duplicates are caught by notification id
    adapter.authenticate(authed_request(sample_bytes('salesforce_outbound_case.xml')), SECRET, RECEIVED_AT + timedelta(hours=23))


def test_token_header_is_also_accepted() -> None:
    # Given the token in the X-Pitcrew-Token header (e.g. behind a proxy that adds it)
    request = WebhookRequest(body=sample_bytes('salesforce_outbound_case.xml'), headers={TOKEN_HEADER: SECRET.secret})

    # When / Then it authenticates
    adapter.authenticate(request, SECRET, RECEIVED_AT)


# --- parsing ----------------------------------------------------------------------------------------------------


def test_two_notification_sample_gives_two_events_with_notification_ids() -> None:
    # Given the case sample with two notifications
    # When it is parsed
    result = adapter.parse(make_request(sample_bytes('salesforce_outbound_case.xml')), RECEIVED_AT)
    escalated, closed = result.events

    # Then each notification is one event keyed by its notification id
    assert [event.event_id for event in result.events] == ['04l5g00000Gx7QzAAJ', '04l5g00000Gx7R0AAJ']
    assert escalated.source is Source.SALESFORCE
    assert escalated.kind is Kind.TICKET
    assert escalated.external_id == '5005g00000AbCdEAAV'
    assert (escalated.status, escalated.raw_status) == (Status.OPEN, 'Escalated')
    assert escalated.priority is Priority.HIGH
    assert escalated.channel is Channel.EMAIL
    assert escalated.created_at == datetime(2024, 5, 14, 9, 12, 31, tzinfo=UTC)
    assert escalated.occurred_at == escalated.created_at  # no LastModifiedDate ticked in the sample
    assert escalated.resolved_at is None  # <sf:ClosedDate xsi:nil="true"/>
    assert [(a.role, a.agent_key) for a in escalated.assignees] == [(AssigneeRole.AGENT, '0055g00000xyz12aab')]
    assert escalated.tags == ('escalated',)
    assert (closed.status, closed.raw_status) == (Status.CLOSED, 'Closed')
    assert closed.priority is Priority.NORMAL
    assert closed.channel is Channel.PHONE
    assert closed.resolved_at == datetime(2024, 5, 14, 11, 40, 3, tzinfo=UTC)
    assert closed.occurred_at == closed.resolved_at


def test_result_carries_the_soap_ack_salesforce_expects() -> None:
    # Given / When the case sample is parsed
    result = adapter.parse(make_request(sample_bytes('salesforce_outbound_case.xml')), RECEIVED_AT)

    # Then the answer is the SOAP Ack, as XML
    assert result.ack_content_type == ACK_CONTENT_TYPE == 'text/xml; charset=utf-8'
    assert result.ack_body == ACK_BODY == sample_bytes('salesforce_outbound_ack.xml').decode()


def test_last_modified_date_is_the_event_time_when_ticked() -> None:
    # Given a notification with LastModifiedDate and SystemModstamp
    body = first_case(LastModifiedDate='2024-05-14T10:01:02.000Z', SystemModstamp='2024-05-14T10:01:03.000Z')

    # When / Then LastModifiedDate is the event time
    assert parse(body)[0].occurred_at == datetime(2024, 5, 14, 10, 1, 2, tzinfo=UTC)


def test_system_modstamp_is_used_without_last_modified_date() -> None:
    # Given a notification with SystemModstamp only
    # When / Then it is the event time
    event = parse(first_case(SystemModstamp='2024-05-14T10:01:03.000Z'))[0]
    assert event.occurred_at == datetime(2024, 5, 14, 10, 1, 3, tzinfo=UTC)


def test_without_any_date_the_receive_time_is_the_event_time() -> None:
    # Given a notification with no date fields at all
    # When / Then the receive time is used
    assert parse(first_case(CreatedDate=None))[0].occurred_at == RECEIVED_AT


def test_queue_owner_is_not_an_assignee() -> None:
    # Given a case owned by a queue (00G...)
    # When / Then it has no assignee
    assert parse(first_case(OwnerId='00G5g000004XyZ1EAK'))[0].assignees == ()


@pytest.mark.parametrize(
    ('status', 'is_closed', 'expected'),
    [
        ('New', 'false', Status.NEW),
        ('Working', 'false', Status.OPEN),
        ('On Hold', 'false', Status.ON_HOLD),
        ('Waiting on Customer', 'false', Status.PENDING),
        ('Pending', 'false', Status.PENDING),
        ('Custom Triage', 'false', Status.OPEN),
        ('Resolved - Fixed', 'true', Status.CLOSED),
        ('Closed', None, Status.CLOSED),
    ],
)
def test_status_maps_with_is_closed_deciding_closure(status: str, is_closed: str | None, expected: Status) -> None:
    # Given a case with that Status and IsClosed (None = not sent)
    body = first_case(Status=status, IsClosed=is_closed)

    # When / Then the canonical status follows IsClosed first, then the Status picklist
    event = parse(body)[0]
    assert (event.status, event.raw_status) == (expected, status)


@pytest.mark.parametrize(
    ('priority', 'expected'),
    [('Low', Priority.LOW), ('Medium', Priority.NORMAL), ('Critical', Priority.URGENT), ('Someday', None)],
)
def test_priority_maps(priority: str, expected: Priority | None) -> None:
    # Given / When a case with that priority is parsed
    # Then it maps (an org's own picklist values have no canonical priority)
    assert parse(first_case(Priority=priority))[0].priority is expected


@pytest.mark.parametrize(
    ('origin', 'expected'), [('Phone', Channel.PHONE), ('Web', Channel.WEB), ('Chat', Channel.CHAT), ('Fax', Channel.OTHER)]
)
def test_origin_maps_to_channel(origin: str, expected: Channel) -> None:
    # Given / When a case with that origin is parsed
    # Then it maps
    assert parse(first_case(Origin=origin))[0].channel is expected


# --- event ids --------------------------------------------------------------------------------------------------


def test_same_message_twice_gets_the_same_event_ids() -> None:
    # Given the same message delivered twice
    # When / Then the event ids repeat (dedupe on notification id)
    first = [event.event_id for event in parse(sample_bytes('salesforce_outbound_case.xml'))]
    assert first == [event.event_id for event in parse(sample_bytes('salesforce_outbound_case.xml'))]


def test_a_new_notification_gets_a_different_event_id() -> None:
    # Given the case changed again: Salesforce sends a new notification id
    changed = first_case(Status='Working').replace(b'04l5g00000Gx7QzAAJ', b'04l5g00000Gx7Q1AAJ')

    # When / Then its event id differs
    assert parse(changed)[0].event_id != parse(first_case())[0].event_id


# --- invalid payloads -------------------------------------------------------------------------------------------


def test_non_case_sobject_is_rejected_naming_the_type() -> None:
    # Given the real captured Opportunity message
    # When / Then it is rejected naming the sObject and its type
    with pytest.raises(InvalidPayload) as caught:
        parse(sample_bytes('salesforce_outbound_opportunity_real.xml'))
    assert caught.value.field == 'Notification[0].sObject'
    assert 'Opportunity' in caught.value.reason


def test_over_one_hundred_notifications_are_rejected() -> None:
    # Given 101 notifications in one message
    # When / Then it is rejected
    with pytest.raises(InvalidPayload) as caught:
        parse(with_notifications([FIRST_NOTIFICATION] * 101))
    assert caught.value.field == 'Notification'


def test_one_hundred_notifications_are_accepted() -> None:
    # Given the maximum batch of 100
    # When / Then 100 events come out
    assert len(parse(with_notifications([FIRST_NOTIFICATION] * 100))) == 100


def test_message_without_notifications_is_rejected() -> None:
    # Given an empty notifications element
    # When / Then it is rejected
    with pytest.raises(InvalidPayload) as caught:
        parse(with_notifications([]))
    assert caught.value.field == 'Notification'


@pytest.mark.parametrize(
    'prolog',
    [
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
        '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE soapenv:Envelope>',
    ],
)
def test_doctype_and_entity_declarations_are_rejected(prolog: str) -> None:
    # Given the sample with a DTD (entity expansion / external entity attempts)
    body = CASE_XML.replace('<soapenv:Envelope', f'{prolog}\n<soapenv:Envelope', 1).encode()

    # When / Then it is rejected as an invalid body without being parsed
    with pytest.raises(InvalidPayload) as caught:
        parse(body)
    assert caught.value.field == 'body'


def test_unreadable_body_with_the_right_token_is_left_to_parse_to_reject() -> None:
    # Given a request with the right token and a body that is not XML
    request = authed_request(b'<soapenv:Envelope')

    # When it is authenticated, then parsed
    adapter.authenticate(request, SECRET, RECEIVED_AT)

    # Then the token authenticates it and parsing rejects it as an invalid payload (400), not a 401
    with pytest.raises(InvalidPayload) as caught:
        adapter.parse(request, RECEIVED_AT)
    assert caught.value.field == 'body'


def test_unreadable_body_with_a_wrong_token_is_unauthenticated() -> None:
    # Given a request with a wrong token and a body that is not XML
    # When / Then the token check comes first
    with pytest.raises(AuthenticationFailed):
        adapter.authenticate(authed_request(b'not xml', token='guess'), SECRET, RECEIVED_AT)


@pytest.mark.parametrize(
    ('body', 'field'),
    [
        (with_notifications([FIRST_NOTIFICATION.replace('<Id>04l5g00000Gx7QzAAJ</Id>', '')]), 'Notification[0].Id'),
        (first_case().replace(b'<sf:Id>5005g00000AbCdEAAV</sf:Id>', b''), 'Notification[0].sObject.Id'),
        (
            with_notifications([FIRST_NOTIFICATION, '<Notification><Id>04l5g00000Gx7R9AAJ</Id></Notification>']),
            'Notification[1].sObject',
        ),
        (b'<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>', 'Envelope.Body'),
        (b'<notifications/>', 'Envelope'),
    ],
)
def test_missing_required_element_is_named(body: bytes, field: str) -> None:
    # Given a message missing a required element
    # When / Then parsing fails naming it
    with pytest.raises(InvalidPayload) as caught:
        parse(body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ('body', 'field'),
    [
        (first_case(IsClosed='maybe'), 'Notification[0].sObject.IsClosed'),
        (first_case(CreatedDate='yesterday'), 'Notification[0].sObject.CreatedDate'),
        (first_case(LastModifiedDate='2024-05-14'), 'Notification[0].sObject.LastModifiedDate'),
        (first_case(Status='S' * 200), 'Notification[0].sObject.Status'),
        (first_case(Id='5' * 300), 'Notification[0].sObject.Id'),
    ],
)
def test_wrong_type_is_rejected_naming_the_field(body: bytes, field: str) -> None:
    # Given a case field with a value of the wrong type or size
    # When / Then parsing fails naming it
    with pytest.raises(InvalidPayload) as caught:
        parse(body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    'body',
    [b'', b'  \n', b'<soapenv:Envelope', b'{"json": true}', b'\xff\xfe<\x00?\x00', 'Résolu'.encode('latin-1'), b'<a>\x00</a>'],
)
def test_malformed_or_non_utf8_body_is_rejected_as_the_body(body: bytes) -> None:
    # Given an empty, non-XML, non-UTF-8 or NUL-containing body
    # When / Then parsing fails naming the body
    with pytest.raises(InvalidPayload) as caught:
        parse(body)
    assert caught.value.field == 'body'


def test_two_megabyte_message_is_parsed_or_rejected_as_invalid() -> None:
    # Given a 2 MB message (a huge Subject) and a 2 MB pile of unclosed elements
    huge_subject = first_case(Subject='x' * TWO_MEGABYTES)
    deep = b'<a>' * (TWO_MEGABYTES // 3)

    # When / Then the first parses and the second is only ever an invalid payload
    assert parse(huge_subject)[0].external_id == '5005g00000AbCdEAAV'
    assert parse_outcome(adapter, deep) == 'invalid'


# --- fuzz -------------------------------------------------------------------------------------------------------

CASE_FIELDS = [
    'Id', 'CaseNumber', 'ClosedDate', 'CreatedDate', 'IsClosed', 'IsEscalated', 'Origin', 'OwnerId', 'Priority', 'Status',
    'LastModifiedDate', 'SystemModstamp',
]


@settings(deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_inside_an_envelope_only_ever_raises_invalid_payload(text: str) -> None:
    body = CASE_XML[: CASE_XML.index('<Notification>')] + text + CASE_XML[CASE_XML.rindex('</Notification>') + 15 :]
    parse_outcome(adapter, body.encode())


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(CASE_FIELDS), st.text(max_size=60) | st.none())
def test_any_case_field_value_only_ever_raises_invalid_payload(name: str, value: str | None) -> None:
    parse_outcome(adapter, first_case(**{name: value}))


@settings(deadline=None)
@given(st.text(max_size=200))
def test_raw_unescaped_text_in_a_field_only_ever_raises_invalid_payload(text: str) -> None:
    body = FIRST_NOTIFICATION.replace('<sf:Status>Escalated</sf:Status>', f'<sf:Status>{text}</sf:Status>')
    parse_outcome(adapter, with_notifications([body]))
