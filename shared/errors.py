"""Domain errors. Each maps to one HTTP status at the webhook boundary."""

from __future__ import annotations

from typing import Any


class PitcrewError(Exception):
    status_code = 500
    code = 'internal_error'

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def to_body(self) -> dict[str, object]:
        error: dict[str, object] = {'code': self.code, 'reason': self.reason}
        if self.field is not None:
            error['field'] = self.field
        return {'error': error}


class UnknownSource(PitcrewError):
    status_code = 404
    code = 'unknown_source'


class AuthenticationFailed(PitcrewError):
    """Bad or missing signature / token, wrong organisation, or a replayed (stale) timestamp."""

    status_code = 401
    code = 'authentication_failed'


class StaleTimestamp(AuthenticationFailed):
    """The signature is right but the timestamp is outside the replay window."""

    code = 'stale_timestamp'


class PayloadTooLarge(PitcrewError):
    status_code = 413
    code = 'payload_too_large'


class InvalidPayload(PitcrewError):
    """Malformed or schema-invalid payload. `field` names the offending field (dotted path)."""

    status_code = 400
    code = 'invalid_payload'


class ConcurrentUpdate(PitcrewError):
    """Another writer changed the ticket between our read and our write; safe to retry."""

    code = 'concurrent_update'


class ServiceUnavailable(PitcrewError):
    """A dependency (queue, table, parameter store) failed: the sender should retry."""

    status_code = 503
    code = 'service_unavailable'


# --- pydantic errors without the values --------------------------------------------------------------------------
# A ValidationError's str() (and so a logged traceback) prints each offending `input_value`: a customer's name,
# e-mail or phone. Everything that reports a validation error goes through these helpers instead, which read
# `errors(include_input=False, include_url=False, include_context=False)`: the field's dotted path and the reason.


def validation_errors(exc: Any) -> list[tuple[str, str]]:
    """Every error of a pydantic ValidationError as (dotted field path, reason): never the input value."""
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    return [('.'.join(str(part) for part in error.get('loc', ())), str(error.get('msg', 'invalid value'))) for error in errors]


def first_validation_error(exc: Any, prefix: str = '', default_field: str = 'body') -> tuple[str, str]:
    """The first error as (field, reason): the field prefixed (`rows[3]`), or `default_field` when it has no path."""
    path, reason = (validation_errors(exc) or [('', 'invalid value')])[0]
    field = '.'.join(part for part in (prefix, path) if part) or default_field
    return field, reason


def invalid_from_validation(exc: Any, prefix: str = '', default_field: str = 'body') -> InvalidPayload:
    """The first pydantic error as an InvalidPayload naming the field and the reason (no value)."""
    field, reason = first_validation_error(exc, prefix, default_field)
    return InvalidPayload(reason, field=field)


def safe_error_text(exc: BaseException) -> str:
    """An exception as text for a log or a quarantine reason: a ValidationError (or an error it caused) as its fields
    and reasons; a Pitcrew error as its field and reason; anything else as its type and message."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return f'ValidationError: {"; ".join(f"{field or exc.title}: {reason}" for field, reason in validation_errors(exc))}'
    if isinstance(exc, PitcrewError):
        return f'{type(exc).__name__}: {exc.field + ": " if exc.field else ""}{exc.reason}'
    return f'{type(exc).__name__}: {exc}'
