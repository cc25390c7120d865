"""Running a league close: which program month (and refusals), the coordinator's step and a division's step.

The coordinator (`start_close`, LeagueCloseFunction) creates the close marker FIRST (from then on the scorer never
changes the month), lists the people once (one paged directory Query), groups the eligible into divisions,
keeps each division's roster, records the division list and sends one message per division not yet done
(LeagueCloseQueue). A division's worker (`close_division`, LeagueCloseDivisionFunction) freezes the division's
snapshot (or reads back the one already frozen), pays its awards once, adds the division to the marker's `done`;
the worker that completes the set finalizes the close (once: a conditional update) and publishes the
participation of each division (`LeagueParticipation`, percent, by program and division).

Exactly once and resumable. Every step is idempotent and ordered so that a crash anywhere and a rerun give the same
standings and pay each award once: the marker and the division list are set once; a frozen snapshot is never
recomputed; a payment whose entries exist writes nothing (`PeriodStore.pay`); `done` is a set; finalizing is
conditional. A rerun of a finished close writes nothing and sends nothing. A message delivered twice runs the
same idempotent step twice.

Scale (50,000 people in one program): requests grow with people, not with entries: a close reads ONE directory
listing (~2,500 profiles a page), one score item and one KPI item per person (BatchGetItem, 100 keys a request),
writes a roster and snapshot item per ~10,000 people and one transaction per person paid. One message per
division: the largest possible division (all 50,000 people in one) needs ~1,000 BatchGetItem requests and one
transaction per winner, paid by `pay_threads` threads: see the model in `tests/bench/leagues_close.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.leagues.close import DivisionClose, league_entries, plan_divisions, rank_division
from shared.leagues.close_store import LeagueCloseStore, Marker
from shared.leagues.config import LeagueConfig
from shared.leagues.results import DivisionResult
from shared.leagues.roster import Roster
from shared.ledger.entries import LedgerEntry
from shared.programs.document import ProgramDocument
from shared.programs.loader import ProgramBook
from shared.programs.period import month_bounds
from shared.programs.period_close import version_at

MONTH_PATTERN = r'^\d{4}-(0[1-9]|1[0-2])$'
PAY_THREADS = 8


class CloseRefused(ValueError):
    """A close request that names something wrong; nothing was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def answer(self) -> dict[str, Any]:
        return {'ok': False, 'field': self.field, 'error': str(self)}


class DivisionMessage(BaseModel):
    """One division of one close: the LeagueCloseQueue message body."""

    model_config = ConfigDict(extra='forbid', frozen=True)

    program_id: str = Field(min_length=1, max_length=100)
    month: str = Field(pattern=MONTH_PATTERN)
    version: int = Field(ge=1)
    division: str = Field(min_length=1, max_length=1000)


@dataclass(frozen=True)
class Target:
    """A program month that may be closed, with the version in force at the month's end."""

    program: ProgramDocument
    version: int
    month: str

    @property
    def config(self) -> LeagueConfig:
        assert self.program.league is not None
        return self.program.league

    @property
    def program_id(self) -> str:
        return self.program.program_id


def ended_month(time_zone: str, now: datetime) -> str:
    """The month that ended most recently in `time_zone` at `now`."""
    local = now.astimezone(ZoneInfo(time_zone))
    return (local.replace(day=1) - timedelta(days=1)).strftime('%Y-%m')


def resolve(book: ProgramBook, program_id: str, month: str | None, now: datetime) -> Target:
    """The program month to close (`month` None: the one that just ended in the program's time zone), or
    CloseRefused naming the field: an unknown program, a month that has not ended, a month no version of the
    program was in force for, a program without a league."""
    versions = book.programs.get(program_id)
    if not versions:
        known = ', '.join(sorted(book.programs)) or 'none'
        raise CloseRefused('program_id', f'unknown program {program_id!r} (known: {known})')
    zone = versions[0].document.time_zone
    month = month or ended_month(zone, now)
    end = month_bounds(month, zone)[1]
    if now < end:
        raise CloseRefused('month', f'{month} has not ended in {zone} (it ends at {end.isoformat()})')
    version = version_at(versions, end)
    if version is None:
        raise CloseRefused('month', f'no version of program {program_id} was in force by the end of {month}')
    document = version.document
    assert isinstance(document, ProgramDocument)
    if document.league is None:
        raise CloseRefused('program_id', f'program {program_id} has no league (version {version.version}, in force for {month})')
    return Target(document, version.version, month)


def leagues_due(book: ProgramBook, now: datetime) -> list[Target]:
    """Every program with a league, for the month that just ended in its time zone (the schedule without a program)."""
    targets = []
    for program_id, versions in book.programs.items():
        if versions and versions[0].document.league is not None:
            try:
                targets.append(resolve(book, program_id, None, now))
            except CloseRefused:
                continue  # e.g. no version in force for that month, or no league in it
    return targets


def program_version(book: ProgramBook, program_id: str, version: int) -> ProgramDocument:
    for candidate in book.programs.get(program_id, ()):
        if candidate.version == version:
            return candidate.document
    raise LookupError(f'program {program_id} has no valid version {version}')


# --- what a finished close says --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DivisionSummary:
    division: str
    name: str
    eligible: int
    scored: int
    participation_pct: float
    top: tuple[tuple[Any, ...], ...]  # (rank, employee, points, score, prize)
    trophies: Mapping[str, str]  # trophy id -> employee
    challenges_met: int
    awarded_points: int
    digest: str


@dataclass(frozen=True)
class LeagueOutcome:
    """What the announcements need: per division its winners, trophies and participation."""

    program_id: str
    month: str
    version: int
    closed_at: str
    divisions: tuple[DivisionSummary, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {'program_id': self.program_id, 'month': self.month, 'version': self.version, 'closed_at': self.closed_at,
                'divisions': [summary.__dict__ | {'top': [list(row) for row in summary.top], 'trophies': dict(summary.trophies)}
                              for summary in self.divisions]}


def division_stats(close: DivisionClose, prizes: int) -> dict[str, Any]:
    result = close.result
    shown = max(prizes, 3)
    return {
        'name': result.name,
        'eligible': result.eligible,
        'scored': result.scored,
        'participation_pct': result.participation_pct,
        'top': [[row.rank, row.employee_id, row.points, row.score, row.prize] for row in result.top(shown)],
        'trophies': {trophy: row.employee_id for row in result.rows for trophy in row.trophies},
        'challenges_met': sum(1 for award in close.awards if award.kind == 'challenge'),
        'awarded_points': sum(award.points for award in close.awards),
        'digest': result.digest,
    }


def outcome_of(marker: Marker) -> LeagueOutcome:
    summaries = []
    for division in marker.divisions or ():
        stats = marker.stats.get(division) or {}
        summaries.append(DivisionSummary(
            division=division, name=stats.get('name', division), eligible=int(stats.get('eligible', 0)), scored=int(stats.get('scored', 0)),
            participation_pct=float(stats.get('participation_pct', 0.0)), top=tuple(tuple(row) for row in stats.get('top', [])),
            trophies=dict(stats.get('trophies', {})), challenges_met=int(stats.get('challenges_met', 0)),
            awarded_points=int(stats.get('awarded_points', 0)), digest=str(stats.get('digest', '')),
        ))
    return LeagueOutcome(marker.program_id, marker.month, marker.version, marker.closed_at, tuple(summaries))


def publish_participation(outcome: LeagueOutcome, stage: str) -> None:
    """`LeagueParticipation` (percent of eligible people who scored) per program and division, once per close."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    from shared.observability import NAMESPACE

    for summary in outcome.divisions:
        value = summary.participation_pct
        with single_metric(name='LeagueParticipation', unit=MetricUnit.Percent, value=value, namespace=NAMESPACE) as metric:
            metric.add_dimension(name='stage', value=stage)
            metric.add_dimension(name='program', value=outcome.program_id)
            metric.add_dimension(name='division', value=summary.name)


# Announces a closed program month (shared.leagues.announce.announce: winners' notices, managers' summaries, each
# exactly once): called with every frozen division before the close is marked finalized, so a failed announcement
# fails the division message and SQS retries it (the announcement's own markers keep what went out from going twice).
Announce = Callable[[Sequence[DivisionResult], LeagueConfig, datetime], Any]


def _finalize(store: LeagueCloseStore, marker: Marker, now: datetime, stage: str, league: LeagueConfig | None = None,
              announce: Announce | None = None) -> LeagueOutcome | None:  # fmt: skip
    """Finalize a close whose divisions are all done (announcing it first when given `announce`); the outcome for
    the one call that finalized it."""
    if not marker.all_done or marker.finalized_at is not None:
        return None
    if announce is not None and league is not None:
        results = store.results(marker)
        if results:
            announce(results, league, now)
    if not store.finalize(marker.program_id, marker.month, now):
        return None
    outcome = outcome_of(marker)
    publish_participation(outcome, stage)
    return outcome


# --- the coordinator -------------------------------------------------------------------------------------------
@dataclass
class CloseAnswer:
    program_id: str
    month: str
    version: int
    started: bool  # this run created the marker
    people: int = 0
    divisions: int = 0
    queued: int = 0
    finalized: bool = False
    outcome: LeagueOutcome | None = None

    def as_dict(self) -> dict[str, Any]:
        answer = {k: v for k, v in self.__dict__.items() if k != 'outcome'} | {'ok': True}
        if self.outcome is not None:
            answer['outcome'] = self.outcome.as_dict()
        return answer


def start_close(store: LeagueCloseStore, send: Callable[[Sequence[DivisionMessage]], None], book: ProgramBook, target: Target,
                now: datetime, stage: str = '') -> CloseAnswer:
    """Open (or resume) the close of one program month and fan it out per division. A close already finished
    writes and sends nothing and answers with its outcome."""
    marker, created = store.open(target.program_id, target.month, target.version, now)
    answer = CloseAnswer(target.program_id, target.month, marker.version, created)
    if marker.finalized_at is not None:
        answer.finalized = True
        answer.outcome = outcome_of(marker)
        answer.people, answer.divisions = marker.people, len(marker.divisions or ())
        return answer
    if marker.divisions is None:
        # The version recorded on the marker (in force when the close started) is used throughout the close.
        program = target.program if marker.version == target.version else program_version(book, target.program_id, marker.version)
        divisions = plan_divisions(target.config, program, Roster(client=store.client).people(), target.month)
        store.write_roster(target.program_id, target.month, divisions)
        marker = store.set_divisions(target.program_id, target.month, list(divisions), sum(len(m) for m in divisions.values()))
    answer.people, answer.divisions = marker.people, len(marker.divisions or ())
    pending = [d for d in marker.divisions or () if d not in marker.done]
    if pending:
        send([DivisionMessage(program_id=marker.program_id, month=marker.month, version=marker.version, division=d) for d in pending])
        answer.queued = len(pending)
    elif marker.divisions:  # a crash after the last division was done: its worker finalizes (and announces) again
        last = marker.divisions[-1]
        send([DivisionMessage(program_id=marker.program_id, month=marker.month, version=marker.version, division=last)])
        answer.queued = 1
    else:  # nothing eligible: nothing to announce
        outcome = _finalize(store, marker, now, stage)
        answer.finalized, answer.outcome = True, outcome or outcome_of(marker)
    return answer


# --- a division ------------------------------------------------------------------------------------------------
@dataclass
class DivisionAnswer:
    program_id: str
    month: str
    division: str
    already_done: bool = False
    froze: bool = False  # this run wrote the snapshot
    rows: int = 0
    entries_written: int = 0
    already_paid: int = 0
    people_paid: int = 0
    points: int = 0
    outcome: LeagueOutcome | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        answer = {k: v for k, v in self.__dict__.items() if k not in ('outcome', 'extra')}
        if self.outcome is not None:
            answer['outcome'] = self.outcome.as_dict()
        return answer


def pay_all(store: LeagueCloseStore, entries: Mapping[str, Sequence[LedgerEntry]], now: datetime, answer: DivisionAnswer,
            threads: int = PAY_THREADS) -> None:
    """One transaction per person, `threads` at a time (a person's entries and balance: once)."""
    people = sorted(entries.items())
    store.prefetch_heads([employee_id for employee_id, _ in people])  # the ledger's hash chain: 100 heads a request
    if threads > 1 and len(people) > 1:
        with ThreadPoolExecutor(max_workers=min(threads, len(people))) as pool:
            payments = list(pool.map(lambda pair: store.pay(pair[0], pair[1], now), people))
    else:
        payments = [store.pay(employee_id, person_entries, now) for employee_id, person_entries in people]
    for payment in payments:
        answer.already_paid += payment.already_paid
        if payment.written:
            answer.people_paid += 1
            answer.entries_written += len(payment.written)
            answer.points += sum(entry.amount for entry in payment.written)


def close_division(store: LeagueCloseStore, program: ProgramDocument, message: DivisionMessage, now: datetime, *, stage: str = '',
                   threads: int = PAY_THREADS, announce: Announce | None = None) -> DivisionAnswer:
    """Freeze (or read back) one division's standings, pay its awards once, mark it done; finalize when last."""
    answer = DivisionAnswer(message.program_id, message.month, message.division)
    marker = store.marker(message.program_id, message.month)
    if marker is None:
        raise LookupError(f'no close of {message.program_id} {message.month} was started')
    if message.division in marker.done:
        answer.already_done = True
        answer.outcome = _finalize(store, marker, now, stage, program.league, announce)
        return answer
    assert program.league is not None
    close = store.snapshot(message.program_id, message.month, message.division)
    if close is None:
        members = store.roster(message.program_id, message.month, message.division)
        figures, counters = store.month_figures(message.program_id, message.month, [m.employee_id for m in members])
        computed = rank_division(program.league, program_id=message.program_id, version=marker.version, month=message.month,
                                 division=message.division, members=members, figures=figures, counters=counters,
                                 closed_at=marker.closed_at)
        close, answer.froze = store.freeze(computed)
    answer.rows = len(close.result.rows)
    pay_all(store, league_entries(close, program.time_zone, now), now, answer, threads)
    marker = store.division_done(message.program_id, message.month, message.division, division_stats(close, len(program.league.prizes)))
    answer.outcome = _finalize(store, marker, now, stage, program.league, announce)
    return answer
