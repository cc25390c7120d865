"""A program's league, as data: the `league` section of a program document (`shared.programs.document`).

The league scores the program's points for its month (in the program's time zone) in divisions made of
directory attributes, so that technicians do not compete with call-centre agents; it closes at 00:05 on
the 1st in the program's time zone; it pays prizes to the top N of each division, trophies (Arcade's MVP,
customer-wow champion, sharpshooter, speed racer) and challenge rewards; and it keeps levels (a ladder on
the program's lifetime points) and badges (milestones and streaks), each awarded once with its reason.

Validated with the field named, like the rest of the document: a division attribute the directory lacks,
a ladder that is not increasing, a challenge or trophy naming an unknown KPI, a badge naming a rule the
program does not have (checked by the document), are refused.

Months (`counts`): `earned` (default) scores an entry in the month of its basis (the event that made it
due, `occurred_at`) in the program's time zone, when it reaches the ledger before that month's league
closed; an entry recorded after the close (a hold released after the 1st, a late survey) scores in the
month it is recorded in, marked late, and never changes a closed league. `released` scores every entry in
the month it reached the ledger.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.programs.period_rules import RULE_ID, Roles, _report_kpis

# Directory profile attributes a division can be made of (`shared.directory.employees.EmployeeRow`).
DIRECTORY_ATTRIBUTES = ('role', 'region', 'location_id', 'job_grade', 'manager_id', 'language', 'time_zone')
TieBreak = Literal['csat', 'fewer_breaches', 'earliest']
TIE_BREAKS: tuple[TieBreak, ...] = ('csat', 'fewer_breaches', 'earliest')
LOWER_IS_BETTER_UNITS = ('min', 'h')


def league_kpis() -> dict[str, str]:
    """KPI name -> unit: what trophies and challenges can be judged on (exactly the KPI report's names)."""
    return _report_kpis()


def _check_kpi(value: str) -> str:
    known = league_kpis()
    if value not in known:
        raise ValueError(f'unknown KPI {value!r} (known: {", ".join(sorted(known))})')
    return value


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')


class Divisions(_Model):
    """People compete with those who share the values of `by` (e.g. role and region). `labels` names
    values for people to read ('technician' -> 'Workshop technicians'); a division's name is its labelled
    values joined by ' · '."""

    by: list[str] = Field(min_length=1, max_length=4)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator('by')
    @classmethod
    def _attributes(cls, value: list[str]) -> list[str]:
        for attribute in value:
            if attribute not in DIRECTORY_ATTRIBUTES:
                raise ValueError(f'the directory has no attribute {attribute!r} (known: {", ".join(DIRECTORY_ATTRIBUTES)})')
        if len(set(value)) != len(value):
            raise ValueError('an attribute is listed twice')
        return value


class Scoring(_Model):
    """What ranks people: `points` (the month's points), `points_per_item` (points over the items the
    person handled, counted by `workload_kpi`), or `percent_of_expected` (points over the expected points
    of the person's role, x100). `min_items` of `workload_kpi` qualify a person to be ranked; below it they
    are listed as not yet qualified."""

    score: Literal['points', 'points_per_item', 'percent_of_expected'] = 'points'
    workload_kpi: str | None = None
    expected_points: dict[str, int] = Field(default_factory=dict)
    min_items: int = Field(default=0, ge=0)

    @field_validator('workload_kpi')
    @classmethod
    def _kpi(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _check_kpi(value)
        if league_kpis()[value] != 'count':
            counts = sorted(name for name, unit in league_kpis().items() if unit == 'count')
            raise ValueError(f'{value!r} is not a count of items (counts: {", ".join(counts)})')
        return value

    @field_validator('expected_points')
    @classmethod
    def _expected(cls, value: dict[str, int]) -> dict[str, int]:
        for role, points in value.items():
            if points < 1:
                raise ValueError(f'the expected points of {role} must be >= 1 (got {points})')
        return value

    @model_validator(mode='after')
    def _needs(self) -> Scoring:
        if (self.score == 'points_per_item' or self.min_items) and self.workload_kpi is None:
            raise ValueError('workload_kpi is required for points_per_item and min_items')
        if self.score == 'percent_of_expected' and not self.expected_points:
            raise ValueError('expected_points (per role) is required for percent_of_expected')
        return self


class Trophy(_Model):
    """One per division: the best value of `kpi` among people with at least `min_count` items behind it
    (the KPI's denominator); ties go to the higher score, then the league's tie-break chain."""

    trophy_id: str = Field(pattern=RULE_ID)
    name: str = Field(min_length=1, max_length=80)
    kpi: str | None = Field(default=None, description='None: the division winner (MVP)')
    min_count: int = Field(default=1, ge=1)
    points: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator('kpi')
    @classmethod
    def _kpi(cls, value: str | None) -> str | None:
        return None if value is None else _check_kpi(value)

    @property
    def lower_is_better(self) -> bool:
        return self.kpi is not None and league_kpis()[self.kpi] in LOWER_IS_BETTER_UNITS


class Challenge(_Model):
    """A monthly goal: the person's month value of `kpi` reaches `target` (at most, for times), resting on
    at least `min_count` items; pays `points` once per person and month. `months` empty: every month."""

    challenge_id: str = Field(pattern=RULE_ID)
    name: str = Field(min_length=1, max_length=120)
    kpi: str
    target: float
    min_count: int = Field(default=1, ge=1)
    points: int = Field(ge=1, le=1_000_000)
    roles: Roles = Field(default_factory=list)
    months: list[str] = Field(default_factory=list)

    @field_validator('kpi')
    @classmethod
    def _kpi(cls, value: str) -> str:
        return _check_kpi(value)

    @field_validator('months')
    @classmethod
    def _months(cls, value: list[str]) -> list[str]:
        import re

        bad = [month for month in value if not re.fullmatch(r'\d{4}-(0[1-9]|1[0-2])', month)]
        if bad:
            raise ValueError(f'not a month (YYYY-MM): {", ".join(bad)}')
        return value

    @property
    def lower_is_better(self) -> bool:
        return league_kpis()[self.kpi] in LOWER_IS_BETTER_UNITS

    def met(self, value: float | None, count: int) -> bool:
        if value is None or count < self.min_count:
            return False
        return value <= self.target if self.lower_is_better else value >= self.target


class Level(_Model):
    name: str = Field(min_length=1, max_length=60)
    min_points: int = Field(ge=0)


class Badge(_Model):
    """`milestone`: the `count`-th released entry of `rule_id` whose `input` is at least `min` (e.g. the
    first 5-star CSAT: rule csat_positive, input csat, min 5; 100 first-contact resolutions: rule fcr,
    count 100; a certification: rule training_milestone, input certification, min 1).
    `streak`: `days` working days in a row (the person's own calendar) without an SLA breach."""

    badge_id: str = Field(pattern=RULE_ID)
    name: str = Field(min_length=1, max_length=80)
    kind: Literal['milestone', 'streak']
    rule_id: str | None = Field(default=None, pattern=RULE_ID)
    input: str | None = Field(default=None, min_length=1, max_length=64)
    min: float | None = None
    count: int = Field(default=1, ge=1, le=1_000_000)
    days: int | None = Field(default=None, ge=1, le=366)

    @model_validator(mode='after')
    def _shape(self) -> Badge:
        if self.kind == 'milestone' and self.rule_id is None:
            raise ValueError('a milestone badge needs rule_id')
        if self.kind == 'streak' and self.days is None:
            raise ValueError('a streak badge needs days')
        if (self.input is None) != (self.min is None):
            raise ValueError('input and min go together')
        return self


class LeagueConfig(_Model):
    name: str = Field(min_length=1, max_length=120)
    divisions: Divisions
    scoring: Scoring = Field(default_factory=Scoring)
    counts: Literal['earned', 'released'] = 'earned'
    tie_breaks: list[TieBreak] = Field(default_factory=lambda: list(TIE_BREAKS))
    prizes: list[int] = Field(default_factory=list, max_length=20, description='bonus points for ranks 1..N of each division')
    trophies: list[Trophy] = Field(default_factory=list, max_length=20)
    challenges: list[Challenge] = Field(default_factory=list, max_length=50)
    levels: list[Level] = Field(default_factory=list, max_length=30)
    demote: bool = Field(default=False, description='levels follow lifetime points down (default: a level is never lost)')
    badges: list[Badge] = Field(default_factory=list, max_length=50)

    @field_validator('tie_breaks')
    @classmethod
    def _tie_breaks(cls, value: list[TieBreak]) -> list[TieBreak]:
        if len(set(value)) != len(value):
            raise ValueError('a tie-break is listed twice')
        return value

    @field_validator('prizes')
    @classmethod
    def _prizes(cls, value: list[int]) -> list[int]:
        for rank, points in enumerate(value, start=1):
            if points < 1:
                raise ValueError(f'the prize of rank {rank} must be >= 1 (got {points})')
        return value

    @field_validator('levels')
    @classmethod
    def _ladder(cls, value: list[Level]) -> list[Level]:
        for index, (lower, upper) in enumerate(zip(value, value[1:], strict=False), start=1):
            if upper.min_points <= lower.min_points:
                raise ValueError(f'the ladder must increase: level {index} ({upper.name}) needs more than '
                                 f'{lower.min_points} points (got {upper.min_points})')
        if value and value[0].min_points != 0:
            raise ValueError(f'the first level must start at 0 points (got {value[0].min_points})')
        return value

    @model_validator(mode='after')
    def _unique_ids(self) -> LeagueConfig:
        for what, ids in (('trophies', [t.trophy_id for t in self.trophies]), ('challenges', [c.challenge_id for c in self.challenges]),
                          ('badges', [b.badge_id for b in self.badges])):
            seen = {i for i in ids if ids.count(i) > 1}
            if seen:
                raise ValueError(f'{what}: duplicate id {", ".join(sorted(seen))}')
        return self

    def division_of(self, profile: dict[str, str | None]) -> str:
        """The division key of a person: their values of `by`, '-' for a missing one, joined by '|'."""
        return '|'.join((profile.get(attribute) or '-') for attribute in self.divisions.by)

    def division_name(self, key: str) -> str:
        return ' · '.join(self.divisions.labels.get(value, value) for value in key.split('|'))

    def level_of(self, points: int) -> Level | None:
        reached = [level for level in self.levels if points >= level.min_points]
        return reached[-1] if reached else None
