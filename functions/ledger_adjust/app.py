"""Admin adjustments: credit or debit an employee's points with a reason; large ones need a second person.

Two ways in (shared/ledger/adjustments.py does the work):
- the Lambda console (a test event, events/ledger_adjust.json): the caller is not in the event, so the request is
  recorded as `invoked_via=console` with this invocation's `aws_request_id` (CloudTrail's data event for the Invoke
  carries the same `requestID` and the caller's identity). A console invocation may make an adjustment (or request a
  large one); it cannot approve or reject;
- the IAM-authorized HTTP API routes (SigV4-signed; the identity is requestContext.authorizer.iam.userArn):
  POST /admin/adjustments                      body: the adjustment (as the console event)
  POST /admin/adjustments/{adjustment_id}/approve
  POST /admin/adjustments/{adjustment_id}/reject   body: {"reason": "..."}

  {"adjustment_id": "2024-05-recount-17", "employee_id": "E1", "points": -20,
   "reason": "Duplicate CSAT award found in May audit", "requested_by": "maria@example.com"}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

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


def _is_http(event: dict[str, Any]) -> bool:
    return isinstance(event.get('requestContext'), dict) and 'http' in event['requestContext']


def _body(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get('body') or '{}'
    if event.get('isBase64Encoded'):
        import base64

        raw = base64.b64decode(raw).decode('utf-8')
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidPayload('the body is not JSON', field='body') from exc
    if not isinstance(body, dict):
        raise InvalidPayload('the body must be a JSON object', field='body')
    return body


def _command(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """('request' | 'approve' | 'reject', payload) from an HTTP API route or a console event (`action` picks)."""
    if not _is_http(event):
        payload = dict(event)
        return str(payload.pop('action', 'request')), payload
    route = str(event.get('routeKey') or '')
    body = _body(event)
    adjustment_id = (event.get('pathParameters') or {}).get('adjustment_id')
    if route.endswith('/approve') or route.endswith('/reject'):
        return route.rsplit('/', 1)[-1], body | {'adjustment_id': adjustment_id}
    return 'request', body


def handle(event: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    stores = {'ledger': _ledger(), 'directory': DirectoryStore(), 'approvals': ApprovalStore()}
    try:
        action, payload = _command(event)
        if action == 'request':
            request = AdjustmentRequest.model_validate(payload)
            actor = actor.model_copy(update={'claimed': request.requested_by})
            return submit_adjustment(request, maker=actor, approval_above=get_settings().ADJUSTMENT_APPROVAL_ABOVE, now=now, **stores)
        if action in ('approve', 'reject'):
            decision = AdjustmentDecision.model_validate(payload | {'approve': action == 'approve'})
            return decide_adjustment(decision, checker=actor, now=now, **stores)
        raise InvalidPayload(f'unknown action {action[:40]!r} (request, approve or reject)', field='action')
    except ValidationError as exc:
        first = exc.errors()[0]
        return {'ok': False, 'field': '.'.join(map(str, first['loc'])) or 'body', 'error': first['msg']}
    except InvalidPayload as exc:
        return {'ok': False, 'field': exc.field, 'error': exc.reason}
    except Refused as refused:
        return {'ok': False, 'refused': refused.code, 'error': refused.reason}


def _ledger() -> Any:
    from shared.ledger.store import LedgerStore

    return LedgerStore()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    actor = actor_from_event(event, context.aws_request_id)
    result = handle(event, actor, datetime.now(UTC))
    logger.info('ledger adjustment', extra={'result': result, 'actor': actor.model_dump(), 'invoked_via': actor.via})
    if not _is_http(event):
        return result
    status = 200 if result.get('ok') else REFUSED_STATUS.get(str(result.get('refused')), 400)
    return {'statusCode': status, 'headers': {'Content-Type': 'application/json'}, 'body': json.dumps(result)}
