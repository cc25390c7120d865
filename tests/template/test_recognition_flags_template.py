"""Infrastructure tests for the collusion check in template.yaml: its DynamoDB grants are exactly the calls the code makes
(recorded on moto: a flag raised with its notices, a rerun, a flag whose evidence grew), each grant on the recognition
and alerts tables is confined to the partitions the code uses, it never scans, it runs daily at 02:30 UTC with its
failed runs kept, and the console event is one the handler accepts."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from functions.recognition_flags.app import FlagRequest
from infrastructure.local.template_resources import TABLE_ENV
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.leagues.roster import Roster
from shared.programs.loader import ProgramBook
from shared.recognition.flag_run import CollusionJudge
from shared.recognition.flag_store import FlagStore
from tests.integration.test_recognition_flags import CONFIG, DIRECTORY, NOV, PROGRAM, RUN, Env, reciprocal
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws
from tests.template.test_period_close_template import RESOURCES, dynamodb_grants, needed, statements

FUNCTION = 'RecognitionFlagsFunction'
GUARDED = ('RecognitionTable', 'AlertsTable')


@lru_cache(maxsize=1)
def recorded_calls() -> list[tuple[str, str, dict[str, Any], Any]]:
    """Every request of a month judged (a reciprocal flag and a ring across managers), again, and with more evidence."""
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime(2026, 9, 1, tzinfo=UTC))
        env = Env(aws, CollusionJudge(Roster(), FlagStore(), CONFIG), ProgramBook.of(PROGRAM))
        reciprocal(env)
        for giver, receiver in (('A1', 'B1'), ('B1', 'X1'), ('X1', 'A1')):
            env.give(giver, receiver, 30, NOV)
        with record_requests() as sent:
            env.run()
            env.run(RUN + timedelta(hours=1))
        env.give('A2', 'A1', 10, NOV + timedelta(days=5))  # the test's own seeding is not recorded
        with record_requests() as more:
            env.run(RUN + timedelta(days=1))
        return [*sent, *more]


def grant_problems(function: dict[str, Any]) -> list[str]:
    need, granted = needed(recorded_calls()), dynamodb_grants(function)
    problems = [f'the code calls {action} on {label}, not granted' for action, label in sorted(need - granted)]
    problems += [f'granted {action} on {label}, never called' for action, label in sorted(granted - need)]
    return problems


def test_dynamodb_grants_are_exactly_the_calls_the_check_makes() -> None:
    # Given: the DynamoDB requests of a month judged, judged again, and judged with more evidence (recorded on moto)
    # When: comparing them with the function's grants
    # Then: every call is granted and every grant is used; the recording covers the flag's transaction and its update
    assert grant_problems(RESOURCES[FUNCTION]) == []
    assert needed(recorded_calls()) >= {('dynamodb:Query', 'DirectoryTable/index/employees'), ('dynamodb:Query', 'RecognitionTable'),
                                        ('dynamodb:PutItem', 'RecognitionTable'), ('dynamodb:UpdateItem', 'RecognitionTable'),
                                        ('dynamodb:PutItem', 'AlertsTable')}  # fmt: skip


def _partition_keys(params: dict[str, Any], operation: str) -> list[tuple[str, str]]:
    if operation == 'TransactWriteItems':
        return [(body['TableName'], body['Item']['pk']['S']) for item in params['TransactItems'] for body in item.values()]
    if operation == 'PutItem':
        return [(params['TableName'], params['Item']['pk']['S'])]
    if operation == 'UpdateItem':
        return [(params['TableName'], params['Key']['pk']['S'])]
    if operation == 'Query' and 'IndexName' not in params:
        return [(params['TableName'], params['ExpressionAttributeValues'][':pk']['S'])]
    return []


def leading_key_problems(function: dict[str, Any]) -> list[str]:
    logical = {os.environ.get(env, default): logical_id for logical_id, (env, default) in TABLE_ENV.items()}
    prefixes: dict[tuple[str, str], list[str]] = {}
    for statement in statements(function):
        resource = statement['Resource']
        if isinstance(resource, dict) and 'Fn::GetAtt' in resource and resource['Fn::GetAtt'][0] in GUARDED:
            allowed = statement.get('Condition', {}).get('ForAllValues:StringLike', {}).get('dynamodb:LeadingKeys')
            if not allowed:
                return [f'{statement["Sid"]}: no dynamodb:LeadingKeys condition on {resource["Fn::GetAtt"][0]}']
            actions = statement['Action'] if isinstance(statement['Action'], list) else [statement['Action']]
            for action in actions:
                prefixes.setdefault((resource['Fn::GetAtt'][0], action.split(':')[1]), []).extend(str(p).rstrip('*') for p in allowed)
    problems = []
    item_actions = {'TransactWriteItems': 'PutItem'}
    for service, operation, params, _ in recorded_calls():
        if service != 'dynamodb':
            continue
        for table, pk in _partition_keys(params, operation):
            label = logical.get(table, table)
            allowed = prefixes.get((label, item_actions.get(operation, operation)), [])
            if label in GUARDED and not any(pk.startswith(p) for p in allowed):
                problems.append(f'{operation} on {label} partition {pk} is outside the granted partitions')
    return problems


def test_grants_on_the_recognition_and_alerts_tables_are_confined_to_the_partitions_used() -> None:
    # Given: the recorded requests and the grants' dynamodb:LeadingKeys conditions
    # Then: feeds and flags are read from FEED# and FLAG#, flags written in FLAG# only, notices in ALERT# only
    assert leading_key_problems(RESOURCES[FUNCTION]) == []


def _loosened() -> dict[str, Any]:
    function = copy.deepcopy(RESOURCES[FUNCTION])
    for statement in function['Properties']['Policies'][0]['Statement']:
        if statement.get('Sid') == 'WriteFlags':
            statement['Condition']['ForAllValues:StringLike']['dynamodb:LeadingKeys'] = ['FEED#*']
    return function


def _with_scan() -> dict[str, Any]:
    function = copy.deepcopy(RESOURCES[FUNCTION])
    function['Properties']['Policies'][0]['Statement'].append(
        {'Effect': 'Allow', 'Action': 'dynamodb:Scan', 'Resource': {'Fn::GetAtt': ['RecognitionTable', 'Arn']},
         'Condition': {'ForAllValues:StringLike': {'dynamodb:LeadingKeys': ['FEED#*']}}})  # fmt: skip
    return function


@pytest.mark.parametrize(('function', 'guard'), [(_with_scan(), grant_problems), (_loosened(), leading_key_problems)],
                         ids=['scan', 'wrong-partition'])  # fmt: skip
def test_the_guards_catch_a_scan_and_a_grant_on_the_wrong_partitions(function: dict[str, Any], guard: Any) -> None:
    # Given: the function with a Scan added, or its flag writes confined to the feeds' partitions
    # When / Then: the guard reports it
    assert guard(function)


def test_runs_daily_at_half_past_two_utc_with_failed_runs_kept() -> None:
    # Given: the function's schedule, retries and failure destination
    props = RESOURCES[FUNCTION]['Properties']
    (event,) = props['Events'].values()
    # Then: once a day at 02:30 UTC, enabled, its failures (invocation and run) in ScheduledRunsDLQ
    assert (event['Type'], event['Properties']['Schedule'], event['Properties']['Enabled']) == ('Schedule', 'cron(30 2 * * ? *)', True)
    assert event['Properties']['DeadLetterConfig']['Arn'] == {'Fn::GetAtt': ['ScheduledRunsDLQ', 'Arn']}
    assert props['EventInvokeConfig']['DestinationConfig']['OnFailure']['Destination'] == {'Fn::GetAtt': ['ScheduledRunsDLQ', 'Arn']}


def test_the_console_event_is_a_request_the_handler_accepts() -> None:
    # Given: events/recognition_flags.json
    event = json.loads((Path(__file__).resolve().parents[2] / 'events' / 'recognition_flags.json').read_text())
    # Then: it validates as a rerun of one program and month
    assert FlagRequest.model_validate(event) == FlagRequest(program_id='pitstop', month='2026-11')
