"""case_note_quality: a QA reviewer scored the employee's case handling (`state.quality_review`) at or above
`min_score_pct` percent of the scorecard's maximum. `scorecards` restricts it to these scorecards.

Recipient: the reviewed employee (the event's assignee). Basis 'qa:<review id>', at the review time. Its
`score_pct` input is what a quality multiplier reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.programs.awards import Scalar
from shared.programs.kinds.base import Earning, KindContext, RuleKind, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    min_score_pct: float = Field(default=90, ge=0, le=100)
    scorecards: list[str] = Field(default_factory=list)


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    review = state.quality_review
    if review is None or (params.scorecards and review.scorecard not in params.scorecards):
        return ()
    pct = float(review.percent)
    if pct < params.min_score_pct:
        return ()
    inputs: dict[str, Scalar] = {'score_pct': pct, 'scorecard': review.scorecard, 'review_id': review.review_id}
    if review.ticket_ref:
        inputs['ticket_ref'] = review.ticket_ref
    return (Earning(f'qa:{review.review_id}', review.reviewed_at, owner(state), inputs),)


KIND = RuleKind('case_note_quality', Params, frozenset({'quality_review'}), earnings, creditable=False)
