"""callback_within: a phone contact answered by a call back within N minutes (calendar time from the ticket's
creation to the first agent response), the brief's callback-time reduction.

Recipient: the owner. Basis 'callback', at the first response.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Channel
from shared.programs.awards import Scalar
from shared.programs.kinds.base import TICKET, Earning, KindContext, RuleKind, minutes, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    within_minutes: float = Field(gt=0)
    channels: list[Channel] = Field(default_factory=lambda: [Channel.PHONE], min_length=1)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if state.channel not in params.channels or state.first_response_at is None or state.created_at is None:
        return ()
    waited = minutes((state.first_response_at - state.created_at).total_seconds())
    if waited > params.within_minutes:
        return ()
    inputs: dict[str, Scalar] = {'callback_minutes': waited, 'within_minutes': params.within_minutes}
    return (Earning('callback', state.first_response_at, owner(state), inputs),)


KIND = RuleKind('callback_within', Params, TICKET, earnings)
