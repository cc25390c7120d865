"""The people-facing API under test: HTTP API v2 events carrying verified JWT claims (as API Gateway's JWT authorizer
passes them: every claim a string, groups as "[a b]"), and a moto world with an organisation of two regions.

Organisation (`ORG`): region South has IN-BLR-01 and IN-BLR-02, region West has IN-MUM-01. Each location has a manager
(M-<loc>) and two people (<loc>-A, <loc>-B: a service advisor and a technician). Everyone has a phone and an e-mail, so
a response leaking them is caught.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from tests.support.local_aws import LocalAws, local_aws

SIGNING_SECRET_NAME = 'pitcrew-test-api-signing'
LOCATIONS = {'IN-BLR-01': 'South', 'IN-BLR-02': 'South', 'IN-MUM-01': 'West'}


@dataclass(frozen=True)
class Member:
    employee_id: str
    role: str
    location_id: str
    region: str
    manager_id: str | None
    phone: str
    email: str


def _org() -> list[Member]:
    people = []
    for n, (location, region) in enumerate(LOCATIONS.items()):
        manager = f'M-{location}'
        people.append(Member(manager, 'manager', location, region, None, f'+9198000{n}0000', f'{manager.lower()}@example.com'))
        for k, (suffix, role) in enumerate((('A', 'service_advisor'), ('B', 'technician'))):
            employee_id = f'{location}-{suffix}'
            people.append(Member(employee_id, role, location, region, manager, f'+9198000{n}000{k + 1}', f'{employee_id.lower()}@example.com'))
    return people


ORG = _org()
BY_ID = {m.employee_id: m for m in ORG}


def directory_csv(members: list[Member] = ORG) -> str:
    header = 'employee_id,name,role,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone,language'
    rows = [f'{m.employee_id},Name {m.employee_id},{m.role},{m.location_id},{m.region},{m.manager_id or ""},{m.phone},true,{m.email},'
            f'Asia/Kolkata,en' for m in members]  # fmt: skip
    return '\n'.join([header, *rows])


def claims(role: str, *, employee_id: str | None = None, location: str | None = None, region: str | None = None,
           programs: str | None = None, sub: str | None = None, groups: str | None = None) -> dict[str, str]:
    """A Cognito ID token's claims as the function sees them behind the JWT authorizer (all strings)."""
    found: dict[str, str] = {
        'sub': sub or str(uuid.uuid5(uuid.NAMESPACE_URL, f'{role}:{employee_id}:{location}:{region}')),
        'cognito:groups': groups if groups is not None else f'[{role}]',
        'token_use': 'id', 'iss': 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test', 'aud': 'client-test',
    }  # fmt: skip
    for name, value in (('employee_id', employee_id), ('location', location), ('region', region), ('programs', programs)):
        if value is not None:
            found[f'custom:{name}'] = value
    return found


def claims_of(member: Member, role: str | None = None) -> dict[str, str]:
    """The claims a member's own login carries: advisor for staff, manager (with location) for managers."""
    role = role or ('manager' if member.role == 'manager' else 'advisor')
    return claims(role, employee_id=member.employee_id, location=member.location_id, region=member.region)


def people_event(method: str, path: str, *, claims: dict[str, str] | None, route: str | None = None,
                 query: dict[str, str] | None = None, body: Any = None, headers: dict[str, str] | None = None,
                 path_parameters: dict[str, str] | None = None) -> dict[str, Any]:
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    route_key = f'{method} {route or path}'
    event: dict[str, Any] = {
        'version': '2.0', 'routeKey': route_key, 'rawPath': path,
        'rawQueryString': '&'.join(f'{k}={v}' for k, v in (query or {}).items()),
        'headers': {'content-type': 'application/json', **{k.lower(): v for k, v in (headers or {}).items()}},
        'requestContext': {
            'accountId': '123456789012', 'apiId': 'people', 'domainName': 'people.execute-api.us-east-1.amazonaws.com',
            'http': {'method': method, 'path': path, 'protocol': 'HTTP/1.1', 'sourceIp': '203.0.113.7', 'userAgent': 'test'},
            'requestId': str(uuid.uuid4()), 'routeKey': route_key, 'stage': '$default', 'timeEpoch': 1764720000000,
        },
        'body': text, 'isBase64Encoded': False,
    }  # fmt: skip
    if claims is not None:
        event['requestContext']['authorizer'] = {'jwt': {'claims': claims, 'scopes': None}}
    if query:
        event['queryStringParameters'] = query
    if path_parameters:
        event['pathParameters'] = path_parameters
    return event


def answer(result: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a resolver's answer."""
    return int(result['statusCode']), json.loads(result.get('body') or '{}')


@contextmanager
def api_world(*, directory: bool = True) -> Iterator[LocalAws]:
    """moto with every table of the template, the API's signing secret, and (by default) the organisation imported."""
    with local_aws() as aws:
        region = os.environ['AWS_DEFAULT_REGION']
        boto3.client('secretsmanager', region_name=region).create_secret(Name=SIGNING_SECRET_NAME, SecretString=uuid.uuid4().hex * 2)
        os.environ['API_SIGNING_SECRET'] = SIGNING_SECRET_NAME
        from shared.api.signing import _master_key
        from shared.config import get_settings

        get_settings.cache_clear()
        _master_key.cache_clear()
        if directory:
            from shared.directory.employees import parse_export
            from shared.directory.store import DirectoryStore

            DirectoryStore().import_rows(parse_export(directory_csv(), 'csv'), datetime.now(UTC) - timedelta(days=30))
        try:
            yield aws
        finally:
            _master_key.cache_clear()
            os.environ.pop('API_SIGNING_SECRET', None)
