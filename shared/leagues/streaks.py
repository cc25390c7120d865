"""Streak badges (pure): N working days in a row without an SLA breach, by the person's own calendar.

A person's day is judged once it has ended in their time zone: the zone of their location's business-hours
calendar (the service configuration), or their own `time_zone` from the directory when that calendar is open
around the clock (as the daily reminder does). The daily run (`shared.leagues.streak_run`) judges, for each person,
the last local day that has ended when it runs.

The rules:
- A working day is a day the person's calendar is open: its weekly hours, minus public holidays and closures.
  Non-working days neither extend nor break a run.
- A breach is an SLA target of one of the person's tickets missed (the alert planner records each one with the
  instant its clock says, `BREACH#<employee>` in the alerts table); it counts on its local day. A breach ends the
  run, and the next run starts the day after it. A breach on a non-working day ends it too: the badge is "without
  a breach", and only the days counted are working days.
- The run's length on day D is the number of working days from the run's first day (`since`) to D. A streak badge
  of `days` is reached when the length reaches `days`; it goes once per run (its key is the run's first day), and
  a later run can earn it again.
- Someone judged for the first time starts a run on that day (nothing is assumed about the days before).
- The breaches read are those of the whole run, not only of the judged day: a breach the planner learned late (it
  records a breach when the ticket next changes) still ends the run the next time it is judged. A badge already
  awarded stays awarded.

State (`StreakState`, one item per program and person): the run's first day, the day judged when it was last
written, and the badges awarded in this run. It is written only when it changes: someone's first judgement, a
breach inside the run, a badge. A day judged again (a rerun) finds the same run and the same badges: nothing
changes and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.leagues.config import Badge, LeagueConfig
from shared.sla.calendar import WEEKDAYS, BusinessCalendar

WorkingDay = Callable[[date], bool]


@dataclass(frozen=True)
class StreakState:
    since: date  # the run's first day (the day after its last breach, or the first day judged)
    judged: date  # the day judged when this state was written
    awarded: tuple[str, ...] = ()  # badge ids awarded in this run


@dataclass(frozen=True)
class Judgement:
    state: StreakState
    run: int  # working days in the run up to the judged day (counted up to the longest badge still to earn)
    reached: tuple[Badge, ...] = ()  # streak badges reached on this day (each once per run)
    broken: bool = False  # a breach ended the run that the previous state held
    changed: bool = False  # the state must be written

    @property
    def run_start(self) -> date:
        return self.state.since


@dataclass(frozen=True)
class PersonDay:
    """Which local day of a person is judged, and its bounds (UTC)."""

    day: date
    zone: str
    start: datetime = field(compare=False)
    end: datetime = field(compare=False)


def streak_badges(league: LeagueConfig | None) -> tuple[Badge, ...]:
    """The league's streak badges, shortest first."""
    if league is None:
        return ()
    return tuple(sorted((badge for badge in league.badges if badge.kind == 'streak'), key=lambda badge: (badge.days or 0, badge.badge_id)))


def always_open(calendar: BusinessCalendar) -> bool:
    return all([tuple(span) for span in calendar.hours.get(day, [])] == [('00:00', '24:00')] for day in WEEKDAYS)


def streak_zone(calendar: BusinessCalendar, person_zone: str | None) -> str:
    """The zone a person's days are counted in: their calendar's, or their own for a calendar open around the clock."""
    if always_open(calendar):
        try:
            return str(ZoneInfo(person_zone or 'UTC'))
        except (ValueError, KeyError):
            return 'UTC'
    return calendar.timezone


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """[start, end) of a local day, in UTC."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def person_day(now: datetime, zone: str, day: date | None = None) -> PersonDay | None:
    """The day to judge: `day` when given and it has ended in `zone` by `now` (else None), otherwise the last local
    day that has ended by `now`."""
    if day is None:
        day = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
    start, end = day_bounds(day, zone)
    if end > now:
        return None
    return PersonDay(day, zone, start, end)


def working_days(is_working: WorkingDay, first: date, last: date, cap: int | None = None) -> int:
    """Working days in [first, last] (0 when first > last), counting no further than `cap`."""
    count, day = 0, first
    while day <= last and (cap is None or count < cap):
        count += is_working(day)
        day += timedelta(days=1)
    return count


def calendar_working_day(calendar: BusinessCalendar) -> WorkingDay:
    return lambda day: bool(calendar.open_intervals(day))


def judge(state: StreakState | None, day: date, last_breach: date | None, is_working: WorkingDay, badges: Sequence[Badge]) -> Judgement:
    """The run after `day`: `last_breach` is the local day of the latest breach between the run's first day and the
    end of `day` (None: no breach). See the module docstring for the rules."""
    since = state.since if state is not None else day
    awarded = state.awarded if state is not None else ()
    broken = False
    if last_breach is not None and last_breach >= since:
        broken = state is not None and working_days(is_working, state.since, min(last_breach, day) - timedelta(days=1)) > 0
        since, awarded = last_breach + timedelta(days=1), ()
    wanted = [badge for badge in badges if badge.badge_id not in awarded]
    cap = max((badge.days or 0 for badge in wanted), default=0)
    run = working_days(is_working, since, day, cap=cap) if wanted else 0
    reached = tuple(badge for badge in wanted if badge.days is not None and run >= badge.days)
    new = StreakState(since=since, judged=day, awarded=awarded + tuple(badge.badge_id for badge in reached))
    changed = state is None or new.since != state.since or new.awarded != state.awarded
    return Judgement(state=new if changed else (state or new), run=run, reached=reached, broken=broken, changed=changed)


def badge_reason(badge: Badge, judgement: Judgement, day: date, calendar_id: str, zone: str) -> str:
    """Why the badge was awarded, as it is stored with it."""
    return (f'{badge.name}: {badge.days} working days in a row without an SLA breach, {judgement.run_start.isoformat()} to '
            f'{day.isoformat()} (calendar {calendar_id}, {zone})')
