"""Domain errors. Each maps to one HTTP status at the webhook boundary."""

from __future__ import annotations


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
