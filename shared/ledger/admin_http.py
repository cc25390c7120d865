"""What the admin handlers (functions/ledger_adjust, functions/dispute_decide) share: two ways in, one answer.

- the IAM-authorized HTTP API routes, routed by Powertools' APIGatewayHttpResolver (`AdminApi.app`; each handler adds
  its routes); the caller is the `Actor` from requestContext.authorizer.iam.userArn, in `app.context['actor']`;
- the Lambda console (a plain JSON test event, which Powertools' resolvers do not route): the handler's `console`
  function gets the event and an `Actor` with `invoked_via=console` and this invocation's aws_request_id.

A bad payload or a refusal is answered the same way on both: `{"ok": false, "field" | "refused": ..., "error": ...}`,
over HTTP with the status `refused_status` gives its code (400 for a bad payload). Anything else is a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.errors import InvalidPayload, first_validation_error
from shared.ledger.approvals import Actor, actor_from_event
from shared.observability import logger

Console = Callable[[dict[str, Any], Actor], dict[str, Any]]  # a console event's payload and actor -> the answer


class Refusal(Protocol):
    """A refused call's exception: a stable `code` for callers and a `reason` for people."""

    code: str
    reason: str


class AdminApi:
    def __init__(self, log_message: str, refused: type[Exception], refused_status: dict[str, int]) -> None:
        self.log_message = log_message
        self.refused_status = refused_status
        self.answered: tuple[type[Exception], ...] = (ValidationError, InvalidPayload, refused)  # `ok: false`, nothing written
        self.refused = refused
        # serializer=json.dumps: the response body is written as before (Powertools' default drops the spaces after , and :).
        self.app = APIGatewayHttpResolver(serializer=json.dumps)
        self.app.exception_handler(list(self.answered))(lambda exc: self.respond(self.refusal(exc)))

    def refusal(self, exc: Exception) -> dict[str, Any]:
        """The answer to a bad payload (naming the field) or a refused call (its stable code)."""
        if isinstance(exc, ValidationError):
            field, reason = first_validation_error(exc)
            return {'ok': False, 'field': field, 'error': reason}
        if isinstance(exc, InvalidPayload):
            return {'ok': False, 'field': exc.field, 'error': exc.reason}
        if isinstance(exc, self.refused):
            refused = cast(Refusal, exc)
            return {'ok': False, 'refused': refused.code, 'error': refused.reason}
        raise exc

    def respond(self, result: dict[str, Any]) -> Response:
        """An HTTP route's answer: 200 when ok, else the status of the refusal's code (400 for a bad payload); logged."""
        self.log(result, self.app.context['actor'])
        status = 200 if result.get('ok') else self.refused_status.get(str(result.get('refused')), 400)
        return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=result)

    def json_object(self) -> dict[str, Any]:
        """The HTTP request body (base64-decoded by Powertools); an empty body is `{}`.

        Checked by hand, not by Powertools' validation (`enable_validation`): that answers a bad body with a 422 and its
        own error shape, where this API's contract is a 400 naming the field, as from the console.
        """
        if not self.app.current_event.decoded_body:
            return {}
        try:
            body = self.app.current_event.json_body
        except json.JSONDecodeError as exc:
            raise InvalidPayload('the body is not JSON', field='body') from exc
        if not isinstance(body, dict):
            raise InvalidPayload('the body must be a JSON object', field='body')
        return body

    def path_parameter(self, name: str) -> str | None:
        """A path parameter as API Gateway's pathParameters has it (URL-decoded), not the route argument (the raw segment)."""
        return (self.app.current_event.path_parameters or {}).get(name)

    def log(self, result: dict[str, Any], actor: Actor) -> None:
        logger.info(self.log_message, extra={'result': result, 'actor': actor.model_dump(), 'invoked_via': actor.via})

    def handle(self, event: dict[str, Any], context: LambdaContext, console: Console) -> dict[str, Any]:
        """Route an HTTP API event to `app`; hand a console event (a copy) to `console`, answering a refusal as over HTTP."""
        actor = actor_from_event(event, context.aws_request_id)
        if isinstance(event.get('requestContext'), dict) and 'http' in event['requestContext']:
            self.app.append_context(actor=actor)
            return self.app.resolve(event, context)
        try:
            result = console(dict(event), actor)
        except self.answered as exc:
            result = self.refusal(exc)
        self.log(result, actor)
        return result
