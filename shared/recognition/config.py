"""A program's recognition settings, part of the program document (`ProgramDocument.recognition` and
`ProgramDocument.spot_awards`), so they are versioned in SSM with the program and validated with the field named."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.programs.kinds.base import invalid
from shared.programs.period_rules import RULE_ID, Roles


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')


class ValueTag(_Model):
    """A company value a recognition is tagged with (`#teamwork` in a THANKS message)."""

    tag: str = Field(pattern=r'^[a-z][a-z0-9_]{1,39}$', description='what people type after #, lower case')
    name: str = Field(min_length=1, max_length=80)


class CollusionRules(_Model):
    """When giving looks arranged rather than earned. Flagged to the manager in scope with the evidence; never blocked."""

    reciprocal_share: float = Field(default=0.5, gt=0, le=1,
                                    description='A->B and B->A in one month, each above this share of the giver\'s allowance')  # fmt: skip
    ring_min_points: int = Field(default=1, ge=1, description='a closed ring A->B->C->A counts when every link gave at least this')
    ring_max_length: int = Field(default=4, ge=3, le=6)
    concentration_share: float = Field(default=0.5, gt=0, le=1,
                                       description="one person receiving more than this share of a team's given allowance")  # fmt: skip
    concentration_min_points: int = Field(default=100, ge=1, description='a team gives at least this before concentration is judged')


class NudgeRules(_Model):
    """Suggestions to managers when someone reaches a milestone, a streak or an outstanding CSAT run."""

    enabled: bool = True
    suggested_points: int = Field(default=50, ge=1)
    per_manager_per_day: int = Field(default=3, ge=1, le=50)
    csat_run: int = Field(default=5, ge=2, le=100, description='consecutive top CSAT scores that make an outstanding run')
    reply_hours: int = Field(default=48, ge=1, le=720, description='a YES or an amount is taken this long after the nudge')
    csat_top: int = Field(default=5, ge=1, le=10, description="the CSAT score that counts as top (the scale's best answer)")
    reason_id: str | None = Field(default=None, pattern=RULE_ID,
                                  description='the spot award reason a nudge award is given for (default: the first reason)')  # fmt: skip


class RecognitionConfig(_Model):
    """Peer recognition: each person in the program may give `monthly_allowance` points a month (by role when
    `allowance_by_role` names it); the allowance resets on the 1st in the program's time zone and unused allowance
    expires (received points do not)."""

    monthly_allowance: int = Field(ge=1, le=1_000_000)
    allowance_by_role: dict[str, int] = Field(default_factory=dict)
    pair_cap: int = Field(ge=1, description='most points one giver may give one receiver in a month')
    min_points: int = Field(default=1, ge=1)
    max_points: int | None = Field(default=None, ge=1, description='most points in one recognition')
    values: list[ValueTag] = Field(min_length=1, max_length=30)
    collusion: CollusionRules = Field(default_factory=CollusionRules)
    nudges: NudgeRules = Field(default_factory=NudgeRules)

    @model_validator(mode='after')
    def _consistent(self) -> RecognitionConfig:
        tags = [value.tag for value in self.values]
        for index, tag in enumerate(tags):
            if tag in tags[:index]:
                raise invalid(('values', index, 'tag'), f'{tag!r} is listed twice', tag)
        for role, allowance in self.allowance_by_role.items():
            if allowance < 0:
                raise invalid(('allowance_by_role', role), 'must be >= 0', allowance)
        if self.max_points is not None and self.max_points < self.min_points:
            raise invalid('max_points', f'must be >= min_points ({self.min_points})', self.max_points)
        return self

    def allowance_for(self, role: str | None) -> int:
        return self.allowance_by_role.get(role or '', self.monthly_allowance)

    def value(self, tag: str) -> ValueTag | None:
        wanted = tag.lower().lstrip('#')
        return next((value for value in self.values if value.tag == wanted), None)


class SpotReason(_Model):
    reason_id: str = Field(pattern=RULE_ID)
    name: str = Field(min_length=1, max_length=120)


class SpotAwardConfig(_Model):
    """Managers' spot awards: a monthly budget per manager (by role, or per manager id), reasons from the program,
    and maker-checker above `approval_above` points (the maker's own manager or an admin approves)."""

    monthly_budget: int = Field(ge=0)
    budget_by_role: dict[str, int] = Field(default_factory=dict)
    budget_by_manager: dict[str, int] = Field(default_factory=dict)
    givers: Roles = Field(default_factory=list, description='roles that may give spot awards; empty: anyone who manages someone')
    reasons: list[SpotReason] = Field(min_length=1, max_length=50)
    max_points: int = Field(default=1000, ge=1)
    approval_above: int = Field(default=200, ge=0)
    approval_expires_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode='after')
    def _consistent(self) -> SpotAwardConfig:
        ids = [reason.reason_id for reason in self.reasons]
        for index, reason_id in enumerate(ids):
            if reason_id in ids[:index]:
                raise invalid(('reasons', index, 'reason_id'), f'{reason_id!r} is listed twice', reason_id)
        return self

    def budget_for(self, manager_id: str, role: str | None) -> int:
        if manager_id in self.budget_by_manager:
            return self.budget_by_manager[manager_id]
        return self.budget_by_role.get(role or '', self.monthly_budget)

    def reason(self, reason_id: str) -> SpotReason | None:
        return next((reason for reason in self.reasons if reason.reason_id == reason_id), None)
