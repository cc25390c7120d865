"""The service configuration an admin edits in the console: locations (region, business-hours
calendar), SLA policies and KPI settings, as one JSON document in SSM Parameter Store
(`SERVICE_CONFIG_PARAMETER`, e.g. /pitcrew/prod/service-config). Validated with pydantic; a document
that does not validate is refused with the field and the reason (the functions keep the last good
one, or the built-in default when there has never been one).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from shared.alerts.settings import AlertSettings
from shared.kpi.settings import KpiSettings
from shared.sla.calendar import ALWAYS_OPEN, BusinessCalendar
from shared.sla.policy import DEFAULT_POLICIES, SlaPolicy
from shared.verify.settings import SourceSettings

UNKNOWN_LOCATION = 'unassigned'


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    # '|' separates a scope from its channel in the KPI aggregates, so ids cannot contain it.
    location_id: str = Field(min_length=1, max_length=128, pattern=r'^[^|]+$')
    name: str = ''
    region: str = Field(default='default', min_length=1, max_length=64, pattern=r'^[^|]+$')
    calendar_id: str = Field(min_length=1, max_length=64)


class ServiceConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    version: int = Field(default=1, ge=1)
    calendars: list[BusinessCalendar] = Field(default_factory=lambda: [ALWAYS_OPEN])
    locations: list[Location] = Field(default_factory=list)
    default_calendar_id: str = Field(default=ALWAYS_OPEN.calendar_id, description='for tickets whose location is not listed')
    sla_policies: list[SlaPolicy] = Field(default_factory=lambda: list(DEFAULT_POLICIES))
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    # Per source (webhook name): verify with the source's API, freshness window (shared/verify/settings.py).
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    _calendars: dict[str, BusinessCalendar] = PrivateAttr(default_factory=dict)
    _locations: dict[str, Location] = PrivateAttr(default_factory=dict)

    @model_validator(mode='after')
    def _references(self) -> ServiceConfig:
        known = {calendar.calendar_id for calendar in self.calendars}
        if len(known) != len(self.calendars):
            raise ValueError('calendars: calendar_id values must be unique')
        for index, location in enumerate(self.locations):
            if location.calendar_id not in known:
                raise ValueError(f'locations.{index}.calendar_id: no calendar {location.calendar_id!r}')
        if self.default_calendar_id not in known:
            raise ValueError(f'default_calendar_id: no calendar {self.default_calendar_id!r}')
        ids = [policy.policy_id for policy in self.sla_policies]
        if len(set(ids)) != len(ids):
            raise ValueError('sla_policies: policy_id values must be unique')
        return self

    def model_post_init(self, context: Any) -> None:
        self._calendars = {calendar.calendar_id: calendar for calendar in self.calendars}
        self._locations = {location.location_id: location for location in self.locations}

    def location(self, location_id: str | None) -> Location:
        found = self._locations.get(location_id or '')
        if found is not None:
            return found
        safe_id = (location_id or UNKNOWN_LOCATION).replace('|', '/')
        return Location(location_id=safe_id, region='default', calendar_id=self.default_calendar_id)

    def calendar(self, calendar_id: str) -> BusinessCalendar:
        return self._calendars[calendar_id]

    def calendar_for(self, location_id: str | None) -> BusinessCalendar:
        return self.calendar(self.location(location_id).calendar_id)


DEFAULT_CONFIG = ServiceConfig()


def parse_config(text: str) -> ServiceConfig:
    return ServiceConfig.model_validate(json.loads(text))


_last_good: ServiceConfig | None = None


def load_config() -> ServiceConfig:
    """The current service configuration: the SSM parameter named by SERVICE_CONFIG_PARAMETER
    (cached SERVICE_CONFIG_MAX_AGE_S seconds), else the built-in default. A parameter that does not
    validate is logged with the field and the reason, and the last good configuration stays in use."""
    global _last_good
    from shared.config import get_settings

    settings = get_settings()
    if not settings.SERVICE_CONFIG_PARAMETER:
        return DEFAULT_CONFIG
    from aws_lambda_powertools.utilities import parameters
    from pydantic import ValidationError

    from shared.errors import safe_error_text
    from shared.observability import logger

    try:
        text = parameters.get_parameter(settings.SERVICE_CONFIG_PARAMETER, max_age=settings.SERVICE_CONFIG_MAX_AGE_S)
        config = _parsed(str(text))
    except (ValidationError, ValueError) as exc:
        logger.error('service configuration refused; keeping the last good one', extra={'error': safe_error_text(exc)[:2000]})
        return _last_good or DEFAULT_CONFIG
    _last_good = config
    return config


@lru_cache(maxsize=4)
def _parsed(text: str) -> ServiceConfig:
    return parse_config(text)
