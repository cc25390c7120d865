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
over HTTP with the status of REFUSED_STATUS (400 for a bad payload); the scaffolding is shared/ledger/admin_http.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.directory.store import DirectoryStore
from shared.errors import InvalidPayload
from shared.ledger.adjustments import AdjustmentDecision, AdjustmentRequest, decide_adjustment, submit_adjustment
from shared.ledger.admin_http import AdminApi
from shared.ledger.approval_store import ApprovalStore
from shared.ledger.approvals import Actor, Refused
from shared.observability import logger

REFUSED_STATUS = {'unknown': 404, 'decided': 409, 'insufficient': 409, 'own_request': 403, 'unauthenticated': 403}
admin = AdminApi('ledger adjustment', Refused, REFUSED_STATUS)
app = admin.app


def request(payload: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    adjustment = AdjustmentRequest.model_validate(payload)
    maker = actor.model_copy(update={'claimed': adjustment.requested_by})
    return submit_adjustment(adjustment, maker=maker, approval_above=get_settings().ADJUSTMENT_APPROVAL_ABOVE, now=now, **_stores())


def decide(payload: dict[str, Any], approve: bool, actor: Actor, now: datetime) -> dict[str, Any]:
    decision = AdjustmentDecision.model_validate(payload | {'approve': approve})
    return decide_adjustment(decision, checker=actor, now=now, **_stores())


def _stores() -> dict[str, Any]:
    from shared.ledger.store import LedgerStore

    return {'ledger': LedgerStore(), 'directory': DirectoryStore(), 'approvals': ApprovalStore()}


# --- the HTTP API routes ------------------------------------------------------------------------------------------
@app.post('/admin/adjustments')
def http_request() -> Response:
    return admin.respond(request(admin.json_object(), app.context['actor'], datetime.now(UTC)))


@app.post('/admin/adjustments/<adjustment_id>/approve')
def http_approve(adjustment_id: str) -> Response:
    return _http_decision(approve=True)


@app.post('/admin/adjustments/<adjustment_id>/reject')
def http_reject(adjustment_id: str) -> Response:
    return _http_decision(approve=False)


def _http_decision(approve: bool) -> Response:
    payload = admin.json_object() | {'adjustment_id': admin.path_parameter('adjustment_id')}  # an approval needs no body
    return admin.respond(decide(payload, approve, app.context['actor'], datetime.now(UTC)))


# --- the Lambda entry point -----------------------------------------------------------------------------------------
def console(payload: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A console test event: `action` picks (the default is a request)."""
    action = str(payload.pop('action', 'request'))
    now = datetime.now(UTC)
    if action == 'request':
        return request(payload, actor, now)
    if action in ('approve', 'reject'):
        return decide(payload, action == 'approve', actor, now)
    raise InvalidPayload('unknown action (request, approve or reject)', field='action')


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return admin.handle(event, context, console)
