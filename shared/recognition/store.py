"""Where a recognition is read and written: RecognitionTable, with the directory, the ledger, the balances and the
alerts, in TWO DynamoDB requests per recognition (the figure `recognition_requests_per_give`, goal <= 4).

1. ONE BatchGetItem (`read`) over three tables:
   - the directory: the giver's and the receiver's profiles (`EMP#<id>` / `PROFILE`; the receiver's code as typed and
     upper-cased, as `DirectoryStore.lookup` reads employee codes);
   - RecognitionTable, consistent: for each program that may carry the recognition, the giver's ALLOW counter of the
     month (`ALLOW#<program>#<giver>` / `<yyyy-mm>`), the PAIR counter (`PAIR#<program>#<giver>#<receiver>` /
     `<yyyy-mm>`) and the GIVE record of this idempotency key (`GIVE#<recognition_id>` / `-`: a retry is answered with
     the first result and writes nothing);
   - BalancesTable, consistent: the receiver's ledger chain head (`EMP#<id>`: chain_head, chain_seq).
2. ONE TransactWriteItems (`write`), all or nothing:
   GIVE put (attribute_not_exists: the idempotency record); ALLOW update (ADD given, only if given + points <= allowance);
   PAIR update (only if given + points <= pair cap); the feed puts (`shared.recognition.feed.feed_items`); the two
   per-person index items (`WHO#<employee>` / `<recorded_at>#<recognition_id>`: how erasure finds a person's
   recognitions without a Scan); the chained RECOGNITION entry put and the receiver's guarded balance update
   (`shared.ledger.entry_writes`); the receiver's notice (`AlertStore.new_alert_action`).
   A cancelled transaction is read from its reasons: GIVE exists -> the stored first result (one GetItem); ALLOW or
   PAIR refused -> the refusal with the counter's current value (given meanwhile by a concurrent recognition); the
   chain moved -> the head read again (one GetItem) and the transaction rebuilt; a TransactionConflict -> retried.

Counters expire ~13 months after their month (`expires_at`); GIVE records, feed items and index items are kept.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.alerts.store import AlertStore
from shared.config import get_settings
from shared.dynamo import LowLevelClient, batch_get
from shared.errors import ConcurrentUpdate
from shared.ledger.chain import ChainHead
from shared.ledger.entry_writes import CHAIN_ATTEMPTS, chain_moved, chained_puts, employee_pk, guard, head_of, read_heads
from shared.recognition.feed import feed_items, feed_keys
from shared.recognition.give import GivePlan, GiveResult, Member, RecognitionRefused, member_of, refuse_over_allowance, refuse_over_pair_cap

COUNTER_TTL = timedelta(days=400)  # ~13 months
PROFILE_FIELDS = 'employee_id, #n, #r, job_grade, location_id, #region, manager_id, active, #lang'
PROFILE_NAMES = {'#n': 'name', '#r': 'role', '#region': 'region', '#lang': 'language'}
CONFLICT_ATTEMPTS = 6


def allow_pk(program_id: str, giver_id: str) -> str:
    return f'ALLOW#{program_id}#{giver_id}'


def pair_pk(program_id: str, giver_id: str, receiver_id: str) -> str:
    return f'PAIR#{program_id}#{giver_id}#{receiver_id}'


def give_pk(recognition_id: str) -> str:
    return f'GIVE#{recognition_id}'


def who_pk(employee_id: str) -> str:
    return f'WHO#{employee_id}'


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {'pk': {'S': pk}, 'sk': {'S': sk}}


@dataclass(frozen=True)
class Want:
    """What one recognition reads: the people (ids as they may be spelled) and, per candidate program, its month and
    the recognition id this idempotency key has in it."""

    giver_ids: tuple[str, ...]
    receiver_ids: tuple[str, ...]
    programs: tuple[tuple[str, str], ...]  # (program_id, month)
    recognition_ids: tuple[str, ...]  # the ids this idempotency key has in each program (for each spelling of the giver)


@dataclass
class Snapshot:
    members: dict[str, Member] = field(default_factory=dict)
    allow: dict[tuple[str, str], int] = field(default_factory=dict)  # (program, giver) -> given this month
    pair: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (program, giver, receiver) -> given this month
    gives: dict[str, GiveResult] = field(default_factory=dict)  # recognition_id -> the stored first result
    heads: dict[str, ChainHead] = field(default_factory=dict)  # receiver -> ledger chain head

    def member(self, spellings: Iterable[str]) -> Member | None:
        return next((self.members[spelling] for spelling in spellings if spelling in self.members), None)


class RecognitionStore(LowLevelClient):
    def __init__(self, table: str | None = None, *, directory_table: str | None = None, ledger_table: str | None = None,
                 balances_table: str | None = None, alerts: AlertStore | None = None, client: Any = None) -> None:  # fmt: skip
        settings = get_settings()
        self.table = table or settings.RECOGNITION_TABLE
        self.directory_table = directory_table or settings.DIRECTORY_TABLE
        self.ledger_table = ledger_table or settings.LEDGER_TABLE
        self.balances_table = balances_table or settings.BALANCES_TABLE
        self._client = client
        self.alerts = alerts or AlertStore(client=client)

    # --- the one read ------------------------------------------------------------------------------------------------
    def read(self, want: Want) -> Snapshot:
        """Everything a recognition is judged on, in one BatchGetItem (more only if DynamoDB leaves keys unprocessed)."""
        people = list(dict.fromkeys(want.giver_ids + want.receiver_ids))
        keys: list[tuple[str, dict[str, Any]]] = [(self.directory_table, _key(f'EMP#{person}', 'PROFILE')) for person in people]
        keys += [(self.table, _key(give_pk(recognition_id), '-')) for recognition_id in want.recognition_ids]
        for program_id, month in want.programs:
            for giver in want.giver_ids:
                keys.append((self.table, _key(allow_pk(program_id, giver), month)))
                keys += [(self.table, _key(pair_pk(program_id, giver, receiver), month)) for receiver in want.receiver_ids
                         if receiver != giver]  # fmt: skip
        keys += [(self.balances_table, {'pk': {'S': employee_pk(receiver)}}) for receiver in want.receiver_ids]
        options: dict[str, dict[str, Any]] = {
            self.directory_table: {'ProjectionExpression': PROFILE_FIELDS, 'ExpressionAttributeNames': PROFILE_NAMES},
            self.table: {'ConsistentRead': True},
            self.balances_table: {'ConsistentRead': True, 'ProjectionExpression': 'pk, chain_head, chain_seq'},
        }
        snapshot = Snapshot(heads={receiver: ChainHead() for receiver in want.receiver_ids})
        for table, item in batch_get(self.client, keys, options):
            if table == self.directory_table:
                member = member_of(item)
                snapshot.members[member.employee_id] = member
            elif table == self.balances_table:
                snapshot.heads[item['pk']['S'].removeprefix('EMP#')] = head_of(item)
            else:
                self._absorb(snapshot, item)
        return snapshot

    @staticmethod
    def _absorb(snapshot: Snapshot, item: dict[str, Any]) -> None:
        kind, _, rest = item['pk']['S'].partition('#')
        if kind == 'GIVE':
            snapshot.gives[rest] = GiveResult.model_validate_json(item['result']['S']).model_copy(update={'duplicate': True})
            return
        given = int(item.get('given', {}).get('N', 0))
        parts = rest.split('#')
        if kind == 'ALLOW' and len(parts) == 2:
            snapshot.allow[(parts[0], parts[1])] = given
        elif kind == 'PAIR' and len(parts) == 3:
            snapshot.pair[(parts[0], parts[1], parts[2])] = given

    def stored(self, recognition_id: str) -> GiveResult | None:
        item = self.client.get_item(TableName=self.table, Key=_key(give_pk(recognition_id), '-'), ConsistentRead=True,
                                    ProjectionExpression='#r', ExpressionAttributeNames={'#r': 'result'}).get('Item')  # fmt: skip
        return GiveResult.model_validate_json(item['result']['S']).model_copy(update={'duplicate': True}) if item else None

    # --- the one write -----------------------------------------------------------------------------------------------
    def write(self, plan: GivePlan, head: ChainHead, now: datetime, receiver_name: str | None = None) -> GiveResult:
        """Write the recognition (one TransactWriteItems); the stored first result when this key had already given.
        Raises RecognitionRefused when a concurrent recognition used the allowance or the pair cap meanwhile."""
        result = plan.result(receiver_name)
        record = plan.record
        for attempt in range(CHAIN_ATTEMPTS + CONFLICT_ATTEMPTS):
            [entry_put], new_heads = chained_puts(self.ledger_table, [plan.entry], {record.receiver_id: head})
            balance = guard(self._balance_update(plan), head, new_heads[record.receiver_id])
            items = [self._give_put(plan, result), self._counter(plan, pair=False, now=now), self._counter(plan, pair=True, now=now),
                     *self._feed_puts(plan), *self._who_puts(plan), entry_put, balance,
                     self.alerts.new_alert_action(plan.notice, now)]  # fmt: skip
            try:
                self.client.transact_write_items(TransactItems=items)
                return result
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get('CancellationReasons', [])
                codes = [reason.get('Code') for reason in reasons]
                if codes[:1] == ['ConditionalCheckFailed']:
                    stored = self.stored(record.recognition_id)
                    if stored is not None:
                        return stored
                    raise ConcurrentUpdate('the recognition record was refused but cannot be read') from exc
                self._refuse_over_counters(plan, reasons)
                balance_reason = reasons[items.index(balance)] if len(reasons) > items.index(balance) else {}
                if chain_moved(balance_reason, head):
                    head = read_heads(self.client, self.balances_table, [record.receiver_id])[record.receiver_id]
                    continue
                if 'TransactionConflict' in codes:
                    time.sleep(min(0.02 * 2**attempt, 0.5) * random.random())  # noqa: S311 - jitter
                    continue
                raise
        raise RecognitionRefused('busy', 'idempotency_key')

    @staticmethod
    def _refuse_over_counters(plan: GivePlan, reasons: Sequence[dict[str, Any]]) -> None:
        """ALLOW (index 1) or PAIR (index 2) refused: another recognition used it meanwhile; refuse with what is left now."""
        record = plan.record
        for index, pair in ((1, False), (2, True)):
            reason = reasons[index] if len(reasons) > index else {}
            if reason.get('Code') != 'ConditionalCheckFailed':
                continue
            given_now = int((reason.get('Item') or {}).get('given', {}).get('N', 0))
            if pair:
                refuse_over_pair_cap(record.points, plan.pair_cap, given_now, record.receiver_id)
            else:
                refuse_over_allowance(record.points, plan.allowance, given_now)
            raise RecognitionRefused('busy', 'points')  # the condition failed yet the numbers fit: let the caller retry

    def _give_put(self, plan: GivePlan, result: GiveResult) -> dict[str, Any]:
        record = plan.record
        item = _key(give_pk(record.recognition_id), '-') | {
            'record': {'S': record.model_dump_json()},
            'result': {'S': result.model_dump_json()},
            'program_id': {'S': record.program_id},
            'giver_id': {'S': record.giver_id},
            'receiver_id': {'S': record.receiver_id},
            'points': {'N': str(record.points)},
            'month': {'S': record.month},
            'recorded_at': {'S': record.recorded_at.isoformat()},
        }
        return {'Put': {'TableName': self.table, 'Item': item, 'ConditionExpression': 'attribute_not_exists(pk)'}}

    def _counter(self, plan: GivePlan, *, pair: bool, now: datetime) -> dict[str, Any]:
        record = plan.record
        if pair:
            pk, limit = pair_pk(record.program_id, record.giver_id, record.receiver_id), plan.pair_cap
        else:
            pk, limit = allow_pk(record.program_id, record.giver_id), plan.allowance
        return {'Update': {
            'TableName': self.table,
            'Key': _key(pk, record.month),
            'UpdateExpression': 'ADD given :points SET expires_at = :expires, updated_at = :now',
            'ConditionExpression': 'attribute_not_exists(given) OR given <= :room',
            'ExpressionAttributeValues': {':points': {'N': str(record.points)}, ':room': {'N': str(limit - record.points)},
                                          ':expires': {'N': str(int((now + COUNTER_TTL).timestamp()))}, ':now': {'S': now.isoformat()}},
            'ReturnValuesOnConditionCheckFailure': 'ALL_OLD',
        }}  # fmt: skip

    def _feed_puts(self, plan: GivePlan) -> list[dict[str, Any]]:
        return [{'Put': {'TableName': self.table, 'Item': item, 'ConditionExpression': 'attribute_not_exists(pk)'}}
                for item in feed_items(plan.feed)]  # fmt: skip

    def _who_puts(self, plan: GivePlan) -> list[dict[str, Any]]:
        """The per-person index: where `personal_items` finds a person's recognitions (given and received)."""
        record = plan.record
        keys = [[give_pk(record.recognition_id), '-']] + [[key['pk']['S'], key['sk']['S']] for key in feed_keys(plan.feed)]
        sk = f'{record.recorded_at.isoformat()}#{record.recognition_id}'
        puts = []
        for role, person in (('giver', record.giver_id), ('receiver', record.receiver_id)):
            item = _key(who_pk(person), f'{sk}#{role}') | {'recognition_id': {'S': record.recognition_id}, 'role': {'S': role},
                                                           'keys': {'S': json.dumps(keys)}}  # fmt: skip
            puts.append({'Put': {'TableName': self.table, 'Item': item}})
        return puts

    def _balance_update(self, plan: GivePlan) -> dict[str, Any]:
        points = str(plan.record.points)
        return {'Update': {
            'TableName': self.balances_table,
            'Key': {'pk': {'S': employee_pk(plan.record.receiver_id)}},
            'UpdateExpression': 'ADD available :d, entry_count :c, lifetime_earned :e SET updated_at = :u',
            'ExpressionAttributeValues': {':d': {'N': points}, ':c': {'N': '1'}, ':e': {'N': points},
                                          ':u': {'S': plan.record.recorded_at.isoformat()}},
        }}  # fmt: skip

    # --- erasure (shared.privacy.erase) ------------------------------------------------------------------------------
    def personal_items(self, employee_id: str) -> list[dict[str, Any]]:
        """The person's index items (a Query of `WHO#<id>`, paged): each names the keys of one recognition's items."""
        kwargs: dict[str, Any] = {'TableName': self.table, 'KeyConditionExpression': 'pk = :pk',
                                  'ExpressionAttributeValues': {':pk': {'S': who_pk(employee_id)}}, 'ConsistentRead': True}  # fmt: skip
        out: list[dict[str, Any]] = []
        while True:
            page = self.client.query(**kwargs)
            out += page.get('Items', [])
            if 'LastEvaluatedKey' not in page:
                return out
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    def erase_messages(self, index_items: Sequence[dict[str, Any]], now: datetime) -> int:
        """Blank the free text of each indexed recognition (the record's message, every feed item's message) and delete
        the index item. The ids, points, value and month stay (they are the ledger's facts). Returns the items blanked."""
        blanked = 0
        for index_item in index_items:
            for pk, sk in json.loads(index_item['keys']['S']):
                if pk.startswith('GIVE#'):
                    blanked += self._blank_record(pk, sk, now)
                else:
                    blanked += self._update_if_exists(pk, sk, 'SET message = :blank', {':blank': {'S': ''}})
            self.client.delete_item(TableName=self.table, Key={'pk': index_item['pk'], 'sk': index_item['sk']})
        return blanked

    def _blank_record(self, pk: str, sk: str, now: datetime) -> int:
        item = self.client.get_item(TableName=self.table, Key=_key(pk, sk), ConsistentRead=True).get('Item')
        if item is None:
            return 0
        record = json.loads(item['record']['S'])
        if not record.get('message'):
            return 0
        record['message'] = ''
        values = {':record': {'S': json.dumps(record)}, ':now': {'S': now.isoformat()}}
        return self._update_if_exists(pk, sk, 'SET #record = :record, erased_at = :now', values, {'#record': 'record'})

    def _update_if_exists(self, pk: str, sk: str, expression: str, values: dict[str, Any], names: dict[str, str] | None = None) -> int:
        from shared.dynamo import conditionally

        extra = {'ExpressionAttributeNames': names} if names else {}
        return int(conditionally(self.client.update_item, TableName=self.table, Key=_key(pk, sk), UpdateExpression=expression,
                                 ConditionExpression='attribute_exists(pk)', ExpressionAttributeValues=values, **extra))  # fmt: skip
