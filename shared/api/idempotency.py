"""Idempotency keys for the POSTs that move points. The client sends `Idempotency-Key` (required there); the same
caller's same key answers the first outcome and never writes twice. Where the use case keeps its own exactly-once
record (a recognition, a redemption, a spot award take an idempotency key), `scoped_key` is passed to it; elsewhere
`once` wraps the call with Powertools' idempotency utility on ApiTable (a different body with a used key: 409)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from shared.api.errors import BadRequest, Conflict
from shared.api.principal import Principal

HEADER = 'Idempotency-Key'
KEY = re.compile(r'^[A-Za-z0-9._:-]{8,128}$')
MAX_SCOPED = 128  # RedeemRequest / GiveRequest idempotency_key max_length
TTL_S = 7 * 24 * 3600  # a retry a week later still finds its first answer
# The invocation's Lambda context (set by shared/api/http.handler): Powertools keeps an in-progress record no longer
# than the invocation can run, so a timed-out first attempt does not block its retry.
LAMBDA_CONTEXT: ContextVar[Any] = ContextVar('lambda_context', default=None)


def read_key(headers: dict[str, str] | None) -> str:
    value = next((v for k, v in (headers or {}).items() if k.lower() == HEADER.lower()), None)
    if not value:
        raise BadRequest('this request moves points: send an Idempotency-Key header (a new random value per action)', field=HEADER)
    if not KEY.match(value):
        raise BadRequest('8 to 128 characters of letters, digits, . _ : -', field=HEADER)
    return value


def scoped_key(principal: Principal, key: str) -> str:
    """The key as the use case stores it: one caller's key never collides with another's. The use cases take keys of
    at most 128 characters: a longer scoped key (a kiosk session's subject, a long client key) is hashed, never cut."""
    scoped = f'{principal.subject}:{key}'
    return scoped if len(scoped) <= MAX_SCOPED else 'h:' + hashlib.sha256(scoped.encode()).hexdigest()


@lru_cache(maxsize=1)
def _persistence() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from shared.config import get_settings

    settings = get_settings()
    kwargs: dict[str, Any] = {}
    if settings.AWS_ENDPOINT_URL:
        import boto3

        kwargs['boto3_session'] = boto3.session.Session(region_name=settings.AWS_REGION)
    return DynamoDBPersistenceLayer(table_name=settings.API_TABLE, key_attr='pk', expiry_attr='expires_at', **kwargs)


def once(action: str, principal: Principal, key: str, payload: dict[str, Any], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`run()` once per (action, caller, key); a retry gets the stored answer; the key with another payload: 409."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(event_key_jmespath='key', payload_validation_jmespath='payload', expires_after_seconds=TTL_S,
                               use_local_cache=False)  # fmt: skip
    if LAMBDA_CONTEXT.get() is not None:
        config.register_lambda_context(LAMBDA_CONTEXT.get())

    @idempotent_function(data_keyword_argument='request', persistence_store=_persistence(), config=config)
    def _call(request: dict[str, Any]) -> dict[str, Any]:
        return run()

    try:
        return _call(request={'key': f'{action}:{scoped_key(principal, key)}', 'payload': payload})
    except IdempotencyValidationError as exc:
        raise Conflict('this Idempotency-Key was used for a different request', field=HEADER, code='key_reused') from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict('the first request with this Idempotency-Key is still running: retry in a moment', field=HEADER,
                       code='in_progress') from exc  # fmt: skip
