from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from shared.events import AssigneeRole, Kind, Source
from shared.sources import signing
from shared.sources.base import SourceSecret
from shared.sources.safety import adapter

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

SECRET = SourceSecret(secret='safety-signing-secret-3f5e')
SAMPLE = sample_json('safety_hazard_report.json')


def check(outcome: str, **report: Any) -> dict[str, Any]:
    """A compliance check of the sample's technician by the same manager."""
    base = {key: value for key, value in SAMPLE['report'].items() if key not in ('severity', 'description')}
    body = {**SAMPLE, 'event_id': f'sf-evt-check-{outcome}'}
    return {**body, 'report': {**base, 'id': 'SC-2024-0140', 'type': 'compliance_check', 'outcome': outcome, **report}}


# --- authentication ---------------------------------------------------------------------------------------------


def test_signed_hazard_report_authenticates_and_parses() -> None:
    # Given the sample hazard report signed by the workshop's safety form a few seconds ago
    # When it is authenticated and parsed
    event = authenticated_event(adapter, 'safety_hazard_report.json', SECRET)

    # Then the report is its own item about the technician who raised the hazard; the manager is only recorded
    assert (event.source, event.kind) == (Source.SAFETY, Kind.SAFETY_REPORT)
    assert (event.ticket_key, event.event_id) == ('safety#SR-2024-0091', 'sf-evt-0091')
    assert event.occurred_at == datetime(2024, 5, 14, 5, 35, tzinfo=UTC)
    assert [(a.role, a.agent_key) for a in event.assignees] == [(AssigneeRole.AGENT, 'tech-221')]
    assert (event.location_id, event.raw_status) == ('BLR-WHITEFIELD', 'reported')
    report = event.safety_report
    assert report is not None
    assert (report.report_id, report.report_type, report.outcome, report.severity) == ('SR-2024-0091', 'hazard_report', 'reported', 'high')
    assert report.reported_by == 'WM-BLR-01'
    assert report.description is not None and report.description.startswith('Hydraulic oil leak')


def test_wrong_secret_is_rejected() -> None:
    # Given a request signed with another secret
    request = signed_request(SAMPLE, 'not-the-secret', RECEIVED_AT)

    # When / Then authentication fails on the signature
    assert refused(adapter, request, SECRET).field == signing.SIGNATURE_HEADER


def test_tampered_subject_is_rejected() -> None:
    # Given a signed report whose subject was changed afterwards
    request = tampered(signed_request(SAMPLE, SECRET.secret, RECEIVED_AT), b'TECH-221', b'TECH-104')

    # When / Then authentication fails
    refused(adapter, request, SECRET)


def test_stale_timestamp_is_rejected_unless_freshness_is_waived() -> None:
    # Given a correctly signed request checked a day later
    request = signed_request(SAMPLE, SECRET.secret, RECEIVED_AT)

    # When / Then it is stale; an admin replay still authenticates it
    stale_but_replayable(adapter, request, SECRET, RECEIVED_AT + timedelta(days=1))


# --- mapping ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize('outcome', ['passed', 'failed'])
def test_compliance_check_passed_or_failed(outcome: str) -> None:
    # Given a compliance check with that outcome and no severity
    event = parse_one(adapter, check(outcome))

    # Then it is a compliance check of the technician with that outcome
    assert event.ticket_key == 'safety#SC-2024-0140'
    assert event.safety_report is not None
    assert (event.safety_report.report_type, event.safety_report.outcome, event.safety_report.severity) == ('compliance_check', outcome, None)


def test_a_failed_check_may_carry_a_severity_and_description() -> None:
    # Given a failed lockout/tagout check with a severity
    event = parse_one(adapter, check('failed', severity='medium', description='Lift 2 not tagged out before work.'))

    # Then both are kept
    assert event.safety_report is not None
    assert (event.safety_report.severity, event.safety_report.description) == ('medium', 'Lift 2 not tagged out before work.')


# --- invalid payloads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'path',
    [
        'schema',
        'event_id',
        'occurred_at',
        'report',
        'report.id',
        'report.type',
        'report.employee_id',
        'report.reported_by',
        'report.outcome',
        'report.severity',  # required on a hazard report
    ],
)
def test_missing_required_field_is_named(path: str) -> None:
    # Given the hazard report without a required field
    # When / Then parsing fails naming it
    assert rejected_field(adapter, without(SAMPLE, path)) == path


@pytest.mark.parametrize(
    ('path', 'value'),
    [
        ('schema', 'pitcrew.safety.report/v0'),
        ('event_id', ''),
        ('occurred_at', '2024-05-14'),
        ('report', None),
        ('report.id', 91),
        ('report.type', 'incident'),
        ('report.employee_id', ['TECH-221']),
        ('report.reported_by', 'tech-221'),  # a report about oneself
        ('report.outcome', 'passed'),  # a hazard report is reported, not passed
        ('report.outcome', 'ok'),
        ('report.severity', 'critical'),
        ('report.description', 'x' * 2001),
        ('report.location_id', {'id': 'BLR'}),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_field(path: str, value: Any) -> None:
    # Given the hazard report with one field of the wrong type or value
    # When / Then parsing fails naming that field
    assert rejected_field(adapter, with_value(SAMPLE, path, value)) == path


def test_a_compliance_check_cannot_be_reported() -> None:
    # Given a compliance check whose outcome is a hazard report's
    # When / Then it is rejected naming the outcome
    assert rejected_field(adapter, check('reported')) == 'report.outcome'


def test_unknown_top_level_key_is_rejected_naming_it() -> None:
    # Given a misspelt top-level key
    # When / Then it is rejected (the top level is closed)
    assert rejected_field(adapter, {**SAMPLE, 'reprot': {}}) == 'reprot'


@pytest.mark.parametrize('index', range(3))
def test_two_megabyte_body_is_parsed_or_rejected_as_invalid(index: int) -> None:
    # Given a 2 MB body (a 2 MB description, deep nesting, brackets)
    body = huge_json_bodies(SAMPLE, 'report.description')[index]

    # When / Then it is parsed or rejected only as an invalid payload
    assert parse_outcome(adapter, body) in ('parsed', 'invalid')


# --- the published JSON Schema agrees with the receiver ---------------------------------------------------------


@pytest.mark.parametrize(
    ('body', 'valid'),
    [
        (SAMPLE, True),
        (check('passed'), True),
        (check('failed', severity='low', description=None), True),
        (check('reported'), False),
        (with_value(SAMPLE, 'report.outcome', 'failed'), False),
        (without(SAMPLE, 'report.severity'), False),
        (with_value(SAMPLE, 'report.severity', 'critical'), False),
        (with_value(SAMPLE, 'report.description', 'x' * 2001), False),
        (without(SAMPLE, 'report.reported_by'), False),
        ({**SAMPLE, 'extra': 1}, False),
    ],
)
def test_json_schema_and_adapter_agree(body: dict[str, Any], valid: bool) -> None:
    # Given the published schema and a body
    # When both judge it
    # Then they agree with each other and with the expectation
    assert_schema_and_adapter_agree(adapter, 'safety_report.schema.json', body, valid)


# --- fuzz -------------------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=200)
@given(mutations(SAMPLE, leaf_paths(SAMPLE)))
def test_sample_with_any_field_replaced_only_ever_raises_invalid_payload(document: dict[str, Any]) -> None:
    parse_outcome(adapter, json_bytes(document))
