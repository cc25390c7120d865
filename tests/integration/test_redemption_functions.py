"""The wallet's Lambda handlers end to end on moto, configured as deployed (programs and catalogues in SSM, the
fulfilment queue): a console redemption, the SQS worker with partial batch failures, an admin's decision and the
scheduled queue run; bad payloads answered with the field."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.redemption_admin import app as admin_app
from functions.redemption_fulfil import app as fulfil_app
from functions.redemption_queue import app as queue_app
from functions.redemption_request import app as request_app
from shared.config import get_settings
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.programs import loader
from shared.wallet import catalogue_loader, providers
from shared.wallet.providers.base import ProviderFailed
from shared.wallet.providers.fake import FakeProvider
from tests.integration.test_redemptions import DIRECTORY
from tests.support.apigw import lambda_context
from tests.support.local_aws import LocalAws, local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    monkeypatch.setenv('PROGRAMS_PATH', '/pitcrew/test/programs')
    monkeypatch.setenv('CATALOGUES_PATH', '/pitcrew/test/catalogues')
    with local_aws() as aws:
        os.environ['REDEMPTIONS_QUEUE_URL'] = aws.queues['RedemptionsQueue']
        get_settings.cache_clear()
        ssm = boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])
        program = json.loads((EVENTS / 'program_workshop.json').read_text())
        program['effective_from'] = '2020-01-01T00:00:00+00:00'
        ssm.put_parameter(Name='/pitcrew/test/programs/pitstop', Value=json.dumps(program), Type='String')
        ssm.put_parameter(Name='/pitcrew/test/catalogues/pitstop', Value=(EVENTS / 'catalogue_workshop.json').read_text(), Type='String')
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime.now(UTC) - timedelta(days=30))
        loader.clear_cache()
        catalogue_loader.clear_cache()
        request_app.service.cache_clear()
        providers.use('fake', FakeProvider())
        for employee in ('E1', 'E2'):
            request_app.service().ledger.client.put_item(TableName=os.environ['BALANCES_TABLE'],
                                                         Item={'pk': {'S': f'EMP#{employee}'}, 'available': {'N': '5000'}})  # fmt: skip
        try:
            yield aws
        finally:
            os.environ.pop('REDEMPTIONS_QUEUE_URL', None)
            request_app.service.cache_clear()
            loader.clear_cache()
            catalogue_loader.clear_cache()
            providers.reset()
            get_settings.cache_clear()


def _sqs_event(aws: LocalAws) -> dict[str, Any]:
    url = aws.queues['RedemptionsQueue']
    messages = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=['All']).get('Messages', [])
    records = [{'messageId': m['MessageId'], 'receiptHandle': m['ReceiptHandle'], 'body': m['Body'],
                'attributes': m.get('Attributes', {}), 'messageAttributes': {}, 'md5OfBody': m['MD5OfBody'], 'eventSource': 'aws:sqs',
                'eventSourceARN': 'arn:aws:sqs:us-east-1:123456789012:pitcrew-RedemptionsQueue', 'awsRegion': 'us-east-1'}
               for m in messages]  # fmt: skip
    return {'Records': records}


def test_console_redemption_then_the_worker_fulfils_it(deployed: LocalAws) -> None:
    # Given: the sample console event (for E1)
    event = json.loads((EVENTS / 'redemption_request.json').read_text()) | {'employee_id': 'E1'}
    # When: invoked twice (a retry), then the queue's messages go to the worker
    first = request_app.lambda_handler(dict(event), lambda_context())
    again = request_app.lambda_handler(dict(event), lambda_context())
    batch = _sqs_event(deployed)
    result = fulfil_app.lambda_handler(batch, lambda_context())
    # Then: one redemption, completed, nothing failed in the batch; the status answers with the code
    assert first['ok'] and first['status'] == 'reserved' and again['duplicate'] and len(batch['Records']) == 1
    assert result == {'batchItemFailures': []}
    status = request_app.lambda_handler({'action': 'status', 'redemption_id': first['redemption_id']}, lambda_context())
    assert status['status'] == 'completed' and status['fulfilment']['code']
    wallet = request_app.lambda_handler({'action': 'wallet', 'program_id': 'pitstop', 'employee_id': 'E1'}, lambda_context())
    assert (wallet['available'], wallet['value'], wallet['currency']) == (4500, 4500.0, 'INR')


def test_a_retryable_provider_failure_is_a_batch_item_failure(deployed: LocalAws) -> None:
    providers.use('fake', FakeProvider(fail_all=ProviderFailed('provider timeout', retryable=True)))
    request_app.lambda_handler({'program_id': 'pitstop', 'employee_id': 'E2', 'item_id': 'amazon-500', 'idempotency_key': 't-1'},
                               lambda_context())  # fmt: skip
    batch = _sqs_event(deployed)
    result = fulfil_app.lambda_handler(batch, lambda_context())
    assert result == {'batchItemFailures': [{'itemIdentifier': batch['Records'][0]['messageId']}]}


@pytest.mark.parametrize(
    ('payload', 'field'),
    [
        ({'program_id': 'pitstop', 'employee_id': 'E1', 'item_id': 'amazon-500', 'quantity': 0, 'idempotency_key': 'q'}, 'quantity'),
        ({'program_id': 'pitstop', 'employee_id': 'E1', 'item_id': 'amazon-500'}, 'idempotency_key'),
        ({'program_id': 'pitstop', 'employee_id': 'E1', 'item_id': 'fuel-2000', 'quantity': 3, 'idempotency_key': 'q'}, 'quantity'),
        ({'program_id': 'nowhere', 'employee_id': 'E1', 'item_id': 'amazon-500', 'idempotency_key': 'q'}, 'program_id'),
    ],
)
def test_bad_payloads_are_answered_with_the_field(deployed: LocalAws, payload: dict[str, Any], field: str) -> None:
    answer = request_app.lambda_handler(payload, lambda_context())
    assert answer['ok'] is False and answer['field'] == field


def test_an_admin_fails_a_manual_redemption_from_the_console_and_the_queue_run_reports(deployed: LocalAws) -> None:
    reserved = request_app.lambda_handler({'program_id': 'pitstop', 'employee_id': 'E1', 'item_id': 'donate-akshaya-250',
                                           'idempotency_key': 'don-1'}, lambda_context())  # fmt: skip
    listed = admin_app.lambda_handler({'action': 'open', 'program_id': 'pitstop'}, lambda_context())
    assert listed['open'] == [{'redemption_id': reserved['redemption_id'], 'provider': 'manual'}]
    failed = admin_app.lambda_handler({'action': 'fail', 'redemption_id': reserved['redemption_id'],
                                       'reason': 'The charity paused its programme'}, lambda_context())  # fmt: skip
    assert failed['status'] == 'failed' and failed['failure'] == 'The charity paused its programme'
    again = admin_app.lambda_handler({'action': 'fulfil', 'redemption_id': reserved['redemption_id']}, lambda_context())
    assert again == {'ok': False, 'refused': 'decided', 'error': f'redemption {reserved["redemption_id"]} is already failed'}
    run = queue_app.lambda_handler(json.loads((EVENTS / 'redemption_queue.json').read_text()), lambda_context())
    assert run['programs']['pitstop'] == {'released': 0, 'locations_waiting': 0, 'resent': 0}
    sweep = queue_app.lambda_handler({'sweep_only': True}, lambda_context())
    assert sweep['programs']['pitstop'] == {'resent': 0}


def test_an_admin_fulfils_leave_over_the_iam_route_and_is_recorded(deployed: LocalAws) -> None:
    from tests.support.apigw import http_api_event

    # Given: E1 redeemed an extra leave day (manual)
    rid = request_app.lambda_handler({'program_id': 'pitstop', 'employee_id': 'E1', 'item_id': 'extra-leave-day',
                                      'idempotency_key': 'leave-1'}, lambda_context())['redemption_id']  # fmt: skip
    # When: an admin POSTs /admin/redemptions/{id}/fulfil, SigV4-signed
    event = http_api_event(f'/admin/redemptions/{rid}/fulfil', json.dumps({'reference': 'HR-LEAVE-2291'}).encode(),
                           {'Content-Type': 'application/json'})  # fmt: skip
    event['routeKey'] = event['requestContext']['routeKey'] = 'POST /admin/redemptions/{redemption_id}/fulfil'
    event['pathParameters'] = {'redemption_id': rid}
    arn = 'arn:aws:sts::123456789012:assumed-role/PitcrewAdmins/ops'
    event['requestContext']['authorizer'] = {'iam': {'accessKey': 'ASIA0EXAMPLE', 'accountId': '123456789012', 'callerId': 'AROA:x',
                                                     'principalOrgId': None, 'userArn': arn, 'userId': 'AROA:x'}}  # fmt: skip
    response = admin_app.lambda_handler(event, lambda_context())
    # Then: 200, completed with the reference; the decider is the authenticated principal
    body = json.loads(response['body'])
    assert response['statusCode'] == 200 and body['status'] == 'completed' and body['fulfilment']['reference'] == 'HR-LEAVE-2291'
    stored = request_app.service().store.get(rid)
    assert stored is not None and stored.decided_by == arn
    # And: a second decision is a 409
    event['rawPath'] = f'/admin/redemptions/{rid}/fail'
    event['routeKey'] = event['requestContext']['routeKey'] = 'POST /admin/redemptions/{redemption_id}/fail'
    event['requestContext']['http']['path'] = event['rawPath']
    event['body'] = json.dumps({'reason': 'booked twice by mistake'})
    assert admin_app.lambda_handler(event, lambda_context())['statusCode'] == 409


def test_a_cash_out_is_requested_through_the_function_and_refused_with_the_field_named(deployed: LocalAws) -> None:
    # Given: E1 with 5,000 points in pitstop (payout wage type 9PIN, at least 100 points)
    event = {'action': 'cash_out', 'program_id': 'pitstop', 'employee_id': 'E1', 'points': 1200}
    # When: E1 asks for 1,200 points through payroll, then for too few and for more than available
    asked = request_app.lambda_handler(dict(event), lambda_context())
    too_few = request_app.lambda_handler(dict(event) | {'points': 20}, lambda_context())
    too_many = request_app.lambda_handler(dict(event) | {'points': 9000}, lambda_context())
    # Then: the request waits for the month's export (nothing debited yet); the refusals name the field
    assert asked['ok'] and asked['status'] == 'requested' and asked['points'] == 1200 and asked['period']
    assert (too_few['ok'], too_few['field'], too_few['refused']) == (False, 'points', 'below_minimum')
    assert (too_many['ok'], too_many['field'], too_many['refused']) == (False, 'points', 'insufficient_points')
    wallet = request_app.lambda_handler({'action': 'wallet', 'program_id': 'pitstop', 'employee_id': 'E1'}, lambda_context())
    assert wallet['available'] == 5000


def test_the_queue_run_takes_its_time_from_the_scheduled_event(deployed: LocalAws) -> None:
    # Given: a scheduled event whose time is not a time, and one of the shipped event's shape
    bad = queue_app.lambda_handler({'detail-type': 'Scheduled Event', 'time': 'not a time'}, lambda_context())
    seen: list[datetime] = []
    service = queue_app.service()
    original = service.sweep

    def sweep(program_id: str, now: datetime) -> int:
        seen.append(now)
        return original(program_id, now)

    service.sweep = sweep  # type: ignore[method-assign]
    try:
        queue_app.lambda_handler(json.loads((EVENTS / 'redemption_queue.json').read_text()), lambda_context())
    finally:
        service.sweep = original  # type: ignore[method-assign]
    # Then: the bad one is refused with the field named; the run is at the event's time, not the wall clock's
    assert bad['ok'] is False and bad['field'] == 'time'
    assert seen and set(seen) == {datetime(2026, 10, 31, 18, 45, tzinfo=UTC)}
