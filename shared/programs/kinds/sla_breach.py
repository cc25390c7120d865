"""sla_breach (penalty): a target of the ticket or job card completed after its deadline (the clock is BREACHED:
judged from the events, so the same whatever their arrival order). One penalty per breached target listed in
`metrics`.

Recipient: the owner (a job card: the advisor). Basis 'sla_breach:<metric>', at the instant the target was
exceeded. The points are deducted (write them positive; the sign is the kind's); the ledger never takes a
balance below the program's floor.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Kind
from shared.programs.kinds.base import SERVICE, Earning, KindContext, RuleKind, advisor, owner, sla_inputs
from shared.sla.clock import ClockState
from shared.sla.policy import Metric
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    metrics: list[Metric] = Field(default_factory=lambda: [Metric.FIRST_RESPONSE, Metric.RESOLUTION, Metric.TURNAROUND], min_length=1)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if ctx.sla is None:
        return ()
    recipients = advisor(state) if state.kind is Kind.JOB_CARD else owner(state)
    found = []
    for metric in params.metrics:
        clock = ctx.sla.clocks.get(metric)
        if clock is None or clock.state is not ClockState.BREACHED:
            continue
        at = clock.breached_at or clock.completed_at
        if at is None:
            continue
        found.append(Earning(f'sla_breach:{metric.value}', at, recipients, sla_inputs(ctx.sla, clock)))
    return found


KIND = RuleKind('sla_breach', Params, SERVICE, earnings, penalty=True)
