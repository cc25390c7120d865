"""What-if preview: a candidate program version priced over a stored month of ticket states, beside the current book.

Pure (no storage; `shared.tickets.scan` and `infrastructure/preview.py` read the tickets). Before an admin
publishes a new version of a program, the candidate document is run by the same engine over the month's ticket
states (each folded from its stored events, with its SLA clocks and location as the processor derives them) twice:

- current: the book in force (every valid version, each basis priced by the version whose effective_from it
  follows, as the processor would now);
- candidate: the same book with the candidate added as the program's next version, effective from the start of
  the month (whatever its own effective_from says), so it prices every basis of the month.

Only the previewed program's awards are compared, and only those whose basis happened in the month (in the
program's time zone). Each side applies the rules' caps as the hold release would (day, week and month caps per
employee and rule, in basis order; a week that began in the previous month starts from zero here). The result, per
location (the item's location, else the employee's, as the engine's scope reads it), role (the directory's) and
rule: points under the current book, under the candidate, the difference, and the cost in the program's currency
(points / points_per_currency_unit of the version that priced them). Holds and clawbacks are not simulated: an
award counts in the month it is due for, whether or not it has been released yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.directory.people import Employee
from shared.ledger.earnings import plan_counters
from shared.ledger.entries import AwardRecord
from shared.programs.awards import Award
from shared.programs.document import ProgramDocument
from shared.programs.engine import evaluate
from shared.programs.loader import ProgramBook, ProgramVersion
from shared.sla.clock import SlaReport
from shared.sla.config import Location
from shared.tickets.state import TicketState

UNKNOWN = '-'


@dataclass(frozen=True)
class TicketCase:
    """One stored ticket as the engine sees it: its folded state, the people behind its assignees, its SLA
    clocks and its location (`shared.tickets.processing.service_figures`)."""

    ticket_key: str
    state: TicketState
    employees: Mapping[str, Employee]  # agent_key -> employee
    sla: SlaReport | None
    location: Location | None


@dataclass
class PreviewRow:
    location_id: str
    role: str
    rule_id: str
    current_points: int = 0
    candidate_points: int = 0
    current_awards: int = 0
    candidate_awards: int = 0
    current_cost: float = 0.0
    candidate_cost: float = 0.0

    @property
    def difference(self) -> int:
        return self.candidate_points - self.current_points

    @property
    def cost_difference(self) -> float:
        return self.candidate_cost - self.current_cost

    def add(self, other: PreviewRow) -> None:
        self.current_points += other.current_points
        self.candidate_points += other.candidate_points
        self.current_awards += other.current_awards
        self.candidate_awards += other.candidate_awards
        self.current_cost += other.current_cost
        self.candidate_cost += other.candidate_cost

    def as_dict(self) -> dict[str, Any]:
        return {
            'location_id': self.location_id, 'role': self.role, 'rule_id': self.rule_id,
            'current_points': self.current_points, 'candidate_points': self.candidate_points, 'difference': self.difference,
            'current_awards': self.current_awards, 'candidate_awards': self.candidate_awards,
            'current_cost': round(self.current_cost, 2), 'candidate_cost': round(self.candidate_cost, 2),
            'cost_difference': round(self.cost_difference, 2),
        }


@dataclass
class Preview:
    program_id: str
    month: str
    time_zone: str
    currency: str
    points_per_currency_unit: float  # the candidate's
    current_versions: list[str]  # the versions that priced the month now ('support@3')
    candidate_version: str  # 'support@4 (candidate)'
    tickets: int
    rows: list[PreviewRow] = field(default_factory=list)

    def total(self) -> PreviewRow:
        out = PreviewRow('all', 'all', 'all')
        for row in self.rows:
            out.add(row)
        return out

    def by(self, dimension: str) -> list[PreviewRow]:
        """Subtotals per 'location_id', 'role' or 'rule_id'."""
        grouped: dict[str, PreviewRow] = {}
        for row in self.rows:
            key = getattr(row, dimension)
            blank = {'location_id': 'all', 'role': 'all', 'rule_id': 'all', dimension: key}
            grouped.setdefault(key, PreviewRow(**blank)).add(row)
        return [grouped[key] for key in sorted(grouped)]

    def as_dict(self) -> dict[str, Any]:
        return {
            'program_id': self.program_id, 'month': self.month, 'time_zone': self.time_zone, 'currency': self.currency,
            'points_per_currency_unit': self.points_per_currency_unit, 'current_versions': self.current_versions,
            'candidate_version': self.candidate_version, 'tickets': self.tickets,
            'rows': [row.as_dict() for row in self.rows],
            'by_location': [row.as_dict() for row in self.by('location_id')],
            'by_role': [row.as_dict() for row in self.by('role')],
            'by_rule': [row.as_dict() for row in self.by('rule_id')],
            'total': self.total().as_dict(),
        }

    def to_text(self) -> str:
        return render_text(self)


def candidate_book(current: ProgramBook, candidate: ProgramDocument, month_start: datetime) -> tuple[ProgramBook, ProgramVersion]:
    """The current book with the candidate as its program's next version, effective from `month_start` at the latest."""
    versions = list(current.programs.get(candidate.program_id, ()))
    number = max((v.version for v in versions), default=0) + 1
    effective = min(candidate.effective_from, month_start)
    document = candidate if effective == candidate.effective_from else candidate.model_copy(update={'effective_from': effective})
    added = ProgramVersion(number, document)
    programs = dict(current.programs) | {candidate.program_id: [*versions, added]}
    return ProgramBook(programs), added


def month_window(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of the month in the program's time zone."""
    from shared.ledger.statement import month_bounds

    return month_bounds(month, time_zone)


def _capped(awards: Sequence[tuple[str, Award]]) -> list[int]:
    """The awards' points after the rules' caps (applied in basis order, as the release applies them), in order."""
    records = [AwardRecord.pending(ticket_key, award) for ticket_key, award in awards]
    amounts, _ = plan_counters(records, {})
    return [amounts.get(record.entry_id, record.points) for record in records]


def _priced(
    book: ProgramBook, program_id: str, cases: Sequence[TicketCase], start: datetime, end: datetime
) -> list[tuple[TicketCase, Award, int]]:
    """(case, award, points after caps) for the program's awards whose basis is in [start, end)."""
    found: list[tuple[TicketCase, Award]] = []
    for case in cases:
        for award in evaluate(book, case.state, case.employees, case.sla, case.location):
            if award.program_id == program_id and start <= award.basis_at < end:
                found.append((case, award))
    capped = _capped([(case.ticket_key, award) for case, award in found])
    return [(case, award, points) for (case, award), points in zip(found, capped, strict=True)]


def _dimensions(case: TicketCase, award: Award) -> tuple[str, str]:
    employee = next((e for e in case.employees.values() if e.employee_id == award.employee_id), None)
    location = case.state.location_id or (employee.location_id if employee else None)
    return location or UNKNOWN, (employee.role if employee else None) or UNKNOWN


def preview(book: ProgramBook, candidate: ProgramDocument, cases: Sequence[TicketCase], month: str) -> Preview:
    """The month priced by the current book and by the book with the candidate (see the module docstring)."""
    start, end = month_window(month, candidate.time_zone)
    with_candidate, added = candidate_book(book, candidate, start)
    rates = {v.version: v.document.points_per_currency_unit for v in book.programs.get(candidate.program_id, ())}
    rows: dict[tuple[str, str, str], PreviewRow] = {}

    def row(key: tuple[str, str, str]) -> PreviewRow:
        return rows.setdefault(key, PreviewRow(*key))

    used: set[str] = set()
    for case, award, points in _priced(book, candidate.program_id, cases, start, end):
        target = row((*_dimensions(case, award), award.rule_id))
        target.current_points += points
        target.current_awards += 1
        target.current_cost += points / rates[award.program_version]
        used.add(award.program_ref)
    for case, award, points in _priced(with_candidate, candidate.program_id, cases, start, end):
        target = row((*_dimensions(case, award), award.rule_id))
        target.candidate_points += points
        target.candidate_awards += 1
        target.candidate_cost += points / added.document.points_per_currency_unit
    return Preview(
        program_id=candidate.program_id, month=month, time_zone=candidate.time_zone, currency=candidate.currency,
        points_per_currency_unit=candidate.points_per_currency_unit, current_versions=sorted(used),
        candidate_version=f'{added.ref} (candidate)', tickets=len(cases), rows=[rows[key] for key in sorted(rows)],
    )


def build_cases(
    tickets: Iterable[tuple[str, Any]],
    lookup: Callable[[TicketState], Mapping[str, Employee]],
    figures: Callable[[TicketState, Any, Mapping[str, Employee]], tuple[SlaReport | None, Location | None]],
) -> list[TicketCase]:
    """Cases from stored tickets ((ticket key, history: `shared.tickets.history.TicketHistory`)): the state folded
    from the history, the people from `lookup`, the SLA clocks and location from `figures(state, history, people)`
    (the processor's `service_figures` over the current configuration)."""
    cases = []
    for ticket_key, history in tickets:
        if not history.events:
            continue
        state = history.state()
        employees = lookup(state)
        sla, location = figures(state, history, employees)
        cases.append(TicketCase(ticket_key, state, employees, sla, location))
    return cases


# --- text -------------------------------------------------------------------------------------------------
def _money(value: float) -> str:
    return f'{value:,.2f}'


def render_text(p: Preview) -> str:
    """Per location, role and rule, then subtotals per location, role and rule, then the total."""
    currency = p.currency
    out = [
        f'What-if preview: program {p.program_id}, {p.candidate_version} vs current ({", ".join(p.current_versions) or "no awards"}) '
        f'over {p.month} ({p.time_zone}); {p.tickets} tickets read',
        f'cost in {currency} = points / {p.points_per_currency_unit:g} (points per {currency})',
        '',
    ]
    header = (f'  {"location":12} {"role":18} {"rule":28} {"current":>8} {"candidate":>9} {"diff":>7} '
              f'{"cost now":>11} {"cost cand.":>11} {"cost diff":>11}')

    def line(r: PreviewRow, label: str | None = None) -> str:
        names = f'{label:60}' if label is not None else f'{r.location_id:12} {r.role:18} {r.rule_id:28}'
        return (f'  {names} {r.current_points:>8} {r.candidate_points:>9} {r.difference:>+7} '
                f'{_money(r.current_cost):>11} {_money(r.candidate_cost):>11} {r.cost_difference:>+11,.2f}')

    out.append(f'per location, role and rule ({currency})')
    out.append(header)
    out += [line(r) for r in p.rows] or ['  (no awards in the month under either version)']
    for dimension, title in (('location_id', 'per location'), ('role', 'per role'), ('rule_id', 'per rule')) if p.rows else ():
        out += ['', title, header]
        out += [line(r) for r in p.by(dimension)]
    total = p.total()
    out += ['', header, line(total, 'TOTAL')]
    out.append(f'\nthe candidate would change the month by {total.difference:+d} points, {total.cost_difference:+,.2f} {currency}')
    return '\n'.join(out)
