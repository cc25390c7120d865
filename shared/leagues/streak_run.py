"""The daily streak judgement (`functions/league_streaks`): for each program whose league has streak badges, judge
each person in the program's scope on the last day that has ended in their time zone (`shared.leagues.streaks` for
the rules), and award each streak badge once per run with a notice to the person.

Requests, for P people in scope (measured in tests/integration/test_league_streaks.py):
- the directory: ONE paged Query of the `employees` index for every program of the run (P / ~2,500 pages);
- the states: BatchGetItem, 100 people a request (P / 100);
- the breaches: ONE Query per person not yet judged for the day (`BREACH#<employee>` in the alerts table, newest
  first, one item: the latest breach of their current run);
- writes only where the state changes: someone's first judgement, a breach that ends a run, a badge (ONE
  TransactWriteItems: the badge, its notice, the state). A rerun of the same day finds every person judged (the
  state carries the day) or finds nothing to change: it writes nothing.
No Scan anywhere.

The notice is an alert item (kind `badge_earned`, due at once): the alert scan queues it within a minute and the
alert sender delivers it in the person's language (en/es/hi/id) on their channel (WhatsApp template, SMS, e-mail),
holding it through their quiet hours. Its id is derived from the program, person, badge and run: planned once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.store import AlertStore
from shared.alerts.sync import PendingAlert, alert_id
from shared.leagues.config import Badge, LeagueConfig
from shared.leagues.roster import Roster, RosterPerson
from shared.leagues.streak_store import StreakBadgeAward, StreakStore
from shared.leagues.streaks import (
    Judgement,
    PersonDay,
    badge_reason,
    calendar_working_day,
    day_bounds,
    judge,
    person_day,
    streak_badges,
    streak_zone,
)
from shared.programs.loader import ProgramBook, ProgramVersion
from shared.programs.period import in_program
from shared.sla.calendar import BusinessCalendar
from shared.sla.config import ServiceConfig


@dataclass
class ProgramStreaks:
    """What one program's judgement did (logged, returned to the console, counted in metrics)."""

    program_id: str
    version: int
    in_scope: int = 0  # active people in the program's scope whose day has ended
    not_ended: int = 0  # the requested day has not ended yet in their time zone
    outside_dates: int = 0  # the day is before the program starts or after it ends
    already_judged: int = 0  # their state already holds this day or a later one
    judged: int = 0
    started: int = 0  # judged for the first time (a run starts)
    runs_broken: int = 0  # a breach ended a run of at least one working day
    badges: int = 0  # streak badges awarded (each with its notice)
    badges_found: int = 0  # already written by a concurrent run
    superseded: int = 0  # a later judgement was stored meanwhile: nothing written
    state_writes: int = 0
    days: list[str] = field(default_factory=list)  # the local days judged (one, or two across the date line)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StreakRun:
    programs: list[ProgramStreaks] = field(default_factory=list)

    @property
    def badges(self) -> int:
        return sum(program.badges for program in self.programs)

    def as_dict(self) -> dict[str, Any]:
        return {'ok': True, 'people_judged': sum(program.judged for program in self.programs), 'streak_badges': self.badges,
                'programs': [program.as_dict() for program in self.programs]}


def programs_with_streaks(book: ProgramBook) -> list[ProgramVersion]:
    """The newest valid version of each program whose league has streak badges."""
    found = []
    for program_id in book.programs:
        version = book.latest(program_id)
        if version is not None and streak_badges(version.document.league):
            found.append(version)
    return found


def badge_notice(program_id: str, league: LeagueConfig, person: RosterPerson, badge: Badge, run_start: date, now: datetime) -> PendingAlert:
    """The person's notice of a streak badge, due now: an alert the sender delivers once (its id names the badge and run)."""
    key = f'league|{program_id}|{person.employee_id}|badge|{badge.badge_id}|{run_start.isoformat()}'
    return PendingAlert(alert_id=alert_id(key, Recipient.ASSIGNEE), ticket_key=f'league|{program_id}', ref=league.name,
                        kind=AlertKind.BADGE_EARNED, metric='league', threshold=badge.name, role=Recipient.ASSIGNEE,
                        subject=person.employee_id, due_at=now, location_id=person.location_id)  # fmt: skip


@dataclass
class StreakJudge:
    roster: Roster
    store: StreakStore
    alerts: AlertStore
    config: ServiceConfig
    # Told of each streak badge this run wrote, after its transaction (the managers' nudges, shared/recognition).
    on_badge: Callable[[StreakBadgeAward, datetime], object] | None = None

    def run(self, book: ProgramBook, now: datetime, *, program_id: str | None = None, day: date | None = None) -> StreakRun:
        """Judge every program with streak badges (or only `program_id`), each person on the last day that has ended
        in their zone (or on `day`, for whom it has ended). LookupError: `program_id` unknown or without streaks."""
        programs = programs_with_streaks(book)
        if program_id is not None:
            programs = [version for version in programs if version.document.program_id == program_id]
            if not programs:
                known = book.latest(program_id) is not None
                raise LookupError(f'program {program_id!r} has no streak badges' if known else f'no program {program_id!r}')
        if not programs:
            return StreakRun()
        people = [person for person in self.roster.people() if person.active]
        return StreakRun([self.judge_program(version, people, now, day) for version in programs])

    def judge_program(self, version: ProgramVersion, people: Sequence[RosterPerson], now: datetime, day: date | None) -> ProgramStreaks:
        document = version.document
        league = document.league
        assert league is not None
        badges = streak_badges(league)
        report = ProgramStreaks(document.program_id, version.version)
        candidates: list[tuple[RosterPerson, BusinessCalendar, PersonDay]] = []
        for person in people:
            calendar = self.config.calendar_for(person.location_id)
            judged = person_day(now, streak_zone(calendar, person.time_zone), day)
            if judged is None:
                report.not_ended += 1
                continue
            if judged.day < document.starts_on or (document.ends_on is not None and judged.day > document.ends_on):
                report.outside_dates += 1
                continue
            if not in_program(document, person.person(), judged.day.strftime('%Y-%m')):
                continue
            candidates.append((person, calendar, judged))
        report.in_scope = len(candidates)
        states = self.store.states(document.program_id, [person.employee_id for person, _, _ in candidates])
        days: set[str] = set()
        for person, calendar, judged in candidates:
            state = states.get(person.employee_id)
            if state is not None and state.judged >= judged.day:
                report.already_judged += 1
                continue
            since = state.since if state is not None else judged.day
            start = day_bounds(min(since, judged.day), judged.zone)[0]
            breach = self.alerts.last_breach(person.employee_id, start, judged.end)
            breach_day = breach.astimezone(ZoneInfo(judged.zone)).date() if breach is not None else None
            judgement = judge(state, judged.day, breach_day, calendar_working_day(calendar), badges)
            report.judged += 1
            days.add(judged.day.isoformat())
            report.started += state is None
            report.runs_broken += judgement.broken
            if judgement.changed:
                self._save(report, version, league, person, calendar, judged, judgement, now)
        report.days = sorted(days)
        return report

    def _save(self, report: ProgramStreaks, version: ProgramVersion, league: LeagueConfig, person: RosterPerson,
              calendar: BusinessCalendar, judged: PersonDay, judgement: Judgement, now: datetime) -> None:  # fmt: skip
        program_id = version.document.program_id
        awards = []
        for badge in judgement.reached:
            assert badge.days is not None
            award = StreakBadgeAward(program_id=program_id, program_version=version.version, employee_id=person.employee_id,
                                     badge_id=badge.badge_id, name=badge.name, days=badge.days, run_start=judgement.run_start,
                                     reached_on=judged.day, reason=badge_reason(badge, judgement, judged.day, calendar.calendar_id,
                                                                                judged.zone))  # fmt: skip
            notice = badge_notice(program_id, league, person, badge, judgement.run_start, now)
            awards.append((award, self.alerts.new_alert_action(notice, now)))
        saved = self.store.save(program_id, person.employee_id, judgement.state, now, awards)
        report.state_writes += saved.written
        report.badges += len(saved.badges_written)
        report.badges_found += len(saved.badges_found)
        report.superseded += saved.superseded
        if self.on_badge is not None:
            for award, _ in awards:
                if award.badge_id in saved.badges_written:
                    self.on_badge(award, now)

