"""nps_promoter: the latest survey response scores 9 or 10 on the NPS question (the KPI's 'np_p').

Recipient: the owner. Basis 'survey:<response id>', at the submission time.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.awards import Scalar
from shared.programs.kinds.base import SURVEYED, Earning, KindContext, RuleKind, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    min_score: int = Field(default=9, ge=0, le=10)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if state.survey is None or state.survey.survey.nps is None or state.survey.survey.nps < params.min_score:
        return ()
    survey = state.survey.survey
    inputs: dict[str, Scalar] = {'nps': survey.nps, 'response_id': survey.response_id}
    return (Earning(f'survey:{survey.response_id}', state.survey.submitted_at, owner(state), inputs),)


KIND = RuleKind('nps_promoter', Params, SURVEYED, earnings)
