"""The people API functions' grants cover what their routes really call: every route of ApiPeopleFunction and the kiosk
session of ApiKioskFunction run on moto (the ORG directory, the real use cases), their AWS requests recorded, and each
DynamoDB action (a transaction's items as the actions IAM checks) on each table or index, each Secrets Manager read and
each queue send found in the function's policies. None is a Scan (never on a request path)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from infrastructure.local.template_resources import TABLE_ENV, template_document
from tests.support.counting import record_requests

RESOURCES: dict[str, Any] = template_document()['Resources']
NOW = datetime(2026, 10, 20, 6, 0, tzinfo=UTC)
_TRANSACT = {'Put': 'PutItem', 'Update': 'UpdateItem', 'Delete': 'DeleteItem', 'ConditionCheck': 'ConditionCheckItem'}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _label(resource: Any) -> str:
    if isinstance(resource, dict) and 'Fn::GetAtt' in resource:
        return str(resource['Fn::GetAtt'][0])
    if isinstance(resource, dict) and 'Fn::Sub' in resource:
        return str(resource['Fn::Sub']).replace('${', '').replace('.Arn}', '')
    if isinstance(resource, dict) and 'Ref' in resource:
        return str(resource['Ref'])
    return str(resource)


def granted(function: str) -> set[tuple[str, str]]:
    statements = [s for p in RESOURCES[function]['Properties'].get('Policies', []) if isinstance(p, dict) for s in p.get('Statement', [])]
    return {(str(action), _label(resource)) for s in statements if s.get('Effect', 'Allow') == 'Allow'
            for action in _as_list(s['Action']) for resource in _as_list(s['Resource'])}  # fmt: skip


def needed(sent: list[tuple[str, str, dict[str, Any], Any]]) -> set[tuple[str, str]]:
    """(IAM action, logical id [/index/name]) of the recorded requests."""
    tables = {os.environ[env]: logical_id for logical_id, (env, _) in TABLE_ENV.items()}
    queues = {os.environ[env]: logical_id for env, logical_id in (('REDEMPTIONS_QUEUE_URL', 'RedemptionsQueue'),
              ('PREVIEWS_QUEUE_URL', 'PreviewsQueue'), ('EVENTS_QUEUE_URL', 'EventsQueue')) if os.environ.get(env)}  # fmt: skip
    calls: set[tuple[str, str]] = set()
    for service, operation, params, _ in sent:
        if service == 'dynamodb' and operation == 'TransactWriteItems':
            for item in params['TransactItems']:
                (kind, body), = item.items()
                calls.add((f'dynamodb:{_TRANSACT[kind]}', tables[body['TableName']]))
        elif service == 'dynamodb':
            for table in [params['TableName']] if 'TableName' in params else params['RequestItems']:
                index = f'/index/{params["IndexName"]}' if 'IndexName' in params else ''
                calls.add((f'dynamodb:{operation}', tables[table] + index))
        elif service == 'secretsmanager':
            calls.add((f'secretsmanager:{operation}', 'ApiSigningKey'))
        elif service == 'sqs' and operation == 'SendMessage':
            calls.add(('sqs:SendMessage', queues.get(params['QueueUrl'], params['QueueUrl'])))
    return calls


def people_routes() -> set[tuple[str, str]]:
    """Every route of ApiPeopleFunction as an advisor calls it, recorded."""
    from functions.api_people import app as people
    from tests.support.people_api import BY_ID, claims_of
    from tests.support.people_seed import call, people_world

    me, colleague = BY_ID['IN-BLR-01-A'], BY_ID['IN-BLR-01-B']
    advisor = claims_of(me)
    with pytest.MonkeyPatch.context() as monkeypatch, people_world(monkeypatch, NOW) as world:
        (mine,) = world.write(world.entry(me.employee_id, 2000, NOW - timedelta(days=2)))
        world.score()
        with record_requests() as sent:
            for path in ('/v1/me', '/v1/me/statement', '/v1/me/rank', '/v1/standings', '/v1/feed', '/v1/catalogue', '/v1/redemptions',
                         '/v1/disputes'):
                status, body, _ = call(people, 'GET', path, advisor)
                assert status == 200, (path, body)
            thanks = {'to_employee_id': me.employee_id, 'points': 20, 'message': 'Spotted the brake fault early', 'value': 'teamwork'}
            assert call(people, 'POST', '/v1/recognitions', claims_of(colleague), body=thanks, headers={'Idempotency-Key': 'give-0001-abcd'})[0] == 200
            status, redeemed, _ = call(people, 'POST', '/v1/redemptions', advisor, body={'item_id': 'amazon-500'},
                                       headers={'Idempotency-Key': 'redeem-0001-abcd'})  # fmt: skip
            assert status == 200, redeemed
            rid = redeemed['redemption_id']
            assert call(people, 'GET', f'/v1/redemptions/{rid}', advisor, route='/v1/redemptions/<redemption_id>',
                        path_parameters={'redemption_id': rid})[0] == 200  # fmt: skip
            assert call(people, 'POST', '/v1/disputes', advisor, body={'entry_id': mine.entry_id, 'reason': 'the job card was two'})[0] == 200
            assert call(people, 'PUT', '/v1/me/pin', advisor, body={'pin': '2468'})[0] == 200
        return needed(sent)


def kiosk_session() -> set[tuple[str, str]]:
    """A kiosk opens a technician's session (after one wrong PIN) and closes it, recorded."""
    from functions.api_kiosk import app as kiosk
    from shared.api.kiosk_pins import set_pin
    from tests.support.people_api import BY_ID, claims
    from tests.support.people_seed import call, people_world

    technician = BY_ID['IN-BLR-01-B']
    device = claims('kiosk', location=technician.location_id)
    with pytest.MonkeyPatch.context() as monkeypatch, people_world(monkeypatch, NOW):
        set_pin(technician.employee_id, '2468', NOW)
        with record_requests() as sent:
            wrong = call(kiosk, 'POST', '/v1/kiosk/sessions', device, body={'employee_code': technician.employee_id, 'pin': '1111'})
            status, opened, headers = call(kiosk, 'POST', '/v1/kiosk/sessions', device,
                                           body={'employee_code': technician.employee_id, 'pin': '2468'})  # fmt: skip
            assert wrong[0] == 401 and status in (200, 201), opened
            closed = call(kiosk, 'DELETE', '/v1/kiosk/sessions', device, headers={'X-Kiosk-Session': opened['session']})
            assert closed[0] in (200, 204), closed
        return needed(sent)


@pytest.mark.parametrize(('function', 'run'), [('ApiPeopleFunction', people_routes), ('ApiKioskFunction', kiosk_session)])
def test_every_call_of_the_routes_is_granted_and_none_scans(function: str, run: Any) -> None:
    # Given: the AWS requests of the function's routes (recorded on moto)
    calls = run()
    assert calls, function
    # Then: each is granted by the function's policies, and none is a Scan
    assert sorted(calls - granted(function)) == []
    assert not any(action == 'dynamodb:Scan' for action, _ in calls)


@cache
def _inside_handler_calls(module_name: str, scenarios: str) -> frozenset[tuple[str, str]]:
    """Run every single-fixture scenario of an integration test module (tests/integration/<scenarios>.py, each with its
    own team world) and record the AWS requests made inside `module_name`'s handler only (not the scenario's seeding)."""
    import importlib
    import inspect
    import threading
    from typing import cast

    from tests.support.counting import intercept_api_calls
    from tests.support.team_api import team_world

    handler_module = importlib.import_module(module_name)
    tests = importlib.import_module(f'tests.integration.{scenarios}')
    inside = threading.local()
    sent: list[tuple[str, str, dict[str, Any], Any]] = []
    real = handler_module.lambda_handler

    def recording_handler(event: dict[str, Any], context: Any) -> Any:
        inside.on = True
        try:
            return real(event, context)
        finally:
            inside.on = False

    def wrapper(call: Any, client: Any, operation: str, params: Any) -> Any:
        response = call(client, operation, params)
        if getattr(inside, 'on', False):
            sent.append((client.meta.service_model.service_name, operation, params, response))
        return response

    calls: set[tuple[str, str]] = set()
    ran = 0
    with pytest.MonkeyPatch.context() as monkeypatch, intercept_api_calls(wrapper):
        monkeypatch.setattr(handler_module, 'lambda_handler', recording_handler)
        for name, scenario in inspect.getmembers(tests, inspect.isfunction):
            if not name.startswith('test_') or list(inspect.signature(scenario).parameters) != ['world']:
                continue
            with team_world() as world:
                sent.clear()
                cast(Any, scenario)(world)
                calls |= needed(sent)
                ran += 1
    assert ran >= 5, scenarios
    return frozenset(calls)


@pytest.mark.parametrize(('function', 'module', 'scenarios'), [
    ('ApiTeamFunction', 'functions.api_team.app', 'test_api_team'),
    ('ApiAdminFunction', 'functions.api_admin.app', 'test_api_admin'),
])  # fmt: skip
def test_every_call_of_the_team_and_admin_routes_is_granted(function: str, module: str, scenarios: str) -> None:
    # Given: the AWS requests the team (admin) handler makes in every scenario of its integration tests (recorded on moto)
    calls = _inside_handler_calls(module, scenarios)
    assert calls
    # Then: each is granted by the function's policies (a Scan is never granted: see the next test)
    assert sorted(call for call in calls - granted(function) if call[0] != 'dynamodb:Scan') == []


def test_the_admin_routes_never_scan() -> None:
    # Given / Then: the admin handler's requests in its integration scenarios (a preview is queued, not run) hold no Scan
    calls = _inside_handler_calls('functions.api_admin.app', 'test_api_admin')
    assert not any(action == 'dynamodb:Scan' for action, _ in calls)


def test_the_team_routes_never_scan() -> None:
    # Given / Then: the team handler's requests in its integration scenarios hold no Scan
    assert not any(action == 'dynamodb:Scan' for action, _ in _inside_handler_calls('functions.api_team.app', 'test_api_team'))


def test_the_admin_function_is_granted_what_the_preview_routes_need() -> None:
    # Given: what asking for a preview and reading it calls (recorded by tests/template/test_preview_template.py)
    from tests.template.test_preview_template import ADMIN_ROUTE_NEEDS

    # Then: ApiAdminFunction is granted all of it, and finds the queue by reference
    assert granted('ApiAdminFunction') >= ADMIN_ROUTE_NEEDS
    assert RESOURCES['ApiAdminFunction']['Properties']['Environment']['Variables']['PREVIEWS_QUEUE_URL'] == {'Ref': 'PreviewsQueue'}
