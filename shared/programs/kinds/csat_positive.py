"""csat_positive: the latest survey response on the ticket or job card rates it 4 or 5 (the KPI's 'cs_g').

Recipient: the owner (agent or service advisor). Basis 'survey:<response id>' (a later, worse answer to the same
response removes it while held), at the submission time. Hold until the survey window closes.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.awards import Scalar
from shared.programs.kinds.base import SURVEYED, Earning, KindContext, RuleKind, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    min_score: int = Field(default=4, ge=1, le=5)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if state.survey is None or state.survey.survey.csat is None or state.survey.survey.csat < params.min_score:
        return ()
    survey = state.survey.survey
    inputs: dict[str, Scalar] = {'csat': survey.csat, 'response_id': survey.response_id}
    return (Earning(f'survey:{survey.response_id}', state.survey.submitted_at, owner(state), inputs),)


KIND = RuleKind('csat_positive', Params, SURVEYED, earnings)
