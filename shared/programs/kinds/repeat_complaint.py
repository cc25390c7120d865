"""repeat_complaint (penalty): the customer came back with the same complaint: a later job card repeats this one
within the repeat window after its delivery (`state.repeat_visits`, as the KPI's first-time fix judges it).

The penalty lands on the card that was not fixed, not on the repeat visit: recipients are this card's
assignees (advisor and technicians, each the full amount) unless the rule splits credit. Basis
'repeat:<repeat visit's ticket key>', at the repeat visit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.kinds.base import JOB_CARD, Earning, KindContext, RuleKind, delivered_at
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    repeat_window_days: float = Field(default=30, gt=0)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if not state.repeat_visits:
        return ()
    delivered = delivered_at(state)
    window = timedelta(days=params.repeat_window_days)
    found = []
    for visit_key, at in state.repeat_visits:
        if delivered is not None and at - delivered > window:
            continue
        found.append(Earning(f'repeat:{visit_key}', at, state.assignees, {'repeat_visit': visit_key}))
    return found


KIND = RuleKind('repeat_complaint', Params, JOB_CARD, earnings, penalty=True)
