"""The people's user pool on the local AWS (moto Cognito), created from template.yaml's own resources (PeopleUserPool,
PeopleUserPoolClient, the UserPoolGroups), the API's signing key in moto Secrets Manager, and one local user per role
from the sample directory (design15.md, "Local users"), with the workshop technicians' kiosk PINs.

Every local user has the password LOCAL_PASSWORD; every technician of the kiosk's location the PIN LOCAL_PIN. These are
local values only: nothing here runs in AWS.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infrastructure.local.template_resources import template_resources

POOL_ID = 'PeopleUserPool'
CLIENT_ID = 'PeopleUserPoolClient'
LOCAL_PASSWORD = 'Pitcrew-local-1'
LOCAL_PIN = '2468'
SIGNING_SECRET_NAME = 'pitcrew-local-api-signing-key'
WORKSHOP_ROLES = ('service_advisor', 'technician')
# The Cognito API's names for the template's user pool properties (CloudFormation's are the same, except Policies).
_POOL_KEYS = ('Policies', 'MfaConfiguration', 'AdminCreateUserConfig', 'UsernameConfiguration', 'AccountRecoverySetting',
              'AutoVerifiedAttributes', 'UsernameAttributes', 'AliasAttributes')  # fmt: skip
_CLIENT_KEYS = ('ExplicitAuthFlows', 'ReadAttributes', 'WriteAttributes', 'GenerateSecret', 'PreventUserExistenceErrors',
                'EnableTokenRevocation', 'AccessTokenValidity', 'IdTokenValidity', 'RefreshTokenValidity',
                'TokenValidityUnits')  # fmt: skip


@dataclass(frozen=True)
class LocalPool:
    pool_id: str
    client_id: str
    region: str
    groups: tuple[str, ...]

    @property
    def issuer(self) -> str:
        """The `iss` of the pool's tokens, as Cognito (and moto) writes it."""
        return f'https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}'


@dataclass(frozen=True)
class LocalLogin:
    """A local user: how to log in, and what their token carries."""

    role: str  # advisor, agent, manager, regional, hq, admin, kiosk
    username: str
    password: str
    group: str
    name: str = ''
    employee_id: str = ''
    location: str = ''
    region: str = ''
    # A kiosk's technicians: employee code -> PIN.
    pins: dict[str, str] = field(default_factory=dict)


def _scalar(value: Any) -> Any:
    """CloudFormation's strings for numbers and booleans ('1', 'true') as the Cognito API takes them."""
    if isinstance(value, dict):
        return {k: _scalar(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scalar(v) for v in value]
    return value


def create_people_pool(cognito: Any, region: str, name: str = 'pitcrew-people') -> LocalPool:
    """The template's PeopleUserPool, its client and its groups, created through the Cognito API (moto locally)."""
    resources = template_resources()
    pool_props = resources[POOL_ID]['Properties']
    pool_args = {key: _scalar(pool_props[key]) for key in _POOL_KEYS if key in pool_props}
    pool_args['Schema'] = [dict(attribute) for attribute in pool_props.get('Schema', [])]
    pool_args['DeletionProtection'] = 'INACTIVE'  # a throwaway local pool
    pool_id = cognito.create_user_pool(PoolName=name, **pool_args)['UserPool']['Id']
    if 'SOFTWARE_TOKEN_MFA' in pool_props.get('EnabledMfas', []) and pool_props.get('MfaConfiguration') in ('ON', 'OPTIONAL'):
        cognito.set_user_pool_mfa_config(UserPoolId=pool_id, SoftwareTokenMfaConfiguration={'Enabled': True},
                                         MfaConfiguration=pool_props['MfaConfiguration'])  # fmt: skip
    client_props = resources[CLIENT_ID]['Properties']
    client_args = {key: _scalar(client_props[key]) for key in _CLIENT_KEYS if key in client_props}
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName=client_props.get('ClientName', 'pitcrew-page'),
                                                **client_args)['UserPoolClient']['ClientId']  # fmt: skip
    groups = []
    for resource in resources.values():
        props = resource.get('Properties', {})
        if resource.get('Type') == 'AWS::Cognito::UserPoolGroup' and props.get('UserPoolId') == {'Ref': POOL_ID}:
            cognito.create_group(UserPoolId=pool_id, GroupName=props['GroupName'], Description=props.get('Description', ''),
                                 Precedence=int(props.get('Precedence', 0)))  # fmt: skip
            groups.append(props['GroupName'])
    return LocalPool(pool_id, client_id, region, tuple(groups))


def create_signing_secret(secretsmanager: Any) -> str:
    """ApiSigningKey locally: a fresh random value in moto Secrets Manager (as GenerateSecretString would); its ARN."""
    value = secrets.token_urlsafe(48)
    return str(secretsmanager.create_secret(Name=SIGNING_SECRET_NAME, SecretString=value)['ARN'])


def _field(row: Any, name: str) -> str:
    value = row.get(name, '') if isinstance(row, Mapping) else getattr(row, name, '')
    return str(value or '')


def choose_local_people(rows: Iterable[Any]) -> list[LocalLogin]:
    """Who logs in locally (design15.md): from directory rows (mappings or objects with employee_id, name, role,
    location_id, region, manager_id), in their order. The first workshop location is the first location with service
    advisors or technicians; the first support location the first with agents."""
    people = list(rows)
    by_location: dict[str, list[Any]] = {}
    for row in people:
        by_location.setdefault(_field(row, 'location_id'), []).append(row)
    workshops = [loc for loc, staff in by_location.items() if any(_field(p, 'role') in WORKSHOP_ROLES for p in staff)]
    supports = [loc for loc, staff in by_location.items() if any(_field(p, 'role') == 'agent' for p in staff)]
    logins: list[LocalLogin] = []

    def person(role: str, username: str, group: str, row: Any, **extra: str) -> LocalLogin:
        return LocalLogin(role, username, LOCAL_PASSWORD, group, name=_field(row, 'name'), employee_id=_field(row, 'employee_id'),
                          location=extra.get('location', ''), region=extra.get('region', ''))  # fmt: skip

    if workshops:
        workshop = workshops[0]
        staff = by_location[workshop]
        advisor = next((p for p in staff if _field(p, 'role') == 'service_advisor'), None)
        if advisor is not None:
            logins.append(person('advisor', 'advisor', 'advisor', advisor))
    if supports:
        agent = next(p for p in by_location[supports[0]] if _field(p, 'role') == 'agent')
        logins.append(person('agent', 'agent', 'advisor', agent))
    if workshops:
        workshop = workshops[0]
        staff = by_location[workshop]
        manager_ids = {_field(p, 'manager_id') for p in staff} - {''}
        manager = next((p for p in staff if _field(p, 'role') == 'manager'), None) or next(
            (p for p in people if _field(p, 'employee_id') in manager_ids), None)
        if manager is not None:
            logins.append(person('manager', 'manager', 'manager', manager, location=workshop))
        region = _field(staff[0], 'region')
        logins.append(LocalLogin('regional', 'regional', LOCAL_PASSWORD, 'regional', name=f'Regional manager {region}', region=region))
    logins.append(LocalLogin('hq', 'hq', LOCAL_PASSWORD, 'hq', name='Head office'))
    logins.append(LocalLogin('admin', 'admin', LOCAL_PASSWORD, 'admin', name='Program admin'))
    for workshop in workshops:
        technicians = [_field(p, 'employee_id') for p in by_location[workshop] if _field(p, 'role') == 'technician']
        logins.append(LocalLogin('kiosk', f'kiosk-{workshop.lower()}', LOCAL_PASSWORD, 'kiosk', name=f'Kiosk {workshop}',
                                 location=workshop, pins=dict.fromkeys(technicians, LOCAL_PIN)))  # fmt: skip
    return logins


def _attributes(login: LocalLogin) -> list[dict[str, str]]:
    values = {'name': login.name, 'custom:employee_id': login.employee_id, 'custom:location': login.location,
              'custom:region': login.region}  # fmt: skip
    return [{'Name': name, 'Value': value} for name, value in values.items() if value]


def set_pin(dynamodb: Any, table_name: str, employee_id: str, pin: str) -> None:
    """A kiosk PIN set through the kiosk code's own interface (shared/api/kiosk_pins.py: scrypt with a salt in ApiTable)."""
    from shared.api.kiosk_pins import set_pin as kiosk_set_pin
    from shared.api.store import ApiStore

    kiosk_set_pin(employee_id, pin, datetime.now(UTC), store=ApiStore(table_name, client=dynamodb))


def create_local_users(cognito: Any, pool: LocalPool, rows: Iterable[Any], dynamodb: Any, api_table: str) -> list[LocalLogin]:
    """One user per role from the directory rows (choose_local_people), confirmed with LOCAL_PASSWORD and in their group;
    the kiosk locations' technicians get LOCAL_PIN. Returns the logins."""
    logins = choose_local_people(rows)
    for login in logins:
        cognito.admin_create_user(UserPoolId=pool.pool_id, Username=login.username, UserAttributes=_attributes(login),
                                  TemporaryPassword=LOCAL_PASSWORD, MessageAction='SUPPRESS')  # fmt: skip
        cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=login.username, Password=LOCAL_PASSWORD, Permanent=True)
        cognito.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=login.username, GroupName=login.group)
        for employee_id, pin in login.pins.items():
            set_pin(dynamodb, api_table, employee_id, pin)
    return logins
