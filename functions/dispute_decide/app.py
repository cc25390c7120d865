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
over HTTP with the status of REFUSED_STATUS (400 for a bad payload); the scaffolding is shared/ledger/admin_http.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from shared.config import get_settings
from shared.disputes.model import DisputeRefused
from shared.errors import InvalidPayload
from shared.ledger.admin_http import AdminApi
from shared.ledger.approvals import Actor
from shared.observability import logger

REFUSED_STATUS = {'unknown': 404, 'decided': 409, 'out_of_scope': 403, 'own_dispute': 403, 'points': 400}
admin = AdminApi('dispute decision', DisputeRefused, REFUSED_STATUS)
app = admin.app


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


# --- the HTTP API route -------------------------------------------------------------------------------------------
@app.post('/admin/disputes/<dispute_id>/decide')
def http_decide(dispute_id: str) -> Response:
    payload = admin.json_object() | {'dispute_id': admin.path_parameter('dispute_id')}
    return admin.respond(decide(payload, app.context['actor'], datetime.now(UTC)))


# --- the Lambda entry point -----------------------------------------------------------------------------------------
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A console test event is the decision.
    return admin.handle(event, context, lambda payload, actor: decide(payload, actor, datetime.now(UTC)))
