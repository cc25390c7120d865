"""Who is asking: the caller's role and scope, from the claims the JWT authorizer verified (never from the request).

API Gateway's HTTP API JWT authorizer hands the function every claim as a string (`cognito:groups` arrives as
`"[manager advisor]"`); a list (a test, a REST authorizer) is read too. The role is the highest of the groups; the scope
claims are the Cognito user's custom attributes, which the app client cannot write (only an admin or the directory sync).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.api.errors import Forbidden, Unauthorized


class Role(StrEnum):
    ADVISOR = 'advisor'  # any frontline person: agents, advisors, technicians, support staff
    MANAGER = 'manager'  # a location (workshop manager, team lead)
    REGIONAL = 'regional'  # a region
    HQ = 'hq'  # everything, read and decide
    ADMIN = 'admin'  # everything, plus the admin routes
    KIOSK = 'kiosk'  # a shared workshop screen: nothing by itself; a kiosk session acts as one person


RANK = {Role.KIOSK: 0, Role.ADVISOR: 1, Role.MANAGER: 2, Role.REGIONAL: 3, Role.HQ: 4, Role.ADMIN: 5}
PEOPLE_ROLES = frozenset({Role.MANAGER, Role.REGIONAL, Role.HQ, Role.ADMIN})  # roles that see other people


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str  # the token's `sub` (a kiosk session: the device's sub + the person)
    role: Role
    employee_id: str | None = None
    location_id: str | None = None
    region: str | None = None
    programs: tuple[str, ...] = ()  # empty: every program
    kiosk_device: str | None = None  # set on a kiosk session: the device user's sub

    @property
    def is_kiosk_session(self) -> bool:
        return self.kiosk_device is not None

    def in_program(self, program_id: str) -> bool:
        return not self.programs or program_id in self.programs

    def label(self) -> str:
        """For logs and audit records: role and ids, no personal data."""
        who = self.employee_id or self.subject
        return f'{self.role.value}:{who}' + (f'@kiosk:{self.kiosk_device}' if self.kiosk_device else '')


def groups_of(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith('[') and text.endswith(']'):
        text = text[1:-1]
    return [g for g in text.replace(',', ' ').split() if g]


def _claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(f'custom:{name}')
    text = str(value).strip() if value is not None else ''
    return text or None


def principal_from_claims(claims: Mapping[str, Any] | None) -> Principal:
    """The caller, or 401 (no claims: the authorizer did not run) / 403 (no role, or a role without its scope claim)."""
    if not claims or not claims.get('sub'):
        raise Unauthorized('no verified token')
    roles = [Role(g) for g in groups_of(claims.get('cognito:groups')) if g in Role._value2member_map_]
    if not roles:
        raise Forbidden('the token carries no Pitcrew role (cognito:groups)', field='cognito:groups')
    role = max(roles, key=RANK.__getitem__)
    employee_id, location_id, region = _claim(claims, 'employee_id'), _claim(claims, 'location'), _claim(claims, 'region')
    programs = tuple(p.strip() for p in (_claim(claims, 'programs') or '').split(',') if p.strip())
    required = {Role.ADVISOR: ('employee_id', employee_id), Role.MANAGER: ('location', location_id),
                Role.REGIONAL: ('region', region), Role.KIOSK: ('location', location_id)}.get(role)  # fmt: skip
    if required is not None and not required[1]:
        raise Forbidden(f'the token has no {required[0]} scope claim for role {role.value}', field=f'custom:{required[0]}')
    return Principal(subject=str(claims['sub']), role=role, employee_id=employee_id, location_id=location_id, region=region,
                     programs=programs)  # fmt: skip
