"""The payout's storage (shared/wallet/payout.py says what): cash-out requests and export runs in RewardsTable, the
PAYOUT debits through the ledger's chained writes, the files in the PayoutsBucket.

RewardsTable items (keys are a contract, /work/notes/design14.md):
- `CASHOUT#<program>#<period>` sk `<employee>`: a request (points, requested_at, status requested|paid|skipped, then
  paid_points and entry_id). Moves to `paid` in the same transaction as its PAYOUT debit (conditioned on `requested`).
- `PAYOUT#<program>` sk `<period>`: the export run (key, rows, totals, checksum, generated_at, exported_at).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, batch_get
from shared.ledger.entries import LedgerEntry
from shared.ledger.store import LedgerStore
from shared.wallet.payout import CashOutRequest, PayoutSummary


def cashout_pk(program_id: str, period: str) -> str:
    return f'CASHOUT#{program_id}#{period}'


def run_pk(program_id: str) -> str:
    return f'PAYOUT#{program_id}'


class PayoutStore(LowLevelClient):
    def __init__(self, ledger: LedgerStore | None = None, table: str | None = None, bucket: str | None = None,
                 s3: Any = None) -> None:
        settings = get_settings()
        self.table = table or settings.REWARDS_TABLE
        self.directory_table = settings.DIRECTORY_TABLE
        self.bucket = bucket or settings.PAYOUTS_BUCKET
        self.ledger = ledger or LedgerStore()
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            import boto3

            settings = get_settings()
            self._s3 = boto3.client('s3', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
        return self._s3

    def available(self, employee_id: str) -> int:
        """What can be cashed out: the available points less a clawback debt still owed (repaid from them shortly)."""
        balance = self.ledger.balance(employee_id, with_pending=False)
        return max(balance.available - balance.debt, 0)

    def personnel_numbers(self, employee_ids: list[str]) -> dict[str, str]:
        """Employee id -> the SAP personnel number the directory profile holds (`personnel_number`, when the HR export
        carries one): BatchGetItem of the profiles, 100 a request, projected to it. Absent: the employee id is used."""
        keys = [(self.directory_table, {'pk': {'S': f'EMP#{employee_id}'}, 'sk': {'S': 'PROFILE'}})
                for employee_id in sorted(set(employee_ids))]
        options = {self.directory_table: {'ProjectionExpression': 'employee_id, personnel_number'}}
        return {item['employee_id']['S']: item['personnel_number']['S'] for _, item in batch_get(self.client, keys, options)
                if 'personnel_number' in item and 'employee_id' in item}

    # --- requests ---------------------------------------------------------------------------------------------------
    def put_request(self, request: CashOutRequest) -> None:
        """Store (or replace) the person's request of the period, unless it has been paid or skipped already."""
        self.client.put_item(TableName=self.table, Item=self._item(request),
                             ConditionExpression='attribute_not_exists(pk) OR #status = :requested',
                             ExpressionAttributeNames={'#status': 'status'},
                             ExpressionAttributeValues={':requested': {'S': 'requested'}})  # fmt: skip

    @staticmethod
    def _item(request: CashOutRequest) -> dict[str, Any]:
        return {'pk': {'S': cashout_pk(request.program_id, request.period)}, 'sk': {'S': request.employee_id},
                'points': {'N': str(request.points)}, 'requested_at': {'S': request.requested_at.isoformat()},
                'status': {'S': request.status}, 'paid_points': {'N': str(request.paid_points)},
                'request': {'S': request.model_dump_json()}}  # fmt: skip

    def requests(self, program_id: str, period: str) -> list[CashOutRequest]:
        """The period's requests: one Query of the partition, paginated, consistent."""
        kwargs: dict[str, Any] = {'TableName': self.table, 'KeyConditionExpression': 'pk = :pk', 'ConsistentRead': True,
                                  'ExpressionAttributeValues': {':pk': {'S': cashout_pk(program_id, period)}}}
        out: list[CashOutRequest] = []
        while True:
            page = self.client.query(**kwargs)
            for item in page.get('Items', []):
                request = CashOutRequest.model_validate_json(item['request']['S'])
                out.append(request.model_copy(update={'status': item['status']['S'], 'paid_points': int(item['paid_points']['N']),
                                                      'entry_id': item.get('entry_id', {}).get('S')}))  # fmt: skip
            if 'LastEvaluatedKey' not in page:
                return out
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    def pay(self, request: CashOutRequest, entry: LedgerEntry) -> str:
        """The PAYOUT debit (chained, with its balance update) and the request moving to `paid`, in one transaction:
        'written'; 'refused' (the request is no longer `requested`); 'duplicate' (the entry exists).
        Raises InsufficientBalance when the points were spent meanwhile."""
        mark = {'Update': {
            'TableName': self.table,
            'Key': {'pk': {'S': cashout_pk(request.program_id, request.period)}, 'sk': {'S': request.employee_id}},
            'UpdateExpression': 'SET #status = :paid, paid_points = :points, entry_id = :entry, paid_at = :at',
            'ConditionExpression': '#status = :requested',
            'ExpressionAttributeNames': {'#status': 'status'},
            'ExpressionAttributeValues': {':paid': {'S': 'paid'}, ':requested': {'S': 'requested'}, ':points': {'N': str(-entry.amount)},
                                          ':entry': {'S': entry.entry_id}, ':at': {'S': entry.recorded_at.isoformat()}},
        }}  # fmt: skip
        return self.ledger.append_adjustment_guarded(entry, mark)

    def skip(self, request: CashOutRequest, reason: str, now: datetime) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={'pk': {'S': cashout_pk(request.program_id, request.period)}, 'sk': {'S': request.employee_id}},
            UpdateExpression='SET #status = :skipped, skip_reason = :reason, skipped_at = :at',
            ConditionExpression='#status = :requested', ExpressionAttributeNames={'#status': 'status'},
            ExpressionAttributeValues={':skipped': {'S': 'skipped'}, ':requested': {'S': 'requested'}, ':reason': {'S': reason},
                                       ':at': {'S': now.isoformat()}})  # fmt: skip

    # --- runs and files ---------------------------------------------------------------------------------------------
    def run(self, program_id: str, period: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key={'pk': {'S': run_pk(program_id)}, 'sk': {'S': period}},
                                    ConsistentRead=True).get('Item')
        return {name: next(iter(value.values())) for name, value in item.items()} if item else None

    def record_run(self, summary: PayoutSummary, now: datetime) -> None:
        item = {'pk': {'S': run_pk(summary.program_id)}, 'sk': {'S': summary.period}, 'key': {'S': summary.key},
                'manifest_key': {'S': summary.manifest_key}, 'rows': {'N': str(summary.rows)},
                'total_points': {'N': str(summary.total_points)}, 'total_amount': {'S': summary.total_amount},
                'currency': {'S': summary.currency}, 'sha256': {'S': summary.sha256}, 'generated_at': {'S': summary.generated_at},
                'exported_at': {'S': now.isoformat()}}  # fmt: skip
        self.client.put_item(TableName=self.table, Item=item)

    def put_object(self, key: str, body: bytes, content_type: str) -> None:
        import base64
        import hashlib

        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, ChecksumSHA256=digest,
                           ServerSideEncryption='AES256')
