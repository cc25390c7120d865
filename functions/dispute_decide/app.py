"""A manager's decision on a dispute: accept (an adjustment through the adjustments path, linked to the dispute; above
the approval amount it waits for a second person) or reject with a reason. The employee is messaged the outcome.

Two ways in (shared/disputes/service.py does the work):
- the IAM-authorized HTTP API route POST /admin/disputes/{dispute_id}/decide (SigV4; the decider is
  requestContext.authorizer.iam.userArn, in scope when its user or role-session name is one of the employee's managers
  in the directory, or when it matches ADMIN_PRINCIPALS);
- the Lambda console (events/dispute_decide.json): the caller is not in the event; the decision is recorded as
  `invoked_via=console` with this invocation's aws_request_id (CloudTrail's Invoke data event names the caller).

  {"dispute_id": "D3F9A0C12B4E7", "decision": "accept", "points": 20, "reason": "The CSAT survey was for this ticket"}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.config import get_settings
from shared.disputes.model import DisputeRefused
from shared.errors import InvalidPayload
from shared.ledger.approvals import Actor, actor_from_event
from shared.observability import logger

REFUSED_STATUS = {'unknown': 404, 'decided': 409, 'out_of_scope': 403, 'own_dispute': 403, 'points': 400}


class DisputeDecision(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    dispute_id: str = Field(min_length=3, max_length=64)
    decision: Literal['accept', 'reject']
    reason: str = Field(min_length=5, max_length=500)
    points: int | None = Field(default=None, ge=-1_000_000, le=1_000_000, description='The correction; default: undo a debit')
    decided_by: str | None = Field(default=None, max_length=256, description='A claimed label only')


def _is_http(event: dict[str, Any]) -> bool:
    return isinstance(event.get('requestContext'), dict) and 'http' in event['requestContext']


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    if not _is_http(event):
        return dict(event)
    try:
        body = json.loads(event.get('body') or '{}')
    except json.JSONDecodeError as exc:
        raise InvalidPayload('the body is not JSON', field='body') from exc
    if not isinstance(body, dict):
        raise InvalidPayload('the body must be a JSON object', field='body')
    return body | {'dispute_id': (event.get('pathParameters') or {}).get('dispute_id')}


def handle(event: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    from shared.alerts.store import AlertStore
    from shared.directory.store import DirectoryStore
    from shared.disputes.service import Disputes
    from shared.disputes.store import DisputeStore
    from shared.ledger.approval_store import ApprovalStore
    from shared.ledger.store import LedgerStore

    try:
        decision = DisputeDecision.model_validate(_payload(event))
        if decision.points == 0:
            raise InvalidPayload('a correction of 0 points changes nothing: reject the dispute instead', field='points')
        settings = get_settings()
        disputes = Disputes(DisputeStore(), DirectoryStore(), AlertStore(), LedgerStore(), ApprovalStore())
        return disputes.decide(decision.dispute_id, accept=decision.decision == 'accept', reason=decision.reason, points=decision.points,
                               actor=actor.model_copy(update={'claimed': decision.decided_by}), admin_principals=settings.ADMIN_PRINCIPALS,
                               approval_above=settings.ADJUSTMENT_APPROVAL_ABOVE, now=now)  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        return {'ok': False, 'field': '.'.join(map(str, first['loc'])) or 'body', 'error': first['msg']}
    except InvalidPayload as exc:
        return {'ok': False, 'field': exc.field, 'error': exc.reason}
    except DisputeRefused as refused:
        return {'ok': False, 'refused': refused.code, 'error': refused.reason}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    actor = actor_from_event(event, context.aws_request_id)
    result = handle(event, actor, datetime.now(UTC))
    logger.info('dispute decision', extra={'result': result, 'actor': actor.model_dump(), 'invoked_via': actor.via})
    if not _is_http(event):
        return result
    status = 200 if result.get('ok') else REFUSED_STATUS.get(str(result.get('refused')), 400)
    return {'statusCode': status, 'headers': {'Content-Type': 'application/json'}, 'body': json.dumps(result)}
