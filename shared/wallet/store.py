"""The redemptions' storage (RewardsTable, low-level client): every change of a redemption is ONE TransactWriteItems.

Keys (a contract with the other parts, see design): `RDM#<redemption_id>` sk `-` (the redemption: status + JSON),
`STOCK#<program>#<item>` sk `-` (`issued`), `LIMIT#<program>#<item>#<employee>` sk `<yyyy-mm>|lifetime` (`used`),
`BUDGET#<program>#<location>` sk `<yyyy-mm>` (`used` points), `QUEUE#<program>#<location>` sk
`<requested_at>#<redemption_id>` (waiting for budget, in order), and `OPEN#<program>` sk `<requested_at>#<id>`: the
reserved redemptions not yet fulfilled (what the sweep re-sends when a queue message was lost, and what an admin lists
for manual items); deleted when the redemption completes or fails.

Reserve (`reserve`): the RDM put (`attribute_not_exists`: the idempotency), the stock, limit and budget updates
(each conditioned on the room left), the OPEN or QUEUE item, the chained REDEMPTION entry and the guarded balance
update (`available >= price`), through `shared.ledger.entry_writes` exactly as `LedgerStore._append`: when another
writer extended the person's chain first, the heads are read again and the transaction rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.config import get_settings
from shared.directory.store import profile_pk
from shared.dynamo import LowLevelClient, batch_get, conditionally
from shared.errors import ConcurrentUpdate
from shared.ledger.chain import ChainHead
from shared.ledger.entries import LedgerEntry
from shared.ledger.entry_writes import CHAIN_ATTEMPTS, chain_moved, chained_puts, employee_pk, guard, head_of, read_heads
from shared.wallet.redeem import Redemption, RedemptionStatus, Refused

LIMIT_TTL = timedelta(days=400)  # a monthly limit counter outlives its month by a year
CONFLICT_PAUSE_S = 0.01


def _raise_on_conflict(reasons: Sequence[dict[str, Any]]) -> None:
    codes = [reason.get('Code') for reason in reasons]
    if 'TransactionConflict' in codes:
        raise ConcurrentUpdate(f'transaction cancelled: {codes}')


def rdm_key(rid: str) -> dict[str, Any]:
    return {'pk': {'S': f'RDM#{rid}'}, 'sk': {'S': '-'}}


def stock_key(program_id: str, item_id: str) -> dict[str, Any]:
    return {'pk': {'S': f'STOCK#{program_id}#{item_id}'}, 'sk': {'S': '-'}}


def limit_key(redemption: Redemption) -> dict[str, Any]:
    return {'pk': {'S': f'LIMIT#{redemption.program_id}#{redemption.item_id}#{redemption.employee_id}'},
            'sk': {'S': str(redemption.limit_sk)}}  # fmt: skip


def budget_key(program_id: str, location_id: str, month: str) -> dict[str, Any]:
    return {'pk': {'S': f'BUDGET#{program_id}#{location_id}'}, 'sk': {'S': month}}


def queue_key(redemption: Redemption) -> dict[str, Any]:
    return {'pk': {'S': f'QUEUE#{redemption.program_id}#{redemption.location_id}'}, 'sk': {'S': redemption.queue_sk}}


def open_key(redemption: Redemption) -> dict[str, Any]:
    return {'pk': {'S': f'OPEN#{redemption.program_id}'}, 'sk': {'S': redemption.queue_sk}}


@dataclass(frozen=True)
class Limits:
    """The room the conditions check: stock (units ever), the person's limit, the location's budget (None: no cap)."""

    stock: int | None
    per_person: int | None
    budget: int | None


@dataclass(frozen=True)
class Snapshot:
    existing: Redemption | None
    issued: int
    available: int
    head: ChainHead
    profile: dict[str, Any] | None  # the directory's raw profile item
    debt: int = 0  # a clawback's unrecovered points (shared/wallet/debt.py): nothing is spent while any is owed


@dataclass(frozen=True)
class Reserved:
    redemption: Redemption
    duplicate: bool  # the same request was made before: this is the stored redemption, nothing was written now


class RewardsStore(LowLevelClient):
    def __init__(self, table: str | None = None, ledger_table: str | None = None, balances_table: str | None = None) -> None:
        settings = get_settings()
        self.table = table or settings.REWARDS_TABLE
        self.ledger_table = ledger_table or settings.LEDGER_TABLE
        self.balances_table = balances_table or settings.BALANCES_TABLE

    # --- items --------------------------------------------------------------------------------------------------
    def _rdm_put(self, redemption: Redemption, *, new: bool, expected: Sequence[RedemptionStatus] = ()) -> dict[str, Any]:
        item = rdm_key(redemption.redemption_id) | {
            'status': {'S': redemption.status.value},
            'employee_id': {'S': redemption.employee_id},
            'program_id': {'S': redemption.program_id},
            'rdm_employee': {'S': redemption.employee_id},  # the by_employee index
            'requested_at': {'S': redemption.queue_sk},
            'record': {'S': redemption.model_dump_json(exclude_none=True)},
        }
        put: dict[str, Any] = {'TableName': self.table, 'Item': item}
        if new:
            put['ConditionExpression'] = 'attribute_not_exists(pk)'
        else:
            names = {f':s{i}': {'S': status.value} for i, status in enumerate(expected)}
            put |= {'ConditionExpression': f'#s IN ({", ".join(names)})', 'ExpressionAttributeNames': {'#s': 'status'},
                    'ExpressionAttributeValues': names}  # fmt: skip
        return {'Put': put}

    def _counter(self, key: dict[str, Any], attribute: str, delta: int, room: int | None, expires_at: int | None = None) -> dict[str, Any]:
        """ADD `delta` to a counter; with `room`, only while the counter is at most `room` before the change."""
        update: dict[str, Any] = {'TableName': self.table, 'Key': key, 'UpdateExpression': f'ADD {attribute} :d',
                                  'ExpressionAttributeValues': {':d': {'N': str(delta)}}}  # fmt: skip
        if expires_at is not None:
            update['UpdateExpression'] += ' SET expires_at = :x'
            update['ExpressionAttributeValues'][':x'] = {'N': str(expires_at)}
        if room is not None:
            update['ConditionExpression'] = f'attribute_not_exists({attribute}) OR {attribute} <= :room'
            update['ExpressionAttributeValues'][':room'] = {'N': str(room)}
        return {'Update': update}

    def _marker_put(self, key: dict[str, Any], redemption: Redemption) -> dict[str, Any]:
        item = key | {'redemption_id': {'S': redemption.redemption_id}, 'points': {'N': str(redemption.points)},
                      'provider': {'S': redemption.provider}, 'employee_id': {'S': redemption.employee_id}}  # fmt: skip
        return {'Put': {'TableName': self.table, 'Item': item}}

    def _balance_update(self, entry: LedgerEntry) -> dict[str, Any]:
        update: dict[str, Any] = {
            'TableName': self.balances_table,
            'Key': {'pk': {'S': employee_pk(entry.employee_id)}},
            'UpdateExpression': 'ADD available :d, entry_count :c SET updated_at = :u',
            'ExpressionAttributeValues': {':d': {'N': str(entry.amount)}, ':c': {'N': '1'}, ':u': {'S': entry.recorded_at.isoformat()}},
        }
        if entry.amount < 0:  # a debit: never below zero, and never while a clawback debt is owed (it is repaid first)
            update['ConditionExpression'] = 'available >= :need AND (attribute_not_exists(debt) OR debt <= :no_debt)'
            update['ExpressionAttributeValues'][':need'] = {'N': str(-entry.amount)}
            update['ExpressionAttributeValues'][':no_debt'] = {'N': '0'}
        return {'Update': update}

    def _chained(self, actions: list[dict[str, Any]], entry: LedgerEntry,
                 head: ChainHead | None = None) -> tuple[list[dict[str, Any]], ChainHead]:
        heads = {entry.employee_id: head} if head is not None else read_heads(self.client, self.balances_table, [entry.employee_id])
        [put], new_heads = chained_puts(self.ledger_table, [entry], heads)
        before = heads[entry.employee_id]
        return [*actions, put, guard(self._balance_update(entry), before, new_heads[entry.employee_id])], before

    def _transact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """None when written; the cancellation reasons otherwise."""
        try:
            self.client.transact_write_items(TransactItems=items)
            return None
        except self.client.exceptions.TransactionCanceledException as exc:
            return list(exc.response.get('CancellationReasons', []))

    # --- reserve -----------------------------------------------------------------------------------------------
    def reserve(self, redemption: Redemption, entry: LedgerEntry, limits: Limits, now: datetime, head: ChainHead | None = None) -> Reserved:
        """Reserve the points, stock and limit, and the budget unless it is spent (then the redemption is queued), in
        one transaction. Raises Refused (out of stock, over the limit, insufficient points); a duplicate request returns
        the stored redemption. `head`: the person's chain head as just read (`balance`), saving the first read."""
        queued = limits.budget is not None and redemption.points > limits.budget
        for attempt in range(CHAIN_ATTEMPTS * 3):
            current = redemption.model_copy(update={
                'status': RedemptionStatus.QUEUED if queued else RedemptionStatus.RESERVED,
                'budget_charged': not queued and limits.budget is not None,
            })  # fmt: skip
            actions: list[dict[str, Any]] = [self._rdm_put(current, new=True)]
            named: dict[str, int] = {}
            if limits.stock is not None:
                named['stock'] = len(actions)
                actions.append(self._counter(stock_key(current.program_id, current.item_id), 'issued', current.quantity,
                                             limits.stock - current.quantity))  # fmt: skip
            if limits.per_person is not None and current.limit_sk is not None:
                named['limit'] = len(actions)
                expires = int((now + LIMIT_TTL).timestamp()) if current.limit_sk != 'lifetime' else None
                actions.append(self._counter(limit_key(current), 'used', current.quantity, limits.per_person - current.quantity, expires))
            if current.budget_charged:
                assert limits.budget is not None
                named['budget'] = len(actions)
                actions.append(self._counter(budget_key(current.program_id, current.location_id, current.month), 'used', current.points,
                                             limits.budget - current.points))  # fmt: skip
            actions.append(self._marker_put(queue_key(current) if queued else open_key(current), current))
            entry_at = len(actions)
            items, before = self._chained(actions, entry, head)
            head = None  # a retry reads the head again
            reasons = self._transact(items)
            if reasons is None:
                return Reserved(current, duplicate=False)
            codes = [reason.get('Code') for reason in reasons]
            if codes[:1] == ['ConditionalCheckFailed']:
                stored = self.get(current.redemption_id)
                if stored is not None:
                    return Reserved(stored, duplicate=True)
            if 'stock' in named and codes[named['stock']] == 'ConditionalCheckFailed':
                raise Refused('out_of_stock', 'item_id', f'{current.item_name} is out of stock')
            if 'limit' in named and codes[named['limit']] == 'ConditionalCheckFailed':
                raise Refused('over_limit', 'quantity', f'{current.item_name}: at most {limits.per_person} per person per '
                              f'{"month" if current.limit_sk != "lifetime" else "lifetime"}')  # fmt: skip
            if 'budget' in named and codes[named['budget']] == 'ConditionalCheckFailed':
                queued = True  # the budget is spent: wait in the queue, points and stock reserved
                continue
            balance = reasons[entry_at + 1] if len(reasons) > entry_at + 1 else {}
            if chain_moved(balance, before) or 'TransactionConflict' in codes:
                time.sleep(CONFLICT_PAUSE_S * (attempt + 1))
                continue
            if balance.get('Code') == 'ConditionalCheckFailed':
                raw = balance.get('Item') or {}
                have = int(raw['available']['N']) if 'available' in raw else 0
                owed = int(raw['debt']['N']) if 'debt' in raw else 0
                if owed > 0:
                    raise Refused('in_debt', 'quantity', f'{owed} points of a clawback are still owed: they are repaid from your '
                                  'points first, then you can spend again')  # fmt: skip
                raise Refused('insufficient', 'quantity', f'{current.item_name} x{current.quantity} costs {current.points} points; '
                              f'{have} are available')  # fmt: skip
            if codes[entry_at] == 'ConditionalCheckFailed':  # the entry exists: the redemption was written meanwhile
                stored = self.get(current.redemption_id)
                if stored is not None:
                    return Reserved(stored, duplicate=True)
            raise ConcurrentUpdate(f'redemption transaction cancelled: {codes}')
        raise ConcurrentUpdate('other writers kept extending the ledger chain')

    # --- reads -------------------------------------------------------------------------------------------------
    def snapshot(self, rid: str, program_id: str, item_id: str, employee_id: str, directory_table: str) -> Snapshot:
        """What a request needs to know, in ONE BatchGetItem across three tables (consistent on rewards and balances): the
        redemption if this key was used before, the item's issued units, the person's balance and chain head, and their
        directory profile."""
        keys = [(self.table, rdm_key(rid)), (self.table, stock_key(program_id, item_id)),
                (self.balances_table, {'pk': {'S': employee_pk(employee_id)}}),
                (directory_table, {'pk': {'S': profile_pk(employee_id)}, 'sk': {'S': 'PROFILE'}})]  # fmt: skip
        options = {self.table: {'ConsistentRead': True}, self.balances_table: {'ConsistentRead': True}}
        found: dict[str, dict[str, Any]] = {}
        for table, item in batch_get(self.client, keys, options):
            found[item['pk']['S'] if table != self.balances_table else 'BALANCE'] = item
        record = found.get(f'RDM#{rid}')
        balance = found.get('BALANCE', {})
        return Snapshot(
            existing=Redemption.model_validate_json(record['record']['S']) if record else None,
            issued=int(found.get(stock_key(program_id, item_id)['pk']['S'], {}).get('issued', {}).get('N', 0)),
            available=int(balance.get('available', {}).get('N', 0)),
            head=head_of(balance),
            profile=found.get(profile_pk(employee_id)),
            debt=int(balance.get('debt', {}).get('N', 0)),
        )

    def balance(self, employee_id: str) -> tuple[int, ChainHead]:
        """The person's available points and ledger chain head: one consistent GetItem of the balance item."""
        item = self.client.get_item(TableName=self.balances_table, Key={'pk': {'S': employee_pk(employee_id)}}, ConsistentRead=True,
                                    ProjectionExpression='available, chain_head, chain_seq').get('Item') or {}  # fmt: skip
        return int(item.get('available', {}).get('N', 0)), head_of(item)

    def get(self, rid: str) -> Redemption | None:
        item = self.client.get_item(TableName=self.table, Key=rdm_key(rid), ConsistentRead=True).get('Item')
        return Redemption.model_validate_json(item['record']['S']) if item else None

    def queue_position(self, redemption: Redemption) -> int:
        """1 = next to be released: the queued redemptions of its location requested before it, plus one (a COUNT Query)."""
        kwargs: dict[str, Any] = {
            'TableName': self.table, 'Select': 'COUNT', 'ConsistentRead': True,
            'KeyConditionExpression': 'pk = :pk AND sk < :sk',
            'ExpressionAttributeValues': {':pk': queue_key(redemption)['pk'], ':sk': {'S': redemption.queue_sk}},
        }  # fmt: skip
        ahead = 0
        while True:
            page = self.client.query(**kwargs)
            ahead += int(page.get('Count', 0))
            if 'LastEvaluatedKey' not in page:
                return ahead + 1
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    def _markers(self, pk: str, *, before: str | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {'TableName': self.table, 'ConsistentRead': True, 'KeyConditionExpression': 'pk = :pk',
                                  'ExpressionAttributeValues': {':pk': {'S': pk}}}  # fmt: skip
        if before is not None:
            kwargs['KeyConditionExpression'] += ' AND sk < :before'
            kwargs['ExpressionAttributeValues'][':before'] = {'S': before}
        if limit is not None:
            kwargs['Limit'] = limit
        while True:
            page = self.client.query(**kwargs)
            yield from page.get('Items', [])
            if 'LastEvaluatedKey' not in page:
                return
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    def queued(self, program_id: str, location_id: str) -> Iterator[str]:
        """The queued redemption ids of a location, oldest request first."""
        for item in self._markers(f'QUEUE#{program_id}#{location_id}'):
            yield item['redemption_id']['S']

    def open_ids(self, program_id: str, *, older_than: datetime | None = None) -> list[tuple[str, str]]:
        """(redemption id, provider) of reserved, unfinished redemptions, oldest first (requested before `older_than`)."""
        before = f'{older_than:%Y-%m-%dT%H:%M:%S.%fZ}' if older_than is not None else None
        return [(item['redemption_id']['S'], item['provider']['S']) for item in self._markers(f'OPEN#{program_id}', before=before)]

    # --- status changes ----------------------------------------------------------------------------------------
    def release(self, redemption: Redemption, budget: int | None, month: str) -> Redemption | None:
        """A queued redemption into the month's budget: budget (conditioned on the room), status queued -> reserved,
        QUEUE item -> OPEN item. None when the budget has no room (the queue waits) or it left the queue meanwhile."""
        moved = redemption.model_copy(update={'status': RedemptionStatus.RESERVED, 'month': month, 'budget_charged': budget is not None})
        items = [self._rdm_put(moved, new=False, expected=[RedemptionStatus.QUEUED]),
                 {'Delete': {'TableName': self.table, 'Key': queue_key(redemption)}}, self._marker_put(open_key(moved), moved)]  # fmt: skip
        if budget is not None:
            items.append(self._counter(budget_key(moved.program_id, moved.location_id, month), 'used', moved.points, budget - moved.points))
        reasons = self._transact(items)
        if reasons is None:
            return moved
        _raise_on_conflict(reasons)
        if reasons[0].get('Code') == 'ConditionalCheckFailed':
            return redemption  # no longer queued (an admin failed it meanwhile): still QUEUED here, the caller skips it
        return None

    def complete(self, redemption: Redemption, completed: Redemption, notice: dict[str, Any] | None) -> bool:
        """reserved -> completed with its fulfilment, the OPEN item gone, the person's notice: one transaction.
        False when it was not reserved any more (another delivery completed or failed it)."""
        items = [self._rdm_put(completed, new=False, expected=[RedemptionStatus.RESERVED]),
                 {'Delete': {'TableName': self.table, 'Key': open_key(redemption)}}]  # fmt: skip
        if notice is not None:
            items.append(notice)
        reasons = self._transact(items)
        if reasons is not None:
            _raise_on_conflict(reasons)  # another request held an item: the message comes back, the step is retried
        return reasons is None

    def refund(self, redemption: Redemption, failed: Redemption, entry: LedgerEntry, notice: dict[str, Any] | None) -> bool:
        """reserved|queued -> failed: the REFUND entry (+points, chained), the stock, limit and budget given back, the
        OPEN or QUEUE item gone, the person's notice: one transaction. False when it had already finished."""
        actions: list[dict[str, Any]] = [self._rdm_put(failed, new=False, expected=[RedemptionStatus.RESERVED, RedemptionStatus.QUEUED])]
        if redemption.counts_stock:
            actions.append(self._counter(stock_key(redemption.program_id, redemption.item_id), 'issued', -redemption.quantity, None))
        if redemption.limit_sk is not None:
            actions.append(self._counter(limit_key(redemption), 'used', -redemption.quantity, None))
        if redemption.budget_charged:
            actions.append(self._counter(budget_key(redemption.program_id, redemption.location_id, redemption.month), 'used',
                                         -redemption.points, None))  # fmt: skip
        marker = queue_key(redemption) if redemption.status is RedemptionStatus.QUEUED else open_key(redemption)
        actions.append({'Delete': {'TableName': self.table, 'Key': marker}})
        if notice is not None:
            actions.append(notice)
        for attempt in range(CHAIN_ATTEMPTS * 3):
            items, before = self._chained(actions, entry)
            reasons = self._transact(items)
            if reasons is None:
                return True
            codes = [reason.get('Code') for reason in reasons]
            if codes[:1] == ['ConditionalCheckFailed'] or codes[len(actions)] == 'ConditionalCheckFailed':
                return False
            balance = reasons[len(actions) + 1] if len(reasons) > len(actions) + 1 else {}
            if chain_moved(balance, before) or 'TransactionConflict' in codes:
                time.sleep(CONFLICT_PAUSE_S * (attempt + 1))
                continue
            raise ConcurrentUpdate(f'refund transaction cancelled: {codes}')
        raise ConcurrentUpdate('other writers kept extending the ledger chain')

    def count_attempt(self, redemption: Redemption) -> Redemption:
        """Record one more provider attempt (reserved only); the redemption as stored after it."""
        counted = redemption.model_copy(update={'attempts': redemption.attempts + 1})
        return counted if self._transact([self._rdm_put(counted, new=False, expected=[RedemptionStatus.RESERVED])]) is None else redemption

    # --- a person's redemptions (history, erasure) ----------------------------------------------------------------
    def redemptions_of(self, employee_id: str) -> list[Redemption]:
        """Every redemption of a person, oldest first: a Query of the sparse by_employee index (paged)."""
        kwargs: dict[str, Any] = {'TableName': self.table, 'IndexName': 'by_employee', 'KeyConditionExpression': 'rdm_employee = :e',
                                  'ExpressionAttributeValues': {':e': {'S': employee_id}}}  # fmt: skip
        out: list[Redemption] = []
        while True:
            page = self.client.query(**kwargs)
            out += [Redemption.model_validate_json(item['record']['S']) for item in page.get('Items', [])]
            if 'LastEvaluatedKey' not in page:
                return out
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    def redemptions_page(self, employee_id: str, limit: int, start: dict[str, Any] | None = None
                         ) -> tuple[list[Redemption], dict[str, Any] | None]:  # fmt: skip
        """One page of a person's redemptions, newest first (ONE Query of the by_employee index): (the page, the key to
        continue from, None at the end)."""
        kwargs: dict[str, Any] = {'TableName': self.table, 'IndexName': 'by_employee', 'KeyConditionExpression': 'rdm_employee = :e',
                                  'ExpressionAttributeValues': {':e': {'S': employee_id}}, 'ScanIndexForward': False,
                                  'Limit': limit}  # fmt: skip
        if start:
            kwargs['ExclusiveStartKey'] = start
        page = self.client.query(**kwargs)
        return [Redemption.model_validate_json(item['record']['S']) for item in page.get('Items', [])], page.get('LastEvaluatedKey')

    def erase(self, redemption: Redemption, now: datetime) -> bool:
        """Rewrite a redemption without its personal details (voucher code, notes, failure reason), if it has not changed
        since it was read; points, item, status and ids stay (they are money, as the ledger's entries)."""
        fulfilment = redemption.fulfilment.model_copy(update={'code': None, 'note': None}) if redemption.fulfilment else None
        erased = redemption.model_copy(update={'fulfilment': fulfilment, 'failure': 'erased' if redemption.failure else None,
                                               'erased_at': now})  # fmt: skip
        return conditionally(self.client.put_item, **self._rdm_put(erased, new=False, expected=[redemption.status])['Put'])

    # --- counters (wallet views, tests) --------------------------------------------------------------------------
    def counter(self, key: dict[str, Any], attribute: str) -> int:
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get('Item') or {}
        return int(item.get(attribute, {}).get('N', 0))

    def stock_issued(self, program_id: str, item_id: str) -> int:
        return self.counter(stock_key(program_id, item_id), 'issued')

    def budget_used(self, program_id: str, location_id: str, month: str) -> int:
        return self.counter(budget_key(program_id, location_id, month), 'used')

    def limit_used(self, redemption: Redemption) -> int:
        return self.counter(limit_key(redemption), 'used') if redemption.limit_sk else 0
