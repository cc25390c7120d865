"""resolution_within_sla: the owner resolved the ticket within its SLA resolution target (business or calendar
time as the matching policy says, pauses excluded), not reopened. (A job card's promise is judged by
on_time_delivery.)

Basis 'resolution', at the resolved time: hold from there (e.g. 72 h), so a reopen inside the hold window only
changes the pending view.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from shared.programs.kinds.base import TICKET, Earning, KindContext, RuleKind, owner, sla_inputs
from shared.sla.clock import ClockState
from shared.sla.policy import Metric
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    require_no_reopen: bool = True


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if params.require_no_reopen and state.reopen_count > 0:
        return ()
    done = state.resolved_at if state.is_resolved else None
    clock = ctx.sla.clocks.get(Metric.RESOLUTION) if ctx.sla is not None else None
    if done is None or clock is None or clock.state is not ClockState.MET or ctx.sla is None:
        return ()
    return (Earning('resolution', done, owner(state), sla_inputs(ctx.sla, clock)),)


KIND = RuleKind('resolution_within_sla', Params, TICKET, earnings)
