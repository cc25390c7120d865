from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from shared.errors import AuthenticationFailed, StaleTimestamp
from shared.events import AssigneeRole, Channel, Kind, Priority, Source, Status
from shared.sources.base import SourceSecret, WebhookRequest
from shared.sources.zendesk import SIGNATURE_HEADER, TIMESTAMP_HEADER, adapter

from ._support import (
    RECEIVED_AT,
    huge_json_bodies,
    json_bytes,
    leaf_paths,
    mutations,
    parse_one,
    parse_outcome,
    rejected_field,
    sample_bytes,
    sample_json,
    with_value,
    without,
)

TEST_SECRET = 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=='  # Zendesk's static test-webhook secret
SAMPLE_TIMESTAMP = '2024-05-14T11:40:03Z'
SIGNED_AT = datetime(2024, 5, 14, 11, 40, 3, tzinfo=UTC)
SAMPLE = sample_json('zendesk_ticket_webhook.json')


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()


def signed(body: bytes, secret: str = TEST_SECRET, timestamp: str = SAMPLE_TIMESTAMP) -> WebhookRequest:
    headers = {SIGNATURE_HEADER.lower(): zendesk_signature(secret, timestamp, body), TIMESTAMP_HEADER.lower(): timestamp}
    return WebhookRequest(body=body, headers=headers)


def http_sample() -> WebhookRequest:
    """The captured request file: headers, blank line, body bytes exactly as signed."""
    head, _, body = sample_bytes('zendesk_webhook_request.http').partition(b'\n\n')
    headers = dict(line.split(': ', 1) for line in head.decode().splitlines()[1:])
    return WebhookRequest(body=body, headers=headers)


def ticket(**changes: Any) -> dict[str, Any]:
    return {**SAMPLE, 'ticket': {**SAMPLE['ticket'], **changes}}


# --- authentication ---------------------------------------------------------------------------------------------


def test_captured_request_authenticates_and_parses_to_the_canonical_ticket() -> None:
    # Given the sample request signed with Zendesk's test secret, received a minute after it was signed
    request = http_sample()

    # When it is authenticated and parsed
    adapter.authenticate(request, SourceSecret(secret=TEST_SECRET), SIGNED_AT + timedelta(minutes=1))
    event = adapter.parse(request, RECEIVED_AT).events[0]

    # Then the event carries the ticket's canonical fields
    assert event.source is Source.ZENDESK
    assert event.kind is Kind.TICKET
    assert event.external_id == '35436'
    assert event.status is Status.SOLVED
    assert event.raw_status == 'Solved'
    assert event.priority is Priority.HIGH
    assert event.channel is Channel.EMAIL
    assert event.created_at == datetime(2024, 5, 14, 9, 12, tzinfo=UTC)
    assert event.occurred_at == datetime(2024, 5, 14, 11, 40, tzinfo=UTC)
    assert [(a.role, a.agent_key) for a in event.assignees] == [(AssigneeRole.AGENT, 'agent@example.com')]
    assert event.tags == ('vip', 'enterprise')
    assert event.survey is not None
    assert (event.survey.csat, event.survey.response_id) == (5, 'zendesk:35436:satisfaction')
    assert event.event_id.startswith('zendesk:35436:')


VECTORS = sample_json('zendesk_signature_test_vectors.json')['vectors']


@pytest.mark.parametrize('vector', VECTORS, ids=[vector['name'] for vector in VECTORS])
def test_signature_test_vectors_behave_as_the_file_says(vector: dict[str, Any]) -> None:
    # Given a vector from the test-vector file (the legacy one is only valid under the wrong body+timestamp order)
    body = sample_bytes(vector['body_file']) if 'body_file' in vector else vector['body'].encode()
    valid = vector.get('valid', vector.get('valid_under_timestamp_plus_body'))
    request = WebhookRequest(
        body=body, headers={SIGNATURE_HEADER: vector['signature'], TIMESTAMP_HEADER: vector['timestamp']}
    )
    secret = SourceSecret(secret=vector['secret'])

    # When / Then it authenticates exactly when the file says it is valid
    if valid:
        adapter.authenticate(request, secret, RECEIVED_AT, check_freshness=False)
    else:
        with pytest.raises(AuthenticationFailed) as caught:
            adapter.authenticate(request, secret, RECEIVED_AT, check_freshness=False)
        assert not isinstance(caught.value, StaleTimestamp)


def test_header_names_are_matched_case_insensitively() -> None:
    # Given the sample with header names in their documented mixed case
    body = sample_bytes('zendesk_ticket_webhook.json')
    request = WebhookRequest(
        body=body,
        headers={
            SIGNATURE_HEADER: zendesk_signature(TEST_SECRET, SAMPLE_TIMESTAMP, body),
            TIMESTAMP_HEADER.upper(): SAMPLE_TIMESTAMP,
        },
    )

    # When / Then it authenticates
    adapter.authenticate(request, SourceSecret(secret=TEST_SECRET), SIGNED_AT)


def test_wrong_secret_is_rejected() -> None:
    # Given a body signed with another secret
    request = signed(sample_bytes('zendesk_ticket_webhook.json'), secret='someone-else')

    # When / Then authentication fails on the signature header
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(request, SourceSecret(secret=TEST_SECRET), SIGNED_AT)
    assert caught.value.field == SIGNATURE_HEADER
    assert caught.value.status_code == 401


def test_tampered_body_is_rejected() -> None:
    # Given a correctly signed request whose body was changed afterwards
    original = signed(sample_bytes('zendesk_ticket_webhook.json'))
    tampered = WebhookRequest(body=original.body.replace(b'Solved', b'Open'), headers=original.headers)

    # When / Then authentication fails
    with pytest.raises(AuthenticationFailed):
        adapter.authenticate(tampered, SourceSecret(secret=TEST_SECRET), SIGNED_AT)


def test_a_shifted_timestamp_breaks_the_signature() -> None:
    # Given a signed request whose timestamp header is moved to "now" to dodge the replay window
    original = signed(sample_bytes('zendesk_ticket_webhook.json'))
    moved = WebhookRequest(body=original.body, headers={**original.headers, TIMESTAMP_HEADER.lower(): '2024-05-14T11:59:59Z'})

    # When / Then the signature no longer matches
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(moved, SourceSecret(secret=TEST_SECRET), RECEIVED_AT)
    assert not isinstance(caught.value, StaleTimestamp)


@pytest.mark.parametrize('missing', [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_missing_header_is_rejected_naming_it(missing: str) -> None:
    # Given a signed request without one of the two headers
    request = signed(sample_bytes('zendesk_ticket_webhook.json'))
    headers = {name: value for name, value in request.headers.items() if name != missing.lower()}

    # When / Then authentication fails naming the header
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(WebhookRequest(body=request.body, headers=headers), SourceSecret(secret=TEST_SECRET), SIGNED_AT)
    assert caught.value.field == missing


def test_previous_secret_is_accepted_during_rotation() -> None:
    # Given a request still signed with the secret being rotated out
    request = signed(sample_bytes('zendesk_ticket_webhook.json'), secret='old-secret')

    # When / Then it authenticates while the old secret is kept as previous_secret, and not after
    adapter.authenticate(request, SourceSecret(secret='new-secret', previous_secret='old-secret'), SIGNED_AT)
    with pytest.raises(AuthenticationFailed):
        adapter.authenticate(request, SourceSecret(secret='new-secret'), SIGNED_AT)


@pytest.mark.parametrize('offset', [timedelta(seconds=-301), timedelta(seconds=301), timedelta(days=2)])
def test_stale_timestamp_is_rejected_unless_freshness_is_waived(offset: timedelta) -> None:
    # Given a correctly signed request checked outside the ±300 s window
    request = signed(sample_bytes('zendesk_ticket_webhook.json'))
    secret = SourceSecret(secret=TEST_SECRET)

    # When / Then it is stale, but an admin replay (check_freshness=False) still authenticates it
    with pytest.raises(StaleTimestamp) as caught:
        adapter.authenticate(request, secret, SIGNED_AT + offset)
    assert caught.value.field == TIMESTAMP_HEADER
    adapter.authenticate(request, secret, SIGNED_AT + offset, check_freshness=False)


def test_timestamp_at_the_edge_of_the_window_is_fresh() -> None:
    # Given a correctly signed request checked exactly 300 s later
    request = signed(sample_bytes('zendesk_ticket_webhook.json'))

    # When / Then it authenticates
    adapter.authenticate(request, SourceSecret(secret=TEST_SECRET), SIGNED_AT + timedelta(seconds=300))


def test_replay_with_a_bad_signature_is_still_rejected() -> None:
    # Given an old request with a wrong signature, replayed by an admin
    request = signed(sample_bytes('zendesk_ticket_webhook.json'), secret='wrong')

    # When / Then freshness is waived but the HMAC is not
    with pytest.raises(AuthenticationFailed):
        adapter.authenticate(request, SourceSecret(secret=TEST_SECRET), SIGNED_AT + timedelta(days=3), check_freshness=False)


# --- mapping ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        ('New', Status.NEW),
        ('Open', Status.OPEN),
        ('Pending', Status.PENDING),
        ('On-hold', Status.ON_HOLD),
        ('Hold', Status.ON_HOLD),
        ('Solved', Status.SOLVED),
        ('Closed', Status.CLOSED),
        ('open', Status.OPEN),
    ],
)
def test_status_display_text_maps_to_the_canonical_status(raw: str, expected: Status) -> None:
    # Given / When a ticket with that status text is parsed
    event = parse_one(adapter, ticket(status=raw))

    # Then the canonical status is mapped and the sender's text kept
    assert (event.status, event.raw_status) == (expected, raw)


@pytest.mark.parametrize(
    ('via', 'expected'),
    [
        ('Mail', Channel.EMAIL),
        ('Email', Channel.EMAIL),
        ('Web form', Channel.WEB),
        ('Chat', Channel.CHAT),
        ('Phone call (incoming)', Channel.PHONE),
        ('Phone call (outgoing)', Channel.PHONE),
        ('Messaging', Channel.CHAT),
        ('WhatsApp', Channel.WHATSAPP),
        ('SMS', Channel.SMS),
        ('Facebook Messenger', Channel.SOCIAL),
        ('Web service', Channel.OTHER),
        ('Closed ticket', Channel.OTHER),
    ],
)
def test_via_maps_to_channel(via: str, expected: Channel) -> None:
    # Given / When a ticket created through that channel is parsed
    event = parse_one(adapter, ticket(via=via))

    # Then the channel is mapped
    assert event.channel is expected


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [('Low', Priority.LOW), ('Normal', Priority.NORMAL), ('Urgent', Priority.URGENT), ('', None), ('-', None)],
)
def test_priority_maps_and_an_unset_priority_is_none(raw: str, expected: Priority | None) -> None:
    # Given / When a ticket with that priority text is parsed
    event = parse_one(adapter, ticket(priority=raw))

    # Then the priority is mapped
    assert event.priority is expected


@pytest.mark.parametrize(
    ('rating', 'csat'), [('Good', 5), ('Bad', 1), ("Good, I'm satisfied", 5), ('Offered', None), ('Unoffered', None), ('', None)]
)
def test_satisfaction_rating_becomes_a_survey_only_when_answered(rating: str, csat: int | None) -> None:
    # Given / When a ticket with that satisfaction rating is parsed
    event = parse_one(adapter, ticket(satisfaction_rating=rating))

    # Then good/bad become a CSAT survey on the ticket; offered/unoffered/empty are no answer
    assert (event.survey.csat if event.survey else None) == csat


def test_documented_optional_fields_are_mapped() -> None:
    # Given a ticket rendered with the optional template fields (numbers arrive quoted or not)
    body = ticket(
        location='BLR-1',
        replies='3',
        reopens=1,
        first_reply_at='2024-05-14T09:30Z',
        solved_at='2024-05-14T11:39Z',
        assignee_email='',
        assignee_id=366010,
    )

    # When it is parsed
    event = parse_one(adapter, body)

    # Then they land on the canonical fields; without an email the agent id is the assignee key
    assert event.location_id == 'BLR-1'
    assert (event.reply_count, event.reopen_count) == (3, 1)
    assert event.first_response_at == datetime(2024, 5, 14, 9, 30, tzinfo=UTC)
    assert event.resolved_at == datetime(2024, 5, 14, 11, 39, tzinfo=UTC)
    assert [a.agent_key for a in event.assignees] == ['366010']


def test_solved_at_of_a_reopened_ticket_is_not_a_resolution() -> None:
    # Given an open ticket whose metrics still carry the previous solve time
    event = parse_one(adapter, ticket(status='Open', solved_at='2024-05-14T11:39Z', reopens='1'))

    # Then it is not reported as resolved
    assert event.resolved_at is None
    assert event.reopen_count == 1


def test_string_ticket_id_and_empty_optional_placeholders_are_accepted() -> None:
    # Given a template rendering the id quoted and several placeholders empty
    event = parse_one(adapter, ticket(id='35436', assignee_email='', tags='', satisfaction_rating='', via=''))

    # Then the event has the id and no assignee, tags, survey or channel
    assert event.external_id == '35436'
    assert (event.assignees, event.tags, event.survey, event.channel) == ((), (), None, None)


def test_without_updated_at_the_signature_timestamp_is_the_event_time() -> None:
    # Given a template without updated_at, signed at 11:40:03
    body = json.dumps(without(SAMPLE, 'ticket.updated_at')).encode()

    # When it is parsed from the signed request, and again from a retry received later
    first = adapter.parse(signed(body), RECEIVED_AT).events[0]
    retry = adapter.parse(signed(body), RECEIVED_AT + timedelta(minutes=5)).events[0]

    # Then the signature time is used and the retry is the same event
    assert first.occurred_at == SIGNED_AT
    assert first.event_id == retry.event_id


# --- event ids --------------------------------------------------------------------------------------------------


def test_same_payload_twice_gets_the_same_event_id() -> None:
    # Given the same rendered body delivered twice, received at different times
    first = parse_one(adapter, sample_bytes('zendesk_ticket_webhook.json'), RECEIVED_AT)
    second = parse_one(adapter, sample_bytes('zendesk_ticket_webhook.json'), RECEIVED_AT + timedelta(hours=1))

    # Then the event ids are equal (the second is a duplicate)
    assert first.event_id == second.event_id


@pytest.mark.parametrize(
    ('field', 'value'), [('status', 'Open'), ('updated_at', '2024-05-14T11:41Z'), ('assignee_email', 'b@example.com')]
)
def test_changed_payload_gets_a_different_event_id(field: str, value: str) -> None:
    # Given the sample and a copy that says something new
    original = parse_one(adapter, SAMPLE)
    changed = parse_one(adapter, ticket(**{field: value}))

    # Then the ids differ
    assert original.event_id != changed.event_id


# --- invalid payloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(('path', 'field'), [('ticket', 'ticket'), ('ticket.id', 'ticket.id')])
def test_missing_required_field_is_named(path: str, field: str) -> None:
    # Given the sample without a required field
    body = without(SAMPLE, path)

    # When / Then parsing fails naming that field
    assert rejected_field(adapter, body) == field


@pytest.mark.parametrize(
    ('path', 'value'),
    [
        ('ticket', ['not', 'an', 'object']),
        ('ticket.id', {'id': 1}),
        ('ticket.id', 35436.5),
        ('ticket.id', True),
        ('ticket.status', 3),
        ('ticket.status', 'Resuelto'),
        ('ticket.priority', 'Sky high'),
        ('ticket.updated_at', 'yesterday'),
        ('ticket.created_at', 1715677920),
        ('ticket.replies', 'many'),
        ('ticket.replies', -1),
        ('ticket.tags', {'vip': True}),
        ('ticket.assignee_email', ['a@example.com']),
        ('ticket.location', 'L' * 200),
        ('source', 'freshdesk'),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_field(path: str, value: Any) -> None:
    # Given the sample with one field of the wrong type or an unknown value
    body = with_value(SAMPLE, path, value)

    # When / Then parsing fails naming that field
    assert rejected_field(adapter, body) == path


def test_non_utf8_body_is_rejected_as_the_body() -> None:
    # Given the sample with a Latin-1 encoded subject
    body = sample_bytes('zendesk_ticket_webhook.json').replace(b'Printer on fire', 'Imprimante en feu é'.encode('latin-1'))

    # When / Then parsing fails naming the body
    assert rejected_field(adapter, body) == 'body'


@pytest.mark.parametrize('index', range(3))
def test_two_megabyte_body_is_parsed_or_rejected_as_invalid(index: int) -> None:
    # Given a 2 MB body (a huge subject, deep nesting, or a wall of brackets)
    body = huge_json_bodies(SAMPLE, 'ticket.subject')[index]

    # When / Then it is parsed or rejected only as an invalid payload
    assert parse_outcome(adapter, body) in ('parsed', 'invalid')


def test_two_megabyte_subject_still_parses_the_ticket() -> None:
    # Given a valid ticket whose free-text subject is 2 MB
    body = huge_json_bodies(SAMPLE, 'ticket.subject')[0]

    # When / Then the ticket parses
    assert parse_one(adapter, body).external_id == '35436'


# --- fuzz -------------------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(mutations(SAMPLE, leaf_paths(SAMPLE) + ['ticket.location', 'ticket.replies', 'ticket.solved_at', 'ticket.assignee_id']))
def test_sample_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))

