from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from shared.errors import AuthenticationFailed
from shared.events import AssigneeRole, Channel, Kind, Source, Status
from shared.sources.base import SourceSecret, WebhookRequest
from shared.sources.common import TOKEN_HEADER
from shared.sources.gorgias import adapter

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

SECRET = SourceSecret(secret='gorgias-token-51e0')
SAMPLE = sample_json('gorgias_ticket_webhook.json')
OPEN_TICKET = {**SAMPLE, 'status': 'open', 'closed_datetime': ''}


def ticket(**changes: Any) -> dict[str, Any]:
    return {**SAMPLE, **changes}


# --- authentication ---------------------------------------------------------------------------------------------


def test_integration_url_with_token_query_authenticates() -> None:
    # Given the HTTP integration's URL, which carries ?token=
    config = sample_json('gorgias_http_integration_config.json')
    token = config['http']['url'].split('token=', 1)[1]
    request = WebhookRequest(body=sample_bytes('gorgias_ticket_webhook.json'), headers={}, query={'token': token})

    # When / Then it authenticates against the same stored secret
    adapter.authenticate(request, SourceSecret(secret=token), RECEIVED_AT)


def test_token_header_authenticates() -> None:
    # Given the integration's custom header
    request = WebhookRequest(body=sample_bytes('gorgias_ticket_webhook.json'), headers={'x-pitcrew-token': SECRET.secret})

    # When / Then it authenticates
    adapter.authenticate(request, SECRET, RECEIVED_AT)


@pytest.mark.parametrize(
    ('headers', 'query'), [({TOKEN_HEADER: 'nope'}, {}), ({}, {'token': 'nope'}), ({'X-Webhook-Token': SECRET.secret}, {})]
)
def test_wrong_or_missing_token_is_rejected(headers: dict[str, str], query: dict[str, str]) -> None:
    # Given a wrong token, or the token in a header we do not read
    request = WebhookRequest(body=sample_bytes('gorgias_ticket_webhook.json'), headers=headers, query=query)

    # When / Then authentication fails
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(request, SECRET, RECEIVED_AT)
    assert caught.value.field == TOKEN_HEADER


def test_no_timestamp_means_no_staleness_check() -> None:
    # Given a delivery checked a day later (Gorgias sends no timestamp)
    request = WebhookRequest(body=b'{}', headers={TOKEN_HEADER: SECRET.secret})

    # When / Then it authenticates with freshness checked
    adapter.authenticate(request, SECRET, RECEIVED_AT + timedelta(days=1))


# --- parsing ----------------------------------------------------------------------------------------------------


def test_sample_parses_to_the_canonical_ticket() -> None:
    # Given the rendered integration body (all strings, zone-less UTC date-times)
    # When it is parsed
    event = parse_one(adapter, sample_bytes('gorgias_ticket_webhook.json'))

    # Then the ticket is closed at closed_datetime, which is also the event time without updated_datetime
    assert event.source is Source.GORGIAS
    assert event.kind is Kind.TICKET
    assert event.external_id == '123'
    assert (event.status, event.raw_status) == (Status.CLOSED, 'closed')
    assert event.channel is Channel.EMAIL
    assert event.created_at == datetime(2019, 11, 16, 15, 59, 41, 966927, tzinfo=UTC)
    assert event.resolved_at == datetime(2019, 11, 25, 15, 59, 41, 966927, tzinfo=UTC)
    assert event.occurred_at == event.resolved_at
    assert [(a.role, a.agent_key) for a in event.assignees] == [(AssigneeRole.AGENT, 'steve@company.com')]
    assert event.tags == ('refund', 'vip')
    assert event.survey is None
    assert event.event_id.startswith('gorgias:123:')


def test_open_ticket_with_empty_strings_has_no_resolution_and_uses_the_receive_time() -> None:
    # Given an open ticket: closed_datetime and assignee render as empty strings
    event = parse_one(adapter, {**OPEN_TICKET, 'assignee_email': '', 'tags': ''})

    # Then empty means null
    assert event.status is Status.OPEN
    assert event.resolved_at is None
    assert event.assignees == ()
    assert event.tags == ()
    assert event.occurred_at == RECEIVED_AT


def test_updated_datetime_is_the_event_time_when_sent() -> None:
    # Given the template with updated_datetime
    event = parse_one(adapter, ticket(updated_datetime='2019-11-25T16:00:00.5'))

    # Then it is the (UTC) event time
    assert event.occurred_at == datetime(2019, 11, 25, 16, 0, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ('channel', 'expected'),
    [
        ('email', Channel.EMAIL),
        ('chat', Channel.CHAT),
        ('phone', Channel.PHONE),
        ('sms', Channel.SMS),
        ('facebook', Channel.SOCIAL),
        ('facebook-messenger', Channel.SOCIAL),
        ('instagram-direct-message', Channel.SOCIAL),
        ('twitter', Channel.SOCIAL),
        ('api', Channel.OTHER),
        ('internal-note', Channel.OTHER),
    ],
)
def test_channel_maps(channel: str, expected: Channel) -> None:
    # Given / When a ticket on that channel is parsed
    # Then it maps
    assert parse_one(adapter, ticket(channel=channel)).channel is expected


def test_satisfaction_score_becomes_a_survey() -> None:
    # Given the template with the satisfaction survey fields
    body = ticket(satisfaction_score='2', satisfaction_survey_id='1234', scored_datetime='2019-11-26T09:00:00')

    # When it is parsed
    event = parse_one(adapter, body)

    # Then the survey is on the event
    assert event.survey is not None
    assert (event.survey.response_id, event.survey.csat) == ('gorgias:1234', 2)


def test_scored_datetime_is_the_event_time_of_a_late_rating() -> None:
    # Given a closed ticket rated after closing, without updated_datetime
    event = parse_one(adapter, ticket(satisfaction_score='5', scored_datetime='2019-11-26T09:00:00'))

    # Then the rating time is the event time and the survey id falls back to the ticket
    assert event.occurred_at == datetime(2019, 11, 26, 9, 0, tzinfo=UTC)
    assert event.survey is not None
    assert event.survey.response_id == 'gorgias:123:satisfaction'


def test_api_style_tag_objects_are_accepted() -> None:
    # Given tags as the REST API renders them
    # When / Then the names are used
    assert parse_one(adapter, ticket(tags=[{'id': 1, 'name': 'refund'}, {'id': 2, 'name': 'vip'}])).tags == ('refund', 'vip')


# --- event ids --------------------------------------------------------------------------------------------------


def test_same_payload_twice_gets_the_same_event_id() -> None:
    # Given the same body delivered twice, an hour apart (an open ticket: the receive time is the event time)
    first = parse_one(adapter, OPEN_TICKET, RECEIVED_AT)
    second = parse_one(adapter, OPEN_TICKET, RECEIVED_AT + timedelta(hours=1))

    # Then the ids are equal
    assert first.event_id == second.event_id
    assert parse_one(adapter, SAMPLE).event_id == parse_one(adapter, sample_bytes('gorgias_ticket_webhook.json')).event_id


@pytest.mark.parametrize(('field', 'value'), [('status', 'open'), ('assignee_email', 'kim@company.com'), ('tags', 'refund')])
def test_changed_payload_gets_a_different_event_id(field: str, value: str) -> None:
    # Given the sample and a copy that says something new
    # When / Then the ids differ
    assert parse_one(adapter, SAMPLE).event_id != parse_one(adapter, ticket(**{field: value})).event_id


# --- invalid payloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize('body', [without(SAMPLE, 'ticket_id'), ticket(ticket_id=''), ticket(ticket_id=None)])
def test_missing_ticket_id_is_named(body: dict[str, Any]) -> None:
    # Given a body without a ticket id (absent, empty or null)
    # When / Then parsing fails naming ticket_id
    assert rejected_field(adapter, body) == 'ticket_id'


@pytest.mark.parametrize(
    ('path', 'value'),
    [
        ('ticket_id', {'id': 123}),
        ('ticket_id', 12.5),
        ('status', 'snoozed'),
        ('status', ['open']),
        ('created_datetime', 1573919981),
        ('created_datetime', '16/11/2019'),
        ('closed_datetime', 'never'),
        ('satisfaction_score', '7'),
        ('satisfaction_score', 'great'),
        ('satisfaction_score', True),
        ('assignee_email', {'email': 'x'}),
        ('tags', 5),
        ('source', 'zendesk'),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_field(path: str, value: Any) -> None:
    # Given the sample with one field of the wrong type or an unknown value
    # When / Then parsing fails naming that field
    assert rejected_field(adapter, with_value(SAMPLE, path, value)) == path


@pytest.mark.parametrize('index', range(3))
def test_two_megabyte_body_is_parsed_or_rejected_as_invalid(index: int) -> None:
    # Given a 2 MB body
    body = huge_json_bodies(SAMPLE, 'subject')[index]

    # When / Then it is parsed or rejected only as an invalid payload
    assert parse_outcome(adapter, body) in ('parsed', 'invalid')


# --- fuzz -------------------------------------------------------------------------------------------------------

OPTIONAL = [
    'updated_datetime', 'satisfaction_score', 'satisfaction_survey_id', 'scored_datetime', 'assignee_user_id', 'location_id'
]


@settings(deadline=None, max_examples=300)
@given(mutations(SAMPLE, leaf_paths(SAMPLE) + OPTIONAL))
def test_sample_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))
