"""The programs shipped in events/ (the e-commerce support program and the Pitstop workshop program) and the built-in
default program validate, and pay what they promise on the sample month."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from infrastructure.local.sample_month import SITES, generate
from shared.directory.people import Employee
from shared.events import Assignee, Kind, Source, Status, TicketEvent, Training
from shared.programs.document import ProgramDocument, parse_program
from shared.programs.engine import evaluate
from shared.programs.loader import ProgramBook, builtin_book
from shared.sources.dms import JobCardEvent, to_event
from shared.tickets.state import REPEAT_VISIT_TAG, fold
from tests.unit.programs.builders import EMPLOYEES, MET_BOTH, T0, job_card, solved_ticket

EVENTS = Path(__file__).resolve().parents[3] / 'events'
SAMPLE_ROLES = {'agent', 'support', 'service_advisor', 'technician', 'manager'}
CONTEXT = {'locations': {site.location_id for site in SITES}, 'roles': SAMPLE_ROLES}


def shipped(name: str) -> ProgramDocument:
    return parse_program((EVENTS / name).read_text(), CONTEXT)


@pytest.mark.parametrize('name', ['program_support.json', 'program_workshop.json'])
def test_the_shipped_programs_validate_against_the_sample_locations_and_roles_and_fit_an_ssm_parameter(name: str) -> None:
    # When the document is validated as the loader validates a parameter
    doc = shipped(name)

    # Then it is valid, with its league, and small enough for an advanced-tier SSM parameter (8 KB) even as written
    # (the loader and the README put programs with Tier=Intelligent-Tiering: standard up to 4 KB, advanced above)
    assert doc.rules and doc.period_rules and doc.league is not None
    assert len((EVENTS / name).read_bytes()) <= 8192
    assert json.loads((EVENTS / name).read_text())['program_id'] == doc.program_id


def test_the_support_program_pays_an_agent_for_a_good_ticket_and_deducts_a_reopen() -> None:
    doc = shipped('program_support.json')
    awards = evaluate(ProgramBook.of(doc), solved_ticket(replies=1, touches=1), EMPLOYEES, MET_BOTH, None)
    by_rule = {a.rule_id: a.points for a in awards}
    # senior agent, normal priority: no escalation bonus; fast first reply (33 % of the target) x1.5
    assert by_rule == {'first_response_within_sla': 8, 'resolution_within_sla': 12, 'fcr': 15, 'one_touch': 5}
    reopened = evaluate(ProgramBook.of(doc), solved_ticket(reopened=True), EMPLOYEES, MET_BOTH, None)
    assert {a.rule_id: a.points for a in reopened}['reopen'] == -5


def test_the_builtin_program_is_the_former_five_rules() -> None:
    (program,) = builtin_book().programs.values()
    doc = program[0].document
    assert [r.rule_id for r in doc.rules] == ['resolved_within_sla', 'first_response_within_sla', 'csat_positive', 'job_card_on_time',
                                               'upsell_accepted']
    assert [(a.rule_id, a.points) for a in evaluate(builtin_book(), job_card(), EMPLOYEES, None, None)] == [('job_card_on_time', 10)]


def _sample_workshop() -> tuple[dict[str, Employee], list]:
    """The sample month's job cards folded as the processor folds them (a repeat visit tags the card it repeats)."""
    month = generate(scale=0.4, clean=True)
    employees = {}
    for person in month.employees:
        for key in person.agent_ids.values():
            employees[key.lower()] = Employee(person.employee_id, role=person.role, location_id=person.location_id)
    by_ticket: dict[str, list[TicketEvent]] = defaultdict(list)
    for delivery in month.deliveries:
        if delivery.source == 'dms' and delivery.expect == 'accepted':
            canonical = to_event(JobCardEvent.model_validate_json(delivery.body))
            by_ticket[canonical.ticket_key].append(canonical)
    for key, events in list(by_ticket.items()):
        state = fold(events)
        if state.repeat_of is not None and state.created_at is not None:
            original = f'{state.source.value}#{state.repeat_of}'
            by_ticket[original].append(TicketEvent(source=state.source, kind=Kind.JOB_CARD, external_id=state.repeat_of,
                                                    event_id=f'repeat-visit:{key}', occurred_at=state.created_at,
                                                    tags=(f'{REPEAT_VISIT_TAG}{key}',)))
    return employees, [fold(events) for events in by_ticket.values()]


def test_on_the_sample_month_every_workshop_role_in_scope_earns() -> None:
    # Given the workshop program and the sample month's job cards; workshop support staff complete a training
    doc = shipped('program_workshop.json')
    employees, states = _sample_workshop()
    support = next(p for p in generate(scale=0.01, clean=True).employees if p.role == 'support' and p.location_id.startswith('IN-'))
    employees[support.employee_id.lower()] = Employee(support.employee_id, role='support', location_id=support.location_id)
    training = Training(course_id='SAFE-1', course_name='Workshop safety', status='completed', completed_at=T0 + timedelta(days=20),
                        milestone='level_1')
    states.append(fold([TicketEvent(source=Source.LMS, kind=Kind.TRAINING, external_id=f'{support.employee_id}:SAFE-1', event_id='t1',
                                    occurred_at=T0 + timedelta(days=20), status=Status.CLOSED,
                                    assignees=(Assignee(agent_key=support.employee_id),), training=training)]))

    # When every state is evaluated
    points: Counter[str] = Counter()
    roles = {e.employee_id: e.role for e in employees.values()}
    for state in states:
        for award in evaluate(ProgramBook.of(doc), state, employees, None, None):
            points[roles[award.employee_id]] += award.points

    # Then advisors, technicians and support staff all end above 0 (managers are out of the program's scope)
    assert set(doc.scope.roles) == {'service_advisor', 'technician', 'support'}
    assert all(points[role] > 0 for role in doc.scope.roles), points
    assert points['manager'] == 0
