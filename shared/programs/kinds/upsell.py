"""upsell: upsell and cross-sell lines the customer accepted, priced one of four ways (`mode`):

- flat_per_line: the rule's points for every accepted line;
- per_category: points per accepted line by product category (`categories`, keys as the KPI normalises them:
  'extended_warranty', 'amc', ...; `other_category_points` for the rest; 0 = nothing);
- percent_of_revenue: `percent` of the line's amount, in points at the program's conversion rate
  (points_per_currency_unit): 2 % of INR 5,000 at 1 point per rupee = 100 points;
- percent_of_margin: `percent` of the line's margin (lines without a margin, or with none, earn nothing).

Lines in another currency than the program's earn nothing in the revenue modes (no conversion is guessed).

When it is due: an upsell is paid for a job card only once the vehicle is *delivered* (a ticket: once
resolved), at that time. Until then nothing is awarded, so a line the customer accepts, then declines at a
later stage, is never paid and never reversed; an accepted line does not churn across the card's stages.
Recipient: the service advisor (a ticket: its owner). Basis 'upsell:<line id>' per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events import Kind
from shared.kpi.definitions import category_key
from shared.programs.awards import Scalar
from shared.programs.kinds.base import SERVICE, Earning, KindContext, RuleKind, advisor, delivered_at, invalid, money, owner
from shared.tickets.state import TicketState

Mode = Literal['flat_per_line', 'per_category', 'percent_of_revenue', 'percent_of_margin']


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    mode: Mode = 'flat_per_line'
    categories: dict[str, int] = Field(default_factory=dict)
    other_category_points: int = Field(default=0, ge=0)
    percent: float | None = Field(default=None, gt=0, le=100)
    max_points_per_line: int | None = Field(default=None, ge=1)

    @field_validator('categories')
    @classmethod
    def _categories(cls, value: dict[str, int]) -> dict[str, int]:
        negative = sorted(name for name, points in value.items() if points < 0)
        if negative:
            raise ValueError(f'points must be >= 0 (category {", ".join(negative)})')
        return {category_key(name): points for name, points in value.items()}

    @model_validator(mode='after')
    def _mode_needs(self) -> Params:
        if self.mode == 'per_category' and not self.categories:
            raise invalid('categories', 'required (at least one category) when mode is per_category', self.categories)
        if self.mode.startswith('percent_of') and self.percent is None:
            raise invalid('percent', f'required when mode is {self.mode}')
        return self


def _points(line_amount: Decimal | None, percent: float, rate: float) -> float | None:
    if line_amount is None or line_amount <= 0:
        return None
    return float(line_amount) * percent / 100 * rate


def earnings(state: TicketState, ctx: KindContext, params: Params) -> Sequence[Earning]:
    if not state.upsell_lines:
        return ()
    if state.kind is Kind.JOB_CARD:
        due_at, recipients = delivered_at(state), advisor(state)
    else:
        due_at, recipients = (state.resolved_at if state.is_resolved else None), owner(state)
    if due_at is None:
        return ()
    found = []
    for line in state.upsell_lines:
        if not line.accepted:
            continue
        points: float | None
        category = category_key(line.category)
        if params.mode == 'flat_per_line':
            points = None
        elif params.mode == 'per_category':
            points = params.categories.get(category, params.other_category_points) or None
            if points is None:
                continue
        else:
            if line.currency.upper() != ctx.currency:
                continue
            base = line.amount if params.mode == 'percent_of_revenue' else line.margin
            points = _points(base, params.percent or 0, ctx.points_per_currency_unit)
            if points is None:
                continue
        if points is not None and params.max_points_per_line is not None:
            points = min(points, params.max_points_per_line)
        inputs: dict[str, Scalar] = {'line_id': line.line_id, 'category': category, 'amount': money(line.amount), 'currency': line.currency}
        if line.margin is not None:
            inputs['margin'] = money(line.margin)
        found.append(Earning(f'upsell:{line.line_id}', due_at, recipients, inputs, points))
    return found


KIND = RuleKind('upsell', Params, SERVICE, earnings)
