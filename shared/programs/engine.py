"""The program engine: what a ticket's (job card's, training's, review's, report's) settled state earns under every
program in force, as `Award`s.

Pure and deterministic: the same state, people and SLA report give the same awards, sorted by key, whatever
order the ticket's events arrived in (every basis key and basis time comes from the state). For each program:

- version: per earning, the newest valid version whose effective_from <= basis_at (`ProgramBook.for_basis`);
  a basis from before the first version earns nothing under that program;
- dates: the basis day (program time zone) within starts_on..ends_on;
- pilot: before `rollout_on`, only the pilot locations earn;
- scope: location and region (the item's location, else the employee's), roles and job grades of the
  recipient, the item's channel (items without a channel - trainings, reviews, safety reports - are not
  excluded by a channel scope);
- rule conditions: the recipient's role and job grade; the item's channel, priority, location and customer
  tier (tag 'tier:<name>'), an item without the attribute not matching a condition on it;
- credit: a rule with `credit` splits its points among the item's assignees by assignee role (advisor and
  technician shares summing to 100; people in one role share theirs equally; a role nobody holds on the item
  forfeits its share); without it, each recipient the kind names earns the full amount;
- multipliers: x factor when the award input the multiplier names is a number within [min, max];
- penalties (sla_breach, reopen, repeat_complaint) are negative; the ledger keeps balances above the floor;
- hold: release_at = basis_at + hold_hours; clawback policy and days and caps are copied onto the award
  (the ledger applies them).

Points are rounded half away from zero after the split and the multipliers; an award of 0 points is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from shared.directory.people import Employee
from shared.events import Assignee
from shared.programs.awards import Award, Scalar
from shared.programs.document import CompiledProgram, CompiledRule
from shared.programs.kinds.base import Earning, KindContext, earliest, tier
from shared.programs.loader import ProgramBook, ProgramVersion
from shared.sla.clock import SlaReport
from shared.sla.config import Location
from shared.tickets.state import TicketState


def evaluate(
    book: ProgramBook,
    state: TicketState,
    employees: Mapping[str, Employee],
    sla: SlaReport | None,
    location: Location | None,
    now: datetime | None = None,
) -> list[Award]:
    """Every award the state deserves now under every program of the book, sorted by key.

    `employees`: agent_key -> employee (mapped and active). `location`: the item's location from the service
    configuration (its region is used when it is the award's location). `now` is accepted for callers that
    have it and is not used: awards depend on the state only, so a replay gives the same awards.
    """
    subject = state.kind.value
    awards: dict[str, Award] = {}
    floor: datetime | None = None
    floor_known = False
    customer_tier = tier(state)
    for program_id, versions in book.programs.items():
        candidates: Sequence[ProgramVersion] = versions
        if len(versions) > 1:
            if not floor_known:
                floor, floor_known = earliest(state), True
                starts = [clock.started_at for clock in sla.clocks.values()] if sla is not None else []
                if starts and floor is not None:
                    floor = min(floor, *starts)  # an SLA breach is based at its clock's breach, after its start
            reachable: list[ProgramVersion] = []
            for version in versions:  # newest first; older ones only while a basis could still select them
                reachable.append(version)
                if floor is not None and version.document.effective_from <= floor:
                    break
            candidates = reachable
        for version in candidates:
            program = version.document.compiled
            rules = program.index.get(subject)
            if not rules:
                continue
            ctx = KindContext(employees, sla, program.currency, program.points_per_currency_unit)
            for rule in rules:
                if not _item_matches(rule, state, customer_tier):
                    continue
                for earning in rule.kind.earnings(state, ctx, rule.params):
                    if earning.basis_at < program.effective_from:
                        continue
                    if len(candidates) > 1 and book.for_basis(program_id, earning.basis_at) is not version:
                        continue
                    _award(awards, version.version, program, rule, state, earning, employees, location)
    return [awards[key] for key in sorted(awards)]


def _item_matches(rule: CompiledRule, state: TicketState, customer_tier: str | None) -> bool:
    if rule.channels is not None and (state.channel is None or state.channel.value not in rule.channels):
        return False
    if rule.priorities is not None and (state.priority is None or state.priority.value not in rule.priorities):
        return False
    return rule.tiers is None or customer_tier in rule.tiers


def _recipients(rule: CompiledRule, state: TicketState, earning: Earning) -> list[tuple[Assignee, float]]:
    """(assignee, percent of the rule's points)."""
    if rule.credit is None:
        return [(assignee, 100.0) for assignee in earning.recipients]
    shares: list[tuple[Assignee, float]] = []
    for role, share in rule.credit:
        people = [assignee for assignee in state.assignees if assignee.role is role]
        shares.extend((assignee, share / len(people)) for assignee in people)
    return shares


def _round(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _award(
    awards: dict[str, Award],
    version: int,
    program: CompiledProgram,
    rule: CompiledRule,
    state: TicketState,
    earning: Earning,
    employees: Mapping[str, Employee],
    location: Location | None,
) -> None:
    day = earning.basis_at.astimezone(program.zone).date()
    if day < program.starts_on or (program.ends_on is not None and day > program.ends_on):
        return
    scope = program.scope
    if scope.channels is not None and state.channel is not None and state.channel.value not in scope.channels:
        return
    base = (rule.points if earning.points is None else earning.points) + earning.extra
    pilot = program.pilot_locations if program.rollout_on is not None and day < program.rollout_on else None
    for assignee, share in _recipients(rule, state, earning):
        employee = employees.get(assignee.agent_key)
        if employee is None or not employee.active:
            continue
        location_id = state.location_id or employee.location_id
        if pilot is not None and location_id not in pilot:
            continue
        if not _person_in(scope.roles, scope.job_grades, employee) or not _person_in(rule.roles, rule.job_grades, employee):
            continue
        if (scope.locations is not None and location_id not in scope.locations) or (
            rule.locations is not None and location_id not in rule.locations
        ):
            continue
        if scope.regions is not None:
            region = location.region if location is not None and location.location_id == location_id else None
            if region not in scope.regions:
                continue
        value = base * share / 100
        inputs: dict[str, Scalar] = dict(earning.inputs)
        applied = []
        for multiplier in rule.multipliers:
            measured = inputs.get(multiplier.input)
            if isinstance(measured, bool) or not isinstance(measured, int | float):
                continue
            if (multiplier.min is None or measured >= multiplier.min) and (multiplier.max is None or measured <= multiplier.max):
                value *= multiplier.factor
                applied.append(f'{multiplier.name}x{multiplier.factor:g}')
        points = rule.sign * _round(value)
        if points == 0:
            continue
        if share != 100:
            inputs['share_pct'] = round(share, 2)
        if applied:
            inputs['multipliers'] = ','.join(applied)
        award = Award(
            program_id=program.program_id,
            program_version=version,
            rule_id=rule.rule_id,
            rule_version=rule.version,
            employee_id=employee.employee_id,
            points=points,
            basis_key=earning.basis_key,
            basis_at=earning.basis_at,
            release_at=earning.basis_at + rule.hold,
            inputs=inputs,
            clawback=rule.clawback,
            clawback_days=rule.clawback_days,
            caps=rule.caps,
            time_zone=program.time_zone,
        )
        earlier = awards.get(award.key)
        # One person in two roles on one item (advisor and technician): one award with both shares.
        awards[award.key] = award if earlier is None else replace(earlier, points=earlier.points + points)


def _person_in(roles: frozenset[str] | None, job_grades: frozenset[str] | None, employee: Employee) -> bool:
    return (roles is None or employee.role in roles) and (job_grades is None or employee.job_grade in job_grades)
