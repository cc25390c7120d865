"""An admin fulfils or fails a redemption: manual items (extra leave, a service discount, a donation) and anything a
provider left stuck. Failing refunds the points (REFUND entry) and gives the stock, limit and budget back, in one
transaction; the person is told either way. The admin is the authenticated caller (`Actor`), recorded on the redemption.

Two ways in (the scaffolding is shared/ledger/admin_http.py, as functions/ledger_adjust):
- the Lambda console: {"action": "fulfil", "redemption_id": "...", "reference": "HR-LEAVE-2291", "note": "..."} or
  {"action": "fail", "redemption_id": "...", "reason": "..."}; {"action": "open", "program_id": "pitstop"} lists the
  reserved redemptions still open (oldest first);
- the IAM-authorized HTTP API: POST /admin/redemptions/{redemption_id}/fulfil and /fail (the same body).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from functions.redemption_request.app import service
from shared.errors import InvalidPayload
from shared.ledger.admin_http import AdminApi
from shared.ledger.approvals import Actor
from shared.observability import logger
from shared.wallet.redeem import Refused

REFUSED_STATUS = {'unknown': 404, 'decided': 409, 'queued': 409, 'reason': 400}
admin = AdminApi('redemption decision', Refused, REFUSED_STATUS)
app = admin.app


class Decision(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    redemption_id: str = Field(min_length=8, max_length=64)
    reason: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=300)
    reference: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=200)


def decide(payload: dict[str, Any], fulfil: bool, actor: Actor, now: datetime) -> dict[str, Any]:
    decision = Decision.model_validate(payload)
    return service().decide(decision.redemption_id, fulfil=fulfil, actor=actor, now=now, reason=decision.reason or decision.note,
                            reference=decision.reference, code=decision.code)  # fmt: skip


@app.post('/admin/redemptions/<redemption_id>/fulfil')
def http_fulfil(redemption_id: str) -> Response:
    payload = admin.json_object() | {'redemption_id': admin.path_parameter('redemption_id')}
    return admin.respond(decide(payload, True, app.context['actor'], datetime.now(UTC)))


@app.post('/admin/redemptions/<redemption_id>/fail')
def http_fail(redemption_id: str) -> Response:
    payload = admin.json_object() | {'redemption_id': admin.path_parameter('redemption_id')}
    return admin.respond(decide(payload, False, app.context['actor'], datetime.now(UTC)))


def console(payload: dict[str, Any], actor: Actor) -> dict[str, Any]:
    action = str(payload.pop('action', ''))
    if action == 'open':
        program_id = str(payload.get('program_id', ''))
        return {'ok': True, 'open': [{'redemption_id': rid, 'provider': provider}
                                     for rid, provider in service().store.open_ids(program_id)][:200]}  # fmt: skip
    if action in ('fulfil', 'fail'):
        return decide(payload, action == 'fulfil', actor, datetime.now(UTC))
    raise InvalidPayload('unknown action (fulfil, fail or open)', field='action')


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return admin.handle(event, context, console)
