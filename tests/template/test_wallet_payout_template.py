"""Infrastructure tests for clawback debt recovery and the payroll payout in template.yaml: the balances' stream feeds
the debt recovery through a filter that delivers exactly the balances that owe and have points; each function's
DynamoDB, SQS and S3 grants are exactly the calls its code makes (recorded on moto through the handlers) under its
leading keys; one payout schedule per shipped program at 06:00 on the 1st in the program's time zone, with a role that
invokes only the export; the payouts bucket is private, encrypted, versioned and retained; the console test events
are what the handlers accept. Each guard is also run on a broken copy (it can fail)."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.event_filter import delivers, parse_filters
from infrastructure.local.stack import scheduled_functions
from infrastructure.local.template_resources import BUCKET_ENV, TABLE_ENV, template_document
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import LedgerStore
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook
from tests.support.apigw import lambda_context
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws
from tests.template.test_period_close_template import _as_list, _label, dynamodb_grants, needed, statements

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES: dict[str, Any] = template_document()['Resources']
DEBT, EXPORT = 'DebtRecoveryFunction', 'PayoutExportFunction'
NOW = datetime(2026, 10, 14, 9, tzinfo=UTC)
Calls = list[tuple[str, str, dict[str, Any], Any]]


def programs() -> ProgramBook:
    return ProgramBook.of(*(parse_program((REPO_ROOT / 'events' / n).read_text()) for n in ('program_workshop.json', 'program_support.json')))


def _entry(entry_id: str, employee_id: str, points: int) -> LedgerEntry:
    reason = EntryReason(ticket_key='t', source_event_id=entry_id, basis_event_id='b', rule_id='bonus', rule_version=1, program_id='pitstop@1')
    return LedgerEntry(entry_id=entry_id, employee_id=employee_id, amount=points, kind=EntryKind.ADJUSTMENT, status=EntryStatus.AVAILABLE,
                       reason=reason, occurred_at=NOW, recorded_at=NOW)


@lru_cache(maxsize=1)
def recorded() -> dict[str, Calls]:
    """Every request each handler makes: a debt repaid from a balance change delivered twice; a payout exported twice."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        with local_aws() as aws:
            from moto.dynamodb.models import dynamodb_backends

            from functions.debt_recovery import app as debt_app
            from functions.payout_export import app as export_app
            from shared.wallet.payout import Payouts
            from shared.wallet.payout_store import PayoutStore

            calls: dict[str, Calls] = {DEBT: [], EXPORT: []}
            # E1 owes 10 (as a capped clawback leaves it), then earns 25
            aws.dynamodb.put_item(TableName=os.environ['BALANCES_TABLE'], Item={'pk': {'S': 'EMP#E1'}, 'available': {'N': '0'},
                                  'debt': {'N': '10'}, 'debt_entries': {'SS': ['Rx']}, 'debt_program': {'S': 'pitstop@1'}})
            LedgerStore().append_adjustment(_entry('C1', 'E1', 25))
            shard = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']].get_table(os.environ['BALANCES_TABLE']).stream_shard
            assert shard is not None
            records = [item.to_json() for item in shard.items]
            debt_app.store.cache_clear()
            monkeypatch.setattr(debt_app, '_floor', lambda ref: 0)
            with record_requests() as sent:
                for _ in range(2):
                    debt_app.lambda_handler({'Records': records}, lambda_context())
            calls[DEBT] += sent
            debt_app.store.cache_clear()

            store = PayoutStore()
            service = Payouts(store=store, available=store.available, programs=programs, personnel_numbers=store.personnel_numbers)
            LedgerStore().append_adjustment(_entry('C2', 'E2', 800))
            service.request_cash_out('pitstop', 'E2', 500, NOW)
            monkeypatch.setattr(export_app, 'payouts', lambda: service)
            with record_requests() as sent:
                for _ in range(2):
                    assert export_app.lambda_handler({'program_id': 'pitstop', 'period': '2026-10'}, lambda_context())['ok']
            calls[EXPORT] += sent
            return calls
    finally:
        monkeypatch.undo()


def grants(function: dict[str, Any], prefix: str) -> set[tuple[str, str]]:
    return {(str(action), _label(resource)) for statement in statements(function) for action in _as_list(statement['Action'])
            if str(action).startswith(prefix) for resource in _as_list(statement['Resource'])}


def grant_problems(name: str, function: dict[str, Any]) -> list[str]:
    calls = recorded()[name]
    need = needed(calls)
    if any(service == 's3' and op == 'PutObject' for service, op, _, _ in calls):
        need.add(('s3:PutObject', 'PayoutsBucket/payouts/*'))
    on_failure = ((function['Properties'].get('EventInvokeConfig') or {}).get('DestinationConfig') or {}).get('OnFailure') or {}
    if on_failure:  # Lambda itself sends a failed asynchronous run there
        need.add(('sqs:SendMessage', on_failure['Destination']['Fn::GetAtt'][0]))
    for event in (function['Properties'].get('Events') or {}).values():  # Lambda sends a failed stream batch there
        destination = ((event['Properties'].get('DestinationConfig') or {}).get('OnFailure') or {}).get('Destination')
        if destination:
            need.add(('sqs:SendMessage', destination['Fn::GetAtt'][0]))
    if name == DEBT:  # an unreadable record is kept in the quarantine (not exercised by the recording)
        need.add(('dynamodb:PutItem', 'QuarantineTable'))
    granted = dynamodb_grants(function) | grants(function, 'sqs:') | grants(function, 's3:')
    return ([f'the code calls {a} on {r}, not granted' for a, r in sorted(need - granted)]
            + [f'granted {a} on {r}, never called' for a, r in sorted(granted - need)])


@pytest.mark.parametrize('name', [DEBT, EXPORT])
def test_grants_are_exactly_the_calls_each_function_makes(name: str) -> None:
    # Given: every request the handler made (recorded on moto); When / Then: each is granted and nothing more
    assert grant_problems(name, RESOURCES[name]) == []


def test_grant_guard_catches_an_extra_and_a_missing_grant() -> None:
    broken = copy.deepcopy(RESOURCES[EXPORT])
    policy = broken['Properties']['Policies'][0]['Statement']
    policy.append({'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': {'Fn::Sub': '${PayoutsBucket.Arn}/payouts/*'}})
    policy[:] = [s for s in policy if s.get('Sid') != 'CashOutsAndRuns']
    problems = grant_problems(EXPORT, broken)
    assert any('s3:GetObject' in p and 'never called' in p for p in problems)
    assert any('dynamodb:Query on RewardsTable, not granted' in p for p in problems)


def test_keys_written_and_read_are_within_the_leading_keys_conditions() -> None:
    # Given: the partitions each function touched; Then: each matches its statement's LeadingKeys patterns
    tables = {os.environ.get(env, f'test-{default}'): logical for logical, (env, default) in TABLE_ENV.items()}
    touched: set[tuple[str, str]] = set()
    for name in (DEBT, EXPORT):
        for service, operation, params, _ in recorded()[name]:
            if service != 'dynamodb' or operation == 'BatchGetItem':  # checked below
                continue
            bodies = [next(iter(item.values())) for item in params['TransactItems']] if operation == 'TransactWriteItems' else [params]
            for body in bodies:
                key = body.get('Key') or body.get('Item') or {}
                pk = (key.get('pk') or {}).get('S') or (body.get('ExpressionAttributeValues') or {}).get(':pk', {}).get('S', '')
                touched.add((str(tables.get(body['TableName'], body['TableName'])), str(pk).split('#', 1)[0] + '#'))
    assert {prefix for table, prefix in touched if table == 'RewardsTable'} == {'CASHOUT#', 'PAYOUT#'}
    assert {prefix for table, prefix in touched if table == 'BalancesTable'} == {'EMP#'}
    directory = [key['pk']['S'] for name in (DEBT, EXPORT) for service, op, params, _ in recorded()[name] if op == 'BatchGetItem'
                 for table, request in params['RequestItems'].items() for key in request['Keys']]
    assert directory and all(pk.startswith('EMP#') for pk in directory)


def test_the_balances_stream_feeds_the_debt_recovery_through_a_filter_on_owing_balances_with_points() -> None:
    # Given: the balances table's stream and the debt recovery's event
    assert RESOURCES['BalancesTable']['Properties']['StreamSpecification'] == {'StreamViewType': 'NEW_IMAGE'}
    [event] = RESOURCES[DEBT]['Properties']['Events'].values()
    props = event['Properties']
    assert props['Stream'] == {'Fn::GetAtt': ['BalancesTable', 'StreamArn']}
    patterns = parse_filters(props['FilterCriteria'])

    def image(**numbers: int) -> dict[str, Any]:
        return {'eventName': 'MODIFY', 'dynamodb': {'Keys': {'pk': {'S': 'EMP#E1'}},
                'NewImage': {'pk': {'S': 'EMP#E1'}, **{k: {'N': str(v)} for k, v in numbers.items()}}}}

    # Then: only a balance that owes and has points is delivered (the rest are never invoked for)
    assert delivers(patterns, image(debt=10, available=5))
    assert not delivers(patterns, image(debt=0, available=5))
    assert not delivers(patterns, image(debt=10, available=0))
    assert not delivers(patterns, image(available=50))  # never owed: no `debt` attribute
    assert not delivers(patterns, {'eventName': 'REMOVE', 'dynamodb': {'Keys': {'pk': {'S': 'EMP#E1'}}}})


def schedules() -> dict[str, dict[str, Any]]:
    return {name: r['Properties'] for name, r in RESOURCES.items()
            if r['Type'] == 'AWS::Scheduler::Schedule' and r['Properties']['Target']['Arn'] == {'Fn::GetAtt': [EXPORT, 'Arn']}}


def test_each_shipped_program_with_a_payout_exports_at_six_on_the_first_in_its_time_zone() -> None:
    shipped = {doc['program_id']: doc['time_zone'] for doc in (json.loads((REPO_ROOT / 'events' / name).read_text())
                                                                for name in ('program_workshop.json', 'program_support.json'))
               if (doc.get('wallet') or {}).get('payout')}
    found = {json.loads(p['Target']['Input'])['program_id']: p for p in schedules().values()}
    assert {program: p['ScheduleExpressionTimezone'] for program, p in found.items()} == shipped
    for program, p in found.items():
        assert p['ScheduleExpression'] == 'cron(0 6 1 * ? *)' and p['FlexibleTimeWindow'] == {'Mode': 'OFF'}
        assert p['Target']['RoleArn'] == {'Fn::GetAtt': ['PayoutSchedulerRole', 'Arn']}
        assert p['Target']['DeadLetterConfig']['Arn'] == {'Fn::GetAtt': ['ScheduledRunsDLQ', 'Arn']}
        assert json.loads(p['Target']['Input']) == {'program_id': program, 'scheduled_time': '<aws.scheduler.scheduled-time>'}
    local = {s.name: s.time_zone for s in scheduled_functions() if s.handler == 'functions.payout_export.app.lambda_handler'}
    assert local == {'PitstopPayoutSchedule': 'Asia/Kolkata', 'EcommerceSupportPayoutSchedule': 'America/New_York'}


def test_the_payout_scheduler_role_invokes_the_export_and_nothing_else() -> None:
    role = RESOURCES['PayoutSchedulerRole']['Properties']
    assert [s['Principal'] for s in role['AssumeRolePolicyDocument']['Statement']] == [{'Service': 'scheduler.amazonaws.com'}]
    found = {(str(a), _label(r)) for p in role['Policies'] for s in p['PolicyDocument']['Statement']
             for a in _as_list(s['Action']) for r in _as_list(s['Resource'])}
    assert found == {('lambda:InvokeFunction', EXPORT), ('sqs:SendMessage', 'ScheduledRunsDLQ')}


def bucket_problems(resource: dict[str, Any]) -> list[str]:
    props = resource.get('Properties') or {}
    problems = []
    if resource.get('DeletionPolicy') != 'Retain' or resource.get('UpdateReplacePolicy') != 'Retain':
        problems.append('not retained')
    if not (props.get('BucketEncryption') or {}).get('ServerSideEncryptionConfiguration'):
        problems.append('not encrypted')
    block = props.get('PublicAccessBlockConfiguration') or {}
    if not all(block.get(k) is True for k in ('BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets')):
        problems.append('not private')
    if (props.get('VersioningConfiguration') or {}).get('Status') != 'Enabled':
        problems.append('not versioned')
    return problems


def test_the_payouts_bucket_is_private_encrypted_versioned_and_retained_and_created_locally() -> None:
    assert bucket_problems(RESOURCES['PayoutsBucket']) == []
    broken = copy.deepcopy(RESOURCES['PayoutsBucket'])
    del broken['Properties']['VersioningConfiguration']
    broken['Properties']['PublicAccessBlockConfiguration']['BlockPublicPolicy'] = False
    assert bucket_problems(broken) == ['not private', 'not versioned']
    assert RESOURCES[EXPORT]['Properties']['Environment']['Variables']['PAYOUTS_BUCKET'] == {'Ref': 'PayoutsBucket'}
    assert BUCKET_ENV['PayoutsBucket'][0] == 'PAYOUTS_BUCKET'


def test_the_console_test_events_are_what_the_handlers_accept() -> None:
    from functions.debt_recovery.app import employee_of
    from functions.payout_export.app import ExportRequest

    request = ExportRequest.model_validate(json.loads((REPO_ROOT / 'events' / 'payout_export.json').read_text()))
    assert (request.program_id, request.period) == ('pitstop', '2026-10')
    [record] = json.loads((REPO_ROOT / 'events' / 'debt_recovery.json').read_text())['Records']
    assert employee_of(record) == ('E4', '7')
    [event] = RESOURCES[DEBT]['Properties']['Events'].values()
    assert delivers(parse_filters(event['Properties']['FilterCriteria']), record)


def test_every_access_to_the_payroll_files_is_logged_for_a_year() -> None:
    # Given: the template's payouts bucket and its access-log bucket
    resources = template_document()['Resources']
    payouts, logs = resources['PayoutsBucket'], resources['PayoutsAccessLogsBucket']
    # Then: the payouts bucket logs every access into the log bucket, created after the policy that lets S3 deliver them
    assert payouts['Properties']['LoggingConfiguration']['DestinationBucketName'] == {'Ref': 'PayoutsAccessLogsBucket'}
    assert payouts['DependsOn'] == 'PayoutsAccessLogsBucketPolicy'
    statements_ = resources['PayoutsAccessLogsBucketPolicy']['Properties']['PolicyDocument']['Statement']
    delivery = next(s for s in statements_ if s.get('Principal') == {'Service': 'logging.s3.amazonaws.com'})
    assert delivery['Action'] == 's3:PutObject' and delivery['Effect'] == 'Allow'
    # And the logs are private, encrypted, retained with the stack and expire after a year
    assert logs['DeletionPolicy'] == 'Retain'
    assert all(logs['Properties']['PublicAccessBlockConfiguration'].values())
    assert logs['Properties']['LifecycleConfiguration']['Rules'][0]['ExpirationInDays'] == 365
