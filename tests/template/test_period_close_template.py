"""Infrastructure tests for the period close in template.yaml: its DynamoDB grants are exactly the calls
the code makes (recorded on moto: a close with payments, a rerun, a deduction at the floor), it never
scans, it runs hourly with the grace period the template sets, and reads programs only under their path.

Each guard returns a list of problems and is run twice: the real template must give none, and a
deliberately broken copy must give some.
"""

from __future__ import annotations

import copy
import os
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.template_resources import TABLE_ENV, template_document
from shared.directory.employees import EmployeeRow
from shared.directory.store import DirectoryStore
from shared.programs.period_close import close_due, rerun
from shared.programs.period_store import PeriodStore
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws
from tests.support.period_programs import ACCELERATOR, CSAT_BONUS, TEAM_BONUS, book, program

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = template_document()
RESOURCES: dict[str, Any] = TEMPLATE['Resources']
FUNCTION = 'PeriodCloseFunction'
PROGRAMS_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/pitcrew/${Stage}/programs'


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _label(resource: Any) -> str:
    """'KpiTable', 'DirectoryTable/index/employees' or the literal resource."""
    if isinstance(resource, dict) and 'Fn::GetAtt' in resource:
        return str(resource['Fn::GetAtt'][0])
    if isinstance(resource, dict) and 'Fn::Sub' in resource:
        text = resource['Fn::Sub']
        if isinstance(text, str) and text.startswith('${') and '.Arn}' in text:
            return text[2 : text.index('.Arn}')] + text[text.index('.Arn}') + 5 :]
        return str(text)
    return str(resource)


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the function's policies; a conditional one (`!If [condition, statement, ...]`) counts as
    granted, each branch that is a statement (the stack grants it when its condition holds)."""

    def unfold(statement: Any) -> list[dict[str, Any]]:
        if isinstance(statement, dict) and 'Fn::If' in statement:
            return [found for branch in statement['Fn::If'][1:] for found in unfold(branch)]
        return [statement] if isinstance(statement, dict) and 'Action' in statement else []

    return [found for policy in function['Properties'].get('Policies', []) if isinstance(policy, dict)
            for statement in policy.get('Statement', []) for found in unfold(statement)]


def dynamodb_grants(function: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (str(action), _label(resource))
        for statement in statements(function)
        if statement.get('Effect', 'Allow') == 'Allow'
        for action in _as_list(statement['Action'])
        if str(action).startswith('dynamodb:') or str(action) in ('*', 'dynamodb:*')
        for resource in _as_list(statement['Resource'])
    }


def needed(requests: list[tuple[str, str, dict[str, Any], Any]]) -> set[tuple[str, str]]:
    """IAM (action, resource label) of each recorded DynamoDB request (a transaction needs each item's action)."""
    logical = {os.environ[env]: logical_id for logical_id, (env, _) in TABLE_ENV.items() if env in os.environ}
    need: set[tuple[str, str]] = set()
    for service, operation, params, _ in requests:
        if service != 'dynamodb':
            continue
        if operation == 'BatchGetItem':
            need |= {('dynamodb:BatchGetItem', logical[table]) for table in params['RequestItems']}
        elif operation == 'TransactWriteItems':
            actions = {'Put': 'PutItem', 'Update': 'UpdateItem', 'Delete': 'DeleteItem', 'ConditionCheck': 'ConditionCheckItem'}
            for item in params['TransactItems']:
                (kind, body), = item.items()
                need.add((f'dynamodb:{actions[kind]}', logical[body['TableName']]))
        else:
            label = logical[params['TableName']] + (f'/index/{params["IndexName"]}' if 'IndexName' in params else '')
            need.add((f'dynamodb:{operation}', label))
    return need


@lru_cache(maxsize=1)
def recorded_calls() -> list[tuple[str, str, dict[str, Any], Any]]:
    """Every request of a close that pays (a credit and a deduction stopped at the floor), then a rerun."""
    with local_aws() as aws:
        rows = [EmployeeRow(employee_id=e, name=e, role='agent', location_id='NYC', manager_id='M1') for e in ('E1', 'E2')]
        DirectoryStore().import_rows(rows, datetime(2026, 10, 1, tzinfo=UTC))
        put = aws.dynamodb.put_item
        put(TableName=os.environ['KPI_TABLE'], Item={'pk': {'S': 'employee#E1'}, 'sk': {'S': '2026-10'}, 'sfr_met': {'N': '10'},
                                                     'cs_n': {'N': '5'}, 'cs_g': {'N': '5'}})
        put(TableName=os.environ['KPI_TABLE'], Item={'pk': {'S': 'employee#E2'}, 'sk': {'S': '2026-10'}, 'srs_br': {'N': '10'}})
        for employee in ('E1', 'E2'):
            put(TableName=os.environ['BALANCES_TABLE'], Item={'pk': {'S': f'EARN#support#{employee}#2026-10'},
                                                              'r_resolution_within_sla': {'N': '10'}})
        bands = [{'min': 0, 'max': 50, 'factor': 0.5}, {'min': 50, 'factor': 1.5}]
        prog = program('support', [ACCELERATOR | {'bands': bands}, CSAT_BONUS, TEAM_BONUS], starts_on=date(2026, 10, 1))
        with record_requests() as sent:
            close_due(PeriodStore(), book((1, prog)), datetime(2026, 11, 4, tzinfo=UTC), timedelta(hours=72))
            rerun(PeriodStore(), book((1, prog)), 'support', '2026-10', datetime(2026, 11, 4, tzinfo=UTC))
        return sent


def grant_problems(function: dict[str, Any]) -> list[str]:
    need, granted = needed(recorded_calls()), dynamodb_grants(function)
    problems = [f'the code calls {action} on {label}, not granted' for action, label in sorted(need - granted)]
    problems += [f'granted {action} on {label}, never called' for action, label in sorted(granted - need)]
    return problems


def test_dynamodb_grants_are_exactly_the_calls_the_close_makes() -> None:
    # Given: the DynamoDB requests of a close that pays, a deduction at the floor and a rerun (recorded on moto)
    # When: comparing them with the function's grants
    # Then: every call is granted and every grant is used; the recording is not vacuous
    assert grant_problems(RESOURCES[FUNCTION]) == []
    assert needed(recorded_calls()) >= {('dynamodb:Query', 'DirectoryTable/index/employees'), ('dynamodb:PutItem', 'LedgerTable'),
                             ('dynamodb:UpdateItem', 'BalancesTable'), ('dynamodb:BatchGetItem', 'KpiTable')}


def _with_statement(statement: dict[str, Any]) -> dict[str, Any]:
    function = copy.deepcopy(RESOURCES[FUNCTION])
    function['Properties']['Policies'][0]['Statement'].append(statement)
    return function


def _without(sid: str) -> dict[str, Any]:
    function = copy.deepcopy(RESOURCES[FUNCTION])
    policy = function['Properties']['Policies'][0]
    policy['Statement'] = [s for s in policy['Statement'] if s.get('Sid') != sid]
    return function


@pytest.mark.parametrize(
    'function',
    [
        _with_statement({'Effect': 'Allow', 'Action': 'dynamodb:Scan', 'Resource': {'Fn::GetAtt': ['KpiTable', 'Arn']}}),
        _with_statement({'Effect': 'Allow', 'Action': 'dynamodb:PutItem', 'Resource': {'Fn::GetAtt': ['BalancesTable', 'Arn']}}),
        _with_statement({'Effect': 'Allow', 'Action': 'dynamodb:Query', 'Resource': {'Fn::GetAtt': ['DirectoryTable', 'Arn']}}),
        _without('AppendBonusEntries'),
    ],
    ids=['scan', 'put-balance', 'query-table', 'no-ledger-put'],
)
def test_grant_guard_catches_extra_and_missing_grants(function: dict[str, Any]) -> None:
    # Given: the function with one grant added or removed
    # When / Then: the guard reports it
    assert grant_problems(function)


def test_runs_hourly_with_the_templates_grace_period_and_time_to_finish() -> None:
    # Given: the function's schedule, environment and timeout
    props = RESOURCES[FUNCTION]['Properties']
    (event,) = props['Events'].values()
    # Then: every hour (each program closes within the hour after its period end plus grace, in its own zone)
    assert event['Type'] == 'Schedule' and event['Properties']['Schedule'] == 'cron(10 * * * ? *)'
    assert props['Environment']['Variables']['PERIOD_CLOSE_GRACE_HOURS'] == {'Ref': 'PeriodCloseGraceHours'}
    assert TEMPLATE['Parameters']['PeriodCloseGraceHours']['MinValue'] == 0
    # And: up to Lambda's 15 minutes, not the 30 s default, for thousands of sequential transactions
    assert props['Timeout'] == 900


SERVICE_CONFIG_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ServiceConfigParameter}'


@lru_cache(maxsize=1)
def recorded_ssm_grants() -> set[tuple[str, str]]:
    """(IAM action, template resource) of every SSM request the program loader makes (recorded on moto, with a
    program under the path and a service configuration, as the function runs in AWS)."""
    import json

    import boto3

    from shared.config import get_settings
    from shared.programs.loader import clear_cache, load_programs

    path, config = '/pitcrew/test/programs', '/pitcrew/test/service-config'
    document = {'program_id': 'support', 'name': 'Support', 'time_zone': 'UTC', 'currency': 'USD', 'points_per_currency_unit': 10,
                'period': 'monthly', 'starts_on': '2026-10-01', 'effective_from': '2026-10-01T00:00:00Z',
                'rules': [{'rule_id': 'resolution_within_sla', 'kind': 'resolution_within_sla', 'points': 10}], 'period_rules': [CSAT_BONUS]}
    saved = {name: os.environ.get(name) for name in ('PROGRAMS_PATH', 'SERVICE_CONFIG_PARAMETER')}
    with local_aws():
        ssm = boto3.client('ssm', region_name='us-east-1')
        ssm.put_parameter(Name=f'{path}/support', Value=json.dumps(document), Type='String')
        ssm.put_parameter(Name=config, Value=(REPO_ROOT / 'events' / 'service_config.json').read_text(), Type='String')
        os.environ.update({'PROGRAMS_PATH': path, 'SERVICE_CONFIG_PARAMETER': config})
        get_settings.cache_clear()
        clear_cache()
        try:
            with record_requests() as sent:
                assert load_programs().programs['support']
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            get_settings.cache_clear()
            clear_cache()
    out = set()
    for service, operation, params, _ in sent:
        if service != 'ssm':
            continue
        name = params.get('Path') or params['Name']
        resource = {path: PROGRAMS_ARN, config: SERVICE_CONFIG_ARN}.get(name) or (PROGRAMS_ARN + '/*' if name.startswith(path + '/') else name)
        out.add((f'ssm:{operation}', resource))
    return out


def ssm_problems(function: dict[str, Any]) -> list[str]:
    granted = {
        (str(action), _label(resource))
        for statement in statements(function)
        for action in _as_list(statement['Action'])
        if str(action).startswith('ssm:')
        for resource in _as_list(statement['Resource'])
    }
    need = recorded_ssm_grants()
    return [f'not granted: {a} on {r}' for a, r in sorted(need - granted)] + [f'never used: {a} on {r}' for a, r in sorted(granted - need)]


def test_programs_and_service_config_are_read_exactly_as_the_loader_reads_them() -> None:
    # Given: the SSM requests the loader makes (recorded), and the function's SSM grants
    # When / Then: they are the same: list the programs path, each program's history, the service configuration
    assert ssm_problems(RESOURCES[FUNCTION]) == []
    assert {action for action, _ in recorded_ssm_grants()} == {'ssm:GetParametersByPath', 'ssm:GetParameterHistory', 'ssm:GetParameter'}
    assert template_document()['Globals']['Function']['Environment']['Variables']['PROGRAMS_PATH'] == {'Fn::Sub': '/pitcrew/${Stage}/programs'}  # every function's


def test_ssm_guard_catches_a_broad_grant() -> None:
    # Given: the function allowed to read every parameter
    function = _with_statement({'Effect': 'Allow', 'Action': 'ssm:GetParameter',
                                'Resource': {'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/*'}})
    # When / Then: the guard reports it
    assert ssm_problems(function)
