"""training_completion: an employee completed a course (LMS, `state.training`), with milestones.

Points: `milestones[<milestone>]` when the completion carries a listed milestone ('level_1', 'level_2' of a
learning path), else the rule's points (a rule with points 0 pays listed milestones only); plus
`certification_bonus` when the course certifies. `min_score` requires a final score at least that high; `courses`
restricts it to these course ids. Recipient: the employee (the event's assignee). Basis
'training:<course id>:<milestone or "course">', at the completion time.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.programs.awards import Scalar
from shared.programs.kinds.base import Earning, KindContext, RuleKind, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    milestones: dict[str, int] = Field(default_factory=dict)
    certification_bonus: int = Field(default=0, ge=0)
    min_score: int | None = Field(default=None, ge=0, le=100)
    courses: list[str] = Field(default_factory=list)

    @field_validator('milestones')
    @classmethod
    def _milestones(cls, value: dict[str, int]) -> dict[str, int]:
        negative = sorted(name for name, points in value.items() if points < 0)
        if negative:
            raise ValueError(f'points must be >= 0 (milestone {", ".join(negative)})')
        return value


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    training = state.training
    if training is None or training.status != 'completed' or training.completed_at is None:
        return ()
    if params.courses and training.course_id not in params.courses:
        return ()
    if params.min_score is not None and (training.score is None or training.score < params.min_score):
        return ()
    points: float | None = None
    if training.milestone is not None and training.milestone in params.milestones:
        points = params.milestones[training.milestone]
    extra = params.certification_bonus if training.certification else 0
    inputs: dict[str, Scalar] = {
        'course_id': training.course_id,
        'milestone': training.milestone,
        'certification': training.certification,
        'score': training.score,
    }
    basis = f'training:{training.course_id}:{training.milestone or "course"}'
    return (Earning(basis, training.completed_at, owner(state), inputs, points, extra),)


KIND = RuleKind('training_completion', Params, frozenset({'training'}), earnings, creditable=False)
