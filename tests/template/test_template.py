"""Infrastructure tests: assertions on template.yaml, offline (no AWS, no SAM CLI).

The template is parsed with cfn-lint's decoder, which keeps intrinsics as plain dicts
(`!Ref X` -> {'Ref': 'X'}, `!Sub s` -> {'Fn::Sub': s}, `!GetAtt A.B` -> {'Fn::GetAtt': ['A', 'B']}).
Each guard is a function returning the list of violations, so it is checked twice: the real
template must give none, and a deliberately broken snippet must give some (the guard can fail).
"""

from __future__ import annotations

import fnmatch
import importlib
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.config import ManualArgs
from cfnlint.decode import decode

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / 'template.yaml'
MAKEFILE_PATH = REPO_ROOT / 'Makefile'

RUNTIME = 'python3.12'
FUNCTION = 'AWS::Serverless::Function'
TABLE = 'AWS::DynamoDB::Table'


def _load_template() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE_PATH))
    assert not matches, f'template.yaml does not parse: {[str(m) for m in matches]}'
    assert template is not None
    return template


TEMPLATE = _load_template()
RESOURCES: dict[str, Any] = TEMPLATE['Resources']
GLOBAL_FUNCTION: dict[str, Any] = TEMPLATE.get('Globals', {}).get('Function', {})


def _of_type(resources: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in resources.items() if res.get('Type') == type_}


FUNCTIONS = sorted(_of_type(RESOURCES, FUNCTION))


def _prop(name: str, key: str) -> Any:
    """A function property as SAM resolves it: the function's own value, else the Globals one."""
    props = RESOURCES[name].get('Properties', {})
    return props[key] if key in props else GLOBAL_FUNCTION.get(key)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _referenced_ids(value: Any) -> set[str]:
    """Logical IDs a value points at through Ref, Fn::GetAtt or Fn::Sub (pseudo parameters excluded)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == 'Ref' and isinstance(inner, str):
                found.add(inner)
            elif key == 'Fn::GetAtt':
                target = inner[0] if isinstance(inner, list) else str(inner).split('.', 1)[0]
                found.add(str(target))
            elif key == 'Fn::Sub':
                text = inner[0] if isinstance(inner, list) else inner
                found.update(m.split('.', 1)[0] for m in re.findall(r'\$\{([^}!]+)\}', str(text)))
                if isinstance(inner, list) and len(inner) > 1:
                    found |= _referenced_ids(inner[1])
            else:
                found |= _referenced_ids(inner)
    elif isinstance(value, list):
        for item in value:
            found |= _referenced_ids(item)
    return {ref for ref in found if not ref.startswith('AWS::')}


# --------------------------------------------------------------------------------------------------
# Guard: nothing may delete or rewrite ledger entries or balances.
# --------------------------------------------------------------------------------------------------
# BatchWriteItem can carry DeleteRequests, so it counts as a delete.
_DESTRUCTIVE = {'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:PartiQLDelete', 'dynamodb:DeleteTable'}
FORBIDDEN_ACTIONS: dict[str, set[str]] = {
    'LedgerTable': _DESTRUCTIVE | {'dynamodb:UpdateItem', 'dynamodb:PartiQLUpdate'},  # entries are append-only
    'BalancesTable': set(_DESTRUCTIVE),
}
# SAM policy templates / managed policies that grant writes beyond what the tables allow.
WRITE_POLICY_TEMPLATES = {'DynamoDBCrudPolicy', 'DynamoDBWritePolicy'}
FULL_ACCESS_MANAGED_POLICIES = {'AmazonDynamoDBFullAccess', 'arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess'}


def _unwrap_if(item: Any) -> Iterator[Any]:
    """Both branches of a Fn::If (a condition may hide a statement), minus AWS::NoValue."""
    if isinstance(item, dict) and set(item) == {'Fn::If'}:
        for branch in item['Fn::If'][1:]:
            yield from _unwrap_if(branch)
    elif item != {'Ref': 'AWS::NoValue'}:
        yield item


def _statements(policies: Any) -> Iterator[dict[str, Any]]:
    for policy in _as_list(policies or []):
        if isinstance(policy, dict) and 'Statement' in policy:
            for statement in _as_list(policy['Statement']):
                yield from _unwrap_if(statement)


def _targets(resource: Any, protected: set[str]) -> set[str]:
    """Protected tables a statement Resource reaches; a literal wildcard reaches all of them."""
    hit: set[str] = set()
    for item in _as_list(resource):
        if isinstance(item, str):
            if item == '*' or ('dynamodb' in item and '*' in item):
                hit |= protected
        else:
            hit |= _referenced_ids(item) & protected
    return hit


def _action_allows(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def ledger_violations(resources: dict[str, Any]) -> list[str]:
    protected = set(FORBIDDEN_ACTIONS)
    problems: list[str] = []
    for name, res in _of_type(resources, FUNCTION).items():
        policies = res.get('Properties', {}).get('Policies', [])
        for policy in _as_list(policies or []):
            if isinstance(policy, str) and policy in FULL_ACCESS_MANAGED_POLICIES:
                problems.append(f'{name}: managed policy {policy}')
            elif isinstance(policy, dict):
                for template_name in WRITE_POLICY_TEMPLATES & set(policy):
                    for table in _referenced_ids(policy[template_name]) & protected:
                        problems.append(f'{name}: {template_name} on {table}')
        for statement in _statements(policies):
            if statement.get('Effect', 'Allow') != 'Allow':
                continue
            for table in _targets(statement.get('Resource'), protected):
                if 'NotAction' in statement:
                    problems.append(f'{name}: NotAction statement reaches {table}')
                    continue
                for pattern in _as_list(statement.get('Action', [])):
                    for action in sorted(FORBIDDEN_ACTIONS[table]):
                        if _action_allows(str(pattern), action):
                            problems.append(f'{name}: {pattern} allows {action} on {table}')
    return problems


def test_no_function_can_delete_or_rewrite_ledger_or_balances() -> None:
    # Given: every function's Policies in template.yaml
    # When: looking for statements, policy templates or managed policies that reach LedgerTable or BalancesTable
    problems = ledger_violations(RESOURCES)
    # Then: none can delete (or batch-write) either table's items, nor update ledger entries
    assert problems == []


@pytest.mark.parametrize(
    'policies',
    [
        [{'DynamoDBCrudPolicy': {'TableName': {'Ref': 'LedgerTable'}}}],
        [{'Statement': [{'Effect': 'Allow', 'Action': 'dynamodb:*', 'Resource': {'Fn::GetAtt': ['BalancesTable', 'Arn']}}]}],
        [{'Statement': [{'Effect': 'Allow', 'Action': ['dynamodb:UpdateItem'], 'Resource': {'Fn::GetAtt': ['LedgerTable', 'Arn']}}]}],
        [{'Statement': [{'Effect': 'Allow', 'Action': 'dynamodb:BatchWriteItem', 'Resource': {'Fn::Sub': '${LedgerTable.Arn}'}}]}],
        [{'Statement': [{'Effect': 'Allow', 'Action': 'dynamodb:Delete*', 'Resource': '*'}]}],
        ['AmazonDynamoDBFullAccess'],
        [{'Statement': [{'Fn::If': ['SomeCondition', {'Effect': 'Allow', 'Action': 'dynamodb:DeleteItem',
                                                      'Resource': {'Fn::GetAtt': ['BalancesTable', 'Arn']}}, {'Ref': 'AWS::NoValue'}]}]}],
    ],
    ids=['crud-template', 'dynamodb-star', 'ledger-update', 'ledger-batch-write', 'wildcard-resource', 'managed-full-access',
         'hidden-in-a-condition'],
)
def test_ledger_guard_catches_destructive_grants(policies: list[Any]) -> None:
    # Given: a function granted a destructive permission on a protected table
    resources = {'BadFunction': {'Type': FUNCTION, 'Properties': {'Policies': policies}}}
    # When: the guard inspects it
    problems = ledger_violations(resources)
    # Then: it is reported
    assert problems, policies


def test_ledger_guard_allows_appends_and_balance_updates() -> None:
    # Given: the permissions the processor legitimately needs
    statement = [
        {'Effect': 'Allow', 'Action': ['dynamodb:PutItem', 'dynamodb:Query'], 'Resource': {'Fn::GetAtt': ['LedgerTable', 'Arn']}},
        {'Effect': 'Allow', 'Action': 'dynamodb:UpdateItem', 'Resource': {'Fn::GetAtt': ['BalancesTable', 'Arn']}},
        {'Effect': 'Allow', 'Action': 'dynamodb:DeleteItem', 'Resource': {'Fn::GetAtt': ['TicketsTable', 'Arn']}},
    ]
    resources = {'GoodFunction': {'Type': FUNCTION, 'Properties': {'Policies': [{'Statement': statement}]}}}
    # When: the guard inspects them
    problems = ledger_violations(resources)
    # Then: nothing is reported
    assert problems == []


def plain_ledger_puts(resources: dict[str, Any]) -> list[str]:
    """Functions that may PutItem on LedgerTable outside a TransactWriteItems: an Allow reaching the table with an
    action matching PutItem, unless conditioned on `dynamodb:EnclosingOperation` = TransactWriteItems only (a plain
    PutItem then carries no enclosing operation and is refused)."""
    found = []
    for name, res in _of_type(resources, FUNCTION).items():
        for statement in _statements(res.get('Properties', {}).get('Policies', [])):
            if statement.get('Effect', 'Allow') != 'Allow' or not _targets(statement.get('Resource'), {'LedgerTable'}):
                continue
            if not any(_action_allows(str(pattern), 'dynamodb:PutItem') for pattern in _as_list(statement.get('Action', []))):
                continue
            enclosing = (statement.get('Condition') or {}).get('ForAnyValue:StringEquals', {}).get('dynamodb:EnclosingOperation')
            if _as_list(enclosing) != ['TransactWriteItems'] or len(statement['Condition']) != 1:
                found.append(f'{name}: {statement.get("Sid", statement.get("Action"))}')
    return found


def test_ledger_entries_are_put_only_inside_transactions() -> None:
    # Given: every function allowed to put ledger entries (the processor, hold release, adjustments, disputes, closes)
    writers = [name for name, res in _of_type(RESOURCES, FUNCTION).items()
               for statement in _statements(res.get('Properties', {}).get('Policies', []))
               if _targets(statement.get('Resource'), {'LedgerTable'}) and 'dynamodb:PutItem' in _as_list(statement.get('Action'))]
    assert len(writers) >= 6
    # When: looking for a PutItem grant on LedgerTable without the EnclosingOperation condition
    # Then: there is none (each entry is written with its chained balance update, in one transaction)
    assert plain_ledger_puts(RESOURCES) == []


@pytest.mark.parametrize(
    'statement',
    [
        {'Effect': 'Allow', 'Action': 'dynamodb:PutItem', 'Resource': {'Fn::GetAtt': ['LedgerTable', 'Arn']}},
        {'Effect': 'Allow', 'Action': ['dynamodb:Put*'], 'Resource': {'Fn::Sub': '${LedgerTable.Arn}'}},
        {'Effect': 'Allow', 'Action': 'dynamodb:PutItem', 'Resource': {'Fn::GetAtt': ['LedgerTable', 'Arn']},
         'Condition': {'ForAnyValue:StringEquals': {'dynamodb:EnclosingOperation': ['TransactWriteItems', 'TransactGetItems']}}},
        {'Effect': 'Allow', 'Action': 'dynamodb:*', 'Resource': '*',
         'Condition': {'ForAllValues:StringEquals': {'dynamodb:EnclosingOperation': ['TransactWriteItems']}}},
    ],
    ids=['unconditioned', 'wildcard-action', 'wider-operations', 'for-all-values'],
)
def test_plain_put_guard_catches_a_ledger_put_outside_transactions(statement: dict[str, Any]) -> None:
    # Given: a function allowed to put ledger entries without (exactly) the transaction-only condition
    resources = {'BadFunction': {'Type': FUNCTION, 'Properties': {'Policies': [{'Statement': [statement]}]}}}
    # When / Then: the guard reports it
    assert plain_ledger_puts(resources) == [f'BadFunction: {statement["Action"]}']


def test_function_statements_are_scoped_to_resources() -> None:
    # Given: every Allow statement in the functions' inline policies
    unscoped = [
        f'{name}: {statement.get("Sid", statement.get("Action"))}'
        for name in FUNCTIONS
        for statement in _statements(_prop(name, 'Policies'))
        if statement.get('Effect', 'Allow') == 'Allow' and '*' in _as_list(statement.get('Resource'))
    ]
    # Then: none grants on Resource '*' (least privilege)
    assert unscoped == []


# --------------------------------------------------------------------------------------------------
# Functions: handlers, runtime, log groups, alarms, build targets
# --------------------------------------------------------------------------------------------------
def test_template_defines_the_expected_functions() -> None:
    # Given / When: the functions declared in the template
    # Then: the Pitcrew functions are there (the parametrized tests below are not vacuous)
    assert set(FUNCTIONS) >= {
        'WebhookIngestFunction',
        'TicketProcessorFunction',
        'DirectoryImportFunction',
        'QuarantineReplayFunction',
        'LedgerAdjustFunction',
        'LedgerAuditFunction',
    }


@pytest.mark.parametrize('function', FUNCTIONS)
def test_handler_resolves_to_an_importable_callable(function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: the function's dotted Handler, relative to its CodeUri (the repo root)
    handler = _prop(function, 'Handler')
    assert _prop(function, 'CodeUri') in ('.', './'), 'dotted handlers assume CodeUri is the repo root'
    module_name, _, attribute = str(handler).rpartition('.')
    assert module_name, f'{function}: Handler {handler!r} is not a dotted module.attribute path'
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
    # When: importing the module the way Lambda does
    module = importlib.import_module(module_name)
    # Then: the attribute exists and is callable
    assert callable(getattr(module, attribute, None)), f'{function}: {handler} is not a callable'


@pytest.mark.parametrize('function', FUNCTIONS)
def test_runtime_is_python312(function: str) -> None:
    # Given / When: the function's effective Runtime (own value or Globals)
    # Then: it is the runtime the code and the layer are built for
    assert _prop(function, 'Runtime') == RUNTIME


def test_layers_target_python312() -> None:
    # Given: every layer in the template
    layers = _of_type(RESOURCES, 'AWS::Serverless::LayerVersion')
    assert layers
    # Then: each is compatible with python3.12 only, and no plain Lambda function uses another runtime
    for name, layer in layers.items():
        assert layer['Properties']['CompatibleRuntimes'] == [RUNTIME], name
    for name, fn in _of_type(RESOURCES, 'AWS::Lambda::Function').items():
        assert fn['Properties'].get('Runtime') == RUNTIME, name


def test_code_that_uses_the_xray_sdk_ships_it_in_the_layer() -> None:
    # Given: the dependencies layer is built from pyproject's dependencies, and the dev venv has the X-Ray
    # SDK through moto (so only a deployed function would fail on a missing import)
    requirements = tomllib.loads((REPO_ROOT / 'pyproject.toml').read_text())['project']['dependencies']
    powertools = [r for r in requirements if re.match(r'aws-lambda-powertools\b', r)]
    extras = {e.strip() for r in powertools for group in re.findall(r'\[([^\]]*)\]', r) for e in group.split(',')}
    ships_xray = bool(extras & {'tracer', 'all'}) or any(re.match(r'aws-xray-sdk\b', r) for r in requirements)
    # When: looking for code that needs it (Powertools' Tracer imports it at construction)
    sources = [p for folder in ('shared', 'functions') for p in (REPO_ROOT / folder).rglob('*.py')]
    needs_xray = [str(p) for p in sources if re.search(r'\bTracer\(|aws_xray_sdk', p.read_text())]
    # Then: either nothing needs it or the layer ships it
    assert not needs_xray or ships_xray, f"{needs_xray} need aws-lambda-powertools[tracer] in pyproject.toml"


@pytest.mark.parametrize('function', FUNCTIONS)
def test_function_has_a_log_group_with_retention(function: str) -> None:
    # Given: the log groups declared in the template
    log_groups = _of_type(RESOURCES, 'AWS::Logs::LogGroup')
    # When: picking those named after this function
    mine = [
        lg['Properties']
        for lg in log_groups.values()
        if function in _referenced_ids(lg['Properties'].get('LogGroupName'))
        and '/aws/lambda/' in str(lg['Properties'].get('LogGroupName'))
    ]
    # Then: exactly one exists, it has a retention, and the function logs JSON
    assert len(mine) == 1, f'{function}: expected one /aws/lambda/${{{function}}} log group, found {len(mine)}'
    assert mine[0].get('RetentionInDays'), f'{function}: log group without RetentionInDays'
    assert (_prop(function, 'LoggingConfig') or {}).get('LogFormat') == 'JSON'


@pytest.mark.parametrize('function', FUNCTIONS)
def test_function_has_an_errors_alarm(function: str) -> None:
    # Given: the CloudWatch alarms
    alarms = _of_type(RESOURCES, 'AWS::CloudWatch::Alarm').values()
    # When: picking the AWS/Lambda Errors alarm on this function
    mine = [
        a['Properties']
        for a in alarms
        if a['Properties'].get('Namespace') == 'AWS/Lambda'
        and a['Properties'].get('MetricName') == 'Errors'
        and function in _referenced_ids(a['Properties'].get('Dimensions'))
    ]
    # Then: it exists and notifies the alarm topic
    assert len(mine) == 1, function
    assert {'Ref': 'AlarmTopic'} in mine[0]['AlarmActions']


def _make_target_recipe(target: str) -> str | None:
    """The recipe lines of `target:` in the Makefile, or None when the target does not exist."""
    lines = MAKEFILE_PATH.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.split(':', 1)[0].strip() == target and ':' in line:
            recipe = []
            for following in lines[index + 1 :]:
                if not following.startswith('\t'):
                    break
                recipe.append(following)
            return '\n'.join(recipe)
    return None


@pytest.mark.parametrize(
    'resource',
    sorted(name for name, res in RESOURCES.items() if res.get('Metadata', {}).get('BuildMethod') == 'makefile'),
)
def test_makefile_builds_every_makefile_resource(resource: str) -> None:
    # Given: a resource built with BuildMethod: makefile
    # When: looking for its build-<LogicalId> target
    recipe = _make_target_recipe(f'build-{resource}')
    # Then: the target exists, and a function's target packages the handler's own package
    assert recipe is not None, f'Makefile has no build-{resource} target'
    if RESOURCES[resource]['Type'] == FUNCTION:
        package = str(_prop(resource, 'Handler')).split('.')[1]
        assert package in recipe, f'build-{resource} does not package functions/{package}'


# --------------------------------------------------------------------------------------------------
# Ledger audit: schedule, read-only access, SES scope, the mismatch alarm
# --------------------------------------------------------------------------------------------------
AUDIT = 'LedgerAuditFunction'
_DDB_READS = {'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'}


def test_audit_runs_weekly_on_an_eventbridge_schedule() -> None:
    # Given: the audit function's events
    events = list((_prop(AUDIT, 'Events') or {}).values())
    # Then: exactly one, a Schedule on Monday 02:15 UTC, enabled
    assert [e['Type'] for e in events] == ['Schedule']
    assert events[0]['Properties']['Schedule'] == 'cron(15 2 ? * MON *)'
    assert events[0]['Properties'].get('Enabled', True) is True


def write_or_scan_grants(function: dict[str, Any]) -> list[str]:
    """DynamoDB actions other than point and index reads (writes, Scan, wildcards) a function may use."""
    found = []
    for statement in _statements(function.get('Properties', {}).get('Policies')):
        for action in _as_list(statement.get('Action', [])):
            if str(action).lower().startswith('dynamodb:') and str(action) not in _DDB_READS:
                found.append(str(action))
    return found


def test_audit_function_only_reads_and_never_scans() -> None:
    # Given / When: the DynamoDB actions the audit function is granted
    grants = write_or_scan_grants(RESOURCES[AUDIT])
    # Then: reads only (no Scan: the audit queries indexes and partitions)
    assert grants == []


@pytest.mark.parametrize('action', ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:*'])
def test_read_only_guard_catches_writes_and_scans(action: str) -> None:
    # Given: a function granted a write or a Scan
    function = {'Properties': {'Policies': [{'Statement': [{'Effect': 'Allow', 'Action': action, 'Resource': 'arn:x'}]}]}}
    # When / Then: the guard reports it
    assert write_or_scan_grants(function) == [action]


def test_audit_sends_mail_only_as_the_configured_identity() -> None:
    # Given: the audit function's SES statements (behind the HasAuditEmailFrom condition)
    ses = [s for s in _statements(_prop(AUDIT, 'Policies')) if any(str(a).startswith('ses:') for a in _as_list(s.get('Action')))]
    # Then: one statement, SendEmail only, on identity ARNs built from the AuditEmailFrom parameter
    assert len(ses) == 1
    assert _as_list(ses[0]['Action']) == ['ses:SendEmail']
    resources = _as_list(ses[0]['Resource'])
    assert resources and all('AuditEmailFrom' in _referenced_ids(r) and ':identity/' in str(r) for r in resources)
    # And: the function reads the same parameters, which default to empty (no e-mail until configured)
    env = RESOURCES[AUDIT]['Properties']['Environment']['Variables']
    assert env == {'AUDIT_EMAIL_FROM': {'Ref': 'AuditEmailFrom'}, 'AUDIT_EMAIL_TO': {'Ref': 'AuditEmailTo'}}
    assert TEMPLATE['Parameters']['AuditEmailFrom']['Default'] == TEMPLATE['Parameters']['AuditEmailTo']['Default'] == ''


def test_mismatch_alarm_watches_the_metric_the_function_emits() -> None:
    # Given: the alarm on LedgerAuditMismatches, and what the function emits (Powertools adds a
    # `service` dimension from POWERTOOLS_SERVICE_NAME; the handler adds `stage`)
    [alarm] = [r['Properties'] for r in _of_type(RESOURCES, 'AWS::CloudWatch::Alarm').values()
               if r['Properties'].get('MetricName') == 'LedgerAuditMismatches']
    env = GLOBAL_FUNCTION['Environment']['Variables']
    handler_source = (REPO_ROOT / 'functions' / 'ledger_audit' / 'app.py').read_text()
    # Then: same namespace, same dimensions (a metric with other dimensions is another metric), any
    # mismatch breaches, and the alarm topic is told
    assert alarm['Namespace'] == env['POWERTOOLS_METRICS_NAMESPACE']
    assert alarm['Dimensions'] == [{'Name': 'service', 'Value': env['POWERTOOLS_SERVICE_NAME']}, {'Name': 'stage', 'Value': {'Ref': 'Stage'}}]
    assert env['STAGE'] == {'Ref': 'Stage'}
    assert "name='LedgerAuditMismatches'" in handler_source and "add_dimension(name='stage'" in handler_source
    assert (alarm['ComparisonOperator'], alarm['Threshold']) == ('GreaterThanThreshold', 0)
    assert {'Ref': 'AlarmTopic'} in alarm['AlarmActions']


def test_chain_alarm_watches_the_metric_the_function_emits() -> None:
    # Given: the alarm on LedgerChainBroken and the mismatch alarm beside it (same function, same dimensions)
    alarms = {r['Properties'].get('MetricName'): r['Properties'] for r in _of_type(RESOURCES, 'AWS::CloudWatch::Alarm').values()}
    chain, mismatch = alarms['LedgerChainBroken'], alarms['LedgerAuditMismatches']
    handler_source = (REPO_ROOT / 'functions' / 'ledger_audit' / 'app.py').read_text()
    # Then: the function emits it, under the same namespace and dimensions; any broken chain breaches and is told
    assert "name='LedgerChainBroken'" in handler_source
    assert (chain['Namespace'], chain['Dimensions']) == (mismatch['Namespace'], mismatch['Dimensions'])
    assert (chain['ComparisonOperator'], chain['Threshold'], chain['TreatMissingData']) == ('GreaterThanThreshold', 0, 'notBreaching')
    assert {'Ref': 'AlarmTopic'} in chain['AlarmActions']


# --------------------------------------------------------------------------------------------------
# HTTP API
# --------------------------------------------------------------------------------------------------
def test_http_api_routes_post_webhooks_source_to_ingest() -> None:
    # Given: the HTTP API events of every function
    http_apis = _of_type(RESOURCES, 'AWS::Serverless::HttpApi')
    routes = [
        (name, str(event['Properties'].get('Method')).upper(), event['Properties'].get('Path'), event['Properties'].get('ApiId'))
        for name in FUNCTIONS
        for event in (_prop(name, 'Events') or {}).values()
        if event.get('Type') == 'HttpApi'
    ]
    # When: looking for POST /webhooks/{source}
    webhook_routes = [r for r in routes if r[1:3] == ('POST', '/webhooks/{source}')]
    # Then: exactly one route, on a declared HTTP API, handled by the ingest function
    assert len(webhook_routes) == 1, routes
    function, _, _, api_id = webhook_routes[0]
    assert function == 'WebhookIngestFunction'
    assert isinstance(api_id, dict) and api_id.get('Ref') in http_apis


# --------------------------------------------------------------------------------------------------
# Tables and queues
# --------------------------------------------------------------------------------------------------
def test_every_table_has_point_in_time_recovery_and_encryption() -> None:
    # Given: every DynamoDB table
    tables = _of_type(RESOURCES, TABLE)
    assert set(tables) >= {'TicketsTable', 'LedgerTable', 'BalancesTable', 'DirectoryTable', 'QuarantineTable'}
    # Then: each has PITR and server-side encryption enabled
    for name, table in tables.items():
        props = table['Properties']
        assert props.get('PointInTimeRecoverySpecification', {}).get('PointInTimeRecoveryEnabled') is True, name
        assert props.get('SSESpecification', {}).get('SSEEnabled') is True, name


@pytest.mark.parametrize('table', ['LedgerTable', 'BalancesTable'])
def test_system_of_record_tables_survive_stack_deletion_and_replacement(table: str) -> None:
    # Given / When: the ledger and balances tables
    resource = RESOURCES[table]
    # Then: deleting the stack or replacing the resource keeps the data
    assert resource.get('DeletionPolicy') == 'Retain'
    assert resource.get('UpdateReplacePolicy') == 'Retain'


def test_events_queue_redrives_to_the_dlq() -> None:
    # Given: the events queue and its dead-letter queue
    queue = RESOURCES['EventsQueue']['Properties']
    dlq = RESOURCES['EventsDLQ']['Properties']
    redrive = queue.get('RedrivePolicy', {})
    # Then: failed messages go to EventsDLQ after the retry budget the code expects
    assert redrive.get('deadLetterTargetArn') == {'Fn::GetAtt': ['EventsDLQ', 'Arn']}
    env = GLOBAL_FUNCTION['Environment']['Variables']
    assert int(redrive.get('maxReceiveCount', 0)) == int(env['EVENTS_MAX_RECEIVE_COUNT'])
    # And: the DLQ keeps messages longer than the source queue (a DLQ keeps the original enqueue time)
    assert int(dlq['MessageRetentionPeriod']) > int(queue.get('MessageRetentionPeriod', 345600))


def test_processor_consumes_the_queue_with_partial_batch_failures() -> None:
    # Given: the SQS event of the ticket processor
    events = [e for e in _prop('TicketProcessorFunction', 'Events').values() if e.get('Type') == 'SQS']
    assert len(events) == 1
    props = events[0]['Properties']
    # Then: it reads EventsQueue, reports failed records individually, and the queue's visibility
    # timeout is at least six times the function timeout (AWS guidance for Lambda event sources)
    assert props['Queue'] == {'Fn::GetAtt': ['EventsQueue', 'Arn']}
    assert props.get('FunctionResponseTypes') == ['ReportBatchItemFailures']
    assert int(RESOURCES['EventsQueue']['Properties']['VisibilityTimeout']) >= 6 * int(_prop('TicketProcessorFunction', 'Timeout'))


def test_alarm_topic_is_not_encrypted_with_the_aws_managed_sns_key() -> None:
    # Given: the alarm topic
    topic = RESOURCES['AlarmTopic']['Properties']
    # Then: its key is one CloudWatch may use (alias/aws/sns silently drops alarm notifications)
    assert topic.get('KmsMasterKeyId') != 'alias/aws/sns'


# --------------------------------------------------------------------------------------------------
# Guard: no secret values in environment variables
# --------------------------------------------------------------------------------------------------
_SECRET_NAME = re.compile(r'SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIAL', re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r'AKIA[0-9A-Z]{16}'  # AWS access key id
    r'|-----BEGIN [A-Z ]*PRIVATE KEY-----'
    r'|\b(sk|rk)_live_[0-9A-Za-z]{10,}'
    r'|\bxox[abpors]-[0-9A-Za-z-]{10,}'  # Slack tokens
    r'|\b[0-9a-f]{32}\b'  # 32-hex tokens (e.g. Twilio auth tokens)
)


def _literal_text(value: Any) -> str | None:
    """The literal text of a value: a plain string, or a Fn::Sub string; None for other intrinsics."""
    if isinstance(value, str | int | float | bool):
        return str(value)
    if isinstance(value, dict) and set(value) == {'Fn::Sub'}:
        inner = value['Fn::Sub']
        return str(inner[0] if isinstance(inner, list) else inner)
    return None


def secret_env_violations(variables: dict[str, Any], where: str) -> list[str]:
    problems = []
    for name, value in variables.items():
        text = _literal_text(value)
        if text is None:  # Ref / GetAtt / ImportValue: resolved at deploy time, not a literal
            continue
        if _SECRET_VALUE.search(text):
            problems.append(f'{where}: {name} holds a value shaped like a credential')
        elif _SECRET_NAME.search(name) and not (text.startswith(('/', 'arn:', '{{resolve:')) or text == ''):
            problems.append(f'{where}: {name} looks like a secret and holds a literal value')
    return problems


def _all_environment_variables() -> Iterator[tuple[str, dict[str, Any]]]:
    yield 'Globals', GLOBAL_FUNCTION.get('Environment', {}).get('Variables', {})
    for name in FUNCTIONS:
        yield name, RESOURCES[name].get('Properties', {}).get('Environment', {}).get('Variables', {})


def test_no_environment_variable_holds_a_secret() -> None:
    # Given: the environment variables of Globals and every function
    problems = [p for where, variables in _all_environment_variables() for p in secret_env_violations(variables, where)]
    # Then: none holds a literal secret (secrets live in SSM under SECRETS_PREFIX)
    assert problems == []
    assert 'SECRETS_PREFIX' in GLOBAL_FUNCTION['Environment']['Variables']


@pytest.mark.parametrize(
    'variables',
    [
        {'TWILIO_AUTH_TOKEN': 'not-a-path'},
        {'WEBHOOK_SECRET': {'Fn::Sub': 'hunter2-${Stage}'}},
        {'DB_PASSWORD': 'p4ss'},
        {'INNOCENT_NAME': 'AKIAABCDEFGHIJKLMNOP'},
        {'SIGNING': '0123456789abcdef0123456789abcdef'},
    ],
    ids=['token-literal', 'secret-sub', 'password', 'aws-key-value', 'hex-token-value'],
)
def test_secret_guard_catches_literal_secrets(variables: dict[str, Any]) -> None:
    # Given: an environment holding a secret
    # When: the guard inspects it
    problems = secret_env_violations(variables, 'test')
    # Then: it is reported
    assert problems


def test_secret_guard_allows_paths_and_references() -> None:
    # Given: a secrets path and references resolved at deploy time
    variables = {
        'SECRETS_PREFIX': {'Fn::Sub': '/pitcrew/${Stage}/sources'},
        'API_TOKEN_PARAMETER': '/pitcrew/prod/sources/zendesk',
        'TICKETS_TABLE': {'Ref': 'TicketsTable'},
    }
    # When / Then: nothing is reported
    assert secret_env_violations(variables, 'test') == []


# --------------------------------------------------------------------------------------------------
# Lint
# --------------------------------------------------------------------------------------------------
def test_template_lints_clean() -> None:
    # Given: template.yaml
    # When: cfn-lint (errors and warnings, SAM transform applied) runs offline
    matches = lint_file(TEMPLATE_PATH, config=ManualArgs(regions=['us-east-1']))
    # Then: it reports nothing
    assert [str(m) for m in matches] == []
