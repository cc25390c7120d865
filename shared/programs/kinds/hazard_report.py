"""hazard_report: the employee reported a hazard proactively (`state.safety_report`, report_type
'hazard_report'), entered by a manager. Points by severity (`severity_points`; a severity not listed, or none,
earns the rule's points).

Recipient: the reporting employee (the event's assignee). Basis 'hazard:<report id>', at the report's creation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.programs.awards import Scalar
from shared.programs.kinds.base import Earning, KindContext, RuleKind, owner
from shared.tickets.state import TicketState


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    severity_points: dict[Literal['low', 'medium', 'high'], int] = Field(default_factory=dict)

    @field_validator('severity_points')
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        negative = sorted(name for name, points in value.items() if points < 0)
        if negative:
            raise ValueError(f'points must be >= 0 (severity {", ".join(negative)})')
        return value


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    report = state.safety_report
    if report is None or report.report_type != 'hazard_report' or state.created_at is None:
        return ()
    points = params.severity_points.get(report.severity) if report.severity is not None else None
    inputs: dict[str, Scalar] = {'report_id': report.report_id, 'severity': report.severity, 'entered_by': report.reported_by}
    return (Earning(f'hazard:{report.report_id}', state.created_at, owner(state), inputs, points),)


KIND = RuleKind('hazard_report', Params, frozenset({'safety_report'}), earnings, creditable=False)
