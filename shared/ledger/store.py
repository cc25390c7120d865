"""Where points are written: ledger entries and balances, atomically with the ticket that caused them.

One DynamoDB request per event on the hot path: when no points change, a conditional PutItem of the
ticket; when points change, one TransactWriteItems holding the ticket (version-checked), every new
entry (`attribute_not_exists`, so an entry can never be written twice) and one balance update per
employee (debits conditioned on `available >= amount`, so no debit takes a balance below zero).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared.config import get_settings
from shared.dynamo import connection_kwargs, meta_for
from shared.errors import ConcurrentUpdate
from shared.ledger.entries import EntryKind, LedgerEntry, LedgerPlan
from shared.observability import logger
from shared.tickets.store import TicketRecord

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


class BalanceRecord(Model):
    class Meta:
        table_name = 'pitcrew-balances'

    pk = UnicodeAttribute(hash_key=True)  # EMP#<employee_id>
    available = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    lifetime_earned = NumberAttribute(default=0)
    entry_count = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)


@lru_cache(maxsize=4)
def entry_model(table_name: str) -> type[LedgerEntryRecord]:
    return type('BoundLedgerEntryRecord', (LedgerEntryRecord,), {'Meta': meta_for(table_name)})


@lru_cache(maxsize=4)
def balance_model(table_name: str) -> type[BalanceRecord]:
    return type('BoundBalanceRecord', (BalanceRecord,), {'Meta': meta_for(table_name)})


def employee_pk(employee_id: str) -> str:
    return f'EMP#{employee_id}'


@dataclass(frozen=True)
class Balance:
    employee_id: str
    available: int
    pending: int
    lifetime_earned: int
    entry_count: int


class InsufficientBalance(Exception):
    def __init__(self, employee_id: str, available: int) -> None:
        super().__init__(f'employee {employee_id} has {available} points available')
        self.employee_id = employee_id
        self.available = available


class LedgerStore:
    def __init__(self, ledger_table: str | None = None, balances_table: str | None = None) -> None:
        settings = get_settings()
        self.entries = entry_model(ledger_table or settings.LEDGER_TABLE)
        self.balances = balance_model(balances_table or settings.BALANCES_TABLE)
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(**connection_kwargs())
        return self._connection

    # --- writes ---------------------------------------------------------------------------------
    def commit(self, ticket: TicketRecord, ticket_condition: Condition, plan: LedgerPlan) -> LedgerPlan:
        """Write the ticket and the plan's entries atomically. Returns the plan actually written
        (reversals may be capped to what an employee still has available)."""
        if not plan.entries:
            try:
                ticket.save(condition=ticket_condition)
            except PutError as exc:
                if exc.cause_response_code == 'ConditionalCheckFailedException':
                    raise ConcurrentUpdate('ticket changed since it was read') from exc
                raise
            return plan
        for _ in range(3):
            try:
                self._transact(ticket, ticket_condition, plan)
                return plan
            except InsufficientBalance as short:
                plan = cap_reversals(plan, short.employee_id, short.available)
        raise ConcurrentUpdate('balances kept changing while capping a reversal')

    def _transact(self, ticket: TicketRecord, ticket_condition: Condition, plan: LedgerPlan) -> None:
        changes = plan.balance_changes()
        if 1 + len(plan.entries) + len(changes) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f'a ticket change of {len(plan.entries)} entries exceeds one DynamoDB transaction')
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(ticket, condition=ticket_condition)
                for entry in plan.entries:
                    tx.save(self._entry_record(entry), condition=self.entries.pk.does_not_exist())
                for employee_id, delta in sorted(changes.items()):
                    self._balance_update(tx, employee_id, delta, plan.entries, ticket.updated_at)
        except TransactWriteError as exc:
            self._explain(exc, plan, sorted(changes.items()))

    def _entry_record(self, entry: LedgerEntry) -> LedgerEntryRecord:
        return self.entries(
            employee_pk(entry.employee_id),
            f'ENTRY#{entry.entry_id}',
            entry=entry.model_dump_json(),
            amount=entry.amount,
            kind=entry.kind.value,
            period=entry.period,
            recorded_at=entry.recorded_at.isoformat(),
        )

    def _balance_update(self, tx: TransactWrite, employee_id: str, delta: int, entries: Sequence[LedgerEntry], now: str) -> None:
        balance = self.balances(employee_pk(employee_id))
        count = sum(1 for entry in entries if entry.employee_id == employee_id)
        earned = sum(entry.amount for entry in entries if entry.employee_id == employee_id and entry.kind is EntryKind.AWARD)
        actions: list[Action] = [
            self.balances.available.add(delta),
            self.balances.entry_count.add(count),
            self.balances.lifetime_earned.add(earned),
            self.balances.updated_at.set(now),
        ]
        condition = self.balances.available >= -delta if delta < 0 else None
        tx.update(balance, actions=actions, condition=condition, return_values='ALL_OLD' if delta < 0 else None)

    def _explain(self, exc: TransactWriteError, plan: LedgerPlan, changes: list[tuple[str, int]]) -> None:
        reasons = exc.cancellation_reasons
        codes = [reason.code if reason else None for reason in reasons]
        if codes and codes[0] == 'ConditionalCheckFailed':
            raise ConcurrentUpdate('ticket changed since it was read') from exc
        balance_offset = 1 + len(plan.entries)
        for index, (employee_id, delta) in enumerate(changes):
            reason = reasons[balance_offset + index] if len(reasons) > balance_offset + index else None
            if reason is not None and reason.code == 'ConditionalCheckFailed' and delta < 0:
                available = 0
                if reason.raw_item and 'available' in reason.raw_item:
                    available = int(reason.raw_item['available']['N'])
                raise InsufficientBalance(employee_id, available) from exc
        if 'TransactionConflict' in codes:
            raise ConcurrentUpdate('transaction conflict') from exc
        logger.error('ledger transaction cancelled', extra={'codes': codes})
        raise exc

    def append_adjustment(self, entry: LedgerEntry) -> bool:
        """Write an admin's adjustment entry and its balance change atomically. Returns False when
        the entry already exists (a retried request); raises InsufficientBalance for a debit larger
        than what is available (adjustments are never capped: the admin decides)."""
        now = entry.recorded_at.isoformat()
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(self._entry_record(entry), condition=self.entries.pk.does_not_exist())
                self._balance_update(tx, entry.employee_id, entry.amount, [entry], now)
        except TransactWriteError as exc:
            codes = [reason.code if reason else None for reason in exc.cancellation_reasons]
            if codes and codes[0] == 'ConditionalCheckFailed':
                return False
            if len(codes) > 1 and codes[1] == 'ConditionalCheckFailed':
                raw = exc.cancellation_reasons[1].raw_item if exc.cancellation_reasons[1] else None
                available = int(raw['available']['N']) if raw and 'available' in raw else 0
                raise InsufficientBalance(entry.employee_id, available) from exc
            raise
        return True

    # --- reads (admin and reconciliation paths) --------------------------------------------------
    def balance(self, employee_id: str) -> Balance:
        try:
            record = self.balances.get(employee_pk(employee_id), consistent_read=True)
        except self.balances.DoesNotExist:
            return Balance(employee_id, 0, 0, 0, 0)
        return Balance(employee_id, int(record.available), int(record.pending), int(record.lifetime_earned), int(record.entry_count))

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

    def entry_amounts(self, employee_id: str) -> list[int]:
        """The amounts of the employee's ledger entries: the same consistent Query as `entries_for`,
        projected to `amount` (a ProjectionExpression), for the audit, which only sums them.

        A projection does not lower the read units: DynamoDB computes them on the whole items read,
        before projecting. What it cuts is the response's size, and with it the transfer, the
        parsing (no entry JSON to validate) and the Lambda's CPU.
        """
        query = self.entries.query(employee_pk(employee_id), self.entries.sk.startswith('ENTRY#'), consistent_read=True,
                                   attributes_to_get=['amount'])
        return [int(record.amount) for record in query]


def cap_reversals(plan: LedgerPlan, employee_id: str, available: int) -> LedgerPlan:
    """Reduce an employee's debits in this plan so their balance stops at zero; what could not be
    recovered is stated on the reversal entry instead of pushing the balance negative."""
    credit = sum(e.amount for e in plan.entries if e.employee_id == employee_id and e.amount > 0)
    room = available + credit
    capped: list[LedgerEntry] = []
    for entry in plan.entries:
        if entry.employee_id != employee_id or entry.amount >= 0:
            capped.append(entry)
            continue
        take = min(-entry.amount, max(room, 0))
        room -= take
        unrecovered = -entry.amount - take
        note = (entry.reason.note or '') + (f'; {unrecovered} points not recovered (balance too low)' if unrecovered else '')
        inputs = dict(entry.reason.inputs) | {'unrecovered_points': unrecovered, 'requested_points': -entry.amount}
        reason = entry.reason.model_copy(update={'note': note, 'inputs': inputs})
        capped.append(entry.model_copy(update={'amount': -take, 'reason': reason}))
    return plan.model_copy(update={'entries': tuple(capped)})

