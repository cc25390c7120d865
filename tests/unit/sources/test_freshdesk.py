from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from shared.errors import AuthenticationFailed
from shared.events import AssigneeRole, Channel, Kind, Priority, Source, Status
from shared.sources.base import SourceSecret, WebhookRequest
from shared.sources.common import TOKEN_HEADER
from shared.sources.freshdesk import adapter

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

SECRET = SourceSecret(secret='fd-token-4b1c9e')
TEMPLATE = sample_json('freshdesk_ticket_webhook.json')
API_TICKET = sample_json('freshdesk_ticket_with_stats.json')


def template(**changes: Any) -> dict[str, Any]:
    return {**TEMPLATE, 'ticket': {**TEMPLATE['ticket'], **changes}}


def api_ticket(**changes: Any) -> dict[str, Any]:
    return {**API_TICKET, **changes}


# --- authentication ---------------------------------------------------------------------------------------------


def test_token_in_the_custom_header_authenticates() -> None:
    # Given the automation rule's custom header, lower-cased by API Gateway
    request = WebhookRequest(body=sample_bytes('freshdesk_ticket_webhook.json'), headers={TOKEN_HEADER.lower(): SECRET.secret})

    # When / Then it authenticates
    adapter.authenticate(request, SECRET, RECEIVED_AT)


def test_token_in_the_query_authenticates() -> None:
    # Given the token as ?token= on the webhook URL
    request = WebhookRequest(body=b'{}', headers={}, query={'token': SECRET.secret})

    # When / Then it authenticates
    adapter.authenticate(request, SECRET, RECEIVED_AT)


@pytest.mark.parametrize(
    ('headers', 'query'), [({TOKEN_HEADER: 'guess'}, {}), ({}, {'token': 'guess'}), ({}, {}), ({TOKEN_HEADER: ''}, {})]
)
def test_wrong_or_missing_token_is_rejected(headers: dict[str, str], query: dict[str, str]) -> None:
    # Given a request with a wrong, empty or no token
    request = WebhookRequest(body=sample_bytes('freshdesk_ticket_webhook.json'), headers=headers, query=query)

    # When / Then authentication fails naming the token header
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(request, SECRET, RECEIVED_AT)
    assert caught.value.field == TOKEN_HEADER


def test_previous_token_is_accepted_during_rotation() -> None:
    # Given a rule still sending the old token
    request = WebhookRequest(body=b'{}', headers={TOKEN_HEADER: 'old-token'})

    # When / Then it authenticates while the old token is the previous secret
    adapter.authenticate(request, SourceSecret(secret='new-token', previous_secret='old-token'), RECEIVED_AT)


def test_no_timestamp_means_no_staleness_check() -> None:
    # Given a retry Freshdesk sends an hour later (it carries no timestamp)
    request = WebhookRequest(body=sample_bytes('freshdesk_ticket_webhook.json'), headers={TOKEN_HEADER: SECRET.secret})

    # When / Then it authenticates with freshness checked: duplicates are caught by event id instead
    adapter.authenticate(request, SECRET, RECEIVED_AT + timedelta(days=1), check_freshness=True)


# --- the two samples --------------------------------------------------------------------------------------------


def test_rendered_template_sample_parses_to_the_canonical_ticket() -> None:
    # Given the rendered automation-rule body (display texts, no ISO dates, a _note key)
    # When it is parsed
    event = parse_one(adapter, sample_bytes('freshdesk_ticket_webhook.json'))

    # Then the display texts are mapped and, with no change time in the body, the receive time is used
    assert event.source is Source.FRESHDESK
    assert event.kind is Kind.TICKET
    assert event.external_id == '1'
    assert (event.status, event.raw_status) == (Status.OPEN, 'Open')
    assert event.priority is Priority.LOW
    assert event.channel is Channel.WEB
    assert [(a.role, a.agent_key) for a in event.assignees] == [(AssigneeRole.AGENT, 'agent@example.com')]
    assert event.occurred_at == RECEIVED_AT
    assert event.created_at is None
    assert event.event_id.startswith('freshdesk:1:')


def test_api_ticket_with_stats_parses_numeric_codes_and_stats() -> None:
    # Given the API ticket object (numeric codes, ISO dates, stats) sent as the body
    # When it is parsed
    event = parse_one(adapter, sample_bytes('freshdesk_ticket_with_stats.json'))

    # Then codes map, updated_at is the event time, and the responder id is the assignee (no agent email)
    assert event.external_id == '1'
    assert (event.status, event.raw_status) == (Status.OPEN, '2')
    assert event.priority is Priority.LOW
    assert event.channel is Channel.WEB
    assert event.created_at == datetime(2016, 5, 18, 4, 36, 4, tzinfo=UTC)
    assert event.occurred_at == datetime(2016, 5, 18, 23, 42, 50, tzinfo=UTC)
    assert event.first_response_at == datetime(2020, 6, 17, 20, 23, 43, tzinfo=UTC)
    assert [a.agent_key for a in event.assignees] == ['6010396333']
    assert event.tags == ('foo', 'bar')
    # stats.resolved_at is a past resolution: the ticket is open (status 2) now
    assert event.resolved_at is None


def test_resolved_api_ticket_reports_its_resolution_time() -> None:
    # Given the API ticket in status 4 (Resolved)
    event = parse_one(adapter, api_ticket(status=4))

    # Then it is solved at stats.resolved_at
    assert event.status is Status.SOLVED
    assert event.resolved_at == datetime(2020, 7, 24, 15, 35, 21, tzinfo=UTC)


def test_reopened_at_after_the_resolution_marks_a_reopen() -> None:
    # Given stats saying the ticket was reopened after its last resolution
    stats = {**API_TICKET['stats'], 'reopened_at': '2020-07-25T08:00:00Z'}
    event = parse_one(adapter, api_ticket(status=5, stats=stats))

    # Then it counts as reopened (at least once) and the stale resolution is dropped
    assert event.reopen_count == 1
    assert event.resolved_at is None


@pytest.mark.parametrize(
    ('status', 'expected'),
    [
        (2, Status.OPEN),
        (3, Status.PENDING),
        (4, Status.SOLVED),
        (5, Status.CLOSED),
        (6, Status.OPEN),
        (12, Status.OPEN),
        ('3', Status.PENDING),
        ('Pending', Status.PENDING),
        ('Resolved', Status.SOLVED),
        ('Closed', Status.CLOSED),
        ('Waiting on Customer', Status.OPEN),
    ],
)
def test_status_codes_and_names_map(status: int | str, expected: Status) -> None:
    # Given / When a ticket with that status is parsed
    event = parse_one(adapter, template(status=status))

    # Then the status maps (custom statuses, >= 6 or unknown names, count as open)
    assert event.status is expected


@pytest.mark.parametrize(
    ('priority', 'expected'),
    [
        (1, Priority.LOW),
        (2, Priority.NORMAL),
        (3, Priority.HIGH),
        (4, Priority.URGENT),
        ('Medium', Priority.NORMAL),
        ('Urgent', Priority.URGENT),
    ],
)
def test_priority_codes_and_names_map(priority: int | str, expected: Priority) -> None:
    # Given / When a ticket with that priority is parsed
    event = parse_one(adapter, template(priority=priority))

    # Then the priority maps
    assert event.priority is expected


@pytest.mark.parametrize(
    ('source', 'expected'),
    [
        (1, Channel.EMAIL),
        (2, Channel.WEB),
        (3, Channel.PHONE),
        (7, Channel.CHAT),
        (9, Channel.WEB),
        (10, Channel.EMAIL),
        (4, Channel.OTHER),
        (8, Channel.OTHER),
        ('Email', Channel.EMAIL),
        ('Portal', Channel.WEB),
        ('Phone', Channel.PHONE),
        ('Chat', Channel.CHAT),
        ('Feedback Widget', Channel.WEB),
        ('Outbound Email', Channel.EMAIL),
        ('Forum', Channel.OTHER),
    ],
)
def test_source_codes_and_names_map_to_channel(source: int | str, expected: Channel) -> None:
    # Given / When a ticket from that source is parsed
    event = parse_one(adapter, template(source=source))

    # Then the channel maps
    assert event.channel is expected


@pytest.mark.parametrize('value', ['Wed, 18 May, 2016 11:36 PM', '', 'soon', '2016-05-18T23:36:04Z', None])
def test_due_dates_are_informational_and_never_fail(value: str | None) -> None:
    # Given any due_by / fr_due_by rendering
    # When / Then the ticket parses regardless
    assert parse_one(adapter, template(due_by=value, fr_due_by=value)).external_id == '1'


def test_display_format_updated_at_falls_back_to_the_receive_time() -> None:
    # Given an updated_at rendered in Freshdesk's display format (no zone, not ISO)
    event = parse_one(adapter, template(updated_at='Wed, 18 May, 2016 11:36 PM', created_at='Wed, 18 May, 2016 04:36 AM'))

    # Then it is ignored: the receive time is the event time and there is no created_at
    assert event.occurred_at == RECEIVED_AT
    assert event.created_at is None


def test_template_with_iso_updated_at_uses_it() -> None:
    # Given a template that also renders an ISO updated_at
    event = parse_one(adapter, template(updated_at='2024-05-14T10:00:00Z'))

    # Then it is the event time
    assert event.occurred_at == datetime(2024, 5, 14, 10, 0, tzinfo=UTC)


def test_comma_separated_tags_from_a_template_are_split() -> None:
    # Given tags rendered as one string
    event = parse_one(adapter, template(tags='vip, refund,,vip'))

    # Then they are split, trimmed and de-duplicated
    assert event.tags == ('vip', 'refund')


# --- event ids --------------------------------------------------------------------------------------------------


def test_same_template_payload_twice_gets_the_same_event_id() -> None:
    # Given the same rendered body redelivered by Freshdesk's retry 5 minutes later
    first = parse_one(adapter, sample_bytes('freshdesk_ticket_webhook.json'), RECEIVED_AT)
    retry = parse_one(adapter, sample_bytes('freshdesk_ticket_webhook.json'), RECEIVED_AT + timedelta(minutes=5))

    # Then it is the same event (the receive time is not part of the id)
    assert first.event_id == retry.event_id


def test_same_api_payload_twice_gets_the_same_event_id() -> None:
    # Given the API ticket delivered twice
    first = parse_one(adapter, sample_bytes('freshdesk_ticket_with_stats.json'), RECEIVED_AT)
    second = parse_one(adapter, sample_bytes('freshdesk_ticket_with_stats.json'), RECEIVED_AT + timedelta(hours=2))

    # Then the ids are equal
    assert first.event_id == second.event_id


@pytest.mark.parametrize(('field', 'value'), [('status', 'Pending'), ('agent_email', 'other@example.com'), ('priority', 'High')])
def test_changed_payload_gets_a_different_event_id(field: str, value: str) -> None:
    # Given the template and a copy that says something new
    # When / Then the ids differ
    assert parse_one(adapter, TEMPLATE).event_id != parse_one(adapter, template(**{field: value})).event_id


def test_api_ticket_updated_later_gets_a_different_event_id() -> None:
    # Given the same API ticket with a later updated_at
    # When / Then the ids differ
    assert parse_one(adapter, API_TICKET).event_id != parse_one(adapter, api_ticket(updated_at='2016-05-19T00:00:00Z')).event_id


# --- invalid payloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(('body', 'field'), [(without(TEMPLATE, 'ticket.id'), 'ticket.id'), ({'source': 'freshdesk'}, 'ticket')])
def test_missing_required_field_is_named(body: dict[str, Any], field: str) -> None:
    # Given a body without the ticket id (or without any ticket)
    # When / Then parsing fails naming it
    assert rejected_field(adapter, body) == field


@pytest.mark.parametrize(
    ('body', 'field'),
    [
        (with_value(TEMPLATE, 'ticket.id', [1]), 'ticket.id'),
        (with_value(TEMPLATE, 'ticket', 'ticket 1'), 'ticket'),
        (with_value(TEMPLATE, 'ticket.status', {'name': 'Open'}), 'ticket.status'),
        (with_value(TEMPLATE, 'ticket.status', 1), 'ticket.status'),
        (with_value(TEMPLATE, 'ticket.priority', 'Whenever'), 'ticket.priority'),
        (with_value(TEMPLATE, 'ticket.priority', 9), 'ticket.priority'),
        (with_value(TEMPLATE, 'ticket.source', True), 'ticket.source'),
        (with_value(TEMPLATE, 'ticket.agent_email', {'email': 'a@example.com'}), 'ticket.agent_email'),
        (with_value(TEMPLATE, 'ticket.updated_at', 1463614970), 'ticket.updated_at'),
        (with_value(TEMPLATE, 'source', 'zendesk'), 'source'),
        (api_ticket(status=[2]), 'status'),
        (api_ticket(stats='none'), 'stats'),
        (api_ticket(tags=['ok', 7]), 'tags[1]'),
        (api_ticket(id=None), 'id'),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_field(body: dict[str, Any], field: str) -> None:
    # Given a body with one field of the wrong type or an unknown value
    # When / Then parsing fails naming that field
    assert rejected_field(adapter, body) == field


@pytest.mark.parametrize('index', range(3))
def test_two_megabyte_body_is_parsed_or_rejected_as_invalid(index: int) -> None:
    # Given a 2 MB body
    body = huge_json_bodies(TEMPLATE, 'ticket.subject')[index]

    # When / Then it is parsed or rejected only as an invalid payload
    assert parse_outcome(adapter, body) in ('parsed', 'invalid')


# --- fuzz -------------------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(mutations(TEMPLATE, leaf_paths(TEMPLATE) + ['ticket.updated_at', 'ticket.tags', 'ticket.stats', 'ticket.responder_id']))
def test_template_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))


@settings(deadline=None, max_examples=300)
@given(mutations(API_TICKET, leaf_paths(API_TICKET)))
def test_api_ticket_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))
