"""reopen (penalty): the customer reopened a resolved ticket (or a delivered job card came back). One penalty per
reopen (`reopen:1`, `reopen:2`, ...), up to `max_per_ticket`.

Recipient: the owner (a job card: the advisor). At the ticket's creation: the state keeps how many times it was
reopened, not when, and the creation time is stable whatever order the events arrive in; it is also the day the
ticket's KPIs count on.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Kind
from shared.programs.kinds.base import SERVICE, Earning, KindContext, RuleKind, advisor, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    max_per_ticket: int = Field(default=1, ge=1)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if state.reopen_count <= 0 or state.created_at is None:
        return ()
    recipients = advisor(state) if state.kind is Kind.JOB_CARD else owner(state)
    count = min(state.reopen_count, params.max_per_ticket)
    return [Earning(f'reopen:{n}', state.created_at, recipients, {'reopen_count': state.reopen_count}) for n in range(1, count + 1)]


KIND = RuleKind('reopen', Params, SERVICE, earnings, penalty=True)
