"""ApiTable: the people-facing API's own small items, each with a TTL (`expires_at`) where it is temporary.

- `RL#<subject>#<window>`   per-user request counters (shared/api/throttle.py)
- `KEND#<session id>`       a kiosk session that was logged out (refused until it would have expired anyway)
- `PIN#<employee_id>`       a kiosk PIN's scrypt hash and salt (never the PIN)
- `PINFAIL#<employee_id>`   wrong PINs in a row, and the lock's end
- `IDEM#...`                Powertools idempotency records (shared/api/idempotency.py)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient


class ApiStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table_name = table_name or get_settings().API_TABLE
        self._client = client

    # --- throttling ---------------------------------------------------------------------------------------------------
    def count(self, key: str, limit: int, expires_at: int) -> bool:
        """Count one request in `key`'s window; False (nothing written) when the window already holds `limit`."""
        try:
            self.client.update_item(
                TableName=self.table_name, Key={'pk': {'S': key}},
                UpdateExpression='ADD n :one SET expires_at = if_not_exists(expires_at, :exp)',
                ConditionExpression='attribute_not_exists(n) OR n < :limit',
                ExpressionAttributeValues={':one': {'N': '1'}, ':limit': {'N': str(limit)}, ':exp': {'N': str(expires_at)}},
            )  # fmt: skip
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- kiosk sessions -----------------------------------------------------------------------------------------------
    def end_session(self, sid: str, expires_at: int) -> None:
        self.client.put_item(TableName=self.table_name, Item={'pk': {'S': f'KEND#{sid}'}, 'expires_at': {'N': str(expires_at)}})

    def session_ended(self, sid: str) -> bool:
        found = self.client.get_item(TableName=self.table_name, Key={'pk': {'S': f'KEND#{sid}'}}, ProjectionExpression='pk')
        return 'Item' in found

    # --- kiosk PINs ---------------------------------------------------------------------------------------------------
    def pin_record(self, employee_id: str) -> dict[str, Any] | None:
        """The PIN item and the failure item of one person: one BatchGetItem."""
        keys = [{'pk': {'S': f'PIN#{employee_id}'}}, {'pk': {'S': f'PINFAIL#{employee_id}'}}]
        found = self.client.batch_get_item(RequestItems={self.table_name: {'Keys': keys, 'ConsistentRead': True}})
        items = {item['pk']['S']: item for item in found['Responses'].get(self.table_name, [])}
        pin = items.get(f'PIN#{employee_id}')
        if pin is None:
            return None
        fails = items.get(f'PINFAIL#{employee_id}', {})
        return {'hash': pin['hash']['S'], 'salt': pin['salt']['S'], 'n': int(pin['n']['N']), 'r': int(pin['r']['N']),
                'p': int(pin['p']['N']), 'fails': int(fails.get('fails', {}).get('N', '0')),
                'locked_until': int(fails.get('locked_until', {}).get('N', '0')),
                'window_ends': int(fails.get('expires_at', {}).get('N', '0'))}  # fmt: skip

    def put_pin(self, employee_id: str, hashed: str, salt: str, n: int, r: int, p: int, now: datetime) -> None:
        self.client.transact_write_items(TransactItems=[
            {'Put': {'TableName': self.table_name, 'Item': {
                'pk': {'S': f'PIN#{employee_id}'}, 'hash': {'S': hashed}, 'salt': {'S': salt}, 'n': {'N': str(n)},
                'r': {'N': str(r)}, 'p': {'N': str(p)}, 'set_at': {'S': now.isoformat()}}}},
            {'Delete': {'TableName': self.table_name, 'Key': {'pk': {'S': f'PINFAIL#{employee_id}'}}}},
        ])  # fmt: skip

    def record_pin_failure(self, employee_id: str, fails: int, locked_until: int, expires_at: int) -> None:
        self.client.put_item(TableName=self.table_name, Item={
            'pk': {'S': f'PINFAIL#{employee_id}'}, 'fails': {'N': str(fails)}, 'locked_until': {'N': str(locked_until)},
            'expires_at': {'N': str(expires_at)}})  # fmt: skip

    def clear_pin_failures(self, employee_id: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key={'pk': {'S': f'PINFAIL#{employee_id}'}})

    def forget_pin(self, employee_id: str, *, dry_run: bool = False) -> int:
        """An erasure (shared/privacy): the PIN hash and the lockout item deleted; how many existed."""
        keys = [{'pk': {'S': f'PIN#{employee_id}'}}, {'pk': {'S': f'PINFAIL#{employee_id}'}}]
        found = self.client.batch_get_item(RequestItems={self.table_name: {'Keys': keys, 'ProjectionExpression': 'pk'}})
        present = found['Responses'].get(self.table_name, [])
        if not dry_run:
            for item in present:
                self.client.delete_item(TableName=self.table_name, Key={'pk': item['pk']})
        return len(present)
