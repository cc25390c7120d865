"""on_time_delivery: the vehicle was *delivered* (job card closed / 'delivered', never 'work_done') by the promised
time, on a first visit, never reopened.

Recipient: the service advisor. Basis 'on_time_delivery', at the delivery. A card that is never delivered
never earns, and a repeat visit earns nothing ('on time, first visit' is not what happened). With
`repeat_window_days`, a later visit that repeats this card within that many days of the delivery undoes it: while
held, it simply goes away; after release, the rule's clawback policy decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.kinds.base import JOB_CARD, Earning, KindContext, RuleKind, advisor, delivered_at, minutes
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    grace_minutes: float = Field(default=0, ge=0)
    first_visit_only: bool = True
    repeat_window_days: int | None = Field(default=None, ge=1, le=365)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    at = delivered_at(state)
    if at is None or state.promised_at is None or state.reopen_count > 0:
        return ()
    if params.first_visit_only and state.repeat_of is not None:
        return ()
    if at > state.promised_at + timedelta(minutes=params.grace_minutes):
        return ()
    if params.repeat_window_days is not None and any(
        visit - at <= timedelta(days=params.repeat_window_days) for _, visit in state.repeat_visits
    ):
        return ()
    early = minutes((state.promised_at - at).total_seconds())
    return (Earning('on_time_delivery', at, advisor(state), {'minutes_before_promise': early}),)


KIND = RuleKind('on_time_delivery', Params, JOB_CARD, earnings)
