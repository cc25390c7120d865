"""Infrastructure tests for the people-facing API and page (issue 15) in template.yaml: every route of the design is
declared on PeopleApi for its function; the Cognito JWT authorizer is the default and no route opts out; CORS allows
the page's origin only; the page's app client reads but never writes the scope attributes; the page's bucket is read by
its CloudFront distribution only; the four functions find their table and signing key by reference, and only they
may read the key. Each guard is checked on the real template and on a broken snippet (it can fail).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infrastructure.local.template_resources import template_document

DOCUMENT = template_document()
RESOURCES: dict[str, Any] = DOCUMENT['Resources']
API_FUNCTIONS = ('ApiPeopleFunction', 'ApiTeamFunction', 'ApiAdminFunction', 'ApiKioskFunction')
SCOPE_ATTRIBUTES = {'custom:employee_id', 'custom:location', 'custom:region', 'custom:programs'}

# The routes of design15.md ("the template's events and the functions must match exactly").
DESIGN_ROUTES: dict[str, set[str]] = {
    'ApiPeopleFunction': {
        'GET /v1/me', 'GET /v1/me/statement', 'GET /v1/me/rank', 'GET /v1/standings', 'GET /v1/feed', 'POST /v1/recognitions',
        'GET /v1/catalogue', 'POST /v1/redemptions', 'GET /v1/redemptions', 'GET /v1/redemptions/{redemption_id}',
        'POST /v1/disputes', 'GET /v1/disputes', 'PUT /v1/me/pin',
    },
    'ApiTeamFunction': {
        'GET /v1/team/people', 'GET /v1/team/kpis', 'GET /v1/team/service-levels', 'GET /v1/team/standings',
        'GET /v1/people/{employee_id}/statement', 'GET /v1/team/flags', 'GET /v1/team/programs', 'GET /v1/team/disputes',
        'POST /v1/team/disputes/{dispute_id}/decide', 'GET /v1/team/approvals', 'POST /v1/team/approvals/{award_id}/approve',
        'POST /v1/team/approvals/{award_id}/reject', 'POST /v1/team/spot-awards',
    },
    'ApiAdminFunction': {
        'GET /v1/admin/programs', 'GET /v1/admin/programs/{program_id}', 'POST /v1/admin/programs/{program_id}/preview',
        'GET /v1/admin/previews/{preview_id}',  # a preview is a job (shared/programs/preview_jobs.py): its state and result
        'GET /v1/admin/quarantine', 'POST /v1/admin/quarantine/{quarantine_id}/replay', 'POST /v1/admin/adjustments',
        'POST /v1/admin/adjustments/{adjustment_id}/approve', 'POST /v1/admin/adjustments/{adjustment_id}/reject',
        'POST /v1/admin/people/{employee_id}/pin',
    },
    'ApiKioskFunction': {'POST /v1/kiosk/sessions', 'DELETE /v1/kiosk/sessions'},
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def http_events(resources: dict[str, Any]) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(function, 'METHOD /path', ApiId, event properties) of every HttpApi event."""
    found = []
    for name, resource in resources.items():
        if resource.get('Type') != 'AWS::Serverless::Function':
            continue
        for event in (resource['Properties'].get('Events') or {}).values():
            if event.get('Type') == 'HttpApi':
                props = event['Properties']
                found.append((name, f'{str(props["Method"]).upper()} {props["Path"]}', props.get('ApiId'), props))
    return found


def people_routes(resources: dict[str, Any]) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for function, route, api, _ in http_events(resources):
        if api == {'Ref': 'PeopleApi'}:
            routes.setdefault(function, set()).add(route)
    return routes


def test_every_route_of_the_design_is_on_the_people_api_for_its_function() -> None:
    # Given: the HttpApi events of the template that name PeopleApi
    routes = people_routes(RESOURCES)
    # Then: exactly the design's routes, each on the function the design gives it
    assert routes == DESIGN_ROUTES
    # And: no route of PeopleApi is also declared on another API, nor another function's
    elsewhere = {route for function, route, api, _ in http_events(RESOURCES) if api != {'Ref': 'PeopleApi'} and route.startswith(('GET /v1', 'POST /v1'))}
    assert elsewhere == set()


def authorizer_violations(resources: dict[str, Any]) -> list[str]:
    """PeopleApi routes that may run without the Cognito JWT authorizer, and a JWT configuration that is not the pool's."""
    problems = []
    api = resources['PeopleApi']['Properties']
    auth = api.get('Auth') or {}
    if auth.get('DefaultAuthorizer') != 'CognitoJwt':
        problems.append(f'DefaultAuthorizer is {auth.get("DefaultAuthorizer")!r}')
    jwt = ((auth.get('Authorizers') or {}).get('CognitoJwt') or {}).get('JwtConfiguration') or {}
    issuer = str((jwt.get('issuer') or {}).get('Fn::Sub', '')) if isinstance(jwt.get('issuer'), dict) else ''
    if issuer != 'https://cognito-idp.${AWS::Region}.amazonaws.com/${PeopleUserPool}':
        problems.append(f'issuer {jwt.get("issuer")!r}')
    if _as_list(jwt.get('audience')) != [{'Ref': 'PeopleUserPoolClient'}]:
        problems.append(f'audience {jwt.get("audience")!r}')
    for function, route, api_id, props in http_events(resources):
        if api_id == {'Ref': 'PeopleApi'} and 'Auth' in props:
            problems.append(f'{function} {route}: sets its own Auth {props["Auth"]}')
    return problems


def test_the_jwt_authorizer_guards_every_people_api_route() -> None:
    # Given / When: PeopleApi's Auth and every route on it
    # Then: the Cognito JWT authorizer (the pool's issuer, the page client's audience) is the default and no route opts out
    assert authorizer_violations(RESOURCES) == []


@pytest.mark.parametrize('breakage', ['route-opts-out', 'no-default', 'other-audience'])
def test_the_authorizer_guard_catches_an_open_route(breakage: str) -> None:
    # Given: the template with one route unauthorised, no default authorizer, or another audience
    resources = copy.deepcopy(RESOURCES)
    api = resources['PeopleApi']['Properties']
    if breakage == 'route-opts-out':
        resources['ApiPeopleFunction']['Properties']['Events']['GetMe']['Properties']['Auth'] = {'Authorizer': 'NONE'}
    elif breakage == 'no-default':
        del api['Auth']['DefaultAuthorizer']
    else:
        api['Auth']['Authorizers']['CognitoJwt']['JwtConfiguration']['audience'] = ['some-other-client']
    # When / Then: the guard reports it
    assert authorizer_violations(resources)


def cors_violations(api: dict[str, Any]) -> list[str]:
    cors = api['Properties'].get('CorsConfiguration')
    if not isinstance(cors, dict):
        return [f'CorsConfiguration {cors!r} (true means any origin)']
    problems = []
    origins = _as_list(cors.get('AllowOrigins') or [])
    if not origins:
        problems.append('no AllowOrigins')
    for origin in origins:
        plain_text = isinstance(origin, str)
        if '*' in str(origin) or (plain_text and not origin.startswith('https://')):
            problems.append(f'origin {origin!r}')
    if cors.get('AllowCredentials') not in (None, False):
        problems.append('AllowCredentials')
    return problems


def test_cors_allows_the_page_origin_only() -> None:
    # Given: PeopleApi's CORS configuration
    cors = RESOURCES['PeopleApi']['Properties']['CorsConfiguration']
    # Then: one origin, the WebOrigin parameter or the distribution's own https domain, never '*'
    assert cors_violations(RESOURCES['PeopleApi']) == []
    assert cors['AllowOrigins'] == [{'Fn::If': ['HasWebOrigin', {'Ref': 'WebOrigin'}, {'Fn::Sub': 'https://${WebDistribution.DomainName}'}]}]
    # And: the headers the page sends and reads (the idempotency key, the kiosk session, Retry-After)
    assert set(cors['AllowHeaders']) == {'Authorization', 'Content-Type', 'Idempotency-Key', 'X-Kiosk-Session'}
    assert set(cors['ExposeHeaders']) == {'X-Kiosk-Session', 'Retry-After'}
    # And: the functions answer for the same origin
    for function in API_FUNCTIONS:
        assert RESOURCES[function]['Properties']['Environment']['Variables']['WEB_ORIGIN'] == cors['AllowOrigins'][0]


@pytest.mark.parametrize('cors', [True, {'AllowOrigins': ['*']}, {'AllowOrigins': ['http://page.example.com']}, {'AllowOrigins': []}],
                         ids=['true', 'star', 'plain-http', 'none'])
def test_the_cors_guard_catches_an_open_origin(cors: Any) -> None:
    # Given: PeopleApi with an open or plain-http origin
    api = {'Properties': {'CorsConfiguration': cors}}
    # When / Then: the guard reports it
    assert cors_violations(api)


def test_every_write_route_has_its_own_throttle() -> None:
    # Given: PeopleApi's route settings
    api = RESOURCES['PeopleApi']['Properties']
    settings = api['RouteSettings']
    writes = {route for routes in DESIGN_ROUTES.values() for route in routes if route.split()[0] in ('POST', 'PUT')}
    # Then: every POST/PUT route has a throttle at most the default's, and the default is set
    assert writes <= set(settings)
    default = api['DefaultRouteSettings']
    for route in writes:
        assert int(settings[route]['ThrottlingRateLimit']) <= int(default['ThrottlingRateLimit']), route
    # And: the access log goes to its own group with a retention
    assert api['AccessLogSettings']['DestinationArn'] == {'Fn::GetAtt': ['PeopleApiAccessLogGroup', 'Arn']}
    assert RESOURCES['PeopleApiAccessLogGroup']['Properties']['RetentionInDays'] == {'Ref': 'LogRetentionDays'}


def client_attribute_violations(client: dict[str, Any]) -> list[str]:
    props = client['Properties']
    if 'WriteAttributes' not in props:
        return ['no WriteAttributes: the client may write every writable attribute']
    problems = [f'writes {a}' for a in props['WriteAttributes'] if str(a).startswith('custom:')]
    problems += [f'cannot read {a}' for a in sorted(SCOPE_ATTRIBUTES - set(props.get('ReadAttributes') or []))]
    if props.get('GenerateSecret'):
        problems.append('has a secret (a page cannot keep one)')
    return problems


def test_the_page_client_reads_but_cannot_write_the_scope_attributes() -> None:
    # Given: the user pool's custom attributes and the page's app client
    schema = {f'custom:{a["Name"]}' for a in RESOURCES['PeopleUserPool']['Properties']['Schema']}
    client = RESOURCES['PeopleUserPoolClient']
    # Then: the pool carries the four scope attributes; the client reads them and writes none of them
    assert schema == SCOPE_ATTRIBUTES
    assert client_attribute_violations(client) == []
    # And: it signs in as the design says, with no secret
    assert set(client['Properties']['ExplicitAuthFlows']) == {'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH'}
    # And: only admins create users (nobody signs themselves up into a scope)
    assert RESOURCES['PeopleUserPool']['Properties']['AdminCreateUserConfig']['AllowAdminCreateUserOnly'] is True


@pytest.mark.parametrize('change', [{'WriteAttributes': ['locale', 'custom:location']}, {'WriteAttributes': None}, {'GenerateSecret': True}],
                         ids=['writes-location', 'writes-everything', 'secret'])
def test_the_client_guard_catches_a_client_that_writes_the_scope(change: dict[str, Any]) -> None:
    # Given: the page client allowed to write its location (or, without WriteAttributes, everything), or with a secret
    client = copy.deepcopy(RESOURCES['PeopleUserPoolClient'])
    for key, value in change.items():
        if value is None:
            client['Properties'].pop(key)
        else:
            client['Properties'][key] = value
    # When / Then: the guard reports it
    assert client_attribute_violations(client)


def test_the_six_role_groups_exist_in_the_pool_with_admin_first() -> None:
    # Given: the user pool groups
    groups = {r['Properties']['GroupName']: r['Properties'] for r in RESOURCES.values() if r.get('Type') == 'AWS::Cognito::UserPoolGroup'}
    # Then: the design's six, in PeopleUserPool, precedence in the order of the roles (lower wins)
    assert set(groups) == {'advisor', 'manager', 'regional', 'hq', 'admin', 'kiosk'}
    assert all(g['UserPoolId'] == {'Ref': 'PeopleUserPool'} for g in groups.values())
    order = sorted(groups, key=lambda name: groups[name]['Precedence'])
    assert order[:5] == ['admin', 'hq', 'regional', 'manager', 'advisor']


def test_the_api_table_and_the_signing_key_are_found_by_reference_only() -> None:
    # Given: the four API functions' environments and grants
    for function in API_FUNCTIONS:
        env = DOCUMENT['Globals']['Function']['Environment']['Variables'] | RESOURCES[function]['Properties']['Environment']['Variables']
        # Then: the table and the secret by reference (the secret's ARN, never its value)
        assert env['API_TABLE'] == {'Ref': 'ApiTable'} and env['API_SIGNING_SECRET'] == {'Ref': 'ApiSigningKey'}, function
    # And: ApiTable is keyed by pk only, expires records by expires_at, with PITR and SSE
    table = RESOURCES['ApiTable']['Properties']
    assert table['KeySchema'] == [{'AttributeName': 'pk', 'KeyType': 'HASH'}]
    assert table['TimeToLiveSpecification'] == {'AttributeName': 'expires_at', 'Enabled': True}
    # And: the secret is generated by Secrets Manager (no value in the template)
    assert 'SecretString' not in RESOURCES['ApiSigningKey']['Properties']
    assert 'GenerateSecretString' in RESOURCES['ApiSigningKey']['Properties']


def secret_readers(resources: dict[str, Any]) -> set[str]:
    readers = set()
    for name, resource in resources.items():
        if resource.get('Type') != 'AWS::Serverless::Function':
            continue
        for policy in resource['Properties'].get('Policies') or []:
            for statement in (policy.get('Statement') or []) if isinstance(policy, dict) else []:
                actions = [str(a) for a in _as_list(statement.get('Action', []))]
                if any(a.startswith('secretsmanager:') or a == '*' for a in actions):
                    assert _as_list(statement['Resource']) == [{'Ref': 'ApiSigningKey'}], f'{name}: {statement}'
                    readers.add(name)
    return readers


def test_only_the_api_functions_read_the_signing_key() -> None:
    # Given / When: every function granted a Secrets Manager action
    # Then: the four API functions, each on the signing key only
    assert secret_readers(RESOURCES) == set(API_FUNCTIONS)


def test_only_cloudfront_reads_the_page_bucket() -> None:
    # Given: the page's bucket and its policy
    bucket = RESOURCES['WebBucket']['Properties']
    statements = RESOURCES['WebBucketPolicy']['Properties']['PolicyDocument']['Statement']
    allows = [s for s in statements if s['Effect'] == 'Allow']
    # Then: private (public access blocked, ACLs off), encrypted, versioned, logged
    assert all(bucket['PublicAccessBlockConfiguration'][k] is True for k in
               ('BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets'))
    assert bucket['BucketEncryption'] and bucket['VersioningConfiguration'] == {'Status': 'Enabled'}
    assert bucket['LoggingConfiguration']['DestinationBucketName'] == {'Ref': 'PayoutsAccessLogsBucket'}
    # And: the one Allow is CloudFront's GetObject, for this distribution only; everything else over TLS only
    assert len(allows) == 1 and allows[0]['Principal'] == {'Service': 'cloudfront.amazonaws.com'} and allows[0]['Action'] == 's3:GetObject'
    source = allows[0]['Condition']['StringEquals']['AWS:SourceArn']['Fn::Sub']
    assert source.endswith(':distribution/${WebDistribution}')
    assert any(s['Effect'] == 'Deny' and s['Condition'] == {'Bool': {'aws:SecureTransport': 'false'}} for s in statements)
    # And: the access-log bucket lets S3's logging service deliver the page's logs under web/
    log_policy = RESOURCES['PayoutsAccessLogsBucketPolicy']['Properties']['PolicyDocument']['Statement'][0]
    assert {'Fn::Sub': '${PayoutsAccessLogsBucket.Arn}/web/*'} in _as_list(log_policy['Resource'])


def test_the_distribution_serves_the_page_over_https_with_security_headers() -> None:
    # Given: the distribution and its response headers policy
    config = RESOURCES['WebDistribution']['Properties']['DistributionConfig']
    headers = RESOURCES['WebResponseHeadersPolicy']['Properties']['ResponseHeadersPolicyConfig']['SecurityHeadersConfig']
    behaviours = [config['DefaultCacheBehavior'], *config.get('CacheBehaviors', [])]
    # Then: index.html at /, HTTPS only, through Origin Access Control, every behaviour with the security headers
    assert config['DefaultRootObject'] == 'index.html'
    assert config['Origins'][0]['OriginAccessControlId'] == {'Fn::GetAtt': ['WebOriginAccessControl', 'Id']}
    for behaviour in behaviours:
        assert behaviour['ViewerProtocolPolicy'] == 'redirect-to-https'
        assert behaviour['ResponseHeadersPolicyId'] == {'Ref': 'WebResponseHeadersPolicy'}
        assert behaviour['AllowedMethods'] == ['GET', 'HEAD']
    # And: the CSP lets the page fetch from the API and Cognito, and nothing runs from elsewhere
    csp = headers['ContentSecurityPolicy']['ContentSecurityPolicy']['Fn::Sub']
    directives = {d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(';')) if d}
    assert directives['script-src'] == ["'self'"] and directives['default-src'] == ["'none'"]
    assert 'https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}' in directives['connect-src']
    assert 'https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}' in directives['connect-src']
    assert directives['frame-ancestors'] == ["'none'"]
    assert headers['StrictTransportSecurity']['AccessControlMaxAgeSec'] >= 31536000


def test_the_outputs_give_what_the_page_is_published_with() -> None:
    # Given: the template's outputs
    outputs = DOCUMENT['Outputs']
    # Then: what infrastructure/web_publish.py reads to write config.json and upload the page
    assert {'PeopleApiUrl', 'WebUrl', 'PeopleUserPoolId', 'PeopleUserPoolClientId', 'WebBucketName', 'WebDistributionId'} <= set(outputs)
    from infrastructure.web_publish import REQUIRED_OUTPUTS

    assert set(REQUIRED_OUTPUTS) <= set(outputs)


@pytest.mark.parametrize('function', API_FUNCTIONS)
def test_each_api_function_has_a_console_event_shaped_as_the_authorizer_passes_it(function: str) -> None:
    # Given the function's console test event (events/<function>.json)
    import json
    from pathlib import Path

    package = str(RESOURCES[function]['Properties']['Handler']).split('.')[1]
    event = json.loads((Path(__file__).resolve().parents[2] / 'events' / f'{package}.json').read_text())
    # Then it is one of the function's routes, with the JWT authorizer's claims as API Gateway passes them (strings)
    assert event['routeKey'] in DESIGN_ROUTES[function]
    claims = event['requestContext']['authorizer']['jwt']['claims']
    assert claims and all(isinstance(value, str) for value in claims.values())
    assert claims['cognito:groups'].startswith('[') and claims['token_use'] == 'id'
