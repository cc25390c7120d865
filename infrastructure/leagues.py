"""The closed leagues of a month, for `make run`'s summary: each program's league closed through the deployed path
(the coordinator, then the division worker fed by LeagueCloseQueue in the local stack), then per division its top 3,
trophies, challenges met and participation, and the levels people have reached.

A month the schedule already closed during the replay is only read (a close never runs twice); a month it did not
(the schedule fires at 00:05 on the 1st in the program's time zone, after the replay's last day for programs west
of UTC) is closed as an admin would from the console (`events/league_close.json`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

CLOSE_HANDLER = 'functions.league_close.app.lambda_handler'


def close_and_report(month: str, invoke: Callable[[str, dict[str, Any]], Any], timeout_s: float = 180) -> dict[str, Any]:
    """Close every league of `month` that is not closed yet, wait for its divisions, print the standings; returns
    the figures for the run's summary."""
    from shared.leagues.close_store import LeagueCloseStore
    from shared.programs.loader import load_programs

    book = load_programs()
    store = LeagueCloseStore()
    figures: dict[str, Any] = {}
    print(f'\nleagues of {month} (frozen standings: top 3 per division, trophies, participation)')
    for program_id in book.programs:
        latest = book.latest(program_id)
        if latest is None or latest.document.league is None:
            continue
        league = latest.document.league
        marker = store.marker(program_id, month)
        if marker is None or marker.finalized_at is None:
            answer = invoke(CLOSE_HANDLER, {'program_id': program_id, 'month': month})
            if not (isinstance(answer, dict) and answer.get('ok')):
                print(f'  {league.name}: not closed: {answer}')
                continue
        deadline = time.monotonic() + timeout_s
        while (marker := store.marker(program_id, month)) is None or marker.finalized_at is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if marker is None or marker.finalized_at is None:
            print(f'  {league.name}: the close did not finish within {timeout_s:.0f} s')
            continue
        results = store.results(marker)
        trophy_names = {trophy.trophy_id: trophy.name for trophy in league.trophies}
        print(f'  {league.name} ({program_id}@{marker.version}), closed {marker.closed_at[:16]} UTC')
        for result in results:
            print(f'    {result.name}: {result.scored} of {result.eligible} scored ({result.participation_pct:.0f}% participation)'
                  f'  digest {result.digest[:12]}')
            for row in result.top(3):
                won = ', '.join(trophy_names.get(t, t) for t in row.trophies)
                line = f'      {row.rank}. {row.employee_id:6} {row.points:>6} pts  prize +{row.prize}'
                print(line + (f'  trophies: {won}' if won else ''))
            others = [(trophy_names.get(t, t), row.employee_id) for row in result.rows if row.rank is None or row.rank > 3
                      for t in row.trophies]
            for name, who in others:
                print(f'      trophy {name}: {who}')
            met = sum(len(row.challenges) for row in result.rows)
            unqualified = sum(1 for row in result.rows if row.rank is None and row.points)
            print(f'      challenges met: {met}; scored but not qualified: {unqualified}')
        levels = levels_reached(program_id, league, sorted({row.employee_id for r in results for row in r.rows}))
        print('    levels reached: ' + (', '.join(f'{name} {count}' for name, count in levels.items()) or 'none'))
        figures[program_id] = {
            'divisions': len(results),
            'participation_pct': {r.name: r.participation_pct for r in results},
            'winners': {r.name: [row.employee_id for row in r.top(3)] for r in results},
            'levels': levels,
        }
    return figures


def levels_reached(program_id: str, league: Any, employee_ids: list[str]) -> dict[str, int]:
    """How many of these people stand on each rung of the program's ladder (their lifetime item; nobody: none)."""
    from shared.leagues.live_store import LiveStore

    store = LiveStore()
    counts: Counter[str] = Counter()
    for employee_id in employee_ids:
        life = store.lifetime(program_id, employee_id)
        if life is not None and league.levels:
            counts[league.levels[min(life.level, len(league.levels) - 1)].name] += 1
    return {level.name: counts[level.name] for level in league.levels if counts[level.name]}
