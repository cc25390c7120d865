"""Where disputes are kept: one item per dispute in the balances table (beside the balances and the requested
adjustments; the ledger table stays append-only entries), and how a code finds its entry in the ledger.

Items: `pk = DISPUTE#<dispute_id>`, attributes `status`, `employee_id`, `entry_id`, `dispute` (the
Dispute as JSON, history included), `updated_at`. The dispute id is derived from the entry id, so "one dispute per
entry" is a conditional PutItem. A decision is a conditional update (`status = open`), so two managers cannot both
decide it. Entries are found by their code with a prefix Query of the employee's own partition (`EMP#<id>`,
`sk begins_with ENTRY#<code>`), which never reads anyone else's entries.

A dispute filed with its employee's location also carries `dispute_loc = <location>#<open|decided>` and
`dispute_sk = <filed_at>#<dispute_id>`, the keys of the sparse `disputes_by_location` index (only dispute items have
them): a location's open (or decided) disputes are one Query, newest first; a decision moves the item to `#decided`.
"""

from __future__ import annotations

from typing import Any

from shared.config import get_settings
from shared.disputes.model import Dispute, DisputeStatus, id_prefix
from shared.dynamo import LowLevelClient, conditionally
from shared.ledger.entries import LedgerEntry

MAX_MATCHES = 5


DISPUTES_INDEX = 'disputes_by_location'


def location_key(location_id: str, status: DisputeStatus) -> str:
    """The index partition: a location's open disputes, or its decided ones (accepted and rejected together)."""
    return f'{location_id}#{"open" if status is DisputeStatus.OPEN else "decided"}'


def dispute_pk(dispute_id: str) -> str:
    return f'DISPUTE#{dispute_id}'


class DisputeStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, ledger_table: str | None = None, client: Any = None) -> None:
        settings = get_settings()
        self.table = table_name or settings.BALANCES_TABLE
        self.ledger_table = ledger_table or settings.LEDGER_TABLE
        self._client = client

    def entries_by_code(self, employee_id: str, code: str) -> list[LedgerEntry]:
        """The employee's entries whose id starts with the code (at most a few: more means the code is too short)."""
        response = self.client.query(
            TableName=self.ledger_table,
            KeyConditionExpression='pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues={':pk': {'S': f'EMP#{employee_id}'}, ':prefix': {'S': f'ENTRY#{id_prefix(code)}'}},
            ProjectionExpression='entry',
            Limit=MAX_MATCHES,
            ConsistentRead=True,
        )
        return [LedgerEntry.model_validate_json(item['entry']['S']) for item in response.get('Items', [])]

    def get(self, dispute_id: str) -> Dispute | None:
        key = {'pk': {'S': dispute_pk(dispute_id)}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get('Item')
        return Dispute.model_validate_json(item['dispute']['S']) if item else None

    def many(self, dispute_ids: list[str]) -> list[Dispute]:
        """The disputes that exist among these ids (BatchGetItem, 100 keys a request): a person's own disputes are found
        from their entries' ids (`dispute_id_for`), never by a Scan."""
        found: list[Dispute] = []
        ids = list(dict.fromkeys(dispute_ids))
        for start in range(0, len(ids), 100):
            request: dict[str, Any] = {self.table: {'Keys': [{'pk': {'S': dispute_pk(i)}} for i in ids[start:start + 100]],
                                                    'ProjectionExpression': 'dispute'}}  # fmt: skip
            for _ in range(5):
                response = self.client.batch_get_item(RequestItems=request)
                found += [Dispute.model_validate_json(item['dispute']['S']) for item in response.get('Responses', {}).get(self.table, [])]
                request = response.get('UnprocessedKeys') or {}
                if not request:
                    break
        return found

    def put_new(self, dispute: Dispute) -> bool:
        """False when the entry already has a dispute (this filing, retried, or a second one)."""
        item = {
            'pk': {'S': dispute_pk(dispute.dispute_id)},
            'status': {'S': dispute.status.value},
            'employee_id': {'S': dispute.employee_id},
            'entry_id': {'S': dispute.entry_id},
            'dispute': {'S': dispute.model_dump_json()},
            'updated_at': {'S': dispute.filed_at.isoformat()},
        }
        if dispute.location_id:
            item['dispute_loc'] = {'S': location_key(dispute.location_id, dispute.status)}
            item['dispute_sk'] = {'S': f'{dispute.filed_at.isoformat()}#{dispute.dispute_id}'}
        return conditionally(self.client.put_item, TableName=self.table, Item=item, ConditionExpression='attribute_not_exists(pk)')

    def save_decision(self, dispute: Dispute) -> bool:
        """Store a decided dispute; False when it was decided meanwhile (only an open dispute is decided)."""
        key = {'pk': {'S': dispute_pk(dispute.dispute_id)}}
        values = {':s': {'S': dispute.status.value}, ':d': {'S': dispute.model_dump_json()},
                  ':u': {'S': (dispute.decided_at or dispute.filed_at).isoformat()}, ':open': {'S': DisputeStatus.OPEN.value}}  # fmt: skip
        update = 'SET #s = :s, #d = :d, updated_at = :u'
        if dispute.location_id:  # the team list's index: from the location's open disputes to its decided ones
            update += ', dispute_loc = :loc'
            values[':loc'] = {'S': location_key(dispute.location_id, dispute.status)}
        return conditionally(
            self.client.update_item,
            TableName=self.table,
            Key=key,
            UpdateExpression=update,
            ConditionExpression='#s = :open',
            ExpressionAttributeNames={'#s': 'status', '#d': 'dispute'},
            ExpressionAttributeValues=values,
        )

    def at_location(self, location_id: str, *, decided: bool = False, after: dict[str, Any] | None = None,
                    limit: int = 20) -> tuple[list[Dispute], dict[str, Any] | None]:  # fmt: skip
        """One page of a location's open (or decided) disputes, newest first: one Query of the sparse
        `disputes_by_location` index; the page's LastEvaluatedKey continues it."""
        status = DisputeStatus.ACCEPTED if decided else DisputeStatus.OPEN
        params: dict[str, Any] = {'TableName': self.table, 'IndexName': DISPUTES_INDEX, 'KeyConditionExpression': 'dispute_loc = :loc',
                                  'ExpressionAttributeValues': {':loc': {'S': location_key(location_id, status)}},
                                  'ScanIndexForward': False, 'Limit': limit}  # fmt: skip
        if after:
            params['ExclusiveStartKey'] = after
        page = self.client.query(**params)
        return [Dispute.model_validate_json(item['dispute']['S']) for item in page.get('Items', [])], page.get('LastEvaluatedKey')
