"""ApiTable: the people-facing API's own small items, each with a TTL (`expires_at`) where it is temporary.

- `RL#<subject>#<window>`   per-user request counters (shared/api/throttle.py)
- `KEND#<session id>`       a kiosk session that was logged out (refused until it would have expired anyway)
- `PIN#<employee_id>`       a kiosk PIN's scrypt hash and salt (never the PIN)
- `PINFAIL#<employee_id>`   wrong PINs in a row, and the lock's end
- `IDEM#...`                Powertools idempotency records (shared/api/idempotency.py)
- `PREVIEW#<preview_id>`    a what-if preview job and its result (shared/programs/preview_jobs.py), kept a week
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, conditionally

if TYPE_CHECKING:
    from shared.programs.preview_jobs import PreviewJob


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

    # --- what-if preview jobs (shared/programs/preview_jobs.py) ------------------------------------------------------
    def create_preview(self, job: PreviewJob) -> bool:
        """Record a new job; False (nothing written) when its id is already recorded."""
        item = {'pk': {'S': f'PREVIEW#{job.preview_id}'}, 'preview_id': {'S': job.preview_id}, 'program_id': {'S': job.program_id},
                'month': {'S': job.month}, 'status': {'S': job.status.value}, 'requested_by': {'S': job.requested_by},
                'created_at': {'S': job.created_at.isoformat()}, 'expires_at': {'N': str(job.expires_at)}, 'digest': {'S': job.digest},
                'attempts': {'N': '0'}}  # fmt: skip
        if job.document is not None:
            item['document'] = {'S': job.document}
        return conditionally(self.client.put_item, TableName=self.table_name, Item=item, ConditionExpression='attribute_not_exists(pk)')

    def preview(self, preview_id: str) -> PreviewJob | None:
        from shared.programs.preview_jobs import PreviewJob

        found = self.client.get_item(TableName=self.table_name, Key={'pk': {'S': f'PREVIEW#{preview_id}'}}, ConsistentRead=True)
        item = found.get('Item')
        if item is None:
            return None
        text = {name: value['S'] for name, value in item.items() if 'S' in value and name != 'pk'}
        return PreviewJob(
            preview_id=text['preview_id'], program_id=text['program_id'], month=text['month'], status=text['status'],
            requested_by=text['requested_by'], created_at=text['created_at'], expires_at=int(item['expires_at']['N']),
            digest=text['digest'], document=text.get('document'), queued_at=text.get('queued_at'), started_at=text.get('started_at'),
            finished_at=text.get('finished_at'), attempts=int(item.get('attempts', {}).get('N', '0')), message_id=text.get('message_id'),
            result=json.loads(text['result']) if 'result' in text else None, truncated=bool(item.get('truncated', {}).get('BOOL', False)),
            reason=text.get('reason'),
        )  # fmt: skip

    def mark_preview_queued(self, preview_id: str, now: datetime) -> None:
        self.client.update_item(TableName=self.table_name, Key={'pk': {'S': f'PREVIEW#{preview_id}'}},
                                UpdateExpression='SET queued_at = :now', ConditionExpression='attribute_exists(pk)',
                                ExpressionAttributeValues={':now': {'S': now.isoformat()}})  # fmt: skip

    def claim_preview(self, preview_id: str, message_id: str, now: datetime) -> bool:
        """`running` under this message: from `queued`, or again when SQS redelivers the message that already holds it."""
        return conditionally(
            self.client.update_item, TableName=self.table_name, Key={'pk': {'S': f'PREVIEW#{preview_id}'}},
            UpdateExpression='SET #s = :running, started_at = :now, message_id = :mid ADD attempts :one',
            ConditionExpression='#s = :queued OR (#s = :running AND message_id = :mid)',
            ExpressionAttributeNames={'#s': 'status'},
            ExpressionAttributeValues={':running': {'S': 'running'}, ':queued': {'S': 'queued'}, ':now': {'S': now.isoformat()},
                                       ':mid': {'S': message_id}, ':one': {'N': '1'}},
        )  # fmt: skip

    def release_preview(self, preview_id: str, message_id: str, reason: str) -> None:
        """Back to `queued` after a failed attempt (SQS delivers the message again), the attempt's reason kept."""
        conditionally(
            self.client.update_item, TableName=self.table_name, Key={'pk': {'S': f'PREVIEW#{preview_id}'}},
            UpdateExpression='SET #s = :queued, #why = :reason', ConditionExpression='#s = :running AND message_id = :mid',
            ExpressionAttributeNames={'#s': 'status', '#why': 'reason'},
            ExpressionAttributeValues={':queued': {'S': 'queued'}, ':running': {'S': 'running'}, ':mid': {'S': message_id},
                                       ':reason': {'S': reason}},
        )  # fmt: skip

    def finish_preview(self, preview_id: str, message_id: str, result_json: str, truncated: bool, now: datetime) -> bool:
        """`done` with the result (the candidate document is no longer kept); False when another message holds the job."""
        return conditionally(
            self.client.update_item, TableName=self.table_name, Key={'pk': {'S': f'PREVIEW#{preview_id}'}},
            UpdateExpression='SET #s = :done, #r = :result, truncated = :truncated, finished_at = :now REMOVE #doc, #why',
            ConditionExpression='#s = :running AND message_id = :mid',
            ExpressionAttributeNames={'#s': 'status', '#r': 'result', '#doc': 'document', '#why': 'reason'},
            ExpressionAttributeValues={':done': {'S': 'done'}, ':running': {'S': 'running'}, ':mid': {'S': message_id},
                                       ':result': {'S': result_json}, ':truncated': {'BOOL': truncated}, ':now': {'S': now.isoformat()}},
        )  # fmt: skip

    def fail_preview(self, preview_id: str, message_id: str, reason: str, now: datetime) -> bool:
        return conditionally(
            self.client.update_item, TableName=self.table_name, Key={'pk': {'S': f'PREVIEW#{preview_id}'}},
            UpdateExpression='SET #s = :failed, #why = :reason, finished_at = :now REMOVE #doc',
            ConditionExpression='#s = :running AND message_id = :mid',
            ExpressionAttributeNames={'#s': 'status', '#why': 'reason', '#doc': 'document'},
            ExpressionAttributeValues={':failed': {'S': 'failed'}, ':running': {'S': 'running'}, ':mid': {'S': message_id},
                                       ':reason': {'S': reason}, ':now': {'S': now.isoformat()}},
        )  # fmt: skip
