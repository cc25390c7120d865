"""KPI settings an admin tunes per program: windows, minimum samples, service-level thresholds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events import Channel


class LevelThresholds(BaseModel):
    """Upper bounds (minutes) for levels 5 (stellar), 4 (above average), 3 (average) and 2 (below
    average); anything slower is level 1 (unacceptable). From the brief's service-level table."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    stellar: float
    above_average: float
    average: float
    below_average: float

    @model_validator(mode='after')
    def _ordered(self) -> LevelThresholds:
        if not self.stellar <= self.above_average <= self.average <= self.below_average:
            raise ValueError('thresholds must grow from stellar to below_average')
        return self

    def level(self, minutes: float) -> int:
        for level, bound in ((5, self.stellar), (4, self.above_average), (3, self.average), (2, self.below_average)):
            if minutes < bound:
                return level
        return 1


REALTIME = LevelThresholds(stellar=1, above_average=5, average=10.01, below_average=60.01)
SOCIAL = LevelThresholds(stellar=15, above_average=240, average=1440.01, below_average=4320)
ASYNC = LevelThresholds(stellar=60, above_average=240, average=1440.01, below_average=4320)


def _default_response_levels() -> dict[Channel, LevelThresholds]:
    levels = dict.fromkeys(Channel, ASYNC)
    levels.update({Channel.CHAT: REALTIME, Channel.PHONE: REALTIME, Channel.SMS: REALTIME, Channel.WHATSAPP: REALTIME})
    levels[Channel.SOCIAL] = SOCIAL
    return levels


class QualityThresholds(BaseModel):
    """Average CSAT (1-5) needed for each level: "consistently 5", "average >= 4.8", "consistently
    4-5", "mostly >= 3"; below that, level 1."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    stellar: float = 4.95
    above_average: float = 4.8
    average: float = 4.0
    below_average: float = 3.0

    def level(self, average_csat: float) -> int:
        for level, bound in ((5, self.stellar), (4, self.above_average), (3, self.average), (2, self.below_average)):
            if average_csat >= bound:
                return level
        return 1


class KpiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    min_sample: int = Field(default=5, ge=1, description='ratios over fewer items are reported as not yet significant')
    min_sample_overrides: dict[str, int] = Field(default_factory=dict, description='per KPI, e.g. {"csat": 10}')
    fcr_reopen_window_days: float = Field(default=7, gt=0, description='a reopen within this window undoes first-contact resolution')
    repeat_window_days: float = Field(default=30, gt=0, description='a repeat visit within this window undoes first-time fix')
    abandoned_tags: list[str] = Field(default_factory=lambda: ['abandoned', 'missed_chat', 'missed_call'])
    self_service_tags: list[str] = Field(default_factory=lambda: ['self_service', 'deflected', 'resolved_by_bot'])
    response_levels: dict[Channel, LevelThresholds] = Field(default_factory=_default_response_levels)
    quality_levels: QualityThresholds = Field(default_factory=QualityThresholds)

    @field_validator('response_levels')
    @classmethod
    def _complete_levels(cls, value: dict[Channel, LevelThresholds]) -> dict[Channel, LevelThresholds]:
        """Overriding some channels keeps the brief's thresholds for the others."""
        return {**_default_response_levels(), **value}

    def minimum(self, kpi: str) -> int:
        return self.min_sample_overrides.get(kpi, self.min_sample)
