"""Programs for the period-close tests and bench, built locally: the few fields a period close reads
(`shared.programs.period.ProgramLike`) and a program book with versions as the loader returns them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter

from shared.programs.period import AnyPeriodRule
from shared.programs.period_rules import PeriodRule

RULES: TypeAdapter[list[AnyPeriodRule]] = TypeAdapter(list[PeriodRule])


@dataclass(frozen=True)
class Scope:
    locations: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    job_grades: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pilot:
    locations: list[str]
    rollout_on: date


@dataclass(frozen=True)
class Program:
    program_id: str
    period_rules: list[AnyPeriodRule]
    time_zone: str = 'UTC'
    starts_on: date = date(2024, 1, 1)
    ends_on: date | None = None
    scope: Scope = field(default_factory=Scope)
    pilot: Pilot | None = None
    floor: int = 0
    effective_from: datetime = datetime.fromisoformat('2024-01-01T00:00:00+00:00')


@dataclass(frozen=True)
class Version:
    version: int
    document: Program


@dataclass(frozen=True)
class Book:
    programs: dict[str, list[Version]]


def program(program_id: str, rules: list[dict[str, Any]], **fields: Any) -> Program:
    return Program(program_id=program_id, period_rules=RULES.validate_python(rules), **fields)


def book(*versions: tuple[int, Program]) -> Book:
    programs: dict[str, list[Version]] = {}
    for number, document in versions:
        programs.setdefault(document.program_id, []).append(Version(number, document))
    return Book(programs)


ACCELERATOR = {
    'kind': 'accelerator',
    'rule_id': 'sla-accelerator',
    'version': 2,
    'kpi': 'sla_compliance',
    'bands': [{'min': 0, 'max': 90, 'factor': 1.0}, {'min': 90, 'max': 95, 'factor': 1.2}, {'min': 95, 'factor': 1.5}],
    'applies_to': ['resolution_within_sla'],
}
CSAT_BONUS = {'kind': 'csat_bonus', 'rule_id': 'csat-bonus', 'min_responses': 5, 'threshold': 90, 'points': 50}
NPS_BONUS = {'kind': 'nps_bonus', 'rule_id': 'nps-bonus', 'min_responses': 3, 'threshold': 50, 'points': 40}
TEAM_BONUS = {
    'kind': 'team_bonus',
    'rule_id': 'team-speed',
    'first_response_target_minutes': 30,
    'resolution_target_minutes': 480,
    'points': 25,
}
