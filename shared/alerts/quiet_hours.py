"""When an alert may reach a person: quiet hours in the recipient's own time zone (pure).

A program sets a nightly quiet window (e.g. 21:00-08:00 local). An alert due inside it is held until the
window ends, in the recipient's time zone, whatever the sender's. A breach escalation may be marked
"shift hours only": it then also waits for the recipient's next working hours (their calendar).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.sla.calendar import BusinessCalendar


def _clock(value: str) -> time:
    hours, minutes = (int(part) for part in value.split(':'))
    return time(hours, minutes)


class QuietHours(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    start: str = Field(default='21:00', description='local HH:MM when quiet begins')
    end: str = Field(default='08:00', description='local HH:MM when quiet ends (may be the next day)')

    @field_validator('start', 'end')
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        try:
            _clock(value)
        except ValueError as exc:
            raise ValueError(f'{value!r} is not HH:MM') from exc
        return value

    def release(self, due: datetime, zone: str) -> datetime:
        """The first instant at or after `due` outside quiet hours, in the recipient's zone `zone`."""
        tz = ZoneInfo(zone)
        local = due.astimezone(tz)
        start, end = _clock(self.start), _clock(self.end)
        if start == end:
            return due  # no quiet window
        now = local.time()
        overnight = start > end
        inside = (now >= start or now < end) if overnight else (start <= now < end)
        if not inside:
            return due
        day = local.date() if (not overnight or now < end) else local.date() + timedelta(days=1)
        return datetime.combine(day, end, tzinfo=tz).astimezone(due.tzinfo)


def deliver_at(due: datetime, zone: str, quiet: QuietHours, shift: BusinessCalendar | None = None) -> datetime:
    """When an alert due at `due` goes out: after quiet hours, and within the recipient's shift when `shift` is
    given (for escalations marked shift-hours-only)."""
    at = quiet.release(due, zone)
    if shift is not None and not shift.is_open(at):
        at = shift.add(at, 1) - timedelta(seconds=1)  # the next opening instant
    return at
