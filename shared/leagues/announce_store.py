"""The announcements' sent markers in the leagues table (LeaguesTable), for `shared.leagues.announce`.

Items, in the close's partition (`CLOSE#<program>#<month>`; the close keeps its marker, roster and snapshots there
under other sort keys, which this module never touches):
- `SENT#<employee>#result`: a winner's notice, written with `attribute_not_exists` in ONE transaction with the
  notice itself (a new alert item, `attribute_not_exists` too). Either both exist or neither: a rerun finds the
  marker and plans nothing.
- `SENT#<employee>#summary`: a location manager's e-mail, claimed BEFORE it is sent (`state` sending, with the
  claim's time), then recorded `sent` with SES's message id, or `failed` with the error code. A rerun skips a sent
  one, retries a failed one, and takes over a claim older than the lease (its sender died); within the lease it
  leaves it alone. So a rerun never sends twice, except after a crash between SES accepting and the record: that
  one e-mail may go twice after the lease (as an alert whose sender died after Twilio accepted it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, conditional_check_failed, conditionally

CLAIM_LEASE = timedelta(minutes=10)


def close_pk(program_id: str, month: str) -> str:
    return f'CLOSE#{program_id}#{month}'


def sent_sk(employee_id: str, kind: str) -> str:
    return f'SENT#{employee_id}#{kind}'


@dataclass(frozen=True)
class SentMarker:
    employee_id: str
    kind: str  # result | summary
    state: str  # planned (a result: its alert exists) | sending | sent | failed
    detail: str = ''  # the result's text, or the summary's message id or error code


class AnnounceStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table = table_name or get_settings().LEAGUES_TABLE
        self._client = client

    def _key(self, program_id: str, month: str, employee_id: str, kind: str) -> dict[str, Any]:
        return {'pk': {'S': close_pk(program_id, month)}, 'sk': {'S': sent_sk(employee_id, kind)}}

    # --- winners ---------------------------------------------------------------------------------------------------
    def plan_result(self, program_id: str, month: str, employee_id: str, text: str, alert: dict[str, Any], now: datetime) -> bool:
        """The winner's marker and their notice (`alert`: a TransactWriteItems action) together; False when the
        marker or the alert already existed (announced before: nothing written)."""
        marker = {
            'TableName': self.table,
            'Item': self._key(program_id, month, employee_id, 'result') | {
                'employee_id': {'S': employee_id}, 'kind': {'S': 'result'}, 'state': {'S': 'planned'}, 'text': {'S': text},
                'alert_id': {'S': alert['Put']['Item']['pk']['S'].removeprefix('ALERT#')}, 'planned_at': {'S': now.isoformat()},
            },
            'ConditionExpression': 'attribute_not_exists(pk)',
        }  # fmt: skip
        try:
            self.client.transact_write_items(TransactItems=[{'Put': marker}, alert])
        except self.client.exceptions.TransactionCanceledException as exc:
            codes = [reason.get('Code') for reason in exc.response.get('CancellationReasons') or []]
            if 'ConditionalCheckFailed' in codes:
                return False
            raise
        return True

    # --- managers --------------------------------------------------------------------------------------------------
    def claim_summary(self, program_id: str, month: str, employee_id: str, now: datetime) -> bool:
        """Claim a manager's e-mail before sending it: True for the one caller that may send it now."""
        key = self._key(program_id, month, employee_id, 'summary')
        item = key | {'employee_id': {'S': employee_id}, 'kind': {'S': 'summary'}, 'state': {'S': 'sending'},
                      'claimed_at': {'S': now.isoformat()}}  # fmt: skip
        if conditionally(self.client.put_item, TableName=self.table, Item=item, ConditionExpression='attribute_not_exists(pk)'):
            return True
        return conditionally(
            self.client.update_item,
            TableName=self.table,
            Key=key,
            UpdateExpression='SET #state = :sending, claimed_at = :now',
            ConditionExpression='#state = :failed OR (#state = :sending AND claimed_at < :stale)',
            ExpressionAttributeNames={'#state': 'state'},
            ExpressionAttributeValues={':sending': {'S': 'sending'}, ':failed': {'S': 'failed'}, ':now': {'S': now.isoformat()},
                                       ':stale': {'S': (now - CLAIM_LEASE).isoformat()}},  # fmt: skip
        )

    def summary_done(self, program_id: str, month: str, employee_id: str, now: datetime, *, message_id: str | None = None,
                     error: str | None = None, people: int = 0) -> None:  # fmt: skip
        """Record the claimed e-mail as sent (SES's message id) or failed (the error code, no address)."""
        state, detail = ('sent', message_id or '') if error is None else ('failed', error)
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(program_id, month, employee_id, 'summary'),
                UpdateExpression='SET #state = :state, detail = :detail, done_at = :now, people = :people',
                ConditionExpression='#state = :sending',
                ExpressionAttributeNames={'#state': 'state'},
                ExpressionAttributeValues={':state': {'S': state}, ':detail': {'S': detail}, ':now': {'S': now.isoformat()},
                                           ':people': {'N': str(people)}, ':sending': {'S': 'sending'}},  # fmt: skip
            )
        except Exception as exc:
            if not conditional_check_failed(exc):
                raise

    # --- reading (console, tests) ----------------------------------------------------------------------------------
    def markers(self, program_id: str, month: str) -> list[SentMarker]:
        """Every sent marker of a closed month: one Query of the close's partition (SENT# sort keys only)."""
        params: dict[str, Any] = {
            'TableName': self.table,
            'KeyConditionExpression': 'pk = :pk AND begins_with(sk, :sent)',
            'ExpressionAttributeValues': {':pk': {'S': close_pk(program_id, month)}, ':sent': {'S': 'SENT#'}},
        }
        found: list[SentMarker] = []
        while True:
            page = self.client.query(**params)
            for item in page.get('Items', []):
                text = {name: value['S'] for name, value in item.items() if 'S' in value}
                found.append(SentMarker(text['employee_id'], text['kind'], text['state'], text.get('text') or text.get('detail', '')))
            if 'LastEvaluatedKey' not in page:
                return found
            params['ExclusiveStartKey'] = page['LastEvaluatedKey']
