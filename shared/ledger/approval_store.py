"""Where requested adjustments wait for their second person: one item per request in the balances table.

Item: `pk = ADJREQ#<adjustment_id>`, `status` (requested | approved | rejected), `request` (the RequestedAdjustment as
JSON, decision included), `employee_id`, `points`, `requested_at`, `updated_at`. Never a ledger entry: the ledger only
gets the entry when the approval is written (in the same transaction as the status change, see
LedgerStore.append_adjustment_guarded), so a request is approved once, and never both approved and rejected.
"""

from __future__ import annotations

from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, conditionally
from shared.ledger.approvals import Decision, RequestedAdjustment, RequestStatus


def request_pk(adjustment_id: str) -> str:
    return f'ADJREQ#{adjustment_id}'


class ApprovalStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table = table_name or get_settings().BALANCES_TABLE
        self._client = client

    def _key(self, adjustment_id: str) -> dict[str, Any]:
        return {'pk': {'S': request_pk(adjustment_id)}}

    def get(self, adjustment_id: str) -> RequestedAdjustment | None:
        item = self.client.get_item(TableName=self.table, Key=self._key(adjustment_id), ConsistentRead=True).get('Item')
        return RequestedAdjustment.model_validate_json(item['request']['S']) if item else None

    def put_new(self, request: RequestedAdjustment) -> bool:
        """Record a request; False when one with this id exists already (a retry, or an id reused)."""
        item = {
            **self._key(request.adjustment_id),
            'status': {'S': request.status.value},
            'request': {'S': request.model_dump_json()},
            'employee_id': {'S': request.employee_id},
            'points': {'N': str(request.points)},
            'requested_at': {'S': request.requested_at.isoformat()},
            'updated_at': {'S': request.requested_at.isoformat()},
        }
        return conditionally(self.client.put_item, TableName=self.table, Item=item, ConditionExpression='attribute_not_exists(pk)')

    def decision_update(self, request: RequestedAdjustment, decision: Decision) -> dict[str, Any]:
        """The conditional update (requested -> approved/rejected), as a TransactWriteItems item."""
        decided = request.model_copy(update={'status': decision.status, 'decision': decision})
        return {
            'Update': {
                'TableName': self.table,
                'Key': self._key(request.adjustment_id),
                'UpdateExpression': 'SET #s = :s, #r = :r, updated_at = :u',
                'ConditionExpression': '#s = :requested',
                'ExpressionAttributeNames': {'#s': 'status', '#r': 'request'},
                'ExpressionAttributeValues': {':s': {'S': decision.status.value}, ':r': {'S': decided.model_dump_json()},
                                              ':u': {'S': decision.at.isoformat()}, ':requested': {'S': RequestStatus.REQUESTED.value}},
            }
        }  # fmt: skip

    def reject(self, request: RequestedAdjustment, decision: Decision) -> bool:
        """Record a rejection; False when the request was decided meanwhile."""
        update = self.decision_update(request, decision)['Update']
        update.pop('TableName')
        return conditionally(self.client.update_item, TableName=self.table, **update)
