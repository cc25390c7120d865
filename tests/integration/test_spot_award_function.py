"""The spot award functions on moto, with the programs read from Parameter Store: the IAM-authorized routes (give,
approve, reject) and the console answer the same way (refusals with their status and what is left of the budget);
the daily run expires and reminds for every program with spot awards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.config import get_settings
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.ledger.store import LedgerStore
from shared.programs.loader import clear_cache
from shared.recognition.spot_store import SpotStore
from tests.support.apigw import http_api_event, lambda_context
from tests.support.local_aws import LocalAws, local_aws

ROOT = Path(__file__).resolve().parents[2]
PATH = '/pitcrew/test/programs'
DIRECTORY = """employee_id,name,role,location_id,manager_id,time_zone,language
W1,Ravi Kumar,technician,IN-BLR-01,M1,Asia/Kolkata,hi
W2,Priya Sharma,service_advisor,IN-BLR-01,M1,Asia/Kolkata,en
M1,Maria Manager,workshop_manager,IN-BLR-01,D1,Asia/Kolkata,es
D1,Dana Director,regional_manager,IN-BLR-01,,Asia/Kolkata,en
"""
ARN = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/{}'


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    with local_aws() as local:
        document = json.loads((ROOT / 'events' / 'program_workshop.json').read_text())
        document['effective_from'] = '2020-01-01T00:00:00+05:30'
        boto3.client('ssm', region_name='us-east-1').put_parameter(Name=f'{PATH}/pitstop', Value=json.dumps(document), Type='String')
        monkeypatch.setenv('PROGRAMS_PATH', PATH)
        monkeypatch.setenv('ADMIN_PRINCIPALS', 'arn:aws:iam::123456789012:user/admin')
        get_settings.cache_clear()
        clear_cache()
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime.now(UTC) - timedelta(days=30))
        yield local
        clear_cache()


def route(path: str, route_key: str, body: dict[str, Any], principal: str | None, params: dict[str, str] | None = None) -> dict[str, Any]:
    from functions.spot_award.app import lambda_handler

    event = http_api_event(path, json.dumps(body).encode(), {'Content-Type': 'application/json'})
    event['routeKey'] = event['requestContext']['routeKey'] = route_key
    event['pathParameters'] = params or {}
    if principal:
        event['requestContext']['authorizer'] = {'iam': {'accountId': '123456789012', 'userArn': principal, 'userId': 'AROA:x'}}
    response = lambda_handler(event, lambda_context())
    return json.loads(response['body']) | {'status_code': response['statusCode']}


def give(body: dict[str, Any], principal: str | None = ARN.format('M1')) -> dict[str, Any]:
    return route('/admin/spot-awards', 'POST /admin/spot-awards', body, principal)


def decide(award_id: str, action: str, principal: str | None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return route(f'/admin/spot-awards/{award_id}/{action}', f'POST /admin/spot-awards/{{award_id}}/{action}', body or {}, principal,
                 {'award_id': award_id})  # fmt: skip


AWARD = {'program_id': 'pitstop', 'employee_id': 'W1', 'points': 150, 'reason_id': 'zero_defect_repair', 'message': 'No comeback',
         'idempotency_key': 'http-1'}  # fmt: skip


def test_a_manager_gives_over_the_route_as_themselves(aws: LocalAws) -> None:
    # When Maria (M1, by her IAM session) gives 150 points without naming herself
    answer = give(AWARD)

    # Then it is awarded from her budget and the answer says what is left
    assert answer['status_code'] == 200 and answer['status'] == 'awarded' and answer['manager_id'] == 'M1'
    assert (answer['used'], answer['remaining']) == (150, 1850)
    assert LedgerStore().balance('W1').available == 150


def test_refusals_over_http_carry_their_status_and_what_is_left(aws: LocalAws) -> None:
    # Given 1,800 of Maria's 2,000 points given
    for n in range(6):
        assert give(AWARD | {'points': 300, 'idempotency_key': f'fill-{n}', 'employee_id': 'W2'})['status'] == 'awarded'

    # When she gives 300 more, someone else's IAM session gives as her, and a payload misses a field
    over = give(AWARD | {'points': 300, 'idempotency_key': 'over'})
    impostor = give(AWARD | {'manager_id': 'M1', 'idempotency_key': 'imp'}, ARN.format('W2'))
    bad = give({k: v for k, v in AWARD.items() if k != 'reason_id'})

    # Then: 409 naming the remaining budget; 403; 400 naming the field; nothing more written
    assert (over['status_code'], over['refused'], over['remaining'], over['budget']) == (409, 'over_budget', 200, 2000)
    assert (impostor['status_code'], impostor['refused']) == (403, 'not_the_giver')
    assert (bad['status_code'], bad['field']) == (400, 'reason_id')
    assert LedgerStore().balance('W1').available == 0


def test_a_request_is_approved_by_the_makers_manager_on_the_route_and_not_by_the_maker(aws: LocalAws) -> None:
    # Given a request of 500 (above the program's 300)
    requested = give(AWARD | {'points': 500, 'idempotency_key': 'big'})
    assert requested['status'] == 'requested' and requested['remaining'] == 1500
    award_id = requested['award_id']

    # When Maria approves her own request, and when the console tries
    own = decide(award_id, 'approve', ARN.format('M1'))
    from functions.spot_award.app import lambda_handler

    console = lambda_handler({'action': 'approve', 'award_id': award_id}, lambda_context())

    # Then both are refused (403), nothing written
    assert (own['status_code'], own['refused']) == (403, 'own_request')
    assert console['ok'] is False and console['refused'] == 'unauthenticated'
    assert LedgerStore().balance('W1').available == 0

    # When Dana (Maria's manager) approves it
    approved = decide(award_id, 'approve', ARN.format('D1'))

    # Then it is written once
    assert approved['status_code'] == 200 and approved['status'] == 'approved'
    assert LedgerStore().balance('W1').available == 500
    again = decide(award_id, 'approve', ARN.format('D1'))
    assert (again['status_code'], again['refused']) == (409, 'decided')


def test_a_rejection_over_the_route_needs_a_reason_and_releases_the_budget(aws: LocalAws) -> None:
    award_id = give(AWARD | {'points': 500, 'idempotency_key': 'big-r'})['award_id']
    no_reason = decide(award_id, 'reject', ARN.format('D1'))
    rejected = decide(award_id, 'reject', ARN.format('D1'), {'reason': 'Paid by the quarterly bonus'})
    assert (no_reason['status_code'], no_reason['field']) == (400, 'body')
    assert rejected['status'] == 'rejected' and rejected['remaining'] == 2000


def test_the_console_gives_with_the_event_and_the_daily_run_expires_overdue_requests(aws: LocalAws) -> None:
    from functions.spot_approvals.app import lambda_handler as daily
    from functions.spot_award.app import lambda_handler

    # Given the console test event (a small award) and a request made from the console
    event = json.loads((ROOT / 'events' / 'spot_award.json').read_text())
    assert lambda_handler(dict(event), lambda_context())['status'] == 'awarded'
    requested = lambda_handler(event | {'points': 400, 'idempotency_key': 'console-big'}, lambda_context())
    assert requested['status'] == 'requested'

    # When the daily run fires the next day, and eight days later
    tomorrow = daily({'time': (datetime.now(UTC) + timedelta(days=1)).isoformat()}, lambda_context())
    later = daily({'time': (datetime.now(UTC) + timedelta(days=8)).isoformat()}, lambda_context())

    # Then the approver is reminded once, then the request expires and its 400 points are back in Maria's budget
    assert (tomorrow['reminded'], tomorrow['expired']) == (1, 0)
    assert later['expired'] == 1 and later['programs'][0]['expired_ids'] == [requested['award_id']]
    month = requested['month']
    assert SpotStore().used('pitstop', 'M1', month) == 150
    # And a schedule event that does not validate is answered naming the field
    assert daily({'time': 'not a time'}, lambda_context())['field'] == 'time'
