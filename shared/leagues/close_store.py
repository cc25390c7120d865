"""What a league close reads and writes in DynamoDB: O(people) requests, never a Scan.

Items (LeaguesTable, pk `CLOSE#<program>#<month>`):
- `MARKER`: created FIRST when a close starts (PutItem `attribute_not_exists`); from then on the scorer never
  changes that month. Holds `closed_at` (the moment scoring stopped: what the statement calls the league's
  close), `program_version`, then `divisions` (keys, set once), `people` (eligible), `done` (string set of the
  divisions paid), `stats` (per division: what the announcement and the dashboard need) and, once, `finalized_at`.
- `ROSTER#<division>#<nnnn>`: the division's eligible people as listed on the directory when the close started
  (JSON [employee, role, location] triples, at most ~300 KB an item), so that a resumed close ranks the same people.
- `DIV#<division>`: the frozen snapshot (`shared.leagues.close.DivisionClose`: standings, digest and awards) as
  zlib-compressed JSON, PutItem `attribute_not_exists`: written once, never rewritten; a rerun reads it back and
  never recomputes it. When it exceeds one item (~300 KB compressed, some 10,000 people) the rest goes to pages
  `DIV#<division>#<body hash>#<nnnn>`, written first (content-addressed: the same key always holds the same
  bytes), and the head names them; a crash before the head leaves unread pages and the next run freezes anew.

Reads: each division's roster (one Query; the directory itself is listed once, by `shared.leagues.roster.Roster`);
the people's score items (`S#<program>#<employee>`, sk month; LeaguesTable) and KPI month items (`employee#<id>`,
KpiTable) by BatchGetItem, 100 keys a request across both tables (`PeriodStore._batch_get`).
Writes: the payments go through `PeriodStore.pay` (per person: entries `attribute_not_exists` + balance in one
transaction; an entry already written is skipped), then one UpdateItem per division (`done`, `stats`) and one
conditional UpdateItem to finalize.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import conditionally
from shared.leagues.close import DivisionClose, Figures, Member
from shared.leagues.live_store import month_from_item
from shared.leagues.results import DivisionResult
from shared.programs.period import employee_kpi_key
from shared.programs.period_store import PeriodStore

MARKER_SK = 'MARKER'
CHUNK_BYTES = 300 * 1024  # per item, under DynamoDB's 400 KB
ROSTER_PREFIX = 'ROSTER#'
SNAPSHOT_PREFIX = 'DIV#'


def close_pk(program_id: str, month: str) -> str:
    return f'CLOSE#{program_id}#{month}'


def score_pk(program_id: str, employee_id: str) -> str:
    return f'S#{program_id}#{employee_id}'


@dataclass(frozen=True)
class Marker:
    program_id: str
    month: str
    version: int
    closed_at: str
    divisions: tuple[str, ...] | None = None
    people: int = 0
    done: frozenset[str] = frozenset()
    stats: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    finalized_at: str | None = None

    @property
    def all_done(self) -> bool:
        return self.divisions is not None and set(self.divisions) <= self.done

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Marker:
        divisions = item.get('divisions')
        return cls(
            program_id=item['program_id']['S'],
            month=item['month']['S'],
            version=int(item['program_version']['N']),
            closed_at=item['closed_at']['S'],
            divisions=None if divisions is None else tuple(json.loads(divisions['S'])),
            people=int(item.get('people', {}).get('N', 0)),
            done=frozenset(item.get('done', {}).get('SS', [])),
            stats={key: json.loads(value['S']) for key, value in item.get('stats', {}).get('M', {}).items()},
            finalized_at=item.get('finalized_at', {}).get('S'),
        )


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)] or [b'']


class LeagueCloseStore(PeriodStore):
    """The close's reads and writes; `pay` (one person's entries and balance, once) comes from PeriodStore."""

    def __init__(self, client: Any = None, *, leagues_table: str | None = None, **tables: str | None) -> None:
        super().__init__(client, **tables)
        self.leagues_table = leagues_table or get_settings().LEAGUES_TABLE

    # --- the marker ----------------------------------------------------------------------------------------
    def _key(self, program_id: str, month: str, sk: str) -> dict[str, Any]:
        return {'pk': {'S': close_pk(program_id, month)}, 'sk': {'S': sk}}

    def marker(self, program_id: str, month: str) -> Marker | None:
        key = self._key(program_id, month, MARKER_SK)
        item = self.client.get_item(TableName=self.leagues_table, Key=key, ConsistentRead=True).get('Item')
        return None if item is None else Marker.from_item(item)

    def open(self, program_id: str, month: str, version: int, now: datetime) -> tuple[Marker, bool]:
        """The close's marker, created now unless it exists (then it is only read). Returns (marker, created)."""
        existing = self.marker(program_id, month)
        if existing is not None:
            return existing, False
        item = self._key(program_id, month, MARKER_SK) | {
            'program_id': {'S': program_id},
            'month': {'S': month},
            'program_version': {'N': str(version)},
            'closed_at': {'S': now.isoformat()},
            'state': {'S': 'closing'},
            'stats': {'M': {}},
        }
        if conditionally(self.client.put_item, TableName=self.leagues_table, Item=item, ConditionExpression='attribute_not_exists(pk)'):
            return Marker.from_item(item), True
        raced = self.marker(program_id, month)  # another run created it between our read and our write
        assert raced is not None
        return raced, False

    def set_divisions(self, program_id: str, month: str, divisions: Sequence[str], people: int) -> Marker:
        """Record the division list once (a second run keeps the first run's)."""
        conditionally(
            self.client.update_item, TableName=self.leagues_table, Key=self._key(program_id, month, MARKER_SK),
            UpdateExpression='SET divisions = :divisions, people = :people',
            ConditionExpression='attribute_not_exists(divisions)',
            ExpressionAttributeValues={':divisions': {'S': json.dumps(list(divisions))}, ':people': {'N': str(people)}},
        )
        marker = self.marker(program_id, month)
        assert marker is not None
        return marker

    def division_done(self, program_id: str, month: str, division: str, stats: Mapping[str, Any]) -> Marker:
        """Add the division to `done` with its stats (idempotent: a set and a map key); the marker after it."""
        response = self.client.update_item(
            TableName=self.leagues_table, Key=self._key(program_id, month, MARKER_SK),
            UpdateExpression='ADD done :division SET stats.#division = :stats',
            ExpressionAttributeNames={'#division': division},
            ExpressionAttributeValues={':division': {'SS': [division]}, ':stats': {'S': json.dumps(stats, sort_keys=True)}},
            ReturnValues='ALL_NEW',
        )
        return Marker.from_item(response['Attributes'])

    def finalize(self, program_id: str, month: str, now: datetime) -> bool:
        """Mark the close finished, once: True for the one call that did it."""
        return conditionally(
            self.client.update_item, TableName=self.leagues_table, Key=self._key(program_id, month, MARKER_SK),
            UpdateExpression='SET finalized_at = :now, #state = :closed',
            ConditionExpression='attribute_exists(pk) AND attribute_not_exists(finalized_at)',
            ExpressionAttributeNames={'#state': 'state'},
            ExpressionAttributeValues={':now': {'S': now.isoformat()}, ':closed': {'S': 'closed'}},
        )

    # --- division rosters -------------------------------------------------------------------------------------
    def write_roster(self, program_id: str, month: str, divisions: Mapping[str, Sequence[Member]]) -> int:
        """Each division's people, in items of at most CHUNK_BYTES; returns the items written."""
        written = 0
        for division, members in divisions.items():
            pages: list[list[list[str | None]]] = [[]]
            size = 0
            for member in members:
                triple = [member.employee_id, member.role, member.location_id]
                length = len(json.dumps(triple)) + 1
                if size + length > CHUNK_BYTES and pages[-1]:
                    pages.append([])
                    size = 0
                pages[-1].append(triple)
                size += length
            for number, page in enumerate(pages):
                item = self._key(program_id, month, f'{ROSTER_PREFIX}{division}#{number:04d}') | {
                    'members': {'S': json.dumps(page, separators=(',', ':'))}}
                self.client.put_item(TableName=self.leagues_table, Item=item)
                written += 1
        return written

    def roster(self, program_id: str, month: str, division: str) -> list[Member]:
        prefix = f'{ROSTER_PREFIX}{division}#'
        params: dict[str, Any] = {
            'TableName': self.leagues_table,
            'KeyConditionExpression': 'pk = :pk AND begins_with(sk, :prefix)',
            'ExpressionAttributeValues': {':pk': {'S': close_pk(program_id, month)}, ':prefix': {'S': prefix}},
            'ConsistentRead': True,
        }
        members: list[Member] = []
        while True:
            response = self.client.query(**params)
            for item in response.get('Items', []):
                if item['sk']['S'].rsplit('#', 1)[0] != prefix[:-1]:  # another division whose key starts like this one
                    continue
                members += [Member(employee_id, role, location) for employee_id, role, location in json.loads(item['members']['S'])]
            if 'LastEvaluatedKey' not in response:
                return sorted(members, key=lambda m: m.employee_id)
            params['ExclusiveStartKey'] = response['LastEvaluatedKey']

    def month_figures(self, program_id: str, month: str,
                      employee_ids: Sequence[str]) -> tuple[dict[str, Figures], dict[str, dict[str, int]]]:
        """The people's score items and KPI month counters (BatchGetItem across both tables)."""
        kpi_keys = {employee_kpi_key(employee_id, month)[0]: employee_id for employee_id in employee_ids}
        keys: list[tuple[str, dict[str, Any]]] = []
        for employee_id in employee_ids:
            keys.append((self.leagues_table, {'pk': {'S': score_pk(program_id, employee_id)}, 'sk': {'S': month}}))
            keys.append((self.kpi_table, {'pk': {'S': employee_kpi_key(employee_id, month)[0]}, 'sk': {'S': month}}))
        figures: dict[str, Figures] = {}
        counters: dict[str, dict[str, int]] = {}
        prefix = f'S#{program_id}#'
        for table, item in self._batch_get(keys):
            if table == self.leagues_table:
                figures[item['pk']['S'][len(prefix) :]] = _figures(item)
            elif item['pk']['S'] in kpi_keys:
                counters[kpi_keys[item['pk']['S']]] = {name: int(value['N']) for name, value in item.items()
                                                       if 'N' in value and name not in _KPI_META}
        return figures, counters

    # --- the snapshot ------------------------------------------------------------------------------------------
    def snapshot(self, program_id: str, month: str, division: str) -> DivisionClose | None:
        """The frozen snapshot of a division, or None before it is frozen."""
        head = self.client.get_item(TableName=self.leagues_table, Key=self._key(program_id, month, f'{SNAPSHOT_PREFIX}{division}'),
                                    ConsistentRead=True).get('Item')
        if head is None:
            return None
        body = bytes(head['body']['B'])
        for number in range(1, int(head['pages']['N'])):
            key = self._key(program_id, month, f'{SNAPSHOT_PREFIX}{division}#{head["body_hash"]["S"]}#{number:04d}')
            page = self.client.get_item(TableName=self.leagues_table, Key=key, ConsistentRead=True)['Item']
            body += bytes(page['body']['B'])
        return DivisionClose.model_validate_json(zlib.decompress(body))

    def results(self, marker: Marker) -> list[DivisionResult]:
        """Every frozen division of a close, in the marker's order (what `shared.leagues.announce.announce` takes)."""
        found = [self.snapshot(marker.program_id, marker.month, division) for division in marker.divisions or ()]
        return [close.result for close in found if close is not None]

    def freeze(self, close: DivisionClose) -> tuple[DivisionClose, bool]:
        """Write the snapshot unless one exists; returns (the snapshot in force, whether this call froze it)."""
        result = close.result
        data = zlib.compress(close.model_dump_json().encode(), 6)
        body_hash = hashlib.sha256(data).hexdigest()[:16]
        chunks = _chunks(data, CHUNK_BYTES)
        head_sk = f'{SNAPSHOT_PREFIX}{result.division}'
        for number, chunk in enumerate(chunks[1:], start=1):
            item = self._key(result.program_id, result.month, f'{head_sk}#{body_hash}#{number:04d}') | {'body': {'B': chunk}}
            self.client.put_item(TableName=self.leagues_table, Item=item)
        top = [[row.rank, row.employee_id, row.points, row.score] for row in result.top(3)]
        head = self._key(result.program_id, result.month, head_sk) | {
            'body': {'B': chunks[0]},
            'pages': {'N': str(len(chunks))},
            'body_hash': {'S': body_hash},
            # Readable in the console without decompressing:
            'name': {'S': result.name},
            'digest': {'S': result.digest},
            'eligible': {'N': str(result.eligible)},
            'scored': {'N': str(result.scored)},
            'rows': {'N': str(len(result.rows))},
            'top': {'S': json.dumps(top)},
            'closed_at': {'S': result.closed_at},
        }
        if conditionally(self.client.put_item, TableName=self.leagues_table, Item=head, ConditionExpression='attribute_not_exists(pk)'):
            return close, True
        frozen = self.snapshot(result.program_id, result.month, result.division)
        assert frozen is not None
        return frozen, False


_KPI_META = frozenset({'pk', 'sk', 'updated_at', 'late', 'changes', 'expires_at', 'last', 'at'})


def _figures(item: Mapping[str, Any]) -> Figures:
    """A score item as the scorer writes it (`shared.leagues.live_store.month_from_item`)."""
    month = month_from_item(item)
    return Figures(points=month.points, items=month.items, score_x100=month.score_x100, entries=month.entries, digest=month.digest,
                   reached_at=month.reached_at, qualified=month.qualified)
