"""Where KPI aggregates are kept: DynamoDB items per scope and period. The organisation (`all`) and each
location keep one item per local day; employees, teams, regions and every per-channel split keep one item
per month (see `shared.kpi.aggregate.item_keys`).

Writing (the KPI aggregator, fed by the tickets table's stream): the deltas of a run of ticket changes
are summed per item and written as ONE TransactWriteItems of at most 99 `ADD` updates plus a marker
item keyed by the run's first change id (`attribute_not_exists`). A retried batch finds its marker,
learns the last change that run applied, and continues after it, so every change is counted exactly
once whatever Lambda retries. Markers expire after three days (the stream keeps records for one).

Reading: a scope's month is ONE Query (`pk = scope AND begins_with(sk, 'YYYY-MM')`): at most 31 day items
(or one month item) plus one item per channel, whatever the number of tickets behind them. A region keeps no
items of its own: its month is its locations' day items, read by BatchGetItem (`days`: 100 keys a request, so
ceil(locations x days / 100) requests, whatever the number of tickets).
"""

from __future__ import annotations

import calendar
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient
from shared.kpi.aggregate import ItemDelta, ItemKey, TicketChange, change_deltas, total

MAX_ITEMS_PER_RUN = 99  # + the marker = DynamoDB's 100 actions per transaction
MARKER_TTL_S = 3 * 24 * 3600
BATCH_GET_KEYS = 100  # DynamoDB's limit of keys in one BatchGetItem
_META = frozenset({'pk', 'sk', 'updated_at', 'late', 'changes', 'expires_at', 'last', 'at'})


@dataclass
class ApplyStats:
    changes: int = 0
    runs: int = 0
    items_written: int = 0
    already_applied: int = 0
    conflicts_retried: int = 0


@dataclass(frozen=True)
class KpiItem:
    pk: str
    sk: str
    counters: dict[str, int] = field(default_factory=dict)
    late: int = 0

    @property
    def day(self) -> str:
        """The item's period: a day (YYYY-MM-DD) or a month (YYYY-MM)."""
        return self.sk.split('#', 1)[0]

    @property
    def channel(self) -> str | None:
        return self.sk.split('#', 1)[1] if '#' in self.sk else None


class RunFailed(Exception):
    """A run was refused: every change before `change_id` is written, none from it on (a retry starts there)."""

    def __init__(self, change_id: str, stats: ApplyStats) -> None:
        super().__init__(f'the KPI run starting at change {change_id} could not be written')
        self.change_id = change_id
        self.stats = stats


class KpiStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        settings = get_settings()
        self.table_name = table_name or settings.KPI_TABLE
        self._client = client

    # -- writing ---------------------------------------------------------------------------------

    def apply(self, changes: Sequence[TicketChange], now: datetime) -> ApplyStats:
        stats = ApplyStats(changes=len(changes))
        start = 0
        while start < len(changes):
            end, deltas = self._next_run(changes, start)
            if not deltas:
                start = end
                continue
            try:
                applied_through = self._write_run(changes[start].change_id, changes[end - 1].change_id, end - start, deltas, now, stats)
            except Exception as exc:
                raise RunFailed(changes[start].change_id, stats) from exc
            if applied_through is None:
                stats.runs += 1
                stats.items_written += len(deltas)
                start = end
                continue
            # An earlier attempt wrote a run starting here: skip what it covered, go on after it.
            stats.already_applied += 1
            ids = [change.change_id for change in changes]
            start = ids.index(applied_through, start) + 1 if applied_through in ids[start:] else len(changes)
        return stats

    def _next_run(self, changes: Sequence[TicketChange], start: int) -> tuple[int, dict[ItemKey, ItemDelta]]:
        per_change: list[dict[ItemKey, ItemDelta]] = []
        keys: set[ItemKey] = set()
        end = start
        while end < len(changes):
            deltas = change_deltas(changes[end])
            if len(deltas) > MAX_ITEMS_PER_RUN:
                raise ValueError(f'change {changes[end].change_id} touches {len(deltas)} KPI items (limit {MAX_ITEMS_PER_RUN})')
            if len(keys | deltas.keys()) > MAX_ITEMS_PER_RUN:
                break
            keys |= deltas.keys()
            per_change.append(deltas)
            end += 1
        return end, total(per_change)

    def _write_run(
        self, first_id: str, last_id: str, count: int, deltas: dict[ItemKey, ItemDelta], now: datetime, stats: ApplyStats
    ) -> str | None:
        """Write one run atomically. None when written; the marker's last change id when an earlier
        attempt had already written a run starting at the same change."""
        stamp = now.isoformat()
        marker = {
            'Put': {
                'TableName': self.table_name,
                'Item': {
                    'pk': {'S': f'run#{first_id}'},
                    'sk': {'S': 'marker'},
                    'last': {'S': last_id},
                    'changes': {'N': str(count)},
                    'at': {'S': stamp},
                    'expires_at': {'N': str(int(now.timestamp()) + MARKER_TTL_S)},
                },
                'ConditionExpression': 'attribute_not_exists(pk)',
                'ReturnValuesOnConditionCheckFailure': 'ALL_OLD',
            }
        }
        actions = [marker] + [self._update(key, delta, stamp) for key, delta in sorted(deltas.items())]
        for attempt in range(8):
            try:
                self.client.transact_write_items(TransactItems=actions)
                return None
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get('CancellationReasons') or []
                codes = [reason.get('Code') for reason in reasons]
                if codes and codes[0] == 'ConditionalCheckFailed':
                    item = reasons[0].get('Item') or self._marker(first_id)
                    return str(item['last']['S'])
                if 'TransactionConflict' not in codes:
                    raise
                stats.conflicts_retried += 1
                time.sleep(min(0.05 * 2**attempt, 1.0) * random.random())  # noqa: S311 - jitter
        raise RuntimeError(f'KPI run starting at {first_id} kept conflicting with concurrent writers')

    def _update(self, key: ItemKey, delta: ItemDelta, stamp: str) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {':now': {'S': stamp}, ':changes': {'N': str(delta.changes)}}
        adds = ['changes :changes']
        for index, (name, value) in enumerate(sorted(delta.counters.items())):
            names[f'#c{index}'] = name
            values[f':c{index}'] = {'N': str(value)}
            adds.append(f'#c{index} :c{index}')
        if delta.late:
            adds.append('late :late')
            values[':late'] = {'N': str(delta.late)}
        update: dict[str, Any] = {
            'TableName': self.table_name,
            'Key': {'pk': {'S': key[0]}, 'sk': {'S': key[1]}},
            'UpdateExpression': f'ADD {", ".join(adds)} SET updated_at = :now',
            'ExpressionAttributeValues': values,
        }
        if names:
            update['ExpressionAttributeNames'] = names
        return {'Update': update}

    def _marker(self, first_id: str) -> dict[str, Any]:
        response = self.client.get_item(
            TableName=self.table_name, Key={'pk': {'S': f'run#{first_id}'}, 'sk': {'S': 'marker'}}, ConsistentRead=True
        )
        return dict(response['Item'])

    # -- reading ---------------------------------------------------------------------------------

    def month(self, scope: str, month: str) -> list[KpiItem]:
        """Every day and day-channel item of one scope in one month (YYYY-MM): one Query."""
        items: list[KpiItem] = []
        params: dict[str, Any] = {
            'TableName': self.table_name,
            'KeyConditionExpression': 'pk = :pk AND begins_with(sk, :month)',
            'ExpressionAttributeValues': {':pk': {'S': scope}, ':month': {'S': month}},
        }
        while True:
            response = self.client.query(**params)
            items.extend(_item(raw) for raw in response.get('Items', []))
            if 'LastEvaluatedKey' not in response:
                return items
            params['ExclusiveStartKey'] = response['LastEvaluatedKey']

    def days(self, scopes: Sequence[str], month: str) -> list[KpiItem]:
        """The day items ('YYYY-MM-DD') of several scopes in one month: BatchGetItem, 100 keys a request (a region's
        month from its locations' days). Days without a ticket have no item and are simply not returned."""
        year, number = int(month[:4]), int(month[5:7])
        last_day = calendar.monthrange(year, number)[1]
        keys = [
            {'pk': {'S': scope}, 'sk': {'S': f'{month}-{day:02d}'}} for scope in dict.fromkeys(scopes) for day in range(1, last_day + 1)
        ]
        items: list[KpiItem] = []
        for start in range(0, len(keys), BATCH_GET_KEYS):
            request: dict[str, Any] = {self.table_name: {'Keys': keys[start : start + BATCH_GET_KEYS]}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                items.extend(_item(raw) for raw in response.get('Responses', {}).get(self.table_name, []))
                request = response.get('UnprocessedKeys') or {}
        return items


def _item(raw: dict[str, Any]) -> KpiItem:
    counters = {name: int(value['N']) for name, value in raw.items() if name not in _META and 'N' in value}
    return KpiItem(raw['pk']['S'], raw['sk']['S'], counters, int(raw.get('late', {}).get('N', 0)))
