"""Infrastructure tests for the league close in template.yaml: each function's DynamoDB and SQS grants are exactly the
calls its code makes (recorded on moto through the handlers), it never scans, the Scheduler schedules fire at 00:05 on
the 1st in each shipped program's time zone with a role that can invoke the coordinator and nothing else, the queue
redrives to a dead-letter queue, and the console test events are what the handlers accept.

Each guard returns a list of problems and is checked against a deliberately broken copy as well.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.stack import Scheduled, scheduled_functions
from infrastructure.local.template_resources import template_document
from shared.directory.employees import EmployeeRow
from shared.directory.store import DirectoryStore
from shared.leagues.close_run import DivisionMessage
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook, ProgramVersion
from tests.support.apigw import lambda_context
from tests.support.counting import record_requests
from tests.support.league_close import Score, bind_handlers, deliver, seed_scores
from tests.support.local_aws import local_aws
from tests.template.test_period_close_template import _as_list, _label, dynamodb_grants, needed, ssm_problems, statements

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES: dict[str, Any] = template_document()['Resources']
COORDINATOR, WORKER = 'LeagueCloseFunction', 'LeagueCloseDivisionFunction'
PROGRAM_ZONES = {'pitstop': 'Asia/Kolkata', 'ecommerce_support': 'America/New_York'}


@lru_cache(maxsize=1)
def recorded() -> dict[str, list[tuple[str, str, dict[str, Any], Any]]]:
    """Every request each handler makes in a close of two divisions, a duplicate division message and a rerun."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        with local_aws() as aws:
            program = parse_program((REPO_ROOT / 'events' / 'program_workshop.json').read_text())
            bind_handlers(lambda: ProgramBook({'pitstop': [ProgramVersion(1, program)]}), monkeypatch, aws.queues['LeagueCloseQueue'])
            people = [EmployeeRow(employee_id=e, name=e, role=role, location_id='IN-BLR-01', region='IN-South')
                      for e, role in (('T1', 'technician'), ('T2', 'technician'), ('A1', 'service_advisor'))]
            DirectoryStore().import_rows(people, datetime(2026, 10, 1, tzinfo=UTC))
            seed_scores(aws.dynamodb, 'pitstop', '2026-10', [Score('T1', 'technician|IN-South', 50), Score('A1', 'service_advisor|IN-South', 9)],
                        {'T1': {'cs_g': 5, 'cs_n': 5}})
            from functions.league_close import app as coordinator

            calls: dict[str, list[tuple[str, str, dict[str, Any], Any]]] = {COORDINATOR: [], WORKER: []}
            with record_requests() as sent:
                coordinator.lambda_handler({'program_id': 'pitstop', 'month': '2026-10'}, lambda_context())
            calls[COORDINATOR] += sent
            duplicate = DivisionMessage(program_id='pitstop', month='2026-10', version=1, division='technician|IN-South')
            aws.sqs.send_message(QueueUrl=aws.queues['LeagueCloseQueue'], MessageBody=duplicate.model_dump_json())
            with record_requests() as sent:
                deliver(aws.sqs, aws.queues['LeagueCloseQueue'])
            calls[WORKER] += [call for call in sent if call[1] not in ('ReceiveMessage', 'DeleteMessage')]  # the poller's
            with record_requests() as sent:
                coordinator.lambda_handler({'program_id': 'pitstop', 'month': '2026-10'}, lambda_context())
            calls[COORDINATOR] += sent
            return calls
    finally:
        monkeypatch.undo()


def sqs_grants(function: dict[str, Any]) -> set[tuple[str, str]]:
    return {(str(action), _label(resource)) for statement in statements(function) for action in _as_list(statement['Action'])
            if str(action).startswith('sqs:') for resource in _as_list(statement['Resource'])}


def grant_problems(name: str, function: dict[str, Any]) -> list[str]:
    calls = recorded()[name]
    need = needed(calls) | {('sqs:SendMessage', 'LeagueCloseQueue') for service, op, _, _ in calls if (service, op) == ('sqs', 'SendMessageBatch')}
    granted = dynamodb_grants(function) | sqs_grants(function)
    # Lambda itself (not the code) sends a failed asynchronous run to the EventInvokeConfig on-failure queue.
    on_failure = ((function['Properties'].get('EventInvokeConfig') or {}).get('DestinationConfig') or {}).get('OnFailure') or {}
    if on_failure:
        need = need | {('sqs:SendMessage', on_failure['Destination']['Fn::GetAtt'][0])}
    problems = [f'the code calls {action} on {label}, not granted' for action, label in sorted(need - granted)]
    return problems + [f'granted {action} on {label}, never called' for action, label in sorted(granted - need)]


@pytest.mark.parametrize('name', [COORDINATOR, WORKER])
def test_dynamodb_and_sqs_grants_are_exactly_the_calls_each_function_makes(name: str) -> None:
    # Given: the requests of a close of two divisions, a duplicate message and a rerun (recorded on moto)
    # When: comparing them with the function's grants
    # Then: every call is granted, every grant is used, and neither function scans
    assert grant_problems(name, RESOURCES[name]) == []
    assert not [call for call in recorded()[name] if call[1] == 'Scan']


def test_the_recording_covers_the_close_end_to_end() -> None:
    # Given / When: what each function was recorded doing
    need = {name: needed(calls) for name, calls in recorded().items()}
    # Then: the coordinator listed the directory and wrote the marker; the worker read scores and KPIs and paid
    assert {('dynamodb:Query', 'DirectoryTable/index/employees'), ('dynamodb:PutItem', 'LeaguesTable')} <= need[COORDINATOR]
    assert {('dynamodb:BatchGetItem', 'KpiTable'), ('dynamodb:PutItem', 'LedgerTable'), ('dynamodb:UpdateItem', 'BalancesTable')} <= need[WORKER]


@pytest.mark.parametrize(
    ('name', 'statement'),
    [
        (WORKER, {'Effect': 'Allow', 'Action': 'dynamodb:Scan', 'Resource': {'Fn::GetAtt': ['LeaguesTable', 'Arn']}}),
        (WORKER, {'Effect': 'Allow', 'Action': 'dynamodb:DeleteItem', 'Resource': {'Fn::GetAtt': ['LeaguesTable', 'Arn']}}),
        (COORDINATOR, {'Effect': 'Allow', 'Action': 'sqs:SendMessage', 'Resource': {'Fn::GetAtt': ['AlertsQueue', 'Arn']}}),
    ],
    ids=['scan', 'delete-snapshot', 'other-queue'],
)
def test_grant_guard_catches_an_extra_grant(name: str, statement: dict[str, Any]) -> None:
    # Given: the function with one grant too many
    function = copy.deepcopy(RESOURCES[name])
    function['Properties']['Policies'][0]['Statement'].append(statement)
    # When / Then: the guard reports it
    assert grant_problems(name, function)


@pytest.mark.parametrize('name', [COORDINATOR, WORKER])
def test_programs_are_read_exactly_as_the_loader_reads_them(name: str) -> None:
    # Given / When / Then: the SSM grants are the loader's (programs path, their history, the service configuration)
    assert ssm_problems(RESOURCES[name]) == []


def schedules() -> dict[str, dict[str, Any]]:
    return {name: r['Properties'] for name, r in RESOURCES.items() if r['Type'] == 'AWS::Scheduler::Schedule'}


def test_each_shipped_program_with_a_league_closes_at_five_past_midnight_on_the_first_in_its_time_zone() -> None:
    # Given: the shipped programs with a league, and the template's Scheduler schedules
    shipped = {doc['program_id']: doc['time_zone'] for doc in (json.loads((REPO_ROOT / 'events' / name).read_text())
                                                                for name in ('program_workshop.json', 'program_support.json'))
               if doc.get('league')}
    found = {json.loads(p['Target']['Input'])['program_id']: p for p in schedules().values()
             if p['Target']['Arn'] == {'Fn::GetAtt': ['LeagueCloseFunction', 'Arn']}}
    # Then: one schedule per program, in the program's own time zone, at 00:05 on the 1st (`?` in day-of-week),
    # exactly on time, retried, with a dead-letter queue, sending the program and the scheduled time
    assert shipped == PROGRAM_ZONES
    assert {program: p['ScheduleExpressionTimezone'] for program, p in found.items()} == shipped
    for program, p in found.items():
        assert p['ScheduleExpression'] == 'cron(5 0 1 * ? *)', program
        assert p['FlexibleTimeWindow'] == {'Mode': 'OFF'} and p.get('State', 'ENABLED') == 'ENABLED'
        assert p['Target']['RetryPolicy']['MaximumRetryAttempts'] >= 1
        assert p['Target']['DeadLetterConfig']['Arn'] == {'Fn::GetAtt': ['LeagueScheduleDLQ', 'Arn']}
        assert p['Target']['RoleArn'] == {'Fn::GetAtt': ['LeagueSchedulerRole', 'Arn']}
        assert json.loads(p['Target']['Input']) == {'program_id': program, 'scheduled_time': '<aws.scheduler.scheduled-time>'}


def role_problems(role: dict[str, Any]) -> list[str]:
    problems = []
    trust = role['Properties']['AssumeRolePolicyDocument']['Statement']
    if [s['Principal'] for s in trust] != [{'Service': 'scheduler.amazonaws.com'}]:
        problems.append(f'trusted by {[s["Principal"] for s in trust]}')
    grants = {(str(action), _label(resource)) for policy in role['Properties']['Policies'] for s in policy['PolicyDocument']['Statement']
              for action in _as_list(s['Action']) for resource in _as_list(s['Resource'])}
    expected = {('lambda:InvokeFunction', 'LeagueCloseFunction'), ('sqs:SendMessage', 'LeagueScheduleDLQ')}
    if grants != expected:
        problems.append(f'grants {sorted(grants)}, expected {sorted(expected)}')
    return problems


def test_the_scheduler_role_can_invoke_the_league_close_and_nothing_else() -> None:
    # Given / When / Then: EventBridge Scheduler alone assumes it; it invokes one function and feeds its DLQ
    assert role_problems(RESOURCES['LeagueSchedulerRole']) == []
    broad = copy.deepcopy(RESOURCES['LeagueSchedulerRole'])
    broad['Properties']['Policies'][0]['PolicyDocument']['Statement'][0]['Resource'] = '*'
    assert role_problems(broad)


def test_the_local_stack_fires_the_scheduler_schedules_in_their_time_zone_with_their_input() -> None:
    # Given / When: the scheduled functions the local stack reads from the template
    league = {s.name: s for s in scheduled_functions() if s.handler == 'functions.league_close.app.lambda_handler'}
    # Then: both schedules, with their zone and Input, invoke the coordinator's handler
    assert {s.name: s.time_zone for s in league.values()} == {
        'PitstopLeagueCloseSchedule': 'Asia/Kolkata', 'EcommerceSupportLeagueCloseSchedule': 'America/New_York'}
    assert all(isinstance(s, Scheduled) and s.input and '<aws.scheduler.scheduled-time>' in s.input for s in league.values())


def test_division_messages_redrive_to_a_dead_letter_queue_and_wait_longer_than_a_division_may_take() -> None:
    # Given: the queue, its consumer and its dead-letter queue
    queue = RESOURCES['LeagueCloseQueue']['Properties']
    worker = RESOURCES[WORKER]['Properties']
    (event,) = worker['Events'].values()
    # Then: partial batch failures, one division per invocation, the visibility timeout at least 6x the timeout
    assert event['Type'] == 'SQS' and event['Properties']['Queue'] == {'Fn::GetAtt': ['LeagueCloseQueue', 'Arn']}
    assert event['Properties']['FunctionResponseTypes'] == ['ReportBatchItemFailures'] and event['Properties']['BatchSize'] == 1
    assert queue['VisibilityTimeout'] >= 6 * worker['Timeout']
    assert queue['RedrivePolicy']['deadLetterTargetArn'] == {'Fn::GetAtt': ['LeagueCloseDLQ', 'Arn']}
    # And: the coordinator is told the queue
    assert RESOURCES[COORDINATOR]['Properties']['Environment']['Variables']['LEAGUE_CLOSE_QUEUE_URL'] == {'Ref': 'LeagueCloseQueue'}


@pytest.fixture()
def console_events() -> Iterator[dict[str, Any]]:
    yield {name: json.loads((REPO_ROOT / 'events' / f'{name}.json').read_text()) for name in ('league_close', 'league_close_division')}


def test_the_console_test_events_are_what_the_handlers_accept(console_events: dict[str, Any]) -> None:
    # Given: the console test events named after the two functions
    from functions.league_close.app import CloseRequest

    # When / Then: the coordinator's closes one program month; the worker's is an SQS event of one division message
    request = CloseRequest.model_validate(console_events['league_close'])
    assert (request.program_id, request.month) == ('pitstop', '2026-10')
    (record,) = console_events['league_close_division']['Records']
    assert record['eventSource'] == 'aws:sqs'
    assert DivisionMessage.model_validate_json(record['body']).program_id == 'pitstop'
