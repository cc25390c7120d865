"""The service configuration comes from SSM Parameter Store: a good document is used, a bad one is refused
with the field and the reason while the last good one stays in use."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shared.sla.config import DEFAULT_CONFIG, load_config
from tests.support.local_aws import local_aws

PARAMETER = '/pitcrew/test/service-config'
GOOD: dict[str, Any] = {
    'calendars': [{'calendar_id': 'blr', 'timezone': 'Asia/Kolkata', 'hours': {'mon': [('09:00', '18:00')]}}],
    'locations': [{'location_id': 'IN-BLR-01', 'region': 'IN-South', 'calendar_id': 'blr'}],
    'default_calendar_id': 'blr',
}


@pytest.fixture()
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv('SERVICE_CONFIG_PARAMETER', PARAMETER)
    monkeypatch.setenv('SERVICE_CONFIG_MAX_AGE_S', '0')  # read the parameter on every call
    with local_aws():
        yield boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])


def test_the_parameter_sets_locations_and_calendars(ssm: Any) -> None:
    # Given an admin's configuration in Parameter Store
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(GOOD), Type='String')

    # When the functions load it
    config = load_config()

    # Then its locations and calendars are used (not the built-in 24x7 default)
    assert config.location('IN-BLR-01').region == 'IN-South'
    assert config.calendar_for('IN-BLR-01').timezone == 'Asia/Kolkata'
    assert config != DEFAULT_CONFIG


def test_a_bad_document_is_refused_naming_the_field_and_the_last_good_one_stays(ssm: Any, caplog: pytest.LogCaptureFixture) -> None:
    # Given a good configuration that was loaded, then an edit with an unknown time zone
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(GOOD), Type='String')
    good = load_config()
    bad = dict(GOOD, calendars=[dict(GOOD['calendars'][0], timezone='Asia/Bangalore')])
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(bad), Type='String', Overwrite=True)

    # When the functions load it again
    with caplog.at_level(logging.ERROR):
        current = load_config()

    # Then the last good configuration is still in use, and the log names the field and the reason
    assert current == good
    refused = ' '.join(record.getMessage() + str(getattr(record, 'error', '')) for record in caplog.records)
    assert 'calendars.0.timezone' in refused and 'Asia/Bangalore' in refused
