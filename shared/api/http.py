"""The resolver every people-facing route uses: Powertools' APIGatewayHttpResolver with one middleware that (1) turns
the verified JWT claims into a `Principal` (a kiosk session's header into the one person it is for), (2) counts the
caller's requests (per-user throttling), and (3) puts `Call` (principal, scope, time) in `app.context`; and exception
handlers that answer every refusal as `{"ok": false, "error", "field"?}` with its status. Routes stay thin:

    app = people_api()
    @app.get('/v1/me')
    def me() -> dict: call = current(app); ...
    lambda_handler = handler(app)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from shared.api import kiosk_session, throttle
from shared.api.errors import ApiError, BadRequest, Unauthorized
from shared.api.idempotency import LAMBDA_CONTEXT
from shared.api.principal import Principal, Role, principal_from_claims
from shared.api.scope import DirectoryPeople, Scope
from shared.api.store import ApiStore
from shared.errors import first_validation_error
from shared.observability import logger

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def clock() -> datetime:
    """The request's time (tests replace it to step past a lock or an idle timeout without sleeping)."""
    return datetime.now(UTC)


@dataclass
class Call:
    principal: Principal
    scope: Scope
    now: datetime
    api: ApiStore
    kiosk: dict[str, Any] | None = None  # the kiosk session's payload, when the call is one


def claims_of(event: dict[str, Any]) -> dict[str, Any] | None:
    authorizer = (event.get('requestContext') or {}).get('authorizer') or {}
    jwt = authorizer.get('jwt') or {}
    claims = jwt.get('claims')
    return claims if isinstance(claims, dict) else None


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    return next((v for k, v in (headers or {}).items() if k.lower() == name.lower()), None)


def authenticate(event: dict[str, Any], api: ApiStore, now: datetime) -> tuple[Principal, dict[str, Any] | None]:
    """The caller: the token's principal, or the person of a valid kiosk session on that kiosk's token."""
    principal = principal_from_claims(claims_of(event))
    token = _header(event.get('headers'), kiosk_session.HEADER)
    if not token:
        return principal, None
    payload = kiosk_session.read_session(principal, token, now)
    if api.session_ended(str(payload.get('sid'))):
        raise Unauthorized('the kiosk session was logged out', field=kiosk_session.HEADER, code='session_ended')
    return kiosk_session.session_principal(principal, payload), payload | {'device': principal}


def people_api() -> APIGatewayHttpResolver:
    # serializer=json.dumps with default=str: dates and decimals in answers are written as text.
    app = APIGatewayHttpResolver(serializer=lambda body: json.dumps(body, default=str, ensure_ascii=False))

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        now = clock()
        api = ApiStore()
        principal, kiosk = authenticate(app.current_event.raw_event, api, now)
        throttle.check(api, principal, app.current_event.http_method, now)
        call = Call(principal, Scope(principal, DirectoryPeople()), now, api, kiosk)
        app.append_context(call=call)
        logger.append_keys(caller=principal.label())
        response = next_middleware(app)
        if call.kiosk is not None:  # a logout clears it: no fresh token for an ended session
            response.headers[kiosk_session.HEADER] = kiosk_session.refreshed(call.kiosk['device'], call.kiosk, clock())
        return response

    app.use(middlewares=[middleware])

    @app.exception_handler(ApiError)
    def refused(exc: ApiError) -> Response:
        logger.info('request refused', extra={'status': exc.status, 'refused': exc.code, 'field': exc.field})
        headers = dict(exc.headers)
        call = app.context.get('call')
        if isinstance(call, Call) and call.kiosk is not None:  # a refusal inside a valid kiosk session keeps it alive too
            headers[kiosk_session.HEADER] = kiosk_session.refreshed(call.kiosk['device'], call.kiosk, clock())
        return Response(status_code=exc.status, content_type=content_types.APPLICATION_JSON, body=exc.body(), headers=headers)

    @app.exception_handler(ValidationError)
    def invalid(exc: ValidationError) -> Response:
        field, reason = first_validation_error(exc)
        return refused(BadRequest(reason, field=field))

    return app


def current(app: APIGatewayHttpResolver) -> Call:
    return app.context['call']


def query[M: BaseModel](app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The query string as a pydantic model (extra='forbid' on the model refuses unknown parameters); 400 naming it."""
    params = dict(app.current_event.query_string_parameters or {})
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='query')
        raise BadRequest(reason, field=field) from exc


def body[M: BaseModel](app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The JSON body as a pydantic model (Powertools' parser); 400 naming the field."""
    from aws_lambda_powertools.utilities.parser import parse

    raw = app.current_event.decoded_body
    if not raw:
        raw = '{}'
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest('the body is not JSON', field='body') from exc
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object', field='body')
    try:
        return parse(event=data, model=model)
    except ValidationError as exc:
        field, reason = first_validation_error(exc)
        raise BadRequest(reason, field=field) from exc


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {'items': items, 'next_cursor': next_cursor}


def require_role(app: APIGatewayHttpResolver, *roles: Role) -> Call:
    call = current(app)
    call.scope.require_role(*roles)
    return call


def handler(app: APIGatewayHttpResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    @logger.inject_lambda_context(clear_state=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        LAMBDA_CONTEXT.set(context)
        return app.resolve(event, context)

    return lambda_handler
