"""The loader reads every version of every program from SSM Parameter Store (moto): invalid versions are refused with
the field named and a ProgramRejected metric, the last valid version keeps running, reads are cached per container."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.config import get_settings
from shared.programs import loader
from shared.programs.loader import builtin_book, load_programs
from tests.support.counting import count_requests

PATH = '/pitcrew/test/programs'
DOC: dict[str, Any] = {
    'program_id': 'support',
    'name': 'Support',
    'time_zone': 'America/New_York',
    'currency': 'USD',
    'points_per_currency_unit': 10,
    'starts_on': '2026-01-01',
    'effective_from': '2026-01-01T00:00:00-05:00',
    'rules': [{'rule_id': 'fcr', 'kind': 'fcr', 'points': 10}],
}


def version_of(**changes: Any) -> str:
    doc = deepcopy(DOC)
    doc.update(changes)
    return json.dumps(doc)


@pytest.fixture()
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv('PROGRAMS_PATH', PATH)
    monkeypatch.setenv('PROGRAMS_MAX_AGE_S', '0')
    monkeypatch.delenv('SERVICE_CONFIG_PARAMETER', raising=False)
    get_settings.cache_clear()
    loader.clear_cache()
    with mock_aws():
        yield boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])
    get_settings.cache_clear()
    loader.clear_cache()


def put(ssm: Any, name: str, value: str) -> None:
    ssm.put_parameter(Name=f'{PATH}/{name}', Value=value, Type='String', Overwrite=True)


def test_every_valid_version_of_every_program_is_loaded(ssm: Any) -> None:
    # Given two versions of the support program (v2 from 1 Nov) and a workshop program
    put(ssm, 'support', version_of())
    put(ssm, 'support', version_of(effective_from='2026-11-01T00:00:00-04:00', rules=[{'rule_id': 'fcr', 'kind': 'fcr', 'points': 20}]))
    put(ssm, 'pitstop', version_of(program_id='pitstop', currency='INR', time_zone='Asia/Kolkata'))

    # When the programs are loaded
    book = load_programs()

    # Then both programs are there with their SSM versions, and a basis picks the version in force at its time
    assert {pid: [v.version for v in versions] for pid, versions in book.programs.items()} == {'pitstop': [1], 'support': [2, 1]}
    assert book.for_basis('support', datetime(2026, 10, 20, tzinfo=UTC)).version == 1  # type: ignore[union-attr]
    assert book.for_basis('support', datetime(2026, 11, 2, tzinfo=UTC)).version == 2  # type: ignore[union-attr]
    assert book.for_basis('support', datetime(2025, 12, 1, tzinfo=UTC)) is None


def test_an_invalid_newest_version_is_refused_with_the_field_and_a_metric_and_the_last_good_one_runs(
    ssm: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a valid version 1, then an edit with a negative cap
    put(ssm, 'support', version_of())
    put(ssm, 'support', version_of(rules=[{'rule_id': 'fcr', 'kind': 'fcr', 'points': 10, 'caps': {'day': -1}}]))

    # When the programs are loaded
    with caplog.at_level(logging.ERROR):
        book = load_programs()

    # Then version 1 keeps running, the log names the field and the reason, and ProgramRejected is emitted for the program
    assert [v.version for v in book.programs['support']] == [1]
    logged = ' '.join(f'{r.getMessage()} {getattr(r, "errors", "")}' for r in caplog.records)
    assert 'rules.0.caps.day: must be >= 1' in logged
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ProgramRejected"' in line]
    assert [m.get('program') for m in metrics] == [None, 'support'] and all(m['ProgramRejected'] == [1.0] for m in metrics)
    assert [sorted(d) for m in metrics for d in m['_aws']['CloudWatchMetrics'][0]['Dimensions']] == [['service'], ['program', 'service']]

    # And while the newest version stays invalid, every refresh emits the metric again (the alarm stays up)
    load_programs()
    assert '"ProgramRejected"' in capsys.readouterr().out


def test_a_program_with_no_valid_version_is_absent_and_a_wrong_program_id_is_refused(ssm: Any) -> None:
    put(ssm, 'support', version_of(rules=[{'rule_id': 'x', 'kind': 'teleport', 'points': 10}]))
    put(ssm, 'pitstop', version_of())  # program_id 'support' under the name 'pitstop'
    assert load_programs().programs == {}


def test_reads_are_cached_and_unchanged_parameters_are_not_read_again(ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a loaded program
    put(ssm, 'support', version_of())
    first = load_programs()

    # When it is loaded again with nothing changed
    with count_requests() as counter:
        again = load_programs()

    # Then only the path is listed (no history read) and the same book comes back
    assert dict(counter.calls) == {('ssm', 'GetParametersByPath'): 1}
    assert again.programs == first.programs

    # And within PROGRAMS_MAX_AGE_S nothing is read at all, even after an edit
    monkeypatch.setenv('PROGRAMS_MAX_AGE_S', '300')
    get_settings.cache_clear()
    load_programs()
    put(ssm, 'support', version_of(name='Support v2'))
    with count_requests() as counter:
        cached = load_programs()
    assert not counter.calls and [v.version for v in cached.programs['support']] == [1]


def test_locations_are_checked_against_the_service_configuration(ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a service configuration listing one location, and a program scoped to another
    config = {'calendars': [{'calendar_id': 'ny', 'timezone': 'America/New_York', 'hours': {'mon': [('09:00', '17:00')]}}],
              'locations': [{'location_id': 'US-NYC', 'calendar_id': 'ny'}], 'default_calendar_id': 'ny'}
    ssm.put_parameter(Name='/pitcrew/test/service-config', Value=json.dumps(config), Type='String')
    monkeypatch.setenv('SERVICE_CONFIG_PARAMETER', '/pitcrew/test/service-config')
    monkeypatch.setenv('SERVICE_CONFIG_MAX_AGE_S', '0')
    get_settings.cache_clear()
    put(ssm, 'support', version_of(scope={'locations': ['US-NYC']}))
    put(ssm, 'support', version_of(scope={'locations': ['US-LAX']}))

    # When loaded with the directory's roles known / Then the version naming an unknown location is refused
    book = load_programs(roles={'agent'})
    assert [v.version for v in book.programs['support']] == [1]


def test_without_a_path_the_builtin_program_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('PROGRAMS_PATH', raising=False)
    get_settings.cache_clear()
    try:
        assert load_programs() is builtin_book()
        assert list(builtin_book().programs) == ['default']
    finally:
        get_settings.cache_clear()
