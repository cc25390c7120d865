"""The live standings in the leagues table (LeaguesTable): what `shared.leagues.live` plans, written and read.

Items (pk / sk):
- `S#<program>#<employee>` / `<YYYY-MM>`: a person's month: employee_id, program_id, month, division, points, items,
  score_x100, entries, digest, seq, reached_at, late_points, late_points_in, qualified; while qualified also
  `board_pk` = `B#<program>#<month>#<division>` and `board_sk` = `<score_x100 + 10^13, 14 digits>#<employee>`, the
  sparse `board` index (a division's top N is ONE Query, best first).
- `H#<program>#<month>#<division>` / `TOP` (`n` qualified people, `b<bucket>` counts) and `/ B<bucket>`
  (`s<score_x100>` counts): the division's score histogram (`shared.leagues.live` for the buckets).
- `ACH#<program>#<employee>` / `LIFE`: lifetime points in the program (league payouts included), `level`,
  `best_level`, `c_<badge>` milestone counters, seq; `/ LEVEL#<n>` and `/ BADGE#<id>`: an achievement, written once
  (`attribute_not_exists`) with its reason.
- `CLOSE#<program>#<month>` / `MARKER`: written by the close when it starts (read here, never written).

Writes (the scorer): per stream batch ONE BatchGetItem round (100 keys a request, across the leagues, directory and
KPI tables: person items, lifetimes, profiles, KPI month items, close markers), then per person ONE
TransactWriteItems: their month items and lifetime (each conditioned on its previous `seq`, or on its absence), the
histogram ADDs, new achievements and their notices (an alert item, which the alert sender delivers), and a
ConditionCheck that the close marker is absent for entries whose earned month had already ended when recorded.

Reads: `rank` in at most 3 requests (the person's item; TOP + their bucket in one BatchGetItem; the next bucket above
only when the next better score is not in their own), `top` in one Query, whatever the number of people.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, batch_get
from shared.leagues.config import DIRECTORY_ATTRIBUTES, LeagueConfig
from shared.leagues.live import (
    TOP_SK,
    Achievement,
    Lifetime,
    MonthScore,
    PersonPlan,
    RankCount,
    board_pk,
    board_sk,
    bucket_of,
    bucket_sk,
    close_marker_key,
    competition_ranks,
    count_above,
    histogram_pk,
    life_pk,
    lowest_in,
    next_bucket_above,
    person_pk,
)

MAX_TRANSACTION_ITEMS = 100
MAX_CONFLICT_RETRIES = 8
LIFE_SK = 'LIFE'
PROFILE_SK = 'PROFILE'
BADGE_COUNTER = 'c_'


# --- errors a commit answers with ------------------------------------------------------------------------------------
class CloseStarted(Exception):
    """The close marker of these (program, month) appeared: plan the entries again, as late."""

    def __init__(self, months: set[tuple[str, str]]) -> None:
        super().__init__(f'league close started for {sorted(months)}')
        self.months = months


class StaleItems(Exception):
    """A month or lifetime item changed since it was read (another writer): read the person again and re-plan."""


class AchievementsExist(Exception):
    """These achievements are already written (sks): drop them and commit the rest."""

    def __init__(self, keys: set[tuple[str, str]]) -> None:
        super().__init__(f'achievements already written: {sorted(keys)}')
        self.keys = keys


# --- what a batch reads --------------------------------------------------------------------------------------------
@dataclass
class Wants:
    months: set[tuple[str, str, str]] = field(default_factory=set)  # (program, employee, month)
    lives: set[tuple[str, str]] = field(default_factory=set)  # (program, employee)
    profiles: set[str] = field(default_factory=set)
    kpi_months: set[tuple[str, str]] = field(default_factory=set)  # (employee, month)
    markers: set[tuple[str, str]] = field(default_factory=set)  # (program, month)


@dataclass
class Snapshot:
    months: dict[tuple[str, str, str], MonthScore] = field(default_factory=dict)
    lives: dict[tuple[str, str], Lifetime] = field(default_factory=dict)
    profiles: dict[str, dict[str, str | None]] = field(default_factory=dict)
    kpi_months: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    closed: set[tuple[str, str]] = field(default_factory=set)

    def absorb(self, plan: PersonPlan) -> None:
        """What a committed plan wrote becomes what is stored (a later plan of the same person builds on it)."""
        for (program_id, month), (_, after) in plan.months.items():
            self.months[(program_id, plan.employee_id, month)] = after
        for program_id, (_, life) in plan.lives.items():
            self.lives[(program_id, plan.employee_id)] = life

    def update(self, other: Snapshot) -> None:
        self.months.update(other.months)
        self.lives.update(other.lives)
        self.profiles.update(other.profiles)
        self.kpi_months.update(other.kpi_months)
        self.closed |= other.closed


# --- what a rank read answers ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RankView:
    """A person's live place in their division this month."""

    program_id: str
    month: str
    division: str
    division_name: str
    rank: int | None  # None: not qualified
    of: int  # qualified people in the division
    points: int
    score: float  # what ranks (points, points per item, % of expected)
    behind_next: float | None  # score gap to the next better place (None: first, or not qualified)
    next_rank: int | None
    qualified: bool
    items: int
    min_items: int
    tied: bool


@dataclass(frozen=True)
class BoardRow:
    rank: int
    employee_id: str
    points: int
    score: float
    items: int


def _n(item: Mapping[str, Any], name: str, default: int = 0) -> int:
    value = item.get(name)
    return int(value['N']) if value and 'N' in value else default


def _s(item: Mapping[str, Any], name: str, default: str = '') -> str:
    value = item.get(name)
    return str(value['S']) if value and 'S' in value else default


def _numbers(item: Mapping[str, Any]) -> dict[str, int]:
    return {name: int(value['N']) for name, value in item.items() if 'N' in value}


def month_from_item(item: Mapping[str, Any]) -> MonthScore:
    return MonthScore(
        program_id=_s(item, 'program_id'),
        employee_id=_s(item, 'employee_id'),
        month=_s(item, 'month') or _s(item, 'sk'),
        division=_s(item, 'division'),
        points=_n(item, 'points'),
        items=_n(item, 'items'),
        score_x100=_n(item, 'score_x100'),
        entries=_n(item, 'entries'),
        digest=_s(item, 'digest', '0' * 16),
        seq=_s(item, 'seq'),
        reached_at=_s(item, 'reached_at'),
        late_points=_n(item, 'late_points'),
        late_points_in=_n(item, 'late_points_in'),
        qualified=bool(item.get('qualified', {}).get('BOOL', False)),
        exists=True,
    )


def life_from_item(item: Mapping[str, Any]) -> Lifetime:
    return Lifetime(
        program_id=_s(item, 'program_id'),
        employee_id=_s(item, 'employee_id'),
        points=_n(item, 'points'),
        level=_n(item, 'level'),
        best_level=_n(item, 'best_level'),
        badge_counts={name[len(BADGE_COUNTER) :]: int(value['N']) for name, value in item.items()
                      if name.startswith(BADGE_COUNTER) and 'N' in value},  # fmt: skip
        seq=_s(item, 'seq'),
        exists=True,
    )


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0) * random.random())  # noqa: S311 - jitter


class LiveStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, *, directory_table: str | None = None, kpi_table: str | None = None,
                 client: Any = None) -> None:  # fmt: skip
        settings = get_settings()
        self.table = table_name or settings.LEAGUES_TABLE
        self.directory_table = directory_table or settings.DIRECTORY_TABLE
        self.kpi_table = kpi_table or settings.KPI_TABLE
        self._client = client

    # --- the scorer's reads ------------------------------------------------------------------------------------------
    def read(self, wants: Wants) -> Snapshot:
        """Everything a batch of people needs, in one BatchGetItem round (100 keys a request, unprocessed keys asked again)."""
        from shared.programs.period import employee_kpi_key

        keys: list[tuple[str, dict[str, Any]]] = []
        for program_id, employee_id, month in sorted(wants.months):
            keys.append((self.table, _key(person_pk(program_id, employee_id), month)))
        for program_id, employee_id in sorted(wants.lives):
            keys.append((self.table, _key(life_pk(program_id, employee_id), LIFE_SK)))
        for program_id, month in sorted(wants.markers):
            keys.append((self.table, _key(*close_marker_key(program_id, month))))
        for employee_id in sorted(wants.profiles):
            keys.append((self.directory_table, _key(f'EMP#{employee_id}', PROFILE_SK)))
        kpi_keys = {employee_kpi_key(employee_id, month): (employee_id, month) for employee_id, month in sorted(wants.kpi_months)}
        for pk, sk in kpi_keys:
            keys.append((self.kpi_table, _key(pk, sk)))
        snapshot = Snapshot()
        for table, item in self._batch_get(keys):
            pk, sk = _s(item, 'pk'), _s(item, 'sk')
            if table == self.directory_table:
                snapshot.profiles[_s(item, 'employee_id') or pk.removeprefix('EMP#')] = {
                    name: _s(item, name) or None for name in DIRECTORY_ATTRIBUTES
                }
            elif table == self.kpi_table:
                if (pk, sk) in kpi_keys:
                    snapshot.kpi_months[kpi_keys[(pk, sk)]] = _numbers(item)
            elif pk.startswith('S#'):
                score = month_from_item(item)
                snapshot.months[(score.program_id, score.employee_id, score.month)] = score
            elif pk.startswith('ACH#'):
                life = life_from_item(item)
                snapshot.lives[(life.program_id, life.employee_id)] = life
            elif pk.startswith('CLOSE#'):
                program_id, _, month = pk.removeprefix('CLOSE#').rpartition('#')
                snapshot.closed.add((program_id, month))
        return snapshot

    def _batch_get(self, keys: Sequence[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
        names = {f'#a{i}': name for i, name in enumerate(('pk', 'employee_id', *DIRECTORY_ATTRIBUTES))}
        options: dict[str, dict[str, Any]] = {
            self.table: {'ConsistentRead': True},  # the seq conditions would refuse a stale read anyway
            self.directory_table: {'ProjectionExpression': ', '.join(names), 'ExpressionAttributeNames': names},
        }
        return batch_get(self.client, keys, options, attempts=MAX_CONFLICT_RETRIES)

    # --- the scorer's writes ------------------------------------------------------------------------------------------
    def actions(self, plan: PersonPlan, now: datetime, notices: Mapping[tuple[str, str], dict[str, Any]] | None = None,
                skip: Iterable[tuple[str, str]] = ()) -> list[tuple[dict[str, Any], tuple[str, Any]]]:  # fmt: skip
        """The person's transaction, each action with a tag saying what it is. `notices`: an alert `Put` per achievement
        (pk, sk); `skip`: achievements (pk, sk) already written (neither they nor their notices are written again)."""
        skipped = set(skip)
        notices = notices or {}
        stamp = now.isoformat()
        out: list[tuple[dict[str, Any], tuple[str, Any]]] = []
        for (program_id, month), (before, after) in sorted(plan.months.items()):
            out.append((self._month_update(program_id, month, before, after, stamp), ('item', (program_id, month))))
        for program_id, (before_life, after_life) in sorted(plan.lives.items()):
            out.append((self._life_update(program_id, plan.employee_id, before_life, after_life, stamp), ('item', program_id)))
        for achievement in plan.achievements:
            key = (life_pk(achievement.program_id, achievement.employee_id), achievement.sk)
            if key in skipped:
                continue
            out.append((self._achievement_put(achievement), ('achievement', key)))
            if key in notices:
                out.append((notices[key], ('achievement', key)))
        for (pk, sk), deltas in sorted(plan.histograms.items()):
            names = {f'#h{i}': name for i, name in enumerate(sorted(deltas))}
            values = {f':h{i}': {'N': str(deltas[name])} for i, name in enumerate(sorted(deltas))}
            adds = ', '.join(f'#h{i} :h{i}' for i in range(len(names)))
            update = {'TableName': self.table, 'Key': _key(pk, sk), 'UpdateExpression': f'ADD {adds}',
                      'ExpressionAttributeNames': names, 'ExpressionAttributeValues': values}  # fmt: skip
            out.append(({'Update': update}, ('histogram', (pk, sk))))
        for program_id, month in sorted(plan.close_checks):
            check = {'TableName': self.table, 'Key': _key(*close_marker_key(program_id, month)),
                     'ConditionExpression': 'attribute_not_exists(pk)'}  # fmt: skip
            out.append(({'ConditionCheck': check}, ('marker', (program_id, month))))
        return out

    def commit(self, plan: PersonPlan, now: datetime, notices: Mapping[tuple[str, str], dict[str, Any]] | None = None,
               skip: Iterable[tuple[str, str]] = ()) -> int:  # fmt: skip
        """Write one person's plan atomically; returns the number of actions written. Raises CloseStarted, StaleItems or
        AchievementsExist (the caller re-plans); transaction conflicts (another person's write to the same histogram
        item) are retried here with backoff."""
        tagged = self.actions(plan, now, notices, skip)
        if not tagged:
            return 0
        if len(tagged) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f'{len(tagged)} actions for {plan.employee_id}: split the records (limit {MAX_TRANSACTION_ITEMS})')
        actions = [action for action, _ in tagged]
        for attempt in range(MAX_CONFLICT_RETRIES):
            try:
                self.client.transact_write_items(TransactItems=actions)
                return len(actions)
            except self.client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get('Code') for reason in exc.response.get('CancellationReasons') or []]
                refused = [tagged[i][1] for i, code in enumerate(codes[: len(tagged)]) if code == 'ConditionalCheckFailed']
                if refused:
                    raise _refusal(refused) from exc
                if 'TransactionConflict' not in codes:
                    raise
                _backoff(attempt)
        raise RuntimeError(f'the league items of {plan.employee_id} kept conflicting with concurrent writers')

    def _month_update(self, program_id: str, month: str, before: MonthScore, after: MonthScore, now: str) -> dict[str, Any]:
        sets = {
            'employee_id': {'S': after.employee_id}, 'program_id': {'S': program_id}, 'month': {'S': month},
            'division': {'S': after.division}, 'points': {'N': str(after.points)}, 'items': {'N': str(after.items)},
            'score_x100': {'N': str(after.score_x100)}, 'entries': {'N': str(after.entries)}, 'digest': {'S': after.digest},
            'seq': {'S': after.seq}, 'reached_at': {'S': after.reached_at}, 'late_points': {'N': str(after.late_points)},
            'late_points_in': {'N': str(after.late_points_in)}, 'qualified': {'BOOL': after.qualified}, 'updated_at': {'S': now},
        }  # fmt: skip
        remove: list[str] = []
        if after.qualified and after.division:
            sets['board_pk'] = {'S': board_pk(program_id, month, after.division)}
            sets['board_sk'] = {'S': board_sk(after.score_x100, after.employee_id)}
        else:
            remove = ['#board_pk', '#board_sk']
        update = self._set_update(person_pk(program_id, after.employee_id), month, sets, remove)
        return {'Update': self._condition(update, before.exists, before.seq)}

    def _life_update(self, program_id: str, employee_id: str, before: Lifetime, after: Lifetime, now: str) -> dict[str, Any]:
        sets: dict[str, Any] = {'employee_id': {'S': employee_id}, 'program_id': {'S': program_id}, 'points': {'N': str(after.points)},
                                'level': {'N': str(after.level)}, 'best_level': {'N': str(after.best_level)}, 'seq': {'S': after.seq},
                                'updated_at': {'S': now}}  # fmt: skip
        for badge_id, count in sorted(after.badge_counts.items()):
            sets[f'{BADGE_COUNTER}{badge_id}'] = {'N': str(count)}
        update = self._set_update(life_pk(program_id, employee_id), LIFE_SK, sets, [])
        return {'Update': self._condition(update, before.exists, before.seq)}

    def _set_update(self, pk: str, sk: str, sets: Mapping[str, Any], remove: list[str]) -> dict[str, Any]:
        names = {f'#{name}': name for name in sets} | {placeholder: placeholder[1:] for placeholder in remove}
        values = {f':{name}': value for name, value in sets.items()}
        expression = 'SET ' + ', '.join(f'#{name} = :{name}' for name in sets)
        if remove:
            expression += ' REMOVE ' + ', '.join(remove)
        return {'TableName': self.table, 'Key': _key(pk, sk), 'UpdateExpression': expression, 'ExpressionAttributeNames': names,
                'ExpressionAttributeValues': values}  # fmt: skip

    @staticmethod
    def _condition(update: dict[str, Any], exists: bool, seq: str) -> dict[str, Any]:
        if exists:
            update['ConditionExpression'] = '#seq = :previous_seq'
            update['ExpressionAttributeNames']['#seq'] = 'seq'
            update['ExpressionAttributeValues'][':previous_seq'] = {'S': seq}
        else:
            update['ConditionExpression'] = 'attribute_not_exists(pk)'
        return update

    def _achievement_put(self, achievement: Achievement) -> dict[str, Any]:
        item = {
            'pk': {'S': life_pk(achievement.program_id, achievement.employee_id)}, 'sk': {'S': achievement.sk},
            'kind': {'S': achievement.kind}, 'key': {'S': achievement.key}, 'name': {'S': achievement.name},
            'employee_id': {'S': achievement.employee_id}, 'program_id': {'S': achievement.program_id},
            'entry_id': {'S': achievement.entry_id}, 'rule_id': {'S': achievement.rule_id},
            'inputs': {'S': json.dumps(dict(achievement.inputs), sort_keys=True, default=str)},
            'at': {'S': achievement.at.isoformat()}, 'lifetime_points': {'N': str(achievement.lifetime_points)},
        }  # fmt: skip
        return {'Put': {'TableName': self.table, 'Item': item, 'ConditionExpression': 'attribute_not_exists(pk)'}}

    # --- reads for people ----------------------------------------------------------------------------------------------
    def month_item(self, program_id: str, employee_id: str, month: str) -> MonthScore | None:
        response = self.client.get_item(TableName=self.table, Key=_key(person_pk(program_id, employee_id), month))
        return month_from_item(response['Item']) if 'Item' in response else None

    def achievements(self, program_id: str, employee_id: str) -> list[dict[str, str]]:
        """A person's levels and badges in a program (one Query of their ACH partition; the LIFE item excluded)."""
        response = self.client.query(TableName=self.table, KeyConditionExpression='pk = :pk',
                                     ExpressionAttributeValues={':pk': {'S': life_pk(program_id, employee_id)}})  # fmt: skip
        return [{name: value.get('S', value.get('N', '')) for name, value in item.items()} for item in response.get('Items', [])
                if item['sk']['S'] != LIFE_SK]  # fmt: skip

    def lifetime(self, program_id: str, employee_id: str) -> Lifetime | None:
        response = self.client.get_item(TableName=self.table, Key=_key(life_pk(program_id, employee_id), LIFE_SK))
        return life_from_item(response['Item']) if 'Item' in response else None

    def rank(self, program_id: str, employee_id: str, month: str, league: LeagueConfig) -> RankView | None:
        """The person's live place in their division: at most 3 requests (None: no item this month)."""
        item = self.month_item(program_id, employee_id, month)
        if item is None:
            return None
        pk = histogram_pk(program_id, month, item.division)
        bucket = bucket_of(item.score_x100)
        wanted = [_key(pk, TOP_SK)] + ([_key(pk, bucket_sk(bucket))] if item.qualified else [])
        found = {_s(got, 'sk'): _numbers(got) for _, got in self._batch_get([(self.table, key) for key in wanted])}
        top = found.get(TOP_SK, {})
        of = top.get('n', 0)
        divisor = 100.0
        if not item.qualified:
            return RankView(program_id, month, item.division, league.division_name(item.division), None, of, item.points,
                            item.score_x100 / divisor, None, None, False, item.items, league.scoring.min_items, False)  # fmt: skip
        above, tied, nearest, nearest_count = count_above(item.score_x100, top, found.get(bucket_sk(bucket), {}))
        if nearest is None:
            higher_bucket = next_bucket_above(item.score_x100, top)
            if higher_bucket is not None:
                response = self.client.get_item(TableName=self.table, Key=_key(pk, bucket_sk(higher_bucket)))
                lowest = lowest_in(_numbers(response.get('Item', {})))
                if lowest is not None:
                    nearest, nearest_count = lowest
        place = RankCount(above, of, tied, nearest, nearest_count)
        behind = (nearest - item.score_x100) / divisor if nearest is not None else None
        return RankView(program_id, month, item.division, league.division_name(item.division), place.rank, of, item.points,
                        item.score_x100 / divisor, behind, place.next_rank, True, item.items, league.scoring.min_items,
                        tied > 1)  # fmt: skip

    def top(self, program_id: str, month: str, division: str, n: int = 10) -> list[BoardRow]:
        """The division's best `n` (standard competition ranks among them): ONE Query on the `board` index."""
        response = self.client.query(TableName=self.table, IndexName='board', KeyConditionExpression='board_pk = :pk',
                                     ExpressionAttributeValues={':pk': {'S': board_pk(program_id, month, division)}},
                                     ScanIndexForward=False, Limit=n)  # fmt: skip
        items = response.get('Items', [])
        ranks = competition_ranks([_n(item, 'score_x100') for item in items])
        return [BoardRow(rank, _s(item, 'employee_id'), _n(item, 'points'), _n(item, 'score_x100') / 100.0, _n(item, 'items'))
                for rank, item in zip(ranks, items, strict=True)]  # fmt: skip


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {'pk': {'S': pk}, 'sk': {'S': sk}}


def _refusal(refused: list[tuple[str, Any]]) -> Exception:
    """What a refused transaction means, from its ConditionalCheckFailed actions' tags."""
    if any(kind == 'item' for kind, _ in refused):
        return StaleItems(f'changed since read: {[key for kind, key in refused if kind == "item"]}')
    markers = {key for kind, key in refused if kind == 'marker'}
    if markers:
        return CloseStarted(markers)
    return AchievementsExist({key for kind, key in refused if kind == 'achievement'})
