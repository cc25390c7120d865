"""Business-time arithmetic: elapsed/add across nights, weekends, holidays, closures and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.sla.calendar import ALWAYS_OPEN, WEEKDAYS, BusinessCalendar

WORKWEEK = WEEKDAYS[:5]
US_EAST = ZoneInfo('America/New_York')
UK = ZoneInfo('Europe/London')
INDIA = ZoneInfo('Asia/Kolkata')

NEW_YORK = BusinessCalendar(
    calendar_id='us-nyc',
    timezone='America/New_York',
    hours={day: [('09:00', '17:00')] for day in WORKWEEK},
    holiday_country='US',
    holiday_subdivision='NY',
)
LONDON = BusinessCalendar(
    calendar_id='uk-lon',
    timezone='Europe/London',
    hours={day: [('13:30', '18:00'), ('09:00', '12:30')] for day in WORKWEEK},  # spans given out of order on purpose
    holiday_country='GB',
    holiday_subdivision='ENG',
    closures=[date(2026, 8, 14), date(2026, 12, 24)],
)
KOLKATA = BusinessCalendar(
    calendar_id='in-blr',
    timezone='Asia/Kolkata',
    hours={day: [('09:30', '18:30')] for day in WEEKDAYS[:6]},
)
CALENDARS = (NEW_YORK, LONDON, KOLKATA, ALWAYS_OPEN)

# Every day, so that the DST Sundays themselves are open.
NEW_YORK_DAILY = BusinessCalendar(
    calendar_id='us-nyc-daily', timezone='America/New_York', hours={day: [('09:00', '17:00')] for day in WEEKDAYS}
)
LONDON_DAILY = BusinessCalendar(
    calendar_id='uk-lon-daily', timezone='Europe/London', hours={day: [('09:00', '12:30'), ('13:30', '18:00')] for day in WEEKDAYS}
)
NEW_YORK_24X7 = BusinessCalendar(
    calendar_id='us-nyc-24x7', timezone='America/New_York', hours={day: [('00:00', '24:00')] for day in WEEKDAYS}
)
LONDON_24X7 = BusinessCalendar(calendar_id='uk-lon-24x7', timezone='Europe/London', hours={day: [('00:00', '24:00')] for day in WEEKDAYS})

HOUR = 3600.0
TOLERANCE = 1e-6
MICROSECOND = timedelta(microseconds=1)

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_US = int((datetime(2027, 1, 1, tzinfo=UTC) - YEAR_START) / MICROSECOND)
DST_CHANGES = (
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # US: 02:00 EST -> 03:00 EDT
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # US: 02:00 EDT -> 01:00 EST
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # UK: 01:00 GMT -> 02:00 BST
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # UK: 02:00 BST -> 01:00 GMT
)
NEAR_US = int(timedelta(days=4) / MICROSECOND)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in `zone`, as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def local_midnights(calendar: BusinessCalendar, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=calendar.zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=calendar.zone).astimezone(UTC)
    return start, end


def inside_open_hours_or_at_an_end(calendar: BusinessCalendar, instant: datetime) -> bool:
    day = calendar.local_date(instant)
    intervals = calendar.open_intervals(day - timedelta(days=1)) + calendar.open_intervals(day)
    return any(open_at < instant <= close_at for open_at, close_at in intervals)


anywhere_in_2026 = st.integers(min_value=0, max_value=YEAR_US).map(lambda us: YEAR_START + us * MICROSECOND)
around_dst = st.builds(lambda change, us: change + us * MICROSECOND, st.sampled_from(DST_CHANGES), st.integers(-NEAR_US, NEAR_US))
instants = st.one_of(anywhere_in_2026, around_dst)
calendars = st.sampled_from(CALENDARS)
business_seconds = st.one_of(st.integers(min_value=0, max_value=400 * 3600), st.integers(min_value=0, max_value=4 * 3600))

PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(calendar=calendars, a=instants, b=instants, c=instants)
def test_elapsed_is_monotonic_in_the_end_and_never_exceeds_wall_time(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    # Given a start and two ends, b <= c
    b, c = sorted((b, c))

    # When the business time up to each end is measured
    to_b, to_c = calendar.elapsed(a, b), calendar.elapsed(a, c)

    # Then the later end never has less, and business time is between zero and wall time
    assert 0.0 <= to_b <= to_c
    assert to_c <= max((c - a).total_seconds(), 0.0) + TOLERANCE


@PROPERTY
@given(calendar=calendars, a=instants, b=instants, c=instants)
def test_elapsed_is_additive_across_a_split(calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    # Given a <= b <= c
    a, b, c = sorted((a, b, c))

    # When [a, c) is measured whole and split at b
    whole, parts = calendar.elapsed(a, c), calendar.elapsed(a, b) + calendar.elapsed(b, c)

    # Then the parts add up to the whole, and a reversed range is empty
    assert whole == pytest.approx(parts, abs=TOLERANCE)
    assert calendar.elapsed(c, a) == 0.0


CLOSED_DAYS = [
    (NEW_YORK, date(2026, 3, 7)),  # Saturday
    (NEW_YORK, date(2026, 3, 8)),  # Sunday, clocks go forward
    (NEW_YORK, date(2026, 11, 1)),  # Sunday, clocks go back
    (NEW_YORK, date(2026, 10, 12)),  # Columbus Day
    (NEW_YORK, date(2026, 11, 26)),  # Thanksgiving
    (LONDON, date(2026, 3, 29)),  # Sunday, clocks go forward
    (LONDON, date(2026, 10, 25)),  # Sunday, clocks go back
    (LONDON, date(2026, 4, 3)),  # Good Friday
    (LONDON, date(2026, 12, 28)),  # Boxing Day (observed)
    (LONDON, date(2026, 8, 14)),  # closure (a Friday)
    (LONDON, date(2026, 12, 24)),  # closure (a Thursday)
    (KOLKATA, date(2026, 3, 8)),  # Sunday
]


@PROPERTY
@given(closed=st.sampled_from(CLOSED_DAYS), x=st.floats(0, 1), y=st.floats(0, 1))
def test_a_closed_day_has_no_business_time(closed: tuple[BusinessCalendar, date], x: float, y: float) -> None:
    # Given a weekend day, public holiday or closure date of a calendar, and two instants within it
    calendar, day = closed
    midnight, next_midnight = local_midnights(calendar, day)
    a, b = sorted(midnight + (next_midnight - midnight) * fraction for fraction in (x, y))

    # When business time within the day is measured
    # Then there is none, the calendar is closed all day and has no open intervals
    assert calendar.elapsed(a, b) == 0.0
    assert calendar.elapsed(midnight, next_midnight) == 0.0
    assert not calendar.is_open(a)
    assert calendar.open_intervals(day) == ()


def test_the_closed_days_are_closed_for_the_right_reason() -> None:
    # Given the holiday package's 2026 lists, and the working days either side of the holidays used
    us_ny = holidays.country_holidays('US', subdiv='NY', years=2026)
    gb_eng = holidays.country_holidays('GB', subdiv='ENG', years=2026)

    # Then the holidays are in the package, the closures are not holidays, and neighbours are full days
    assert date(2026, 10, 12) in us_ny and date(2026, 11, 26) in us_ny
    assert date(2026, 4, 3) in gb_eng and date(2026, 12, 28) in gb_eng
    assert date(2026, 8, 14) not in gb_eng and date(2026, 12, 24) not in gb_eng
    assert NEW_YORK.is_closed_day(date(2026, 11, 26)) and not NEW_YORK.is_closed_day(date(2026, 11, 25))
    assert LONDON.is_closed_day(date(2026, 8, 14)) and not LONDON.is_closed_day(date(2026, 8, 13))
    for calendar, day, hours in [(NEW_YORK, date(2026, 11, 25), 8), (NEW_YORK, date(2026, 11, 27), 8), (LONDON, date(2026, 8, 13), 8)]:
        assert calendar.elapsed(*local_midnights(calendar, day)) == hours * HOUR


@PROPERTY
@given(calendar=calendars, a=instants, seconds=business_seconds)
def test_add_is_the_inverse_of_elapsed(calendar: BusinessCalendar, a: datetime, seconds: int) -> None:
    # Given a start and an amount of business time
    # When the due instant is computed
    due = calendar.add(a, seconds)

    # Then exactly that much business time has passed by then, and the due instant is the first such instant
    assert due >= a
    assert calendar.elapsed(a, due) == pytest.approx(seconds, abs=TOLERANCE)
    if seconds > 0:
        assert inside_open_hours_or_at_an_end(calendar, due)
        assert calendar.elapsed(a, due - MICROSECOND) < seconds
    else:
        assert due == a


@PROPERTY
@given(calendar=calendars, a=instants, first=business_seconds, second=business_seconds)
def test_adding_in_two_steps_is_adding_the_sum(calendar: BusinessCalendar, a: datetime, first: int, second: int) -> None:
    # Given two amounts of business time
    # When they are added one after the other, and together
    # Then both land on the same instant
    assert calendar.add(calendar.add(a, first), second) == calendar.add(a, first + second)


@PROPERTY
@given(calendar=calendars, a=instants)
def test_is_open_agrees_with_elapsed(calendar: BusinessCalendar, a: datetime) -> None:
    # Given any instant
    # When the next microsecond is measured
    # Then it counts exactly when the calendar says it is open
    assert calendar.is_open(a) == (calendar.elapsed(a, a + MICROSECOND) > 0)


@PROPERTY
@given(a=instants, b=instants)
def test_always_open_counts_every_second(a: datetime, b: datetime) -> None:
    # Given the 24x7 calendar
    a, b = sorted((a, b))

    # Then business time is wall time, and adding is plain addition
    assert ALWAYS_OPEN.elapsed(a, b) == pytest.approx((b - a).total_seconds(), abs=TOLERANCE)
    assert ALWAYS_OPEN.add(a, (b - a).total_seconds()) == b
    assert ALWAYS_OPEN.is_open(a)


@pytest.mark.parametrize(
    ('calendar', 'day', 'hours'),
    [
        (NEW_YORK_24X7, date(2026, 3, 8), 23),
        (NEW_YORK_24X7, date(2026, 3, 9), 24),
        (NEW_YORK_24X7, date(2026, 11, 1), 25),
        (LONDON_24X7, date(2026, 3, 29), 23),
        (LONDON_24X7, date(2026, 10, 25), 25),
        (NEW_YORK_DAILY, date(2026, 3, 8), 8),
        (NEW_YORK_DAILY, date(2026, 11, 1), 8),
        (LONDON_DAILY, date(2026, 3, 29), 8),
        (LONDON_DAILY, date(2026, 10, 25), 8),
    ],
)
def test_a_day_of_wall_clock_hours_on_a_dst_change(calendar: BusinessCalendar, day: date, hours: int) -> None:
    # Given a calendar open 00:00-24:00 or 09:00-17:00 (or split 09:00-12:30, 13:30-18:00) every day
    midnight, next_midnight = local_midnights(calendar, day)

    # When the business time from local midnight to local midnight is measured
    # Then a 24-hour wall-clock day is 23 or 25 hours long on a change, and office hours are unchanged
    assert calendar.elapsed(midnight, next_midnight) == hours * HOUR
    assert sum((close - open_).total_seconds() for open_, close in calendar.open_intervals(day)) == hours * HOUR


def test_office_hours_open_at_local_nine_on_both_sides_of_a_dst_change() -> None:
    # Given New York office hours on the Sundays the clocks change, and the days around them
    # Then the day opens at 09:00 local whatever the UTC offset is
    assert NEW_YORK_DAILY.open_intervals(date(2026, 3, 7)) == ((local(US_EAST, 2026, 3, 7, 9), local(US_EAST, 2026, 3, 7, 17)),)
    assert NEW_YORK_DAILY.open_intervals(date(2026, 3, 8))[0][0] == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # EDT
    assert NEW_YORK_DAILY.open_intervals(date(2026, 3, 7))[0][0] == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # EST
    assert NEW_YORK_DAILY.open_intervals(date(2026, 11, 1))[0][0] == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # EST


@pytest.mark.parametrize(
    ('calendar', 'start', 'hours', 'due'),
    [
        # Friday 16:00 EST + 2 business hours = Monday 10:00 EDT (clocks went forward on Sunday)
        (NEW_YORK, local(US_EAST, 2026, 3, 6, 16), 2, local(US_EAST, 2026, 3, 9, 10)),
        # Friday 16:00 EDT + 2 business hours = Monday 10:00 EST (clocks went back on Sunday)
        (NEW_YORK, local(US_EAST, 2026, 10, 30, 16), 2, local(US_EAST, 2026, 11, 2, 10)),
        # London closes at 18:00: Friday 16:00 GMT + 3 h = Monday 10:00 BST, and back again in October
        (LONDON, local(UK, 2026, 3, 27, 16), 3, local(UK, 2026, 3, 30, 10)),
        (LONDON, local(UK, 2026, 10, 23, 16), 3, local(UK, 2026, 10, 26, 10)),
    ],
)
def test_a_due_time_across_the_dst_weekend_keeps_its_wall_clock_time(
    calendar: BusinessCalendar, start: datetime, hours: int, due: datetime
) -> None:
    # Given a Friday afternoon before a weekend on which the clocks change
    # When business hours are added
    answer = calendar.add(start, hours * HOUR)

    # Then the due time is Monday 10:00 local, and the UTC gap is not a whole number of days
    assert answer == due
    assert answer.astimezone(calendar.zone).time() == time(10, 0)
    assert calendar.elapsed(start, answer) == hours * HOUR
    assert (answer - start) % timedelta(days=1) != timedelta(hours=18)


def test_the_us_dst_weekend_shifts_the_utc_due_time_by_an_hour() -> None:
    # Given Friday 16:00 EST (21:00 UTC) before the spring change
    # When 2 business hours are added
    due = NEW_YORK.add(datetime(2026, 3, 6, 21, 0, tzinfo=UTC), 2 * HOUR)

    # Then it is Monday 14:00 UTC (10:00 EDT), not 15:00 UTC (10:00 EST)
    assert due == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ('calendar', 'start', 'seconds', 'due'),
    [
        # Friday 16:30 + 1 h across Columbus Day Monday: 30 min on Friday, 30 min on Tuesday
        (NEW_YORK, local(US_EAST, 2026, 10, 9, 16, 30), HOUR, local(US_EAST, 2026, 10, 13, 9, 30)),
        # Wednesday before Thanksgiving 16:00 + 2 h: the Friday after is a working day
        (NEW_YORK, local(US_EAST, 2026, 11, 25, 16), 2 * HOUR, local(US_EAST, 2026, 11, 27, 10)),
        # Before opening: the clock starts at 09:00
        (NEW_YORK, local(US_EAST, 2026, 6, 2, 7), 30 * 60, local(US_EAST, 2026, 6, 2, 9, 30)),
        # London lunch: 12:00 + 1 h = 12:30 + 30 min after 13:30
        (LONDON, local(UK, 2026, 6, 2, 12), HOUR, local(UK, 2026, 6, 2, 14)),
        # London during lunch: the clock starts at 13:30
        (LONDON, local(UK, 2026, 6, 2, 12, 45), 15 * 60, local(UK, 2026, 6, 2, 13, 45)),
        # Wednesday 23 Dec 17:00 + 2 h: closure (24th), Christmas, weekend, Boxing Day observed (28th)
        (LONDON, local(UK, 2026, 12, 23, 17), 2 * HOUR, local(UK, 2026, 12, 29, 10)),
        # Kolkata opens on Saturdays but not Sundays: Saturday 18:00 + 1 h = Monday 10:00
        (KOLKATA, local(INDIA, 2026, 1, 3, 18), HOUR, local(INDIA, 2026, 1, 5, 10)),
        # An exact fit ends at closing time, not at the next opening
        (NEW_YORK, local(US_EAST, 2026, 6, 2, 9), 8 * HOUR, local(US_EAST, 2026, 6, 2, 17)),
    ],
)
def test_add_examples(calendar: BusinessCalendar, start: datetime, seconds: float, due: datetime) -> None:
    # Given a start and an amount of business time
    # When it is added
    # Then the due instant is the expected wall-clock time, and measuring back gives the amount
    assert calendar.add(start, seconds) == due
    assert calendar.elapsed(start, due) == seconds


def test_elapsed_examples() -> None:
    # Given London's split day and New York's Columbus Day weekend
    # Then lunch does not count, and neither do the weekend and the holiday
    assert LONDON.elapsed(local(UK, 2026, 6, 2, 11), local(UK, 2026, 6, 2, 15)) == 3 * HOUR
    assert LONDON.elapsed(local(UK, 2026, 6, 2, 12, 40), local(UK, 2026, 6, 2, 13, 20)) == 0.0
    assert NEW_YORK.elapsed(local(US_EAST, 2026, 10, 9, 16, 30), local(US_EAST, 2026, 10, 13, 9, 30)) == HOUR
    assert KOLKATA.elapsed(local(INDIA, 2026, 1, 3, 9, 30), local(INDIA, 2026, 1, 3, 18, 30)) == 9 * HOUR


def test_zero_or_negative_business_time_is_due_at_once_even_when_closed() -> None:
    # Given a Saturday instant in New York
    saturday = local(US_EAST, 2026, 6, 6, 12)

    # Then adding nothing (or less) answers the start itself
    assert NEW_YORK.add(saturday, 0) == saturday
    assert NEW_YORK.add(saturday, -60) == saturday


def test_is_open_is_half_open_at_closing_time() -> None:
    # Given a New York Tuesday
    # Then 09:00 is open, 17:00 and 08:59:59 are not
    assert NEW_YORK.is_open(local(US_EAST, 2026, 6, 2, 9))
    assert NEW_YORK.is_open(local(US_EAST, 2026, 6, 2, 16, 59))
    assert not NEW_YORK.is_open(local(US_EAST, 2026, 6, 2, 17))
    assert not NEW_YORK.is_open(local(US_EAST, 2026, 6, 2, 9) - timedelta(seconds=1))
    assert not LONDON.is_open(local(UK, 2026, 6, 2, 13))


def test_a_target_that_never_fits_is_refused() -> None:
    # Given a calendar open on Mondays only, with every Monday for four years closed
    first_monday = date(2026, 1, 5)
    mondays = [first_monday + timedelta(weeks=n) for n in range(4 * 53)]
    calendar = BusinessCalendar(calendar_id='never', timezone='UTC', hours={'mon': [('09:00', '17:00')]}, closures=mondays)

    # When a due time is asked for
    # Then it is a configuration error, not an endless loop
    with pytest.raises(ValueError, match='do not fit'):
        calendar.add(datetime(2026, 1, 1, tzinfo=UTC), 60)


VALID: dict[str, Any] = {'calendar_id': 'c', 'timezone': 'UTC', 'hours': {'mon': [('09:00', '17:00')]}}


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        ({'timezone': 'Mars/Olympus_Mons'}, 'unknown IANA time zone'),
        ({'timezone': 'EST+5'}, 'unknown IANA time zone'),
        ({'hours': {'mon': [('09:00', '12:00'), ('11:30', '17:00')]}}, 'overlap'),
        ({'hours': {'mon': [('13:00', '17:00'), ('09:00', '13:30')]}}, 'overlap'),
        ({'hours': {}}, 'no opening hours'),
        ({'hours': {'mon': [], 'sat': []}}, 'no opening hours'),
        ({'hours': {'mon': [('09:00', '25:00')]}}, "'25:00' is not a time"),
        ({'hours': {'mon': [('09:00', '17:60')]}}, "'17:60' is not a time"),
        ({'hours': {'mon': [('9am', '17:00')]}}, 'is not HH:MM'),
        ({'hours': {'mon': [('17:00', '09:00')]}}, 'ends before it starts'),
        ({'hours': {'monday': [('09:00', '17:00')]}}, 'is not a weekday'),
        ({'holiday_subdivision': 'NY'}, 'needs holiday_country'),
        ({'holiday_country': 'XX'}, 'holiday'),
        ({'holiday_country': 'US', 'holiday_subdivision': 'ZZ'}, 'holiday'),
    ],
)
def test_invalid_calendars_are_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    # Given a calendar definition with one thing wrong
    # When it is validated
    # Then it is refused as a validation error (what the config loader catches) naming the problem
    with pytest.raises(ValidationError, match=message):
        BusinessCalendar(**(VALID | change))


def test_touching_spans_and_midnight_close_are_valid() -> None:
    # Given spans that touch, and one ending at 24:00
    calendar = BusinessCalendar(**(VALID | {'hours': {'mon': [('09:00', '12:00'), ('12:00', '24:00')]}}))

    # Then the day is open 09:00 to midnight, 15 hours
    assert calendar.elapsed(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC)) == 15 * HOUR
