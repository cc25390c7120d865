"""The resolver every people-facing route runs through (shared/api/http.py), against moto: authentication, per-user
throttling, kiosk sessions, refusals naming the field, and idempotency keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from shared.api import throttle
from shared.api.http import body, current, handler, people_api, query
from shared.api.idempotency import once, read_key
from shared.api.kiosk_session import HEADER, open_session, read_session
from shared.api.principal import principal_from_claims
from shared.api.store import ApiStore
from tests.support.apigw import lambda_context
from tests.support.people_api import BY_ID, answer, api_world, claims, claims_of, people_event

RUNS: list[dict[str, Any]] = []


class Month(BaseModel):
    model_config = ConfigDict(extra='forbid')
    month: str = Field(pattern=r'^\d{4}-(0[1-9]|1[0-2])$')


class Thanks(BaseModel):
    model_config = ConfigDict(extra='forbid')
    points: int = Field(ge=1, le=100)


app = people_api()


@app.get('/v1/echo')
def echo() -> dict[str, Any]:
    call = current(app)
    me = call.scope.me()
    return {'employee_id': me.employee_id, 'month': query(app, Month).month, 'kiosk': call.principal.is_kiosk_session}


@app.post('/v1/thanks')
def thanks() -> dict[str, Any]:
    call = current(app)
    request = body(app, Thanks)
    key = read_key(app.current_event.headers)

    def run() -> dict[str, Any]:
        RUNS.append(request.model_dump())
        return {'ok': True, 'run': len(RUNS)}

    return once('thanks', call.principal, key, request.model_dump(), run)


lambda_handler = handler(app)


@pytest.fixture
def world() -> Iterator[None]:
    RUNS.clear()
    with api_world():
        yield


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    result = lambda_handler(event, lambda_context())
    status, data = answer(result)
    return status, data, {k.lower(): v for k, v in (result.get('headers') or {}).items()}


ADVISOR = claims_of(BY_ID['IN-BLR-01-A'])


def test_a_person_reads_their_own_data_and_bad_input_names_the_field(world: None) -> None:
    # Given: an advisor's verified claims
    # When: a good request, a bad month, and an unknown parameter
    good = call(people_event('GET', '/v1/echo', claims=ADVISOR, query={'month': '2026-11'}))
    bad = call(people_event('GET', '/v1/echo', claims=ADVISOR, query={'month': '2026-13'}))
    unknown = call(people_event('GET', '/v1/echo', claims=ADVISOR, query={'month': '2026-11', 'employee_id': 'IN-MUM-01-A'}))
    # Then: the caller's own id (never the request's), and 400s naming the field
    assert good[:2] == (200, {'employee_id': 'IN-BLR-01-A', 'month': '2026-11', 'kiosk': False})
    assert (bad[0], bad[1]['field']) == (400, 'month')
    assert (unknown[0], unknown[1]['field']) == (400, 'employee_id')


def test_no_verified_claims_is_401_and_a_token_without_scope_is_403(world: None) -> None:
    # Given / When: no authorizer context, and a manager token without its location
    missing = call(people_event('GET', '/v1/echo', claims=None, query={'month': '2026-11'}))
    scopeless = call(people_event('GET', '/v1/echo', claims=claims('manager', employee_id='M-IN-BLR-01'), query={'month': '2026-11'}))
    # Then
    assert missing[0] == 401
    assert (scopeless[0], scopeless[1]['field']) == (403, 'custom:location')


def test_each_caller_is_throttled_alone(world: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: a limit of 3 requests a minute
    monkeypatch.setattr(throttle, 'PER_MINUTE', 3)
    event = people_event('GET', '/v1/echo', claims=ADVISOR, query={'month': '2026-11'})
    # When: the same person asks 4 times, then someone else asks once
    statuses = [call(event)[0] for _ in range(4)]
    refused = call(event)
    other = call(people_event('GET', '/v1/echo', claims=claims_of(BY_ID['IN-BLR-01-B']), query={'month': '2026-11'}))
    # Then: the 4th is a 429 with Retry-After; the other person is not affected
    assert statuses == [200, 200, 200, 429]
    assert 1 <= int(refused[2]['retry-after']) <= 60
    assert other[0] == 200


def test_a_points_moving_post_runs_once_per_key_and_refuses_the_key_with_another_body(world: None) -> None:
    # Given: a POST with an Idempotency-Key
    def post(points: int, key: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        return call(people_event('POST', '/v1/thanks', claims=ADVISOR, body={'points': points},
                                 headers={'Idempotency-Key': key} if key else None))  # fmt: skip

    # When: sent, retried, re-used with another body, and sent without a key
    first, retry, reused, keyless = post(10, 'key-0001-abc'), post(10, 'key-0001-abc'), post(20, 'key-0001-abc'), post(10, None)
    # Then: one run, the retry answers the first outcome, a reused key is a 409, no key is a 400 naming the header
    assert first[:2] == (200, {'ok': True, 'run': 1}) and retry[:2] == first[:2]
    assert (reused[0], reused[1]['refused']) == (409, 'key_reused')
    assert (keyless[0], keyless[1]['field']) == (400, 'Idempotency-Key')
    assert RUNS == [{'points': 10}]


def test_a_kiosk_session_acts_as_its_person_and_refreshes_its_token(world: None) -> None:
    # Given: a kiosk device at IN-BLR-01 and a session it opened for IN-BLR-01-B
    device = claims('kiosk', location='IN-BLR-01', sub='kiosk-blr-01')
    token, sid = open_session(principal_from_claims(device), 'IN-BLR-01-B', datetime.now(UTC))
    # When: the device asks with the session, without it, with it edited, and after a logout
    with_session = call(people_event('GET', '/v1/echo', claims=device, query={'month': '2026-11'}, headers={HEADER: token}))
    device_alone = call(people_event('GET', '/v1/echo', claims=device, query={'month': '2026-11'}))
    tampered = call(people_event('GET', '/v1/echo', claims=device, query={'month': '2026-11'}, headers={HEADER: token[:-3] + 'AAA'}))
    ApiStore().end_session(sid, int(datetime.now(UTC).timestamp()) + 60)
    ended = call(people_event('GET', '/v1/echo', claims=device, query={'month': '2026-11'}, headers={HEADER: token}))
    # Then: the session's person only, with a refreshed token; the device alone is no one; edits and logouts are 401
    assert with_session[:2] == (200, {'employee_id': 'IN-BLR-01-B', 'month': '2026-11', 'kiosk': True})
    renewed = read_session(principal_from_claims(device), with_session[2][HEADER.lower()], datetime.now(UTC))
    assert renewed['emp'] == 'IN-BLR-01-B' and renewed['exp'] >= read_session(principal_from_claims(device), token, datetime.now(UTC))['exp']
    assert device_alone[0] == 403
    assert tampered[0] == 401 and ended[0] == 401
