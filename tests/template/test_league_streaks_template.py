"""Infrastructure tests for the streak judgement in template.yaml: its DynamoDB grants are exactly the calls the code
makes (recorded on moto: first judgements, a breach, a badge with its notice, a rerun), each grant on the leagues and
alerts tables is confined to the partitions the code uses, it never scans, and it runs daily after midnight UTC."""

from __future__ import annotations

import copy
import os
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import pytest

from infrastructure.local.template_resources import TABLE_ENV
from shared.alerts.store import AlertStore
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.leagues.roster import Roster
from shared.leagues.streak_run import StreakJudge
from shared.leagues.streak_store import StreakStore
from shared.programs.loader import ProgramBook
from shared.recognition.nudge_service import Nudger
from shared.recognition.nudge_store import NudgeStore
from tests.integration.test_league_streaks import CONFIG, DIRECTORY, MON, PROGRAM, after, breach, ist
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws
from tests.template.test_period_close_template import RESOURCES, dynamodb_grants, needed, statements

FUNCTION = 'LeagueStreaksFunction'


@lru_cache(maxsize=1)
def recorded_calls() -> list[tuple[str, str, dict[str, Any], Any]]:
    """Every request of a week judged (first judgements, a breach, badges with notices), then Friday again."""
    with local_aws():
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime(2026, 9, 1, tzinfo=UTC))
        breach('E2', ist(date(2026, 10, 7), 11))
        # With the managers' nudges of the badges (as the function wires it).
        nudger = Nudger(NudgeStore(), ContactBook(), AlertStore(), programs=lambda: ProgramBook.of(PROGRAM))
        judge = StreakJudge(Roster(), StreakStore(), AlertStore(), CONFIG, on_badge=nudger.streak_badge)
        with record_requests() as sent:
            for offset in range(5):
                judge.run(ProgramBook.of(PROGRAM), after(MON + timedelta(days=offset)))
            judge.run(ProgramBook.of(PROGRAM), after(MON + timedelta(days=4)))
        return sent


def grant_problems(function: dict[str, Any]) -> list[str]:
    need, granted = needed(recorded_calls()), dynamodb_grants(function)
    problems = [f'the code calls {action} on {label}, not granted' for action, label in sorted(need - granted)]
    problems += [f'granted {action} on {label}, never called' for action, label in sorted(granted - need)]
    return problems


def test_dynamodb_grants_are_exactly_the_calls_the_judgement_makes() -> None:
    # Given: the DynamoDB requests of a judged week and a rerun (recorded on moto)
    # When: comparing them with the function's grants
    # Then: every call is granted and every grant is used; the recording covers the badge's transaction
    assert grant_problems(RESOURCES[FUNCTION]) == []
    assert needed(recorded_calls()) >= {('dynamodb:Query', 'DirectoryTable/index/employees'), ('dynamodb:Query', 'AlertsTable'),
                                        ('dynamodb:PutItem', 'LeaguesTable'), ('dynamodb:PutItem', 'AlertsTable')}


def _partition_keys(params: dict[str, Any], operation: str) -> list[tuple[str, str]]:
    """(table, pk) of every item a request touches."""
    if operation == 'BatchGetItem':
        return [(table, key['pk']['S']) for table, request in params['RequestItems'].items() for key in request['Keys']]
    if operation == 'TransactWriteItems':
        return [(body['TableName'], (body.get('Item') or body['Key'])['pk']['S']) for item in params['TransactItems'] for body in item.values()]
    if operation == 'PutItem':
        return [(params['TableName'], params['Item']['pk']['S'])]
    if operation == 'Query' and 'IndexName' not in params:
        return [(params['TableName'], params['ExpressionAttributeValues'][':pk']['S'])]
    return []


def leading_key_problems(function: dict[str, Any]) -> list[str]:
    logical = {os.environ.get(env, default): logical_id for logical_id, (env, default) in TABLE_ENV.items()}
    prefixes: dict[str, list[str]] = {}
    for statement in statements(function):
        resource = statement['Resource']
        if isinstance(resource, dict) and 'Fn::GetAtt' in resource and resource['Fn::GetAtt'][0] in ('LeaguesTable', 'AlertsTable'):
            allowed = statement.get('Condition', {}).get('ForAllValues:StringLike', {}).get('dynamodb:LeadingKeys')
            if not allowed:
                return [f'{statement["Sid"]}: no dynamodb:LeadingKeys condition on {resource["Fn::GetAtt"][0]}']
            prefixes.setdefault(resource['Fn::GetAtt'][0], []).extend(str(p).rstrip('*') for p in allowed)
    problems = []
    for service, operation, params, _ in recorded_calls():
        if service != 'dynamodb':
            continue
        for table, pk in _partition_keys(params, operation):
            label = logical.get(table, table)
            if label in ('LeaguesTable', 'AlertsTable') and not any(pk.startswith(p) for p in prefixes.get(label, [])):
                problems.append(f'{operation} on {label} partition {pk} is outside the granted partitions')
    return problems


def test_grants_on_the_leagues_and_alerts_tables_are_confined_to_the_partitions_used() -> None:
    # Given: the recorded requests and the grants' dynamodb:LeadingKeys conditions
    # Then: the streak state and badges stay in ACH#, breaches are read from BREACH#, notices written in ALERT# only
    assert leading_key_problems(RESOURCES[FUNCTION]) == []


def _loosened() -> dict[str, Any]:
    function = copy.deepcopy(RESOURCES[FUNCTION])
    for statement in function['Properties']['Policies'][0]['Statement']:
        if statement.get('Sid') == 'ReadBreaches':
            statement['Condition']['ForAllValues:StringLike']['dynamodb:LeadingKeys'] = ['WORK#*']
    return function


@pytest.mark.parametrize(
    ('function', 'guard'),
    [
        ({**RESOURCES[FUNCTION], 'Properties': {**RESOURCES[FUNCTION]['Properties'], 'Policies': [{'Statement': [
            *RESOURCES[FUNCTION]['Properties']['Policies'][0]['Statement'],
            {'Effect': 'Allow', 'Action': 'dynamodb:Scan', 'Resource': {'Fn::GetAtt': ['LeaguesTable', 'Arn']},
             'Condition': {'ForAllValues:StringLike': {'dynamodb:LeadingKeys': ['ACH#*']}}}]}]}}, grant_problems),
        (_loosened(), leading_key_problems),
    ],
    ids=['scan', 'wrong-partition'],
)
def test_the_guards_catch_a_scan_and_a_grant_on_the_wrong_partitions(function: dict[str, Any], guard: Any) -> None:
    # Given: the function with a Scan added, or its breach reads confined to another partition
    # When / Then: the guard reports it
    assert guard(function)


def test_runs_daily_after_midnight_utc_with_time_to_finish() -> None:
    # Given: the function's schedule and timeout
    props = RESOURCES[FUNCTION]['Properties']
    (event,) = props['Events'].values()
    # Then: once a day at 00:30 UTC, enabled, with up to Lambda's 15 minutes for one request per person
    assert (event['Type'], event['Properties']['Schedule'], event['Properties']['Enabled']) == ('Schedule', 'cron(30 0 * * ? *)', True)
    assert props['Timeout'] == 900
