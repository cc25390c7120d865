"""first_response_within_sla: the owner's first reply went out within the policy's first-response target.

Basis 'first_response', at the first reply.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.programs.kinds.base import TICKET, Earning, KindContext, NoParams, RuleKind, owner, sla_inputs
from shared.sla.clock import ClockState
from shared.sla.policy import Metric
from shared.tickets.state import TicketState

Params = NoParams


def earnings(state: TicketState, ctx: KindContext, params: NoParams) -> Sequence[Earning]:
    clock = ctx.sla.clocks.get(Metric.FIRST_RESPONSE) if ctx.sla is not None else None
    if state.first_response_at is None or clock is None or clock.state is not ClockState.MET or ctx.sla is None:
        return ()
    return (Earning('first_response', state.first_response_at, owner(state), sla_inputs(ctx.sla, clock)),)


KIND = RuleKind('first_response_within_sla', Params, TICKET, earnings)
