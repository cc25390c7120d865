"""one_touch: resolved with exactly one agent reply, as the KPI judges it (counter 'ot'); only where the sender
reports reply counts.

Basis 'one_touch', at the resolved time.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from shared.programs.kinds.base import TICKET, Earning, KindContext, RuleKind, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    require_no_reopen: bool = False  # the KPI counts one-touch whatever happened after the solve


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if not state.is_resolved or state.resolved_at is None or not state.replies_reported or state.reply_count != 1:
        return ()
    if params.require_no_reopen and state.reopen_count > 0:
        return ()
    return (Earning('one_touch', state.resolved_at, owner(state), {'replies': state.reply_count}),)


KIND = RuleKind('one_touch', Params, TICKET, earnings)
