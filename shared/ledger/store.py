"""Where points are written: ledger entries, the pending view and balances, atomically with the ticket that
caused them.

One DynamoDB request per event on the hot path: when neither the pending view nor the ledger changes, a
conditional PutItem of the ticket; otherwise one TransactWriteItems holding the ticket (version-checked), the
pending items put or deleted, any clawback entry (`attribute_not_exists`, so an entry can never be written
twice) and one balance update per employee (debits conditioned on `available >= amount`, so no debit takes a
balance below zero). The hold release writes due awards the same way: ticket, pending items removed, entries,
balances and earnings counters in one transaction. A change larger than one transaction (MAX_TRANSACTION_ITEMS)
arrives here already split into steps by the caller (`shared.ledger.entries.split_plan`, `release_limit`), each
step one transaction.

Every entry is chained (`shared.ledger.chain`, applied by `shared.ledger.entry_writes`): before a transaction the
employees' chain heads are read (one consistent GetItem each), the entries carry `seq`, `prev_hash` and `hash`,
and each balance update moves the head only if it is still the one read; when another writer moved it first,
the heads are read again and the transaction rebuilt (never two entries on one head).

Transactions go through the low-level client (pynamodb's TransactWrite cannot express the earnings counters'
dynamic attribute names); the items themselves are still the pynamodb models' serialisation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from shared.config import get_settings
from shared.dynamo import LowLevelClient, connection_kwargs, meta_for
from shared.errors import ConcurrentUpdate
from shared.ledger.chain import HASHED_FIELDS, ChainHead, StoredEntry
from shared.ledger.earnings import CounterUpdate
from shared.ledger.entries import AwardRecord, EntryKind, LedgerEntry, ReleasePlan, TicketAwardsPlan, _balance_changes
from shared.ledger.entry_writes import CHAIN_ATTEMPTS, chain_moved, chained_puts, employee_pk, guard, read_heads
from shared.observability import logger

if TYPE_CHECKING:  # annotations only: the ledger's readers (statements, audit, wallet) never load the tickets store
    from shared.tickets.store import TicketRecord

DebtPolicy = Callable[[LedgerEntry], bool]  # whether a capped debit's unrecovered part is owed (shared/wallet/debt.py)

MAX_TRANSACTION_ITEMS = 100


class LedgerEntryRecord(Model):
    class Meta:
        table_name = 'pitcrew-ledger'

    pk = UnicodeAttribute(hash_key=True)  # EMP#<employee_id>
    sk = UnicodeAttribute(range_key=True)  # ENTRY#<entry_id>
    entry = UnicodeAttribute()  # the LedgerEntry as JSON: amount, kind, status, reason ...
    amount = NumberAttribute()
    kind = UnicodeAttribute()
    period = UnicodeAttribute()
    recorded_at = UnicodeAttribute()
    # The hash chain (absent on entries written before it): see shared.ledger.chain.
    seq = NumberAttribute(null=True)
    prev_hash = UnicodeAttribute(null=True)
    entry_hash = UnicodeAttribute(null=True, attr_name='hash')


class BalanceRecord(Model):
    class Meta:
        table_name = 'pitcrew-balances'

    pk = UnicodeAttribute(hash_key=True)  # EMP#<employee_id>
    available = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    lifetime_earned = NumberAttribute(default=0)
    entry_count = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)
    chain_head = UnicodeAttribute(null=True)  # the hash of the employee's last ledger entry
    chain_seq = NumberAttribute(null=True)  # and its seq
    # A clawback larger than what was available, owed and recovered from later earnings (shared/wallet/debt.py).
    debt = NumberAttribute(null=True)


@lru_cache(maxsize=4)
def entry_model(table_name: str) -> type[LedgerEntryRecord]:
    return type('BoundLedgerEntryRecord', (LedgerEntryRecord,), {'Meta': meta_for(table_name)})


@lru_cache(maxsize=4)
def balance_model(table_name: str) -> type[BalanceRecord]:
    return type('BoundBalanceRecord', (BalanceRecord,), {'Meta': meta_for(table_name)})


@dataclass(frozen=True)
class Balance:
    employee_id: str
    available: int
    pending: int
    lifetime_earned: int
    entry_count: int
    chain: ChainHead = ChainHead()
    debt: int = 0  # clawed-back points still owed (recovered from later earnings)


class InsufficientBalance(Exception):
    def __init__(self, employee_id: str, available: int) -> None:
        super().__init__(f'employee {employee_id} has {available} points available')
        self.employee_id = employee_id
        self.available = available


class LedgerStore(LowLevelClient):
    def __init__(self, ledger_table: str | None = None, balances_table: str | None = None, pending_table: str | None = None,
                 debt_policy: DebtPolicy | None = None) -> None:
        settings = get_settings()
        # Whether a capped debit's unrecovered part is recorded as a debt (the entry's program's `wallet.below_floor`).
        self.debt_policy = debt_policy
        self.entries = entry_model(ledger_table or settings.LEDGER_TABLE)
        self.balances = balance_model(balances_table or settings.BALANCES_TABLE)
        self.pending_table = pending_table or settings.PENDING_TABLE
        self._connection: Connection | None = None
        self._client: Any = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(**connection_kwargs())
        return self._connection

    # --- writes ---------------------------------------------------------------------------------
    def commit(self, ticket: TicketRecord, ticket_condition: Condition, plan: TicketAwardsPlan) -> TicketAwardsPlan:
        """Write the ticket with its pending-view changes and clawback entries atomically. Returns the
        plan actually written (a clawback may be capped to what an employee still has available)."""
        if not plan.entries and not plan.changes_pending_view:
            try:
                ticket.save(condition=ticket_condition)
            except PutError as exc:
                if exc.cause_response_code == 'ConditionalCheckFailedException':
                    raise ConcurrentUpdate('ticket changed since it was read') from exc
                raise
            return plan
        for _ in range(3):
            try:
                self._transact(ticket, ticket_condition, plan.entries, plan.pending_put, plan.pending_delete, ())
                return plan
            except InsufficientBalance as short:
                capped = cap_debits(plan.entries, short.employee_id, short.available, self._records_debt())
                plan = plan.model_copy(update={'entries': capped})
        raise ConcurrentUpdate('balances kept changing while capping a reversal')

    def commit_release(
        self, ticket: TicketRecord, ticket_condition: Condition, plan: ReleasePlan, counters: Sequence[CounterUpdate] = ()
    ) -> ReleasePlan:
        """Release due awards: the ticket (version-checked), the pending items removed, one entry per award,
        the balances and the earnings counters, in one transaction. A penalty stops at the balance floor."""
        for _ in range(3):
            try:
                self._transact(ticket, ticket_condition, plan.entries, (), plan.released, counters)
                return plan
            except InsufficientBalance as short:
                capped = cap_debits(plan.entries, short.employee_id, short.available, self._records_debt())
                plan = plan.model_copy(update={'entries': capped})
        raise ConcurrentUpdate('balances kept changing while capping a penalty')

    def _records_debt(self) -> DebtPolicy:
        """The debt policy, resolved only when a debit is capped (rare): the programs in force by default."""
        if self.debt_policy is None:
            from shared.wallet.debt import program_debt_policy

            self.debt_policy = program_debt_policy()
        return self.debt_policy

    def _transact(
        self,
        ticket: TicketRecord,
        ticket_condition: Condition,
        entries: Sequence[LedgerEntry],
        puts: Sequence[AwardRecord],
        deletes: Sequence[AwardRecord],
        counters: Sequence[CounterUpdate],
    ) -> None:
        changes = sorted(_balance_changes(entries).items())
        deleted = {record.entry_id for record in deletes} - {record.entry_id for record in puts}
        for _ in range(CHAIN_ATTEMPTS):
            heads = self._heads(employee_id for employee_id, _ in changes)
            entry_puts, new_heads = chained_puts(self.entries.Meta.table_name, entries, heads)
            items: list[dict[str, Any]] = [self._ticket_put(ticket, ticket_condition), *entry_puts]
            items += [self._pending_put(ticket.pk, record) for record in puts]
            items += [self._pending_delete(record) for record in deletes if record.entry_id in deleted]
            balance_offset = len(items)
            now = str(ticket.updated_at)
            items += [guard(self._balance_update(employee_id, delta, entries, now), heads[employee_id], new_heads[employee_id])
                      for employee_id, delta in changes]
            items += [counter.transact_item(self.balances.Meta.table_name) for counter in counters]
            if len(items) > MAX_TRANSACTION_ITEMS:
                raise ValueError(f'a ticket change of {len(items)} items exceeds one DynamoDB transaction')
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get('CancellationReasons', [])
                ticket_changed = reasons[:1] and reasons[0].get('Code') == 'ConditionalCheckFailed'
                if not ticket_changed and self._chain_moved(reasons, balance_offset, changes, heads):
                    continue
                self._explain(exc, balance_offset, changes)
        raise ConcurrentUpdate('other writers kept extending the ledger chain')

    def _heads(self, employee_ids: Iterable[str]) -> dict[str, ChainHead]:
        return read_heads(self.client, self.balances.Meta.table_name, employee_ids)

    @staticmethod
    def _chain_moved(reasons: Sequence[dict[str, Any]], offset: int, changes: Sequence[tuple[str, int]],
                     heads: dict[str, ChainHead]) -> bool:
        """Whether a balance update failed because another writer extended that employee's chain first."""
        return any(len(reasons) > offset + i and chain_moved(reasons[offset + i], heads[employee_id])
                   for i, (employee_id, _) in enumerate(changes))

    def _ticket_put(self, ticket: TicketRecord, condition: Condition) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        expression = condition.serialize(names, values)
        put: dict[str, Any] = {'TableName': ticket.Meta.table_name, 'Item': ticket.serialize(), 'ConditionExpression': expression}
        if names:
            put['ExpressionAttributeNames'] = {placeholder: name for name, placeholder in names.items()}
        if values:
            put['ExpressionAttributeValues'] = values
        return {'Put': put}

    def _pending_put(self, ticket_key: str, record: AwardRecord) -> dict[str, Any]:
        item = {
            'pk': {'S': employee_pk(record.employee_id)},
            'sk': {'S': record.entry_id},
            'ticket_key': {'S': ticket_key},
            'amount': {'N': str(record.points)},
            'release_at': {'S': f'{record.release_at:%Y-%m-%dT%H:%M:%SZ}' if record.release_at else ''},
            'award': {'S': record.model_dump_json(exclude_defaults=True)},
        }
        return {'Put': {'TableName': self.pending_table, 'Item': item}}

    def _pending_delete(self, record: AwardRecord) -> dict[str, Any]:
        key = {'pk': {'S': employee_pk(record.employee_id)}, 'sk': {'S': record.entry_id}}
        return {'Delete': {'TableName': self.pending_table, 'Key': key}}

    def _balance_update(self, employee_id: str, delta: int, entries: Sequence[LedgerEntry], now: str) -> dict[str, Any]:
        count = sum(1 for entry in entries if entry.employee_id == employee_id)
        mine = [entry for entry in entries if entry.employee_id == employee_id]
        earned = sum(entry.amount for entry in mine if entry.kind is EntryKind.AWARD and entry.amount > 0)
        update: dict[str, Any] = {
            'TableName': self.balances.Meta.table_name,
            'Key': {'pk': {'S': employee_pk(employee_id)}},
            'UpdateExpression': 'ADD available :d, entry_count :c, lifetime_earned :e SET updated_at = :u',
            'ExpressionAttributeValues': {':d': {'N': str(delta)}, ':c': {'N': str(count)}, ':e': {'N': str(earned)}, ':u': {'S': now}},
        }
        debt = sum(int(entry.reason.inputs.get('debt_points') or 0) for entry in mine)
        if debt > 0:  # a capped clawback's unrecovered part, owed in the same transaction (shared/wallet/debt.py)
            owed_from = [entry for entry in mine if int(entry.reason.inputs.get('debt_points') or 0) > 0]
            update['UpdateExpression'] = ('ADD available :d, entry_count :c, lifetime_earned :e, debt :debt, debt_entries :debt_entries '
                                          'SET updated_at = :u, debt_program = :debt_program')
            update['ExpressionAttributeValues'] |= {':debt': {'N': str(debt)},
                                                    ':debt_entries': {'SS': sorted({entry.entry_id for entry in owed_from})},
                                                    ':debt_program': {'S': owed_from[-1].reason.program_id}}
        if delta < 0:
            update['ConditionExpression'] = 'available >= :need'
            update['ExpressionAttributeValues'][':need'] = {'N': str(-delta)}
            update['ReturnValuesOnConditionCheckFailure'] = 'ALL_OLD'
        return {'Update': update}

    def _explain(self, exc: Any, balance_offset: int, changes: list[tuple[str, int]]) -> None:
        reasons = exc.response.get('CancellationReasons', [])
        codes = [reason.get('Code') for reason in reasons]
        if codes and codes[0] == 'ConditionalCheckFailed':
            raise ConcurrentUpdate('ticket changed since it was read') from exc
        for index, (employee_id, delta) in enumerate(changes):
            reason = reasons[balance_offset + index] if len(reasons) > balance_offset + index else {}
            if reason.get('Code') == 'ConditionalCheckFailed' and delta < 0:
                raw = reason.get('Item') or {}
                available = int(raw['available']['N']) if 'available' in raw else 0
                raise InsufficientBalance(employee_id, available) from exc
        if 'TransactionConflict' in codes or 'ConditionalCheckFailed' in codes:
            # A counter changed under a cap check, or another writer held an item: read again and retry.
            raise ConcurrentUpdate(f'transaction cancelled: {codes}') from exc
        logger.error('ledger transaction cancelled', extra={'codes': codes})
        raise exc

    def append_adjustment(self, entry: LedgerEntry) -> bool:
        """Write an admin's adjustment entry and its balance change atomically. Returns False when
        the entry already exists (a retried request); raises InsufficientBalance for a debit larger
        than what is available (adjustments are never capped: the admin decides)."""
        return self._append(entry, None) == 'written'

    def _append(self, entry: LedgerEntry, extra: dict[str, Any] | None) -> str:
        """One entry, its balance update (chained) and optionally one more action first, in one transaction:
        'written', 'refused' (the extra action's condition failed) or 'duplicate' (the entry exists)."""
        now = entry.recorded_at.isoformat()
        first = [extra] if extra is not None else []
        for _ in range(CHAIN_ATTEMPTS):
            heads = self._heads([entry.employee_id])
            [put], new_heads = chained_puts(self.entries.Meta.table_name, [entry], heads)
            update = guard(self._balance_update(entry.employee_id, entry.amount, [entry], now), heads[entry.employee_id],
                           new_heads[entry.employee_id])
            try:
                self.client.transact_write_items(TransactItems=[*first, put, update])
                return 'written'
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get('CancellationReasons', [])
                codes = [reason.get('Code') for reason in reasons]
                at = len(first)
                if first and codes[:1] == ['ConditionalCheckFailed']:
                    return 'refused'
                if codes[at : at + 1] == ['ConditionalCheckFailed']:
                    return 'duplicate'
                balance = reasons[at + 1] if len(reasons) > at + 1 else {}
                if chain_moved(balance, heads[entry.employee_id]):
                    continue
                if balance.get('Code') == 'ConditionalCheckFailed':
                    raw = balance.get('Item') or {}
                    raise InsufficientBalance(entry.employee_id, int(raw['available']['N']) if 'available' in raw else 0) from exc
                raise
        raise ConcurrentUpdate('other writers kept extending the ledger chain')

    # --- reads (admin and reconciliation paths) --------------------------------------------------
    def balance(self, employee_id: str, *, with_pending: bool = True) -> Balance:
        """The balance item, with pending points summed from the pending view (one Query) unless not wanted."""
        pending = self.pending_points(employee_id) if with_pending else 0
        try:
            record = self.balances.get(employee_pk(employee_id), consistent_read=True)
        except self.balances.DoesNotExist:
            return Balance(employee_id, 0, pending, 0, 0)
        chain = ChainHead(hash=record.chain_head or '', seq=int(record.chain_seq or 0))
        return Balance(employee_id, int(record.available), pending, int(record.lifetime_earned), int(record.entry_count), chain,
                       int(record.debt or 0))

    def pending_awards(self, employee_id: str) -> list[tuple[str, AwardRecord]]:
        """The employee's pending view: (ticket key, award) for every award still inside its hold window."""
        out: list[tuple[str, AwardRecord]] = []
        for item in self._pending_items(employee_id, 'ticket_key, award'):
            out.append((item['ticket_key']['S'], AwardRecord.model_validate_json(item['award']['S'])))
        return out

    def pending_points(self, employee_id: str) -> int:
        """Pending points are the sum of the pending view (a Query of one partition, projected to the
        amounts), never a counter that could drift from it."""
        return sum(int(item['amount']['N']) for item in self._pending_items(employee_id, 'amount'))

    def _pending_items(self, employee_id: str, projection: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            'TableName': self.pending_table,
            'KeyConditionExpression': 'pk = :pk',
            'ExpressionAttributeValues': {':pk': {'S': employee_pk(employee_id)}},
            'ProjectionExpression': projection,
            'ConsistentRead': True,
        }
        while True:
            page = self.client.query(**kwargs)
            yield from page.get('Items', [])
            if 'LastEvaluatedKey' not in page:
                return
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    def counters(self, keys: Sequence[str]) -> dict[str, dict[str, int]]:
        """Earnings counter items (caps, period rules) by key, numbers only; absent items are omitted."""
        out: dict[str, dict[str, int]] = {}
        table = self.balances.Meta.table_name
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {table: {'Keys': [{'pk': {'S': key}} for key in keys[start : start + 100]], 'ConsistentRead': True}}
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                for item in page.get('Responses', {}).get(table, []):
                    out[item['pk']['S']] = {name: int(value['N']) for name, value in item.items() if 'N' in value}
                request = page.get('UnprocessedKeys') or {}
        return out

    def entries_for(self, employee_id: str) -> list[LedgerEntry]:
        query = self.entries.query(employee_pk(employee_id), self.entries.sk.startswith('ENTRY#'), consistent_read=True)
        return [LedgerEntry.model_validate_json(record.entry) for record in query]

    def points_between(self, employee_id: str, start: datetime, end: datetime) -> int:
        """The sum of the employee's entries whose basis event happened in [start, end) (the daily reminder's
        "points yesterday"): the same Query, projected to the amount and the entry, read without model validation."""
        query = self.entries.query(employee_pk(employee_id), self.entries.sk.startswith('ENTRY#'), attributes_to_get=['amount', 'entry'])
        total = 0
        for record in query:
            occurred = datetime.fromisoformat(json.loads(record.entry)['occurred_at'])
            if start <= occurred < end:
                total += int(record.amount)
        return total

    def stored_entries(self, employee_id: str) -> list[StoredEntry]:
        """The employee's ledger items as stored (the hashed fields and the chain's), for the audit: one consistent
        Query of the partition, every attribute (the hash covers them; a projection would not lower the read units
        anyway, DynamoDB computes them on the whole items read)."""
        kwargs: dict[str, Any] = {
            'TableName': self.entries.Meta.table_name,
            'KeyConditionExpression': 'pk = :pk AND begins_with(sk, :entry)',
            'ExpressionAttributeValues': {':pk': {'S': employee_pk(employee_id)}, ':entry': {'S': 'ENTRY#'}},
            'ConsistentRead': True,
        }
        out: list[StoredEntry] = []
        while True:
            page = self.client.query(**kwargs)
            out += [stored_entry(item) for item in page.get('Items', [])]
            if 'LastEvaluatedKey' not in page:
                return out
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    def append_adjustment_guarded(self, entry: LedgerEntry, guard: dict[str, Any]) -> str:
        """`append_adjustment` with one more conditional write in the same transaction (an approval request moving
        from requested to approved, so approving writes the entry once and never beside a rejection): 'written';
        'refused' when the guard's condition failed (nothing written); 'duplicate' when the entry exists.
        Raises InsufficientBalance for a debit larger than what is available."""
        return self._append(entry, guard)


def cap_debits(entries: Sequence[LedgerEntry], employee_id: str, available: int,
               records_debt: DebtPolicy | None = None) -> tuple[LedgerEntry, ...]:
    """Reduce an employee's debits (clawbacks, penalties) so their balance stops at zero; what could not be
    recovered is stated on the entry instead of pushing the balance negative. When `records_debt` says so for the
    entry (its program's `wallet.below_floor` is `debt`), the rest is owed: `debt_points` on the entry, and the
    balance update adds it to the employee's `debt` in the same transaction (recovered from later earnings)."""
    credit = sum(e.amount for e in entries if e.employee_id == employee_id and e.amount > 0)
    room = available + credit
    capped: list[LedgerEntry] = []
    for entry in entries:
        if entry.employee_id != employee_id or entry.amount >= 0:
            capped.append(entry)
            continue
        take = min(-entry.amount, max(room, 0))
        room -= take
        requested = int(entry.reason.inputs.get('requested_points') or -entry.amount)  # capped again: the first request
        unrecovered = requested - take
        owed = unrecovered > 0 and records_debt is not None and records_debt(entry)
        said = (f'; {unrecovered} points owed as a debt, recovered from later earnings' if owed
                else f'; {unrecovered} points not recovered (balance too low)')
        note = (entry.reason.note or '') + (said if unrecovered else '')
        inputs = dict(entry.reason.inputs) | {'unrecovered_points': unrecovered, 'requested_points': requested}
        if owed:
            inputs['debt_points'] = unrecovered
        reason = entry.reason.model_copy(update={'note': note, 'inputs': inputs})
        capped.append(entry.model_copy(update={'amount': -take, 'reason': reason}))
    return tuple(capped)


def _plain(value: dict[str, Any]) -> str | int | None:
    if 'S' in value:
        return str(value['S'])
    if 'N' in value:
        text = str(value['N'])
        return int(text) if text.lstrip('-').isdigit() else text
    return None


def stored_entry(item: dict[str, Any]) -> StoredEntry:
    """A raw ledger item as the audit checks it (a number that is not an integer stays text: its hash then differs)."""
    fields = {name: _plain(item[name]) for name in HASHED_FIELDS if name in item}
    seq = _plain(item['seq']) if 'seq' in item else None
    prev_hash = item.get('prev_hash', {}).get('S')
    digest = item.get('hash', {}).get('S')
    sk = str(fields.get('sk') or '')
    return StoredEntry(entry_id=sk.removeprefix('ENTRY#'), fields=fields, seq=seq if isinstance(seq, int) else None,
                       prev_hash=prev_hash, hash=digest)
