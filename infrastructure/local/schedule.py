"""EventBridge schedule expressions, evaluated locally: when would `cron(...)` or `rate(...)` fire between two
moments (UTC; the cron fields read in a time zone, as EventBridge Scheduler's ScheduleExpressionTimezone says)?
The local stack uses this to fire the template's scheduled functions on the replay's clock.

Supported, as EventBridge defines them: `rate(N minute|minutes|hour|hours|day|days)`, and `cron(minutes hours
day-of-month month day-of-week year)` with `*`, `?`, numbers, names (JAN-DEC, SUN-SAT), lists `a,b`, ranges
`a-b` and steps `a/n` or `*/n`; day-of-week counts 1 = SUN to 7 = SAT. The `L`, `W` and `#` forms are refused
with a clear error rather than guessed.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

MONTHS = {name: n for n, name in enumerate(['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'], start=1)}
DAYS = {name: n for n, name in enumerate(['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], start=1)}
_RATE = re.compile(r'rate\((\d+) (minute|minutes|hour|hours|day|days)\)')
_CRON = re.compile(r'cron\((.+)\)')


class UnsupportedExpression(ValueError):
    pass


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for `*` / `?` (anything)."""
    if text in ('*', '?'):
        return None
    if any(mark in text for mark in ('L', 'W', '#')) and not (names and text.upper() in names):
        raise UnsupportedExpression(f'cron field {text!r}: the L, W and # forms are not supported locally')
    values: set[int] = set()
    for part in text.split(','):
        step = 1
        if '/' in part:
            part, step_text = part.split('/', 1)
            step = int(step_text)
        if part == '*':
            start, end = low, high
        elif '-' in part:
            first, last = part.split('-', 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high):
            raise UnsupportedExpression(f'cron field {text!r}: values must be within {low}-{high}')
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return int(text)


def fire_times(
    expression: str, start: datetime, end: datetime, time_zone: str = 'UTC', *, anchor: datetime | None = None
) -> Iterator[datetime]:
    """Every moment in [start, end] at which the schedule fires (UTC, whole minutes; `start` itself counts only if it is
    one). `time_zone`: the IANA zone the cron fields are read in (EventBridge Scheduler's ScheduleExpressionTimezone;
    EventBridge rules are UTC), so `cron(5 0 1 * ? *)` in Asia/Kolkata fires at 18:35 UTC on the last day of the
    previous month. A local time that a daylight-saving change skips or repeats is taken as zoneinfo resolves it (fold
    0: once). A rate ignores it: it fires at `anchor` (when the schedule was created; default: the first whole minute
    from `start`) and every interval after, so consecutive windows over the same anchor list each fire time once."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip('s')
        step = timedelta(minutes=amount) if unit == 'minute' else timedelta(hours=amount) if unit == 'hour' else timedelta(days=amount)
        moment = _whole_minute_from(anchor.astimezone(UTC) if anchor is not None else start)
        if moment < start:  # skip the intervals before the window
            moment += step * -((moment - start) // step)
        while moment <= end:
            yield moment
            moment += step
        return
    cron = _CRON.fullmatch(expression.strip())
    if not cron:
        raise UnsupportedExpression(f'not a schedule expression: {expression!r}')
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise UnsupportedExpression(f'cron needs 6 fields (minutes hours day-of-month month day-of-week year): {expression!r}')
    minutes, hours, days, months = (
        _field(fields[0], 0, 59),
        _field(fields[1], 0, 23),
        _field(fields[2], 1, 31),
        _field(fields[3], 1, 12, MONTHS),
    )
    weekdays, years = _field(fields[4], 1, 7, DAYS), _field(fields[5], 1970, 2199)
    zone = ZoneInfo(time_zone)
    day = start.astimezone(zone).date()  # the cron's fields are local dates and times of `zone`
    while day <= end.astimezone(zone).date():
        weekday = day.isoweekday() % 7 + 1  # EventBridge: 1 = Sunday
        if (
            (months is None or day.month in months)
            and (years is None or day.year in years)
            and (days is None or day.day in days)
            and (weekdays is None or weekday in weekdays)
        ):
            for hour in sorted(hours) if hours is not None else range(24):
                for minute in sorted(minutes) if minutes is not None else range(60):
                    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)
                    if start <= moment <= end:
                        yield moment
        day += timedelta(days=1)


def _whole_minute_from(moment: datetime) -> datetime:
    """The first whole minute at or after `moment`."""
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


class RealTimeSchedules:
    """The schedules on the wall clock (`make run` serving after the replay): each call to `due(now)` returns every
    (name, fire time) in (the previous call, now], in time order; rates count from the moment this was created. However
    often it is asked, each schedule fires once per fire time of its expression."""

    def __init__(self, schedules: Iterable[tuple[str, str, str]], since: datetime) -> None:
        self._schedules = list(schedules)  # (name, expression, time zone)
        self._last = since.astimezone(UTC)
        self._anchor = _whole_minute_from(self._last)

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        now = now.astimezone(UTC)
        if now <= self._last:
            return []
        after = self._last + timedelta(microseconds=1)  # the window is (last, now]: the last call's fire times are done
        found = [
            (name, moment)
            for name, expression, time_zone in self._schedules
            for moment in fire_times(expression, after, now, time_zone, anchor=self._anchor)
        ]
        self._last = now
        return sorted(found, key=lambda item: item[1])


SCHEDULED_TIME = '<aws.scheduler.scheduled-time>'


def scheduler_input(template: str, moment: datetime) -> dict[str, Any]:
    """What EventBridge Scheduler gives a Lambda target: the schedule's Input as-is, its context attributes filled in
    (only `<aws.scheduler.scheduled-time>` is used here)."""
    return dict(json.loads(template.replace(SCHEDULED_TIME, moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ'))))


def scheduled_event(moment: datetime, rule_arn: str) -> dict[str, Any]:
    """The event EventBridge gives a function its schedule invokes."""
    return {
        'version': '0',
        'id': str(uuid.uuid4()),
        'detail-type': 'Scheduled Event',
        'source': 'aws.events',
        'account': '123456789012',
        'time': moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'region': 'us-east-1',
        'resources': [rule_arn],
        'detail': {},
    }
