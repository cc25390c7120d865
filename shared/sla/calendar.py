"""Business-hours calendars: weekly opening hours in a location's own IANA time zone, public holidays
(country and state, from the `holidays` package) and custom closure dates.

Two operations, both exact to the microsecond across nights, weekends, holidays and DST changes:
`elapsed(start, end)` is the business time between two instants, `add(start, seconds)` is the instant
at which a given amount of business time has passed. Opening hours are wall-clock times: on the day
clocks go forward an 09:00-17:00 day is still 8 hours, and a 00:00-24:00 day is 23 hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

WEEKDAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
MAX_SEARCH_DAYS = 3 * 366  # a target that cannot be met within three years of open hours is a configuration error

Interval = tuple[datetime, datetime]


def _clock(value: str) -> int:
    """'HH:MM' (00:00-24:00) to minutes after midnight."""
    try:
        hours, minutes = value.split(':')
        total = int(hours) * 60 + int(minutes)
    except ValueError as exc:
        raise ValueError(f'{value!r} is not HH:MM') from exc
    if not (0 <= int(minutes) < 60 and 0 <= total <= 24 * 60):
        raise ValueError(f'{value!r} is not a time between 00:00 and 24:00')
    return total


OpeningSpan = Annotated[tuple[str, str], Field(description='["09:00", "17:30"]; "24:00" ends at midnight')]


@lru_cache(maxsize=64)
def _holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    import holidays  # imported on first use: only calendars with a holiday country need it

    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())


class BusinessCalendar(BaseModel):
    """Opening hours of one location (or team). An empty week means "never open" and is refused."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    calendar_id: str = Field(min_length=1, max_length=64)
    timezone: str = Field(description='IANA time zone, e.g. America/New_York')
    hours: dict[str, list[OpeningSpan]] = Field(description='weekday (mon..sun) -> opening spans in local time')
    holiday_country: str | None = Field(default=None, description='ISO 3166 country code for public holidays, e.g. US')
    holiday_subdivision: str | None = Field(default=None, description='state/province code, e.g. NY, KA, ENG')
    closures: list[date] = Field(default_factory=list, description='extra closed dates (local)')
    _zone: ZoneInfo = PrivateAttr()
    _week: tuple[tuple[tuple[int, int], ...], ...] = PrivateAttr()
    _days: dict[date, tuple[Interval, ...]] = PrivateAttr(default_factory=dict)

    @field_validator('timezone')
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f'unknown IANA time zone {value!r}') from exc
        return value

    @field_validator('hours')
    @classmethod
    def _valid_hours(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f'{day!r} is not a weekday (use {", ".join(WEEKDAYS)})')
            previous_end = -1
            for start, end in sorted(spans, key=lambda span: _clock(span[0])):
                if _clock(end) <= _clock(start):
                    raise ValueError(f'{day}: span {start}-{end} ends before it starts')
                if _clock(start) < previous_end:
                    raise ValueError(f'{day}: spans overlap at {start}')
                previous_end = _clock(end)
        return value

    @model_validator(mode='after')
    def _some_open_hours(self) -> BusinessCalendar:
        if not any(self.hours.get(day) for day in WEEKDAYS):
            raise ValueError('calendar has no opening hours in the week')
        if self.holiday_subdivision and not self.holiday_country:
            raise ValueError('holiday_subdivision needs holiday_country')
        return self

    def model_post_init(self, context: Any) -> None:
        self._zone = ZoneInfo(self.timezone)
        self._week = tuple(tuple(sorted((_clock(start), _clock(end)) for start, end in self.hours.get(day, []))) for day in WEEKDAYS)
        if self.holiday_country:
            try:  # fail early on an unknown country, as a validation error (the `holidays` package raises NotImplementedError)
                _holiday_dates(self.holiday_country, self.holiday_subdivision, 2024)
            except NotImplementedError as exc:
                raise ValueError(f'unknown holiday country or subdivision: {exc}') from exc

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def is_closed_day(self, day: date) -> bool:
        if day in self.closures:
            return True
        return bool(self.holiday_country) and day in _holiday_dates(self.holiday_country or '', self.holiday_subdivision, day.year)

    def open_intervals(self, day: date) -> tuple[Interval, ...]:
        """The open intervals of one local date, as UTC instants (empty on a holiday or closure)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        if self.is_closed_day(day):
            intervals: tuple[Interval, ...] = ()
        else:
            intervals = tuple((self._instant(day, start), self._instant(day, end)) for start, end in self._week[day.weekday()])
            intervals = tuple((start, end) for start, end in intervals if end > start)
        if len(self._days) > 4096:
            self._days.clear()
        self._days[day] = intervals
        return intervals

    def _instant(self, day: date, minutes: int) -> datetime:
        if minutes >= 24 * 60:
            day, minutes = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self._zone)
        return local.astimezone(UTC)

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business seconds between two instants (0 when end <= start)."""
        if end <= start:
            return 0.0
        total = timedelta()
        day = self.local_date(start) - timedelta(days=1)
        last = self.local_date(end) + timedelta(days=1)
        while day <= last:
            for open_at, close_at in self.open_intervals(day):
                lo, hi = max(open_at, start), min(close_at, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds()

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which `seconds` of business time have passed since `start`.

        With 0 seconds the answer is `start` itself, even outside opening hours."""
        if seconds <= 0:
            return start
        remaining = timedelta(seconds=seconds)
        day = self.local_date(start) - timedelta(days=1)
        for _ in range(MAX_SEARCH_DAYS):
            for open_at, close_at in self.open_intervals(day):
                lo = max(open_at, start)
                if close_at <= lo:
                    continue
                if close_at - lo >= remaining:
                    return lo + remaining
                remaining -= close_at - lo
            day += timedelta(days=1)
        raise ValueError(f'calendar {self.calendar_id}: {seconds} s of business time do not fit in {MAX_SEARCH_DAYS} days')

    def is_open(self, instant: datetime) -> bool:
        intervals = self.open_intervals(self.local_date(instant)) + self.open_intervals(self.local_date(instant) - timedelta(days=1))
        return any(start <= instant < end for start, end in intervals)


ALWAYS_OPEN = BusinessCalendar(calendar_id='24x7', timezone='UTC', hours={day: [('00:00', '24:00')] for day in WEEKDAYS})
