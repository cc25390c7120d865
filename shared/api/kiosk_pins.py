"""Kiosk PINs: how a PIN is kept (scrypt with a per-PIN salt, in ApiTable `PIN#<employee_id>`, never the PIN itself and
never logged), and the lockout: more than `MAX_FAILURES` wrong PINs for one person (across every kiosk) within
`LOCK_S` lock them out for `LOCK_S`; while locked the PIN is not even checked and nothing is written (429 with
Retry-After). A right PIN clears the count.

`decide` is pure (the record read, the PIN typed, the time -> what to answer and what to write); `set_pin` and `login`
wrap it with the store (shared/api/store.ApiStore).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.api.errors import BadRequest, TooManyRequests, Unauthorized

PIN = re.compile(r'^\d{4,8}$')
SCRYPT_N, SCRYPT_R, SCRYPT_P, DKLEN = 16384, 8, 1, 32
MAX_FAILURES = 5  # the 6th wrong PIN in the window locks
LOCK_S = 15 * 60
REFUSAL = 'wrong code or PIN'  # the one answer for an unknown code, another location's person, no PIN, a wrong PIN


def check_pin_format(pin: str, field: str = 'pin') -> str:
    if not isinstance(pin, str) or not PIN.match(pin):
        raise BadRequest('a PIN is 4 to 8 digits', field=field)
    return pin


def hash_pin(pin: str, salt: str, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """scrypt of the PIN with a hex salt, hex (the parameters are stored beside it, so they can be raised later)."""
    return hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=n, r=r, p=p, dklen=DKLEN, maxmem=64 * 1024 * 1024).hex()


def pin_matches(record: dict[str, Any], pin: str) -> bool:
    typed = hash_pin(pin, record['salt'], record['n'], record['r'], record['p'])
    return hmac.compare_digest(typed, record['hash'])


@dataclass(frozen=True)
class Decision:
    """What a login attempt answers: ok, or refused (401) / locked (429, `retry_after_s`); and what to write."""

    ok: bool
    locked: bool = False
    retry_after_s: int = 0
    write_failures: tuple[int, int, int] | None = None  # (fails, locked_until, expires_at) for the PINFAIL item
    clear_failures: bool = False


def decide(record: dict[str, Any] | None, pin: str, now: datetime) -> Decision:
    """Pure: the PIN record (`ApiStore.pin_record`, None: no PIN set) against a typed PIN at `now`."""
    if record is None:
        return Decision(ok=False)
    at = int(now.timestamp())
    if record['locked_until'] > at:  # locked: the PIN is not checked, nothing is written
        return Decision(ok=False, locked=True, retry_after_s=record['locked_until'] - at)
    in_window = record['locked_until'] == 0 and record.get('window_ends', 0) > at
    fails = record['fails'] if in_window else 0
    if pin_matches(record, pin):
        return Decision(ok=True, clear_failures=fails > 0 or record['locked_until'] > 0)
    fails += 1
    if fails > MAX_FAILURES:
        until = at + LOCK_S
        return Decision(ok=False, locked=True, retry_after_s=LOCK_S, write_failures=(fails, until, until + LOCK_S))
    window_ends = record.get('window_ends', 0) if in_window else at + LOCK_S
    return Decision(ok=False, write_failures=(fails, 0, window_ends))


def at_kiosk(person: Any, device: Any) -> str | None:
    """The employee id of a person who may log in at this kiosk (active, working at the device's location), else None:
    refused exactly like a wrong PIN, and without touching their PIN record."""
    if person is None or not person.active or device.location_id is None or person.location_id != device.location_id:
        return None
    return str(person.employee_id)


def set_pin(employee_id: str, pin: str, now: datetime, store: Any = None) -> None:
    """Set (or reset) a person's kiosk PIN; lifts any lockout. 400 naming `pin` unless 4-8 digits."""
    from shared.api.store import ApiStore

    check_pin_format(pin)
    salt = secrets.token_hex(16)
    store = store or ApiStore()
    store.put_pin(employee_id, hash_pin(pin, salt), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, now)


def login(store: Any, employee_id: str | None, pin: str, now: datetime) -> None:
    """Check a PIN for a person already found at the kiosk's location (None: not found there, refused without a write).
    Returns on success; raises 401 (the one refusal) or 429 (locked, Retry-After)."""
    if employee_id is None:
        raise Unauthorized(REFUSAL, code='wrong_pin')
    decision = decide(store.pin_record(employee_id), pin, now)
    if decision.write_failures is not None:
        store.record_pin_failure(employee_id, *decision.write_failures)
    if decision.clear_failures:
        store.clear_pin_failures(employee_id)
    if decision.locked:
        raise TooManyRequests(f'too many wrong PINs: try again in {max(1, decision.retry_after_s // 60)} minutes', decision.retry_after_s,
                              code='pin_locked')  # fmt: skip
    if not decision.ok:
        raise Unauthorized(REFUSAL, code='wrong_pin')
