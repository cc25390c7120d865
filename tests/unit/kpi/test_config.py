"""The service configuration document (shared.sla.config): refused with the field named, and its fallbacks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from shared.sla.calendar import WEEKDAYS
from shared.sla.config import DEFAULT_CONFIG, UNKNOWN_LOCATION, Location, ServiceConfig, parse_config

NYC = {'calendar_id': 'nyc', 'timezone': 'America/New_York', 'hours': {day: [['09:00', '17:00']] for day in WEEKDAYS[:5]}}
ALWAYS = {'calendar_id': '24x7', 'timezone': 'UTC', 'hours': {day: [['00:00', '24:00']] for day in WEEKDAYS}}
POLICY = {'policy_id': 'standard', 'targets': {'first_response': {'normal': {'minutes': 60}}}}


def document(**overrides: Any) -> str:
    base: dict[str, Any] = {
        'calendars': [NYC, ALWAYS],
        'locations': [{'location_id': 'US-NYC', 'region': 'US-East', 'calendar_id': 'nyc'}],
        'default_calendar_id': '24x7',
    }
    return json.dumps(base | overrides)


def refusal(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_config(text)
    return str(caught.value)


def test_a_valid_document_is_accepted() -> None:
    # Given a document with two calendars and a location / When it is parsed
    config = parse_config(document(kpi={'min_sample': 3}))

    # Then its location, calendars and KPI settings are available
    assert config.location('US-NYC') == Location(location_id='US-NYC', region='US-East', calendar_id='nyc')
    assert config.calendar_for('US-NYC').timezone == 'America/New_York'
    assert config.kpi.min_sample == 3


def test_a_location_with_an_unknown_calendar_is_refused_naming_the_location() -> None:
    # Given a second location that points at a calendar that does not exist
    locations = [
        {'location_id': 'US-NYC', 'calendar_id': 'nyc'},
        {'location_id': 'IN-BLR-01', 'calendar_id': 'blr'},
    ]

    # When it is parsed / Then it is refused, naming the field and the missing calendar
    message = refusal(document(locations=locations))
    assert "locations.1.calendar_id: no calendar 'blr'" in message


def test_an_unknown_default_calendar_is_refused() -> None:
    # Given a default calendar id that no calendar has / When parsed / Then the field is named
    assert "default_calendar_id: no calendar 'nowhere'" in refusal(document(default_calendar_id='nowhere'))


def test_duplicate_calendar_ids_are_refused() -> None:
    # Given two calendars with the same id / When parsed / Then the calendars field is named
    assert 'calendars: calendar_id values must be unique' in refusal(document(calendars=[NYC, ALWAYS, NYC | {'timezone': 'UTC'}]))


def test_duplicate_policy_ids_are_refused() -> None:
    # Given two SLA policies with the same id / When parsed / Then the sla_policies field is named
    assert 'sla_policies: policy_id values must be unique' in refusal(document(sla_policies=[POLICY, POLICY]))


def test_an_unknown_time_zone_is_refused_at_its_field() -> None:
    # Given a calendar in a time zone that does not exist
    bad = NYC | {'timezone': 'Mars/Olympus_Mons'}

    # When it is parsed
    with pytest.raises(ValidationError) as caught:
        parse_config(document(calendars=[bad, ALWAYS]))

    # Then the error is located at calendars.0.timezone and names the zone
    errors = caught.value.errors()
    assert [error['loc'] for error in errors] == [('calendars', 0, 'timezone')]
    assert 'Mars/Olympus_Mons' in errors[0]['msg']


@pytest.mark.parametrize(
    ('kpi', 'field'),
    [({'min_sample': 0}, 'min_sample'), ({'fcr_reopen_window_days': 0}, 'fcr_reopen_window_days'), ({'bogus': 1}, 'bogus')],
)
def test_invalid_kpi_settings_are_refused_at_their_field(kpi: dict[str, int], field: str) -> None:
    # Given KPI settings out of range or unknown / When parsed / Then the error is located at kpi.<field>
    with pytest.raises(ValidationError) as caught:
        parse_config(document(kpi=kpi))
    assert [error['loc'] for error in caught.value.errors()] == [('kpi', field)]


def test_an_unknown_location_falls_back_to_the_default_calendar() -> None:
    # Given a configuration whose default calendar is 24x7
    config = parse_config(document())

    # When a location that is not listed, or no location, is asked for
    unknown, missing = config.location('DE-BER'), config.location(None)

    # Then it is a location of its own id (or 'unassigned') in the default region, on the default calendar
    assert unknown == Location(location_id='DE-BER', region='default', calendar_id='24x7')
    assert missing.location_id == UNKNOWN_LOCATION
    assert config.calendar_for('DE-BER').calendar_id == '24x7'
    assert config.calendar_for(None).timezone == 'UTC'


def test_the_built_in_default_is_always_open_with_the_default_policies() -> None:
    # Given no document at all / Then the default configuration is 24x7 with the three built-in policies
    assert DEFAULT_CONFIG.calendar_for('anywhere').calendar_id == '24x7'
    assert [policy.policy_id for policy in DEFAULT_CONFIG.sla_policies] == ['workshop', 'realtime', 'standard']
    assert ServiceConfig().kpi.min_sample == 5
