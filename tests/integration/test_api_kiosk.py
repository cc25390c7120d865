"""Kiosk sessions (functions/api_kiosk) end to end on moto: a workshop screen opens a session for one technician with
their employee code and PIN; the lockout after more than 5 wrong PINs (the PIN not even checked while locked); the
session's 60-second idle timeout, its refresh on every answer, its binding to the device, and logout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from functions.api_kiosk import app as kiosk
from functions.api_people import app as people
from shared.api.kiosk_pins import set_pin
from tests.support.people_api import BY_ID, claims, claims_of
from tests.support.people_seed import World, call, people_world

NOW = datetime(2026, 10, 20, 6, 0, tzinfo=UTC)
TECH = BY_ID['IN-BLR-01-B']
DEVICE = claims('kiosk', location='IN-BLR-01', sub='kiosk-in-blr-01')
OTHER_DEVICE = claims('kiosk', location='IN-BLR-01', sub='kiosk-in-blr-01-second-screen')
MUMBAI_DEVICE = claims('kiosk', location='IN-MUM-01', sub='kiosk-in-mum-01')
REFUSED = {'ok': False, 'error': 'wrong code or PIN', 'refused': 'wrong_pin'}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with people_world(monkeypatch, NOW) as world:
        for member in (TECH, BY_ID['IN-MUM-01-B']):
            set_pin(member.employee_id, '2468', NOW)
        yield world


def login(code: str, pin: str, device: dict[str, str] = DEVICE) -> tuple[int, dict, dict[str, str]]:
    return call(kiosk, 'POST', '/v1/kiosk/sessions', device, body={'employee_code': code, 'pin': pin})


def as_session(token: str, path: str = '/v1/me', device: dict[str, str] = DEVICE) -> tuple[int, dict, dict[str, str]]:
    return call(people, 'GET', path, device, headers={'X-Kiosk-Session': token})


def test_a_technician_opens_a_session_and_sees_only_their_own_figures(world: World) -> None:
    # Given: the workshop's kiosk; the technician's PIN
    # When: they log in, then read /v1/me ten seconds later
    status, body, headers = login(TECH.employee_id, '2468')
    world.set_now(NOW + timedelta(seconds=10))
    me_status, me, me_headers = as_session(body['session'])
    # Then: a 60-second session for them (their own profile), their figures, and a refreshed token on the answer
    assert status == 201 and body['expires_in'] == 60 and body['person']['employee_id'] == TECH.employee_id
    assert headers['x-kiosk-session'] == body['session']
    assert me_status == 200 and me['person']['employee_id'] == TECH.employee_id and me['kiosk'] is True
    assert me_headers['x-kiosk-session'] and me_headers['x-kiosk-session'] != body['session']
    # And: a refused request inside the session (a bad month) refreshes it too
    bad, refused, bad_headers = call(people, 'GET', '/v1/me/statement', DEVICE, query={'month': '2026-13'},
                                     headers={'X-Kiosk-Session': me_headers['x-kiosk-session']})  # fmt: skip
    assert bad == 400 and refused['field'] == 'month' and bad_headers['x-kiosk-session']


def test_the_session_stays_alive_while_used_and_ends_after_60_s_idle(world: World) -> None:
    # Given: a session
    _, body, _ = login(TECH.employee_id, '2468')
    # When: used every 50 s with the token of the previous answer, then left 61 s
    token = body['session']
    for step in (50, 100, 150):
        world.set_now(NOW + timedelta(seconds=step))
        status, _, headers = as_session(token)
        assert status == 200
        token = headers['x-kiosk-session']
    world.set_now(NOW + timedelta(seconds=150 + 61))
    status, expired, _ = as_session(token)
    # Then: refused once idle
    assert status == 401 and expired['refused'] == 'session_expired'


def test_wrong_pins_lock_the_person_for_15_minutes_without_checking_the_pin(world: World) -> None:
    # Given: five wrong PINs
    answers = [login(TECH.employee_id, '1111')[:2] for _ in range(5)]
    # When: a sixth wrong one, then the right one, then the right one 15 minutes later
    sixth, locked, headers = login(TECH.employee_id, '1111')
    right_status, right, right_headers = login(TECH.employee_id, '2468')
    world.set_now(NOW + timedelta(minutes=15, seconds=1))
    later, opened, _ = login(TECH.employee_id, '2468')
    # Then: 401 five times, 429 with Retry-After for the sixth and for the right PIN while locked; open afterwards
    assert answers == [(401, REFUSED)] * 5
    assert sixth == 429 and locked['refused'] == 'pin_locked' and headers['retry-after'] == '900'
    assert right_status == 429 and 'session' not in right and int(right_headers['retry-after']) == 900
    assert later == 201 and opened['person']['employee_id'] == TECH.employee_id


def test_the_lock_counts_across_kiosks(world: World) -> None:
    # Given: three wrong PINs on one screen and three on another of the same workshop
    for device in (DEVICE, OTHER_DEVICE):
        for _ in range(3):
            status, _, _ = login(TECH.employee_id, '0000', device)
    # When / Then: the sixth (on the second screen) locked the person
    assert status == 429


@pytest.mark.parametrize(('code', 'pin', 'device'), [
    ('IN-BLR-01-B', '1357', DEVICE),  # wrong PIN
    ('NOBODY-01', '2468', DEVICE),  # unknown code
    ('IN-BLR-01-A', '2468', DEVICE),  # no PIN set
    ('IN-MUM-01-B', '2468', DEVICE),  # the right PIN, but another location's person
    ('IN-BLR-01-B', '2468', MUMBAI_DEVICE),  # the right PIN on another location's kiosk
])  # fmt: skip
def test_every_refusal_is_the_same_answer(world: World, code: str, pin: str, device: dict[str, str]) -> None:
    # Given / When: a login that must not open a session
    status, body, _ = login(code, pin, device)
    # Then: the same 401 and no hint (no name, no location)
    assert (status, body) == (401, REFUSED)


def test_a_tampered_or_foreign_session_is_refused(world: World) -> None:
    # Given: a session opened on the first screen
    _, body, _ = login(TECH.employee_id, '2468')
    token = body['session']
    payload, _, mac = token.partition('.')
    tampered = payload[:-2] + ('A' if payload[-2] != 'A' else 'B') + payload[-1] + '.' + mac
    # When: edited, used on another screen, or without any kiosk device token
    edited = as_session(tampered)
    foreign = as_session(token, device=OTHER_DEVICE)
    advisor = call(people, 'GET', '/v1/me', claims_of(BY_ID['IN-BLR-01-A']), headers={'X-Kiosk-Session': token})
    # Then: each 401
    assert edited[0] == foreign[0] == advisor[0] == 401
    assert 'person' not in edited[1] and 'person' not in foreign[1]


def test_logout_ends_the_session(world: World) -> None:
    # Given: a session in use
    _, body, _ = login(TECH.employee_id, '2468')
    # When: the screen logs out, then the token (or the logout's own answer) is used again
    status, ended, headers = call(kiosk, 'DELETE', '/v1/kiosk/sessions', DEVICE, headers={'X-Kiosk-Session': body['session']})
    after = as_session(body['session'])
    # Then: logged out, no fresh token handed back, and refused from then on
    assert status == 200 and ended == {'ok': True} and 'x-kiosk-session' not in headers
    assert after[0] == 401 and after[1]['refused'] == 'session_ended'


def test_only_a_kiosk_device_opens_sessions_and_a_session_cannot_give_or_set_a_pin(world: World) -> None:
    # Given: a session, and an advisor's own login
    _, body, _ = login(TECH.employee_id, '2468')
    session = {'X-Kiosk-Session': body['session']}
    # When: an advisor tries to open a session; the session tries to open another, to give thanks, to set the PIN
    advisor = call(kiosk, 'POST', '/v1/kiosk/sessions', claims_of(BY_ID['IN-BLR-01-A']), body={'employee_code': TECH.employee_id,
                                                                                               'pin': '2468'})  # fmt: skip
    nested = call(kiosk, 'POST', '/v1/kiosk/sessions', DEVICE, headers=session, body={'employee_code': TECH.employee_id, 'pin': '2468'})
    give = call(people, 'POST', '/v1/recognitions', DEVICE, headers=session | {'Idempotency-Key': 'kiosk-give-0001'},
                body={'to_employee_id': 'IN-BLR-01-A', 'points': 10})  # fmt: skip
    pin = call(people, 'PUT', '/v1/me/pin', DEVICE, headers=session, body={'pin': '1234'})
    # Then: all 403
    assert [advisor[0], nested[0], give[0], pin[0]] == [403, 403, 403, 403]


def test_a_kiosk_session_may_redeem(world: World) -> None:
    # Given: the technician with 1,000 points, logged in at the kiosk
    world.write(world.entry(TECH.employee_id, 1000, NOW - timedelta(days=1)))
    _, body, _ = login(TECH.employee_id, '2468')
    # When: they redeem a voucher from the kiosk
    status, redeemed, headers = call(people, 'POST', '/v1/redemptions', DEVICE, body={'item_id': 'amazon-500'},
                                     headers={'X-Kiosk-Session': body['session'], 'Idempotency-Key': 'kiosk-redeem-0001'})  # fmt: skip
    # Then: reserved for them, and the answer carries a refreshed session
    assert status == 200 and redeemed['status'] == 'reserved' and redeemed['points'] == 500
    assert headers['x-kiosk-session']


def test_the_console_event_opens_a_session_for_the_sample_technician(world: World) -> None:
    # Given: the sample directory imported and the local PIN of its IN-BLR-01 technician (E4)
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from tests.support.apigw import lambda_context
    from tests.support.people_api import answer
    from tests.support.people_seed import EVENTS

    DirectoryStore().import_rows(parse_export((EVENTS / 'directory_sample.csv').read_text(), 'csv'), NOW - timedelta(days=30))
    set_pin('E4', '2468', NOW)
    # When: events/api_kiosk.json is run through the handler, as from the Lambda console
    status, body = answer(kiosk.lambda_handler(json.loads((EVENTS / 'api_kiosk.json').read_text()), lambda_context()))
    # Then: a session for E4
    assert status == 201 and body['person']['employee_id'] == 'E4'
