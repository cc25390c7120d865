"""Kiosk sessions on a shared workshop screen (PeopleApi routes; the device is a Cognito user in group `kiosk` whose
custom:location is its workshop):

  POST   /v1/kiosk/sessions  {"employee_code": "IN-BLR-01-B", "pin": "2468"}
         -> 201 {"session": "<token>", "expires_in": 60, "person": {...their own profile}}   (+ header X-Kiosk-Session)
  DELETE /v1/kiosk/sessions  (header X-Kiosk-Session)  -> {"ok": true}; the session is refused from then on

An unknown code, a person of another location, an inactive one, no PIN set or a wrong PIN: the same 401 `wrong code or
PIN`. More than 5 wrong PINs for a person (across kiosks) lock them for 15 minutes: 429 with Retry-After, and the PIN is
not checked while locked (shared/api/kiosk_pins.py). The session acts as that one person on ApiPeopleFunction's routes
marked K, for 60 s after its last use (shared/api/kiosk_session.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel, ConfigDict, Field

from shared.api import kiosk_session
from shared.api.errors import Forbidden, Unauthorized
from shared.api.http import body, current, handler, people_api
from shared.api.principal import Role

app = people_api()


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    employee_code: str = Field(min_length=1, max_length=64)
    pin: str = Field(min_length=1, max_length=16)


@app.post('/v1/kiosk/sessions')
def open_session() -> Response:
    from shared.api import kiosk_pins

    call = current(app)
    device = call.principal
    if device.role is not Role.KIOSK or device.is_kiosk_session:
        raise Forbidden('only a kiosk device opens kiosk sessions (and not from inside one)')
    request = body(app, SessionRequest)
    person = call.scope.people.person(request.employee_code) or call.scope.people.person(request.employee_code.upper())
    employee_id = kiosk_pins.at_kiosk(person, device)
    kiosk_pins.login(call.api, employee_id, request.pin, call.now)
    assert person is not None and employee_id is not None
    token, _ = kiosk_session.open_session(device, employee_id, call.now)
    answer: dict[str, Any] = {'session': token, 'expires_in': kiosk_session.IDLE_S, 'person': person.own()}
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=answer,
                    headers={kiosk_session.HEADER: token})  # fmt: skip


@app.delete('/v1/kiosk/sessions')
def close_session() -> dict[str, Any]:
    call = current(app)
    if call.kiosk is None:
        raise Unauthorized('no kiosk session to end: send it in X-Kiosk-Session', field=kiosk_session.HEADER)
    call.api.end_session(str(call.kiosk['sid']), int(call.now.timestamp()) + 2 * kiosk_session.IDLE_S)
    call.kiosk = None  # no refreshed token for an ended session
    return {'ok': True}


lambda_handler = handler(app)
