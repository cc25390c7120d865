"""The ledger's item format and the chained writes every ledger writer uses (low-level client, no pynamodb).

Every writer of ledger entries (the ticket processor and hold release, admin adjustments and dispute decisions
through `shared.ledger.store.LedgerStore`; the period close and the league close through
`shared.programs.period_store.PeriodStore`) puts its entries in one TransactWriteItems with the employee's
balance update. Here is what they share, so the hash chain (`shared.ledger.chain`) is applied in one place:

1. `read_heads`: the employees' chain heads, one consistent GetItem each on the balance item, projected to
   `chain_head, chain_seq` (1 read unit each); `batch_heads` reads many at once (a close prefetches its payees');
2. `chained_puts`: the entries' Put actions (`attribute_not_exists`: an entry is never written twice), each with
   `seq`, `prev_hash`, `hash`, chained in the order given onto its employee's head;
3. `guard`: adds `SET chain_head, chain_seq` to the employee's balance update, conditioned on the head read in 1
   (`chain_head = :expected`, or `attribute_not_exists(chain_head)` for the first chained entry), and asks for the
   old item when the condition fails;
4. `chain_moved`: whether a failed balance condition was the chain (another writer appended since step 1: read
   the head again and rebuild) rather than the writer's own condition (e.g. `available >= :need`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.dynamo import batch_get
from shared.ledger.chain import GENESIS, ChainHead, FieldValue, Link, link
from shared.ledger.entries import LedgerEntry

_SET = re.compile(r'\bSET\s+', re.IGNORECASE)
CHAIN_ATTEMPTS = 6  # reads of the head and rebuilds before a writer gives up (ConcurrentUpdate)


def employee_pk(employee_id: str) -> str:
    return f'EMP#{employee_id}'


def entry_fields(entry: LedgerEntry) -> dict[str, FieldValue]:
    """The ledger item's stored fields (all hashed): keys, the entry as JSON, and what is read without parsing it."""
    return {
        'pk': employee_pk(entry.employee_id),
        'sk': f'ENTRY#{entry.entry_id}',
        'entry': entry.model_dump_json(),
        'amount': entry.amount,
        'kind': entry.kind.value,
        'period': entry.period,
        'recorded_at': entry.recorded_at.isoformat(),
    }


def _attribute(value: FieldValue) -> dict[str, Any]:
    return {'N': str(value)} if isinstance(value, int) else {'S': value or ''}


def ledger_item(fields: Mapping[str, FieldValue], chain: Link) -> dict[str, Any]:
    item = {name: _attribute(value) for name, value in fields.items()}
    item |= {'seq': {'N': str(chain.seq)}, 'prev_hash': {'S': chain.prev_hash}, 'hash': {'S': chain.hash}}
    return item


def read_heads(client: Any, balances_table: str, employee_ids: Iterable[str]) -> dict[str, ChainHead]:
    """Each employee's chain head (no balance item, or one without a chain: the genesis head)."""
    heads: dict[str, ChainHead] = {}
    for employee_id in sorted(set(employee_ids)):
        item = client.get_item(TableName=balances_table, Key={'pk': {'S': employee_pk(employee_id)}}, ConsistentRead=True,
                               ProjectionExpression='chain_head, chain_seq').get('Item') or {}
        heads[employee_id] = head_of(item)
    return heads


def batch_heads(client: Any, balances_table: str, employee_ids: Iterable[str]) -> dict[str, ChainHead]:
    """`read_heads` for many employees at once (a close paying hundreds): BatchGetItem, 100 keys a request, consistent."""
    wanted = sorted(set(employee_ids))
    keys = [(balances_table, {'pk': {'S': employee_pk(employee_id)}}) for employee_id in wanted]
    options = {balances_table: {'ConsistentRead': True, 'ProjectionExpression': 'pk, chain_head, chain_seq'}}
    found = {item['pk']['S']: head_of(item) for _, item in batch_get(client, keys, options)}
    return {employee_id: found.get(employee_pk(employee_id), ChainHead()) for employee_id in wanted}


def head_of(item: Mapping[str, Any]) -> ChainHead:
    """The chain head a raw balance item (or a cancellation reason's old item) holds."""
    return ChainHead(hash=item.get('chain_head', {}).get('S', GENESIS), seq=int(item.get('chain_seq', {}).get('N', 0)))


def chained_puts(ledger_table: str, entries: Sequence[LedgerEntry],
                 heads: Mapping[str, ChainHead]) -> tuple[list[dict[str, Any]], dict[str, ChainHead]]:
    """The entries' Put actions, in the order given, chained per employee onto `heads`; and the new heads."""
    fields = [entry_fields(entry) for entry in entries]
    new_heads = dict(heads)
    links: dict[int, Link] = {}
    for employee_id in dict.fromkeys(entry.employee_id for entry in entries):
        mine = [i for i, entry in enumerate(entries) if entry.employee_id == employee_id]
        chain, new_heads[employee_id] = link(heads.get(employee_id, ChainHead()), [fields[i] for i in mine])
        links.update(zip(mine, chain, strict=True))
    puts = [
        {'Put': {'TableName': ledger_table, 'Item': ledger_item(fields[i], links[i]), 'ConditionExpression': 'attribute_not_exists(pk)'}}
        for i in range(len(entries))
    ]
    return puts, new_heads


def guard(action: dict[str, Any], before: ChainHead, after: ChainHead) -> dict[str, Any]:
    """The employee's balance action (`{'Update': ...}` as the writer built it: expression, values, maybe a
    condition) also moving the chain head from `before` to `after`, only if the head is still `before`."""
    update = action['Update']
    values = dict(update.get('ExpressionAttributeValues') or {})
    values |= {':chain_head': {'S': after.hash}, ':chain_seq': {'N': str(after.seq)}}
    chain_set = 'chain_head = :chain_head, chain_seq = :chain_seq'
    expression, found = _SET.subn(f'SET {chain_set}, ', update['UpdateExpression'], count=1)
    if not found:
        expression += f' SET {chain_set}'
    if before.seq == 0 and before.hash == GENESIS:
        condition = 'attribute_not_exists(chain_head)'
    else:
        condition = 'chain_head = :chain_expected'
        values[':chain_expected'] = {'S': before.hash}
    if update.get('ConditionExpression'):
        condition = f'({update["ConditionExpression"]}) AND {condition}'
    return {'Update': update | {'UpdateExpression': expression, 'ExpressionAttributeValues': values, 'ConditionExpression': condition,
                                'ReturnValuesOnConditionCheckFailure': 'ALL_OLD'}}


def chain_moved(reason: Mapping[str, Any], before: ChainHead) -> bool:
    """A balance update's cancellation reason: did it fail because the chain's head is no longer `before`?"""
    return reason.get('Code') == 'ConditionalCheckFailed' and head_of(reason.get('Item') or {}) != before
