"""Debt recovery's writes (shared/wallet/debt.py says why): one consistent GetItem of the balance item (the debt, the
available points and the chain head), then one TransactWriteItems: the DEBT_RECOVERY entry (chained,
`attribute_not_exists`) and the balance update `ADD available :-x, debt :-x` conditioned on the debt and the floor and
guarded on the chain head (`shared.ledger.entry_writes`, as `LedgerStore._append`). When another writer extended the
chain first, the item is read again and the recovery planned again from what it holds then."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient
from shared.errors import ConcurrentUpdate
from shared.ledger.chain import ChainHead
from shared.ledger.entries import LedgerEntry
from shared.ledger.entry_writes import CHAIN_ATTEMPTS, chain_moved, chained_puts, employee_pk, guard, head_of
from shared.wallet.debt import DebtState, plan_recovery

FloorOf = Callable[[str], int]  # program ref -> the floor recovery stops at


@dataclass(frozen=True)
class Recovery:
    outcome: str  # 'recovered' | 'nothing' (no debt, or nothing above the floor) | 'duplicate' (this trigger already acted)
    entry: LedgerEntry | None = None


class DebtStore(LowLevelClient):
    def __init__(self, ledger_table: str | None = None, balances_table: str | None = None, client: Any = None) -> None:
        settings = get_settings()
        self.ledger_table = ledger_table or settings.LEDGER_TABLE
        self.balances_table = balances_table or settings.BALANCES_TABLE
        self._client = client

    def state(self, employee_id: str) -> tuple[DebtState, ChainHead]:
        item = self.client.get_item(TableName=self.balances_table, Key={'pk': {'S': employee_pk(employee_id)}}, ConsistentRead=True,
                                    ProjectionExpression='available, debt, debt_entries, debt_program, chain_head, chain_seq',
                                    ).get('Item') or {}
        return state_of(employee_id, item), head_of(item)

    def recover(self, employee_id: str, trigger: str, floor_of: FloorOf, now: datetime) -> Recovery:
        """Repay what can be repaid of the employee's debt now (`trigger`: the balance change that allowed it)."""
        for _ in range(CHAIN_ATTEMPTS):
            state, head = self.state(employee_id)
            if not state.owes:
                return Recovery('nothing')
            floor = floor_of(state.program_ref)
            entry = plan_recovery(state, floor, trigger, now)
            if entry is None:
                return Recovery('nothing')
            [put], heads = chained_puts(self.ledger_table, [entry], {employee_id: head})
            update = guard(self._balance_update(entry, state, floor, now), head, heads[employee_id])
            try:
                self.client.transact_write_items(TransactItems=[put, update])
                return Recovery('recovered', entry)
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get('CancellationReasons', [])
                if reasons[:1] and reasons[0].get('Code') == 'ConditionalCheckFailed':
                    return Recovery('duplicate')
                balance = reasons[1] if len(reasons) > 1 else {}
                if chain_moved(balance, head) or balance.get('Code') in ('ConditionalCheckFailed', 'TransactionConflict'):
                    continue  # another writer moved the balance first: read it again and plan again
                raise
        raise ConcurrentUpdate('other writers kept extending the ledger chain')

    def _balance_update(self, entry: LedgerEntry, state: DebtState, floor: int, now: datetime) -> dict[str, Any]:
        take = -entry.amount
        expression = 'ADD available :neg, debt :neg, entry_count :one SET updated_at = :u'
        if take == state.debt:  # cleared: nothing is owed any more
            expression += ' REMOVE debt_entries, debt_program'
        return {'Update': {
            'TableName': self.balances_table,
            'Key': {'pk': {'S': employee_pk(entry.employee_id)}},
            'UpdateExpression': expression,
            'ConditionExpression': 'debt >= :take AND available >= :least',
            'ExpressionAttributeValues': {':neg': {'N': str(-take)}, ':one': {'N': '1'}, ':u': {'S': now.isoformat()},
                                          ':take': {'N': str(take)}, ':least': {'N': str(take + max(floor, 0))}},
        }}


def state_of(employee_id: str, item: dict[str, Any]) -> DebtState:
    def number(name: str) -> int:
        return int(item[name]['N']) if name in item else 0

    return DebtState(employee_id=employee_id, available=number('available'), debt=number('debt'),
                     debt_entries=tuple(sorted(item.get('debt_entries', {}).get('SS', []))),
                     program_ref=item.get('debt_program', {}).get('S', 'default'))
