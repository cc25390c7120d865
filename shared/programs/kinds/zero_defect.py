"""zero_defect: a job card done right, as the KPI judges it (counter 'zd'): delivered by the promised time (or
with no promise), never reopened, no repeat visit within the repeat window; and not itself a repeat visit.

Recipients: every assignee of the card (advisor and technicians, each the full amount) unless the rule splits
credit (e.g. {"advisor": 40, "technician": 60}). Basis 'zero_defect', at the delivery; hold = the repeat
window.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.kinds.base import JOB_CARD, Earning, KindContext, RuleKind, delivered_at, minutes
from shared.programs.kinds.first_time_fix import repeated_within
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    repeat_window_days: float = Field(default=30, gt=0)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    at = delivered_at(state)
    if at is None or state.repeat_of is not None or state.reopen_count > 0:
        return ()
    if state.promised_at is not None and at > state.promised_at:
        return ()
    if repeated_within(state, window_days=params.repeat_window_days):
        return ()
    inputs = {'minutes_before_promise': minutes((state.promised_at - at).total_seconds())} if state.promised_at else {}
    return (Earning('zero_defect', at, state.assignees, inputs),)


KIND = RuleKind('zero_defect', Params, JOB_CARD, earnings)
