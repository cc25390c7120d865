"""Infrastructure tests for the KPI pipeline in template.yaml: the tickets table's stream, the KPI
aggregator's event source and permissions, the KPI table, the service-config parameter, the KPI
dashboard and the KPI floor alarms. Offline: no AWS, no SAM CLI.

The template is read with `infrastructure.local.template_resources.template_document()` (cfn-lint's
decoder: `!Ref X` -> {'Ref': 'X'}, `!GetAtt A.B` -> {'Fn::GetAtt': ['A', 'B']}, `!Sub s` -> {'Fn::Sub': s}).
What the template must agree with is taken from the code itself: the metric names `samples()` produces,
the dimensions `publish()` prints, the DynamoDB calls `KpiStore.apply()` makes.

Each guard returns a list of problems and is run twice: the real template must give none, and a
deliberately broken copy must give some (so the guard can fail).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infrastructure.local.template_resources import template_document
from shared.kpi.aggregate import Sample, TicketChange, samples
from shared.kpi.definitions import Contribution
from shared.kpi.store import MARKER_TTL_S, KpiStore

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = template_document()
RESOURCES: dict[str, Any] = TEMPLATE['Resources']
PARAMETERS: dict[str, Any] = TEMPLATE['Parameters']
GLOBAL_ENV: dict[str, Any] = TEMPLATE['Globals']['Function']['Environment']['Variables']

AGGREGATOR = 'KpiAggregatorFunction'
PROCESSOR = 'TicketProcessorFunction'
ALARM = 'AWS::CloudWatch::Alarm'
QUEUE = 'AWS::SQS::Queue'

# Lambda's invocation payload limit is 6 MB (taken as 6,000,000 bytes to stay on the safe side); a
# stream record carries the ticket before and after (NEW_AND_OLD_IMAGES), each at most 10 KB.
MAX_PAYLOAD_BYTES = 6_000_000
MAX_IMAGE_BYTES = 10 * 1024
IMAGES_PER_RECORD = 2
DEFAULT_STREAM_BATCH_SIZE = 100  # what Lambda uses for a DynamoDB stream when BatchSize is absent

# Floor alarm -> the parameter holding its threshold (a percentage).
FLOORS = {
    'CsatFloorAlarm': 'CsatFloorPercent',
    'SlaComplianceFloorAlarm': 'SlaComplianceFloorPercent',
    'FirstTimeFixFloorAlarm': 'FirstTimeFixFloorPercent',
}

KPI_METRICS = {
    'TicketsCreated',
    'JobCardsOpened',
    'RepeatComplaint',
    'Csat',
    'FirstResponseMinutes',
    'TurnaroundHours',
    'FirstTimeFix',
    'ZeroDefect',
    'SlaCompliance',
    'UpsellRevenue',
}


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _copy(value: Any) -> Any:
    """A plain, mutable copy of decoded template data (for the broken variants)."""
    return json.loads(json.dumps(value))


def _of_type(resources: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in resources.items() if res.get('Type') == type_}


def _getatt(value: Any) -> tuple[str, str] | None:
    """(logical id, attribute) of a Fn::GetAtt, whatever its spelling; None for anything else."""
    if isinstance(value, dict) and set(value) == {'Fn::GetAtt'}:
        inner = value['Fn::GetAtt']
        parts = inner if isinstance(inner, list) else str(inner).split('.', 1)
        if len(parts) == 2:
            return str(parts[0]), str(parts[1])
    return None


def _sub_text(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {'Fn::Sub'}:
        inner = value['Fn::Sub']
        return str(inner[0] if isinstance(inner, list) else inner)
    return None


def _sub_refs(text: str) -> set[str]:
    """Logical ids a Fn::Sub string names (pseudo parameters and ${!literals} excluded)."""
    return {m.split('.', 1)[0] for m in re.findall(r'\$\{([^}!]+)\}', text) if not m.startswith('AWS::')}


def _unwrap_if(item: Any) -> Iterator[Any]:
    """Both branches of a Fn::If (a condition may hide a statement), minus AWS::NoValue."""
    if isinstance(item, dict) and set(item) == {'Fn::If'}:
        for branch in item['Fn::If'][1:]:
            yield from _unwrap_if(branch)
    elif item != {'Ref': 'AWS::NoValue'}:
        yield item


def _statements(function: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in _as_list(function.get('Properties', {}).get('Policies') or []):
        if isinstance(policy, dict) and 'Statement' in policy:
            for statement in _as_list(policy['Statement']):
                yield from _unwrap_if(statement)


def _target(resource: Any) -> str:
    """'<LogicalId>' for a `!GetAtt X.Arn` resource; the raw value (as text) for anything else."""
    att = _getatt(resource)
    return att[0] if att is not None and att[1] == 'Arn' else json.dumps(resource, sort_keys=True)


def _grants(function: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, target) pairs an Allow statement of the function grants."""
    return {
        (str(action), _target(resource))
        for statement in _statements(function)
        if statement.get('Effect') == 'Allow'
        for action in _as_list(statement.get('Action', []))
        for resource in _as_list(statement.get('Resource', []))
    }


# --------------------------------------------------------------------------------------------------
# What the code does: the samples it emits, the EMF it prints, the DynamoDB calls it makes
# --------------------------------------------------------------------------------------------------
# A brand-new ticket that reaches every outcome `samples()` knows: created, a job card (a repeat visit),
# rated, answered, delivered (fixed first time, zero defect), an SLA target met and an upsell accepted.
EVERY_OUTCOME = TicketChange(
    change_id='change-1',
    old=None,
    new=Contribution(
        day='2025-03-14',
        scopes=('all', 'all|email', 'location#blr', 'location#blr|email', 'region#south', 'employee#e1', 'team#t1'),
        counters={
            't': 1,
            'j': 1,
            'rc': 1,
            'cs_n': 1,
            'cs_g': 1,
            'fr_n': 1,
            'fr_s': 600,
            'ta_n': 1,
            'ta_s': 7200,
            'ftf_ok': 1,
            'zd': 1,
            'sfr_met': 1,
            'up_v': 2500,
        },
    ),
)


def _emitted_samples() -> list[Sample]:
    found = samples(EVERY_OUTCOME)
    assert found is not None
    return found[2]


def kpi_metric_names() -> set[str]:
    return {sample.metric for sample in _emitted_samples()}


def kpi_metric_units() -> dict[str, set[str]]:
    units: dict[str, set[str]] = {}
    for sample in _emitted_samples():
        units.setdefault(sample.metric, set()).add(sample.unit)
    return units


def processor_metric_dimensions(metric: str) -> set[frozenset[str]] | None:
    """Dimension sets the ticket processor emits `metric` with (Powertools' `service`, plus any it
    adds itself); None when the processor does not emit it."""
    source = (REPO_ROOT / 'functions' / 'ticket_processor' / 'app.py').read_text()
    if f"name='{metric}'" not in source:
        return None
    return {frozenset({'service'} | set(re.findall(r"add_dimension\(name='(\w+)'", source)))}


@dataclass
class EmittedEmf:
    namespaces: set[str] = field(default_factory=set)
    dimension_sets: set[frozenset[str]] = field(default_factory=set)
    values: dict[str, set[str]] = field(default_factory=dict)  # dimension -> values printed
    metrics: set[str] = field(default_factory=set)


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> EmittedEmf:
    """What `publish()` prints for one group of samples, with the service name the template sets."""
    monkeypatch.setenv('POWERTOOLS_SERVICE_NAME', str(GLOBAL_ENV['POWERTOOLS_SERVICE_NAME']))
    from functions.kpi_aggregator.app import publish

    capsys.readouterr()
    publish([('blr', 'email', _emitted_samples())])
    out = EmittedEmf()
    for line in capsys.readouterr().out.splitlines():
        record = json.loads(line)
        for directive in record['_aws']['CloudWatchMetrics']:
            out.namespaces.add(directive['Namespace'])
            out.metrics |= {metric['Name'] for metric in directive['Metrics']}
            for dimensions in directive['Dimensions']:
                out.dimension_sets.add(frozenset(dimensions))
                for name in dimensions:
                    out.values.setdefault(name, set()).add(str(record[name]))
    return out


class _Canceled(Exception):
    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__('TransactionCanceledException')
        self.response = response


class RecordingDynamoDB:
    """A DynamoDB client stand-in that records every call; optionally cancels the first transaction
    as if an earlier attempt had written the run (so the store reads that run's marker)."""

    def __init__(self, cancel_first_transaction: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.exceptions = SimpleNamespace(TransactionCanceledException=_Canceled)
        self._cancel = cancel_first_transaction

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(('transact_write_items', kwargs))
        if self._cancel:
            self._cancel = False
            raise _Canceled({'CancellationReasons': [{'Code': 'ConditionalCheckFailed'}]})
        return {}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(('get_item', kwargs))
        return {'Item': {'last': {'S': EVERY_OUTCOME.change_id}}}

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            return {}

        return call


_TRANSACT_ACTIONS = {'Put': 'PutItem', 'Update': 'UpdateItem', 'Delete': 'DeleteItem', 'ConditionCheck': 'ConditionCheckItem'}
_OPERATION_ACTIONS = {
    'get_item': 'GetItem',
    'put_item': 'PutItem',
    'update_item': 'UpdateItem',
    'delete_item': 'DeleteItem',
    'query': 'Query',
    'scan': 'Scan',
    'batch_write_item': 'BatchWriteItem',
    'batch_get_item': 'BatchGetItem',
}


def iam_actions(calls: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """The dynamodb:* IAM actions a list of client calls needs (a transaction needs each item's action)."""
    needed: set[str] = set()
    for operation, kwargs in calls:
        if operation == 'transact_write_items':
            for item in kwargs['TransactItems']:
                needed |= {f'dynamodb:{_TRANSACT_ACTIONS[kind]}' for kind in item}
        else:
            needed.add(f'dynamodb:{_OPERATION_ACTIONS.get(operation, operation)}')
    return needed


def store_calls(cancel_first_transaction: bool) -> list[tuple[str, dict[str, Any]]]:
    client = RecordingDynamoDB(cancel_first_transaction)
    KpiStore(table_name='kpi', client=client).apply([EVERY_OUTCOME], datetime(2025, 3, 14, 12, tzinfo=UTC))
    return client.calls


def test_the_crafted_change_reaches_every_sample_the_module_defines() -> None:
    # Given: the Sample('<Name>' literals in shared/kpi/aggregate.py
    source = (REPO_ROOT / 'shared' / 'kpi' / 'aggregate.py').read_text()
    declared = set(re.findall(r"Sample\('(\w+)'", source))
    # When: sampling the crafted change
    names = kpi_metric_names()
    # Then: it reaches every one of them (the name checks below see every metric the aggregator emits)
    assert names == declared == KPI_METRICS


# --------------------------------------------------------------------------------------------------
# 1. The aggregator's event source: the tickets table's stream
# --------------------------------------------------------------------------------------------------
def _stream_event(resources: dict[str, Any]) -> dict[str, Any] | None:
    events = [e for e in (resources[AGGREGATOR]['Properties'].get('Events') or {}).values() if e.get('Type') == 'DynamoDB']
    return events[0]['Properties'] if len(events) == 1 else None


def _alarms_on_queue(resources: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    """Alarms that fire when the queue holds any message, and notify the alarm topic."""
    found = []
    for alarm in _of_type(resources, ALARM).values():
        props = alarm['Properties']
        dims = props.get('Dimensions') or []
        if (
            props.get('Namespace') == 'AWS/SQS'
            and props.get('MetricName') == 'ApproximateNumberOfMessagesVisible'
            and any(d.get('Name') == 'QueueName' and _getatt(d.get('Value')) == (queue, 'QueueName') for d in dims)
            and (props.get('ComparisonOperator'), props.get('Threshold'))
            in {('GreaterThanThreshold', 0), ('GreaterThanOrEqualToThreshold', 1)}
            and {'Ref': 'AlarmTopic'} in _as_list(props.get('AlarmActions') or [])
        ):
            found.append(props)
    return found


def stream_problems(resources: dict[str, Any]) -> list[str]:
    props = _stream_event(resources)
    if props is None:
        return [f'{AGGREGATOR} must have exactly one DynamoDB event']
    problems = []
    if _getatt(props.get('Stream')) != ('TicketsTable', 'StreamArn'):
        problems.append(f'Stream is {props.get("Stream")}, not !GetAtt TicketsTable.StreamArn')
    view = resources['TicketsTable']['Properties'].get('StreamSpecification', {}).get('StreamViewType')
    if view != 'NEW_AND_OLD_IMAGES':
        problems.append(f'TicketsTable StreamViewType is {view} (the aggregator needs the ticket before and after)')
    if props.get('StartingPosition') != 'TRIM_HORIZON':
        problems.append(f'StartingPosition {props.get("StartingPosition")} skips changes already in the stream')
    # Safety nets (README): bounded retries within a bounded age (leaving most of the stream's 24 h to re-read a failed
    # batch), bisection, and partial batch responses from the first change of a refused run (the run markers then keep
    # every change counted once, however the retry is split).
    retries = props.get('MaximumRetryAttempts')
    if not isinstance(retries, int) or not 0 <= retries <= 10:
        problems.append(f'MaximumRetryAttempts is {retries}, not bounded (0..10)')
    age = props.get('MaximumRecordAgeInSeconds')
    if not isinstance(age, int) or not 60 <= age <= 43_200:
        problems.append(f'MaximumRecordAgeInSeconds {age} leaves no time to re-read a failed batch from the stream')
    if props.get('BisectBatchOnFunctionError') is not True:
        problems.append('BisectBatchOnFunctionError must be true')
    if 'ReportBatchItemFailures' not in (props.get('FunctionResponseTypes') or []):
        problems.append('FunctionResponseTypes must include ReportBatchItemFailures')
    batch = int(props.get('BatchSize', DEFAULT_STREAM_BATCH_SIZE))
    if not batch * IMAGES_PER_RECORD * MAX_IMAGE_BYTES < MAX_PAYLOAD_BYTES:
        problems.append(f'BatchSize {batch} x {IMAGES_PER_RECORD} x {MAX_IMAGE_BYTES} B reaches the {MAX_PAYLOAD_BYTES} B payload limit')
    on_failure = (props.get('DestinationConfig') or {}).get('OnFailure') or {}
    destination = _getatt(on_failure.get('Destination'))
    if on_failure.get('Type') != 'SQS' or destination is None or destination[1] != 'Arn':
        problems.append(f'OnFailure destination is {on_failure}, not an SQS queue ARN')
    elif resources.get(destination[0], {}).get('Type') != QUEUE:
        problems.append(f'OnFailure destination {destination[0]} is not an AWS::SQS::Queue of the template')
    elif not _alarms_on_queue(resources, destination[0]):
        problems.append(f'no alarm notifies AlarmTopic when {destination[0]} holds a message')
    return problems


def test_aggregator_reads_the_tickets_stream_with_bounded_retries_bisection_and_an_alarmed_dlq() -> None:
    # Given: the aggregator's DynamoDB event, the tickets table's stream and the alarms
    # When: checking the event source against what the aggregator relies on
    problems = stream_problems(RESOURCES)
    # Then: it reads both images of every change from the start, retries a bounded number of times within a bounded
    # age, bisects, reports partial failures, sends what still fails to a queue that alarms, and a batch fits in 6 MB
    assert problems == []


def _event_props(resources: dict[str, Any]) -> dict[str, Any]:
    props = _stream_event(resources)
    assert props is not None
    return props


_STREAM_BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    'other-stream': lambda r: _event_props(r).update(Stream={'Fn::GetAtt': ['LedgerTable', 'StreamArn']}),
    'new-image-only': lambda r: r['TicketsTable']['Properties']['StreamSpecification'].update(StreamViewType='NEW_IMAGE'),
    'latest': lambda r: _event_props(r).update(StartingPosition='LATEST'),
    'retry-unbounded': lambda r: _event_props(r).update(MaximumRetryAttempts=-1),
    'retry-default': lambda r: _event_props(r).pop('MaximumRetryAttempts'),
    'record-age-whole-retention': lambda r: _event_props(r).update(MaximumRecordAgeInSeconds=86400),
    'record-age-default': lambda r: _event_props(r).pop('MaximumRecordAgeInSeconds'),
    'no-bisect': lambda r: _event_props(r).update(BisectBatchOnFunctionError=False),
    'no-partial-responses': lambda r: _event_props(r).pop('FunctionResponseTypes'),
    'batch-too-big': lambda r: _event_props(r).update(BatchSize=300),
    'no-destination': lambda r: _event_props(r).pop('DestinationConfig'),
    'sns-destination': lambda r: _event_props(r)['DestinationConfig']['OnFailure'].update(Type='SNS'),
    'dlq-without-alarm': lambda r: r.pop('KpiStreamDLQMessagesAlarm'),
    'dlq-alarm-without-topic': lambda r: r['KpiStreamDLQMessagesAlarm']['Properties'].update(AlarmActions=[]),
}


@pytest.mark.parametrize('breakage', sorted(_STREAM_BREAKAGES))
def test_stream_guard_catches_a_broken_event_source(breakage: str) -> None:
    # Given: a copy of the template with one property of the stream set-up broken
    resources = _copy(RESOURCES)
    _STREAM_BREAKAGES[breakage](resources)
    # When: the guard inspects it
    problems = stream_problems(resources)
    # Then: it is reported
    assert problems, breakage


def test_batch_size_bound_is_what_the_payload_limit_allows() -> None:
    # Given: the aggregator's batch size
    batch = int(_event_props(RESOURCES).get('BatchSize', DEFAULT_STREAM_BATCH_SIZE))
    # Then: the worst case (two 10 KB images per record) stays under 6 MB
    assert batch * IMAGES_PER_RECORD * MAX_IMAGE_BYTES < MAX_PAYLOAD_BYTES, batch
    assert 1 <= batch <= 10_000


# --------------------------------------------------------------------------------------------------
# 2. Least privilege
# --------------------------------------------------------------------------------------------------
AGGREGATOR_GRANTS = {
    ('dynamodb:UpdateItem', 'KpiTable'),
    ('dynamodb:PutItem', 'KpiTable'),
    ('dynamodb:GetItem', 'KpiTable'),
    ('dynamodb:PutItem', 'QuarantineTable'),
    ('sqs:SendMessage', 'KpiStreamDLQ'),
}


def aggregator_grant_problems(function: dict[str, Any]) -> list[str]:
    problems = []
    for policy in _as_list(function.get('Properties', {}).get('Policies') or []):
        if not (isinstance(policy, dict) and set(policy) == {'Statement'}):
            problems.append(f'policy other than inline statements: {policy}')
    for statement in _statements(function):
        if set(statement) & {'NotAction', 'NotResource'}:
            problems.append(f'{statement.get("Sid")}: NotAction/NotResource')
        for resource in _as_list(statement.get('Resource', [])):
            if '*' in (resource if isinstance(resource, str) else (_sub_text(resource) or '')):
                problems.append(f'{statement.get("Sid")}: wildcard resource {resource}')
    grants = _grants(function)
    for action, target in sorted(grants - AGGREGATOR_GRANTS):
        problems.append(f'unexpected grant: {action} on {target}')
    for action, target in sorted(AGGREGATOR_GRANTS - grants):
        problems.append(f'missing grant: {action} on {target}')
    for action, _ in grants:
        if action.lower() in {'dynamodb:scan', 'dynamodb:deleteitem'} or '*' in action:
            problems.append(f'forbidden action {action}')
    return problems


def test_aggregator_is_granted_only_what_it_uses() -> None:
    # Given / When: the aggregator's policies
    problems = aggregator_grant_problems(RESOURCES[AGGREGATOR])
    # Then: UpdateItem/PutItem/GetItem on KpiTable, PutItem on QuarantineTable, SendMessage on KpiStreamDLQ
    # and nothing else: no Scan, no DeleteItem, no wildcard, no policy template or managed policy
    assert problems == []


def _aggregator_with(extra_policy: Any) -> dict[str, Any]:
    function = _copy(RESOURCES[AGGREGATOR])
    function['Properties']['Policies'].append(extra_policy)
    return function


def _allow(action: Any, resource: Any) -> dict[str, Any]:
    return {'Statement': [{'Sid': 'Extra', 'Effect': 'Allow', 'Action': action, 'Resource': resource}]}


@pytest.mark.parametrize(
    'extra',
    [
        _allow('dynamodb:Scan', {'Fn::GetAtt': ['KpiTable', 'Arn']}),
        _allow('dynamodb:DeleteItem', {'Fn::GetAtt': ['KpiTable', 'Arn']}),
        _allow('dynamodb:*', {'Fn::GetAtt': ['KpiTable', 'Arn']}),
        _allow('dynamodb:GetItem', '*'),
        _allow('dynamodb:Query', {'Fn::Sub': '${KpiTable.Arn}/index/*'}),
        _allow('dynamodb:UpdateItem', {'Fn::GetAtt': ['TicketsTable', 'Arn']}),
        {'DynamoDBCrudPolicy': {'TableName': {'Ref': 'KpiTable'}}},
        'AmazonDynamoDBFullAccess',
    ],
    ids=['scan', 'delete', 'dynamodb-star', 'wildcard-resource', 'index-wildcard', 'other-table', 'crud-template', 'managed-policy'],
)
def test_aggregator_guard_catches_extra_grants(extra: Any) -> None:
    # Given: the aggregator with one more permission
    function = _aggregator_with(extra)
    # When: the guard inspects it
    problems = aggregator_grant_problems(function)
    # Then: it is reported
    assert problems, extra


def test_aggregator_guard_catches_a_missing_grant() -> None:
    # Given: the aggregator without its quarantine statement
    function = _copy(RESOURCES[AGGREGATOR])
    statements = function['Properties']['Policies'][0]['Statement']
    function['Properties']['Policies'][0]['Statement'] = [s for s in statements if _target(s['Resource']) != 'QuarantineTable']
    # When / Then: the guard reports it
    assert aggregator_grant_problems(function) == ['missing grant: dynamodb:PutItem on QuarantineTable']


def test_aggregator_grants_cover_exactly_the_calls_the_kpi_store_makes() -> None:
    # Given: the DynamoDB calls of the KPI store writing a run, and of a retried batch that finds the
    # marker an earlier attempt wrote (it then reads that marker)
    first_attempt = iam_actions(store_calls(cancel_first_transaction=False))
    retried = iam_actions(store_calls(cancel_first_transaction=True))
    # When: comparing with what the aggregator may do on KpiTable
    granted = {action for action, target in _grants(RESOURCES[AGGREGATOR]) if target == 'KpiTable'}
    # Then: every call is allowed, and together the two paths use every grant (nothing spare)
    assert first_attempt == {'dynamodb:PutItem', 'dynamodb:UpdateItem'}
    assert retried == first_attempt | {'dynamodb:GetItem'}
    assert retried == granted


def test_the_kpi_store_action_mapping_can_see_a_missing_grant() -> None:
    # Given: a store call that the aggregator is not granted (a Scan)
    needed = iam_actions([('scan', {}), ('transact_write_items', {'TransactItems': [{'Delete': {}}]})])
    granted = {action for action, target in _grants(RESOURCES[AGGREGATOR]) if target == 'KpiTable'}
    # Then: the comparison above would fail
    assert needed == {'dynamodb:Scan', 'dynamodb:DeleteItem'}
    assert not needed <= granted


SERVICE_CONFIG_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ServiceConfigParameter}'
PROGRAMS_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/pitcrew/${Stage}/programs'
SOURCE_API_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/pitcrew/${Stage}/source-api/'
# The processor reads the service configuration, lists the programs under their path and reads each one's versions,
# and reads the REST API credentials of exactly the helpdesks verify mode can ask (shared/verify.VERIFIER_NAMES).
PROCESSOR_SSM = sorted([
    (('ssm:GetParameter',), (SERVICE_CONFIG_ARN,)),
    (('ssm:GetParameter',), tuple(SOURCE_API_ARN + name for name in ('freshdesk', 'gorgias', 'salesforce'))),
    (('ssm:GetParametersByPath',), (PROGRAMS_ARN,)),
    (('ssm:GetParameterHistory',), (PROGRAMS_ARN + '/*',)),
])


def processor_config_and_queue_problems(function: dict[str, Any], resources: dict[str, Any]) -> list[str]:
    problems = []
    statements = list(_statements(function))
    ssm = [s for s in statements if any(str(a).lower().startswith('ssm:') for a in _as_list(s.get('Action', [])))]
    granted = sorted((tuple(_as_list(s.get('Action'))), tuple(_sub_text(r) or str(r) for r in _as_list(s.get('Resource', [])))) for s in ssm)
    if any(s.get('Effect') != 'Allow' for s in ssm):
        problems.append('an ssm statement is not an Allow')
    if granted != PROCESSOR_SSM:
        problems.append(f'ssm grants {granted} are not exactly {PROCESSOR_SSM}')
    sqs = [s for s in statements if any(str(a).lower().startswith('sqs:') for a in _as_list(s.get('Action', [])))]
    if not sqs:
        problems.append('the processor cannot send to EventsQueue')
    for statement in sqs:
        if _as_list(statement.get('Action')) not in (['sqs:SendMessage'], ['sqs:ChangeMessageVisibility']):
            problems.append(f'{statement.get("Sid")}: sqs actions {statement.get("Action")} (only SendMessage, ChangeMessageVisibility)')
        if [_target(r) for r in _as_list(statement.get('Resource', []))] != ['EventsQueue']:
            problems.append(f'{statement.get("Sid")}: sqs resource {statement.get("Resource")} is not EventsQueue')
    parameter = resources['ServiceConfigParameter']['Properties']
    name = _sub_text(parameter.get('Name')) or str(parameter.get('Name'))
    if not name.startswith('/'):
        problems.append(f'parameter name {name!r} does not start with "/" (the ARN is built as parameter${{Name}})')
    if parameter.get('Type') != 'String':
        problems.append(f'parameter type {parameter.get("Type")} (a SecureString would also need kms:Decrypt)')
    return problems


def test_processor_reads_exactly_the_service_config_and_sends_only_to_the_events_queue() -> None:
    # Given / When: the ticket processor's ssm and sqs statements, and the parameter
    problems = processor_config_and_queue_problems(RESOURCES[PROCESSOR], RESOURCES)
    # Then: GetParameter on the ARN built from ServiceConfigParameter, the programs' path listed and their versions
    # read, nothing else; SendMessage on EventsQueue only
    assert problems == []
    # And: the names the code reads are the ones granted
    assert GLOBAL_ENV['SERVICE_CONFIG_PARAMETER'] == {'Ref': 'ServiceConfigParameter'}
    from shared.verify import VERIFIER_NAMES

    assert GLOBAL_ENV['SOURCE_API_PREFIX'] == {'Fn::Sub': '/pitcrew/${Stage}/source-api'}
    assert set(VERIFIER_NAMES) == {'freshdesk', 'gorgias', 'salesforce'}
    assert GLOBAL_ENV['PROGRAMS_PATH'] == {'Fn::Sub': '/pitcrew/${Stage}/programs'}
    assert {s['Sid'] for s in _statements(RESOURCES[PROCESSOR])} >= {'ReadServiceConfig', 'QueueRepeatVisits'}


@pytest.mark.parametrize(
    'resource',
    [
        {'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/pitcrew/*'},
        {'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/pitcrew/${Stage}/*'},
        '*',
    ],
    ids=['all-pitcrew', 'whole-stage', 'star'],
)
def test_processor_guard_catches_a_broad_parameter_grant(resource: Any) -> None:
    # Given: the processor allowed to read more parameters than the service configuration
    function = _copy(RESOURCES[PROCESSOR])
    for statement in function['Properties']['Policies'][0]['Statement']:
        if statement.get('Sid') == 'ReadServiceConfig':
            statement['Resource'] = resource
    # When / Then: the guard reports it
    assert processor_config_and_queue_problems(function, RESOURCES)


def test_processor_guard_catches_sending_elsewhere() -> None:
    # Given: the processor also allowed to send to the events dead-letter queue
    function = _copy(RESOURCES[PROCESSOR])
    function['Properties']['Policies'].append(_allow('sqs:SendMessage', {'Fn::GetAtt': ['EventsDLQ', 'Arn']}))
    # When / Then: the guard reports it
    assert processor_config_and_queue_problems(function, RESOURCES)


# --------------------------------------------------------------------------------------------------
# 3. The KPI table
# --------------------------------------------------------------------------------------------------
def test_kpi_table_keys_ttl_recovery_and_retention() -> None:
    # Given: the KPI table
    table = RESOURCES['KpiTable']
    props = table['Properties']
    # Then: pk/sk string keys, point-in-time recovery, kept on stack deletion and replacement
    assert props['KeySchema'] == [{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}]
    assert {(d['AttributeName'], d['AttributeType']) for d in props['AttributeDefinitions']} == {('pk', 'S'), ('sk', 'S')}
    assert props.get('PointInTimeRecoverySpecification', {}).get('PointInTimeRecoveryEnabled') is True
    assert table.get('DeletionPolicy') == 'Retain'
    assert table.get('UpdateReplacePolicy') == 'Retain'
    # And: TTL is on expires_at
    assert props.get('TimeToLiveSpecification') == {'AttributeName': 'expires_at', 'Enabled': True}


def test_kpi_table_ttl_attribute_is_the_one_the_store_writes_on_run_markers() -> None:
    # Given: the KPI table's TTL attribute, and the run marker the store writes with each run
    ttl_attribute = RESOURCES['KpiTable']['Properties']['TimeToLiveSpecification']['AttributeName']
    now = datetime(2025, 3, 14, 12, tzinfo=UTC)
    [(_, kwargs)] = [call for call in store_calls(cancel_first_transaction=False) if call[0] == 'transact_write_items']
    [marker] = [item['Put']['Item'] for item in kwargs['TransactItems'] if 'Put' in item]
    # Then: the marker carries that attribute as a Number of epoch seconds, MARKER_TTL_S ahead
    assert ttl_attribute in marker, f'the store writes {sorted(marker)}; TTL is on {ttl_attribute}'
    assert int(marker[ttl_attribute]['N']) == int(now.timestamp()) + MARKER_TTL_S
    # And: markers outlive the stream's 24 h retention (a retried batch must still find its marker)
    assert MARKER_TTL_S > 24 * 3600
    assert f"'{ttl_attribute}'" in (REPO_ROOT / 'shared' / 'kpi' / 'store.py').read_text()


# --------------------------------------------------------------------------------------------------
# 4. The KPI dashboard
# --------------------------------------------------------------------------------------------------
def dashboard_body(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The DashboardBody JSON, its ${...} placeholders replaced by dummies."""
    text = _sub_text(dashboard['Properties']['DashboardBody'])
    assert text is not None, 'DashboardBody is expected to be a Fn::Sub string'
    text = re.sub(r'\$\{!([^}]*)\}', r'${\1}', re.sub(r'\$\{([^}!][^}]*)\}', lambda m: f'dummy-{m.group(1)}', text))
    return dict(json.loads(text))


@dataclass(frozen=True)
class Search:
    title: str
    namespace: str
    schema: frozenset[str]
    designators: tuple[tuple[str, str], ...]  # (name, value) pairs of the search term

    @property
    def metric_names(self) -> list[str]:
        return [value for name, value in self.designators if name == 'MetricName']


_SEARCH = re.compile(r"SEARCH\(\s*'\s*\{([^}]*)\}(.*?)'\s*,")
_DESIGNATOR = re.compile(r'(\w+)\s*=\s*\\?"([^"\\]*)\\?"')


def searches(body: dict[str, Any]) -> list[Search]:
    found = []
    for widget in body.get('widgets', []):
        props = widget.get('properties', {})
        for row in props.get('metrics', []):
            for item in row:
                if not isinstance(item, dict) or 'expression' not in item:
                    continue
                for schema, term in _SEARCH.findall(item['expression']):
                    namespace, *dims = [part.strip().strip('"') for part in schema.split(',')]
                    found.append(Search(props.get('title', ''), namespace, frozenset(dims), tuple(_DESIGNATOR.findall(term))))
    return found


def plain_metric_names(body: dict[str, Any]) -> list[str]:
    """Metric names of plain (non-expression) rows: [namespace, name, dim, value, ...]."""
    return [
        str(row[1])
        for widget in body.get('widgets', [])
        for row in widget.get('properties', {}).get('metrics', [])
        if row and isinstance(row[0], str) and len(row) > 1 and row[1] != '.'
    ]


def known_metric_names() -> set[str]:
    names = kpi_metric_names()
    if processor_metric_dimensions('LedgerEntriesWritten') is not None:
        names.add('LedgerEntriesWritten')
    # The league close's participation per division (its EMF is checked in tests/integration/test_league_close.py).
    if "single_metric(name='LeagueParticipation'" in (REPO_ROOT / 'shared' / 'leagues' / 'close_run.py').read_text():
        names.add('LeagueParticipation')
    return names | set(wallet_metric_dimensions())


def dashboard_metric_problems(body: dict[str, Any]) -> list[str]:
    known = known_metric_names()
    problems = []
    found = searches(body)
    if not found:
        problems.append('no SEARCH expression found')
    for search in found:
        if len(search.metric_names) != 1:
            problems.append(f'{search.title}: SEARCH names {search.metric_names} (expected one MetricName)')
        problems += [f'{search.title}: {name} is not emitted by the code' for name in search.metric_names if name not in known]
        if search.namespace != GLOBAL_ENV['POWERTOOLS_METRICS_NAMESPACE']:
            problems.append(f'{search.title}: namespace {search.namespace}')
    problems += [f'plain metric {name} is not emitted by the code' for name in plain_metric_names(body) if name not in known]
    return problems


BODY = dashboard_body(RESOURCES['KpiDashboard'])


def test_dashboard_names_only_metrics_the_code_emits() -> None:
    # Given: the KPI dashboard's SEARCH expressions
    # When: comparing their MetricName="..." with what samples() and the ticket processor emit
    problems = dashboard_metric_problems(BODY)
    # Then: every name is emitted (a misspelt name is an empty graph, not an error)
    assert problems == []
    assert 'LedgerEntriesWritten' in known_metric_names()


@pytest.mark.parametrize(
    'expression',
    [
        'SEARCH(\'{Pitcrew,location,service,stage} MetricName=\\"CsatScore\\" stage=\\"x\\"\', \'Average\', 86400)',
        "SEARCH('{Pitcrew,service,stage} MetricName=\"TurnaroundMinutes\"', 'Average', 86400)",
        "SEARCH('{Pitcrew,service,stage} stage=\"x\"', 'Average', 86400)",
        "SEARCH('{Other,service,stage} MetricName=\"Csat\"', 'Average', 86400)",
    ],
    ids=['misspelt-escaped', 'unknown', 'no-metric-name', 'other-namespace'],
)
def test_dashboard_guard_catches_unknown_metrics(expression: str) -> None:
    # Given: a dashboard with one SEARCH that names a metric the code does not emit (or none)
    body = {'widgets': [{'type': 'metric', 'properties': {'title': 't', 'metrics': [[{'expression': expression, 'id': 'e0'}]]}}]}
    # When / Then: the guard reports it
    assert dashboard_metric_problems(body)


DASHBOARD_TOPICS = {
    'CSAT': r'\bCSAT\b',
    'turnaround by location': r'(turnaround|\bTAT\b).*\blocation\b',
    'SLA compliance': r'\bSLA compliance\b',
    'technician quality': r'\btechnician quality\b',
    'repeat': r'\brepeat',
    'upsell': r'\bupsell',
    'participation': r'\bparticipation\b',
}


def missing_topics(body: dict[str, Any]) -> list[str]:
    titles = [str(w.get('properties', {}).get('title', '')) for w in body.get('widgets', []) if w.get('type') == 'metric']
    return [topic for topic, pattern in DASHBOARD_TOPICS.items() if not any(re.search(pattern, t, re.IGNORECASE) for t in titles)]


def test_dashboard_has_a_widget_per_kpi_topic() -> None:
    # Given / When: the titles of the dashboard's metric widgets
    # Then: CSAT, turnaround by location, SLA compliance, technician quality, repeat, upsell and participation are shown
    assert missing_topics(BODY) == []


def test_topic_check_catches_a_missing_widget() -> None:
    # Given: the dashboard without its upsell widget
    body = _copy(BODY)
    body['widgets'] = [w for w in body['widgets'] if 'upsell' not in str(w.get('properties', {}).get('title', '')).lower()]
    # When / Then: the check reports it
    assert missing_topics(body) == ['upsell']


def test_dashboard_shows_the_floor_alarms() -> None:
    # Given: the dashboard's alarm widgets
    alarms = {a for w in BODY['widgets'] if w.get('type') == 'alarm' for a in w.get('properties', {}).get('alarms', [])}
    # Then: every floor alarm is on it
    assert alarms >= {f'dummy-{name}.Arn' for name in FLOORS}


def _search_params() -> list[Any]:
    params = []
    for index, search in enumerate(searches(BODY)):
        params.append(pytest.param(search, id=f'{index}-{"+".join(search.metric_names) or "none"}'))
    return params


def league_metric_dimensions(metric: str) -> set[frozenset[str]]:
    """Dimension sets the league close emits `metric` with (publish_participation's EMF for one division, captured)."""
    import contextlib
    import io

    from shared.leagues.close_run import DivisionSummary, LeagueOutcome, publish_participation

    printed = io.StringIO()
    outcome = LeagueOutcome('pitstop', '2026-10', 1, '', (DivisionSummary('technician', 'Technicians', 10, 5, 50.0, (), {}, 0, 0, ''),))
    with contextlib.redirect_stdout(printed):
        publish_participation(outcome, 'test')
    found: set[frozenset[str]] = set()
    for line in printed.getvalue().splitlines():
        for directive in json.loads(line)['_aws']['CloudWatchMetrics']:
            if any(m['Name'] == metric for m in directive['Metrics']):
                found |= {frozenset(dimensions) for dimensions in directive['Dimensions']}
    return found


def wallet_metric_dimensions() -> dict[str, set[frozenset[str]]]:
    """The wallet's metrics and their dimension sets (a completed redemption's EMF and a stream batch's PointsIssued, captured)."""
    import contextlib
    import io
    from datetime import UTC, datetime

    from shared.wallet.metrics import publish_completion, publish_issued
    from shared.wallet.redeem import ItemKind, Redemption, RedemptionStatus

    at = datetime(2026, 10, 1, tzinfo=UTC)
    redemption = Redemption(redemption_id='r', program_id='p', program_ref='p@1', employee_id='E1', item_id='i', item_name='I',
                            kind=ItemKind.VOUCHER, provider='fake', quantity=1, unit_price=5, points=5, catalogue_version=1,
                            location_id='IN-BLR-01', month='2026-10', status=RedemptionStatus.COMPLETED, requested_at=at, entry_id='D')
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        publish_completion(redemption, at)
        publish_issued([{'eventName': 'INSERT', 'dynamodb': {'NewImage': {'pk': {'S': 'EMP#E1'}, 'kind': {'S': 'award'}, 'amount': {'N': '5'}}}}],
                       lambda people: dict.fromkeys(people, 'IN-BLR-01'))
    found: dict[str, set[frozenset[str]]] = {}
    for line in printed.getvalue().splitlines():
        for directive in json.loads(line)['_aws']['CloudWatchMetrics']:
            for metric in directive['Metrics']:
                found.setdefault(metric['Name'], set()).update(frozenset(d) for d in directive['Dimensions'])
    return found


def emitted_dimension_sets(metric: str, emitted: EmittedEmf) -> set[frozenset[str]]:
    if metric in emitted.metrics:
        return set(emitted.dimension_sets)
    return processor_metric_dimensions(metric) or league_metric_dimensions(metric) or wallet_metric_dimensions().get(metric, set())


def search_dimension_problems(search: Search, emitted: EmittedEmf) -> list[str]:
    problems = []
    for metric in search.metric_names:
        allowed = emitted_dimension_sets(metric, emitted)
        if search.schema not in allowed:
            problems.append(f'{metric}: schema {sorted(search.schema)} is none of the emitted {sorted(map(sorted, allowed))}')
    for name, value in search.designators:
        if name in {'MetricName', 'Namespace'}:
            continue
        if name not in search.schema:
            problems.append(f'filter {name}="{value}" on a dimension the schema {sorted(search.schema)} does not have')
    if 'stage' in search.schema and ('stage', 'dummy-Stage') not in search.designators:
        problems.append('a stage-dimensioned SEARCH without stage="${Stage}" mixes stages')
    return problems


@pytest.mark.parametrize('search', _search_params())
def test_dashboard_search_dimensions_match_what_the_code_emits(search: Search, emitted: EmittedEmf) -> None:
    # Given: one SEARCH of the dashboard, and the dimension sets its metric is emitted with (publish() for
    # the KPI samples, Powertools' service dimension plus its own for the ticket processor)
    # When: comparing its schema and its dimension filters
    problems = search_dimension_problems(search, emitted)
    # Then: the schema is a dimension set the metric really has, and it filters only on those dimensions
    assert problems == []


def test_search_dimension_check_catches_a_schema_the_code_does_not_emit(emitted: EmittedEmf) -> None:
    # Given: SEARCHes with a dimension the aggregator never adds, or filtering on a dimension outside the schema
    wrong_schema = Search('t', 'Pitcrew', frozenset({'team', 'service', 'stage'}), (('MetricName', 'Csat'), ('stage', 'dummy-Stage')))
    wrong_filter = Search('t', 'Pitcrew', frozenset({'service'}), (('MetricName', 'Csat'), ('stage', 'dummy-Stage')))
    # When / Then: both are reported
    assert search_dimension_problems(wrong_schema, emitted)
    assert search_dimension_problems(wrong_filter, emitted)


# --------------------------------------------------------------------------------------------------
# 5. KPI floor alarms
# --------------------------------------------------------------------------------------------------
def test_publish_emits_an_org_wide_stage_and_service_dimension_set(emitted: EmittedEmf) -> None:
    # Given / When: what publish() prints for one (location, channel) group
    # Then: the namespace comes from POWERTOOLS_METRICS_NAMESPACE, and the samples are emitted org-wide
    # by {stage, service}, by location and by location and channel
    assert emitted.namespaces == {os.environ['POWERTOOLS_METRICS_NAMESPACE']}
    assert emitted.dimension_sets == {
        frozenset({'stage', 'service'}),
        frozenset({'stage', 'service', 'location'}),
        frozenset({'stage', 'service', 'location', 'channel'}),
    }
    assert emitted.values['service'] == {GLOBAL_ENV['POWERTOOLS_SERVICE_NAME']}
    assert emitted.metrics == KPI_METRICS


def floor_alarm_problems(name: str, resources: dict[str, Any], parameters: dict[str, Any], org_wide: frozenset[str]) -> list[str]:
    props = resources[name]['Properties']
    parameter = FLOORS[name]
    problems = []
    metric = props.get('MetricName')
    units = kpi_metric_units()
    if metric not in units:
        problems.append(f'{name}: {metric} is not emitted by the aggregator')
    elif units[metric] != {'Percent'}:
        problems.append(f'{name}: {metric} is sampled in {units[metric]}, not as a 0/100 percentage')
    if props.get('Namespace') != GLOBAL_ENV['POWERTOOLS_METRICS_NAMESPACE']:
        problems.append(f'{name}: namespace {props.get("Namespace")}')
    dimensions = {str(d['Name']): d['Value'] for d in props.get('Dimensions') or []}
    if set(dimensions) != org_wide or len(props.get('Dimensions') or []) != len(org_wide):
        problems.append(f'{name}: dimensions {sorted(dimensions)}, emitted {sorted(org_wide)}')
    if dimensions.get('service') != GLOBAL_ENV['POWERTOOLS_SERVICE_NAME']:
        problems.append(f'{name}: service {dimensions.get("service")}')
    if dimensions.get('stage') != {'Ref': 'Stage'} or GLOBAL_ENV['STAGE'] != {'Ref': 'Stage'}:
        problems.append(f'{name}: stage {dimensions.get("stage")}')
    if props.get('Statistic') != 'Average':
        problems.append(f'{name}: statistic {props.get("Statistic")}')
    if props.get('ComparisonOperator') != 'LessThanThreshold':
        problems.append(f'{name}: operator {props.get("ComparisonOperator")}')
    if props.get('Threshold') != {'Ref': parameter}:
        problems.append(f'{name}: threshold {props.get("Threshold")}, not !Ref {parameter}')
    spec = parameters.get(parameter, {})
    if (spec.get('Type'), spec.get('MinValue'), spec.get('MaxValue')) != ('Number', 0, 100):
        problems.append(f'{parameter}: {spec.get("Type")} in [{spec.get("MinValue")}, {spec.get("MaxValue")}], not a Number in [0, 100]')
    if {'Ref': 'AlarmTopic'} not in _as_list(props.get('AlarmActions') or []):
        problems.append(f'{name}: does not notify AlarmTopic')
    return problems


def _org_wide(emitted: EmittedEmf) -> frozenset[str]:
    [org_wide] = [dims for dims in emitted.dimension_sets if 'location' not in dims]
    return org_wide


@pytest.mark.parametrize('alarm', sorted(FLOORS))
def test_floor_alarm_watches_the_org_wide_metric_the_aggregator_emits(alarm: str, emitted: EmittedEmf) -> None:
    # Given: a floor alarm, and the org-wide dimension set publish() emits ({service, stage})
    org_wide = _org_wide(emitted)
    assert org_wide == {'service', 'stage'}
    # When: checking it against the emitted metric and its threshold parameter
    problems = floor_alarm_problems(alarm, RESOURCES, PARAMETERS, org_wide)
    # Then: same metric, namespace and dimensions; the daily average below the parameter (0-100) breaches
    assert problems == []


def test_every_parameter_threshold_alarm_is_a_known_floor() -> None:
    # Given: the alarms whose threshold is a template parameter
    parameterised = {
        name
        for name, alarm in RESOURCES.items()
        if alarm.get('Type') == ALARM
        and isinstance(alarm['Properties'].get('Threshold'), dict)
        and alarm['Properties']['Threshold'].get('Ref') in PARAMETERS
    }
    # Then: they are exactly the floors checked above
    assert parameterised == set(FLOORS)


_FLOOR_BREAKAGES: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    'location-dimension': lambda r, p: r['CsatFloorAlarm']['Properties']['Dimensions'].append({'Name': 'location', 'Value': 'blr'}),
    'no-service': lambda r, p: r['CsatFloorAlarm']['Properties'].update(Dimensions=[{'Name': 'stage', 'Value': {'Ref': 'Stage'}}]),
    'wrong-service': lambda r, p: r['CsatFloorAlarm']['Properties']['Dimensions'][0].update(Value='pitcrew-prod'),
    'sum': lambda r, p: r['CsatFloorAlarm']['Properties'].update(Statistic='Sum'),
    'greater': lambda r, p: r['CsatFloorAlarm']['Properties'].update(ComparisonOperator='GreaterThanThreshold'),
    'literal-threshold': lambda r, p: r['CsatFloorAlarm']['Properties'].update(Threshold=80),
    'unknown-metric': lambda r, p: r['CsatFloorAlarm']['Properties'].update(MetricName='CsatPercent'),
    'not-a-percentage': lambda r, p: r['CsatFloorAlarm']['Properties'].update(MetricName='TurnaroundHours'),
    'unbounded-parameter': lambda r, p: p['CsatFloorPercent'].pop('MaxValue'),
    'negative-parameter': lambda r, p: p['CsatFloorPercent'].update(MinValue=-1),
}


@pytest.mark.parametrize('breakage', sorted(_FLOOR_BREAKAGES))
def test_floor_guard_catches_a_broken_alarm(breakage: str) -> None:
    # Given: a copy of the template with the CSAT floor (or its parameter) broken
    resources, parameters = _copy(RESOURCES), _copy(PARAMETERS)
    _FLOOR_BREAKAGES[breakage](resources, parameters)
    # When: the guard inspects it
    problems = floor_alarm_problems('CsatFloorAlarm', resources, parameters, frozenset({'service', 'stage'}))
    # Then: it is reported
    assert problems, breakage


# --------------------------------------------------------------------------------------------------
# 6. Build
# --------------------------------------------------------------------------------------------------
def test_aggregator_is_built_by_the_makefile() -> None:
    # Given / When: the aggregator's build metadata
    # Then: it is built with BuildMethod makefile, so tests/template/test_template.py's
    # test_makefile_builds_every_makefile_resource checks its build-KpiAggregatorFunction target
    assert RESOURCES[AGGREGATOR].get('Metadata', {}).get('BuildMethod') == 'makefile'
    assert RESOURCES[AGGREGATOR]['Properties']['Handler'] == 'functions.kpi_aggregator.app.lambda_handler'
