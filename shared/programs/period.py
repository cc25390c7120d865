"""Closing a program's period: from the period's KPI aggregates and released points to bonus entries.

Pure (no storage). The closing unit is one program and one month of its time zone: every monthly
period rule is judged on that month, and in the last month of a quarter (March, June, September,
December) the quarterly team bonuses are judged on the quarter's three months as well.

What a close reads, and nothing else (`reads_for`): each person's KPI month item
(`employee#<id>`, 'YYYY-MM'), each person's earnings item of the month
(`EARN#<program>#<employee>#<YYYY-MM>`: `r_<rule_id>` = points released for that rule that month) and
each team's month items (`team#<manager id>`). People come from the directory: a team is the people who
report to one manager, as the KPI aggregates count them.

Every bonus is a ledger entry (kind award, status available) whose id is derived from the program, the
rule, the employee and the period: closing a period twice, or resuming an interrupted close, finds the
entry already written and pays nothing more. Its reason carries `program_id@version`, the rule's
version and the KPI figures and band that justify it.

KPI months are the months of the KPI aggregates: a ticket counts in the local month it was created at
its location. Points released after the close (a hold still running at the period's end) are not
accelerated: the entry's inputs state the points the bonus was computed on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from shared.kpi.report import KpiValue, compute_kpis
from shared.kpi.settings import KpiSettings
from shared.ledger.earnings import month_key, rule_attr
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.programs.awards import Scalar
from shared.programs.period_rules import (
    AcceleratorRule,
    CsatBonusRule,
    NpsBonusRule,
    TeamBonusRule,
    report_kpi_name,
)

AnyPeriodRule = AcceleratorRule | CsatBonusRule | NpsBonusRule | TeamBonusRule
KpiKey = tuple[str, str]  # (pk, sk) in the KPI table


# --- what a close needs from a program document (shared.programs.document.ProgramDocument) --------
class ScopeLike(Protocol):
    @property
    def locations(self) -> Sequence[str]: ...
    @property
    def regions(self) -> Sequence[str]: ...
    @property
    def roles(self) -> Sequence[str]: ...
    @property
    def job_grades(self) -> Sequence[str]: ...


class PilotLike(Protocol):
    @property
    def locations(self) -> Sequence[str]: ...
    @property
    def rollout_on(self) -> date: ...


class ProgramLike(Protocol):
    @property
    def program_id(self) -> str: ...
    @property
    def time_zone(self) -> str: ...
    @property
    def starts_on(self) -> date: ...
    @property
    def ends_on(self) -> date | None: ...
    @property
    def scope(self) -> ScopeLike: ...
    @property
    def pilot(self) -> PilotLike | None: ...
    @property
    def period_rules(self) -> Sequence[AnyPeriodRule]: ...


@dataclass(frozen=True)
class Person:
    """One employee as the directory lists them (profile attributes only)."""

    employee_id: str
    role: str | None = None
    job_grade: str | None = None
    location_id: str | None = None
    region: str | None = None
    team_id: str | None = None  # the manager's employee id, as the KPI aggregates group teams
    active: bool = True


@dataclass(frozen=True)
class PeriodData:
    """What was read for one close: counters by KPI item key, released points by employee."""

    kpi_items: Mapping[KpiKey, Mapping[str, int]] = field(default_factory=dict)
    # employee -> their EARN item of the month (`r_<rule>`: points released for the rule that month)
    earnings: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Reads:
    kpi_keys: tuple[KpiKey, ...]
    earning_keys: tuple[tuple[str, str], ...]  # (employee_id, EARN# pk)


# --- periods -------------------------------------------------------------------------------------
def month_bounds(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of a month (YYYY-MM) in a time zone, as aware datetimes of that zone."""
    zone = ZoneInfo(time_zone)
    first = date.fromisoformat(f'{month}-01')
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(first.year, first.month, 1, tzinfo=zone), datetime(following.year, following.month, 1, tzinfo=zone)


def previous_month(month: str) -> str:
    first = date.fromisoformat(f'{month}-01')
    return (first - timedelta(days=1)).strftime('%Y-%m')


def quarter_of(month: str) -> str:
    year, number = month.split('-')
    return f'{year}-Q{(int(number) - 1) // 3 + 1}'


def quarter_months(month: str) -> tuple[str, ...] | None:
    """The quarter's three months when `month` is its last month, else None."""
    year, number = (int(part) for part in month.split('-'))
    if number % 3:
        return None
    return tuple(f'{year}-{m:02d}' for m in range(number - 2, number + 1))


def ended_months(program: ProgramLike, now: datetime, grace: timedelta, lookback: int = 3) -> list[str]:
    """The last `lookback` months of the program's time zone that ended at least `grace` before `now`
    and overlap the program's dates, oldest first."""
    local = (now - grace).astimezone(ZoneInfo(program.time_zone))
    month = local.strftime('%Y-%m')
    months = []
    for _ in range(lookback):
        month = previous_month(month)
        first = date.fromisoformat(f'{month}-01')
        last = month_bounds(month, program.time_zone)[1].date() - timedelta(days=1)
        if last >= program.starts_on and (program.ends_on is None or first <= program.ends_on):
            months.append(month)
    return sorted(months)


def period_entry_id(program_id: str, rule_id: str, employee_id: str, period: str) -> str:
    digest = hashlib.sha256(f'period|{program_id}|{rule_id}|{employee_id}|{period}'.encode()).hexdigest()[:32]
    return f'P{digest}'


def safe_scope_id(identifier: str) -> str:
    """As `shared.kpi.definitions.scopes_for` writes directory ids into scope keys ('|' separates channels)."""
    return identifier.replace('|', '/')


def employee_kpi_key(employee_id: str, month: str) -> KpiKey:
    return (f'employee#{safe_scope_id(employee_id)}', month)


def team_kpi_key(team_id: str, month: str) -> KpiKey:
    return (f'team#{safe_scope_id(team_id)}', month)


def earnings_pk(program_id: str, employee_id: str, month: str) -> str:
    return month_key(program_id, employee_id, month)


# --- who takes part --------------------------------------------------------------------------------
def in_program(program: ProgramLike, person: Person, month: str) -> bool:
    """Active, inside the program's scope, and (before the pilot's rollout date) at a pilot location."""
    if not person.active:
        return False
    scope = program.scope
    if scope.locations and person.location_id not in scope.locations:
        return False
    if scope.regions and person.region not in scope.regions:
        return False
    if scope.roles and person.role not in scope.roles:
        return False
    if scope.job_grades and person.job_grade not in scope.job_grades:
        return False
    pilot = program.pilot
    last_day = month_bounds(month, program.time_zone)[1].date() - timedelta(days=1)
    return not (pilot is not None and last_day < pilot.rollout_on and person.location_id not in pilot.locations)


def _eligible(program: ProgramLike, rule: AnyPeriodRule, people: Iterable[Person], month: str) -> list[Person]:
    return [p for p in people if in_program(program, p, month) and rule.conditions.admits(p.role, p.job_grade, p.location_id)]


def _team_months(rule: TeamBonusRule, month: str) -> tuple[str, ...] | None:
    return (month,) if rule.period == 'monthly' else quarter_months(month)


def reads_for(program: ProgramLike, people: Sequence[Person], month: str) -> Reads:
    """The items a close of `month` reads: only for people some rule could pay."""
    kpi_keys: dict[KpiKey, None] = {}
    earning_keys: dict[tuple[str, str], None] = {}
    for rule in program.period_rules:
        eligible = _eligible(program, rule, people, month)
        if isinstance(rule, TeamBonusRule):
            months = _team_months(rule, month)
            for team_id in sorted({p.team_id for p in eligible if p.team_id}):
                for m in months or ():
                    kpi_keys[team_kpi_key(team_id, m)] = None
            continue
        for person in eligible:
            kpi_keys[employee_kpi_key(person.employee_id, month)] = None
            if isinstance(rule, AcceleratorRule):
                earning_keys[(person.employee_id, earnings_pk(program.program_id, person.employee_id, month))] = None
    return Reads(tuple(kpi_keys), tuple(earning_keys))


# --- bonuses -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bonus:
    rule: AnyPeriodRule
    employee_id: str
    period: str  # 'YYYY-MM', or 'YYYY-Qn' for a quarterly team bonus
    amount: int
    inputs: dict[str, Scalar]
    note: str


def _round(value: float) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _figure(value: KpiValue) -> dict[str, Scalar]:
    rounded = None if value.value is None else round(value.value, 2)
    return {'value': rounded, 'numerator': round(value.numerator, 2), 'count': value.denominator}


def _accelerator(
    rule: AcceleratorRule, person: Person, month: str, kpis: Mapping[str, KpiValue], earned_item: Mapping[str, int]
) -> Bonus | None:
    kpi = kpis[report_kpi_name(rule.kpi)]
    if kpi.value is None or kpi.denominator < rule.min_count:
        return None
    band = rule.band_for(kpi.value)
    if band is None:
        return None
    earned = sum(int(earned_item.get(f'r_{rule_attr(rule_id)}', 0)) for rule_id in rule.applies_to)
    amount = _round((band.factor - 1) * earned)
    if not amount:
        return None
    inputs: dict[str, Scalar] = {'kpi': rule.kpi} | _figure(kpi) | {
        'band_min': band.min,
        'band_max': band.max,
        'factor': band.factor,
        'earned_points': earned,
        'applies_to': ','.join(rule.applies_to),
    }
    upper = '' if band.max is None else f'{band.max:g}'
    note = f'{rule.kpi} {kpi.value:.2f} in band [{band.min:g}, {upper}): x{band.factor:g} on {earned} points'
    return Bonus(rule, person.employee_id, month, amount, inputs, note)


def _survey_bonus(rule: CsatBonusRule | NpsBonusRule, person: Person, month: str, kpis: Mapping[str, KpiValue]) -> Bonus | None:
    kpi = kpis[rule.metric]
    if kpi.value is None or kpi.denominator < rule.min_responses or kpi.value < rule.threshold:
        return None
    inputs: dict[str, Scalar] = {'kpi': rule.metric} | _figure(kpi) | {'threshold': rule.threshold, 'min_responses': rule.min_responses}
    note = f'{rule.metric} {kpi.value:.2f} >= {rule.threshold:g} over {kpi.denominator} responses'
    return Bonus(rule, person.employee_id, month, rule.points, inputs, note)


def _sum(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for counters in parts:
        for name, value in counters.items():
            out[name] = out.get(name, 0) + int(value)
    return out


def _team_bonuses(rule: TeamBonusRule, program: ProgramLike, people: Sequence[Person], month: str, data: PeriodData,
                  settings: KpiSettings) -> list[Bonus]:
    months = _team_months(rule, month)
    if months is None:
        return []
    period = month if rule.period == 'monthly' else quarter_of(month)
    suffix = '_business' if rule.business_time else ''
    bonuses = []
    members: dict[str, list[Person]] = {}
    for person in _eligible(program, rule, people, month):
        if person.team_id:
            members.setdefault(person.team_id, []).append(person)
    for team_id, team in sorted(members.items()):
        counters = _sum(data.kpi_items.get(team_kpi_key(team_id, m), {}) for m in months)
        kpis = compute_kpis(counters, settings)
        first_response = kpis[f'first_response_time{suffix}']  # minutes
        resolution = kpis[f'average_resolution_time{suffix}']  # hours
        if first_response.value is None or resolution.value is None or resolution.denominator < rule.min_tickets:
            continue
        resolution_minutes = resolution.value * 60
        if first_response.value > rule.first_response_target_minutes or resolution_minutes > rule.resolution_target_minutes:
            continue
        inputs: dict[str, Scalar] = {
            'team_id': team_id,
            'months': ','.join(months),
            'first_response_minutes': round(first_response.value, 2),
            'first_responses': first_response.denominator,
            'resolution_minutes': round(resolution_minutes, 2),
            'resolved': resolution.denominator,
            'first_response_target_minutes': rule.first_response_target_minutes,
            'resolution_target_minutes': rule.resolution_target_minutes,
            'business_time': rule.business_time,
        }
        note = (f'team {team_id} {period}: first response {first_response.value:.1f} min <= {rule.first_response_target_minutes:g}, '
                f'resolution {resolution_minutes:.1f} min <= {rule.resolution_target_minutes:g}')
        bonuses += [Bonus(rule, person.employee_id, period, rule.points, inputs, note) for person in team]
    return bonuses


def bonuses(program: ProgramLike, people: Sequence[Person], month: str, data: PeriodData,
            settings: KpiSettings | None = None) -> list[Bonus]:
    """Every bonus the program's period rules pay for `month`, sorted by employee then rule."""
    settings = settings or KpiSettings()
    out: list[Bonus] = []
    kpis_cache: dict[str, dict[str, KpiValue]] = {}

    def kpis_of(employee_id: str) -> dict[str, KpiValue]:
        if employee_id not in kpis_cache:
            kpis_cache[employee_id] = compute_kpis(data.kpi_items.get(employee_kpi_key(employee_id, month), {}), settings)
        return kpis_cache[employee_id]

    for rule in program.period_rules:
        if isinstance(rule, TeamBonusRule):
            out += _team_bonuses(rule, program, people, month, data, settings)
            continue
        for person in _eligible(program, rule, people, month):
            bonus: Bonus | None
            if isinstance(rule, AcceleratorRule):
                bonus = _accelerator(rule, person, month, kpis_of(person.employee_id), data.earnings.get(person.employee_id, {}))
            else:
                bonus = _survey_bonus(rule, person, month, kpis_of(person.employee_id))
            if bonus is not None:
                out.append(bonus)
    return sorted(out, key=lambda b: (b.employee_id, b.rule.rule_id, b.period))


def period_entries(program: ProgramLike, version: int, people: Sequence[Person], month: str, data: PeriodData,
                   now: datetime, settings: KpiSettings | None = None) -> list[LedgerEntry]:
    """The ledger entries of a close: one award entry per bonus, with a deterministic id."""
    # The last instant of the month in the program's zone: the entry's period is that month.
    occurred_at = month_bounds(month, program.time_zone)[1] - timedelta(seconds=1)
    entries = []
    for bonus in bonuses(program, people, month, data, settings):
        rule = bonus.rule
        reason = EntryReason(
            ticket_key=f'period#{program.program_id}#{bonus.period}',
            source_event_id=f'period_close#{program.program_id}#{month}',
            basis_event_id=f'{rule.rule_id}#{bonus.period}',
            rule_id=rule.rule_id,
            rule_version=rule.version,
            program_id=f'{program.program_id}@{version}',
            inputs=bonus.inputs,
            note=f'{rule.kind} {bonus.period}: {bonus.note}',
        )
        entries.append(
            LedgerEntry(
                entry_id=period_entry_id(program.program_id, rule.rule_id, bonus.employee_id, bonus.period),
                employee_id=bonus.employee_id,
                amount=bonus.amount,
                kind=EntryKind.AWARD,
                status=EntryStatus.AVAILABLE,
                reason=reason,
                occurred_at=occurred_at,
                recorded_at=now,
            )
        )
    return entries


def by_employee(entries: Iterable[LedgerEntry]) -> dict[str, list[LedgerEntry]]:
    grouped: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.employee_id, []).append(entry)
    return grouped
