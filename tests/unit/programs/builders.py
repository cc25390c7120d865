"""Small builders for the program tests: documents, books, states, SLA reports and people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.directory.people import Employee
from shared.events import Assignee, AssigneeRole, Channel, Kind, Priority, Source, Status, TicketEvent
from shared.programs.document import ProgramDocument, parse_program
from shared.programs.loader import ProgramBook, ProgramVersion
from shared.sla.clock import ClockState, SlaReport, TargetClock
from shared.sla.policy import Metric
from shared.tickets.state import TicketState, fold

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # a Monday

AGENT = Assignee(role=AssigneeRole.AGENT, agent_key='ana@example.com')
ADVISOR = Assignee(role=AssigneeRole.ADVISOR, agent_key='sa-1')
TECH_1 = Assignee(role=AssigneeRole.TECHNICIAN, agent_key='tech-1')
TECH_2 = Assignee(role=AssigneeRole.TECHNICIAN, agent_key='tech-2')
SUPPORT = Assignee(role=AssigneeRole.AGENT, agent_key='sam@example.com')
EMPLOYEES = {
    'ana@example.com': Employee('E1', role='agent', job_grade='senior', location_id='US-NYC'),
    'sa-1': Employee('E2', role='service_advisor', location_id='IN-BLR-01'),
    'tech-1': Employee('E3', role='technician', location_id='IN-BLR-01'),
    'tech-2': Employee('E4', role='technician', location_id='IN-BLR-01'),
    'sam@example.com': Employee('E5', role='support', location_id='US-NYC'),
}


def document(rules: list[dict[str, Any]], **fields: Any) -> ProgramDocument:
    data: dict[str, Any] = {
        'program_id': 'test',
        'name': 'Test program',
        'time_zone': 'UTC',
        'currency': 'USD',
        'points_per_currency_unit': 10,
        'starts_on': '2026-01-01',
        'effective_from': '2026-01-01T00:00:00Z',
        'rules': rules,
    }
    data.update(fields)
    return parse_program(data)


def rule(kind: str, points: int = 10, rule_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {'rule_id': rule_id or kind, 'kind': kind, 'points': points, **fields}


def book(*documents: ProgramDocument) -> ProgramBook:
    return ProgramBook.of(*documents)


def versions(*pairs: tuple[int, ProgramDocument]) -> ProgramBook:
    by_program: dict[str, list[ProgramVersion]] = {}
    for number, doc in pairs:
        by_program.setdefault(doc.program_id, []).append(ProgramVersion(number, doc))
    return ProgramBook(by_program)


def event(n: int, minutes: float, *, kind: Kind = Kind.TICKET, source: Source = Source.ZENDESK, external_id: str = '1', **fields: Any) -> TicketEvent:
    return TicketEvent(source=source, kind=kind, external_id=external_id, event_id=f'{external_id}-{n}',
                       occurred_at=T0 + timedelta(minutes=minutes), **fields)


def solved_ticket(*, channel: Channel = Channel.EMAIL, priority: Priority = Priority.NORMAL, reopened: bool = False,
                  replies: int = 1, touches: int | None = None, tags: tuple[str, ...] = (), assignee: Assignee = AGENT,
                  location: str = 'US-NYC', extra_events: tuple[TicketEvent, ...] = ()) -> TicketState:
    """Opened at T0, first reply at +20 min, solved at +2 h (then reopened at +3 h and solved again at +5 h)."""
    events = [
        event(1, 0, status=Status.OPEN, channel=channel, priority=priority, assignees=(assignee,), location_id=location, tags=tags,
              created_at=T0),
        event(2, 20, status=Status.PENDING, first_response_at=T0 + timedelta(minutes=20), reply_count=replies, agent_touches=touches),
        event(3, 120, status=Status.SOLVED),
    ]
    if reopened:
        events += [event(4, 180, status=Status.OPEN), event(5, 300, status=Status.SOLVED)]
    return fold([*events, *extra_events])


def job_card(*, delivered: bool = True, promised_h: float = 6, delivered_h: float = 4, assignees: tuple[Assignee, ...] = (ADVISOR, TECH_1),
             tags: tuple[str, ...] = (), upsell: tuple[dict[str, Any], ...] = (), extra_events: tuple[TicketEvent, ...] = ()) -> TicketState:
    """A job card opened at T0, work done at +3 h, delivered at +delivered_h (or not delivered)."""
    common: dict[str, Any] = {'kind': Kind.JOB_CARD, 'source': Source.DMS, 'external_id': 'JC-1'}
    events = [
        event(1, 0, status=Status.OPEN, raw_status='opened', assignees=assignees, location_id='IN-BLR-01', created_at=T0,
              promised_at=T0 + timedelta(hours=promised_h), tags=tags, upsell_lines=upsell, **common),
        event(2, 180, status=Status.SOLVED, raw_status='work_done', **common),
    ]
    if delivered:
        at = T0 + timedelta(hours=delivered_h)
        events.append(event(3, delivered_h * 60, status=Status.CLOSED, raw_status='delivered', resolved_at=at, **common))
    return fold([*events, *extra_events])


def clock(metric: Metric, state: ClockState, elapsed_min: float, target_min: float = 60, completed_min: float | None = None,
          breached_min: float | None = None) -> TargetClock:
    return TargetClock(
        metric=metric, target_minutes=target_min, business_hours=False, state=state, started_at=T0, elapsed_s=elapsed_min * 60,
        completed_at=T0 + timedelta(minutes=completed_min) if completed_min is not None else None,
        breached_at=T0 + timedelta(minutes=breached_min) if breached_min is not None else None,
    )


def sla(*clocks: TargetClock, priority: Priority = Priority.NORMAL) -> SlaReport:
    return SlaReport(policy_id='standard', policy_version=1, calendar_id='24x7', priority=priority,
                     clocks={c.metric: c for c in clocks})


MET_BOTH = sla(clock(Metric.FIRST_RESPONSE, ClockState.MET, 20, completed_min=20),
               clock(Metric.RESOLUTION, ClockState.MET, 120, target_min=480, completed_min=120))
