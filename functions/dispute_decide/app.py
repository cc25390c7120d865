"""A manager's decision on a dispute: accept (an adjustment through the adjustments path, linked to the dispute; above
the approval amount it waits for a second person) or reject with a reason. The employee is messaged the outcome.

Two ways in (shared/disputes/service.py does the work):
- the IAM-authorized HTTP API route POST /admin/disputes/{dispute_id}/decide (SigV4; the decider is
  requestContext.authorizer.iam.userArn, in scope when its user or role-session name is one of the employee's managers
  in the directory, or when it matches ADMIN_PRINCIPALS), routed by Powertools' APIGatewayHttpResolver;
- the Lambda console (events/dispute_decide.json): the caller is not in the event; the decision is recorded as
  `invoked_via=console` with this invocation's aws_request_id (CloudTrail's Invoke data event names the caller).

  {"dispute_id": "D3F9A0C12B4E7", "decision": "accept", "points": 20, "reason": "The CSAT survey was for this ticket"}

A bad payload or a refusal is answered the same way on both: `{"ok": false, "field" | "refused": ..., "error": ...}`,
over HTTP with the status of REFUSED_STATUS (400 for a bad payload).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.config import get_settings
from shared.disputes.model import DisputeRefused
from shared.errors import InvalidPayload
from shared.ledger.approvals import Actor, actor_from_event
from shared.observability import logger

REFUSED_STATUS = {'unknown': 404, 'decided': 409, 'out_of_scope': 403, 'own_dispute': 403, 'points': 400}
ANSWERED = (ValidationError, InvalidPayload, DisputeRefused)  # answered as `ok: false` (nothing written); anything else is a 500

# serializer=json.dumps: the response body is written as before (Powertools' default drops the spaces after , and :).
app = APIGatewayHttpResolver(serializer=json.dumps)


class DisputeDecision(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    dispute_id: str = Field(min_length=3, max_length=64)
    decision: Literal['accept', 'reject']
    reason: str = Field(min_length=5, max_length=500)
    points: int | None = Field(default=None, ge=-1_000_000, le=1_000_000, description='The correction; default: undo a debit')
    decided_by: str | None = Field(default=None, max_length=256, description='A claimed label only')


def decide(payload: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    from shared.alerts.store import AlertStore
    from shared.directory.store import DirectoryStore
    from shared.disputes.service import Disputes
    from shared.disputes.store import DisputeStore
    from shared.ledger.approval_store import ApprovalStore
    from shared.ledger.store import LedgerStore

    decision = DisputeDecision.model_validate(payload)
    if decision.points == 0:
        raise InvalidPayload('a correction of 0 points changes nothing: reject the dispute instead', field='points')
    settings = get_settings()
    disputes = Disputes(DisputeStore(), DirectoryStore(), AlertStore(), LedgerStore(), ApprovalStore())
    return disputes.decide(decision.dispute_id, accept=decision.decision == 'accept', reason=decision.reason, points=decision.points,
                           actor=actor.model_copy(update={'claimed': decision.decided_by}), admin_principals=settings.ADMIN_PRINCIPALS,
                           approval_above=settings.ADJUSTMENT_APPROVAL_ABOVE, now=now)  # fmt: skip


def refusal(exc: Exception) -> dict[str, Any]:
    """The answer to a bad payload (naming the field) or a refused decision (its stable code)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return {'ok': False, 'field': '.'.join(map(str, first['loc'])) or 'body', 'error': first['msg']}
    if isinstance(exc, InvalidPayload):
        return {'ok': False, 'field': exc.field, 'error': exc.reason}
    if isinstance(exc, DisputeRefused):
        return {'ok': False, 'refused': exc.code, 'error': exc.reason}
    raise exc


# --- the HTTP API route -------------------------------------------------------------------------------------------
# The dispute id is read from API Gateway's pathParameters (URL-decoded, as before), not from the route's argument (the
# raw path segment).
@app.post('/admin/disputes/<dispute_id>/decide')
def http_decide(dispute_id: str) -> Response:
    path_dispute_id = (app.current_event.path_parameters or {}).get('dispute_id')
    return _http(decide(_json_object() | {'dispute_id': path_dispute_id}, app.context['actor'], datetime.now(UTC)))


@app.exception_handler(list(ANSWERED))
def http_refused(exc: Exception) -> Response:
    return _http(refusal(exc))


def _http(result: dict[str, Any]) -> Response:
    _log(result, app.context['actor'])
    status = 200 if result.get('ok') else REFUSED_STATUS.get(str(result.get('refused')), 400)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=result)


def _json_object() -> dict[str, Any]:
    """The request body (base64-decoded by Powertools); an empty body is `{}`.

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


def _log(result: dict[str, Any], actor: Actor) -> None:
    logger.info('dispute decision', extra={'result': result, 'actor': actor.model_dump(), 'invoked_via': actor.via})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    actor = actor_from_event(event, context.aws_request_id)
    if _is_http(event):
        app.append_context(actor=actor)
        return app.resolve(event, context)
    # A console test event is plain JSON, not an HTTP event, and Powertools' resolvers only route HTTP events: it is
    # handled here by hand (the event is the decision).
    try:
        result = decide(dict(event), actor, datetime.now(UTC))
    except ANSWERED as exc:
        result = refusal(exc)
    _log(result, actor)
    return result
