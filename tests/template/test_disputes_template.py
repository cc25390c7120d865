"""Infrastructure tests for adjustments with approval and disputes in template.yaml: the DynamoDB grants of
LedgerAdjustFunction and DisputeDecideFunction are exactly the calls their code makes (recorded on moto), the Twilio
function is granted what filing a dispute calls, the /admin routes are IAM-authorized and the webhook routes are not,
and the approval amount comes from a template parameter."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import pytest

from infrastructure.local.template_resources import TABLE_ENV, template_document
from shared.directory.employees import EmployeeRow
from shared.directory.store import DirectoryStore
from tests.support.apigw import http_api_event, lambda_context
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws

TEMPLATE = template_document()
RESOURCES: dict[str, Any] = TEMPLATE['Resources']
MARIA = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/M1'
OMAR = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/M2'
Calls = list[tuple[str, str, dict[str, Any], Any]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _label(resource: Any) -> str:
    if isinstance(resource, dict) and 'Fn::GetAtt' in resource:
        return str(resource['Fn::GetAtt'][0])
    if isinstance(resource, dict) and 'Fn::Sub' in resource:
        text = str(resource['Fn::Sub'])
        return text[2 : text.index('.Arn}')] + text[text.index('.Arn}') + 5 :] if text.startswith('${') and '.Arn}' in text else text
    return str(resource)


def dynamodb_grants(function: dict[str, Any]) -> set[tuple[str, str]]:
    statements = [s for p in function['Properties'].get('Policies', []) if isinstance(p, dict) for s in p.get('Statement', [])]
    return {(str(action), _label(resource)) for s in statements if s.get('Effect', 'Allow') == 'Allow'
            for action in _as_list(s['Action']) if str(action).startswith('dynamodb:') for resource in _as_list(s['Resource'])}  # fmt: skip


def needed(requests: Calls) -> set[tuple[str, str]]:
    """IAM (action, table) of each recorded DynamoDB request (a transaction needs each item's own action)."""
    logical = {os.environ[env]: logical_id for logical_id, (env, _) in TABLE_ENV.items() if env in os.environ}
    need: set[tuple[str, str]] = set()
    for service, operation, params, _ in requests:
        if service != 'dynamodb':
            continue
        if operation == 'TransactWriteItems':
            actions = {'Put': 'PutItem', 'Update': 'UpdateItem', 'Delete': 'DeleteItem', 'ConditionCheck': 'ConditionCheckItem'}
            for item in params['TransactItems']:
                ((kind, body),) = item.items()
                need.add((f'dynamodb:{actions[kind]}', logical[body['TableName']]))
        elif operation == 'BatchGetItem':
            need |= {('dynamodb:BatchGetItem', logical[table]) for table in params['RequestItems']}
        else:
            need.add(
                (f'dynamodb:{operation}', logical[params['TableName']] + (f'/index/{params["IndexName"]}' if 'IndexName' in params else ''))
            )
    return need


def _admin(handler: Any, path: str, route: str, params: dict[str, str], body: dict[str, Any], principal: str) -> dict[str, Any]:
    event = http_api_event(path, json.dumps(body).encode(), {'Content-Type': 'application/json'})
    event['routeKey'] = event['requestContext']['routeKey'] = route
    event['pathParameters'] = params
    event['requestContext']['authorizer'] = {'iam': {'userArn': principal}}
    response: dict[str, Any] = handler(event, lambda_context())
    assert response['statusCode'] == 200, response
    return response


@lru_cache(maxsize=1)
def recorded() -> dict[str, Calls]:
    """The requests of each function's paths: small and large adjustments, approval, rejection; a dispute filed, one
    accepted with a small and one with a large correction, one rejected."""
    from functions.dispute_decide.app import lambda_handler as decide
    from functions.ledger_adjust.app import lambda_handler as adjust
    from shared.alerts.store import AlertStore
    from shared.disputes.model import dispute_id_for, entry_code
    from shared.disputes.service import Disputes
    from shared.disputes.store import DisputeStore
    from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
    from shared.ledger.store import LedgerStore

    calls: dict[str, Calls] = {}
    now = datetime.now(UTC)
    with local_aws():
        rows = [EmployeeRow(employee_id=e, name=e, role='agent', location_id='NYC', manager_id='M1') for e in ('E1', 'E2')]
        rows += [EmployeeRow(employee_id='M1', name='M1', role='manager', location_id='NYC')]
        DirectoryStore().import_rows(rows, now - timedelta(days=1))
        entries = [LedgerEntry(entry_id=f'E{n}{n:031x}', employee_id='E1', amount=-5 * n, kind=EntryKind.REVERSAL, status=EntryStatus.AVAILABLE,
                               reason=EntryReason(ticket_key='t', source_event_id='s', basis_event_id='b', rule_id='r', rule_version=1),
                               occurred_at=now, recorded_at=now) for n in (1, 2, 3)]  # fmt: skip
        LedgerStore().append_adjustment(entries[0].model_copy(update={'entry_id': 'Eseed', 'amount': 100, 'kind': EntryKind.AWARD}))
        for entry in entries:
            LedgerStore().append_adjustment(entry)
        with record_requests() as sent:
            small = {'adjustment_id': 'a-small', 'employee_id': 'E1', 'points': 5, 'reason': 'Spot award for cover'}
            _admin(adjust, '/admin/adjustments', 'POST /admin/adjustments', {}, small, MARIA)
            for name in ('a-big', 'a-big-2'):
                large = small | {'adjustment_id': name, 'points': 900}
                _admin(adjust, '/admin/adjustments', 'POST /admin/adjustments', {}, large, MARIA)
            _admin(adjust, '/admin/adjustments/a-big/approve', 'POST /admin/adjustments/{adjustment_id}/approve',
                   {'adjustment_id': 'a-big'}, {}, OMAR)  # fmt: skip
            _admin(adjust, '/admin/adjustments/a-big-2/reject', 'POST /admin/adjustments/{adjustment_id}/reject',
                   {'adjustment_id': 'a-big-2'}, {'reason': 'Not this quarter'}, OMAR)  # fmt: skip
        calls['LedgerAdjustFunction'] = list(sent)
        with record_requests() as sent:
            filing = Disputes(DisputeStore(), DirectoryStore(), AlertStore())
            for entry in entries:
                filing.file('E1', entry_code(entry.entry_id), 'not my ticket', 'whatsapp', now)
        calls['TwilioWebhooksFunction'] = list(sent)
        with record_requests() as sent:
            route = 'POST /admin/disputes/{dispute_id}/decide'
            bodies: list[dict[str, Any]] = [{'decision': 'accept', 'reason': 'Agreed, reopened by mistake'},
                      {'decision': 'accept', 'points': 900, 'reason': 'Agreed, and the overtime too'},
                      {'decision': 'reject', 'reason': 'The reopen was real'}]  # fmt: skip
            for entry, body in zip(entries, bodies, strict=True):
                dispute_id = dispute_id_for(entry.entry_id)
                _admin(decide, f'/admin/disputes/{dispute_id}/decide', route, {'dispute_id': dispute_id}, body, MARIA)
        calls['DisputeDecideFunction'] = list(sent)
    return calls


def grant_problems(function: dict[str, Any], calls: Calls, exact: bool = True) -> list[str]:
    need, granted = needed(calls), dynamodb_grants(function)
    problems = [f'the code calls {action} on {label}, not granted' for action, label in sorted(need - granted)]
    if exact:
        problems += [f'granted {action} on {label}, never called' for action, label in sorted(granted - need)]
    return problems


@pytest.mark.parametrize('function', ['LedgerAdjustFunction', 'DisputeDecideFunction'])
def test_dynamodb_grants_are_exactly_the_calls_the_code_makes(function: str) -> None:
    # Given: the DynamoDB requests of every path of the function (recorded on moto)
    # When: comparing them with its grants
    # Then: every call is granted and every grant is used
    assert grant_problems(RESOURCES[function], recorded()[function]) == []


def test_the_twilio_function_may_file_disputes() -> None:
    # Given: the requests of filing disputes from inbound messages
    # Then: the Twilio function is granted each of them (it has other grants for its other commands)
    assert grant_problems(RESOURCES['TwilioWebhooksFunction'], recorded()['TwilioWebhooksFunction'], exact=False) == []
    assert ('dynamodb:PutItem', 'BalancesTable') in needed(recorded()['TwilioWebhooksFunction'])


def test_the_grant_check_catches_a_missing_and_an_extra_grant() -> None:
    # Given: a copy of DisputeDecideFunction without its alerts grant and with a Scan
    function = copy.deepcopy(RESOURCES['DisputeDecideFunction'])
    statements = function['Properties']['Policies'][0]['Statement']
    statements[:] = [s for s in statements if s.get('Sid') != 'MessageTheOutcome']
    statements.append({'Effect': 'Allow', 'Action': 'dynamodb:Scan', 'Resource': {'Fn::GetAtt': ['BalancesTable', 'Arn']}})
    # Then: both are reported
    problems = grant_problems(function, recorded()['DisputeDecideFunction'])
    assert 'the code calls dynamodb:PutItem on AlertsTable, not granted' in problems
    assert 'granted dynamodb:Scan on BalancesTable, never called' in problems


def test_writes_outside_their_items_are_fenced_by_leading_keys() -> None:
    # Given / When: the statements that let the console-facing functions put items into BalancesTable, and the Twilio
    # function query the ledger
    def leading_keys(function: str, sid: str) -> list[str]:
        [statement] = [s for s in RESOURCES[function]['Properties']['Policies'][0]['Statement'] if s.get('Sid') == sid]
        return list(statement['Condition']['ForAllValues:StringLike']['dynamodb:LeadingKeys'])

    # Then: requests, disputes and the sender's own entries are the only items reachable
    assert leading_keys('LedgerAdjustFunction', 'RecordRequestedAdjustments') == ['ADJREQ#*']
    assert leading_keys('DisputeDecideFunction', 'RequestLargeCorrections') == ['ADJREQ#*']
    assert leading_keys('TwilioWebhooksFunction', 'FileDisputes') == ['DISPUTE#*']
    assert leading_keys('TwilioWebhooksFunction', 'FindDisputedEntry') == ['EMP#*']


def _routes() -> dict[str, dict[str, Any]]:
    found = {}
    for resource in RESOURCES.values():
        if resource.get('Type') != 'AWS::Serverless::Function':
            continue
        for event in (resource['Properties'].get('Events') or {}).values():
            if event['Type'] == 'HttpApi':
                found[f'{event["Properties"]["Method"]} {event["Properties"]["Path"]}'] = event['Properties']
    return found


def test_admin_routes_are_iam_authorized_and_webhooks_are_not() -> None:
    # Given: the HTTP API routes of every function
    routes = _routes()
    admin = {route: props for route, props in routes.items() if ' /admin/' in route}
    # Then: the admin routes (these, and those of later parts) require SigV4 (AWS_IAM), the API enables the IAM
    # authorizer, other routes stay open
    assert set(admin) >= {'POST /admin/adjustments', 'POST /admin/adjustments/{adjustment_id}/approve',
                          'POST /admin/adjustments/{adjustment_id}/reject', 'POST /admin/disputes/{dispute_id}/decide',
                          'POST /admin/redemptions/{redemption_id}/fulfil', 'POST /admin/redemptions/{redemption_id}/fail'}  # fmt: skip
    assert all(props.get('Auth', {}).get('Authorizer') == 'AWS_IAM' for props in admin.values())
    assert all('Auth' not in props for route, props in routes.items() if route not in admin)
    assert RESOURCES['WebhooksApi']['Properties']['Auth']['EnableIamAuthorizer'] is True
    assert 'DefaultAuthorizer' not in RESOURCES['WebhooksApi']['Properties']['Auth']


def test_the_approval_amount_is_a_template_parameter() -> None:
    # Given / When: the parameter and the functions' environment
    parameter = TEMPLATE['Parameters']['AdjustmentApprovalAbove']
    # Then: it defaults to 500 and both functions read it
    assert parameter['Default'] == 500
    for function in ('LedgerAdjustFunction', 'DisputeDecideFunction'):
        assert RESOURCES[function]['Properties']['Environment']['Variables']['ADJUSTMENT_APPROVAL_ABOVE'] == {
            'Ref': 'AdjustmentApprovalAbove'
        }
