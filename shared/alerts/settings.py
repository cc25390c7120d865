"""The alerting part of the service configuration (the `alerts` key of the SSM document): checkpoint rules,
quiet hours, approved WhatsApp templates, lateness cut-off and the daily reminder."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.alerts.plan import AlertKind, AlertRules
from shared.alerts.quiet_hours import QuietHours
from shared.notify.languages import LANGUAGES

_CONTENT_SID = re.compile(r'^HX[0-9a-fA-F]{32}$')


class ReminderSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    enabled: bool = True
    # Today's targets per role, in the reminder's first line (free text the program owner writes).
    targets: dict[str, str] = Field(default_factory=dict)


class AlertSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    rules: AlertRules = Field(default_factory=AlertRules)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    # A checkpoint first seen more than this long after its time (a late webhook, a backfill) is recorded as
    # expired instead of paging someone about the past.
    max_late_minutes: float = Field(default=360, gt=0)
    # alert kind -> language -> approved WhatsApp Content template SID (HX + 32 hex). No template: SMS.
    whatsapp_templates: dict[AlertKind, dict[str, str]] = Field(default_factory=dict)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)

    @field_validator('whatsapp_templates')
    @classmethod
    def _content_sids(cls, value: dict[AlertKind, dict[str, str]]) -> dict[AlertKind, dict[str, str]]:
        for kind, by_language in value.items():
            for language, sid in by_language.items():
                if language not in LANGUAGES:
                    raise ValueError(f'{kind.value}.{language}: language must be one of {", ".join(LANGUAGES)}')
                if not _CONTENT_SID.match(sid):
                    raise ValueError(f'{kind.value}.{language}: {sid!r} is not a Content SID (HX followed by 32 hex digits)')
        return value

    def template(self, kind: AlertKind, language: str) -> str | None:
        by_language = self.whatsapp_templates.get(kind, {})
        return by_language.get(language) or by_language.get('en')
