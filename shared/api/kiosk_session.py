"""Kiosk session tokens: a shared workshop screen (a Cognito user in group `kiosk`, scoped to its location) opens a
session for ONE person after their employee code and PIN are checked (functions/api_kiosk). The token carries only that
person's scope, expires 60 s after the last request (every answer returns a refreshed one in `X-Kiosk-Session`), and
is bound to the device that opened it. Tampered, expired, ended or another device's: 401."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from shared.api.errors import Unauthorized
from shared.api.principal import Principal, Role
from shared.api.signing import seal, unseal

PURPOSE = 'kiosk-session'
IDLE_S = 60
HEADER = 'X-Kiosk-Session'


def open_session(device: Principal, employee_id: str, now: datetime, master: bytes | None = None) -> tuple[str, str]:
    """(token, session id) for a person at this device."""
    sid = secrets.token_urlsafe(12)
    return _token(device, employee_id, sid, now, master), sid


def _token(device: Principal, employee_id: str, sid: str, now: datetime, master: bytes | None) -> str:
    payload = {'emp': employee_id, 'loc': device.location_id, 'dev': device.subject, 'sid': sid,
               'exp': int((now + timedelta(seconds=IDLE_S)).timestamp())}  # fmt: skip
    return seal(PURPOSE, payload, master)


def read_session(device: Principal, token: str, now: datetime, master: bytes | None = None) -> dict[str, Any]:
    """The session's payload, or 401. The caller also checks the session id was not ended (the kiosk's logout)."""
    if device.role is not Role.KIOSK:
        raise Unauthorized('a kiosk session is only valid with its kiosk device token', field=HEADER)
    payload = unseal(PURPOSE, token, master)
    if payload is None:
        raise Unauthorized('the kiosk session is not valid', field=HEADER)
    if payload.get('dev') != device.subject or payload.get('loc') != device.location_id:
        raise Unauthorized('the kiosk session was opened on another kiosk', field=HEADER)
    if int(payload.get('exp', 0)) <= now.timestamp():
        raise Unauthorized('the kiosk session ended after 60 s without use', field=HEADER, code='session_expired')
    return payload


def session_principal(device: Principal, payload: dict[str, Any]) -> Principal:
    """The person the session is for, with an advisor's scope (themselves) and nothing of the device's."""
    return Principal(subject=f'{device.subject}#{payload["emp"]}', role=Role.ADVISOR, employee_id=str(payload['emp']),
                     location_id=device.location_id, kiosk_device=device.subject)  # fmt: skip


def refreshed(device: Principal, payload: dict[str, Any], now: datetime, master: bytes | None = None) -> str:
    return _token(device, str(payload['emp']), str(payload['sid']), now, master)
