"""When leagues closed: the close markers' `closed_at`, read for the statement (which places an entry that arrived
after its month's league closed in the month it arrived in; `shared.ledger.statement`). One BatchGetItem for up to
100 (program, month) pairs; a light module, so the statement function does not import the close's machinery.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient, batch_get

MARKER_SK = 'MARKER'  # shared.leagues.close_store writes it; shared.leagues.live checks it


def months_back(month: str, count: int) -> list[str]:
    """`month` and the `count` - 1 months before it, oldest first."""
    year, number = (int(part) for part in month.split('-'))
    found = []
    for _ in range(count):
        found.append(f'{year}-{number:02d}')
        year, number = (year, number - 1) if number > 1 else (year - 1, 12)
    return found[::-1]


class LeagueMarkers(LowLevelClient):
    def __init__(self, client: Any = None, table: str | None = None) -> None:
        self._client = client
        self.table = table or get_settings().LEAGUES_TABLE

    def closed_at(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
        """(program id, YYYY-MM) -> when that month's league close started, for the pairs whose close has started."""
        wanted: Sequence[tuple[str, str]] = sorted(set(pairs))[:100]
        if not wanted:
            return {}
        keys: list[dict[str, Any]] = [{'pk': {'S': f'CLOSE#{p}#{m}'}, 'sk': {'S': MARKER_SK}} for p, m in wanted]
        found: dict[tuple[str, str], datetime] = {}
        options = {self.table: {'ProjectionExpression': 'program_id, #m, closed_at', 'ExpressionAttributeNames': {'#m': 'month'}}}
        for _, item in batch_get(self.client, [(self.table, key) for key in keys], options):
            found[(item['program_id']['S'], item['month']['S'])] = datetime.fromisoformat(item['closed_at']['S'])
        return found


def league_closes(month: str, markers: LeagueMarkers | None = None) -> dict[tuple[str, str], datetime]:
    """When the leagues of `month` and the two months before it closed, for every program with a league (what
    `shared.ledger.statement.build_statement` takes as `league_closed_at`). One BatchGetItem; none without leagues."""
    from shared.programs.loader import load_programs

    book = load_programs()
    leagues = [pid for pid in book.programs if (latest := book.latest(pid)) is not None and latest.document.league is not None]
    return (markers or LeagueMarkers()).closed_at((pid, m) for pid in leagues for m in months_back(month, 3))
