from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from shared.events import AssigneeRole, Kind, Source
from shared.sources import signing
from shared.sources.base import SourceSecret
from shared.sources.quality import adapter

from ._support import (
    RECEIVED_AT,
    assert_schema_and_adapter_agree,
    authenticated_event,
    huge_json_bodies,
    json_bytes,
    leaf_paths,
    mutations,
    parse_one,
    parse_outcome,
    refused,
    rejected_field,
    sample_json,
    signed_request,
    stale_but_replayable,
    tampered,
    with_value,
    without,
)

SECRET = SourceSecret(secret='quality-signing-secret-90ab')
SAMPLE = sample_json('quality_review.json')


# --- authentication ---------------------------------------------------------------------------------------------


def test_signed_review_authenticates_and_parses() -> None:
    # Given the sample review signed by the QA tool's relay a few seconds ago
    # When it is authenticated and parsed
    event = authenticated_event(adapter, 'quality_review.json', SECRET)

    # Then the review is its own item, the reviewed agent is the assignee by employee id, and the scorecard is on it
    assert (event.source, event.kind) == (Source.QUALITY, Kind.QUALITY_REVIEW)
    assert (event.ticket_key, event.event_id) == ('quality#QA-2024-0512', 'qa-evt-5512')
    assert event.created_at == datetime(2024, 5, 14, 15, 40, tzinfo=UTC)  # reviewed_at: the review's month
    assert [(a.role, a.agent_key) for a in event.assignees] == [(AssigneeRole.AGENT, 'e012')]
    assert event.location_id == 'US-NYC'
    review = event.quality_review
    assert review is not None
    assert (review.review_id, review.ticket_ref, review.scorecard) == ('QA-2024-0512', 'zendesk#35436', 'Email handling and case notes')
    assert (review.score, review.max_score, review.percent) == (Decimal('42.5'), Decimal('50'), Decimal('85.00'))
    assert (review.reviewer_id, review.reviewed_at) == ('E090', datetime(2024, 5, 14, 15, 40, tzinfo=UTC))


def test_wrong_secret_is_rejected() -> None:
    # Given a request signed with another secret
    request = signed_request(SAMPLE, 'not-the-secret', RECEIVED_AT)

    # When / Then authentication fails on the signature
    assert refused(adapter, request, SECRET).field == signing.SIGNATURE_HEADER


def test_tampered_score_is_rejected() -> None:
    # Given a signed review whose score was changed afterwards
    request = tampered(signed_request(SAMPLE, SECRET.secret, RECEIVED_AT), b'"42.5"', b'"49.5"')

    # When / Then authentication fails
    refused(adapter, request, SECRET)


def test_stale_timestamp_is_rejected_unless_freshness_is_waived() -> None:
    # Given a correctly signed request checked 301 s later
    request = signed_request(SAMPLE, SECRET.secret, RECEIVED_AT)

    # When / Then it is stale; an admin replay still authenticates it
    stale_but_replayable(adapter, request, SECRET, RECEIVED_AT + timedelta(seconds=301))


# --- mapping ----------------------------------------------------------------------------------------------------


def test_review_without_a_ticket_or_location_parses() -> None:
    # Given a review of an agent's calls in general (no ticket), scored as numbers
    body = with_value(without(without(SAMPLE, 'review.ticket'), 'review.location_id'), 'review.score', 4)
    body = with_value(body, 'review.max_score', 5)

    # When it is parsed
    review = parse_one(adapter, body).quality_review

    # Then it has no ticket reference, and its percentage is exact
    assert review is not None
    assert (review.ticket_ref, review.percent) == (None, Decimal('80.00'))


def test_a_correction_is_a_new_event_of_the_same_item() -> None:
    # Given the review corrected later with a new event id and score
    corrected = with_value({**SAMPLE, 'event_id': 'qa-evt-5513', 'occurred_at': '2024-05-15T09:00:00Z'}, 'review.score', 45)

    # When both are parsed
    first, second = parse_one(adapter, SAMPLE), parse_one(adapter, corrected)

    # Then they are two events of one item
    assert first.ticket_key == second.ticket_key and first.event_id != second.event_id


# --- invalid payloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'path',
    [
        'schema',
        'event_id',
        'occurred_at',
        'review',
        'review.id',
        'review.employee_id',
        'review.reviewer_id',
        'review.scorecard',
        'review.score',
        'review.max_score',
        'review.reviewed_at',
        'review.ticket.source',
        'review.ticket.id',
    ],
)
def test_missing_required_field_is_named(path: str) -> None:
    # Given the review without a required field
    # When / Then parsing fails naming it
    assert rejected_field(adapter, without(SAMPLE, path)) == path


@pytest.mark.parametrize(
    ('path', 'value'),
    [
        ('schema', 'pitcrew.quality.review/v2'),
        ('event_id', ' '),
        ('occurred_at', 1715700000),
        ('review', []),
        ('review.id', 512),
        ('review.employee_id', None),
        ('review.reviewer_id', 'e012'),  # the agent reviewing themselves
        ('review.scorecard', ''),
        ('review.score', -1),
        ('review.score', '42,5'),
        ('review.score', '42.555'),
        ('review.score', 50.5),  # above max_score
        ('review.score', True),
        ('review.max_score', 0),
        ('review.max_score', 'fifty'),
        ('review.reviewed_at', '14/05/2024'),
        ('review.ticket', 'zendesk#35436'),
        ('review.ticket.source', 'jira'),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_field(path: str, value: Any) -> None:
    # Given the review with one field of the wrong type or value
    # When / Then parsing fails naming that field
    assert rejected_field(adapter, with_value(SAMPLE, path, value)) == path


def test_unknown_top_level_key_is_rejected_naming_it() -> None:
    # Given a misspelt top-level key
    # When / Then it is rejected (the top level is closed)
    assert rejected_field(adapter, {**SAMPLE, 'reveiw': {}}) == 'reveiw'


@pytest.mark.parametrize('index', range(3))
def test_two_megabyte_body_is_parsed_or_rejected_as_invalid(index: int) -> None:
    # Given a 2 MB body (a 2 MB scorecard name, deep nesting, brackets)
    body = huge_json_bodies(SAMPLE, 'review.scorecard')[index]

    # When / Then it is parsed or rejected only as an invalid payload
    assert parse_outcome(adapter, body) in ('parsed', 'invalid')


# --- the published JSON Schema agrees with the receiver ---------------------------------------------------------


@pytest.mark.parametrize(
    ('body', 'valid'),
    [
        (SAMPLE, True),
        (with_value(SAMPLE, 'review.ticket', None), True),
        (with_value(with_value(SAMPLE, 'review.score', 3.5), 'review.max_score', '5'), True),
        (without(SAMPLE, 'review.reviewer_id'), False),
        (with_value(SAMPLE, 'review.score', -1), False),
        (with_value(SAMPLE, 'review.score', '42,5'), False),
        (with_value(SAMPLE, 'review.ticket.source', 'jira'), False),
        (with_value(SAMPLE, 'occurred_at', '2024-05-14 15:42'), False),
        ({**SAMPLE, 'extra': 1}, False),
    ],
)
def test_json_schema_and_adapter_agree(body: dict[str, Any], valid: bool) -> None:
    # Given the published schema and a body
    # When both judge it
    # Then they agree with each other and with the expectation
    assert_schema_and_adapter_agree(adapter, 'quality_review.schema.json', body, valid)


# --- fuzz -------------------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=200)
@given(mutations(SAMPLE, leaf_paths(SAMPLE)))
def test_sample_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))
