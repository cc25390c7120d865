"""first_time_fix: the vehicle was delivered and no repeat visit for it came within the repeat window, as the KPI
judges it (counters 'ftf_n'/'ftf_ok'). A visit that itself repeats an earlier job card is not a first-time fix.

Recipients: the card's technicians (each the full amount, unless the rule splits credit). Basis
'first_time_fix', at the delivery. Set the rule's hold to the repeat window (30 days = 720 h): a repeat visit
inside it only changes the pending view; after it, the fix stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.kinds.base import JOB_CARD, Earning, KindContext, RuleKind, delivered_at, technicians
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    repeat_window_days: float = Field(default=30, gt=0, description='as the KPI setting repeat_window_days')


def repeated_within(state: TicketState, *, window_days: float) -> bool:
    """A later visit repeated this card within the window after its delivery (the KPI's 'ftf_ok' judgement)."""
    at = delivered_at(state)
    if at is None:
        return False
    window = timedelta(days=window_days)
    return any(visit - at <= window for _, visit in state.repeat_visits)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    at = delivered_at(state)
    if at is None or state.repeat_of is not None or repeated_within(state, window_days=params.repeat_window_days):
        return ()
    return (Earning('first_time_fix', at, technicians(state), {'repeat_window_days': params.repeat_window_days}),)


KIND = RuleKind('first_time_fix', Params, JOB_CARD, earnings)
