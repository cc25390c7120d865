"""Pitcrew request signing, for the senders we define (DMS job cards, survey responses).

    X-Pitcrew-Timestamp: 1715686803                      (unix seconds, when the request was signed)
    X-Pitcrew-Signature: v1=<hex HMAC-SHA256(secret, f'{timestamp}.' + raw body)>

Several comma-separated `v1=` values may be sent (a sender signing with the old and the new secret during a
rotation); one valid value is enough. Values of other schemes (`v0=...`) are ignored, so a future scheme can be
added alongside. The timestamp is part of the signed message, so it cannot be moved to dodge the ±300 s replay
window; an admin replaying a quarantined request skips the window (`check_freshness=False`) but the HMAC must still
verify. `sign()` / `signed_headers()` are what tests and the local replay tool use to produce requests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from shared.errors import AuthenticationFailed
from shared.sources.base import SourceSecret, WebhookRequest
from shared.sources.common import REPLAY_WINDOW_SECONDS, ensure_fresh

TIMESTAMP_HEADER = 'X-Pitcrew-Timestamp'
SIGNATURE_HEADER = 'X-Pitcrew-Signature'
SCHEME = 'v1'
_TIMESTAMP = re.compile(r'[0-9]{1,12}')
_MAX_SIGNATURE_VALUES = 8


def _digest(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode('utf-8'), f'{timestamp}.'.encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Pitcrew-Signature value for `body` signed at `timestamp` (unix seconds): 'v1=<hex>'."""
    return f'{SCHEME}={_digest(secret, str(timestamp), body)}'


def signed_headers(secret: str, timestamp: int, body: bytes, *, also_sign_with: str | None = None) -> dict[str, str]:
    """Both headers for a request; `also_sign_with` adds a second v1 value (rotation: old and new secret)."""
    signature = sign(secret, timestamp, body)
    if also_sign_with is not None:
        signature = f'{signature},{sign(also_sign_with, timestamp, body)}'
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature}


def _given_signatures(header: str) -> list[str]:
    values = []
    for part in header.split(',')[:_MAX_SIGNATURE_VALUES]:
        scheme, _, value = part.strip().partition('=')
        if scheme == SCHEME and value:
            values.append(value.strip().lower())
    return values


def verify(request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
    """Raise AuthenticationFailed unless one v1 signature matches the current or previous secret; then
    StaleTimestamp if the timestamp is outside ±300 s of `now` (only when `check_freshness`)."""
    timestamp = (request.header(TIMESTAMP_HEADER) or '').strip()
    if not timestamp:
        raise AuthenticationFailed(f'missing {TIMESTAMP_HEADER} header', field=TIMESTAMP_HEADER)
    if not _TIMESTAMP.fullmatch(timestamp):
        raise AuthenticationFailed(f'{TIMESTAMP_HEADER} must be unix seconds', field=TIMESTAMP_HEADER)
    header = request.header(SIGNATURE_HEADER)
    if not header:
        raise AuthenticationFailed(f'missing {SIGNATURE_HEADER} header', field=SIGNATURE_HEADER)
    given = _given_signatures(header)
    if not given:
        raise AuthenticationFailed(f'{SIGNATURE_HEADER} has no {SCHEME}= value', field=SIGNATURE_HEADER)
    candidates = [secret.secret] + ([secret.previous_secret] if secret.previous_secret else [])
    expected = [_digest(candidate, timestamp, request.body).encode() for candidate in candidates]
    # Compare every pair (no early exit) so timing does not tell which value or secret matched.
    matched = False
    for value in given:
        value_bytes = value.encode('utf-8', 'replace')
        for digest in expected:
            matched |= hmac.compare_digest(value_bytes, digest)
    if not matched:
        raise AuthenticationFailed('signature does not match', field=SIGNATURE_HEADER)
    if check_freshness:
        ensure_fresh(int(timestamp), now, TIMESTAMP_HEADER, REPLAY_WINDOW_SECONDS)
