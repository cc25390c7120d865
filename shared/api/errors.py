"""The API's refusals: one exception, one status, one answer shape `{"ok": false, "error", "field"?, "refused"?}`."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    code = 'bad_request'

    def __init__(self, message: str, field: str | None = None, *, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}
        if code:
            self.code = code

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {'ok': False, 'error': self.message}
        if self.field:
            answer['field'] = self.field
        if self.code not in ('bad_request', 'not_found', 'forbidden', 'unauthorized'):
            answer['refused'] = self.code
        return answer


class BadRequest(ApiError):
    """Bad input: `field` names what is wrong (a dotted path for a body field, the parameter's name otherwise)."""


class Unauthorized(ApiError):
    status = 401
    code = 'unauthorized'


class Forbidden(ApiError):
    """The caller's role may not use this route at all (an object outside the caller's scope is a NotFound instead)."""

    status = 403
    code = 'forbidden'


class NotFound(ApiError):
    """Unknown, or outside the caller's scope: the two are answered the same, so a scope leaks no existence."""

    status = 404
    code = 'not_found'

    def __init__(self, message: str = 'not found', field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, field, **kwargs)


class Conflict(ApiError):
    status = 409
    code = 'conflict'


class TooManyRequests(ApiError):
    status = 429
    code = 'throttled'

    def __init__(self, message: str, retry_after_s: int, *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={'Retry-After': str(max(1, int(retry_after_s)))})
        self.retry_after_s = retry_after_s
