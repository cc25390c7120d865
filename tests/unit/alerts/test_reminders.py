"""The daily reminder: due at the start of the person's shift in their location's time zone, none on closed days,
09:00 in the person's own zone when the location is open around the clock; keys stable per person and local day (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.reminders import Person, plan_reminders, shift_start
from shared.alerts.settings import AlertSettings, ReminderSettings
from shared.sla.calendar import ALWAYS_OPEN, BusinessCalendar
from shared.sla.config import Location, ServiceConfig

WEEKDAYS = ('mon', 'tue', 'wed', 'thu', 'fri')
NYC = BusinessCalendar(
    calendar_id='nyc', timezone='America/New_York', hours={d: [('09:00', '17:00')] for d in WEEKDAYS}, holiday_country='US'
)
CONFIG = ServiceConfig(calendars=[ALWAYS_OPEN, NYC], locations=[Location(location_id='US-NYC', calendar_id='nyc')])

ANA = Person('E1', 'US-NYC', 'America/New_York')
CHANDRA = Person('E3', None, 'Asia/Kolkata')  # no known location: the 24x7 default calendar
GONE = Person('E9', 'US-NYC', 'America/New_York', active=False)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_the_shift_starts_at_the_first_opening_in_the_location_zone_across_dst() -> None:
    # Given a New York Monday-to-Friday 09:00-17:00 calendar
    # When the shift start of a winter Monday (EST, UTC-5) and a summer Monday (EDT, UTC-4) is asked
    winter = shift_start(NYC, date(2026, 11, 23), 'Asia/Kolkata')
    summer = shift_start(NYC, date(2026, 7, 13), 'Asia/Kolkata')

    # Then it is 09:00 New York each time (the person's own zone does not matter for a real shift)
    assert winter == utc(11, 23, 14)
    assert summer == utc(7, 13, 13)


def test_the_first_of_several_openings_is_the_shift_start() -> None:
    # Given a split shift 13:00-17:00 and 07:30-11:00 (listed out of order)
    split = BusinessCalendar(calendar_id='split', timezone='America/New_York', hours={'mon': [('13:00', '17:00'), ('07:30', '11:00')]})

    # When Monday's shift start is asked, then it is the earlier opening, 07:30 EST
    assert shift_start(split, date(2026, 11, 23), 'America/New_York') == utc(11, 23, 12, 30)


def test_there_is_no_shift_on_a_weekend_or_a_public_holiday() -> None:
    # Given the New York calendar with US public holidays
    # When a Saturday and Thanksgiving (Thursday 26 November 2026) are asked, then neither has a shift
    assert shift_start(NYC, date(2026, 11, 21), 'America/New_York') is None
    assert shift_start(NYC, date(2026, 11, 26), 'America/New_York') is None
    # And without the holiday country the same Thursday is an ordinary working day
    plain = BusinessCalendar(calendar_id='plain', timezone='America/New_York', hours={d: [('09:00', '17:00')] for d in WEEKDAYS})
    assert shift_start(plain, date(2026, 11, 26), 'America/New_York') == utc(11, 26, 14)


def test_around_the_clock_the_reminder_goes_at_nine_in_the_persons_own_zone() -> None:
    # Given a calendar open 24x7 (in UTC)
    # When the shift start of a person in Bengaluru (UTC+5:30) and one in New York (EST) is asked
    bengaluru = shift_start(ALWAYS_OPEN, date(2026, 11, 23), 'Asia/Kolkata')
    new_york = shift_start(ALWAYS_OPEN, date(2026, 11, 23), 'America/New_York')

    # Then it is 09:00 local for each (not the calendar's 00:00 UTC opening)
    assert bengaluru == utc(11, 23, 3, 30)
    assert new_york == utc(11, 23, 14)
    # And a weekend day is a working day around the clock
    assert shift_start(ALWAYS_OPEN, date(2026, 11, 22), 'Asia/Kolkata') == utc(11, 22, 3, 30)


def test_a_closed_day_has_no_shift_even_around_the_clock() -> None:
    # Given a location open 24x7 in New York but closed for Thanksgiving (a closure date)
    closed = BusinessCalendar(
        calendar_id='24x7-nyc',
        timezone='America/New_York',
        hours={d: [('00:00', '24:00')] for d in (*WEEKDAYS, 'sat', 'sun')},
        closures=[date(2026, 11, 26)],
    )
    assert closed.open_intervals(date(2026, 11, 26)) == ()

    # When the shift start of the closed day and of the next day is asked
    # Then the closed day has none ("None on a closed day"; "closures get no reminder"), the next day starts at 09:00 local
    assert shift_start(closed, date(2026, 11, 27), 'America/New_York') == utc(11, 27, 14)
    assert shift_start(closed, date(2026, 11, 26), 'America/New_York') is None


def test_reminders_are_planned_within_the_horizon_for_active_people_only() -> None:
    # Given Sunday 22 November 12:00Z and a two-day horizon (to Tuesday 12:00Z)
    now, horizon = utc(11, 22, 12), timedelta(days=2)

    # When reminders are planned for a New York advisor, a Bengaluru agent without location and an inactive person
    found = plan_reminders([ANA, CHANDRA, GONE], CONFIG, now, horizon)

    # Then the New Yorker gets Monday 09:00 EST (Tuesday's 14:00Z is past the horizon, Sunday is closed), the Bengaluru
    # agent gets 09:00 IST on Monday and Tuesday (Sunday's 03:30Z is already past), and the inactive person nothing
    assert sorted((alert.alert_id, alert.due_at) for alert in found) == [
        ('reminder|E1|2026-11-23#assignee', utc(11, 23, 14)),
        ('reminder|E3|2026-11-23#assignee', utc(11, 23, 3, 30)),
        ('reminder|E3|2026-11-24#assignee', utc(11, 24, 3, 30)),
    ]


def test_a_reminder_describes_the_person_and_the_day() -> None:
    # Given the New Yorker's Monday reminder
    [alert] = plan_reminders([ANA], CONFIG, utc(11, 23, 0), timedelta(days=1))

    # Then it is a daily reminder for the assignee role about that person, on their location
    assert alert.kind is AlertKind.DAILY_REMINDER
    assert alert.role is Recipient.ASSIGNEE
    assert (alert.subject, alert.ticket_key, alert.ref, alert.threshold) == ('E1', 'reminder|E1', '2026-11-23', '2026-11-23')
    assert alert.location_id == 'US-NYC'
    assert alert.shift_only is False


def test_the_window_excludes_now_and_includes_its_end() -> None:
    # Given now exactly at Monday's shift start and a 24-hour horizon ending exactly at Tuesday's
    now = utc(11, 23, 14)

    # When reminders are planned
    found = plan_reminders([ANA], CONFIG, now, timedelta(hours=24))

    # Then Monday's (already due: it was planned before) is left out and Tuesday's is in
    assert [alert.alert_id for alert in found] == ['reminder|E1|2026-11-24#assignee']


def test_a_short_horizon_reaches_into_the_next_day() -> None:
    # Given Sunday 23:00 New York (Monday 04:00Z) and a 12-hour horizon (to Monday 16:00Z)
    found = plan_reminders([ANA], CONFIG, utc(11, 23, 4), timedelta(hours=12))

    # Then Monday's 09:00 New York reminder is in it
    assert [(alert.alert_id, alert.due_at) for alert in found] == [('reminder|E1|2026-11-23#assignee', utc(11, 23, 14))]


def test_weekends_and_holidays_get_no_reminder() -> None:
    # Given Friday 20 November 20:00Z with a three-day horizon, and Wednesday 25 November 20:00Z with a two-day horizon
    weekend = plan_reminders([ANA], CONFIG, utc(11, 20, 20), timedelta(days=3))
    thanksgiving = plan_reminders([ANA], CONFIG, utc(11, 25, 20), timedelta(days=2))

    # Then the New Yorker gets Monday's reminder only (no Saturday or Sunday), and Friday's but not Thanksgiving's
    assert [alert.alert_id for alert in weekend] == ['reminder|E1|2026-11-23#assignee']
    assert [alert.alert_id for alert in thanksgiving] == ['reminder|E1|2026-11-27#assignee']


def test_disabled_reminders_plan_nothing() -> None:
    # Given a configuration with the daily reminder switched off
    config = ServiceConfig(
        calendars=[ALWAYS_OPEN, NYC],
        locations=[Location(location_id='US-NYC', calendar_id='nyc')],
        alerts=AlertSettings(reminders=ReminderSettings(enabled=False)),
    )

    # When reminders are planned for a whole week, then there are none
    assert plan_reminders([ANA, CHANDRA], config, utc(11, 22, 12), timedelta(days=7)) == []


def test_planning_the_same_day_twice_gives_the_same_reminders() -> None:
    # Given the planner run at Sunday 12:00Z and again six hours later, both with a two-day horizon
    first = plan_reminders([ANA, CHANDRA], CONFIG, utc(11, 22, 12), timedelta(days=2))
    second = plan_reminders([ANA, CHANDRA], CONFIG, utc(11, 22, 18), timedelta(days=2))

    # Then every reminder both runs see has the same id and due time (writing it twice is harmless)
    earlier = {alert.alert_id: alert for alert in first}
    later = {alert.alert_id: alert for alert in second}
    shared = earlier.keys() & later.keys()
    assert shared == {'reminder|E1|2026-11-23#assignee', 'reminder|E3|2026-11-23#assignee', 'reminder|E3|2026-11-24#assignee'}
    assert all(earlier[key] == later[key] for key in shared)
