"""The people API functions' grants cover what their routes really call: every route of ApiPeopleFunction and the kiosk
session of ApiKioskFunction run on moto (the ORG directory, the real use cases), their AWS requests recorded, and each
DynamoDB action (a transaction's items as the actions IAM checks) on each table or index, each Secrets Manager read and
each queue send found in the function's policies. None is a Scan (never on a request path)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
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
            calls.add(('sqs:SendMessage', 'RedemptionsQueue'))
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
