"""Infrastructure tests for the wallet's functions in template.yaml: each one's DynamoDB grants are exactly the calls its
use case makes (recorded on moto), grants on the rewards and alerts tables are confined to the partitions the code uses,
nothing scans, the fulfilment queue has a dead-letter queue with an alarm, the queue run is scheduled daily (00:15 in
India, so the 1st opens the month's budgets) with its sweep, and the dashboard shows the redemption rate."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from functools import lru_cache
from typing import Any

import pytest

from shared.ledger.approvals import Actor
from shared.wallet import providers
from shared.wallet.providers.base import ProviderFailed
from tests.integration.test_redemptions import NOW, make_env
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws
from tests.template.test_period_close_template import RESOURCES, dynamodb_grants, needed, statements

Calls = list[tuple[str, str, dict[str, Any], Any]]
ADMIN = Actor(via='iam', principal='arn:aws:sts::123456789012:assumed-role/PitcrewAdmins/ops', reference='r')


@lru_cache(maxsize=1)
def recorded() -> dict[str, Calls]:
    """Each function's requests: requests (reserved, duplicate, queued, manual, refused) and a wallet read; fulfilments
    (completed, retryable failure, refunded); admin (open list, fulfil, fail); the queue run (release, sweep)."""
    from shared.wallet.wallet import read_wallet

    calls: dict[str, Calls] = {}
    with local_aws() as aws:
        env = make_env(aws, budget=4500)
        for person in ('E1', 'E2', 'E4'):
            env.credit(person, 10_000)
        with record_requests() as sent:
            a = env.redeem('E1', 'amazon-500', 'a')['redemption_id']
            env.redeem('E1', 'amazon-500', 'a')
            b = env.redeem('E2', 'amazon-500', 'b')['redemption_id']
            leave = env.redeem('E1', 'extra-leave-day', 'leave')['redemption_id']
            leave2 = env.redeem('E2', 'extra-leave-day', 'leave2')['redemption_id']  # over the budget: queued
            env.redeem('E4', 'amazon-500', 'c')
            queued = env.redeem('E4', 'amazon-500', 'd')['redemption_id']
            env.redeem('E1', 'donate-akshaya-250', 'e')  # queued, manual: its release is told to the person
            with contextlib.suppress(Exception):
                env.redeem('E1', 'nope', 'x')
            read_wallet('E1', env.service._program('pitstop').document, ledger=env.ledger)
            env.service.status(a)
        calls['RedemptionRequestFunction'] = list(sent)
        with record_requests() as sent:
            env.service.fulfil(a, NOW)
            env.fake.fail_all = ProviderFailed('timeout', retryable=True)
            with contextlib.suppress(ProviderFailed):
                env.service.fulfil(b, NOW, receive_count=1)
            env.service.fulfil(b, NOW, receive_count=3)
            env.fake.fail_all = None
        calls['RedemptionFulfilFunction'] = list(sent)
        with record_requests() as sent:
            env.service.store.open_ids('pitstop')
            env.service.decide(leave, fulfil=True, actor=ADMIN, now=NOW, reference='HR-1')
            env.service.decide(leave2, fulfil=False, actor=ADMIN, now=NOW, reason='not eligible this year')
        calls['RedemptionAdminFunction'] = list(sent)
        with record_requests() as sent:
            env.service.release_queue('pitstop', ['IN-BLR-01', 'IN-PNQ-01'], NOW + timedelta(days=25))
            env.service.sweep('pitstop', NOW + timedelta(days=25))
        calls['RedemptionQueueFunction'] = list(sent)
        assert env.service.store.get(queued) is not None
    providers.reset()
    return calls


def grant_problems(function: str, calls: Calls) -> list[str]:
    need, granted = needed(calls), dynamodb_grants(RESOURCES[function])
    problems = [f'the code calls {action} on {label}, not granted' for action, label in sorted(need - granted)]
    problems += [f'granted {action} on {label}, never called' for action, label in sorted(granted - need)]
    return problems


def _partitions(calls: Calls, table_env: str) -> set[str]:
    import os

    table = os.environ.get(table_env, '')
    found: set[str] = set()
    for service, _operation, params, _ in calls:
        if service != 'dynamodb':
            continue
        bodies = [next(iter(item.values())) for item in params.get('TransactItems', [])] or [params]
        for body in bodies:
            if body.get('TableName') != table:
                continue
            key = body.get('Key') or body.get('Item') or {}
            pk = key.get('pk', {}).get('S') or next(iter((body.get('ExpressionAttributeValues') or {}).get(':pk', {}).values()), None)
            if pk:
                found.add(pk.split('#', 1)[0] + '#*')
    return found


FUNCTIONS = ('RedemptionRequestFunction', 'RedemptionFulfilFunction', 'RedemptionAdminFunction', 'RedemptionQueueFunction')


@pytest.mark.parametrize('function', FUNCTIONS)
def test_dynamodb_grants_are_exactly_the_calls_the_use_case_makes(function: str) -> None:
    # Given: the requests of the function's use case on moto; When: compared with its grants
    # Then: every call is granted, every grant is used, and nothing scans
    assert grant_problems(function, recorded()[function]) == []
    assert not any(operation == 'Scan' for _, operation, _, _ in recorded()[function])


@pytest.mark.parametrize('function', FUNCTIONS)
def test_rewards_and_alerts_grants_name_the_partitions_the_code_uses(function: str) -> None:
    # Given: the partitions the recorded requests touch (local_aws left the tables' names in the environment)
    used = _partitions(recorded()[function], 'REWARDS_TABLE')
    alerts = _partitions(recorded()[function], 'ALERTS_TABLE')
    assert used
    # Then: each grant's dynamodb:LeadingKeys allows them (and the grants carry a LeadingKeys condition at all)
    for statement in statements(RESOURCES[function]):
        resource = statement['Resource']
        target = resource.get('Fn::GetAtt', [''])[0] if isinstance(resource, dict) else ''
        if target not in ('RewardsTable', 'AlertsTable'):
            continue
        allowed = set(statement['Condition']['ForAllValues:StringLike']['dynamodb:LeadingKeys'])
        assert (used if target == 'RewardsTable' else alerts) <= allowed, statement['Sid']


def test_the_fulfilment_queue_redrives_to_an_alarmed_dlq_and_the_worker_reports_partial_failures() -> None:
    queue = RESOURCES['RedemptionsQueue']['Properties']
    assert queue['RedrivePolicy']['deadLetterTargetArn'] == {'Fn::GetAtt': ['RedemptionsDLQ', 'Arn']}
    # the worker refunds a provider's retryable failure on its 3rd delivery, before the DLQ takes it
    from shared.wallet.service import MAX_PROVIDER_ATTEMPTS

    assert queue['RedrivePolicy']['maxReceiveCount'] > MAX_PROVIDER_ATTEMPTS
    assert queue['VisibilityTimeout'] >= 6 * RESOURCES['RedemptionFulfilFunction']['Properties']['Timeout']
    event = RESOURCES['RedemptionFulfilFunction']['Properties']['Events']['Redemptions']['Properties']
    assert event['FunctionResponseTypes'] == ['ReportBatchItemFailures']
    dims = RESOURCES['RedemptionsDLQMessagesAlarm']['Properties']['Dimensions']
    assert dims == [{'Name': 'QueueName', 'Value': {'Fn::GetAtt': ['RedemptionsDLQ', 'QueueName']}}]


def test_the_queue_runs_daily_after_midnight_in_india_and_sweeps_every_quarter_hour() -> None:
    events = RESOURCES['RedemptionQueueFunction']['Properties']['Events']
    assert events['Daily']['Properties']['Schedule'] == 'cron(45 18 * * ? *)'  # 00:15 IST
    assert events['Sweep']['Properties']['Schedule'] == 'rate(15 minutes)'
    assert events['Sweep']['Properties']['Input'] == '{"sweep_only": true}'


def test_senders_know_the_queue() -> None:
    for function in ('RedemptionRequestFunction', 'RedemptionQueueFunction'):
        assert RESOURCES[function]['Properties']['Environment']['Variables']['REDEMPTIONS_QUEUE_URL'] == {'Ref': 'RedemptionsQueue'}
