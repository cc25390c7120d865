"""positive_review: the customer wrote a review (a survey response with a comment of some length) and rated the
service well (CSAT at least `min_csat`, or NPS at least `min_nps` when there is no CSAT).

No source sends public-review-site reviews; the written comment of a survey response is the review the
customer left. Recipient: the owner. Basis 'review:<response id>', at the submission time.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.awards import Scalar
from shared.programs.kinds.base import SURVEYED, Earning, KindContext, RuleKind, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    min_comment_chars: int = Field(default=20, ge=1)
    min_csat: int = Field(default=4, ge=1, le=5)
    min_nps: int = Field(default=9, ge=0, le=10)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if state.survey is None:
        return ()
    survey = state.survey.survey
    comment = (survey.comment or '').strip()
    if len(comment) < params.min_comment_chars:
        return ()
    positive = survey.csat >= params.min_csat if survey.csat is not None else (survey.nps is not None and survey.nps >= params.min_nps)
    if not positive:
        return ()
    inputs: dict[str, Scalar] = {'csat': survey.csat, 'nps': survey.nps, 'comment_chars': len(comment), 'response_id': survey.response_id}
    return (Earning(f'review:{survey.response_id}', state.survey.submitted_at, owner(state), inputs),)


KIND = RuleKind('positive_review', Params, SURVEYED, earnings)
