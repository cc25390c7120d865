"""A person's live standings, as RANK over WhatsApp/SMS answers them: for every league whose program admits the person
(role and location in its scope), their place this month (the program's time zone) in their division, read from the
live standings (`LiveStore.rank`: at most 3 requests a league), or that they have no points there yet."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.leagues.live import League, local_month
from shared.leagues.live_store import LiveStore
from shared.leagues.scorer import leagues_in_force
from shared.notify.messages import RankLine


@dataclass
class LeagueStandings:
    store: LiveStore
    leagues: Callable[[], Mapping[str, League]] = leagues_in_force

    def rank_lines(self, employee_id: str, role: str | None, location_id: str | None, now: datetime) -> list[RankLine]:
        """One line per league the person is in (a league where they have points this month, or whose scope admits them)."""
        lines: list[RankLine] = []
        for program_id, league in sorted(self.leagues().items()):
            view = self.store.rank(program_id, employee_id, local_month(now, league.zone), league.config)
            scoring = league.scoring
            if view is None:
                if league.admits(role, location_id):
                    lines.append(RankLine(league=league.name, has_points=False))
                continue
            lines.append(RankLine(league=league.name, division=view.division_name, qualified=view.qualified, rank=view.rank, of=view.of,
                                  tied=view.tied, next_rank=view.next_rank, behind=view.behind_next, scoring=scoring.score,
                                  points=view.points, items=view.items, min_items=view.min_items,
                                  workload_kpi=scoring.workload_kpi))  # fmt: skip
        return lines
