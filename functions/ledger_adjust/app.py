"""Admin adjustments: credit or debit an employee's points with a reason; large ones need a second person.

Two ways in (shared/ledger/adjustments.py does the work):
- the Lambda console (a test event, events/ledger_adjust.json): the caller is not in the event, so the request is
  recorded as `invoked_via=console` with this invocation's `aws_request_id` (CloudTrail's data event for the Invoke
  carries the same `requestID` and the caller's identity). A console invocation may make an adjustment (or request a
  large one); it cannot approve or reject;
- the IAM-authorized HTTP API routes (SigV4-signed; the identity is requestContext.authorizer.iam.userArn), routed by
  Powertools' APIGatewayHttpResolver:
  POST /admin/adjustments                      body: the adjustment (as the console event)
  POST /admin/adjustments/{adjustment_id}/approve
  POST /admin/adjustments/{adjustment_id}/reject   body: {"reason": "..."}

  {"adjustment_id": "2024-05-recount-17", "employee_id": "E1", "points": -20,
   "reason": "Duplicate CSAT award found in May audit", "requested_by": "maria@example.com"}

A bad payload or a refusal is answered the same way on both: `{"ok": false, "field" | "refused": ..., "error": ...}`,
over HTTP with the status of REFUSED_STATUS (400 for a bad payload).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.config import get_settings
from shared.directory.store import DirectoryStore
from shared.errors import InvalidPayload
from shared.ledger.adjustments import AdjustmentDecision, AdjustmentRequest, decide_adjustment, submit_adjustment
from shared.ledger.approval_store import ApprovalStore
from shared.ledger.approvals import Actor, Refused, actor_from_event
from shared.observability import logger

REFUSED_STATUS = {'unknown': 404, 'decided': 409, 'insufficient': 409, 'own_request': 403, 'unauthenticated': 403}
ANSWERED = (ValidationError, InvalidPayload, Refused)  # answered as `ok: false` (nothing written); anything else is a 500

# serializer=json.dumps: the response body is written as before (Powertools' default drops the spaces after , and :).
app = APIGatewayHttpResolver(serializer=json.dumps)


def request(payload: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    adjustment = AdjustmentRequest.model_validate(payload)
    maker = actor.model_copy(update={'claimed': adjustment.requested_by})
    return submit_adjustment(adjustment, maker=maker, approval_above=get_settings().ADJUSTMENT_APPROVAL_ABOVE, now=now, **_stores())


def decide(payload: dict[str, Any], approve: bool, actor: Actor, now: datetime) -> dict[str, Any]:
    decision = AdjustmentDecision.model_validate(payload | {'approve': approve})
    return decide_adjustment(decision, checker=actor, now=now, **_stores())


def refusal(exc: Exception) -> dict[str, Any]:
    """The answer to a bad payload (naming the field) or a refused request (its stable code)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return {'ok': False, 'field': '.'.join(map(str, first['loc'])) or 'body', 'error': first['msg']}
    if isinstance(exc, InvalidPayload):
        return {'ok': False, 'field': exc.field, 'error': exc.reason}
    if isinstance(exc, Refused):
        return {'ok': False, 'refused': exc.code, 'error': exc.reason}
    raise exc


# --- the HTTP API routes ------------------------------------------------------------------------------------------
@app.post('/admin/adjustments')
def http_request() -> Response:
    return _http(request(_json_object(), app.context['actor'], datetime.now(UTC)))


# The adjustment id is read from API Gateway's pathParameters (URL-decoded, as before), not from the route's argument
# (the raw path segment).
@app.post('/admin/adjustments/<adjustment_id>/approve')
def http_approve(adjustment_id: str) -> Response:
    return _http_decision(approve=True)


@app.post('/admin/adjustments/<adjustment_id>/reject')
def http_reject(adjustment_id: str) -> Response:
    return _http_decision(approve=False)


@app.exception_handler(list(ANSWERED))
def http_refused(exc: Exception) -> Response:
    return _http(refusal(exc))


def _http(result: dict[str, Any]) -> Response:
    _log(result, app.context['actor'])
    status = 200 if result.get('ok') else REFUSED_STATUS.get(str(result.get('refused')), 400)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=result)


def _http_decision(approve: bool) -> Response:
    adjustment_id = (app.current_event.path_parameters or {}).get('adjustment_id')
    return _http(decide(_json_object() | {'adjustment_id': adjustment_id}, approve, app.context['actor'], datetime.now(UTC)))


def _json_object() -> dict[str, Any]:
    """The request body (base64-decoded by Powertools); an empty body is `{}` (an approval needs none).

    Checked by hand, not by Powertools' validation (`enable_validation`): that answers a bad body with a 422 and its own
    error shape, where this API's contract is a 400 naming the field, as from the console.
    """
    if not app.current_event.decoded_body:
        return {}
    try:
        body = app.current_event.json_body
    except json.JSONDecodeError as exc:
        raise InvalidPayload('the body is not JSON', field='body') from exc
    if not isinstance(body, dict):
        raise InvalidPayload('the body must be a JSON object', field='body')
    return body


# --- the Lambda entry point -----------------------------------------------------------------------------------------
def _is_http(event: dict[str, Any]) -> bool:
    return isinstance(event.get('requestContext'), dict) and 'http' in event['requestContext']


def _stores() -> dict[str, Any]:
    from shared.ledger.store import LedgerStore

    return {'ledger': LedgerStore(), 'directory': DirectoryStore(), 'approvals': ApprovalStore()}


def _log(result: dict[str, Any], actor: Actor) -> None:
    logger.info('ledger adjustment', extra={'result': result, 'actor': actor.model_dump(), 'invoked_via': actor.via})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    actor = actor_from_event(event, context.aws_request_id)
    if _is_http(event):
        app.append_context(actor=actor)
        return app.resolve(event, context)
    # A console test event is plain JSON, not an HTTP event, and Powertools' resolvers only route HTTP events: it is
    # dispatched here by hand (`action` picks; the default is a request).
    payload = dict(event)
    action = str(payload.pop('action', 'request'))
    now = datetime.now(UTC)
    try:
        if action == 'request':
            result = request(payload, actor, now)
        elif action in ('approve', 'reject'):
            result = decide(payload, action == 'approve', actor, now)
        else:
            raise InvalidPayload(f'unknown action {action[:40]!r} (request, approve or reject)', field='action')
    except ANSWERED as exc:
        result = refusal(exc)
    _log(result, actor)
    return result
