"""The API's HMAC key: read once per container from Secrets Manager (`API_SIGNING_SECRET` names the secret, never holds
it) and split into one sub-key per use (cursors, kiosk sessions), so a token of one kind can never pass as another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from shared.config import get_settings


@lru_cache(maxsize=1)
def _master_key() -> bytes:
    settings = get_settings()
    if not settings.API_SIGNING_SECRET:
        raise RuntimeError('API_SIGNING_SECRET is not set: the API cannot sign cursors or kiosk sessions')
    import boto3

    client = boto3.client('secretsmanager', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
    return client.get_secret_value(SecretId=settings.API_SIGNING_SECRET)['SecretString'].encode()


def sub_key(purpose: str, master: bytes | None = None) -> bytes:
    return hmac.new(master if master is not None else _master_key(), purpose.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def seal(purpose: str, payload: dict[str, Any], master: bytes | None = None) -> str:
    """`<payload>.<mac>`, both base64url: readable by whoever holds it, forgeable by nobody without the key."""
    body = _b64(json.dumps(payload, separators=(',', ':'), sort_keys=True).encode())
    mac = _b64(hmac.new(sub_key(purpose, master), body.encode(), hashlib.sha256).digest())
    return f'{body}.{mac}'


def unseal(purpose: str, token: str, master: bytes | None = None) -> dict[str, Any] | None:
    """The payload, or None when the token is malformed or its MAC does not match (tampered, or another purpose's)."""
    body, dot, mac = token.partition('.')
    if not dot or not body or not mac or len(token) > 4096:
        return None
    expected = _b64(hmac.new(sub_key(purpose, master), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
