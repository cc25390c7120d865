"""Where spot awards are kept (RecognitionTable) and written to the ledger, each change one TransactWriteItems.

Items (keys are a contract between parts, /work/notes/design14.md):
- `SPOTBUDGET#<program>#<manager>` sk `<yyyy-mm>` (month in the program's zone): `used` (N) — points awarded and
  reserved by open requests; `budget` as of the last change (informational); `expires_at` ~13 months;
- `SPOT#<award_id>` sk `-`: the award or approval request as JSON (`award`) with `status`, `program_id`, `manager_id`,
  `employee_id`, `points`, `month` readable without parsing it; written `attribute_not_exists` — the idempotency record;
- `SPOTPENDING#<program>` sk `<deadline ISO UTC>#<award_id>`: an open request (deleted when decided or expired): the
  daily run Queries `sk <= now` for the expired, and the partition for reminders;
- `SPOTOF#<person>` sk `<award_id>`: which awards name a person (receiver or giver), so erasing a person finds them
  without a Scan;
- feed items of kind `spot`: `FEED#<program>#T#<team>` and `FEED#<program>#L#<location>`, sk `<recorded_at>#<award_id>`,
  with the attributes of the recognition feed (shared design).

What one change writes, in one transaction (so an award is never half written):
- an award at once: budget update (`used + points <= budget`), SPOT# put, SPOTOF# puts, the chained SPOT_AWARD entry
  put and the receiver's guarded balance update (shared.ledger.entry_writes), the receiver's notice, two feed items;
- a request: budget update (the reservation), SPOT# put (requested), SPOTPENDING# put, SPOTOF# puts, the approver's
  notice;
- an approval: SPOT# update (`status = requested`), SPOTPENDING# delete, entry put, guarded balance update, the
  receiver's and the maker's notices, two feed items (the budget was reserved at request time);
- a rejection or an expiry: SPOT# update (`status = requested`), SPOTPENDING# delete, budget update (`used - points`),
  the maker's notice.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.alerts.store import AlertStore
from shared.alerts.sync import PendingAlert
from shared.config import get_settings
from shared.dynamo import LowLevelClient, conditionally
from shared.errors import ConcurrentUpdate
from shared.ledger.entries import LedgerEntry
from shared.ledger.entry_writes import CHAIN_ATTEMPTS, chain_moved, chained_puts, employee_pk, guard, read_heads
from shared.recognition.spot import SpotAward, SpotStatus, iso

BUDGET_TTL = timedelta(days=400)  # ~13 months
PENDING_TTL = timedelta(days=30)  # after its deadline: the daily run expires it long before


def budget_pk(program_id: str, manager_id: str) -> str:
    return f'SPOTBUDGET#{program_id}#{manager_id}'


def award_pk(award_id: str) -> str:
    return f'SPOT#{award_id}'


def pending_pk(program_id: str) -> str:
    return f'SPOTPENDING#{program_id}'


def person_pk(employee_id: str) -> str:
    return f'SPOTOF#{employee_id}'


def feed_pk(program_id: str, scope: str, scope_id: str) -> str:
    return f'FEED#{program_id}#{scope}#{scope_id}'


@dataclass(frozen=True)
class FeedPeople:
    """Where the giver and the receiver sit, for the feed (team = the person's manager id)."""

    giver_location: str | None
    receiver_location: str | None
    giver_team: str | None
    receiver_team: str | None


@dataclass(frozen=True)
class PendingItem:
    award_id: str
    manager_id: str
    employee_id: str
    points: int
    deadline: str
    requested_at: str


@dataclass
class Page:
    items: list[PendingItem] = field(default_factory=list)
    cursor: str | None = None


class OverBudget(Exception):
    def __init__(self, used: int) -> None:
        super().__init__(f'{used} used')
        self.used = used


def _s(value: str) -> dict[str, str]:
    return {'S': value}


def _n(value: int) -> dict[str, str]:
    return {'N': str(value)}


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode() if key else None


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    return json.loads(base64.urlsafe_b64decode(cursor.encode())) if cursor else None


class SpotStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, ledger_table: str | None = None, balances_table: str | None = None,
                 alerts: AlertStore | None = None, client: Any = None) -> None:  # fmt: skip
        settings = get_settings()
        self.table = table_name or settings.RECOGNITION_TABLE
        self.ledger_table = ledger_table or settings.LEDGER_TABLE
        self.balances_table = balances_table or settings.BALANCES_TABLE
        self._client = client
        self.alerts = alerts or AlertStore(client=client)

    # --- reads ---------------------------------------------------------------------------------------------------
    def used(self, program_id: str, manager_id: str, month: str) -> int:
        item = self.client.get_item(TableName=self.table, Key={'pk': _s(budget_pk(program_id, manager_id)), 'sk': _s(month)},
                                    ConsistentRead=True, ProjectionExpression='used').get('Item') or {}  # fmt: skip
        return int(item.get('used', {}).get('N', 0))

    def get(self, award_id: str) -> SpotAward | None:
        item = self.client.get_item(TableName=self.table, Key={'pk': _s(award_pk(award_id)), 'sk': _s('-')}, ConsistentRead=True,
                                    ProjectionExpression='award').get('Item')  # fmt: skip
        return SpotAward.model_validate_json(item['award']['S']) if item else None

    def pending(self, program_id: str, *, due_by: datetime | None = None, cursor: str | None = None, limit: int = 100) -> Page:
        """Open requests of a program, deadline first; `due_by`: only those whose deadline is at or before it (the
        expired). One Query page (`cursor` continues)."""
        kwargs: dict[str, Any] = {'TableName': self.table, 'Limit': limit, 'ConsistentRead': True,
                                  'ExpressionAttributeValues': {':pk': _s(pending_pk(program_id))}}  # fmt: skip
        if due_by is not None:
            kwargs['KeyConditionExpression'] = 'pk = :pk AND sk <= :due'
            kwargs['ExpressionAttributeValues'][':due'] = _s(f'{iso(due_by)}#~')
        else:
            kwargs['KeyConditionExpression'] = 'pk = :pk'
        start = decode_cursor(cursor)
        if start:
            kwargs['ExclusiveStartKey'] = start
        page = self.client.query(**kwargs)
        items = [PendingItem(award_id=item['award_id']['S'], manager_id=item['manager_id']['S'], employee_id=item['employee_id']['S'],
                             points=int(item['points']['N']), deadline=item['sk']['S'].split('#', 1)[0],
                             requested_at=item['requested_at']['S']) for item in page.get('Items', [])]  # fmt: skip
        return Page(items, encode_cursor(page.get('LastEvaluatedKey')))

    def all_pending(self, program_id: str, *, due_by: datetime | None = None) -> Iterator[PendingItem]:
        cursor: str | None = None
        while True:
            page = self.pending(program_id, due_by=due_by, cursor=cursor)
            yield from page.items
            if not page.cursor:
                return
            cursor = page.cursor

    def awards_of(self, employee_id: str) -> list[str]:
        """The ids of the awards naming a person (receiver or giver)."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {'TableName': self.table, 'KeyConditionExpression': 'pk = :pk',
                                  'ExpressionAttributeValues': {':pk': _s(person_pk(employee_id))},
                                  'ProjectionExpression': 'sk'}  # fmt: skip
        while True:
            page = self.client.query(**kwargs)
            ids += [item['sk']['S'] for item in page.get('Items', [])]
            if 'LastEvaluatedKey' not in page:
                return ids
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    # --- items -----------------------------------------------------------------------------------------------------
    def _budget_charge(self, award: SpotAward, now: datetime) -> dict[str, Any]:
        """`used += points` only while it stays within the budget (reads the old item when refused: what is left)."""
        return {'Update': {
            'TableName': self.table, 'Key': {'pk': _s(budget_pk(award.program_id, award.manager_id)), 'sk': _s(award.month)},
            'UpdateExpression': 'ADD used :p SET budget = :b, updated_at = :u, expires_at = if_not_exists(expires_at, :x)',
            'ConditionExpression': 'attribute_not_exists(used) OR used <= :room',
            'ExpressionAttributeValues': {':p': _n(award.points), ':b': _n(award.budget), ':room': _n(award.budget - award.points),
                                          ':u': _s(iso(now)), ':x': _n(int((now + BUDGET_TTL).timestamp()))},
            'ReturnValuesOnConditionCheckFailure': 'ALL_OLD',
        }}  # fmt: skip

    def _budget_release(self, award: SpotAward, now: datetime) -> dict[str, Any]:
        return {'Update': {
            'TableName': self.table, 'Key': {'pk': _s(budget_pk(award.program_id, award.manager_id)), 'sk': _s(award.month)},
            'UpdateExpression': 'ADD used :minus SET updated_at = :u', 'ConditionExpression': 'used >= :p',
            'ExpressionAttributeValues': {':minus': _n(-award.points), ':p': _n(award.points), ':u': _s(iso(now))},
        }}  # fmt: skip

    def _award_put(self, award: SpotAward) -> dict[str, Any]:
        item = {'pk': _s(award_pk(award.award_id)), 'sk': _s('-'), 'award': _s(award.model_dump_json()), 'status': _s(award.status.value),
                'program_id': _s(award.program_id), 'manager_id': _s(award.manager_id), 'employee_id': _s(award.employee_id),
                'points': _n(award.points), 'month': _s(award.month), 'requested_at': _s(iso(award.requested_at))}  # fmt: skip
        return {'Put': {'TableName': self.table, 'Item': item, 'ConditionExpression': 'attribute_not_exists(pk)'}}

    def _award_decide(self, award: SpotAward) -> dict[str, Any]:
        """The request's status moves from requested to the decision, once."""
        return {'Update': {
            'TableName': self.table, 'Key': {'pk': _s(award_pk(award.award_id)), 'sk': _s('-')},
            'UpdateExpression': 'SET #s = :s, award = :a', 'ConditionExpression': '#s = :requested',
            'ExpressionAttributeNames': {'#s': 'status'},
            'ExpressionAttributeValues': {':s': _s(award.status.value), ':a': _s(award.model_dump_json()),
                                          ':requested': _s(SpotStatus.REQUESTED.value)},
        }}  # fmt: skip

    def _pending_put(self, award: SpotAward) -> dict[str, Any]:
        assert award.expires_at is not None
        item = {'pk': _s(pending_pk(award.program_id)), 'sk': _s(award.pending_sk), 'award_id': _s(award.award_id),
                'manager_id': _s(award.manager_id), 'employee_id': _s(award.employee_id), 'points': _n(award.points),
                'requested_at': _s(iso(award.requested_at)),
                'expires_at': _n(int((award.expires_at + PENDING_TTL).timestamp()))}  # fmt: skip
        return {'Put': {'TableName': self.table, 'Item': item}}

    def _pending_delete(self, award: SpotAward) -> dict[str, Any]:
        return {'Delete': {'TableName': self.table, 'Key': {'pk': _s(pending_pk(award.program_id)), 'sk': _s(award.pending_sk)}}}

    def _person_puts(self, award: SpotAward) -> list[dict[str, Any]]:
        return [{'Put': {'TableName': self.table, 'Item': {'pk': _s(person_pk(person)), 'sk': _s(award.award_id), 'role': _s(role)}}}
                for person, role in ((award.employee_id, 'receiver'), (award.manager_id, 'giver'))]

    def feed_puts(self, award: SpotAward, people: FeedPeople) -> list[dict[str, Any]]:
        """The award in the receiver's team's and location's feed (kind `spot`; the reason id is its value tag), at
        `award.feed_at`/`feed_team`/`feed_location` (set by the caller, kept on the award record for erasure). The same
        items as the recognition feed's `feed_items` (i14-recognition's shared/recognition/feed.py) builds."""
        if award.feed_sk is None or award.feed_at is None:
            return []
        attributes: dict[str, Any] = {
            'recognition_id': _s(award.award_id), 'giver_id': _s(award.manager_id), 'receiver_id': _s(award.employee_id),
            'points': _n(award.points), 'value': _s(award.reason_id), 'message': _s(award.message), 'kind': _s('spot'),
            'month': _s(award.month),
        }  # fmt: skip
        for name in ('giver_location', 'receiver_location', 'giver_team', 'receiver_team'):
            value = getattr(people, name)
            if value:
                attributes[name] = _s(value)
        puts = []
        for scope, scope_id in (('T', award.feed_team), ('L', award.feed_location)):
            if scope_id:
                key = {'pk': _s(feed_pk(award.program_id, scope, scope_id)), 'sk': _s(award.feed_sk)}
                puts.append({'Put': {'TableName': self.table, 'Item': key | attributes, 'ConditionExpression': 'attribute_not_exists(pk)'}})
        return puts

    def _balance_update(self, entry: LedgerEntry) -> dict[str, Any]:
        return {'Update': {
            'TableName': self.balances_table, 'Key': {'pk': _s(employee_pk(entry.employee_id))},
            'UpdateExpression': 'ADD available :d, entry_count :c SET updated_at = :u',
            'ExpressionAttributeValues': {':d': _n(entry.amount), ':c': _n(1), ':u': _s(entry.recorded_at.isoformat())},
        }}  # fmt: skip

    # --- writes ------------------------------------------------------------------------------------------------------
    def write_award(self, award: SpotAward, entry: LedgerEntry, people: FeedPeople, alerts: Sequence[PendingAlert], now: datetime) -> str:
        """An award at once: 'written' or 'duplicate' (this award id exists); OverBudget (nothing written) when the
        budget cannot take it."""
        first = [self._budget_charge(award, now), self._award_put(award), *self._person_puts(award)]
        return self._with_entry(first, entry, [*self.feed_puts(award, people), *self._alerts(alerts, now)], budget_at=0, award_at=1)

    def write_request(self, award: SpotAward, alerts: Sequence[PendingAlert], now: datetime) -> str:
        """A request: the budget reserved, the request and its pending item, the approver's notice."""
        items = [self._budget_charge(award, now), self._award_put(award), self._pending_put(award), *self._person_puts(award),
                 *self._alerts(alerts, now)]  # fmt: skip
        try:
            self.client.transact_write_items(TransactItems=items)
            return 'written'
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get('CancellationReasons', [])
            self._refused(reasons, budget_at=0, award_at=1)
            raise

    def write_approval(self, decided: SpotAward, entry: LedgerEntry, people: FeedPeople, alerts: Sequence[PendingAlert],
                       now: datetime) -> str:  # fmt: skip
        """An approval: 'written', or 'refused' when the request is no longer requested (decided or expired meanwhile)."""
        first = [self._award_decide(decided), self._pending_delete(decided)]
        rest = [*self.feed_puts(decided, people), *self._alerts(alerts, now)]
        return self._with_entry(first, entry, rest, budget_at=None, award_at=0)

    def write_close(self, decided: SpotAward, alerts: Sequence[PendingAlert], now: datetime) -> bool:
        """A rejection or an expiry: the reservation released; False when the request was decided meanwhile."""
        items = [self._award_decide(decided), self._pending_delete(decided), self._budget_release(decided, now), *self._alerts(alerts, now)]
        try:
            self.client.transact_write_items(TransactItems=items)
            return True
        except self.client.exceptions.TransactionCanceledException as exc:
            codes = [reason.get('Code') for reason in exc.response.get('CancellationReasons', [])]
            if codes[:1] == ['ConditionalCheckFailed']:
                return False
            raise

    def _alerts(self, alerts: Sequence[PendingAlert], now: datetime) -> list[dict[str, Any]]:
        return [self.alerts.new_alert_action(alert, now) for alert in alerts]

    def _with_entry(self, first: list[dict[str, Any]], entry: LedgerEntry, rest: list[dict[str, Any]], *, budget_at: int | None,
                    award_at: int) -> str:  # fmt: skip
        """`first`, the chained entry put and its guarded balance update, then `rest`, in one transaction; the chain
        head read again when another writer moved it."""
        for _ in range(CHAIN_ATTEMPTS):
            heads = read_heads(self.client, self.balances_table, [entry.employee_id])
            [put], new_heads = chained_puts(self.ledger_table, [entry], heads)
            update = guard(self._balance_update(entry), heads[entry.employee_id], new_heads[entry.employee_id])
            try:
                self.client.transact_write_items(TransactItems=[*first, put, update, *rest])
                return 'written'
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get('CancellationReasons', [])
                codes = [reason.get('Code') for reason in reasons]
                outcome = self._refused(reasons, budget_at=budget_at, award_at=award_at)
                if outcome:
                    return outcome
                at = len(first)
                if codes[at : at + 1] == ['ConditionalCheckFailed']:
                    return 'duplicate'  # the entry exists: written before under this award id
                balance = reasons[at + 1] if len(reasons) > at + 1 else {}
                if chain_moved(balance, heads[entry.employee_id]):
                    continue
                if 'TransactionConflict' in codes:
                    continue
                raise
        raise ConcurrentUpdate('other writers kept extending the ledger chain')

    @staticmethod
    def _refused(reasons: Sequence[dict[str, Any]], *, budget_at: int | None, award_at: int) -> str | None:
        """The award item's condition first (a duplicate, or a decided request), then the budget's (OverBudget)."""
        def failed(index: int | None) -> bool:
            return index is not None and len(reasons) > index and reasons[index].get('Code') == 'ConditionalCheckFailed'

        if failed(award_at):
            return 'duplicate' if budget_at is not None else 'refused'
        if failed(budget_at):
            assert budget_at is not None
            raw = reasons[budget_at].get('Item') or {}
            raise OverBudget(int(raw.get('used', {}).get('N', 0)))
        return None

    # --- erasure -----------------------------------------------------------------------------------------------------
    def erase_person(self, employee_id: str, alias: str, *, dry_run: bool = False) -> int:
        """A leaver's spot awards: the messages blanked and the person's id replaced by `alias` in the award records and
        their feed items; the SPOTOF# index items deleted. Returns how many awards named them."""
        ids = self.awards_of(employee_id)
        if dry_run:
            return len(ids)
        for award_id in ids:
            award = self.get(award_id)
            if award is not None:
                self._erase_award(award, employee_id, alias)
            self.client.delete_item(TableName=self.table, Key={'pk': _s(person_pk(employee_id)), 'sk': _s(award_id)})
        return len(ids)

    def _erase_award(self, award: SpotAward, employee_id: str, alias: str) -> None:
        swap = {'manager_id': alias} if award.manager_id == employee_id else {}
        if award.employee_id == employee_id:
            swap['employee_id'] = alias
        erased = award.model_copy(update={'message': '', **swap})
        self.client.update_item(TableName=self.table, Key={'pk': _s(award_pk(award.award_id)), 'sk': _s('-')},
                                UpdateExpression='SET award = :a, manager_id = :m, employee_id = :e',
                                ExpressionAttributeValues={':a': _s(erased.model_dump_json()), ':m': _s(erased.manager_id),
                                                           ':e': _s(erased.employee_id)})  # fmt: skip
        if award.feed_sk is None:
            return
        for scope, scope_id in (('T', award.feed_team), ('L', award.feed_location)):
            if not scope_id:
                continue
            values = {':msg': _s(''), ':g': _s(erased.manager_id), ':r': _s(erased.employee_id)}
            conditionally(self.client.update_item, TableName=self.table,
                          Key={'pk': _s(feed_pk(award.program_id, scope, scope_id)), 'sk': _s(award.feed_sk)},
                          UpdateExpression='SET message = :msg, giver_id = :g, receiver_id = :r',
                          ConditionExpression='attribute_exists(pk)', ExpressionAttributeValues=values)  # fmt: skip
