"""The daily collusion check (functions/recognition_flags): for each program with a recognition section, the current
month in the program's time zone (and on the 1st also the month that just ended, whose last day was not judged yet):
read its recognitions from the location feeds, detect flags (`shared.recognition.collusion`), and raise each one once
with a notice to every manager in scope (`shared.recognition.flag_store`). Re-running a month is harmless: known flags
are updated only when their evidence grew, and nobody is told twice.

Which location feeds: the locations of the service configuration (what other scheduled jobs list) together with the
locations of the people in the directory, so a recognition whose receiver sits at a location the configuration does not
list yet is still read (a Query of an empty feed costs one request); when the program is scoped to locations, only
those. The directory is read once per run anyway (one paged Query of its `employees` index): it gives each person's
manager (whose team they are in and who is told), role (their allowance), language (of the manager's notice) and name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.sync import PendingAlert, alert_id
from shared.leagues.roster import RosterPerson
from shared.programs.document import ProgramDocument
from shared.programs.loader import ProgramBook
from shared.recognition.collusion import CollusionFlag, detect
from shared.recognition.collusion_texts import evidence_line, flag_ref
from shared.recognition.flag_store import FlagStore, StoredFlag
from shared.sla.config import ServiceConfig


class People(Protocol):
    def people(self) -> list[RosterPerson]: ...


def month_of(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime('%Y-%m')


def month_bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in the program's zone."""
    year, number = (int(part) for part in month.split('-'))
    start = datetime(year, number, 1, tzinfo=ZoneInfo(zone))
    following = date(year + number // 12, number % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=ZoneInfo(zone))


def months_to_judge(now: datetime, zone: str) -> list[str]:
    """The current month; on the 1st (in the program's zone) the month that just ended first."""
    local = now.astimezone(ZoneInfo(zone))
    months = [local.strftime('%Y-%m')]
    if local.day == 1:
        months.insert(0, (local.date() - timedelta(days=1)).strftime('%Y-%m'))
    return months


def feed_locations(document: ProgramDocument, config: ServiceConfig, people: Iterable[RosterPerson]) -> list[str]:
    known = {location.location_id for location in config.locations} | {p.location_id for p in people if p.location_id}
    if document.scope.locations:
        known &= set(document.scope.locations)
    return sorted(known)


@dataclass
class MonthReport:
    program_id: str
    month: str
    locations: int = 0
    queries: int = 0  # Query requests of the location feeds
    requests: int = 0  # every DynamoDB request of the month's judgement (feeds, known flags, flag and notice writes)
    recognitions: int = 0
    flags: int = 0
    raised: int = 0
    updated: int = 0
    unchanged: int = 0
    notices: int = 0
    rings_truncated: bool = False

    @property
    def requests_per_location(self) -> float:
        return self.queries / self.locations if self.locations else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {'requests_per_location': round(self.requests_per_location, 2)}


@dataclass
class FlagRun:
    months: list[MonthReport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {'ok': True, 'months': [report.as_dict() for report in self.months], 'raised': sum(r.raised for r in self.months),
                'notices': sum(r.notices for r in self.months)}  # fmt: skip


def notice_for(program_id: str, flag: CollusionFlag, manager_id: str, subject: str, people: dict[str, RosterPerson],
               now: datetime) -> PendingAlert:  # fmt: skip
    """The manager's notice: the evidence line in the manager's language, about one of their own people (`subject`),
    addressed as Recipient.MANAGER (the alert sender sends it to the subject's manager)."""
    manager = people.get(manager_id)
    language = manager.language if manager is not None else 'en'
    names = {person_id: person.display_name for person_id, person in people.items()}
    key = f'flag|{program_id}|{manager_id}|{flag.key}'
    return PendingAlert(alert_id=alert_id(key, Recipient.MANAGER), ticket_key=f'flag|{program_id}|{flag.key}',
                        ref=flag_ref(language, flag.month), kind=AlertKind.COLLUSION_FLAG, metric='collusion',
                        threshold=evidence_line(language, flag, names, manager_id), role=Recipient.MANAGER, subject=subject,
                        due_at=now, location_id=people[subject].location_id if subject in people else None)  # fmt: skip


@dataclass
class CollusionJudge:
    roster: People
    store: FlagStore
    config: ServiceConfig

    def run(self, book: ProgramBook, now: datetime, *, program_id: str | None = None, month: str | None = None) -> FlagRun:
        """Judge every program with a recognition section (or `program_id` only; LookupError when it has none), for the
        months due now (or `month` only)."""
        documents: list[ProgramDocument] = []
        for pid in book.programs:
            version = book.for_basis(pid, now) or book.latest(pid)
            if version is not None and version.document.recognition is not None and program_id in (None, pid):
                documents.append(version.document)
        if program_id is not None and not documents:
            raise LookupError(f'no program {program_id!r} with a recognition section')
        people = {person.employee_id: person for person in self.roster.people()}
        run = FlagRun()
        for document in documents:
            for judged in [month] if month is not None else months_to_judge(now, document.time_zone):
                run.months.append(self.judge_month(document, judged, people, now))
        return run

    def judge_month(self, document: ProgramDocument, month: str, people: dict[str, RosterPerson], now: datetime) -> MonthReport:
        assert document.recognition is not None
        config = document.recognition
        report = MonthReport(document.program_id, month)
        requests_before = self.store.requests
        locations = feed_locations(document, self.config, people.values())
        start, end = month_bounds(month, document.time_zone)
        recognitions, report.queries = self.store.month_recognitions(document.program_id, locations, start, end, month)
        report.locations = len(locations)
        givers = {recognition.giver_id for recognition in recognitions}
        allowances = {giver: config.allowance_for(people[giver].role if giver in people else None) for giver in givers}
        managers = {person_id: person.manager_id for person_id, person in people.items()}
        detection = detect(recognitions, month=month, allowances=allowances, managers=managers, rules=config.collusion)
        report.recognitions, report.flags, report.rings_truncated = detection.recognitions, len(detection.flags), detection.rings_truncated
        known = self.store.known_digests(document.program_id, month) if detection.flags else {}
        for flag in detection.flags:
            notices = {manager: notice_for(document.program_id, flag, manager, subject, people, now) for manager, subject in flag.notices}
            outcome = self.store.raise_flag(document.program_id, flag, notices, now, known)
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.notices += len(notices) if outcome == 'raised' else 0
        report.requests = self.store.requests - requests_before
        return report


def month_flags(store: FlagStore, program_id: str, month: str) -> list[dict[str, Any]]:
    """The month's flags of a program, for printing (`make run`): kind, members, evidence summary, managers told."""
    flags: Sequence[StoredFlag] = store.flags_of_program(program_id, month)
    return [{'kind': flag.kind, 'members': list(flag.members), 'summary': flag.summary, 'recognitions': flag.recognitions,
             'points': flag.points, 'managers': list(flag.managers), 'unmanaged': list(flag.unmanaged)} for flag in flags]  # fmt: skip
