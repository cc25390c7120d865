from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from shared.events import AssigneeRole, Kind, Source
from shared.sources import signing
from shared.sources.base import SourceSecret
from shared.sources.survey import adapter

from ._support import (
    RECEIVED_AT,
    assert_schema_and_adapter_agree,
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
    with_value,
    without,
)

SECRET = SourceSecret(secret='survey-signing-secret-9d2')
SAMPLE = sample_json('survey_response.json')
FRESHDESK_RATINGS = sample_json('freshdesk_satisfaction_ratings.json')


def wrapped(rating: dict[str, Any]) -> dict[str, Any]:
    return {'schema': 'freshdesk.satisfaction_rating', 'rating': rating}


FRESHDESK = wrapped(FRESHDESK_RATINGS[0])


def response(**changes: Any) -> dict[str, Any]:
    return {**SAMPLE, **changes}


# --- authentication ---------------------------------------------------------------------------------------------


def test_signed_response_authenticates_and_joins_the_rated_ticket() -> None:
    # Given the sample response, signed by the survey tool just now
    request = signed_request(sample_bytes('survey_response.json'), SECRET.secret, RECEIVED_AT)

    # When it is authenticated and parsed
    adapter.authenticate(request, SECRET, RECEIVED_AT + timedelta(seconds=2))
    event = adapter.parse(request, RECEIVED_AT).events[0]

    # Then the event is a survey on the Zendesk ticket it rates
    assert event.source is Source.ZENDESK
    assert event.kind is Kind.SURVEY
    assert event.external_id == '35436'
    assert event.ticket_key == 'zendesk#35436'
    assert event.event_id == 'survey:resp-7f3a9c'
    assert event.occurred_at == datetime(2024, 5, 14, 12, 2, 11, tzinfo=UTC)
    assert event.survey is not None
    assert (event.survey.response_id, event.survey.csat, event.survey.nps, event.survey.comment) == (
        'resp-7f3a9c',
        4,
        9,
        'Quick and friendly.',
    )
    assert [(a.role, a.agent_key) for a in event.assignees] == [(AssigneeRole.AGENT, 'agent@example.com')]


def test_wrong_secret_is_rejected() -> None:
    # Given a response signed with another secret
    # When / Then authentication fails on the signature
    assert refused(adapter, signed_request(SAMPLE, 'guess', RECEIVED_AT), SECRET).field == signing.SIGNATURE_HEADER


def test_stale_timestamp_is_rejected_unless_freshness_is_waived() -> None:
    # Given a correctly signed response checked ten minutes later
    request = signed_request(SAMPLE, SECRET.secret, RECEIVED_AT)
    later = RECEIVED_AT + timedelta(minutes=10)

    # When / Then it is stale, but an admin replay authenticates it
    stale_but_replayable(adapter, request, SECRET, later)


# --- pitcrew.survey/v1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(('csat', 'expected'), [(1, 1), (5, 5), ('good', 5), ('bad', 1), ('Good', 5), (' BAD ', 1)])
def test_csat_takes_1_to_5_or_good_bad(csat: int | str, expected: int) -> None:
    # Given / When a response with that CSAT answer is parsed
    event = parse_one(adapter, response(csat=csat))

    # Then it is on the 1-5 scale
    assert event.survey is not None
    assert event.survey.csat == expected


def test_nps_alone_is_enough() -> None:
    # Given an NPS-only response for a DMS job card
    event = parse_one(adapter, {**without(SAMPLE, 'csat'), 'ticket_source': 'dms', 'ticket_id': 'JC-2024-00451', 'nps': 0})

    # Then it is a survey on that job card with no CSAT
    assert (event.source, event.external_id) == (Source.DMS, 'JC-2024-00451')
    assert event.survey is not None
    assert (event.survey.csat, event.survey.nps) == (None, 0)


@pytest.mark.parametrize('ticket_source', ['zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms'])
def test_event_is_filed_under_the_rated_tickets_source(ticket_source: str) -> None:
    # Given / When a response about a ticket of that source is parsed
    # Then the event joins that source's ticket
    assert parse_one(adapter, response(ticket_source=ticket_source)).source is Source(ticket_source)


def test_neither_csat_nor_nps_is_rejected() -> None:
    # Given a response with only a comment
    body = {**without(without(SAMPLE, 'csat'), 'nps')}

    # When / Then it is rejected
    assert rejected_field(adapter, body) == 'csat'


@pytest.mark.parametrize('path', ['schema', 'response_id', 'ticket_source', 'ticket_id', 'submitted_at'])
def test_missing_required_field_is_named(path: str) -> None:
    # Given the sample without a required field
    # When / Then parsing fails naming it
    assert rejected_field(adapter, without(SAMPLE, path)) == path


@pytest.mark.parametrize(
    ('path', 'value'),
    [
        ('csat', 0),
        ('csat', 6),
        ('csat', '5'),
        ('csat', 4.0),
        ('csat', True),
        ('csat', 'meh'),
        ('nps', 11),
        ('nps', -1),
        ('nps', '9'),
        ('ticket_source', 'survey'),
        ('ticket_source', 'Zendesk'),
        ('ticket_id', 35436),
        ('response_id', 'r' * 201),
        ('submitted_at', '2024-05-14 12:02'),
        ('submitted_at', '2024-05-14T12:02:11'),
        ('comment', ['great']),
        ('comment', 'x' * 4001),
        ('agent_key', {'email': 'a@example.com'}),
        ('schema', 'pitcrew.survey/v2'),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_field(path: str, value: Any) -> None:
    # Given the sample with one field of the wrong type or value
    # When / Then parsing fails naming that field
    assert rejected_field(adapter, with_value(SAMPLE, path, value)) == path


def test_unknown_key_is_rejected_naming_it() -> None:
    # Given a misspelt key
    # When / Then it is rejected
    assert rejected_field(adapter, response(cast=5)) == 'cast'


# --- Freshdesk satisfaction ratings -----------------------------------------------------------------------------


def test_freshdesk_ratings_sample_maps_to_csat_on_the_freshdesk_ticket() -> None:
    # Given both ratings of the Freshdesk sample, wrapped
    happy, satisfied = (parse_one(adapter, wrapped(rating)) for rating in FRESHDESK_RATINGS)

    # Then each is a survey on Freshdesk ticket 432 rating agent 1
    assert (happy.source, happy.kind, happy.external_id) == (Source.FRESHDESK, Kind.SURVEY, '432')
    assert happy.event_id == 'survey:freshdesk:102'
    assert happy.occurred_at == datetime(2015, 8, 28, 9, 8, 16, tzinfo=UTC)
    assert happy.survey is not None
    assert (happy.survey.csat, happy.survey.comment) == (5, 'Thank you for the quick action')
    assert [(a.role, a.agent_key) for a in happy.assignees] == [(AssigneeRole.AGENT, '1')]
    assert satisfied.survey is not None
    assert (satisfied.event_id, satisfied.survey.csat) == ('survey:freshdesk:112', 4)


@pytest.mark.parametrize(('answer', 'csat'), [(103, 5), (102, 4), (101, 4), (100, 3), (-101, 2), (-102, 2), (-103, 1)])
def test_freshdesk_answers_map_to_the_csat_scale(answer: int, csat: int) -> None:
    # Given / When a rating with that default answer is parsed
    event = parse_one(adapter, with_value(FRESHDESK, 'rating.ratings.default_question', answer))

    # Then it is on the 1-5 scale
    assert event.survey is not None
    assert event.survey.csat == csat


@pytest.mark.parametrize(
    ('path', 'value'),
    [
        ('rating.ratings.default_question', 104),
        ('rating.ratings.default_question', '103'),
        ('rating.ratings', [103]),
        ('rating.ticket_id', None),
        ('rating.ticket_id', [432]),
        ('rating.id', True),
        ('rating.created_at', '2015-08-28T010:08:16Z'),
        ('rating', 'happy'),
    ],
)
def test_malformed_freshdesk_rating_is_rejected_naming_the_field(path: str, value: Any) -> None:
    # Given a wrapped rating with one bad field
    # When / Then parsing fails naming it
    assert rejected_field(adapter, with_value(FRESHDESK, path, value)) == path


def test_freshdesk_rating_without_an_answer_is_rejected() -> None:
    # Given a rating whose ratings lack the default question
    # When / Then parsing fails naming it
    assert rejected_field(adapter, without(FRESHDESK, 'rating.ratings.default_question')) == 'rating.ratings.default_question'


def test_long_freshdesk_feedback_is_truncated_not_rejected() -> None:
    # Given customer feedback longer than a survey comment holds
    event = parse_one(adapter, with_value(FRESHDESK, 'rating.feedback', 'y' * 5000))

    # Then the rating is kept with the comment cut to 4000 characters
    assert event.survey is not None
    assert event.survey.comment == 'y' * 4000


# --- event ids --------------------------------------------------------------------------------------------------


def test_same_payload_twice_gets_the_same_event_id() -> None:
    # Given the same response delivered twice
    # When / Then the response id makes the second a duplicate
    assert parse_one(adapter, SAMPLE).event_id == parse_one(adapter, SAMPLE, RECEIVED_AT + timedelta(hours=3)).event_id


def test_a_new_response_gets_a_different_event_id() -> None:
    # Given a second response about the same ticket
    # When / Then its id differs
    assert parse_one(adapter, SAMPLE).event_id != parse_one(adapter, response(response_id='resp-7f3a9d', csat=2)).event_id


# --- body-level failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(('body', 'field'), [({'csat': 5}, 'schema'), ({'schema': 'typeform/v1'}, 'schema'), ({'schema': 3}, 'schema')])
def test_missing_or_unknown_schema_is_rejected(body: dict[str, Any], field: str) -> None:
    # Given a body without our schema marker
    # When / Then parsing fails naming schema
    assert rejected_field(adapter, body) == field


@pytest.mark.parametrize('index', range(3))
def test_two_megabyte_body_is_parsed_or_rejected_as_invalid(index: int) -> None:
    # Given a 2 MB body (a 2 MB comment, deep nesting, brackets)
    body = huge_json_bodies(SAMPLE, 'comment')[index]

    # When / Then it is rejected only as an invalid payload (a comment holds 4000 characters)
    assert parse_outcome(adapter, body) == 'invalid'


# --- the published JSON Schema agrees with the receiver ---------------------------------------------------------


@pytest.mark.parametrize(
    ('body', 'valid'),
    [
        (SAMPLE, True),
        (response(csat='good', nps=None), True),
        (without(SAMPLE, 'csat'), True),
        (FRESHDESK, True),
        (without(without(SAMPLE, 'csat'), 'nps'), False),
        (response(csat=None, nps=None), False),
        (response(csat=6), False),
        (response(ticket_source='survey'), False),
        (response(extra=1), False),
        (without(SAMPLE, 'submitted_at'), False),
        (with_value(FRESHDESK, 'rating.ratings.default_question', 104), False),
    ],
)
def test_json_schema_and_adapter_agree(body: dict[str, Any], valid: bool) -> None:
    # Given the published schema and a body
    # When both judge it
    # Then they agree with each other and with the expectation
    assert_schema_and_adapter_agree(adapter, 'survey_response.schema.json', body, valid)


# --- fuzz -------------------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(mutations(SAMPLE, leaf_paths(SAMPLE)))
def test_response_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))


@settings(deadline=None, max_examples=300)
@given(mutations(FRESHDESK, leaf_paths(FRESHDESK)))
def test_freshdesk_rating_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))
