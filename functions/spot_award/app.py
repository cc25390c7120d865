"""Managers' spot awards: give one (at once, or requested for approval above the program's amount), approve or reject
a request. shared/recognition/spot_service.py does the work; a nudge's YES/amount reply calls the same use case.

Two ways in:
- the Lambda console (a test event, events/spot_award.json): the caller is not in the event, so the award is recorded
  as `invoked_via=console` with this invocation's `aws_request_id` (CloudTrail's data event for the Invoke names the
  caller), and the event names the giving manager. A console invocation may give (or request) an award; it cannot
  approve or reject (an approval needs an authenticated identity);
- the IAM-authorized HTTP API routes (SigV4-signed; the identity is requestContext.authorizer.iam.userArn, whose last
  part is the manager's employee id, e.g. assumed-role/PitcrewManagers/M1), routed by Powertools' resolver:
  POST /admin/spot-awards                         body: the award (manager_id defaults to the caller)
  POST /admin/spot-awards/{award_id}/approve
  POST /admin/spot-awards/{award_id}/reject        body: {"reason": "..."}

  {"program_id": "pitstop", "manager_id": "M1", "employee_id": "W1", "points": 150, "reason_id": "zero_defect_repair",
   "message": "Clean brake job, no comeback", "idempotency_key": "2026-12-03-w1-brakes"}

A bad payload or a refusal is answered the same way on both: `{"ok": false, "field" | "refused": ..., "error": ...}`
(an over-budget refusal also names `remaining`, `budget` and `month`), over HTTP with the status of REFUSED_STATUS
(400 for a bad payload); the scaffolding is shared/ledger/admin_http.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.errors import InvalidPayload
from shared.ledger.admin_http import AdminApi
from shared.ledger.approvals import Actor
from shared.observability import logger
from shared.recognition.spot import SpotDecision, SpotRefused, SpotRequest
from shared.recognition.spot_service import SpotAwards

REFUSED_STATUS = {
    'unknown': 404, 'unknown_program': 404, 'no_spot_awards': 404, 'unknown_receiver': 404, 'unknown_giver': 404,
    'decided': 409, 'expired': 409, 'over_budget': 409, 'key_reused': 409,
    'own_request': 403, 'own_award': 403, 'unauthenticated': 403, 'not_approver': 403, 'not_the_giver': 403, 'not_a_giver': 403,
    'not_your_report': 403, 'inactive_receiver': 409,
}  # fmt: skip


class SpotApi(AdminApi):
    def refusal(self, exc: Exception) -> dict[str, Any]:
        """A spot refusal says what the requester needs (the remaining budget when it is the budget)."""
        if isinstance(exc, SpotRefused):
            return exc.body()
        return super().refusal(exc)


admin = SpotApi('spot award', SpotRefused, REFUSED_STATUS)
app = admin.app


def awards() -> SpotAwards:
    return SpotAwards.default()


def give(payload: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    if 'manager_id' not in payload and actor.authenticated and actor.name:
        payload = payload | {'manager_id': actor.name}  # an IAM caller gives as themselves unless they name a manager
    request = SpotRequest.model_validate(payload)
    return awards().award(request, actor, now).body()


def decide(payload: dict[str, Any], approve: bool, actor: Actor, now: datetime) -> dict[str, Any]:
    decision = SpotDecision.model_validate(payload | {'approve': approve})
    return awards().decide(decision.award_id, decision.approve, decision.reason, actor, now).body()


# --- the HTTP API routes ------------------------------------------------------------------------------------------
@app.post('/admin/spot-awards')
def http_give() -> Response:
    return admin.respond(give(admin.json_object(), app.context['actor'], datetime.now(UTC)))


@app.post('/admin/spot-awards/<award_id>/approve')
def http_approve(award_id: str) -> Response:
    return _http_decision(approve=True)


@app.post('/admin/spot-awards/<award_id>/reject')
def http_reject(award_id: str) -> Response:
    return _http_decision(approve=False)


def _http_decision(approve: bool) -> Response:
    payload = admin.json_object() | {'award_id': admin.path_parameter('award_id')}  # an approval needs no body
    return admin.respond(decide(payload, approve, app.context['actor'], datetime.now(UTC)))


# --- the Lambda entry point -----------------------------------------------------------------------------------------
def console(payload: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A console test event: `action` picks (the default is an award)."""
    action = str(payload.pop('action', 'award'))
    now = datetime.now(UTC)
    if action == 'award':
        return give(payload, actor, now)
    if action in ('approve', 'reject'):
        return decide(payload, action == 'approve', actor, now)
    raise InvalidPayload('unknown action (award, approve or reject)', field='action')


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return admin.handle(event, context, console)
