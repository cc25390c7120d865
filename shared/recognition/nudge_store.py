"""Nudges in the recognition table (RecognitionTable): what `shared.recognition.nudges` plans, written and read.

Items (pk / sk):
- `NUDGE#<employee>` / `<program>#<achievement key>` (level#<n>, badge#<id>, streak#<id>#<day>, csat#<entry>): the
  nudge, written once (`attribute_not_exists`): that is what makes an achievement nudged once at most. `status`
  open | skipped | awarded | requested | expired, manager_id, suggested_points, evidence (JSON: kind, name, figures,
  the entry), alert_id, day (the manager's), planned_at, reply_by; answered: answered_at, points, award_id, outcome.
  No names or free text (the line with the person's first name is only in the alert item). Kept 400 days (TTL).
- `NUDGEDAY#<manager>` / `<program>#<yyyy-mm-dd>` (the manager's day): `planned` (N), the daily limit's counter,
  incremented in the nudge's transaction only while below the limit. Kept 8 days.
- `NUDGEOPEN#<manager>` / `-`: the manager's latest open nudge (what a YES answers): program_id, employee_id,
  nudge_key, nudge_id, suggested_points, reply_by; TTL a week after reply_by (an expired one is answered "expired").
- `NUDGERUN#<employee>` / `<program>#CSAT`: the person's run of top CSAT scores (count, start, nudged, seq).
Every partition is one person's (the subject's or the manager's), so forgetting a person is four Queries
(`personal_keys`), whatever the programs.

Writes: a nudge is ONE TransactWriteItems (the nudge item, the day counter's conditional ADD, the alert item, the
manager's open nudge). Refused on the nudge item: already nudged (nothing written). Refused on the counter: the limit
is reached: the nudge item alone is put with status `skipped` (so it is not planned again either).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, batch_get, conditionally
from shared.recognition.nudges import CsatRun, Milestone, OpenNudge, Outcome

OPEN_SK = '-'
RUN_SK = 'CSAT'
NUDGE_TTL = timedelta(days=400)
DAY_TTL = timedelta(days=8)
OPEN_GRACE = timedelta(days=7)
MAX_ATTEMPTS = 6


def nudge_key(program_id: str, employee_id: str, key: str) -> dict[str, Any]:
    return _key(f'NUDGE#{employee_id}', f'{program_id}#{key}')


def day_key(program_id: str, manager_id: str, day: str) -> dict[str, Any]:
    return _key(f'NUDGEDAY#{manager_id}', f'{program_id}#{day}')


def open_pk(manager_id: str) -> str:
    return f'NUDGEOPEN#{manager_id}'


def run_key(program_id: str, employee_id: str) -> dict[str, Any]:
    return _key(f'NUDGERUN#{employee_id}', f'{program_id}#{RUN_SK}')


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {'pk': {'S': pk}, 'sk': {'S': sk}}


def _ttl(moment: datetime) -> dict[str, str]:
    return {'N': str(int(moment.timestamp()))}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0) * random.random())  # noqa: S311 - jitter


@dataclass(frozen=True)
class NudgePlan:
    """One nudge to write: the achievement, who gets it, the day it counts on, and its alert's Put action."""

    milestone: Milestone
    manager_id: str
    suggested_points: int
    day: str  # the manager's local day
    limit: int  # per manager per day
    reply_by: datetime
    alert_id: str
    alert_action: dict[str, Any]


@dataclass(frozen=True)
class NudgeRecord:
    """A nudge item as stored."""

    program_id: str
    employee_id: str
    key: str
    status: str
    manager_id: str
    suggested_points: int
    points: int | None = None
    award_id: str | None = None
    outcome: str | None = None


class NudgeStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table = table_name or get_settings().RECOGNITION_TABLE
        self._client = client

    # --- planning ----------------------------------------------------------------------------------------------------
    def _nudge_item(self, plan: NudgePlan, status: str, now: datetime) -> dict[str, Any]:
        milestone = plan.milestone
        return {
            **nudge_key(milestone.program_id, milestone.employee_id, milestone.key),
            'nudge_id': {'S': milestone.nudge_id}, 'status': {'S': status}, 'program_id': {'S': milestone.program_id},
            'employee_id': {'S': milestone.employee_id}, 'manager_id': {'S': plan.manager_id}, 'kind': {'S': milestone.kind.value},
            'suggested_points': {'N': str(plan.suggested_points)}, 'day': {'S': plan.day}, 'alert_id': {'S': plan.alert_id},
            'evidence': {'S': json.dumps(milestone.evidence(), sort_keys=True, default=str)},
            'planned_at': {'S': _iso(now)}, 'reply_by': {'S': _iso(plan.reply_by)}, 'expires_at': _ttl(now + NUDGE_TTL),
        }  # fmt: skip

    def plan(self, plan: NudgePlan, now: datetime) -> Outcome:
        """Write the nudge with its alert and the manager's open nudge, counting it on the manager's day; `skipped` over
        the limit (recorded, not sent); `duplicate` when this achievement was nudged before."""
        milestone = plan.milestone
        nudge = {'Put': {'TableName': self.table, 'Item': self._nudge_item(plan, 'open', now),
                         'ConditionExpression': 'attribute_not_exists(pk)'}}  # fmt: skip
        counter = {'Update': {
            'TableName': self.table, 'Key': day_key(milestone.program_id, plan.manager_id, plan.day),
            'UpdateExpression': 'ADD planned :one SET expires_at = :ttl',
            'ConditionExpression': 'attribute_not_exists(planned) OR planned < :limit',
            'ExpressionAttributeValues': {':one': {'N': '1'}, ':limit': {'N': str(plan.limit)}, ':ttl': _ttl(now + DAY_TTL)},
        }}  # fmt: skip
        opened = {'Put': {'TableName': self.table, 'Item': {
            'pk': {'S': open_pk(plan.manager_id)}, 'sk': {'S': OPEN_SK}, 'program_id': {'S': milestone.program_id},
            'employee_id': {'S': milestone.employee_id}, 'nudge_key': {'S': milestone.key}, 'nudge_id': {'S': milestone.nudge_id},
            'suggested_points': {'N': str(plan.suggested_points)}, 'reply_by': {'S': _iso(plan.reply_by)},
            'planned_at': {'S': _iso(now)}, 'expires_at': _ttl(plan.reply_by + OPEN_GRACE),
        }}}  # fmt: skip
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=[nudge, counter, plan.alert_action, opened])
                return Outcome.PLANNED
            except self.client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get('Code') for reason in exc.response.get('CancellationReasons') or []]
                if codes and codes[0] == 'ConditionalCheckFailed':
                    return Outcome.DUPLICATE
                if len(codes) > 1 and codes[1] == 'ConditionalCheckFailed':
                    return self._skip(plan, now)
                if len(codes) > 2 and codes[2] == 'ConditionalCheckFailed':
                    return Outcome.DUPLICATE  # its alert exists (planned by a run whose nudge item is gone): never twice
                if 'TransactionConflict' not in codes:
                    raise
                _backoff(attempt)
        raise RuntimeError(f'the nudge {milestone.nudge_id} kept conflicting with concurrent writers')

    def _skip(self, plan: NudgePlan, now: datetime) -> Outcome:
        item = self._nudge_item(plan, 'skipped', now)
        item['reason'] = {'S': f'over {plan.limit} nudges on {plan.day}'}
        written = conditionally(self.client.put_item, TableName=self.table, Item=item, ConditionExpression='attribute_not_exists(pk)')
        return Outcome.SKIPPED if written else Outcome.DUPLICATE

    def planned_on(self, program_id: str, manager_id: str, day: str) -> int:
        item = self.client.get_item(TableName=self.table, Key=day_key(program_id, manager_id, day), ConsistentRead=True).get('Item')
        return int(item['planned']['N']) if item and 'planned' in item else 0

    def nudge(self, program_id: str, employee_id: str, key: str) -> NudgeRecord | None:
        item = self.client.get_item(TableName=self.table, Key=nudge_key(program_id, employee_id, key), ConsistentRead=True).get('Item')
        if not item:
            return None
        return NudgeRecord(
            program_id=item['program_id']['S'], employee_id=item['employee_id']['S'], key=key, status=item['status']['S'],
            manager_id=item['manager_id']['S'], suggested_points=int(item['suggested_points']['N']),
            points=int(item['points']['N']) if 'points' in item else None, award_id=item.get('award_id', {}).get('S'),
            outcome=item.get('outcome', {}).get('S'),
        )  # fmt: skip

    # --- replies -----------------------------------------------------------------------------------------------------
    def open_nudge(self, manager_id: str) -> OpenNudge | None:
        """The manager's latest open nudge (one GetItem), expired or not; None when there is none."""
        item = self.client.get_item(TableName=self.table, Key=_key(open_pk(manager_id), OPEN_SK), ConsistentRead=True).get('Item')
        if not item:
            return None
        return OpenNudge(manager_id=manager_id, program_id=item['program_id']['S'], employee_id=item['employee_id']['S'],
                         nudge_key=item['nudge_key']['S'], nudge_id=item['nudge_id']['S'],
                         suggested_points=int(item['suggested_points']['N']),
                         reply_by=datetime.fromisoformat(item['reply_by']['S'].replace('Z', '+00:00')))  # fmt: skip

    def close(self, nudge: OpenNudge, status: str, now: datetime, *, points: int | None = None, award_id: str | None = None,
              outcome: str | None = None) -> bool:  # fmt: skip
        """The nudge answered (awarded, requested) or expired: its item records how (only while open), and the manager's
        open nudge is removed if it is still this one (a newer nudge stays open). False: it was closed already."""
        sets = {'status': {'S': status}, 'answered_at': {'S': _iso(now)}}
        if points is not None:
            sets['points'] = {'N': str(points)}
        if award_id:
            sets['award_id'] = {'S': award_id}
        if outcome:
            sets['outcome'] = {'S': outcome}
        names = {f'#{name}': name for name in sets}
        values = {f':{name}': value for name, value in sets.items()} | {':open': {'S': 'open'}}
        key = nudge_key(nudge.program_id, nudge.employee_id, nudge.nudge_key)
        closed = conditionally(self.client.update_item, TableName=self.table, Key=key,
                               UpdateExpression='SET ' + ', '.join(f'#{name} = :{name}' for name in sets),
                               ConditionExpression='#status = :open', ExpressionAttributeNames=names,
                               ExpressionAttributeValues=values)  # fmt: skip
        conditionally(self.client.delete_item, TableName=self.table, Key=_key(open_pk(nudge.manager_id), OPEN_SK),
                      ConditionExpression='nudge_id = :id', ExpressionAttributeValues={':id': {'S': nudge.nudge_id}})  # fmt: skip
        return closed

    # --- CSAT runs ---------------------------------------------------------------------------------------------------
    def runs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], CsatRun]:
        """The stored runs of (program, employee) pairs: BatchGetItem, 100 a request."""
        found: dict[tuple[str, str], CsatRun] = {}
        wanted = [(self.table, run_key(program_id, employee_id)) for program_id, employee_id in sorted(set(keys))]
        for _, item in batch_get(self.client, wanted, {self.table: {'ConsistentRead': True}}):
            run = CsatRun(program_id=item['program_id']['S'], employee_id=item['employee_id']['S'], count=int(item['count']['N']),
                          start=item.get('start', {}).get('S', ''), nudged=bool(item.get('nudged', {}).get('BOOL', False)),
                          seq=item['seq']['S'], exists=True)  # fmt: skip
            found[(run.program_id, run.employee_id)] = run
        return found

    def save_run(self, before: CsatRun, after: CsatRun, now: datetime) -> bool:
        """Write the run, conditioned on the stored one being what it was read as (False: it moved meanwhile)."""
        item = {**run_key(after.program_id, after.employee_id), 'program_id': {'S': after.program_id},
                'employee_id': {'S': after.employee_id}, 'count': {'N': str(after.count)}, 'start': {'S': after.start},
                'nudged': {'BOOL': after.nudged}, 'seq': {'S': after.seq}, 'updated_at': {'S': _iso(now)}}  # fmt: skip
        condition: dict[str, Any] = (
            {'ConditionExpression': 'seq = :seq', 'ExpressionAttributeValues': {':seq': {'S': before.seq}}}
            if before.exists
            else {'ConditionExpression': 'attribute_not_exists(pk)'}
        )
        return conditionally(self.client.put_item, TableName=self.table, Item=item, **condition)

    # --- forgetting a person (shared.privacy.erase) ------------------------------------------------------------------
    def personal_keys(self, employee_id: str) -> list[dict[str, Any]]:
        """The keys of the person's nudges and CSAT runs (as the subject), and of their day counters and open nudge (as a
        manager): one Query of each of their four partitions, keys only."""
        keys: list[dict[str, Any]] = []
        for prefix in ('NUDGE', 'NUDGERUN', 'NUDGEDAY', 'NUDGEOPEN'):
            kwargs: dict[str, Any] = {'TableName': self.table, 'KeyConditionExpression': 'pk = :pk', 'ConsistentRead': True,
                                      'ExpressionAttributeValues': {':pk': {'S': f'{prefix}#{employee_id}'}},
                                      'ProjectionExpression': 'pk, sk'}  # fmt: skip
            while True:
                page = self.client.query(**kwargs)
                keys += [{'pk': item['pk'], 'sk': item['sk']} for item in page.get('Items', [])]
                if 'LastEvaluatedKey' not in page:
                    break
                kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']
        return keys

    def delete_keys(self, keys: Sequence[Mapping[str, Any]]) -> None:
        for key in keys:
            self.client.delete_item(TableName=self.table, Key=dict(key))
