"""Rules that award points, and the small built-in default program.

A rule looks at a ticket's state (and the employees its assignees map to) and says which awards
that state deserves *now*. Rules are pure and evaluated on the whole state after every event, so a
later event that removes the reason for an award (a reopen, a worse survey, a reassignment) removes
the award from the desired set and the ledger writes a reversal. The full rules engine (weights by
role and job grade, multipliers, team bonuses) plugs in through the same `Rule` protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from shared.events import Assignee, AssigneeRole, Kind
from shared.sla.clock import ClockState, SlaReport, TargetClock
from shared.sla.policy import Metric
from shared.tickets.state import TicketState

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Employee:
    """What rules need to know about the person behind an assignee."""

    employee_id: str
    role: str = 'agent'
    job_grade: str | None = None
    location_id: str | None = None
    team_id: str | None = None
    active: bool = True


@dataclass(frozen=True)
class Award:
    """Points a rule says an employee deserves for this ticket, and why."""

    rule_id: str
    rule_version: int
    employee_id: str
    points: int
    basis_event_id: str  # the event (or survey response) whose arrival made the award due
    inputs: Mapping[str, Scalar] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f'{self.rule_id}|{self.employee_id}|{self.basis_event_id}'


@dataclass(frozen=True)
class RuleContext:
    employees: Mapping[str, Employee]  # agent_key -> employee (mapped and active only)
    sla: SlaReport | None = None  # the ticket's SLA clocks under the policy that matched

    def employee_for(self, assignee: Assignee | None) -> Employee | None:
        if assignee is None:
            return None
        return self.employees.get(assignee.agent_key)


class Rule(Protocol):
    rule_id: str
    version: int

    def evaluate(self, state: TicketState, context: RuleContext) -> list[Award]: ...


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 2)


def _met(sla: SlaReport | None, metric: Metric) -> TargetClock | None:
    clock = sla.clocks.get(metric) if sla is not None else None
    return clock if clock is not None and clock.state is ClockState.MET else None


def _sla_inputs(sla: SlaReport, clock: TargetClock) -> dict[str, Scalar]:
    return {
        'policy': f'{sla.policy_id}@{sla.policy_version}',
        'priority': str(sla.priority),
        'target_minutes': clock.target_minutes,
        'business_hours': clock.business_hours,
        'elapsed_minutes': round(clock.elapsed_s / 60, 2),
        'calendar': sla.calendar_id,
    }


@dataclass(frozen=True)
class ResolvedWithinSla:
    """Points to the owner when a ticket is resolved within its SLA resolution target (business or
    calendar time as the matching policy says, pauses excluded) and not reopened."""

    points: int = 10
    rule_id: str = 'resolved_within_sla'
    version: int = 2

    def evaluate(self, state: TicketState, context: RuleContext) -> list[Award]:
        if state.kind is not Kind.TICKET or not state.is_resolved or state.reopen_count > 0 or state.resolved_by_event is None:
            return []
        clock = _met(context.sla, Metric.RESOLUTION)
        employee = context.employee_for(state.primary_assignee)
        if clock is None or employee is None or context.sla is None:
            return []
        inputs = _sla_inputs(context.sla, clock)
        return [Award(self.rule_id, self.version, employee.employee_id, self.points, state.resolved_by_event, inputs)]


@dataclass(frozen=True)
class FirstResponseWithinSla:
    """Points to the owner when the first reply went out within the policy's first-response target."""

    points: int = 5
    rule_id: str = 'first_response_within_sla'
    version: int = 2

    def evaluate(self, state: TicketState, context: RuleContext) -> list[Award]:
        if state.kind is not Kind.TICKET or state.first_response_at is None:
            return []
        clock = _met(context.sla, Metric.FIRST_RESPONSE)
        employee = context.employee_for(state.primary_assignee)
        if clock is None or employee is None or state.assigned_by_event is None or context.sla is None:
            return []
        inputs = _sla_inputs(context.sla, clock)
        return [Award(self.rule_id, self.version, employee.employee_id, self.points, state.assigned_by_event, inputs)]


@dataclass(frozen=True)
class PositiveCsat:
    """Points to the owner for a CSAT of 4 or 5 (the latest survey response on the ticket counts)."""

    points: int = 5
    rule_id: str = 'csat_positive'
    version: int = 1

    def evaluate(self, state: TicketState, context: RuleContext) -> list[Award]:
        if state.survey is None or state.survey.survey.csat is None or state.survey.survey.csat < 4:
            return []
        employee = context.employee_for(state.primary_assignee)
        if employee is None:
            return []
        survey = state.survey.survey
        inputs: dict[str, Scalar] = {'csat': survey.csat, 'response_id': survey.response_id, 'event_id': state.survey.event_id}
        # The basis is the response and its score, not the delivering event: a helpdesk that repeats
        # the same rating on every later ticket update must not churn awards and reversals.
        basis = f'survey:{survey.response_id}:csat={survey.csat}'
        return [Award(self.rule_id, self.version, employee.employee_id, self.points, basis, inputs)]


@dataclass(frozen=True)
class JobCardDeliveredOnTime:
    """Points to the service advisor when the vehicle is delivered by the promised time, first visit."""

    points: int = 10
    rule_id: str = 'job_card_on_time'
    version: int = 1

    def evaluate(self, state: TicketState, context: RuleContext) -> list[Award]:
        if state.kind is not Kind.JOB_CARD or not state.is_resolved or state.reopen_count > 0:
            return []
        if state.promised_at is None or state.resolved_at is None or state.resolved_by_event is None:
            return []
        advisor = next((a for a in state.assignees if a.role is AssigneeRole.ADVISOR), None)
        employee = context.employee_for(advisor)
        if employee is None or state.resolved_at > state.promised_at:
            return []
        early = _minutes(state.promised_at - state.resolved_at)
        inputs: dict[str, Scalar] = {'minutes_before_promise': early}
        return [Award(self.rule_id, self.version, employee.employee_id, self.points, state.resolved_by_event, inputs)]


@dataclass(frozen=True)
class UpsellAccepted:
    """Points to the service advisor for each upsell line the customer accepted."""

    points: int = 5
    rule_id: str = 'upsell_accepted'
    version: int = 1

    def evaluate(self, state: TicketState, context: RuleContext) -> list[Award]:
        advisor = next((a for a in state.assignees if a.role is AssigneeRole.ADVISOR), state.primary_assignee)
        employee = context.employee_for(advisor)
        if employee is None:
            return []
        awards = []
        for line, event_id in zip(state.upsell_lines, state.upsell_events, strict=True):
            if not line.accepted:
                continue
            inputs: dict[str, Scalar] = {'line_id': line.line_id, 'category': line.category, 'amount': str(line.amount)}
            awards.append(Award(self.rule_id, self.version, employee.employee_id, self.points, f'{event_id}#{line.line_id}', inputs))
        return awards


@dataclass(frozen=True)
class Program:
    program_id: str
    version: int
    rules: Sequence[Rule]

    def evaluate(self, state: TicketState, context: RuleContext) -> list[Award]:
        awards: dict[str, Award] = {}
        for rule in self.rules:
            for award in rule.evaluate(state, context):
                awards[award.key] = award
        return [awards[key] for key in sorted(awards)]


DEFAULT_PROGRAM = Program(
    program_id='default',
    version=1,
    rules=(ResolvedWithinSla(), FirstResponseWithinSla(), PositiveCsat(), JobCardDeliveredOnTime(), UpsellAccepted()),  # type: ignore[arg-type]
)
