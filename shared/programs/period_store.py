"""What a period close reads and writes in DynamoDB, O(people), never a Scan.

Reads
- the people: ONE paged Query of the directory's `employees` index, projected to the profile
  attributes a close needs (about 2,500 profiles a page);
- the KPI items (`employee#<id>` / `team#<id>`, 'YYYY-MM') and the earnings items (`EARN#...`, balances
  table): BatchGetItem, 100 keys a request across both tables (unprocessed keys are asked again);
- the close markers of the periods that may be due (`CLOSE#<program>#<YYYY-MM>`, balances table).

Writes
- per person who earns: ONE TransactWriteItems holding their bonus entries (ledger table, `Put` with
  `attribute_not_exists`: an entry is never written twice) and their balance update (`ADD available`).
  An entry already written (a rerun, a resumed close) is dropped and the rest retried, so a close
  interrupted between two people and run again pays each person once;
- a deduction (an accelerator factor below 1) never takes `available` below the program's floor: the
  balance update is conditioned, and a refused one is retried capped to what is above the floor;
- the close marker, once every person is done: one UpdateItem (SET) on the balances table.

Entries have the ledger's item format and are hash-chained like every ledger write (`shared.ledger.entry_writes`):
a close first reads the chain heads of everyone it is about to pay (`prefetch_heads`: BatchGetItem, 100 a
request), and a payment that finds its person's head moved by another writer since reads it again (the same
BatchGetItem, one key: the close's grants stay BatchGetItem) and retries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, batch_get
from shared.ledger.chain import ChainHead
from shared.ledger.entries import LedgerEntry
from shared.ledger.entry_writes import batch_heads, chain_moved, chained_puts, guard
from shared.programs.period import KpiKey, PeriodData, Person, Reads

MAX_ATTEMPTS = 8
PROFILE_ATTRIBUTES = ('employee_id', 'role', 'job_grade', 'location_id', 'region', 'manager_id', 'active')
_KPI_META = frozenset({'pk', 'sk', 'updated_at', 'late', 'changes', 'expires_at', 'last', 'at'})


def close_marker_pk(program_id: str, month: str) -> str:
    return f'CLOSE#{program_id}#{month}'


@dataclass(frozen=True)
class Payment:
    employee_id: str
    written: tuple[LedgerEntry, ...]  # the entries this call wrote (amounts as written)
    already_paid: int  # entries found already written


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0) * random.random())  # noqa: S311 - jitter


def _numbers(item: dict[str, Any], skip: frozenset[str] = frozenset({'pk', 'sk'})) -> dict[str, int]:
    return {name: int(value['N']) for name, value in item.items() if name not in skip and 'N' in value}


class PeriodStore(LowLevelClient):
    def __init__(self, client: Any = None, *, kpi_table: str | None = None, balances_table: str | None = None,
                 ledger_table: str | None = None, directory_table: str | None = None) -> None:
        settings = get_settings()
        self.kpi_table = kpi_table or settings.KPI_TABLE
        self.balances_table = balances_table or settings.BALANCES_TABLE
        self.ledger_table = ledger_table or settings.LEDGER_TABLE
        self.directory_table = directory_table or settings.DIRECTORY_TABLE
        self._client = client
        self._heads: dict[str, ChainHead] = {}

    # --- reads -----------------------------------------------------------------------------------
    def people(self) -> list[Person]:
        """Everyone with a profile (active or not), from the directory's `employees` index, page by page."""
        names = {f'#p{i}': name for i, name in enumerate(PROFILE_ATTRIBUTES)}
        params: dict[str, Any] = {
            'TableName': self.directory_table,
            'IndexName': 'employees',
            'KeyConditionExpression': 'gsi1pk = :employee',
            'ExpressionAttributeValues': {':employee': {'S': 'EMPLOYEE'}},
            'ProjectionExpression': ', '.join(names),
            'ExpressionAttributeNames': names,
        }
        people = []
        while True:
            response = self.client.query(**params)
            for item in response.get('Items', []):
                text = {name: value['S'] for name, value in item.items() if 'S' in value}
                people.append(
                    Person(
                        employee_id=text['employee_id'],
                        role=text.get('role'),
                        job_grade=text.get('job_grade'),
                        location_id=text.get('location_id'),
                        region=text.get('region'),
                        team_id=text.get('manager_id'),
                        active=bool(item.get('active', {}).get('BOOL', True)),
                    )
                )
            if 'LastEvaluatedKey' not in response:
                return people
            params['ExclusiveStartKey'] = response['LastEvaluatedKey']

    def read(self, reads: Reads) -> PeriodData:
        """The KPI and earnings items of one close (absent items read as no counters)."""
        keys: list[tuple[str, dict[str, Any]]] = [
            (self.kpi_table, {'pk': {'S': pk}, 'sk': {'S': sk}}) for pk, sk in reads.kpi_keys
        ] + [(self.balances_table, {'pk': {'S': pk}}) for _, pk in reads.earning_keys]
        kpi_items: dict[KpiKey, dict[str, int]] = {}
        by_earning_pk: dict[str, dict[str, int]] = {}
        for table, item in self._batch_get(keys):
            if table == self.kpi_table:
                kpi_items[(item['pk']['S'], item['sk']['S'])] = _numbers(item, _KPI_META)
            else:
                by_earning_pk[item['pk']['S']] = _numbers(item)
        earnings = {employee_id: by_earning_pk[pk] for employee_id, pk in reads.earning_keys if pk in by_earning_pk}
        return PeriodData(kpi_items=kpi_items, earnings=earnings)

    def closed(self, periods: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (program_id, month) periods already have a close marker."""
        wanted = {close_marker_pk(program_id, month): (program_id, month) for program_id, month in periods}
        found = self._batch_get([(self.balances_table, {'pk': {'S': pk}}) for pk in wanted])
        return {wanted[item['pk']['S']] for _, item in found}

    def _batch_get(self, keys: Sequence[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
        return batch_get(self.client, keys, attempts=MAX_ATTEMPTS)

    # --- writes ----------------------------------------------------------------------------------
    def prefetch_heads(self, employee_ids: Sequence[str]) -> None:
        """Read the chain heads of the people about to be paid in one go; each `pay` uses its person's once."""
        self._heads.update(batch_heads(self.client, self.balances_table, employee_ids))

    def pay(self, employee_id: str, entries: Sequence[LedgerEntry], now: datetime, floor: int = 0) -> Payment:
        """Write one person's bonus entries and their balance change in one transaction. Entries already
        in the ledger are skipped (never paid twice); a net deduction stops at `floor`."""
        pending = list(entries)
        already = 0
        cap: int | None = None  # the most a net deduction may take, once the balance refused it
        for attempt in range(MAX_ATTEMPTS):
            if not pending:
                return Payment(employee_id, (), already)
            planned = _capped(pending, cap) if cap is not None else pending
            head = self._heads.pop(employee_id, None) or batch_heads(self.client, self.balances_table, [employee_id])[employee_id]
            try:
                self.client.transact_write_items(TransactItems=self._actions(employee_id, planned, now, floor, head))
                return Payment(employee_id, tuple(planned), already)
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get('CancellationReasons') or []
                codes = [reason.get('Code') for reason in reasons]
                exists = {i for i, code in enumerate(codes[: len(planned)]) if code == 'ConditionalCheckFailed'}
                if exists:
                    already += len(exists)
                    written = {planned[i].entry_id for i in exists}
                    pending = [entry for entry in pending if entry.entry_id not in written]
                    continue
                if len(codes) > len(planned) and chain_moved(reasons[len(planned)], head):
                    continue  # another writer extended this person's chain: read the head again
                if len(codes) > len(planned) and codes[len(planned)] == 'ConditionalCheckFailed':
                    old = reasons[len(planned)].get('Item') or {}
                    cap = max(0, int(old.get('available', {}).get('N', 0)) - floor)
                    continue
                if 'TransactionConflict' not in codes:
                    raise
                _backoff(attempt)
        raise RuntimeError(f'period bonus of {employee_id} kept conflicting with concurrent writers')

    def _actions(self, employee_id: str, entries: Sequence[LedgerEntry], now: datetime, floor: int,
                 head: ChainHead) -> list[dict[str, Any]]:
        stamp = now.isoformat()
        actions, heads = chained_puts(self.ledger_table, entries, {employee_id: head})
        delta = sum(entry.amount for entry in entries)
        earned = sum(entry.amount for entry in entries if entry.amount > 0)
        update: dict[str, Any] = {
            'TableName': self.balances_table,
            'Key': {'pk': {'S': f'EMP#{employee_id}'}},
            'UpdateExpression': 'ADD available :delta, entry_count :count, lifetime_earned :earned SET updated_at = :now',
            'ExpressionAttributeValues': {
                ':delta': {'N': str(delta)},
                ':count': {'N': str(len(entries))},
                ':earned': {'N': str(earned)},
                ':now': {'S': stamp},
            },
        }
        if delta < 0:
            update['ConditionExpression'] = 'available >= :least'
            update['ExpressionAttributeValues'][':least'] = {'N': str(floor - delta)}
            update['ReturnValuesOnConditionCheckFailure'] = 'ALL_OLD'
        actions.append(guard({'Update': update}, head, heads[employee_id]))
        return actions

    def mark_closed(self, program_id: str, month: str, version: int, *, people: int, paid: int, entries: int, points: int,
                    now: datetime) -> None:
        self.client.update_item(
            TableName=self.balances_table,
            Key={'pk': {'S': close_marker_pk(program_id, month)}},
            UpdateExpression='SET closed_at = :now, program_version = :version, people = :people, paid = :paid, '
            'entries = :entries, points = :points',
            ExpressionAttributeValues={
                ':now': {'S': now.isoformat()},
                ':version': {'N': str(version)},
                ':people': {'N': str(people)},
                ':paid': {'N': str(paid)},
                ':entries': {'N': str(entries)},
                ':points': {'N': str(points)},
            },
        )


def _capped(entries: Sequence[LedgerEntry], room: int) -> list[LedgerEntry]:
    """Reduce the deductions among `entries` so their net takes at most `room` points (the rest is noted)."""
    credit = sum(entry.amount for entry in entries if entry.amount > 0)
    left = room + credit
    out = []
    for entry in entries:
        if entry.amount >= 0:
            out.append(entry)
            continue
        take = min(-entry.amount, max(left, 0))
        left -= take
        unrecovered = -entry.amount - take
        note = (entry.reason.note or '') + (f'; {unrecovered} points not deducted (balance at the floor)' if unrecovered else '')
        inputs = dict(entry.reason.inputs) | {'requested_points': entry.amount, 'unrecovered_points': unrecovered}
        out.append(entry.model_copy(update={'amount': -take, 'reason': entry.reason.model_copy(update={'note': note, 'inputs': inputs})}))
    return out
