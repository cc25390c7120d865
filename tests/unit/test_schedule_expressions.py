"""The local stack's reading of EventBridge schedule expressions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infrastructure.local.schedule import UnsupportedExpression, fire_times, scheduled_event

OCTOBER = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 31, 23, 59, tzinfo=UTC))


def test_weekly_cron_fires_on_each_monday_at_its_time() -> None:
    # Given a weekly schedule (EventBridge day-of-week MON) and October 2026 (Mondays: 5, 12, 19, 26)
    # When its fire times are listed
    times = list(fire_times('cron(15 2 ? * MON *)', *OCTOBER))
    # Then it fires once on each Monday at 02:15 UTC
    assert times == [datetime(2026, 10, day, 2, 15, tzinfo=UTC) for day in (5, 12, 19, 26)]


def test_day_of_week_numbers_count_from_sunday() -> None:
    # Given day-of-week 1 (Sunday in EventBridge, unlike ISO) and 2-6 (Monday to Friday)
    # When listed over one week
    week = (datetime(2026, 10, 4, tzinfo=UTC), datetime(2026, 10, 10, 23, 59, tzinfo=UTC))
    sundays = list(fire_times('cron(0 8 ? * 1 *)', *week))
    workdays = list(fire_times('cron(0 8 ? * 2-6 *)', *week))
    # Then Sunday the 4th alone, and the 5th to the 9th
    assert sundays == [datetime(2026, 10, 4, 8, 0, tzinfo=UTC)]
    assert [t.day for t in workdays] == [5, 6, 7, 8, 9]


def test_steps_lists_and_month_names() -> None:
    # Given every 20 minutes in hours 9 and 17 on the 1st of OCT and NOV
    times = list(fire_times('cron(0/20 9,17 1 OCT,NOV ? 2026)', datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)))
    # Then 3 times an hour, 2 hours a day, 2 days
    assert len(times) == 12
    assert times[0] == datetime(2026, 10, 1, 9, 0, tzinfo=UTC) and times[-1] == datetime(2026, 11, 1, 17, 40, tzinfo=UTC)


def test_rate_fires_from_the_start_at_its_interval() -> None:
    # Given rate(6 hours) over one day
    times = list(fire_times('rate(6 hours)', datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 1, 23, 59, tzinfo=UTC)))
    # Then four times, six hours apart
    assert [t.hour for t in times] == [0, 6, 12, 18]


@pytest.mark.parametrize('expression', ['cron(0 8 L * ? *)', 'cron(0 8 ? * 6#3 *)', 'cron(0 8 * *)', 'at(2026-10-01T00:00:00)', 'cron(61 8 * * ? *)'])
def test_forms_not_supported_locally_are_refused_clearly(expression: str) -> None:
    # Given an expression the local evaluator does not implement (or that is invalid)
    # When its fire times are asked for
    # Then it refuses with a reason instead of guessing
    with pytest.raises(UnsupportedExpression):
        list(fire_times(expression, *OCTOBER))


def test_scheduled_event_carries_the_fire_time() -> None:
    # Given a fire time, when the scheduled event is built
    event = scheduled_event(datetime(2026, 10, 5, 2, 15, tzinfo=UTC), 'arn:aws:events:us-east-1:123456789012:rule/audit')
    # Then it has EventBridge's shape and the time of the schedule, not of the replay
    assert event['detail-type'] == 'Scheduled Event' and event['source'] == 'aws.events'
    assert event['time'] == '2026-10-05T02:15:00Z'


def test_cron_fields_are_local_time_in_the_schedules_time_zone() -> None:
    # Given the league close's schedule, 00:05 on the 1st, read in Asia/Kolkata (UTC+5:30, no daylight saving)
    window = (datetime(2026, 10, 15, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC))
    # When its fire times are listed
    times = list(fire_times('cron(5 0 1 * ? *)', *window, 'Asia/Kolkata'))
    # Then it fires at 18:35 UTC on the last day of the previous month (00:05 on the 1st in Kolkata)
    assert times == [datetime(2026, 10, 31, 18, 35, tzinfo=UTC), datetime(2026, 11, 30, 18, 35, tzinfo=UTC)]
    # And the same expression without a time zone stays UTC, as EventBridge rules are
    assert list(fire_times('cron(5 0 1 * ? *)', *window)) == [datetime(2026, 11, 1, 0, 5, tzinfo=UTC), datetime(2026, 12, 1, 0, 5, tzinfo=UTC)]


def test_a_zone_with_daylight_saving_keeps_the_local_time_across_the_change() -> None:
    # Given New York, which leaves daylight saving on 1 November 2026 at 02:00 (EDT UTC-4, then EST UTC-5)
    window = (datetime(2026, 9, 15, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC))
    # When the 00:05-on-the-1st schedule is listed
    times = list(fire_times('cron(5 0 1 * ? *)', *window, 'America/New_York'))
    # Then it fires at 00:05 local each time: 04:05 UTC while on EDT (1 Oct, 1 Nov, before 02:00), 05:05 UTC on EST
    assert times == [datetime(2026, 10, 1, 4, 5, tzinfo=UTC), datetime(2026, 11, 1, 4, 5, tzinfo=UTC), datetime(2026, 12, 1, 5, 5, tzinfo=UTC)]


def test_a_scheduler_target_gets_its_input_with_the_scheduled_time_filled_in() -> None:
    # Given a schedule's Input with EventBridge Scheduler's context attribute
    from infrastructure.local.schedule import scheduler_input

    template = '{"program_id": "pitstop", "scheduled_time": "<aws.scheduler.scheduled-time>"}'
    # When it fires at 00:05 on 1 November in Kolkata
    event = scheduler_input(template, datetime(2026, 10, 31, 18, 35, tzinfo=UTC))
    # Then the function receives the Input as-is, the time in UTC
    assert event == {'program_id': 'pitstop', 'scheduled_time': '2026-10-31T18:35:00Z'}


def test_serving_on_real_time_fires_each_schedule_once_per_fire_time_however_often_the_clock_ticks() -> None:
    # Given the template's schedules on the wall clock (`make run` serving), from a moment that is not a whole minute,
    # looked at every 15 s for three hours, as the local stack's ticker does
    from datetime import timedelta

    from infrastructure.local.schedule import RealTimeSchedules
    from infrastructure.local.stack import scheduled_functions

    since = datetime(2026, 11, 2, 9, 3, 27, tzinfo=UTC)
    schedules = {s.name: s for s in scheduled_functions()}
    clock = RealTimeSchedules([(s.name, s.expression, s.time_zone) for s in schedules.values()], since=since)
    # When the clock is asked what is due at each tick
    fired: dict[str, list[datetime]] = {name: [] for name in schedules}
    for tick in range(1, 3 * 60 * 4 + 1):
        for name, moment in clock.due(since + timedelta(seconds=15 * tick)):
            fired[name].append(moment)
    end = since + timedelta(hours=3)
    # Then the one-minute alert scan fired once a minute, on each whole minute after the start
    first_minute = datetime(2026, 11, 2, 9, 4, tzinfo=UTC)
    assert fired['AlertScannerFunction'] == [first_minute + timedelta(minutes=n) for n in range(180)]
    # And rate(15 minutes) every 15 minutes from the start, not at every tick
    assert fired['HoldReleaseFunction'] == [first_minute + timedelta(minutes=15 * n) for n in range(12)]
    # And the hourly cron(10 * * * ? *) once at each hh:10 of the three hours
    assert fired['PeriodCloseFunction'] == [datetime(2026, 11, 2, hour, 10, tzinfo=UTC) for hour in (9, 10, 11)]
    # And the daily and weekly crons not at all (none of their times falls in these three hours)
    assert fired['LeagueStreaksFunction'] == fired['DailyRemindersFunction'] == fired['LedgerAuditFunction'] == []
    # And every cron fired exactly at its listed times over the whole window, none twice
    for name, scheduled in schedules.items():
        if scheduled.expression.startswith('cron'):
            assert fired[name] == list(fire_times(scheduled.expression, since, end, scheduled.time_zone)), name


def test_a_rate_counts_from_its_anchor_across_consecutive_windows() -> None:
    # Given rate(1 hour) created at 09:00, asked over windows that are not aligned with it
    anchor = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    windows = [(datetime(2026, 10, 1, 9, 20, tzinfo=UTC), datetime(2026, 10, 1, 10, 30, tzinfo=UTC)),
               (datetime(2026, 10, 1, 10, 30, 1, tzinfo=UTC), datetime(2026, 10, 1, 12, 0, tzinfo=UTC))]
    # When its fire times are listed per window
    times = [moment for window in windows for moment in fire_times('rate(1 hour)', *window, anchor=anchor)]
    # Then it fires on the anchor's hour each hour, each time once
    assert times == [datetime(2026, 10, 1, hour, 0, tzinfo=UTC) for hour in (10, 11, 12)]
