"""support_sla: support staff met the SLA: every listed target of the ticket (or job card) completed within its
target, none breached. Paid to the assignees whose directory role is one of `roles` (default 'support').

Basis 'support_sla', at the latest completion among the targets judged (the resolution, when judged).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.awards import Scalar
from shared.programs.kinds.base import SERVICE, Earning, KindContext, RuleKind, minutes, with_role
from shared.sla.clock import ClockState
from shared.sla.policy import Metric
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    roles: list[str] = Field(default_factory=lambda: ['support'], min_length=1)
    metrics: list[Metric] = Field(default_factory=lambda: [Metric.FIRST_RESPONSE, Metric.RESOLUTION, Metric.TURNAROUND], min_length=1)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if ctx.sla is None or not state.is_resolved:
        return ()
    clocks = [ctx.sla.clocks[m] for m in params.metrics if m in ctx.sla.clocks]
    if not clocks or any(clock.state is not ClockState.MET or clock.completed_at is None for clock in clocks):
        return ()
    recipients = with_role(state.assignees, ctx, params.roles)
    if not recipients:
        return ()
    at = max(clock.completed_at for clock in clocks if clock.completed_at is not None)
    inputs: dict[str, Scalar] = {'targets_met': len(clocks), 'policy': f'{ctx.sla.policy_id}@{ctx.sla.policy_version}'}
    for clock in clocks:
        inputs[f'{clock.metric.value}_minutes'] = minutes(clock.elapsed_s)
    return (Earning('support_sla', at, recipients, inputs),)


KIND = RuleKind('support_sla', Params, SERVICE, earnings)
