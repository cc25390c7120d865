from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from shared.events import AssigneeRole, Kind, Source
from shared.sources import signing
from shared.sources.base import SourceSecret, WebhookRequest
from shared.sources.lms import adapter

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
    sample_bytes,
    sample_json,
    signed_request,
    stale_but_replayable,
    tampered,
    with_value,
    without,
)

SECRET = SourceSecret(secret='lms-signing-secret-7c21')
SAMPLE = sample_json('lms_training_completed.json')


def enrolled(**enrolment: Any) -> dict[str, Any]:
    """The sample's enrolment as its earlier `enrolled` event (no completion, no score)."""
    body = {**SAMPLE, 'event_id': 'lms-evt-20240502-0007', 'event_type': 'enrolled', 'occurred_at': '2024-05-02T10:00:03+05:30'}
    base = {key: value for key, value in SAMPLE['enrolment'].items() if key not in ('completed_at', 'score')}
    return {**body, 'enrolment': {**base, **enrolment}}


# --- authentication ---------------------------------------------------------------------------------------------


def test_signed_completion_authenticates_and_parses() -> None:
    # Given the sample completion signed by the LMS relay a few seconds ago
    # When it is authenticated and parsed
    event = authenticated_event(adapter, 'lms_training_completed.json', SECRET)

    # Then the enrolment is its own item, the learner is the assignee by employee id, and the training is on it
    assert (event.source, event.kind) == (Source.LMS, Kind.TRAINING)
    assert (event.external_id, event.ticket_key, event.event_id) == ('ENR-88213', 'lms#ENR-88213', 'lms-evt-20240514-0042')
    assert event.occurred_at == datetime(2024, 5, 14, 10, 50, 5, tzinfo=UTC)
    assert event.created_at == datetime(2024, 5, 2, 4, 30, tzinfo=UTC)  # enrolled_at: the enrolment's month
    assert event.location_id == 'BLR-WHITEFIELD'
    assert [(a.role, a.agent_key) for a in event.assignees] == [(AssigneeRole.AGENT, 'tech-104')]
    assert event.status is None and event.raw_status == 'completed'
    training = event.training
    assert training is not None
    assert (training.course_id, training.course_name, training.status) == ('EV-HV-201', 'EV high-voltage systems, level 2', 'completed')
    assert training.completed_at == datetime(2024, 5, 14, 10, 50, tzinfo=UTC)
    assert (training.score, training.certification, training.milestone) == (88, True, 'ev_level_2')


@pytest.mark.parametrize('secret', ['not-the-secret', 'dms-signing-secret-e41f'])
def test_wrong_secret_is_rejected(secret: str) -> None:
    # Given a request signed with another secret (another source's, too)
    request = signed_request(SAMPLE, secret, RECEIVED_AT)

    # When / Then authentication fails on the signature
    assert refused(adapter, request, SECRET).field == signing.SIGNATURE_HEADER


def test_tampered_body_is_rejected() -> None:
    # Given a signed completion whose score was raised afterwards
    request = tampered(signed_request(SAMPLE, SECRET.secret, RECEIVED_AT), b'"score": 88', b'"score": 98')

    # When / Then authentication fails
    refused(adapter, request, SECRET)


def test_unsigned_request_is_rejected_naming_the_timestamp_header() -> None:
    # Given a request without the Pitcrew headers
    # When / Then it is rejected naming the first missing header
    unsigned = WebhookRequest(body=sample_bytes('lms_training_completed.json'), headers={})
    assert refused(adapter, unsigned, SECRET).field == signing.TIMESTAMP_HEADER


def test_stale_timestamp_is_rejected_unless_freshness_is_waived() -> None:
    # Given a correctly signed request checked six hours later
    request = signed_request(SAMPLE, SECRET.secret, RECEIVED_AT)

    # When / Then it is stale; an admin replay still authenticates it
    stale_but_replayable(adapter, request, SECRET, RECEIVED_AT + timedelta(hours=6))


# --- mapping ----------------------------------------------------------------------------------------------------


def test_enrolment_parses_without_completion() -> None:
    # Given the enrolled event of the same enrolment
    event = parse_one(adapter, enrolled())

    # Then it is the same item, enrolled, with no completion time or score
    assert event.ticket_key == 'lms#ENR-88213'
    assert event.training is not None
    assert (event.training.status, event.training.completed_at, event.training.score) == ('enrolled', None, None)


def test_minimal_completion_parses_and_counts_from_its_own_time() -> None:
    # Given only the required fields: no enrolment time, no score, no milestone, no location
    body = {
        'schema': 'pitcrew.lms.training/v1',
        'event_id': 'e-1',
        'event_type': 'completed',
        'occurred_at': '2024-05-14T09:30:00Z',
        'enrolment': {
            'id': 'ENR-1',
            'employee_id': 'E7',
            'course': {'id': 'C-1', 'name': 'Phone etiquette'},
            'completed_at': '2024-05-14T09:29:00Z',
        },
    }

    # When it is parsed
    event = parse_one(adapter, body)

    # Then the optional fields are empty, the course is not a certification, and the item starts at the event
    assert event.training is not None
    assert (event.training.certification, event.training.score, event.training.milestone, event.location_id) == (False, None, None, None)
    assert event.created_at == event.occurred_at


def test_unknown_keys_inside_the_enrolment_are_ignored() -> None:
    # Given an LMS sending more than we read
    # When / Then it parses
    assert parse_one(adapter, with_value(SAMPLE, 'enrolment.attempts', 2)).external_id == 'ENR-88213'


# --- invalid payloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'path',
    [
        'schema',
        'event_id',
        'event_type',
        'occurred_at',
        'enrolment',
        'enrolment.id',
        'enrolment.employee_id',
        'enrolment.course',
        'enrolment.course.id',
        'enrolment.course.name',
        'enrolment.completed_at',
    ],
)
def test_missing_required_field_is_named(path: str) -> None:
    # Given the completion without a required field
    # When / Then parsing fails naming it
    assert rejected_field(adapter, without(SAMPLE, path)) == path


@pytest.mark.parametrize(
    ('path', 'value'),
    [
        ('schema', 'pitcrew.lms.training/v2'),
        ('event_id', 42),
        ('event_type', 'started'),
        ('occurred_at', '2024-05-14T16:20:05'),
        ('enrolment', 'ENR-88213'),
        ('enrolment.id', '   '),
        ('enrolment.employee_id', 104),
        ('enrolment.employee_id', 'E' * 65),
        ('enrolment.course.certification', 'yes'),
        ('enrolment.course.name', ''),
        ('enrolment.enrolled_at', 'last week'),
        ('enrolment.completed_at', '2024-05-01T10:00:00+05:30'),  # before enrolled_at
        ('enrolment.score', 101),
        ('enrolment.score', -1),
        ('enrolment.score', 88.5),
        ('enrolment.score', '88'),
        ('enrolment.milestone', ['ev_level_2']),
        ('enrolment.location_id', 7),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_field(path: str, value: Any) -> None:
    # Given the completion with one field of the wrong type or value
    # When / Then parsing fails naming that field
    assert rejected_field(adapter, with_value(SAMPLE, path, value)) == path


@pytest.mark.parametrize(('path', 'value'), [('enrolment.completed_at', '2024-05-03T10:00:00Z'), ('enrolment.score', 70)])
def test_an_enrolment_cannot_carry_a_completion(path: str, value: Any) -> None:
    # Given an enrolled event that also says when it was completed, or with what score
    # When / Then it is rejected naming that field
    assert rejected_field(adapter, with_value(enrolled(), path, value)) == path


def test_unknown_top_level_key_is_rejected_naming_it() -> None:
    # Given a misspelt top-level key
    # When / Then it is rejected (the top level is closed)
    assert rejected_field(adapter, {**SAMPLE, 'enrollment': {}}) == 'enrollment'


@pytest.mark.parametrize('index', range(3))
def test_two_megabyte_body_is_parsed_or_rejected_as_invalid(index: int) -> None:
    # Given a 2 MB body (a 2 MB course name, deep nesting, brackets)
    body = huge_json_bodies(SAMPLE, 'enrolment.course.name')[index]

    # When / Then it is parsed or rejected only as an invalid payload
    assert parse_outcome(adapter, body) in ('parsed', 'invalid')


# --- the published JSON Schema agrees with the receiver ---------------------------------------------------------


@pytest.mark.parametrize(
    ('body', 'valid'),
    [
        (SAMPLE, True),
        (enrolled(), True),
        (enrolled(milestone=None, location_id=None, enrolled_at=None), True),
        (without(SAMPLE, 'enrolment.completed_at'), False),
        (with_value(enrolled(), 'enrolment.score', 70), False),
        (with_value(SAMPLE, 'enrolment.score', 101), False),
        (with_value(SAMPLE, 'event_type', 'started'), False),
        (with_value(SAMPLE, 'enrolment.course.certification', 'yes'), False),
        (with_value(SAMPLE, 'occurred_at', '2024-05-14 16:20'), False),
        ({**SAMPLE, 'extra': 1}, False),
    ],
)
def test_json_schema_and_adapter_agree(body: dict[str, Any], valid: bool) -> None:
    # Given the published schema and a body
    # When both judge it
    # Then they agree with each other and with the expectation
    assert_schema_and_adapter_agree(adapter, 'lms_training.schema.json', body, valid)


# --- fuzz -------------------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=200)
@given(mutations(SAMPLE, leaf_paths(SAMPLE)))
def test_sample_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))
