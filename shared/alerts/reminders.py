"""The daily reminder: one per person per working day, due at the start of their shift in their location's time zone
(pure planning; the content is composed when it goes out, from the worklist as it is then).

A location whose calendar is open around the clock (or a person without a known location) has no shift start; the
reminder then goes at `default_start` in the person's own time zone. Closed days (weekends, holidays, closures)
get no reminder. The key `reminder|<employee>|<local date>` makes planning the same day twice harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.sync import PendingAlert, alert_id
from shared.sla.calendar import BusinessCalendar
from shared.sla.config import ServiceConfig

DEFAULT_START = time(9, 0)


@dataclass(frozen=True)
class Person:
    employee_id: str
    location_id: str | None
    time_zone: str
    active: bool = True


def shift_start(calendar: BusinessCalendar, day: date, zone: str) -> datetime | None:
    """When the person's working day `day` starts: the calendar's first opening that day, None on a closed day."""
    if calendar.is_closed_day(day):
        return None
    if _always_open(calendar):  # open around the clock: no shift to follow
        return datetime.combine(day, DEFAULT_START, tzinfo=ZoneInfo(zone))
    intervals = calendar.open_intervals(day)
    return intervals[0][0] if intervals else None


def plan_reminders(people: Iterable[Person], config: ServiceConfig, now: datetime, horizon: timedelta) -> list[PendingAlert]:
    """Every reminder due in (now, now + horizon]."""
    if not config.alerts.reminders.enabled:
        return []
    found: list[PendingAlert] = []
    for person in people:
        if not person.active:
            continue
        location = config.location(person.location_id)
        calendar = config.calendar(location.calendar_id)
        zone = person.time_zone if _always_open(calendar) else calendar.timezone
        first = now.astimezone(ZoneInfo(zone)).date()
        for offset in range(0, horizon.days + 2):
            day = first + timedelta(days=offset)
            at = shift_start(calendar, day, zone)
            if at is None or not (now < at <= now + horizon):
                continue
            key = f'reminder|{person.employee_id}|{day.isoformat()}'
            found.append(
                PendingAlert(
                    alert_id=alert_id(key, Recipient.ASSIGNEE),
                    ticket_key=f'reminder|{person.employee_id}',
                    ref=day.isoformat(),
                    kind=AlertKind.DAILY_REMINDER,
                    metric='day',
                    threshold=day.isoformat(),
                    role=Recipient.ASSIGNEE,
                    subject=person.employee_id,
                    due_at=at,
                    location_id=location.location_id,
                )
            )
    return found


def _always_open(calendar: BusinessCalendar) -> bool:
    return len(calendar.hours) == 7 and all(list(map(tuple, spans)) == [('00:00', '24:00')] for spans in calendar.hours.values())
