"""Safety nets in template.yaml (README, "Safety nets"): stream readers bisect, retry a bounded number of times within a
bounded age and keep what still fails; scheduled functions keep failed runs; queues and tables survive the stack; the
replay can reach what it needs. Each guard returns its violations and is also run on a broken snippet (it can fail)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from tests.template.test_template import FUNCTION, RESOURCES, TABLE, _of_type

QUEUE = 'AWS::SQS::Queue'
STREAM_RETENTION_S = 86_400
MAX_STREAM_RETRIES = 10
REPO_ROOT = Path(__file__).resolve().parents[2]


def _events(resource: dict[str, Any], *types: str) -> list[tuple[str, dict[str, Any]]]:
    events = resource.get('Properties', {}).get('Events') or {}
    return [(name, event.get('Properties', {})) for name, event in events.items() if event.get('Type') in types]


def _target(value: Any) -> str | None:
    if isinstance(value, dict) and 'Fn::GetAtt' in value:
        return str(value['Fn::GetAtt'][0])
    return None


def stream_violations(resources: dict[str, Any]) -> list[str]:
    found = []
    for name, resource in _of_type(resources, FUNCTION).items():
        for event, props in _events(resource, 'DynamoDB', 'Kinesis'):
            where = f'{name}.{event}'
            if props.get('BisectBatchOnFunctionError') is not True:
                found.append(f'{where}: BisectBatchOnFunctionError is not true')
            retries = props.get('MaximumRetryAttempts')
            if not isinstance(retries, int) or not 0 <= retries <= MAX_STREAM_RETRIES:
                found.append(f'{where}: MaximumRetryAttempts {retries!r} is not bounded (0..{MAX_STREAM_RETRIES})')
            age = props.get('MaximumRecordAgeInSeconds')
            # Leave at least half the stream's retention to re-read a failed batch from the on-failure message.
            if not isinstance(age, int) or not 60 <= age <= STREAM_RETENTION_S // 2:
                found.append(f'{where}: MaximumRecordAgeInSeconds {age!r} leaves no time to re-read the records')
            destination = _target(((props.get('DestinationConfig') or {}).get('OnFailure') or {}).get('Destination'))
            if destination is None or resources.get(destination, {}).get('Type') != QUEUE:
                found.append(f'{where}: no on-failure queue')
            if 'ReportBatchItemFailures' not in (props.get('FunctionResponseTypes') or []):
                found.append(f'{where}: no partial batch responses')
        for event, props in _events(resource, 'SQS'):
            queue = resources.get(_target(props.get('Queue')) or '', {})
            if not (queue.get('Properties') or {}).get('RedrivePolicy'):
                found.append(f'{name}.{event}: its queue has no dead-letter queue')
            if 'ReportBatchItemFailures' not in (props.get('FunctionResponseTypes') or []):
                found.append(f'{name}.{event}: no partial batch responses')
    return found


def _scheduler_targets(resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    targets: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        if resource.get('Type') == 'AWS::Scheduler::Schedule':
            target = resource['Properties']['Target']
            name = _target(target.get('Arn'))
            if name:
                targets.setdefault(name, []).append(target)
    return targets


def scheduled_violations(resources: dict[str, Any]) -> list[str]:
    found = []
    scheduler = _scheduler_targets(resources)
    for name, resource in _of_type(resources, FUNCTION).items():
        rules = _events(resource, 'Schedule', 'ScheduleV2')
        if not rules and name not in scheduler:
            continue
        on_failure = ((resource['Properties'].get('EventInvokeConfig') or {}).get('DestinationConfig') or {}).get('OnFailure') or {}
        queue = _target(on_failure.get('Destination'))
        if queue is None or resources.get(queue, {}).get('Type') != QUEUE:
            found.append(f'{name}: failed runs have no on-failure queue (EventInvokeConfig)')
        for event, props in rules:
            dlq = _target((props.get('DeadLetterConfig') or {}).get('Arn'))
            if dlq is None or resources.get(dlq, {}).get('Type') != QUEUE:
                found.append(f'{name}.{event}: the schedule has no dead-letter queue')
            if 'MaximumRetryAttempts' not in (props.get('RetryPolicy') or {}):
                found.append(f'{name}.{event}: the schedule has no retry policy')
        for target in scheduler.get(name, []):
            if not _target((target.get('DeadLetterConfig') or {}).get('Arn')) or 'RetryPolicy' not in target:
                found.append(f'{name}: a Scheduler schedule has no dead-letter queue or retry policy')
    return found


def retention_violations(resources: dict[str, Any]) -> list[str]:
    found = []
    for name, resource in resources.items():
        if resource.get('Type') not in (QUEUE, TABLE):
            continue
        if resource.get('DeletionPolicy') != 'Retain' or resource.get('UpdateReplacePolicy') != 'Retain':
            found.append(f'{name}: not retained on stack deletion and replacement')
        props = resource.get('Properties') or {}
        if resource['Type'] == TABLE and props.get('DeletionProtectionEnabled') not in (True, 'true', {'Ref': 'TableDeletionProtection'}):
            found.append(f'{name}: no deletion protection')
        if resource['Type'] == QUEUE and not (props.get('SqsManagedSseEnabled') is True or props.get('KmsMasterKeyId')):
            found.append(f'{name}: not encrypted at rest')
    return found


def dlq_alarm_violations(resources: dict[str, Any]) -> list[str]:
    """Every queue that only receives failures (a redrive target, an on-failure or dead-letter destination) alarms."""
    failure_queues: set[str] = set()
    for resource in resources.values():
        text = repr(resource)
        for key in ('deadLetterTargetArn', 'Destination', 'DeadLetterConfig'):
            for match in re.finditer(rf"'{key}': (?:\{{'Arn': )?\{{'Fn::GetAtt': \['(\w+)', 'Arn'\]\}}", text):
                failure_queues.add(match.group(1))
    alarmed = {
        _target(dimension.get('Value'))
        for resource in resources.values()
        if resource.get('Type') == 'AWS::CloudWatch::Alarm'
        for dimension in resource['Properties'].get('Dimensions', [])
        if dimension.get('Name') == 'QueueName'
    }
    return [f'{queue}: no alarm on its depth' for queue in sorted(failure_queues) if resources.get(queue, {}).get('Type') == QUEUE
            and queue not in alarmed]  # fmt: skip


def test_every_stream_and_queue_reader_bisects_retries_boundedly_and_keeps_what_still_fails() -> None:
    assert stream_violations(RESOURCES) == []


def test_every_scheduled_function_keeps_its_failed_runs() -> None:
    assert scheduled_violations(RESOURCES) == []


def test_every_queue_and_table_survives_the_stack_and_tables_are_deletion_protected() -> None:
    assert retention_violations(RESOURCES) == []


def test_every_failure_queue_alarms_on_its_depth() -> None:
    assert dlq_alarm_violations(RESOURCES) == []


def test_table_deletion_protection_defaults_to_on() -> None:
    from tests.template.test_template import TEMPLATE

    assert TEMPLATE['Parameters']['TableDeletionProtection']['Default'] == 'true'


@pytest.mark.parametrize(
    ('resource', 'path', 'value', 'guard'),
    [
        ('KpiAggregatorFunction', ('BisectBatchOnFunctionError',), False, stream_violations),
        ('KpiAggregatorFunction', ('MaximumRetryAttempts',), -1, stream_violations),
        ('LeagueScorerFunction', ('MaximumRecordAgeInSeconds',), None, stream_violations),
        ('AlertPlannerFunction', ('DestinationConfig',), None, stream_violations),
        ('HoldReleaseFunction', ('DeadLetterConfig',), None, scheduled_violations),
    ],
)
def test_the_guards_catch_a_missing_net(resource: str, path: tuple[str, ...], value: Any, guard: Any) -> None:
    # Given the template with one safety net of one event removed or loosened
    broken = copy.deepcopy(RESOURCES)
    [event] = [e for e in broken[resource]['Properties']['Events'].values() if e['Type'] in ('DynamoDB', 'Schedule')]
    if value is None:
        event['Properties'].pop(path[0])
    else:
        event['Properties'][path[0]] = value
    # When the guard runs / Then it names that function
    assert any(resource in violation for violation in guard(broken))


def test_the_guards_catch_a_deletable_table_a_scheduled_function_without_destination_and_a_silent_dlq() -> None:
    broken = copy.deepcopy(RESOURCES)
    broken['LedgerTable']['DeletionPolicy'] = 'Delete'
    broken['EventsQueue']['Properties'].pop('SqsManagedSseEnabled')
    broken['PeriodCloseFunction']['Properties'].pop('EventInvokeConfig')
    broken['LeagueCloseFunction']['Properties'].pop('EventInvokeConfig')
    broken.pop('ScheduledRunsDLQMessagesAlarm')
    assert {v.split(':')[0] for v in retention_violations(broken)} == {'LedgerTable', 'EventsQueue'}
    assert {v.split(':')[0] for v in scheduled_violations(broken)} == {'PeriodCloseFunction', 'LeagueCloseFunction'}
    assert dlq_alarm_violations(broken) == ['ScheduledRunsDLQ: no alarm on its depth']


def test_the_replay_can_invoke_the_readers_and_drain_their_failure_queues() -> None:
    # The replay re-runs stream records through each reader's function and re-reads failed batches from the streams.
    statements = {s['Sid']: s for s in RESOURCES['QuarantineReplayFunction']['Properties']['Policies'][0]['Statement']}
    invoked = {_target(arn) for arn in statements['RerunStreamReaders']['Resource']}
    drained = {_target(arn) for arn in statements['DrainStreamFailures']['Resource']}
    readers = {name for name, r in _of_type(RESOURCES, FUNCTION).items() if _events(r, 'DynamoDB')}
    destinations = {_target(p['DestinationConfig']['OnFailure']['Destination']) for r in _of_type(RESOURCES, FUNCTION).values()
                    for _, p in _events(r, 'DynamoDB')}  # fmt: skip
    assert invoked == readers and drained == destinations
    assert set(statements['RereadFailedStreamRecords']['Action']) == {'dynamodb:GetShardIterator', 'dynamodb:GetRecords'}


def test_checkov_runs_in_make_test_offline_with_every_skip_explained() -> None:
    makefile = (REPO_ROOT / 'Makefile').read_text()
    [test_line] = [line for line in makefile.splitlines() if line.startswith('test:')]
    assert 'checkov' in test_line.split()
    assert '--config-file .checkov.yaml' in makefile
    config = (REPO_ROOT / '.checkov.yaml').read_text().splitlines()
    assert 'skip-download: true' in config
    skips = [i for i, line in enumerate(config) if line.strip().startswith('- CKV_')]
    assert skips and all(config[i - 1].strip().startswith('#') for i in skips)
