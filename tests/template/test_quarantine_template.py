"""The quarantine and the public routes as deployed (issue 13): the quarantine's indexes project keys only, every
item expires (TTL, retention by parameter), the public functions have reserved concurrency, every route of the API has
its own throttle, and the counters the public functions write are the only quarantine items they may update."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infrastructure.local.template_resources import template_document
from shared.quarantine.store import COUNTER_PREFIX
from tests.support.apigw import http_api_event, lambda_context
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws

TEMPLATE = template_document()
RESOURCES: dict[str, Any] = TEMPLATE['Resources']
PUBLIC_FUNCTIONS = {'WebhookIngestFunction': 'WebhookIngestReservedConcurrency', 'TwilioWebhooksFunction': 'TwilioWebhooksReservedConcurrency'}


def _statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in function['Properties'].get('Policies', []) if isinstance(policy, dict) for s in policy.get('Statement', [])]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get('Action')
    return [str(a) for a in action] if isinstance(action, list) else [str(action)]


def quarantine_table_problems(resources: dict[str, Any]) -> list[str]:
    props = resources['QuarantineTable']['Properties']
    problems = [f"index {g['IndexName']} projects {g['Projection']['ProjectionType']}"
                for g in props.get('GlobalSecondaryIndexes', []) if g['Projection']['ProjectionType'] != 'KEYS_ONLY']
    if props.get('TimeToLiveSpecification') != {'AttributeName': 'expires_at', 'Enabled': True}:
        problems.append('no TTL on expires_at')
    return problems


def test_the_quarantine_indexes_project_keys_only_and_items_expire() -> None:
    # Given the quarantine table as deployed
    # When its indexes and TTL are checked
    problems = quarantine_table_problems(RESOURCES)

    # Then every index is KEYS_ONLY and TTL is on expires_at
    assert problems == []


def test_the_table_check_catches_an_index_that_copies_items() -> None:
    # Given the template with the by_day index projecting ALL again (what issue 13 found) and TTL off
    broken = copy.deepcopy(RESOURCES)
    broken['QuarantineTable']['Properties']['GlobalSecondaryIndexes'][0]['Projection'] = {'ProjectionType': 'ALL'}
    broken['QuarantineTable']['Properties'].pop('TimeToLiveSpecification')

    # When checked / Then both are reported
    assert quarantine_table_problems(broken) == ['index by_day projects ALL', 'no TTL on expires_at']


def test_the_retention_and_the_sample_limit_are_parameters_every_function_reads() -> None:
    # Given the template's parameters and the functions' shared environment
    parameters = TEMPLATE['Parameters']
    env = TEMPLATE['Globals']['Function']['Environment']['Variables']

    # Then the retention defaults to 30 days and reaches QUARANTINE_RETENTION_DAYS; the sample limit likewise
    assert parameters['QuarantineRetentionDays']['Default'] == 30 and parameters['QuarantineRetentionDays']['MinValue'] >= 1
    assert env['QUARANTINE_RETENTION_DAYS'] == {'Ref': 'QuarantineRetentionDays'}
    assert env['QUARANTINE_REJECTION_SAMPLES'] == {'Ref': 'QuarantineRejectionSamples'}


@pytest.mark.parametrize(('function', 'parameter'), PUBLIC_FUNCTIONS.items())
def test_public_functions_have_reserved_concurrency_from_a_parameter(function: str, parameter: str) -> None:
    # Given a public function and its parameter
    reserved = RESOURCES[function]['Properties'].get('ReservedConcurrentExecutions')
    default = TEMPLATE['Parameters'][parameter]['Default']

    # Then it reserves the parameter's value (0 means none: an account too small to reserve), with a non-zero default
    condition, value, otherwise = reserved['Fn::If']
    assert value == {'Ref': parameter} and otherwise == {'Ref': 'AWS::NoValue'}
    assert TEMPLATE['Conditions'][condition] == {'Fn::Not': [{'Fn::Equals': [{'Ref': parameter}, 0]}]}
    assert 0 < default <= 100


def _routes() -> set[str]:
    return {
        f"{str(event['Properties']['Method']).upper()} {event['Properties']['Path']}"
        for resource in RESOURCES.values() if resource.get('Type') == 'AWS::Serverless::Function'
        for event in resource['Properties'].get('Events', {}).values()
        if event.get('Type') == 'HttpApi' and event['Properties'].get('ApiId') == {'Ref': 'WebhooksApi'}
    }


def test_every_route_has_its_own_throttle_and_the_webhook_route_takes_the_parameters() -> None:
    # Given the API's routes and its per-route settings
    api = RESOURCES['WebhooksApi']['Properties']
    settings = api['RouteSettings']

    # Then each route has a throttle of its own (none left to the default), the default is small, nothing allows the
    # old 1,000 rps, and the webhook route's limits are the template parameters
    assert _routes() == set(settings)
    assert api['DefaultRouteSettings']['ThrottlingRateLimit'] <= 100
    fixed = [s['ThrottlingRateLimit'] for s in settings.values() if isinstance(s['ThrottlingRateLimit'], int)]
    assert fixed and max(fixed) < 1000
    assert settings['POST /webhooks/{source}'] == {'ThrottlingBurstLimit': {'Ref': 'WebhookBurstLimit'},
                                                   'ThrottlingRateLimit': {'Ref': 'WebhookRateLimit'}}
    assert TEMPLATE['Parameters']['WebhookRateLimit']['Default'] < 1000


@pytest.mark.parametrize('function', PUBLIC_FUNCTIONS)
def test_public_functions_update_only_the_rejection_counters(function: str) -> None:
    # Given the public function's grants on the quarantine table
    grants = [s for s in _statements(RESOURCES[function]) if s.get('Resource') == {'Fn::GetAtt': ['QuarantineTable', 'Arn']}]
    updates = [s for s in grants if 'dynamodb:UpdateItem' in _actions(s)]

    # Then UpdateItem is fenced to the counters' keys (the prefix the store writes) and nothing else may be read or deleted
    assert [s['Condition'] for s in updates] == [{'ForAllValues:StringLike': {'dynamodb:LeadingKeys': [f'{COUNTER_PREFIX}*']}}]
    assert {a for s in grants for a in _actions(s)} == {'dynamodb:PutItem', 'dynamodb:UpdateItem'}


def test_an_unauthenticated_request_makes_only_the_granted_writes() -> None:
    # Given the webhook function's grants on the quarantine table
    from functions.webhook_ingest.app import lambda_handler

    granted = {a for s in _statements(RESOURCES['WebhookIngestFunction'])
               if s.get('Resource') == {'Fn::GetAtt': ['QuarantineTable', 'Arn']} for a in _actions(s)}

    # When an unsigned request reaches the real handler on moto, every AWS request recorded
    with local_aws(), record_requests() as sent:
        answer = lambda_handler(http_api_event('/webhooks/zendesk', b'{"ticket":{}}'), lambda_context())

    # Then it is refused, and its DynamoDB requests are one counter UpdateItem (a REJ# key) and one PutItem, both granted
    calls = [(operation, params) for service, operation, params, _ in sent if service == 'dynamodb']
    assert answer['statusCode'] == 401
    assert [operation for operation, _ in calls] == ['UpdateItem', 'PutItem']
    assert calls[0][1]['Key']['pk']['S'].startswith(COUNTER_PREFIX)
    assert {f'dynamodb:{operation}' for operation, _ in calls} <= granted
