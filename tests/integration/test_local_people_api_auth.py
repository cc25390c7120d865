"""The local stack puts PeopleApi's routes behind what API Gateway does in AWS (design15.md, issue 15): the JWT authorizer
(the token verified against moto Cognito's JWKS, the pool's `iss`, the page client's `aud`/`client_id`, `exp`) answers
401 before any function runs; the claims reach the function as strings; CORS preflights are answered for the page's
origin only; the page and its config.json are served on the API port. Users per role come from the sample directory.

One LocalStack for the module, in this process (its environment restored afterwards); PeopleApi's functions are
replaced by a recorder, so what is tested is the gate in front of them, not the routes' code.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infrastructure.local.cognito import LOCAL_PASSWORD, LOCAL_PIN, LocalLogin, choose_local_people, create_people_pool
from infrastructure.local.sample_month import sample_people
from infrastructure.local.stack import REGION, LocalStack
from tests.integration.test_local_stack import free_port

RECORDED: list[dict[str, Any]] = []


def recorder(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stands in for PeopleApi's functions: keeps the event, answers 200."""
    RECORDED.append(event)
    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'}, 'body': json.dumps({'ok': True})}


@dataclass
class Local:
    stack: LocalStack
    logins: list[LocalLogin]

    @property
    def base(self) -> str:
        return f'http://127.0.0.1:{self.stack.api_port}'

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def tokens(self, username: str) -> dict[str, str]:
        """Signed in as the page does: USER_PASSWORD_AUTH against the local AWS port."""
        assert self.stack.people_pool is not None
        cognito = boto3.client('cognito-idp', region_name=REGION, endpoint_url=self.stack.aws_endpoint, aws_access_key_id='x',
                               aws_secret_access_key='x')  # fmt: skip
        answer = cognito.initiate_auth(ClientId=self.stack.people_pool.client_id, AuthFlow='USER_PASSWORD_AUTH',
                                       AuthParameters={'USERNAME': username, 'PASSWORD': LOCAL_PASSWORD})  # fmt: skip
        return dict(answer['AuthenticationResult'])


@pytest.fixture(scope='module')
def local() -> Iterator[Local]:
    from botocore.signers import RequestSigner

    saved, signing = dict(os.environ), RequestSigner.sign  # the stack skips signing in this process: restored after
    stack = LocalStack(aws_port=free_port(), api_port=free_port(), twilio_port=free_port(), pollers=1, alerts=False)
    stack.start()
    try:
        for route in stack.routes:
            if route.api == 'PeopleApi':
                route.handler = f'{__name__}.recorder'
        yield Local(stack, stack.create_people_users(sample_people()))
    finally:
        stack.stop()
        RequestSigner.sign = signing  # type: ignore[method-assign]
        os.environ.clear()
        os.environ.update(saved)
        from shared.config import get_settings

        get_settings.cache_clear()
        # The webhook handler keeps its receiver per container (the stack's secrets prefix and table names, bound while
        # the stack ran in this process): later tests must build their own, as a new container would.
        from functions.webhook_ingest import app as webhook_ingest

        webhook_ingest._receiver = None


def moto_private_key() -> Any:
    """The key moto signs every pool's tokens with (to forge tokens that differ from a real one in one claim)."""
    from moto.utilities.utils import load_resource

    private = load_resource('cognitoidp/resources/jwks-private.json')
    return jwt.PyJWK.from_dict(private, algorithm='RS256').key


def forged(local: Local, key: Any = None, **changes: Any) -> str:
    """An ID token exactly like moto's for the manager, with `changes` (None removes a claim), signed by `key`."""
    real = jwt.decode(local.tokens('manager')['IdToken'], options={'verify_signature': False})
    claims = {**real, **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key or moto_private_key(), algorithm='RS256',
                      headers={'kid': 'dummy'})  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {'Authorization': f'Bearer {token}'}


def test_a_good_id_token_reaches_the_function_with_its_claims_as_strings(local: Local) -> None:
    # Given the manager signed in on the local Cognito (USER_PASSWORD_AUTH, as the page signs in)
    token = local.tokens('manager')['IdToken']
    RECORDED.clear()

    # When the page calls GET /v1/me with the ID token
    status, headers, body = local.request('GET', '/v1/me', bearer(token))

    # Then the function ran once, with the claims in requestContext.authorizer.jwt as API Gateway passes them: strings,
    # the groups as "[manager]"
    assert status == 200, body
    [event] = RECORDED
    claims = event['requestContext']['authorizer']['jwt']['claims']
    assert all(isinstance(value, str) for value in claims.values())
    manager = next(login for login in local.logins if login.role == 'manager')
    assert claims['cognito:groups'] == '[manager]'
    assert (claims['custom:employee_id'], claims['custom:location']) == (manager.employee_id, manager.location)
    assert claims['aud'] == local.stack.people_pool.client_id and claims['exp'].isdigit()  # type: ignore[union-attr]
    assert event['requestContext']['authorizer']['jwt']['scopes'] is None
    assert event['routeKey'] == 'GET /v1/me'


def test_an_access_token_is_accepted_by_its_client_id(local: Local) -> None:
    # Given an access token (no aud: API Gateway then checks client_id)
    token = local.tokens('advisor')['AccessToken']
    RECORDED.clear()
    # When it calls a route / Then the function runs, with the token's client_id
    assert local.request('GET', '/v1/feed', bearer(token))[0] == 200
    assert RECORDED[0]['requestContext']['authorizer']['jwt']['claims']['client_id'] == local.stack.people_pool.client_id  # type: ignore[union-attr]


def test_a_forged_token_that_changes_nothing_is_accepted(local: Local) -> None:
    # Given a token re-signed with moto's key and no claim changed (the control for the bad tokens below: each differs
    # from this one in one respect only)
    RECORDED.clear()
    # When it is sent / Then the function runs
    assert local.request('POST', '/v1/recognitions', bearer(forged(local)))[0] == 200
    assert len(RECORDED) == 1


@pytest.mark.parametrize('case', ['missing', 'not-a-jwt', 'expired', 'not-yet-valid', 'other-key', 'other-pool', 'wrong-audience',
                                  'no-audience-or-client', 'hs256'])  # fmt: skip
def test_a_bad_token_is_refused_401_before_any_function_runs(local: Local, case: str) -> None:
    # Given a token API Gateway's JWT authorizer refuses: missing, expired, signed by another key, of another user pool
    # (moto signs every pool with one key: only `iss` tells them apart), for another client, ...
    now = int(time.time())
    other_pool = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_someotherpool'
    tokens = {
        'missing': None,
        'not-a-jwt': 'not.a.jwt',
        'expired': lambda: forged(local, exp=now - 5, iat=now - 3605),
        'not-yet-valid': lambda: forged(local, nbf=now + 600),
        'other-key': lambda: forged(local, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        'other-pool': lambda: forged(local, iss=other_pool),
        'wrong-audience': lambda: forged(local, aud='someotherclient'),
        'no-audience-or-client': lambda: forged(local, aud=None),
        'hs256': lambda: jwt.encode({'iss': local.stack.people_pool.issuer, 'exp': now + 600}, 'guessed' * 8, algorithm='HS256',  # type: ignore[union-attr]
                                    headers={'kid': 'dummy'}),
    }
    make = tokens[case]
    token = make() if callable(make) else make
    RECORDED.clear()

    # When it is sent to a route of PeopleApi (a write, so nothing may be written either)
    status, _, body = local.request('POST', '/v1/recognitions', bearer(token) if token else {})

    # Then 401 {"message":"Unauthorized"}, and the function was never invoked
    assert (status, json.loads(body)) == (401, {'message': 'Unauthorized'})
    assert RECORDED == []


def test_a_token_of_a_second_local_pool_is_refused(local: Local) -> None:
    # Given a real token from another user pool on the same local Cognito (same signing key, its own issuer and client)
    cognito = boto3.client('cognito-idp', region_name=REGION)
    other = create_people_pool(cognito, REGION, name='another-pool')
    cognito.admin_create_user(UserPoolId=other.pool_id, Username='intruder', TemporaryPassword=LOCAL_PASSWORD, MessageAction='SUPPRESS')
    cognito.admin_set_user_password(UserPoolId=other.pool_id, Username='intruder', Password=LOCAL_PASSWORD, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=other.pool_id, Username='intruder', GroupName='admin')
    token = cognito.initiate_auth(ClientId=other.client_id, AuthFlow='USER_PASSWORD_AUTH',
                                  AuthParameters={'USERNAME': 'intruder', 'PASSWORD': LOCAL_PASSWORD})['AuthenticationResult']['IdToken']  # fmt: skip
    RECORDED.clear()
    # When it calls an admin route / Then 401, nothing invoked
    assert local.request('GET', '/v1/admin/programs', bearer(token))[0] == 401
    assert RECORDED == []


def test_preflights_are_answered_for_the_page_origin_only(local: Local) -> None:
    # Given a browser on the page's origin, and one on another origin, asking to POST with the idempotency key
    asking = {'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,idempotency-key'}
    RECORDED.clear()

    # When each sends the preflight (no token: browsers never send one on a preflight)
    page = local.request('OPTIONS', '/v1/team/approvals/A-1/approve', {'Origin': local.stack.web_origin, **asking})
    other = local.request('OPTIONS', '/v1/team/approvals/A-1/approve', {'Origin': 'https://evil.example.com', **asking})

    # Then the page's is allowed with the template's methods and headers, the other's is not; no function ran
    status, headers, _ = page
    assert status == 204
    assert headers['Access-Control-Allow-Origin'] == local.stack.web_origin
    assert 'POST' in headers['Access-Control-Allow-Methods'].split(',')
    assert {'Idempotency-Key', 'X-Kiosk-Session', 'Authorization'} <= set(headers['Access-Control-Allow-Headers'].split(','))
    assert other[0] == 204 and 'Access-Control-Allow-Origin' not in other[1]
    assert RECORDED == []


def test_answers_carry_the_allowed_origin_and_the_exposed_headers_for_the_page_only(local: Local) -> None:
    # Given a good token
    token = local.tokens('advisor')['IdToken']
    # When the page's origin and another origin call a route (and the other origin's call is refused, a 401 too)
    _, mine, _ = local.request('GET', '/v1/me', {**bearer(token), 'Origin': local.stack.web_origin})
    _, theirs, _ = local.request('GET', '/v1/me', {**bearer(token), 'Origin': 'https://evil.example.com'})
    _, refused, _ = local.request('GET', '/v1/me', {'Origin': local.stack.web_origin})
    # Then only the page's answers say its origin may read them, with X-Kiosk-Session and Retry-After readable
    assert mine['Access-Control-Allow-Origin'] == local.stack.web_origin
    assert set(mine['Access-Control-Expose-Headers'].split(',')) == {'X-Kiosk-Session', 'Retry-After'}
    assert 'Access-Control-Allow-Origin' not in theirs
    assert refused['Access-Control-Allow-Origin'] == local.stack.web_origin


def test_the_webhook_routes_keep_their_own_authentication(local: Local) -> None:
    # Given a webhook from an unknown source, with no token (the webhook routes are not on PeopleApi)
    # When it is posted / Then the webhook function answers it (not the JWT authorizer)
    status, _, body = local.request('POST', '/webhooks/hubspot', {'Content-Type': 'application/json'})
    assert status != 200 and body != b'{"message":"Unauthorized"}'


def test_the_page_and_its_config_are_served_on_the_api_port(local: Local) -> None:
    # When a browser opens the page, and the page reads its configuration
    index = local.request('GET', '/')
    config_status, _, config = local.request('GET', '/config.json')
    # Then index.html is served as HTML, and the configuration names the local API, pool, client and Cognito endpoint
    assert index[0] == 200 and index[1]['Content-Type'] == 'text/html; charset=utf-8' and b'<html' in index[2]
    # And with CloudFront's security headers: the template's CSP, the local Cognito allowed to be fetched (the API is 'self')
    csp = {d.split()[0]: d.split()[1:] for d in index[1]['Content-Security-Policy'].split('; ')}
    assert csp['script-src'] == ["'self'"] and csp['frame-ancestors'] == ["'none'"]
    assert "'self'" in csp['connect-src'] and local.stack.aws_endpoint in csp['connect-src']
    assert (index[1]['X-Content-Type-Options'], index[1]['X-Frame-Options']) == ('nosniff', 'DENY')
    assert config_status == 200
    pool = local.stack.people_pool
    assert pool is not None
    assert json.loads(config) == {'api': local.base, 'region': REGION, 'user_pool_id': pool.pool_id, 'client_id': pool.client_id,
                                  'cognito_endpoint': local.stack.aws_endpoint}  # fmt: skip
    # And nothing outside infrastructure/web/ is served (a file that exists elsewhere, an escape of the folder)
    assert local.request('GET', '/nope.js')[0] == 404
    connection = http.client.HTTPConnection('127.0.0.1', local.stack.api_port, timeout=10)
    connection.request('GET', '/../../template.yaml')
    assert connection.getresponse().status == 404


def test_users_per_role_come_from_the_sample_directory_with_the_kiosk_pins(local: Local) -> None:
    # Given the sample directory (the first workshop location is the first with service advisors)
    people = {p.employee_id: p for p in sample_people()}
    logins = {login.role: login for login in local.logins}
    workshop = next(p.location_id for p in people.values() if p.role == 'service_advisor')

    # Then the advisor is that location's first service advisor, the manager its manager (their location in the token)
    advisor = logins['advisor']
    assert people[advisor.employee_id].role == 'service_advisor' and people[advisor.employee_id].location_id == workshop
    assert people[logins['manager'].employee_id].role == 'manager' and logins['manager'].location == workshop
    assert people[logins['agent'].employee_id].role == 'agent'
    assert logins['regional'].region == people[advisor.employee_id].region
    assert {'hq', 'admin', 'kiosk'} <= set(logins)
    # And every one of them signs in with the local password, in the group of their role
    for login in local.logins:
        claims = jwt.decode(local.tokens(login.username)['IdToken'], options={'verify_signature': False})
        assert claims['cognito:groups'] == [login.group], login.username
    # And each workshop kiosk knows its technicians, whose PIN hashes are in ApiTable (scrypt, never the PIN)
    kiosk = next(login for login in local.logins if login.role == 'kiosk' and login.location == workshop)
    technicians = {e for e, p in people.items() if p.role == 'technician' and p.location_id == workshop}
    assert set(kiosk.pins) == technicians and set(kiosk.pins.values()) == {LOCAL_PIN}
    from shared.api.kiosk_pins import pin_matches
    from shared.api.store import ApiStore

    store = ApiStore(os.environ['API_TABLE'], client=boto3.client('dynamodb', region_name=REGION))
    record = store.pin_record(min(technicians))
    assert record is not None and pin_matches(record, LOCAL_PIN) and not pin_matches(record, '1357')
    item = store.client.get_item(TableName=store.table_name, Key={'pk': {'S': f'PIN#{min(technicians)}'}})['Item']
    assert LOCAL_PIN not in json.dumps(item)


def test_the_stack_exports_what_the_api_functions_and_the_page_read(local: Local) -> None:
    # Then the functions find their table, the signing key (its ARN, the value only in Secrets Manager) and the page's origin
    assert os.environ['API_TABLE'] == 'pitcrew-api'
    arn = os.environ['API_SIGNING_SECRET']
    assert arn.startswith('arn:aws:secretsmanager:')
    value = boto3.client('secretsmanager', region_name=REGION).get_secret_value(SecretId=arn)['SecretString']
    assert len(value) >= 48 and value not in json.dumps(dict(os.environ))
    assert os.environ['WEB_ORIGIN'] == local.stack.web_origin
    assert os.environ['COGNITO_USER_POOL_ID'] == local.stack.people_pool.pool_id  # type: ignore[union-attr]


def test_choosing_local_people_from_a_directory_without_a_workshop() -> None:
    # Given a directory with a support location only (rows as the CSV export gives them)
    rows = [{'employee_id': 'E1', 'name': 'Ana', 'role': 'agent', 'location_id': 'US-NYC', 'region': 'US-East', 'manager_id': 'M1'},
            {'employee_id': 'M1', 'name': 'Maria', 'role': 'manager', 'location_id': 'US-NYC', 'region': 'US-East', 'manager_id': ''}]
    # When the local users are chosen
    logins = choose_local_people(rows)
    # Then the agent, hq and admin, and no kiosk (no workshop)
    assert [(login.role, login.employee_id) for login in logins] == [('agent', 'E1'), ('hq', ''), ('admin', '')]


def test_the_local_users_are_chosen_among_the_people_make_run_imports() -> None:
    # Given the sample month as `make run` generates it (a short form: the people do not depend on the scale)
    from infrastructure.local.sample_month import generate

    # Then its directory is exactly the people the local users are chosen from
    assert sample_people() == generate(scale=0.01).employees


def test_make_run_prints_how_to_log_in_and_its_curl_example_works(local: Local, capsys: pytest.CaptureFixture[str]) -> None:
    # Given what `make run` prints about the people page
    import shutil
    import subprocess

    from infrastructure.local.run import print_people_logins

    print_people_logins(local.stack, local.logins)
    printed = capsys.readouterr().out
    # Then it names the page, the advisor, the manager, the admin and a kiosk with its technicians' PIN
    assert f'{local.stack.web_origin}/' in printed and LOCAL_PASSWORD in printed
    for role in ('advisor', 'manager', 'admin', 'kiosk'):
        assert f'  {role}' in printed, role
    assert f'PIN {LOCAL_PIN}' in printed
    # And its two curl lines, run as printed, get an ID token from the local Cognito and pass the authorizer on GET /v1/me
    if shutil.which('curl') is None:
        pytest.skip('no curl on this machine')
    lines = [line.strip() for line in printed.splitlines() if line.strip().startswith(('TOKEN=$(curl', 'curl '))]
    assert len(lines) == 2
    RECORDED.clear()
    done = subprocess.run(['bash', '-c', f'{lines[0]}\n{lines[1]}'], capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout) == {'ok': True}, done.stderr
    assert RECORDED[0]['requestContext']['authorizer']['jwt']['claims']['cognito:username'] == 'advisor'


def test_the_real_routes_answer_behind_the_local_authorizer(local: Local) -> None:
    # Given the sample directory imported (as `make run` imports it), and the routes' own handlers in place
    from datetime import date

    from infrastructure.local.sample_month import SampleMonth
    from infrastructure.local.stack import invoke

    csv_text = SampleMonth(date(2026, 10, 1), sample_people(), [], 0, 0).directory_csv()
    assert invoke('functions.directory_import.app.lambda_handler', {'format': 'csv', 'content': csv_text})['created'] > 0
    routes = [r for r in local.stack.routes if r.api == 'PeopleApi' and r.path in ('/v1/me', '/v1/kiosk/sessions')]
    for route in routes:
        route.handler = f'functions.{"api_kiosk" if "kiosk" in route.path else "api_people"}.app.lambda_handler'
    try:
        # When the advisor asks for their profile, and the workshop's kiosk opens a technician's session with the local PIN
        advisor = next(login for login in local.logins if login.role == 'advisor')
        status, _, body = local.request('GET', '/v1/me', bearer(local.tokens('advisor')['IdToken']))
        kiosk = next(login for login in local.logins if login.role == 'kiosk')
        code = min(kiosk.pins)
        request = urllib.request.Request(f'{local.base}/v1/kiosk/sessions', method='POST',
                                         data=json.dumps({'employee_code': code, 'pin': LOCAL_PIN}).encode(),
                                         headers={**bearer(local.tokens(kiosk.username)['IdToken']), 'Content-Type': 'application/json',
                                                  'Origin': local.stack.web_origin})  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            opened, opened_headers = json.loads(response.read()), dict(response.headers.items())
    finally:
        for route in routes:
            route.handler = f'{__name__}.recorder'
    # Then the advisor's own profile comes back (the claims as the routes read them), and the kiosk session is the
    # technician's, readable by the page (CORS exposes X-Kiosk-Session)
    assert status == 200, body
    assert json.loads(body)['person']['employee_id'] == advisor.employee_id
    assert opened['person']['employee_id'] == code and opened['expires_in'] == 60
    assert 'X-Kiosk-Session' in opened_headers['Access-Control-Expose-Headers']
