"""What every rule kind shares: the earning it reports, the context it reads, and small judgements on a
ticket's or job card's settled state.

A kind is a module exposing `KIND = RuleKind(...)`. Its `earnings(state, ctx, params)` says which
bases the state deserves points for *now*, each with a basis key that the state itself decides (never the
id of whichever event arrived last) and the time the basis happened (`basis_at`, read from the state). The
engine turns earnings into `Award`s: it picks the program version by `basis_at`, applies scope, pilot,
conditions, credit split, multipliers and the penalty sign.

`basis_at` rule: a kind reads it only from the state fields listed in `earliest()` (or from an SLA clock,
whose times are never before the ticket's creation). The engine relies on that lower bound to skip program
versions no basis can select.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.directory.people import Employee
from shared.events import Assignee, AssigneeRole, Status
from shared.programs.awards import Scalar
from shared.sla.clock import SlaReport, TargetClock
from shared.tickets.state import TicketState


class NoParams(BaseModel):
    """For kinds that take no parameters: `params` must be empty."""

    model_config = ConfigDict(frozen=True, extra='forbid')


@dataclass(frozen=True, slots=True)
class Earning:
    """One basis a state deserves points for, before the engine prices and splits it."""

    basis_key: str  # stable within the ticket: 'resolution', 'survey:<response id>', 'upsell:<line id>'
    basis_at: datetime  # when the basis happened (UTC), read from the state
    recipients: tuple[Assignee, ...]  # who earns it (each the full amount) unless the rule splits credit
    inputs: Mapping[str, Scalar] = field(default_factory=dict)  # what justifies it (also what multipliers read)
    points: float | None = None  # None: the rule's points; else the kind's own figure (upsell by revenue, milestones)
    extra: float = 0  # added to the base before multipliers (a certification bonus)


@dataclass(frozen=True, slots=True)
class KindContext:
    """What a kind may read besides the state: the people behind the assignees, the SLA clocks and the
    program's money settings."""

    employees: Mapping[str, Employee]  # agent_key -> employee (mapped, active)
    sla: SlaReport | None
    currency: str
    points_per_currency_unit: float

    def employee(self, assignee: Assignee | None) -> Employee | None:
        return self.employees.get(assignee.agent_key) if assignee is not None else None


EarningsFn = Callable[[TicketState, KindContext, Any], Sequence[Earning]]


@dataclass(frozen=True)
class RuleKind:
    """A registered rule kind: its name in documents, its parameters' model (validated with the document,
    errors named `rules.<i>.params.<field>`), the state kinds it earns on, and its earnings function."""

    name: str
    Params: type[BaseModel]
    subjects: frozenset[str]  # state kinds (`shared.events.Kind` values) it can earn on
    earnings: EarningsFn
    penalty: bool = False  # points are deducted: the engine makes them negative
    creditable: bool = True  # its recipients are the item's assignees, so a rule may split credit among them


TICKET = frozenset({'ticket'})
JOB_CARD = frozenset({'job_card'})
SERVICE = frozenset({'ticket', 'job_card'})
SURVEYED = frozenset({'ticket', 'job_card', 'survey'})


# --- judgements on the state ---------------------------------------------------------------------------


def earliest(state: TicketState) -> datetime | None:
    """The earliest time any kind may use as `basis_at` for this state (see the module docstring)."""
    times: list[datetime] = [t for t in (state.created_at, state.first_response_at, state.resolved_at) if t is not None]
    if state.survey is not None:
        times.append(state.survey.submitted_at)
    if state.training is not None and state.training.completed_at is not None:
        times.append(state.training.completed_at)
    if state.quality_review is not None:
        times.append(state.quality_review.reviewed_at)
    times.extend(at for _, at in state.repeat_visits)
    return min(times) if times else None


def delivered_at(state: TicketState) -> datetime | None:
    """When the vehicle was handed back: the job card is closed ('delivered'), never merely 'work_done'
    (solved). The DMS adapter reports the delivery time as the card's resolved time."""
    if state.status is Status.CLOSED or (state.raw_status or '').lower() == 'delivered':
        return state.resolved_at
    return None


def owner(state: TicketState) -> tuple[Assignee, ...]:
    primary = state.primary_assignee
    return (primary,) if primary is not None else ()


def advisor(state: TicketState) -> tuple[Assignee, ...]:
    """The service advisor of a job card (else the ticket's owner)."""
    found = next((a for a in state.assignees if a.role is AssigneeRole.ADVISOR), None)
    return (found,) if found is not None else owner(state)


def technicians(state: TicketState) -> tuple[Assignee, ...]:
    return tuple(a for a in state.assignees if a.role is AssigneeRole.TECHNICIAN)


def with_role(assignees: Sequence[Assignee], ctx: KindContext, roles: Sequence[str]) -> tuple[Assignee, ...]:
    """The assignees whose employee has one of these directory roles."""
    wanted = set(roles)
    chosen = []
    for assignee in assignees:
        employee = ctx.employees.get(assignee.agent_key)
        if employee is not None and employee.role in wanted:
            chosen.append(assignee)
    return tuple(chosen)


def tier(state: TicketState) -> str | None:
    """The customer tier, from the ticket tag 'tier:<name>' (the first in sorted order)."""
    return next((tag.removeprefix('tier:') for tag in state.tags if tag.startswith('tier:')), None)


def minutes(seconds: float) -> float:
    return round(seconds / 60, 2)


def sla_inputs(sla: SlaReport, clock: TargetClock) -> dict[str, Scalar]:
    """The clock's facts, and `sla_used_pct` (elapsed as a percentage of the target: what a timeliness
    multiplier reads, e.g. x1.5 when max 50)."""
    elapsed = minutes(clock.elapsed_s)
    return {
        'policy': f'{sla.policy_id}@{sla.policy_version}',
        'priority': str(sla.priority),
        'target_minutes': clock.target_minutes,
        'business_hours': clock.business_hours,
        'elapsed_minutes': elapsed,
        'sla_used_pct': round(100 * elapsed / clock.target_minutes, 1) if clock.target_minutes else 0.0,
        'calendar': sla.calendar_id,
    }


def money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP))


def invalid(loc: str | tuple[str | int, ...], message: str, value: Any = None) -> ValidationError:
    """A validation error on one field, raised from a model validator so that the document's error names the
    field (`rules.<i>.params.<field>`, `pilot.locations`) rather than only the model holding it."""
    path = (loc,) if isinstance(loc, str) else loc
    return ValidationError.from_exception_data(
        'Program', [InitErrorDetails(type=PydanticCustomError('invalid', message), loc=path, input=value)]
    )
