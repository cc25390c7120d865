"""Streak badges (pure): working days by the person's own calendar (weekends, holidays and closures neither extend nor
break a run), a breach ends the run, each badge once per run, the day judged once it has ended in the person's zone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from shared.leagues.config import Badge
from shared.leagues.streaks import (
    Judgement,
    StreakState,
    WorkingDay,
    calendar_working_day,
    judge,
    person_day,
    streak_zone,
    working_days,
)
from shared.sla.calendar import ALWAYS_OPEN, BusinessCalendar

WORKSHOP = BusinessCalendar(calendar_id='blr', timezone='Asia/Kolkata', hours={d: [('09:00', '18:00')] for d in ('mon', 'tue', 'wed', 'thu', 'fri')},
                            closures=[date(2026, 10, 2)])  # fmt: skip  (a Friday closure)
NYC = BusinessCalendar(calendar_id='nyc', timezone='America/New_York', hours={d: [('09:00', '17:00')] for d in ('mon', 'tue', 'wed', 'thu', 'fri')},
                       holiday_country='US')  # fmt: skip
WORKING = calendar_working_day(WORKSHOP)
FIVE = Badge(badge_id='clean_week', name='Clean week', kind='streak', days=5)
TEN = Badge(badge_id='clean_fortnight', name='Clean fortnight', kind='streak', days=10)
MON = date(2026, 10, 5)  # Monday; 2026-10-02 (Friday before) is a closure


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def walk(judged: Iterable[date], breaches: Iterable[date] = (), badges: Sequence[Badge] = (FIVE,), state: StreakState | None = None,
         working: WorkingDay = WORKING) -> list[Judgement]:  # fmt: skip
    """Judge each day in turn, as the daily run does: the latest breach between the run's first day and the day."""
    breach_days = sorted(breaches)
    out = []
    for day in judged:
        since = state.since if state is not None else day
        last = max((b for b in breach_days if since <= b <= day), default=None)
        judgement = judge(state, day, last, working, badges)
        out.append(judgement)
        state = judgement.state
    return out


def reached(judgements: Sequence[Judgement]) -> list[tuple[str, str, str]]:
    """(badge, judged day, run start) for every badge reached."""
    return [(badge.badge_id, j.state.judged.isoformat(), j.run_start.isoformat()) for j in judgements for badge in j.reached]


def test_weekends_neither_extend_nor_break_a_run() -> None:
    # Given a clean Thursday to the next Wednesday for a Monday-to-Friday workshop, and a 5-day badge
    # When each day is judged
    judgements = walk(days(date(2026, 10, 8), date(2026, 10, 14)))

    # Then Saturday and Sunday keep the run at 2 and the badge comes on the 5th working day (Wednesday), not before
    assert [j.run for j in judgements] == [1, 2, 2, 2, 3, 4, 5]
    assert reached(judgements) == [('clean_week', '2026-10-14', '2026-10-08')]


def test_a_closure_day_is_not_a_working_day() -> None:
    # Given a clean Monday 28 Sep to Thursday 8 Oct, with the workshop closed on Friday 2 Oct
    judgements = walk(days(date(2026, 9, 28), date(2026, 10, 8)), badges=[FIVE])

    # Then the 5th working day is Monday 5 Oct (Mon-Thu, then Mon), not Friday 2 Oct
    assert reached(judgements) == [('clean_week', '2026-10-05', '2026-09-28')]


def test_public_holidays_of_the_calendars_country_are_skipped() -> None:
    # Given a New York workshop (US holidays) and Thanksgiving, Thursday 26 Nov 2026
    working = calendar_working_day(NYC)

    # When the working days from Monday 23 to Friday 27 November are counted
    # Then Thanksgiving is not one of them
    assert working(date(2026, 11, 26)) is False
    assert working_days(working, date(2026, 11, 23), date(2026, 11, 27)) == 4


def test_a_breach_ends_the_run_and_the_next_run_starts_the_day_after() -> None:
    # Given three clean days, a breach on Thursday 8 Oct, then clean days
    judgements = walk(days(MON, date(2026, 10, 16)), breaches=[date(2026, 10, 8)])

    # Then the run drops to 0 on the breach day and counts again from Friday; the badge comes 5 working days later
    assert [j.run for j in judgements][:6] == [1, 2, 3, 0, 1, 1]
    assert judgements[3].broken and judgements[3].run_start == date(2026, 10, 9)
    assert reached(judgements) == [('clean_week', '2026-10-15', '2026-10-09')]


def test_a_breach_on_a_non_working_day_still_ends_the_run() -> None:
    # Given four clean working days and a breach on Saturday 10 Oct (a 24x7 SLA clock missed at the weekend)
    judgements = walk(days(date(2026, 10, 6), date(2026, 10, 12)), breaches=[date(2026, 10, 10)])

    # Then Monday starts a new run: no badge on Monday although it is the 5th working day since Tuesday
    assert judgements[-1].run_start == date(2026, 10, 11)
    assert judgements[-1].run == 1
    assert reached(judgements) == []


def test_each_badge_goes_once_per_run_and_again_in_a_new_run() -> None:
    # Given two clean weeks, a breach, then another clean week, with 5- and 10-day badges
    judgements = walk(days(MON, date(2026, 10, 30)), breaches=[date(2026, 10, 19)], badges=[FIVE, TEN])

    # Then each badge is reached once in the first run (the 5th and the 10th working day), and the 5-day badge again
    # in the second run, keyed by that run's first day
    assert reached(judgements) == [('clean_week', '2026-10-09', '2026-10-05'), ('clean_fortnight', '2026-10-16', '2026-10-05'),
                                   ('clean_week', '2026-10-26', '2026-10-20')]  # fmt: skip


def test_days_without_a_change_need_no_write() -> None:
    # Given a first judgement, clean days, a badge and a breach
    judgements = walk(days(MON, date(2026, 10, 16)), breaches=[date(2026, 10, 13)])

    # Then the state changes only on the first day, the badge day and the breach day
    assert [j.state.judged.isoformat() for j in judgements if j.changed] == ['2026-10-05', '2026-10-09', '2026-10-13']


def test_judging_the_same_day_again_changes_nothing() -> None:
    # Given the state after the badge day
    [*_, badge_day] = walk(days(MON, date(2026, 10, 9)))
    assert badge_day.reached

    # When the same day is judged again from that state
    again = judge(badge_day.state, date(2026, 10, 9), None, WORKING, [FIVE])

    # Then the badge is not reached twice and nothing changes
    assert (again.reached, again.changed) == ((), False)


def test_a_breach_learned_late_ends_the_run_on_the_next_judgement() -> None:
    # Given a run since Monday judged clean through Wednesday (the breach of Tuesday was not recorded yet)
    state = walk(days(MON, date(2026, 10, 7)))[-1].state

    # When Thursday is judged and the latest breach of the run is now Tuesday's
    judgement = judge(state, date(2026, 10, 8), date(2026, 10, 6), WORKING, [FIVE])

    # Then the run restarts on Wednesday (2 working days by Thursday) and it was a broken run
    assert (judgement.run_start, judgement.run, judgement.broken, judgement.changed) == (date(2026, 10, 7), 2, True, True)


def test_a_missed_day_does_not_lose_a_badge() -> None:
    # Given a run judged on Monday only, then not until the next Tuesday (the daily run failed for a week)
    judgements = walk([MON, date(2026, 10, 13)], badges=[FIVE])

    # Then the badge comes on the Tuesday: the run's length, not the day's count, decides
    assert reached(judgements) == [('clean_week', '2026-10-13', '2026-10-05')]


def test_a_day_is_judged_once_it_has_ended_in_the_persons_zone() -> None:
    # Given the daily run at 00:30 UTC on 15 October
    now = datetime(2026, 10, 15, 0, 30, tzinfo=UTC)

    # When the day to judge is asked for Bengaluru (06:00 on the 15th) and New York (20:30 on the 14th)
    bengaluru = person_day(now, 'Asia/Kolkata')
    new_york = person_day(now, 'America/New_York')

    # Then Bengaluru's 14th is judged, New York's 13th (its 14th has not ended); the 14th in New York is refused
    assert bengaluru is not None and bengaluru.day == date(2026, 10, 14)
    assert new_york is not None and new_york.day == date(2026, 10, 13)
    assert person_day(now, 'America/New_York', date(2026, 10, 14)) is None
    assert bengaluru.end == datetime(2026, 10, 14, 18, 30, tzinfo=UTC)


def test_a_calendar_open_around_the_clock_counts_days_in_the_persons_own_zone() -> None:
    # Given the 24x7 default calendar (no location) and a workshop calendar
    # Then a 24x7 person's days are their own zone's, a workshop person's the workshop's; every day is a working day at 24x7
    assert streak_zone(ALWAYS_OPEN, 'Europe/Madrid') == 'Europe/Madrid'
    assert streak_zone(WORKSHOP, 'Europe/Madrid') == 'Asia/Kolkata'
    assert working_days(calendar_working_day(ALWAYS_OPEN), date(2026, 10, 3), date(2026, 10, 4)) == 2
