"""A closed league as people read it: one division's frozen standings (the snapshot the close writes once
and never changes). Pure data: the close (`shared.leagues.close`) builds it, its store freezes it, the
announcements (`shared.leagues.announce`), `make run` and the people-facing API read it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Row(BaseModel):
    """One person of a closed division."""

    model_config = ConfigDict(frozen=True)

    rank: int | None  # 1..n among the qualified, ties broken by the league's chain; None: not qualified
    employee_id: str
    points: int  # the month's league points (released entries counted for the month, late ones excluded)
    score: float  # what ranks: points, points per item or % of expected (the league's scoring)
    items: int = 0  # the workload KPI's count (0 when the league has none)
    entries: int = 0  # ledger entries behind `points`
    qualified: bool = True
    csat: float | None = None  # tie-break inputs, as the KPI report computes them
    breaches: int = 0
    reached_at: str = ''  # when the person's last counted entry was recorded (ISO, UTC)
    prize: int = 0  # prize points for the rank
    trophies: tuple[str, ...] = ()  # trophy ids won
    challenges: tuple[str, ...] = ()  # challenge ids met
    late_points: int = 0  # points that arrived for the month after it closed elsewhere: always 0 at close


class DivisionResult(BaseModel):
    """A division's frozen standings and who won what."""

    model_config = ConfigDict(frozen=True)

    program_id: str
    program_version: int
    month: str  # YYYY-MM in the program's time zone
    division: str  # key: the values of the league's `divisions.by`, joined by '|'
    name: str  # e.g. 'Workshop technicians · West'
    eligible: int  # people of the division in the program's scope on the directory at the close
    scored: int  # of whom had league points in the month
    rows: tuple[Row, ...] = Field(default_factory=tuple)  # by rank, then the unqualified by score
    digest: str  # sha256 over the entries the standings were computed from (employee, entries, points, entry digest)
    closed_at: str  # ISO, UTC

    @property
    def participation_pct(self) -> float:
        """Share of eligible people who scored (seed 002 reports 52%)."""
        return round(100.0 * self.scored / self.eligible, 1) if self.eligible else 0.0

    def top(self, n: int = 3) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.rank is not None and row.rank <= n)
