"""Trainings, QA reviews and safety reports are about a person, not work on a customer's ticket: they never join
the owner's worklist (the daily reminder and TODAY list open work) and never plan an alert, even under an SLA policy
that matches every kind."""

from __future__ import annotations

import pytest

from shared.alerts.plan import AlertRules, plan, ticket_alerts
from shared.events import Priority, TicketEvent
from shared.sla.calendar import BusinessCalendar
from shared.sla.clock import checkpoints, evaluate
from shared.sla.policy import Metric, SlaPolicy, Target
from shared.sources.lms import adapter as lms
from shared.sources.quality import adapter as quality
from shared.sources.safety import adapter as safety
from shared.tickets.state import fold
from tests.unit.sources._support import parse_one, sample_json

CALENDAR = BusinessCalendar(
    calendar_id='24x7', timezone='UTC', hours={d: [('00:00', '24:00')] for d in ('mon', 'tue', 'wed', 'thu', 'fri')}
)
EVERY_KIND = SlaPolicy(policy_id='all', targets={Metric.RESOLUTION: {priority: Target(minutes=60) for priority in Priority}})


def enrolment() -> TicketEvent:
    body = sample_json('lms_training_completed.json')
    body['event_type'] = 'enrolled'
    body['enrolment'] = {k: v for k, v in body['enrolment'].items() if k not in ('completed_at', 'score')}
    return parse_one(lms, body)


@pytest.mark.parametrize(
    'event',
    [enrolment(), parse_one(quality, sample_json('quality_review.json')), parse_one(safety, sample_json('safety_hazard_report.json'))],
    ids=['enrolled training', 'quality review', 'hazard report'],
)
def test_people_items_are_never_open_work_and_plan_no_alert(event: TicketEvent) -> None:
    # Given one such item (owned by its employee) under an SLA policy matching every kind
    state = fold([event])
    sla = evaluate(state, [event], EVERY_KIND, CALENDAR)

    # When its alerting view and checkpoints are planned
    alerts = ticket_alerts(state, checkpoints([event]), sla, CALENDAR, AlertRules(), 'TECH-104', 'IN-BLR-01')

    # Then it is not open work for its owner and has no alert checkpoint
    assert alerts.open is False and alerts.planned == ()
    assert plan(state, checkpoints([event]), sla, CALENDAR, AlertRules()) == []
