"""Period rules: what a program pays once a period (a month, or a quarter) has ended, from the KPI
aggregates of that period rather than from single tickets.

Pure data models (pydantic), a discriminated union on `kind` (`PeriodRule`), embedded in a program
document's `period_rules`. Each rule names the KPI it judges by the name the KPI report uses
(`shared.kpi.report.compute_kpis`), so a period rule and the KPI report can never disagree on what
"CSAT" or "SLA compliance" means. An unknown KPI, overlapping rate-table bands, a factor of 0 or a role
or location the validation context does not know are rejected with the field named.

- accelerator: a rate table on one KPI attainment of the person's month; the band holding the value
  gives a factor; bonus = (factor - 1) x the points the person was released that month under the rules
  listed in `applies_to` (a factor below 1 is a deduction, never below the program's floor).
- csat_bonus / nps_bonus: flat points when the person's month has at least `min_responses` survey
  responses and the CSAT (or NPS) reaches `threshold`.
- team_bonus: flat points to every member of a team (the people reporting to one manager) whose average
  first response and average resolution over the month (or quarter) stay within targets in minutes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

RULE_ID = r'^[a-z0-9][a-z0-9_-]{0,62}$'

# Names used in programs for KPIs the report calls otherwise.
KPI_ALIASES: dict[str, str] = {
    'fcr_rate': 'first_contact_resolution',
    'fcr': 'first_contact_resolution',
    'one_touch_rate': 'one_touch_resolution_rate',
    'ftf_rate': 'first_time_fix_rate',
    'on_time_delivery_rate': 'on_time_delivery',
    'zero_defect': 'zero_defect_rate',
}


@lru_cache(maxsize=1)
def _report_kpis() -> dict[str, str]:
    """KPI name -> unit, exactly the KPIs the report computes (a KPI added there is usable here)."""
    from shared.kpi.report import compute_kpis
    from shared.kpi.settings import KpiSettings

    return {name: value.unit for name, value in compute_kpis({}, KpiSettings()).items()}


def attainment_kpis() -> frozenset[str]:
    """KPIs a rate table can be set on: the report's ratios and scores (not counts, durations or revenue)."""
    return frozenset(name for name, unit in _report_kpis().items() if unit in ('%', 'score')) | frozenset(KPI_ALIASES)


def report_kpi_name(name: str) -> str:
    """The report's name for a KPI named in a program."""
    return KPI_ALIASES.get(name, name)


def _known(key: str, what: str) -> AfterValidator:
    """Check a list of names against the validation context (`context={'roles': {...}, 'locations': {...}}`);
    without a context nothing is checked."""

    def check(values: list[str], info: ValidationInfo) -> list[str]:
        known = info.context.get(key) if isinstance(info.context, Mapping) else None
        if known is not None:
            unknown = sorted(set(values) - set(known))
            if unknown:
                raise ValueError(f'unknown {what} {", ".join(unknown)} (known: {", ".join(sorted(known)) or "none"})')
        return values

    return AfterValidator(check)


Roles = Annotated[list[str], _known('roles', 'role')]  # role names, checked against the context's `roles`
Locations = Annotated[list[str], _known('locations', 'location')]  # location ids, checked against its `locations`


def _languages(titles: dict[str, str]) -> dict[str, str]:
    from shared.notify.languages import LANGUAGES

    unknown = sorted(set(titles) - set(LANGUAGES))
    if unknown:
        raise ValueError(f'unknown language {", ".join(unknown)} (known: {", ".join(LANGUAGES)})')
    return titles


# A rule's title per language, as statements show it ({'en': 'Fast fix', 'es': 'Reparación rápida'}); a language left out
# reads the English title, else the rule id in words (shared.ledger.statement.program_rule_titles).
RuleTitles = Annotated[dict[str, Annotated[str, Field(min_length=1, max_length=120)]], AfterValidator(_languages)]


class PeriodConditions(BaseModel):
    """Who a period rule pays: an empty list means anyone."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    roles: Roles = Field(default_factory=list)
    job_grades: list[str] = Field(default_factory=list)
    locations: Locations = Field(default_factory=list)

    def admits(self, role: str | None, job_grade: str | None, location_id: str | None) -> bool:
        return (
            (not self.roles or role in self.roles)
            and (not self.job_grades or job_grade in self.job_grades)
            and (not self.locations or location_id in self.locations)
        )


class _PeriodRuleBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    rule_id: str = Field(pattern=RULE_ID)
    version: int = Field(default=1, ge=1)
    description: str = Field(default='', max_length=500)
    titles: RuleTitles = Field(default_factory=dict, description='the title per language on statements (en, es, hi, id)')
    conditions: PeriodConditions = Field(default_factory=PeriodConditions)

    @property
    def ref(self) -> str:
        return f'{self.rule_id}@{self.version}'


class Band(BaseModel):
    """One row of a rate table: min <= value < max (max absent: no upper bound)."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    min: float
    max: float | None = None
    factor: float = Field(gt=0)

    @model_validator(mode='after')
    def _ordered(self) -> Band:
        if self.max is not None and self.max <= self.min:
            raise ValueError(f'max ({self.max:g}) must be above min ({self.min:g})')
        return self

    def holds(self, value: float) -> bool:
        return self.min <= value and (self.max is None or value < self.max)


class AcceleratorRule(_PeriodRuleBase):
    kind: Literal['accelerator']
    kpi: str
    bands: list[Band] = Field(min_length=1)
    applies_to: list[str] = Field(min_length=1, description='event rule ids whose points of the month are multiplied')
    min_count: int = Field(default=1, ge=1, description='the KPI must rest on at least this many items (its denominator)')

    @field_validator('kpi')
    @classmethod
    def _kpi(cls, value: str) -> str:
        if value not in attainment_kpis():
            raise ValueError(f'unknown KPI {value!r} (known: {", ".join(sorted(attainment_kpis()))})')
        return value

    @field_validator('bands')
    @classmethod
    def _bands(cls, bands: list[Band]) -> list[Band]:
        ordered = sorted(enumerate(bands), key=lambda pair: pair[1].min)
        for (i, lower), (j, upper) in zip(ordered, ordered[1:], strict=False):
            if lower.max is None or lower.max > upper.min:
                upper_bound = 'no upper bound' if lower.max is None else f'max {lower.max:g}'
                raise ValueError(f'bands {i} and {j} overlap (band {i} has {upper_bound}, band {j} starts at {upper.min:g})')
        return bands

    @field_validator('applies_to')
    @classmethod
    def _rule_ids(cls, value: list[str]) -> list[str]:
        bad = [rule_id for rule_id in value if not re.match(RULE_ID, rule_id)]
        if bad:
            raise ValueError(f'not a rule id: {", ".join(bad)}')
        return value

    def band_for(self, value: float) -> Band | None:
        return next((band for band in self.bands if band.holds(value)), None)


class SurveyBonusRule(_PeriodRuleBase):
    min_responses: int = Field(default=5, ge=1)
    threshold: float
    points: int = Field(ge=1)


class CsatBonusRule(SurveyBonusRule):
    kind: Literal['csat_bonus']
    # 'csat': share of 4-5 ratings (%); 'csat_average': mean rating (1-5); the report's definitions.
    metric: Literal['csat', 'csat_average'] = 'csat'

    @model_validator(mode='after')
    def _threshold(self) -> CsatBonusRule:
        top = 100.0 if self.metric == 'csat' else 5.0
        if not 0 <= self.threshold <= top:
            raise ValueError(f'threshold {self.threshold:g} is outside 0..{top:g} for {self.metric}')
        return self


class NpsBonusRule(SurveyBonusRule):
    kind: Literal['nps_bonus']
    metric: Literal['nps'] = 'nps'

    @field_validator('threshold')
    @classmethod
    def _threshold(cls, value: float) -> float:
        if not -100 <= value <= 100:
            raise ValueError(f'threshold {value:g} is outside -100..100 (NPS)')
        return value


class TeamBonusRule(_PeriodRuleBase):
    kind: Literal['team_bonus']
    period: Literal['monthly', 'quarterly'] = 'monthly'
    first_response_target_minutes: float = Field(gt=0)
    resolution_target_minutes: float = Field(gt=0)
    business_time: bool = Field(default=False, description='judge business-hours averages instead of calendar ones')
    min_tickets: int = Field(default=1, ge=1, description='the team must have resolved at least this many tickets')
    points: int = Field(ge=1)


PeriodRule = Annotated[AcceleratorRule | CsatBonusRule | NpsBonusRule | TeamBonusRule, Field(discriminator='kind')]

PERIOD_RULE_KINDS = ('accelerator', 'csat_bonus', 'nps_bonus', 'team_bonus')


def parse_period_rule(data: Any, context: dict[str, Any] | None = None) -> AcceleratorRule | CsatBonusRule | NpsBonusRule | TeamBonusRule:
    """One period rule from JSON data (for tests and tools; documents validate theirs as a list)."""
    from pydantic import TypeAdapter

    adapter: TypeAdapter[AcceleratorRule | CsatBonusRule | NpsBonusRule | TeamBonusRule] = TypeAdapter(PeriodRule)
    return adapter.validate_python(data, context=context)
