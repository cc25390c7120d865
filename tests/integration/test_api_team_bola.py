"""Broken object-level authorisation (OWASP API1) table for the team and admin routes: every route, called by a role
that must not reach the object (an advisor, the manager of another location, the regional of another region, a kiosk
device, hq on the admin-only routes), about an object of IN-BLR-01 (region South): a person, their dispute, a spot award
waiting for approval, a collusion flag. Each case is refused (403: the role may not use the route; 404: the object is
outside the scope, answered as an unknown one) or, for a list, answered without the object; and no answer carries a
phone number, an e-mail address or the name of a person of IN-BLR-01.

`CASES` (route, role, expectation) is the table; `run_case` runs one inside `bola_world()` (the bench counts
`bola_cases` and `bola_leaks` with them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.people_api import ORG, claims
from tests.support.team_api import (
    HQ,
    KIOSK,
    MANAGER_MUM,
    REGIONAL_WEST,
    call_admin,
    call_team,
    seed_dispute,
    seed_flag,
    seed_spot_request,
    team_world,
)

VICTIM_LOCATION = 'IN-BLR-01'
PERSON, OTHER_PERSON = 'IN-BLR-01-B', 'IN-BLR-01-A'
ROLES: dict[str, dict[str, str]] = {
    'advisor': claims('advisor', employee_id='IN-MUM-01-A', location='IN-MUM-01', region='West'),
    'manager_other_location': MANAGER_MUM,
    'regional_other_region': REGIONAL_WEST,
    'kiosk_device': KIOSK,
    'hq': HQ,
}
TEAM_ATTACKERS = ('advisor', 'manager_other_location', 'regional_other_region', 'kiosk_device')
ADMIN_ATTACKERS = (*TEAM_ATTACKERS, 'hq')


@dataclass(frozen=True)
class Route:
    """One request about the victim's objects; `{award}` and `{flag}` are filled with the seeded ids."""

    api: str  # team | admin
    method: str
    template: str  # the route key's path
    path: str
    query: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    listing: str | None = None  # a list route: the object that must not be in it ('award', 'flag', 'person')


TEAM_ROUTES = [
    Route('team', 'GET', '/v1/team/people', '/v1/team/people', {'location_id': VICTIM_LOCATION}),
    Route('team', 'GET', '/v1/team/people', '/v1/team/people', {'region': 'South'}),
    Route('team', 'GET', '/v1/team/kpis', '/v1/team/kpis', {'location_id': VICTIM_LOCATION}),
    Route('team', 'GET', '/v1/team/kpis', '/v1/team/kpis', {'employee_id': PERSON}),
    Route('team', 'GET', '/v1/team/service-levels', '/v1/team/service-levels', {'location_id': VICTIM_LOCATION}),
    Route('team', 'GET', '/v1/team/standings', '/v1/team/standings', {'program_id': 'pitstop', 'division': 'technician|South'}),
    Route('team', 'GET', '/v1/people/{employee_id}/statement', f'/v1/people/{PERSON}/statement'),
    Route('team', 'GET', '/v1/team/flags', '/v1/team/flags', {'program_id': 'pitstop'}, listing='flag'),
    Route('team', 'GET', '/v1/team/approvals', '/v1/team/approvals', {'program_id': 'pitstop'}, listing='award'),
    Route('team', 'GET', '/v1/team/disputes', '/v1/team/disputes', {'location_id': VICTIM_LOCATION}),
    Route('team', 'GET', '/v1/team/disputes', '/v1/team/disputes', listing='dispute'),
    Route('team', 'POST', '/v1/team/disputes/{dispute_id}/decide', '/v1/team/disputes/{dispute}/decide',
          body={'decision': 'reject', 'reason': 'not a real dispute'}),
    Route('team', 'POST', '/v1/team/approvals/{award_id}/approve', '/v1/team/approvals/{award}/approve'),
    Route('team', 'POST', '/v1/team/approvals/{award_id}/reject', '/v1/team/approvals/{award}/reject', body={'reason': 'not this one'}),
    Route('team', 'POST', '/v1/team/spot-awards', '/v1/team/spot-awards',
          body={'program_id': 'pitstop', 'employee_id': PERSON, 'points': 50, 'reason_id': 'zero_defect_repair'}),
]  # fmt: skip
ADMIN_ROUTES = [
    Route('admin', 'GET', '/v1/admin/programs', '/v1/admin/programs'),
    Route('admin', 'GET', '/v1/admin/programs/{program_id}', '/v1/admin/programs/pitstop'),
    Route('admin', 'POST', '/v1/admin/programs/{program_id}/preview', '/v1/admin/programs/pitstop/preview',
          body={'document': {'program_id': 'pitstop'}, 'month': '2026-11'}),
    Route('admin', 'GET', '/v1/admin/quarantine', '/v1/admin/quarantine', {'day': '2026-12-01'}),
    Route('admin', 'POST', '/v1/admin/quarantine/{quarantine_id}/replay', '/v1/admin/quarantine/q-1/replay', body={}),
    Route('admin', 'POST', '/v1/admin/adjustments', '/v1/admin/adjustments',
          body={'adjustment_id': 'bola-adj-1', 'employee_id': PERSON, 'points': 100, 'reason': 'a bonus for nothing'}),
    Route('admin', 'POST', '/v1/admin/adjustments/{adjustment_id}/approve', '/v1/admin/adjustments/adj-1/approve'),
    Route('admin', 'POST', '/v1/admin/adjustments/{adjustment_id}/reject', '/v1/admin/adjustments/adj-1/reject', body={'reason': 'no no'}),
    Route('admin', 'POST', '/v1/admin/people/{employee_id}/pin', f'/v1/admin/people/{PERSON}/pin', body={'pin': '1357'}),
]  # fmt: skip


def _expectation(route: Route, role: str) -> str:
    if route.api == 'admin' or role in ('advisor', 'kiosk_device'):
        return '403'
    return 'absent' if route.listing else '404'


CASES: list[tuple[Route, str, str]] = [(route, role, _expectation(route, role)) for route in TEAM_ROUTES for role in TEAM_ATTACKERS] + [
    (route, role, _expectation(route, role)) for route in ADMIN_ROUTES for role in ADMIN_ATTACKERS
]

# Nothing of these may appear in any answer: every phone and e-mail, and the names of the victim location's people.
SECRETS = [m.phone for m in ORG] + [m.email for m in ORG] + [f'Name {m.employee_id}' for m in ORG if m.location_id == VICTIM_LOCATION]


@dataclass(frozen=True)
class Objects:
    award_id: str
    flag_key: str
    dispute_id: str


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    refused: bool  # as the case expects
    leaked: list[str]  # secrets found in the answer


@contextmanager
def bola_world() -> Iterator[Objects]:
    """The ORG world with one object of each kind in IN-BLR-01."""
    with team_world():
        dispute_id = seed_dispute(PERSON)
        award_id = seed_spot_request('M-IN-BLR-01', OTHER_PERSON, 'bola-seed-award')
        flag_key = seed_flag(OTHER_PERSON, PERSON, 'M-IN-BLR-01')
        yield Objects(award_id, flag_key, dispute_id)


def run_case(case: tuple[Route, str, str], objects: Objects) -> Outcome:
    route, role, expectation = case
    path = route.path.replace('{award}', objects.award_id).replace('{dispute}', objects.dispute_id)
    params = _path_parameters(route.template, path)
    call = call_team if route.api == 'team' else call_admin
    status, body = call(route.method, path, ROLES[role], route=route.template, query=route.query, body=route.body,
                        key=f'bola-{role}-{abs(hash(path)) % 10**8:08d}' if route.method == 'POST' else None, params=params)  # fmt: skip
    text = json.dumps(body)
    leaked = [secret for secret in SECRETS if secret in text]
    if expectation == 'absent':
        marker = {'award': objects.award_id, 'dispute': objects.dispute_id}.get(route.listing or '', PERSON)
        refused = status in (200, 403, 404) and marker not in text
    else:
        refused = status == int(expectation)
    return Outcome(status, body, refused, leaked)


def _path_parameters(template: str, path: str) -> dict[str, str] | None:
    names = [part[1:-1] for part in template.split('/') if part.startswith('{')]
    if not names:
        return None
    values = [value for part, value in zip(template.split('/'), path.split('/'), strict=True) if part.startswith('{')]
    return dict(zip(names, values, strict=True))


@pytest.fixture(scope='module')
def objects() -> Iterator[Objects]:
    with bola_world() as seeded:
        yield seeded


def _case_id(case: tuple[Route, str, str]) -> str:
    route, role, expectation = case
    return f'{route.method} {route.template}{"?" + "&".join(route.query) if route.query else ""} as {role} -> {expectation}'


@pytest.mark.parametrize('case', CASES, ids=[_case_id(case) for case in CASES])
def test_an_object_of_another_scope_is_refused_without_leaking(case: tuple[Route, str, str], objects: Objects) -> None:
    # Given an object of IN-BLR-01; When a caller outside its scope uses the route about it
    outcome = run_case(case, objects)
    # Then it is refused (or absent from the list), and the answer carries no contact details nor the victims' names
    assert outcome.refused, (outcome.status, outcome.body)
    assert outcome.leaked == []


def test_the_objects_are_reachable_in_scope(objects: Objects) -> None:
    """The table is meaningful: the victim location's manager does see each object the attackers were refused."""
    from tests.support.team_api import MANAGER_BLR1

    status, body = call_team('GET', '/v1/team/approvals', MANAGER_BLR1, query={'program_id': 'pitstop'})
    assert status == 200 and objects.award_id in json.dumps(body)
    status, body = call_team('GET', '/v1/team/flags', MANAGER_BLR1, query={'program_id': 'pitstop'})
    assert status == 200 and PERSON in json.dumps(body)
    status, body = call_team('GET', '/v1/team/disputes', MANAGER_BLR1)
    assert status == 200 and [d['dispute_id'] for d in body['items']] == [objects.dispute_id]
    status, _ = call_team('GET', f'/v1/people/{PERSON}/statement', MANAGER_BLR1, route='/v1/people/{employee_id}/statement',
                          params={'employee_id': PERSON})  # fmt: skip
    assert status == 200
    assert len(CASES) >= 90
