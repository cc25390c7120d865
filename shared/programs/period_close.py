"""Closing periods: which (program, month) are due, and one close from reads to payments.

A close of one program's month: list the people (one paged Query), read what the period rules need
(BatchGetItem, 100 keys a request), compute the bonus entries (`shared.programs.period`, pure), pay each
person who earns in one transaction, then write the close marker. Run again, it pays nothing twice
(deterministic entry ids, conditional writes); interrupted, the next run resumes where it stopped.

The scheduled run closes, for every program, each of its last three months that ended (in the
program's time zone) at least the grace period ago and has no close marker yet, oldest first, with the
program version effective at the month's end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from shared.kpi.settings import KpiSettings
from shared.programs.period import (
    Person,
    ProgramLike,
    by_employee,
    ended_months,
    month_bounds,
    period_entries,
    reads_for,
)
from shared.programs.period_store import PeriodStore


class DatedProgram(ProgramLike, Protocol):
    @property
    def effective_from(self) -> datetime: ...


class VersionLike(Protocol):
    @property
    def version(self) -> int: ...
    @property
    def document(self) -> DatedProgram: ...


class BookLike(Protocol):
    @property
    def programs(self) -> Mapping[str, Sequence[VersionLike]]: ...


@dataclass
class CloseReport:
    program_id: str
    month: str
    version: int
    people: int = 0
    entries_written: int = 0
    already_paid: int = 0
    employees_paid: int = 0
    points: int = 0
    reads: int = 0  # KPI and earnings keys asked for

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class RunReport:
    closed: list[CloseReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a due period was not closed

    def as_dict(self) -> dict[str, object]:
        return {'ok': True, 'closed': [report.as_dict() for report in self.closed], 'skipped': self.skipped}


def version_at(versions: Sequence[VersionLike], moment: datetime) -> VersionLike | None:
    """The newest version whose `effective_from` is before `moment` (the loader keeps only valid ones)."""
    candidates = [v for v in versions if v.document.effective_from < moment]
    return max(candidates, key=lambda v: v.version) if candidates else None


def parse_period(period: str) -> str:
    """'YYYY-MM', or 'YYYY-Qn' (closed with its last month, where quarterly rules are judged) -> 'YYYY-MM'."""
    if re.fullmatch(r'\d{4}-(0[1-9]|1[0-2])', period):
        return period
    quarter = re.fullmatch(r'(\d{4})-Q([1-4])', period)
    if quarter:
        return f'{quarter.group(1)}-{int(quarter.group(2)) * 3:02d}'
    raise ValueError(f'period {period!r} is neither YYYY-MM nor YYYY-Qn')


def close_month(store: PeriodStore, program: ProgramLike, version: int, month: str, now: datetime, *,
                people: Sequence[Person] | None = None, settings: KpiSettings | None = None) -> CloseReport:
    """Close one program's month: pay every bonus not yet paid, then mark the month closed."""
    report = CloseReport(program.program_id, month, version)
    people = store.people() if people is None else people
    report.people = len(people)
    reads = reads_for(program, people, month)
    report.reads = len(reads.kpi_keys) + len(reads.earning_keys)
    data = store.read(reads)
    floor = int(getattr(program, 'floor', 0) or 0)
    payees = by_employee(period_entries(program, version, people, month, data, now, settings))
    store.prefetch_heads(sorted(payees))  # the ledger's hash chain: every payee's head, 100 a request
    for employee_id, entries in sorted(payees.items()):
        payment = store.pay(employee_id, entries, now, floor)
        report.already_paid += payment.already_paid
        if payment.written:
            report.employees_paid += 1
            report.entries_written += len(payment.written)
            report.points += sum(entry.amount for entry in payment.written)
    store.mark_closed(program.program_id, month, version, people=report.people, paid=report.employees_paid,
                      entries=report.entries_written, points=report.points, now=now)
    return report


def close_due(store: PeriodStore, book: BookLike, now: datetime, grace: timedelta, *,
              settings: KpiSettings | None = None) -> RunReport:
    """Close every (program, month) that is due and not closed yet (see the module docstring)."""
    run = RunReport()
    due: list[tuple[str, str, VersionLike]] = []
    for program_id, versions in sorted(book.programs.items()):
        if not versions:
            continue
        latest = max(versions, key=lambda v: v.version).document
        for month in ended_months(latest, now, grace):
            version = version_at(versions, month_bounds(month, latest.time_zone)[1])
            if version is None:
                run.skipped.append(f'{program_id} {month}: no version effective by the end of the month')
            elif version.document.period_rules:
                due.append((program_id, month, version))
    if not due:
        return run
    closed = store.closed([(program_id, month) for program_id, month, _ in due])
    people: list[Person] | None = None
    for program_id, month, version in due:
        if (program_id, month) in closed:
            continue
        people = store.people() if people is None else people
        run.closed.append(close_month(store, version.document, version.version, month, now, people=people, settings=settings))
    return run


def rerun(store: PeriodStore, book: BookLike, program_id: str, period: str, now: datetime, *,
          settings: KpiSettings | None = None) -> CloseReport:
    """Close (again) one program's period, whatever its marker says: what was paid is not paid twice.
    Raises LookupError when no valid version of the program is effective by the period's end."""
    month = parse_period(period)
    versions = book.programs.get(program_id) or []
    if not versions:
        raise LookupError(f'no valid version of program {program_id}')
    zone = max(versions, key=lambda v: v.version).document.time_zone
    version = version_at(versions, month_bounds(month, zone)[1])
    if version is None:
        raise LookupError(f'no valid version of program {program_id} effective by the end of {month}')
    return close_month(store, version.document, version.version, month, now, settings=settings)
