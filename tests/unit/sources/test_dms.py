from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from shared.errors import AuthenticationFailed, StaleTimestamp
from shared.events import AssigneeRole, Channel, Kind, Source, Status
from shared.sources import signing
from shared.sources.base import SourceSecret
from shared.sources.dms import adapter

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

SECRET = SourceSecret(secret='dms-signing-secret-e41f')
SAMPLE = sample_json('dms_job_card_delivered.json')


def event_of(event_type: str, **card: Any) -> dict[str, Any]:
    return {**SAMPLE, 'event_type': event_type, 'job_card': {**SAMPLE['job_card'], **card}}


# --- authentication ---------------------------------------------------------------------------------------------


def test_signed_job_card_authenticates_and_parses() -> None:
    # Given the sample signed by the DMS connector a few seconds ago
    # When it is authenticated and parsed
    event = authenticated_event(adapter, 'dms_job_card_delivered.json', SECRET)

    # Then the job card's canonical fields are on the event
    delivered_at = datetime(2024, 5, 14, 11, 35, tzinfo=UTC)  # 17:05 +05:30
    assert event.source is Source.DMS
    assert event.kind is Kind.JOB_CARD
    assert event.event_id == 'jc-evt-000981'
    assert event.external_id == 'JC-2024-00451'
    assert event.channel is Channel.WALK_IN
    assert (event.status, event.raw_status) == (Status.CLOSED, 'delivered')
    assert event.occurred_at == delivered_at
    assert event.resolved_at == delivered_at
    assert event.created_at == datetime(2024, 5, 14, 4, 0, tzinfo=UTC)
    assert event.promised_at == datetime(2024, 5, 14, 12, 30, tzinfo=UTC)
    assert event.location_id == 'BLR-WHITEFIELD'
    assert [(a.role, a.agent_key) for a in event.assignees] == [
        (AssigneeRole.ADVISOR, 'sa-017'),
        (AssigneeRole.TECHNICIAN, 'tech-104'),
        (AssigneeRole.TECHNICIAN, 'tech-221'),
    ]
    assert event.vehicle_id == 'MA3EWDE1S00123456'
    assert event.customer_key == 'CUST-88231'
    assert event.complaint_code == 'PS-20K'
    assert [(line.line_id, line.category, line.amount, line.currency, line.accepted) for line in event.upsell_lines] == [
        ('UL-1', 'ceramic_coating', Decimal('14999.00'), 'INR', True),
        ('UL-2', 'tyres', Decimal('6200'), 'INR', False),
    ]
    assert event.tags == ('job_type:periodic_service',)


def test_wrong_secret_is_rejected() -> None:
    # Given a request signed with another secret
    request = signed_request(SAMPLE, 'not-the-secret', RECEIVED_AT)

    # When / Then authentication fails on the signature
    refusal = refused(adapter, request, SECRET)
    assert refusal.field == signing.SIGNATURE_HEADER
    assert not isinstance(refusal, StaleTimestamp)


def test_tampered_body_is_rejected() -> None:
    # Given a signed request whose body was altered afterwards
    request = tampered(signed_request(SAMPLE, SECRET.secret, RECEIVED_AT), b'delivered', b'reopened')

    # When / Then authentication fails
    refused(adapter, request, SECRET)


@pytest.mark.parametrize('offset', [timedelta(seconds=301), timedelta(seconds=-301), timedelta(hours=6)])
def test_stale_timestamp_is_rejected_unless_freshness_is_waived(offset: timedelta) -> None:
    # Given a correctly signed request checked outside the ±300 s window
    request = signed_request(SAMPLE, SECRET.secret, RECEIVED_AT)

    # When / Then it is stale; an admin replay (check_freshness=False) still authenticates it
    assert stale_but_replayable(adapter, request, SECRET, RECEIVED_AT + offset).field == signing.TIMESTAMP_HEADER


def test_replay_still_needs_a_valid_signature() -> None:
    # Given an old request signed with a wrong secret
    request = signed_request(SAMPLE, 'wrong', RECEIVED_AT)

    # When / Then waiving freshness does not waive the HMAC
    with pytest.raises(AuthenticationFailed):
        adapter.authenticate(request, SECRET, RECEIVED_AT + timedelta(days=2), check_freshness=False)


def test_previous_secret_is_accepted_during_rotation() -> None:
    # Given a connector still signing with the old secret
    request = signed_request(SAMPLE, 'old-secret', RECEIVED_AT)

    # When / Then it authenticates while the old secret is kept as previous_secret
    adapter.authenticate(request, SourceSecret(secret='new-secret', previous_secret='old-secret'), RECEIVED_AT)


# --- mapping ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('event_type', 'status'),
    [
        ('opened', Status.OPEN),
        ('diagnosed', Status.OPEN),
        ('awaiting_approval', Status.PENDING),
        ('approved', Status.OPEN),
        ('work_done', Status.SOLVED),
        ('delivered', Status.CLOSED),
        ('reopened', Status.OPEN),
        ('repeat_visit', Status.OPEN),
    ],
)
def test_stage_maps_to_status_and_only_delivery_resolves(event_type: str, status: Status) -> None:
    # Given / When a job card at that stage is parsed
    event = parse_one(adapter, event_of(event_type))

    # Then the stage maps and is kept as the raw status; only delivery carries a resolution time
    assert (event.status, event.raw_status) == (status, event_type)
    assert (event.resolved_at is not None) == (event_type == 'delivered')


def test_minimal_job_card_parses() -> None:
    # Given only the required fields
    body = {
        'schema': 'pitcrew.dms.job_card/v1',
        'event_id': 'e-1',
        'event_type': 'opened',
        'occurred_at': '2024-05-14T09:30:00Z',
        'job_card': {'id': 'JC-1', 'location_id': 'L1', 'opened_at': '2024-05-14T09:30:00Z'},
    }

    # When it is parsed
    event = parse_one(adapter, body)

    # Then the optional fields are empty
    assert (event.assignees, event.upsell_lines, event.vehicle_id, event.tags) == ((), (), None, ())


def test_registration_is_the_vehicle_id_without_a_vin() -> None:
    # Given a vehicle known by its registration only
    # When / Then the registration identifies it
    assert parse_one(adapter, event_of('opened', vehicle={'registration': 'KA03MX4521'})).vehicle_id == 'KA03MX4521'


def test_repeat_visit_names_the_earlier_job_card() -> None:
    # Given a repeat visit of an earlier job card
    event = parse_one(adapter, event_of('repeat_visit', repeat_of='JC-2024-00390'))

    # Then the link is kept as a tag
    assert 'repeat_of:JC-2024-00390' in event.tags


def test_unknown_keys_inside_the_job_card_are_ignored() -> None:
    # Given a connector sending an extra job-card field
    # When / Then it parses
    assert parse_one(adapter, event_of('opened', odometer_km=48213)).external_id == 'JC-2024-00451'


# --- event ids --------------------------------------------------------------------------------------------------


def test_same_payload_twice_gets_the_same_event_id() -> None:
    # Given the same job-card event delivered twice
    # When / Then the sender's event id makes the second a duplicate
    first = parse_one(adapter, SAMPLE, RECEIVED_AT)
    assert first.event_id == parse_one(adapter, SAMPLE, RECEIVED_AT + timedelta(hours=1)).event_id


def test_changed_payload_gets_a_different_event_id() -> None:
    # Given the next stage change of the same job card (the DMS gives each change its own id)
    changed = {**event_of('reopened'), 'event_id': 'jc-evt-000982'}

    # When / Then the ids differ
    assert parse_one(adapter, SAMPLE).event_id != parse_one(adapter, changed).event_id


# --- invalid payloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'path',
    ['schema', 'event_id', 'event_type', 'occurred_at', 'job_card', 'job_card.id', 'job_card.location_id', 'job_card.opened_at'],
)
def test_missing_required_field_is_named(path: str) -> None:
    # Given the sample without a required field
    # When / Then parsing fails naming it
    assert rejected_field(adapter, without(SAMPLE, path)) == path


@pytest.mark.parametrize(
    ('path', 'value'),
    [
        ('schema', 'pitcrew.dms.job_card/v2'),
        ('event_id', 981),
        ('event_id', '   '),
        ('event_type', 'washed'),
        ('occurred_at', '2024-05-14T17:05:00'),
        ('occurred_at', 1715686500),
        ('job_card', 'JC-1'),
        ('job_card.id', 451),
        ('job_card.technician_ids', 'TECH-104'),
        ('job_card.technician_ids.0', 104),
        ('job_card.promised_at', 'tomorrow'),
        ('job_card.vehicle', ['KA03MX4521']),
        ('job_card.upsell_lines.0.amount', '14,999.00'),
        ('job_card.upsell_lines.0.amount', -5),
        ('job_card.upsell_lines.0.amount', '12.345'),
        ('job_card.upsell_lines.0.category', 'car_wash'),
        ('job_card.upsell_lines.0.currency', 'inr'),
        ('job_card.upsell_lines.0.accepted', 'yes'),
        ('job_card.upsell_lines.1', 'UL-2'),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_field(path: str, value: Any) -> None:
    # Given the sample with one field of the wrong type or value
    # When / Then parsing fails naming that field
    assert rejected_field(adapter, with_value(SAMPLE, path, value)) == path


def test_unknown_top_level_key_is_rejected_naming_it() -> None:
    # Given a misspelt top-level key
    # When / Then it is rejected (the top level is closed)
    assert rejected_field(adapter, {**SAMPLE, 'jobcard': {}}) == 'jobcard'


@pytest.mark.parametrize('index', range(3))
def test_two_megabyte_body_is_parsed_or_rejected_as_invalid(index: int) -> None:
    # Given a 2 MB body (here: a 2 MB job-card type, deep nesting, brackets)
    body = huge_json_bodies(SAMPLE, 'job_card.type')[index]

    # When / Then it is parsed or rejected only as an invalid payload
    assert parse_outcome(adapter, body) in ('parsed', 'invalid')


# --- the published JSON Schema agrees with the receiver ---------------------------------------------------------


@pytest.mark.parametrize(
    ('body', 'valid'),
    [
        (SAMPLE, True),
        (event_of('awaiting_approval', vehicle={'registration': 'KA03MX4521'}, upsell_lines=[]), True),
        (without(SAMPLE, 'job_card.id'), False),
        (with_value(SAMPLE, 'event_type', 'washed'), False),
        (with_value(SAMPLE, 'job_card.upsell_lines.0.currency', 'inr'), False),
        (with_value(SAMPLE, 'job_card.upsell_lines.0.amount', -1), False),
        (with_value(SAMPLE, 'job_card.upsell_lines.0.accepted', 'yes'), False),
        (with_value(SAMPLE, 'occurred_at', '2024-05-14 17:05'), False),
        ({**SAMPLE, 'extra': 1}, False),
    ],
)
def test_json_schema_and_adapter_agree(body: dict[str, Any], valid: bool) -> None:
    # Given the published schema and a body
    # When both judge it
    # Then they agree with each other and with the expectation
    assert_schema_and_adapter_agree(adapter, 'dms_job_card.schema.json', body, valid)


# --- fuzz -------------------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(mutations(SAMPLE, leaf_paths(SAMPLE) + ['job_card.repeat_of']))
def test_sample_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))


# --- upsell margin ----------------------------------------------------------------------------------------------


def test_upsell_margin_is_mapped_when_sent() -> None:
    # Given the sample whose first upsell line reports its gross margin (a decimal string) and a loss-making second line
    body = with_value(with_value(SAMPLE, 'job_card.upsell_lines.0.margin', '5200.50'), 'job_card.upsell_lines.1.margin', -150)

    # When it is parsed
    lines = parse_one(adapter, body).upsell_lines

    # Then each line carries its margin; without one (the sample) the margin is unknown
    assert [line.margin for line in lines] == [Decimal('5200.50'), Decimal('-150')]
    assert [line.margin for line in parse_one(adapter, SAMPLE).upsell_lines] == [None, None]


@pytest.mark.parametrize('margin', ['14999.01', '1,200', '12.345', True])
def test_upsell_margin_above_the_amount_or_malformed_is_rejected_naming_it(margin: Any) -> None:
    # Given a line whose margin exceeds its amount (14999.00) or is not a decimal
    # When / Then parsing fails naming the margin
    assert rejected_field(adapter, with_value(SAMPLE, 'job_card.upsell_lines.0.margin', margin)) == 'job_card.upsell_lines.0.margin'


@pytest.mark.parametrize(('margin', 'valid'), [('4200.00', True), (-150, True), ('-12.5', True), ('1,200', False), ('12.345', False)])
def test_json_schema_and_adapter_agree_on_the_margin(margin: Any, valid: bool) -> None:
    # Given the published schema and the sample with a margin on its first line
    body = with_value(SAMPLE, 'job_card.upsell_lines.0.margin', margin)

    # When / Then both judge it alike
    assert_schema_and_adapter_agree(adapter, 'dms_job_card.schema.json', body, valid)


def test_a_thousand_upsell_lines_parse_and_one_more_is_refused_naming_the_field() -> None:
    # Given job cards with the documented maximum of upsell lines, and one more
    line = SAMPLE['job_card']['upsell_lines'][0]
    at_limit = event_of('delivered', upsell_lines=[{**line, 'line_id': f'UL-{n}'} for n in range(1000)])
    over = event_of('delivered', upsell_lines=[{**line, 'line_id': f'UL-{n}'} for n in range(1001)])

    # When / Then the first parses with every line, the second is refused (HTTP 400) naming the lines
    assert len(parse_one(adapter, at_limit).upsell_lines) == 1000
    assert rejected_field(adapter, over) == 'job_card.upsell_lines'
