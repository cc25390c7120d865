"""Streak state and streak badges in the leagues table (LeaguesTable), for `shared.leagues.streak_run`.

Items (pk / sk), in the person's achievements partition (the league scorer keeps `LIFE`, `LEVEL#...` and milestone
`BADGE#<id>` items there; this module never touches those):
- `ACH#<program>#<employee>` / `STREAK`: the run (`since`, its first day), the day judged when it was last written
  (`judged`) and the badges awarded in this run (`awarded`). Written only when it changes, conditioned on holding
  no later judgement (`judged <= :judged`), so a rerun of an older day never rewinds it.
- `ACH#<program>#<employee>` / `BADGE#<badge_id>#<run's first day>`: a streak badge, written once
  (`attribute_not_exists`) with its reason, in ONE transaction with its notice (an alert item the alert sender
  delivers: quiet hours, channel, WhatsApp template, SMS fallback) and the new state. A badge found already written
  (a concurrent run) is dropped from the transaction with its notice and the rest written.

Reads: the states of many people with BatchGetItem (100 keys a request; unprocessed keys asked again).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, batch_get, conditionally
from shared.leagues.streaks import StreakState

MAX_ATTEMPTS = 8
STATE_SK = 'STREAK'


def achievements_pk(program_id: str, employee_id: str) -> str:
    return f'ACH#{program_id}#{employee_id}'


def badge_sk(badge_id: str, run_start: date) -> str:
    return f'BADGE#{badge_id}#{run_start.isoformat()}'


@dataclass(frozen=True)
class StreakBadgeAward:
    """A streak badge as it is stored: once per (program, person, badge, run)."""

    program_id: str
    program_version: int
    employee_id: str
    badge_id: str
    name: str
    days: int
    run_start: date
    reached_on: date
    reason: str


@dataclass(frozen=True)
class Saved:
    written: bool  # the state (and any new badges) were written
    badges_written: tuple[str, ...] = ()  # badge ids written by this call
    badges_found: tuple[str, ...] = ()  # badge ids another writer had already written
    superseded: bool = False  # a later judgement was already stored: nothing written


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0) * random.random())  # noqa: S311 - jitter


class StreakStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table = table_name or get_settings().LEAGUES_TABLE
        self._client = client

    # --- reads -----------------------------------------------------------------------------------------------------
    def states(self, program_id: str, employee_ids: Sequence[str]) -> dict[str, StreakState]:
        """The stored state of each person who has one."""
        found: dict[str, StreakState] = {}
        for item in self._batch_get([{'pk': {'S': achievements_pk(program_id, e)}, 'sk': {'S': STATE_SK}} for e in employee_ids]):
            employee_id = item['pk']['S'].split('#', 2)[2]
            found[employee_id] = StreakState(
                since=date.fromisoformat(item['since']['S']),
                judged=date.fromisoformat(item['judged']['S']),
                awarded=tuple(value['S'] for value in item.get('awarded', {}).get('L', [])),
            )
        return found

    def _batch_get(self, keys: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        options = {self.table: {'ProjectionExpression': 'pk, since, judged, awarded'}}
        return (item for _, item in batch_get(self.client, [(self.table, key) for key in keys], options, attempts=MAX_ATTEMPTS))

    # --- writes ----------------------------------------------------------------------------------------------------
    def save(self, program_id: str, employee_id: str, state: StreakState, now: datetime,
             awards: Sequence[tuple[StreakBadgeAward, dict[str, Any]]] = ()) -> Saved:  # fmt: skip
        """Write the new state, with each new badge and its notice (a TransactWriteItems action) in one transaction."""
        put = self._state_put(program_id, employee_id, state, now)
        if not awards:
            return Saved(written=True) if conditionally(self.client.put_item, **put) else Saved(written=False, superseded=True)
        pending: list[tuple[StreakBadgeAward, dict[str, Any] | None]] = list(awards)
        found: list[str] = []
        for attempt in range(MAX_ATTEMPTS):
            if not pending:
                written = conditionally(self.client.put_item, **put)
                return Saved(written=written, badges_found=tuple(found), superseded=not written)
            actions: list[dict[str, Any]] = []
            owners: list[tuple[int, str]] = []  # per action: (index in pending, 'badge' or 'notice')
            for index, (award, notice) in enumerate(pending):
                actions.append({'Put': self._badge_put(award, now)})
                owners.append((index, 'badge'))
                if notice is not None:
                    actions.append(notice)
                    owners.append((index, 'notice'))
            actions.append({'Put': put})
            try:
                self.client.transact_write_items(TransactItems=actions)
                return Saved(written=True, badges_written=tuple(award.badge_id for award, _ in pending), badges_found=tuple(found))
            except self.client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get('Code') for reason in exc.response.get('CancellationReasons') or []]
                if len(codes) == len(actions) and codes[-1] == 'ConditionalCheckFailed':
                    return Saved(written=False, badges_found=tuple(found), superseded=True)
                refused = [owners[i] for i, code in enumerate(codes[: len(owners)]) if code == 'ConditionalCheckFailed']
                if refused:
                    # A badge already written goes with its notice; a notice already planned is not planned again.
                    gone = {index for index, what in refused if what == 'badge'}
                    planned = {index for index, what in refused if what == 'notice'}
                    found += sorted(pending[index][0].badge_id for index in gone)
                    pending = [(award, None if index in planned else notice)
                               for index, (award, notice) in enumerate(pending) if index not in gone]  # fmt: skip
                    continue
                if 'TransactionConflict' not in codes:
                    raise
                _backoff(attempt)
        raise RuntimeError(f'the streak of {employee_id} in {program_id} kept conflicting with concurrent writers')

    def _state_put(self, program_id: str, employee_id: str, state: StreakState, now: datetime) -> dict[str, Any]:
        return {
            'TableName': self.table,
            'Item': {
                'pk': {'S': achievements_pk(program_id, employee_id)},
                'sk': {'S': STATE_SK},
                'program_id': {'S': program_id},
                'employee_id': {'S': employee_id},
                'since': {'S': state.since.isoformat()},
                'judged': {'S': state.judged.isoformat()},
                'awarded': {'L': [{'S': badge_id} for badge_id in state.awarded]},
                'updated_at': {'S': now.isoformat()},
            },
            'ConditionExpression': 'attribute_not_exists(pk) OR judged <= :judged',
            'ExpressionAttributeValues': {':judged': {'S': state.judged.isoformat()}},
        }

    def _badge_put(self, award: StreakBadgeAward, now: datetime) -> dict[str, Any]:
        return {
            'TableName': self.table,
            'Item': {
                'pk': {'S': achievements_pk(award.program_id, award.employee_id)},
                'sk': {'S': badge_sk(award.badge_id, award.run_start)},
                'kind': {'S': 'streak'},
                'program_id': {'S': award.program_id},
                'program_version': {'N': str(award.program_version)},
                'employee_id': {'S': award.employee_id},
                'badge_id': {'S': award.badge_id},
                'name': {'S': award.name},
                'days': {'N': str(award.days)},
                'run_start': {'S': award.run_start.isoformat()},
                'reached_on': {'S': award.reached_on.isoformat()},
                'reason': {'S': award.reason},
                'awarded_at': {'S': now.isoformat()},
            },
            'ConditionExpression': 'attribute_not_exists(pk)',
        }

    def badges(self, program_id: str, employee_id: str) -> list[dict[str, str]]:
        """A person's streak badges (one Query of their achievements partition), oldest run first."""
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression='pk = :pk AND begins_with(sk, :badge)',
            ExpressionAttributeValues={':pk': {'S': achievements_pk(program_id, employee_id)}, ':badge': {'S': 'BADGE#'}},
        )
        items = [{name: str(next(iter(value.values()))) for name, value in item.items()} for item in response.get('Items', [])]
        streaks = [item for item in items if item.get('kind') == 'streak']
        return sorted(streaks, key=lambda item: (item['run_start'], item['badge_id']))
