"""Object-level authorisation of the person's own routes and the kiosk routes (OWASP API1 BOLA, API3): every route ×
every role × an object of another scope, refused (400/401/403/404 as the table says) and never leaking another person's
phone number, e-mail address or name.

`CASES` is the table (route, role, expectation, attempt); `run_table()` runs it in one moto world and answers
`{"bola_cases": n, "bola_leaks": m}` (what the bench reports); the test runs every case.

Roles: an advisor (IN-BLR-01-A); the manager of the victim's location; a regional manager and an hq user (each with an
employee id of their own); the workshop's kiosk device without a session; a kiosk session of another person
(IN-BLR-01-A at the IN-BLR-01 screen). The victim is IN-BLR-01-B (same location as the advisor and the manager, so even
a role whose team scope covers them gets nothing of theirs from the person's own routes). Objects of another scope: the
victim's redemption and ledger entry, the victim named as a parameter, another location's and another team's feed,
another program (ecommerce_support, which no one here is in), another location's person at the kiosk, another kiosk's
session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest

from functions.api_kiosk import app as kiosk
from functions.api_people import app as people
from tests.support.people_api import BY_ID, ORG, claims, claims_of
from tests.support.people_seed import World, call, people_world

NOW = datetime(2026, 10, 20, 6, 0, tzinfo=UTC)
VICTIM = BY_ID['IN-BLR-01-B']
SESSION_PERSON = BY_ID['IN-BLR-01-A']
OTHER_PROGRAM = 'ecommerce_support'
DEVICE = claims('kiosk', location='IN-BLR-01', sub='kiosk-in-blr-01')
MUMBAI_DEVICE = claims('kiosk', location='IN-MUM-01', sub='kiosk-in-mum-01')
ROLES = ('advisor', 'manager', 'regional', 'hq', 'kiosk_device', 'kiosk_session')
KIOSK_ROUTES = ('POST /v1/kiosk/sessions', 'DELETE /v1/kiosk/sessions')

# route -> the attempts on another scope's object it is tried with
ATTEMPTS: dict[str, tuple[str, ...]] = {
    'GET /v1/me': ('person',),
    'GET /v1/me/statement': ('program', 'person'),
    'GET /v1/me/rank': ('program', 'person'),
    'GET /v1/standings': ('program',),
    'GET /v1/feed': ('program', 'location', 'team'),
    'POST /v1/recognitions': ('program',),
    'GET /v1/catalogue': ('program',),
    'POST /v1/redemptions': ('program', 'person'),
    'GET /v1/redemptions': ('person',),
    'GET /v1/redemptions/{redemption_id}': ('redemption',),
    'POST /v1/disputes': ('entry',),
    'GET /v1/disputes': ('person',),
    'PUT /v1/me/pin': ('person',),
    'POST /v1/kiosk/sessions': ('person_elsewhere',),
    'DELETE /v1/kiosk/sessions': ('foreign_session',),
}


class Case(NamedTuple):
    route: str
    role: str
    expectation: str  # the statuses that refuse it, e.g. '403|404'
    attempt: str

    @property
    def allowed(self) -> set[int]:
        return {int(s) for s in self.expectation.split('|')}


def _expectation(route: str, role: str, attempt: str) -> str:
    if route in KIOSK_ROUTES:
        return '401' if route.startswith('DELETE') or role == 'kiosk_device' else '403'
    if role == 'kiosk_device':
        return '403'  # a device is nobody: nothing but opening a session
    if role == 'kiosk_session' and route in ('POST /v1/recognitions', 'POST /v1/disputes', 'GET /v1/disputes', 'PUT /v1/me/pin'):
        return '403'  # not from a kiosk
    if attempt == 'person':
        return '400'  # the person's own routes take no one else's id: the parameter itself is refused, naming it
    return '404'  # another scope's object is answered as an unknown one


CASES: list[Case] = [Case(route, role, _expectation(route, role, attempt), attempt)
                     for route, attempts in ATTEMPTS.items() for attempt in attempts for role in ROLES]  # fmt: skip


@dataclass
class Objects:
    """What the victim and the other scopes own, and the callers' tokens."""

    redemption_id: str
    entry_id: str
    session: str  # the kiosk session of SESSION_PERSON at DEVICE
    foreign_session: str  # a session opened at another location's kiosk

    def caller(self, role: str) -> tuple[dict[str, str], dict[str, str]]:
        """(claims, extra headers) of a role."""
        tokens = {
            'advisor': claims_of(SESSION_PERSON),
            'manager': claims_of(BY_ID['M-IN-BLR-01']),
            'regional': claims('regional', employee_id='M-IN-BLR-02', region='South'),
            'hq': claims('hq', employee_id='M-IN-MUM-01'),
            'kiosk_device': DEVICE,
            'kiosk_session': DEVICE,
        }  # fmt: skip
        return tokens[role], ({'X-Kiosk-Session': self.session} if role == 'kiosk_session' else {})

    def own_name(self, role: str) -> str | None:
        return {'advisor': SESSION_PERSON.employee_id, 'manager': 'M-IN-BLR-01', 'regional': 'M-IN-BLR-02', 'hq': 'M-IN-MUM-01',
                'kiosk_session': SESSION_PERSON.employee_id}.get(role)  # fmt: skip


def request_of(case: Case, objects: Objects) -> dict[str, Any]:
    """The request a case sends: the route with the other scope's object in it."""
    method, route = case.route.split(' ', 1)
    path, query, body = route, None, None
    path_parameters = None
    key = {'Idempotency-Key': f'bola-{case.role}-{case.attempt}-0001'}
    headers: dict[str, str] = {}
    if case.attempt == 'program':
        if method == 'GET':
            query = {'program_id': OTHER_PROGRAM}
        elif route == '/v1/recognitions':
            body, headers = {'program_id': OTHER_PROGRAM, 'to_employee_id': VICTIM.employee_id, 'points': 10}, key
        else:
            body, headers = {'program_id': OTHER_PROGRAM, 'item_id': 'amazon-500'}, key
    elif case.attempt == 'person':
        if method == 'GET':
            query = {'employee_id': VICTIM.employee_id}
        elif route == '/v1/me/pin':
            body = {'pin': '9999', 'employee_id': VICTIM.employee_id}
        else:
            body, headers = {'item_id': 'amazon-500', 'employee_id': VICTIM.employee_id}, key
    elif case.attempt == 'location':
        query = {'location_id': 'IN-MUM-01', 'scope': 'location'}
    elif case.attempt == 'team':
        query = {'team_id': 'M-IN-MUM-01'}
    elif case.attempt == 'redemption':
        path = f'/v1/redemptions/{objects.redemption_id}'
        path_parameters = {'redemption_id': objects.redemption_id}
        route = '/v1/redemptions/<redemption_id>'
    elif case.attempt == 'entry':
        body = {'entry_id': objects.entry_id, 'reason': 'this is not right'}
    elif case.attempt == 'person_elsewhere':
        body = {'employee_code': 'IN-MUM-01-B', 'pin': '2468'}
    claims_, role_headers = objects.caller(case.role)
    headers = headers | role_headers
    if case.attempt == 'foreign_session':
        headers = {'X-Kiosk-Session': objects.foreign_session}
    module = kiosk if case.route in KIOSK_ROUTES else people
    return {'module': module, 'method': method, 'path': path, 'claims': claims_, 'route': route, 'query': query, 'body': body,
            'headers': headers, 'path_parameters': path_parameters}  # fmt: skip


def leaks(case: Case, objects: Objects, answer: dict[str, Any], headers: dict[str, str]) -> list[str]:
    """Another person's phone number, e-mail address or name anywhere in the answer."""
    text = json.dumps(answer, ensure_ascii=False) + json.dumps(headers)
    own = objects.own_name(case.role)
    found = [value for m in ORG for value in (m.phone, m.email) if value in text]
    return found + [f'Name {m.employee_id}' for m in ORG if m.employee_id != own and f'Name {m.employee_id}' in text]


def run_case(case: Case, objects: Objects) -> tuple[int, list[str]]:
    """(status, leaks) of one case; a leak is also an answer that is not one of the refusals the table expects."""
    request = request_of(case, objects)
    status, answer, headers = call(request.pop('module'), request.pop('method'), request.pop('path'), request.pop('claims'), **request)
    found = leaks(case, objects, answer, headers)
    if status not in case.allowed or answer.get('ok') is not False:
        found.append(f'answered {status} {answer}')
    return status, found


def seed(world: World) -> Objects:
    """The victim's redemption and entry, PINs, the kiosk sessions (through the real use cases and routes)."""
    from shared.api.kiosk_pins import set_pin
    from shared.wallet.redeem import RedeemRequest
    from shared.wallet.service import Redemptions

    (entry,) = world.write(world.entry(VICTIM.employee_id, 1000, NOW - timedelta(days=1)))
    request = RedeemRequest(program_id='pitstop', employee_id=VICTIM.employee_id, item_id='amazon-500', idempotency_key='victim-0001')
    redemption = Redemptions.from_settings().request(request, NOW)
    for member in (SESSION_PERSON, VICTIM, BY_ID['IN-MUM-01-B']):
        set_pin(member.employee_id, '2468', NOW)
    sessions = []
    for device, code in ((DEVICE, SESSION_PERSON.employee_id), (MUMBAI_DEVICE, 'IN-MUM-01-B')):
        status, body, _ = call(kiosk, 'POST', '/v1/kiosk/sessions', device, body={'employee_code': code, 'pin': '2468'})
        assert status == 201, body
        sessions.append(body['session'])
    return Objects(redemption_id=redemption['redemption_id'], entry_id=entry.entry_id, session=sessions[0], foreign_session=sessions[1])


@contextmanager
def bola_world() -> Iterator[Objects]:
    with pytest.MonkeyPatch.context() as monkeypatch, people_world(monkeypatch, NOW) as world:
        yield seed(world)


def run_table() -> dict[str, int]:
    """Every case in one world: what the bench reports (`bola_cases`, `bola_leaks`)."""
    with bola_world() as objects:
        leaked = sum(1 for case in CASES if run_case(case, objects)[1])
    return {'bola_cases': len(CASES), 'bola_leaks': leaked}


@pytest.fixture(scope='module')
def objects() -> Iterator[Objects]:
    with bola_world() as found:
        yield found


def test_the_table_covers_every_route_and_role() -> None:
    # Given / When / Then: each of the 15 routes is tried by each of the 6 roles
    assert {(c.route, c.role) for c in CASES} == {(route, role) for route in ATTEMPTS for role in ROLES}
    assert all(c.expectation in ('400', '401', '403', '404') for c in CASES)


@pytest.mark.parametrize('case', CASES, ids=lambda c: f'{c.route}|{c.role}|{c.attempt}')
def test_another_scopes_object_is_refused_without_leaking(objects: Objects, case: Case) -> None:
    # Given: the victim's objects and the other scopes (module fixture)
    # When: the role asks for them through the route
    status, found = run_case(case, objects)
    # Then: refused as the table says, and nothing of anyone else in the answer
    assert found == [], f'{case}: {found}'
    assert status in case.allowed
