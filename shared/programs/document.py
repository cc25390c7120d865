"""A program as data: the JSON document an admin edits in SSM Parameter Store, validated by pydantic.

One document per program (`/pitcrew/<stage>/programs/<program_id>`); the parameter's version is the program's
version. A document that does not validate is never used (`shared.programs.loader` keeps the last valid
version running); its errors name the field and the reason, e.g. `rules.2.caps.day: must be >= 1`.

Roles and locations are checked against a validation context when one is given
(`ProgramDocument.model_validate(doc, context={'roles': {...}, 'locations': {...}})`, or `parse_program`):
the locations of the service configuration, the roles of the directory. Without a context they are not
checked.

Each event rule names a registered kind (`shared.programs.kinds.REGISTRY`); its `params` are validated by that
kind's own model, errors named `rules.<i>.params.<field>`. Validation also compiles the document once: rules
indexed by the state kinds they can earn on, conditions as sets (what `shared.programs.engine` reads per
event).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.events import AssigneeRole, Channel, Priority
from shared.leagues.config import LeagueConfig
from shared.programs.awards import ClawbackPolicy
from shared.programs.kinds import REGISTRY, RuleKind
from shared.programs.kinds.base import invalid
from shared.programs.period_rules import PERIOD_RULE_KINDS, RULE_ID, Locations, PeriodRule, Roles, RuleTitles
from shared.recognition.config import RecognitionConfig, SpotAwardConfig
from shared.wallet.config import WalletConfig

PROGRAM_ID = RULE_ID  # lower-case slug: it is part of SSM parameter names, ledger reasons and award keys


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')


class Scope(_Model):
    """Who and what the program covers; an empty list means any."""

    locations: Locations = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    roles: Roles = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    job_grades: list[str] = Field(default_factory=list)


class Pilot(_Model):
    """Before `rollout_on` (a date in the program's time zone) only these locations earn."""

    locations: Locations = Field(min_length=1)
    rollout_on: date


class Conditions(_Model):
    """When a rule applies: the recipient's role and job grade; the ticket's channel, priority, location and
    customer tier (ticket tag 'tier:<name>'). An empty list means any."""

    roles: Roles = Field(default_factory=list)
    job_grades: list[str] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    priorities: list[Priority] = Field(default_factory=list)
    locations: Locations = Field(default_factory=list)
    customer_tiers: list[str] = Field(default_factory=list)


class Multiplier(_Model):
    """x`factor` when the award's input `input` is within [min, max] (a bound left out is open). A factor of 0
    is refused: remove the rule, or narrow its conditions, to pay nothing."""

    name: str = Field(min_length=1, max_length=64)
    factor: float = Field(gt=0, le=100)
    input: str = Field(min_length=1, max_length=64)
    min: float | None = None
    max: float | None = None

    @model_validator(mode='after')
    def _range(self) -> Multiplier:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise invalid('max', f'must be >= min ({self.min:g})', self.max)
        return self


class Caps(_Model):
    """Most points one employee may be released per rule per day, week and month (the program's time zone)."""

    day: int | None = Field(default=None, ge=1)
    week: int | None = Field(default=None, ge=1)
    month: int | None = Field(default=None, ge=1)

    def as_dict(self) -> dict[str, int]:
        return {name: value for name, value in (('day', self.day), ('week', self.week), ('month', self.month)) if value is not None}


class Clawback(_Model):
    """What a later undoing event does after the hold window: keep the points, or reverse them within
    `within_days` of their release."""

    policy: ClawbackPolicy = ClawbackPolicy.KEEP
    within_days: int = Field(default=0, ge=0, le=3650)

    @model_validator(mode='after')
    def _days(self) -> Clawback:
        if self.policy is ClawbackPolicy.REVERSE and self.within_days < 1:
            raise invalid('within_days', 'must be >= 1 when the policy is reverse', self.within_days)
        return self




class EventRule(_Model):
    rule_id: str = Field(pattern=RULE_ID)
    version: int = Field(default=1, ge=1)
    kind: str
    description: str = Field(default='', max_length=500)
    titles: RuleTitles = Field(default_factory=dict, description='the title per language on statements (en, es, hi, id)')
    points: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    params: dict[str, Any] = Field(default_factory=dict)
    conditions: Conditions = Field(default_factory=Conditions)
    multipliers: list[Multiplier] = Field(default_factory=list, max_length=10)
    credit: dict[AssigneeRole, int] | None = None
    caps: Caps = Field(default_factory=Caps)
    hold_hours: float = Field(default=0, ge=0, le=24 * 366)
    clawback: Clawback = Field(default_factory=Clawback)

    @field_validator('kind')
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in REGISTRY:
            raise ValueError(f'unknown rule kind {value!r} (known: {", ".join(sorted(REGISTRY))})')
        return value

    @field_validator('params')
    @classmethod
    def _params(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = REGISTRY.get(info.data.get('kind', ''))
        if kind is not None:
            kind.Params.model_validate(value, context=info.context)  # a ValidationError names params.<field>
        return value

    @field_validator('credit')
    @classmethod
    def _credit(cls, value: dict[AssigneeRole, int] | None) -> dict[AssigneeRole, int] | None:
        if value is None:
            return None
        for role, share in value.items():
            if not 0 < share <= 100:
                raise ValueError(f'the share of {role.value} must be between 1 and 100 (got {share})')
        total = sum(value.values())
        if total != 100:
            raise ValueError(f'shares must sum to 100 (got {total})')
        return value

    @model_validator(mode='after')
    def _fits_kind(self) -> EventRule:
        kind = REGISTRY[self.kind]
        if self.points < 0 and not kind.penalty:
            raise invalid('points', f'must be >= 0 (the kind {self.kind} awards points; penalties are the kinds '
                          f'{", ".join(sorted(k.name for k in REGISTRY.values() if k.penalty))})', self.points)
        if self.credit is not None and not kind.creditable:
            raise invalid('credit', f'the kind {self.kind} pays one person; credit splits apply to ticket and job-card kinds', self.credit)
        return self

    @property
    def ref(self) -> str:
        return f'{self.rule_id}@{self.version}'


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class ProgramDocument(_Model):
    program_id: str = Field(pattern=PROGRAM_ID)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default='', max_length=2000)
    time_zone: str = Field(description='IANA, e.g. Asia/Kolkata: the day, week and month of caps and periods')
    currency: str = Field(pattern=r'^[A-Z]{3}$', description='ISO 4217')
    points_per_currency_unit: float = Field(gt=0, description='conversion rate: a point costs 1/rate in the currency')
    period: Literal['monthly'] = 'monthly'
    scope: Scope = Field(default_factory=Scope)
    starts_on: date
    ends_on: date | None = None
    pilot: Pilot | None = None
    effective_from: AwareDatetime = Field(description='this version prices awards whose basis happened at or after this instant')
    rules: list[EventRule] = Field(default_factory=list, max_length=500)
    period_rules: list[PeriodRule] = Field(default_factory=list, max_length=100)
    floor: int = Field(default=0, description='penalties never take a balance below this')
    league: LeagueConfig | None = Field(default=None, description='the monthly league on this program\'s points (shared.leagues)')
    recognition: RecognitionConfig | None = Field(default=None, description='peer thanks: allowances, values (shared.recognition)')
    spot_awards: SpotAwardConfig | None = Field(default=None, description="managers' spot awards: budgets, reasons, approvals")
    wallet: WalletConfig | None = Field(default=None, description='spending: location budgets, debt policy, payroll payout')
    _compiled: CompiledProgram = PrivateAttr()

    @field_validator('effective_from')
    @classmethod
    def _effective_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @field_validator('time_zone')
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'unknown time zone {value!r} (an IANA name such as Asia/Kolkata)') from None
        return value

    @model_validator(mode='after')
    def _consistent(self) -> ProgramDocument:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise invalid('ends_on', f'must be on or after starts_on ({self.starts_on})', str(self.ends_on))
        if self.pilot is not None and self.scope.locations:
            outside = sorted(set(self.pilot.locations) - set(self.scope.locations))
            if outside:
                raise invalid(('pilot', 'locations'), f'not in the program scope: {", ".join(outside)}', self.pilot.locations)
        seen: dict[str, str] = {}
        for index, rule in enumerate(self.rules):
            if rule.rule_id in seen:
                raise invalid(('rules', index, 'rule_id'), f'{rule.rule_id!r} is already the id of {seen[rule.rule_id]}', rule.rule_id)
            seen[rule.rule_id] = f'rules.{index}'
        event_rules = {rule.rule_id for rule in self.rules}
        for index, period_rule in enumerate(self.period_rules):
            if period_rule.rule_id in seen:
                clash = f'{period_rule.rule_id!r} is already the id of {seen[period_rule.rule_id]}'
                raise invalid(('period_rules', index, 'rule_id'), clash, period_rule.rule_id)
            seen[period_rule.rule_id] = f'period_rules.{index}'
            missing = sorted(set(getattr(period_rule, 'applies_to', ())) - event_rules)
            if missing:
                raise invalid(('period_rules', index, 'applies_to'), f'no event rule {", ".join(missing)} in this program', missing)
        if self.league is not None:
            for index, badge in enumerate(self.league.badges):
                if badge.rule_id is not None and badge.rule_id not in seen:
                    raise invalid(('league', 'badges', index, 'rule_id'), f'no rule {badge.rule_id!r} in this program', badge.rule_id)
        return self

    def model_post_init(self, context: Any) -> None:
        self._compiled = CompiledProgram.of(self)

    @property
    def compiled(self) -> CompiledProgram:
        """The document as the engine reads it for every event (built once, at validation)."""
        return self._compiled

    def rules_for(self, subject: str) -> tuple[CompiledRule, ...]:
        """The event rules that can earn on a state of this kind ('ticket', 'job_card', 'training', ...)."""
        return self._compiled.index.get(subject, ())

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self._compiled.zone).date()

    def cost(self, points: int) -> float:
        """What `points` cost in the program's currency."""
        return points / self.points_per_currency_unit


def _set(values: Sequence[str]) -> frozenset[str] | None:
    return frozenset(str(value) for value in values) or None


@dataclass(frozen=True, slots=True)
class CompiledScope:
    locations: frozenset[str] | None
    regions: frozenset[str] | None
    roles: frozenset[str] | None
    channels: frozenset[str] | None
    job_grades: frozenset[str] | None

    @classmethod
    def of(cls, scope: Scope) -> CompiledScope:
        return cls(_set(scope.locations), _set(scope.regions), _set(scope.roles), _set(scope.channels), _set(scope.job_grades))


@dataclass(frozen=True, slots=True)
class CompiledProgram:
    """Plain attributes (no pydantic attribute lookups on the hot path) and the rules by subject."""

    program_id: str
    time_zone: str
    zone: ZoneInfo
    currency: str
    points_per_currency_unit: float
    effective_from: datetime
    starts_on: date
    ends_on: date | None
    pilot_locations: frozenset[str] | None
    rollout_on: date | None
    scope: CompiledScope
    index: Mapping[str, tuple[CompiledRule, ...]]

    @classmethod
    def of(cls, document: ProgramDocument) -> CompiledProgram:
        by_subject: dict[str, list[CompiledRule]] = {}
        for rule in document.rules:
            compiled = CompiledRule.of(rule)
            for subject in compiled.kind.subjects:
                by_subject.setdefault(subject, []).append(compiled)
        pilot = document.pilot
        return cls(
            program_id=document.program_id,
            time_zone=document.time_zone,
            zone=ZoneInfo(document.time_zone),
            currency=document.currency,
            points_per_currency_unit=document.points_per_currency_unit,
            effective_from=document.effective_from,
            starts_on=document.starts_on,
            ends_on=document.ends_on,
            pilot_locations=frozenset(pilot.locations) if pilot is not None else None,
            rollout_on=pilot.rollout_on if pilot is not None else None,
            scope=CompiledScope.of(document.scope),
            index={subject: tuple(rules) for subject, rules in by_subject.items()},
        )


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """An event rule as the engine reads it for every event: sets instead of lists, the kind resolved, the
    params validated once."""

    rule: EventRule
    rule_id: str
    version: int
    kind: RuleKind
    params: BaseModel
    points: int
    sign: int
    roles: frozenset[str] | None
    job_grades: frozenset[str] | None
    channels: frozenset[str] | None
    priorities: frozenset[str] | None
    locations: frozenset[str] | None
    tiers: frozenset[str] | None
    multipliers: tuple[Multiplier, ...]
    credit: tuple[tuple[AssigneeRole, int], ...] | None
    caps: Mapping[str, int]
    hold: timedelta
    clawback: ClawbackPolicy
    clawback_days: int

    @classmethod
    def of(cls, rule: EventRule) -> CompiledRule:
        kind = REGISTRY[rule.kind]
        conditions = rule.conditions
        return cls(
            rule=rule,
            rule_id=rule.rule_id,
            version=rule.version,
            kind=kind,
            params=kind.Params.model_validate(rule.params),
            points=abs(rule.points) if kind.penalty else rule.points,
            sign=-1 if kind.penalty else 1,
            roles=_set(conditions.roles),
            job_grades=_set(conditions.job_grades),
            channels=_set(conditions.channels),
            priorities=_set(conditions.priorities),
            locations=_set(conditions.locations),
            tiers=_set(conditions.customer_tiers),
            multipliers=tuple(rule.multipliers),
            credit=tuple(sorted(rule.credit.items())) if rule.credit else None,
            caps=rule.caps.as_dict(),
            hold=timedelta(hours=rule.hold_hours),
            clawback=rule.clawback.policy,
            clawback_days=rule.clawback.within_days if rule.clawback.policy is ClawbackPolicy.REVERSE else 0,
        )


# --- errors ------------------------------------------------------------------------------------------------


class ProgramInvalid(ValueError):
    """A program document that does not validate; `errors` are 'field.path: reason' lines."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__('; '.join(errors))
        self.errors = list(errors)


def _number(value: Any) -> str:
    return f'{value:g}' if isinstance(value, float) else str(value)


_REASONS: dict[str, Any] = {
    'greater_than_equal': lambda ctx: f'must be >= {_number(ctx["ge"])}',
    'greater_than': lambda ctx: f'must be > {_number(ctx["gt"])}',
    'less_than_equal': lambda ctx: f'must be <= {_number(ctx["le"])}',
    'less_than': lambda ctx: f'must be < {_number(ctx["lt"])}',
    'missing': lambda ctx: 'required',
    'extra_forbidden': lambda ctx: 'unknown field',
    'too_short': lambda ctx: f'must have at least {ctx.get("min_length")} item(s)',
    'too_long': lambda ctx: f'must have at most {ctx.get("max_length")} item(s)',
    'string_pattern_mismatch': lambda ctx: f'must match {ctx.get("pattern")}',
    'timezone_aware': lambda ctx: 'must carry a time zone (e.g. 2026-11-01T00:00:00+05:30)',
}


def _path(loc: Sequence[int | str]) -> str:
    parts = list(loc)
    # A period rule is a union on `kind`: pydantic puts the kind's tag in the path; the document has none.
    if len(parts) > 2 and parts[0] == 'period_rules' and parts[2] in PERIOD_RULE_KINDS:
        del parts[2]
    return '.'.join(str(part) for part in parts) or '(document)'


def describe(exc: ValidationError) -> list[str]:
    """'field.path: reason' for every error, e.g. 'rules.2.caps.day: must be >= 1'."""
    lines = []
    for error in exc.errors(include_url=False):
        render = _REASONS.get(error['type'])
        reason = render(error.get('ctx') or {}) if render else error['msg'].removeprefix('Value error, ')
        lines.append(f'{_path(error["loc"])}: {reason}')
    return lines


def parse_program(data: str | bytes | Mapping[str, Any], context: Mapping[str, Any] | None = None) -> ProgramDocument:
    """A validated program document from JSON text or data; `ProgramInvalid` names each bad field and why."""
    try:
        raw = json.loads(data) if isinstance(data, str | bytes) else data
    except json.JSONDecodeError as exc:
        raise ProgramInvalid([f'(document): not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})']) from None
    if not isinstance(raw, Mapping):
        raise ProgramInvalid(['(document): must be a JSON object'])
    try:
        return ProgramDocument.model_validate(raw, context=dict(context) if context is not None else None)
    except ValidationError as exc:
        raise ProgramInvalid(describe(exc)) from None


@lru_cache(maxsize=64)
def parse_cached(text: str, context_key: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> ProgramDocument:
    """`parse_program` for a parameter value, memoised: an unchanged document is validated once per container."""
    return parse_program(text, {key: set(values) for key, values in context_key} if context_key else None)
