"""Infrastructure tests for spot awards in template.yaml: the DynamoDB grants of SpotAwardFunction and
SpotApprovalsFunction are exactly the calls their code makes (recorded on moto), their RecognitionTable items are fenced
by leading keys, the routes are IAM-authorized and throttled, and the daily run is scheduled with its failures kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
import pytest

from infrastructure.local.template_resources import template_document
from shared.directory.employees import EmployeeRow
from shared.directory.store import DirectoryStore
from tests.support.apigw import lambda_context
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws
from tests.template.test_disputes_template import Calls, _admin, grant_problems, needed

TEMPLATE = template_document()
RESOURCES: dict[str, Any] = TEMPLATE['Resources']
ROOT = Path(__file__).resolve().parents[2]
MARIA = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/M1'
DANA = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/D1'
FUNCTIONS = ('SpotAwardFunction', 'SpotApprovalsFunction')


@lru_cache(maxsize=1)
def recorded() -> dict[str, Calls]:
    """The requests of each path: an award, a refusal, requests approved and rejected; the daily run's reminder and expiry."""
    import os

    from functions.spot_approvals.app import lambda_handler as daily
    from functions.spot_award.app import lambda_handler as spot
    from shared.programs.loader import clear_cache

    calls: dict[str, Calls] = {}
    now = datetime.now(UTC)
    with local_aws():
        document = json.loads((ROOT / 'events' / 'program_workshop.json').read_text()) | {'effective_from': '2020-01-01T00:00:00Z'}
        boto3.client('ssm', region_name='us-east-1').put_parameter(Name='/pitcrew/test/programs/pitstop', Value=json.dumps(document),
                                                                   Type='String')  # fmt: skip
        os.environ['PROGRAMS_PATH'] = '/pitcrew/test/programs'
        clear_cache()
        try:
            rows = [EmployeeRow(employee_id=e, name=e, role='technician', location_id='IN-BLR-01', manager_id='M1') for e in ('W1', 'W2')]
            rows += [EmployeeRow(employee_id='M1', name='M1', role='workshop_manager', location_id='IN-BLR-01', manager_id='D1'),
                     EmployeeRow(employee_id='D1', name='D1', role='regional_manager', location_id='IN-BLR-01')]  # fmt: skip
            DirectoryStore().import_rows(rows, now - timedelta(days=1))
            award = {'program_id': 'pitstop', 'employee_id': 'W1', 'points': 100, 'reason_id': 'hazard_reporting', 'idempotency_key': 'a'}
            with record_requests() as sent:
                _admin(spot, '/admin/spot-awards', 'POST /admin/spot-awards', {}, award, MARIA)
                spot(award | {'manager_id': 'M1', 'points': 5000, 'idempotency_key': 'too-many'}, lambda_context())
                ids = [json.loads(_admin(spot, '/admin/spot-awards', 'POST /admin/spot-awards', {}, award | {'points': 400, 'idempotency_key': key},
                                         MARIA)['body'])['award_id'] for key in ('big-1', 'big-2', 'big-3')]  # fmt: skip
                _admin(spot, f'/admin/spot-awards/{ids[0]}/approve', 'POST /admin/spot-awards/{award_id}/approve', {'award_id': ids[0]}, {}, DANA)
                _admin(spot, f'/admin/spot-awards/{ids[1]}/reject', 'POST /admin/spot-awards/{award_id}/reject', {'award_id': ids[1]},
                       {'reason': 'Not this month'}, DANA)  # fmt: skip
            calls['SpotAwardFunction'] = list(sent)
            with record_requests() as sent:
                assert daily({'time': (now + timedelta(days=1)).isoformat()}, lambda_context())['reminded'] == 1
                assert daily({'time': (now + timedelta(days=9)).isoformat()}, lambda_context())['expired'] == 1
            calls['SpotApprovalsFunction'] = list(sent)
        finally:
            os.environ.pop('PROGRAMS_PATH', None)
            clear_cache()
    return calls


@pytest.mark.parametrize('function', FUNCTIONS)
def test_dynamodb_grants_are_exactly_the_calls_the_code_makes(function: str) -> None:
    # Given: the DynamoDB requests of every path of the function (recorded on moto)
    # When: comparing them with its grants
    # Then: every call is granted and every grant is used
    assert grant_problems(RESOURCES[function], recorded()[function]) == []


def test_the_daily_run_never_scans() -> None:
    # Given: the daily run's requests
    operations = {operation for service, operation, _, _ in recorded()['SpotApprovalsFunction'] if service == 'dynamodb'}
    # Then: open requests are found by Query, never a Scan
    assert 'Query' in operations and 'Scan' not in operations
    assert ('dynamodb:Query', 'RecognitionTable') in needed(recorded()['SpotApprovalsFunction'])


def _statement(function: str, sid: str) -> dict[str, Any]:
    [statement] = [s for s in RESOURCES[function]['Properties']['Policies'][0]['Statement'] if s.get('Sid') == sid]
    return statement


def test_recognition_items_are_fenced_by_leading_keys() -> None:
    # Given / When: the statements that reach RecognitionTable
    def leading_keys(function: str, sid: str) -> list[str]:
        return list(_statement(function, sid)['Condition']['ForAllValues:StringLike']['dynamodb:LeadingKeys'])

    # Then: only the spot award items (and the feed, for puts) are reachable: not allowances, flags or nudges
    assert leading_keys('SpotAwardFunction', 'SpotItems') == ['SPOT#*', 'SPOTBUDGET#*', 'SPOTPENDING#*', 'SPOTOF#*']
    assert leading_keys('SpotAwardFunction', 'SpotFeedItems') == ['FEED#*']
    assert _statement('SpotAwardFunction', 'SpotFeedItems')['Action'] == 'dynamodb:PutItem'
    assert leading_keys('SpotApprovalsFunction', 'SpotRequests') == ['SPOT#*', 'SPOTBUDGET#*', 'SPOTPENDING#*']


def test_routes_are_iam_authorized_and_throttled() -> None:
    # Given: the function's HTTP API events and the API's per-route throttles
    events = RESOURCES['SpotAwardFunction']['Properties']['Events']
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}": e['Properties'] for e in events.values()}
    settings = RESOURCES['WebhooksApi']['Properties']['RouteSettings']
    # Then: the three admin routes need SigV4 and each has its own throttle
    assert set(routes) == {'POST /admin/spot-awards', 'POST /admin/spot-awards/{award_id}/approve',
                           'POST /admin/spot-awards/{award_id}/reject'}  # fmt: skip
    assert all(props['Auth']['Authorizer'] == 'AWS_IAM' for props in routes.values())
    assert set(routes) <= set(settings)


def test_the_daily_run_is_scheduled_and_keeps_its_failed_runs() -> None:
    # Given: the approvals function's schedule and failure destinations
    properties = RESOURCES['SpotApprovalsFunction']['Properties']
    [schedule] = [e['Properties'] for e in properties['Events'].values() if e['Type'] == 'Schedule']
    # Then: daily, with EventBridge's and Lambda's failures in ScheduledRunsDLQ
    assert schedule['Schedule'] == 'cron(30 3 * * ? *)' and schedule['Enabled'] is True
    assert schedule['DeadLetterConfig']['Arn'] == {'Fn::GetAtt': ['ScheduledRunsDLQ', 'Arn']}
    assert properties['EventInvokeConfig']['DestinationConfig']['OnFailure']['Destination'] == {'Fn::GetAtt': ['ScheduledRunsDLQ', 'Arn']}
    # And the admin principals reach the giving function (an admin may give to anyone and approve any request)
    assert RESOURCES['SpotAwardFunction']['Properties']['Environment']['Variables']['ADMIN_PRINCIPALS'] == {'Ref': 'AdminPrincipals'}
