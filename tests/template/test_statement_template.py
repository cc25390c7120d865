"""Infrastructure tests for the StatementFunction in template.yaml: its DynamoDB grants are exactly the calls the
handler makes (recorded on moto over a ledger with entries and a pending award), all reads (no Scan, no write),
SSM only under the programs path and the service configuration, and a console test event that the handler accepts.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.template_resources import TABLE_ENV, template_document
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES: dict[str, Any] = template_document()['Resources']
FUNCTION = 'StatementFunction'
READS = {'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _label(resource: Any) -> str:
    if isinstance(resource, dict) and 'Fn::GetAtt' in resource:
        return str(resource['Fn::GetAtt'][0])
    if isinstance(resource, dict) and 'Fn::Sub' in resource:
        return str(resource['Fn::Sub'])
    return str(resource)


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in function['Properties'].get('Policies', []) if isinstance(policy, dict) for s in policy.get('Statement', [])]


def grants(function: dict[str, Any], prefix: str) -> set[tuple[str, str]]:
    return {(str(action), _label(resource)) for s in statements(function) if s.get('Effect', 'Allow') == 'Allow'
            for action in _as_list(s['Action']) if str(action).startswith(prefix) or str(action) == '*'
            for resource in _as_list(s['Resource'])}


@lru_cache(maxsize=1)
def recorded_dynamodb_calls() -> frozenset[tuple[str, str]]:
    """(IAM action, table) of every DynamoDB request of one statement: entries, a pending award, an adjustment."""
    from functions.statement.app import lambda_handler
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.events import Status
    from shared.ledger.adjustments import AdjustmentRequest, apply_adjustment
    from shared.ledger.store import LedgerStore
    from shared.tickets.processing import TicketProcessor
    from shared.tickets.store import TicketStore
    from tests.support.apigw import lambda_context
    from tests.support.factories import DIRECTORY_CSV, ticket_event

    at = datetime(2024, 5, 20, tzinfo=UTC)
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), at)
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
        processor.apply(ticket_event('1001', 0, status=Status.SOLVED, minutes=30), at)
        processor.apply(ticket_event('1002', 0, status=Status.SOLVED, minutes=30), at)
        processor.release('zendesk#1001', at)
        apply_adjustment(AdjustmentRequest(adjustment_id='adj-1', employee_id='E1', points=5, reason='Spot award', requested_by='m@example.com'),
                         ledger=LedgerStore(), directory=directory, now=at)
        logical = {os.environ[env]: logical_id for logical_id, (env, _) in TABLE_ENV.items()}
        # Programs with a league in force: the statement reads when their leagues closed
        import boto3

        from shared.config import get_settings
        from shared.programs.loader import clear_cache

        boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION']).put_parameter(
            Name='/pitcrew/test/programs/pitstop', Value=(REPO_ROOT / 'events' / 'program_workshop.json').read_text(), Type='String',
            Tier='Intelligent-Tiering')
        previous = os.environ.get('PROGRAMS_PATH')
        os.environ['PROGRAMS_PATH'] = '/pitcrew/test/programs'
        get_settings.cache_clear()
        clear_cache()
        try:
            with record_requests() as sent:
                out = lambda_handler({'employee_id': 'E1', 'month': '2024-05'}, lambda_context())
        finally:
            os.environ.pop('PROGRAMS_PATH')
            if previous is not None:
                os.environ['PROGRAMS_PATH'] = previous
            get_settings.cache_clear()
            clear_cache()
        assert out['ok'] and out['statement']['pending'] and out['statement']['groups']
        return frozenset((f'dynamodb:{operation}', logical[table])
                         for service, operation, params, _ in sent if service == 'dynamodb'
                         for table in ([params['TableName']] if 'TableName' in params else params['RequestItems']))


def problems(function: dict[str, Any]) -> list[str]:
    need, granted = recorded_dynamodb_calls(), grants(function, 'dynamodb:')
    out = [f'the code calls {a} on {t}, not granted' for a, t in sorted(need - granted)]
    out += [f'granted {a} on {t}, never called' for a, t in sorted(granted - need)]
    out += [f'{a} on {t} is not a read' for a, t in sorted(granted) if a not in READS]
    return out


def test_dynamodb_grants_are_exactly_the_reads_the_statement_makes() -> None:
    # Given: the DynamoDB requests of one statement (recorded on moto)
    # When: comparing them with the function's grants
    # Then: every call is granted, every grant used, every grant a read; the recording is not vacuous
    assert problems(RESOURCES[FUNCTION]) == []
    assert recorded_dynamodb_calls() >= {('dynamodb:Query', 'LedgerTable'), ('dynamodb:Query', 'PendingAwardsTable'),
                                         ('dynamodb:GetItem', 'BalancesTable'), ('dynamodb:GetItem', 'DirectoryTable'),
                                         ('dynamodb:BatchGetItem', 'LeaguesTable')}


def _with(statement: dict[str, Any]) -> dict[str, Any]:
    function = copy.deepcopy(RESOURCES[FUNCTION])
    function['Properties']['Policies'][0]['Statement'].append(statement)
    return function


@pytest.mark.parametrize('action', ['dynamodb:Scan', 'dynamodb:PutItem'])
def test_the_guard_catches_a_scan_or_a_write(action: str) -> None:
    # Given: the function with a Scan or a write on the ledger added
    function = _with({'Effect': 'Allow', 'Action': action, 'Resource': {'Fn::GetAtt': ['LedgerTable', 'Arn']}})
    # When / Then: the guard reports it
    assert problems(function)


def test_ssm_reads_only_the_programs_and_the_service_configuration() -> None:
    # Given: the function's SSM grants
    granted = grants(RESOURCES[FUNCTION], 'ssm:')
    # Then: reads only, under the programs path or on the service configuration parameter
    assert {action for action, _ in granted} <= {'ssm:GetParametersByPath', 'ssm:GetParameter', 'ssm:GetParameterHistory'}
    for _, resource in granted:
        assert resource.endswith(('parameter/pitcrew/${Stage}/programs', 'parameter/pitcrew/${Stage}/programs/*',
                                  'parameter${ServiceConfigParameter}')), resource
    assert template_document()['Globals']['Function']['Environment']['Variables']['PROGRAMS_PATH'] == {'Fn::Sub': '/pitcrew/${Stage}/programs'}  # every function's


def test_console_event_is_a_valid_request() -> None:
    # Given: the console test event named after the function
    from functions.statement.app import StatementRequest

    event = json.loads((REPO_ROOT / 'events' / 'statement.json').read_text())
    # When / Then: the handler's request model accepts it
    assert StatementRequest.model_validate(event).employee_id
