"""The LMS, QA and safety sources end to end below the HTTP layer: a signed request is received (or quarantined with
the field named), its event processed, the person resolved by employee id, and the item's KPI contribution stored."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import QueueMessage, TicketEvent
from shared.ingest.webhooks import WebhookReceiver
from shared.kpi.definitions import Contribution
from shared.ledger.store import LedgerStore
from shared.quarantine.store import QuarantineStore
from shared.sources import signing
from shared.sources.base import SourceSecret, WebhookRequest
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.local_aws import local_aws
from tests.unit.sources._support import sample_bytes

NOW = datetime(2024, 5, 14, 12, 0, tzinfo=UTC)
SECRETS = {'lms': 'lms-secret', 'quality': 'quality-secret', 'safety': 'safety-secret'}
# The wire samples' people: a technician and the agent QA reviewed (ids as the HR export has them)
DIRECTORY = """employee_id,name,role,job_grade,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone
TECH-104,Dev Technician,technician,T1,IN-BLR-01,IN-South,WM-BLR-01,,no,dev@example.com,Asia/Kolkata
TECH-221,Ravi Technician,technician,T2,IN-BLR-01,IN-South,WM-BLR-01,,no,ravi@example.com,Asia/Kolkata
E012,Ana Agent,agent,L1,US-NYC,US-East,M1,,no,ana@example.com,America/New_York
"""


class Secrets:
    def get(self, source: str) -> SourceSecret:
        return SourceSecret(secret=SECRETS[source])


class Queue:
    def __init__(self) -> None:
        self.events: list[TicketEvent] = []

    def send(self, messages: Sequence[QueueMessage]) -> None:
        self.events.extend(message.event for message in messages if message.event is not None)


@pytest.fixture()
def world() -> Iterator[tuple[WebhookReceiver, Queue, TicketProcessor]]:
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY, 'csv'), NOW)
        queue = Queue()
        receiver = WebhookReceiver(secrets=Secrets(), queue=queue, quarantine=QuarantineStore(), max_body_bytes=256 * 1024)
        yield receiver, queue, TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())


def signed(source: str, body: bytes, secret: str | None = None) -> WebhookRequest:
    return WebhookRequest(body=body, headers=signing.signed_headers(secret or SECRETS[source], int(NOW.timestamp()), body))


def stored_item(ticket_key: str) -> tuple[list[str], list[str], Contribution | None]:
    _, record = TicketStore().get_record(ticket_key)
    assert record is not None
    return [str(e) for e in record.employee_ids or []], [str(a) for a in record.unmapped_agents or []], Contribution.from_json(record.kpi)


@pytest.mark.parametrize(
    ('source', 'sample', 'ticket_key', 'employee', 'counters'),
    [
        ('lms', 'lms_training_completed.json', 'lms#ENR-88213', 'TECH-104', {'tr_n': 1, 'tr_c': 1}),
        ('quality', 'quality_review.json', 'quality#QA-2024-0512', 'E012', {'qa_n': 1, 'qa_sum': 85}),
        ('safety', 'safety_hazard_report.json', 'safety#SR-2024-0091', 'TECH-221', {'hz': 1}),
    ],
)
def test_a_signed_people_event_is_processed_for_the_employee_it_names(
    world: tuple[WebhookReceiver, Queue, TicketProcessor],
    source: str,
    sample: str,
    ticket_key: str,
    employee: str,
    counters: dict[str, int],
) -> None:
    # Given the directory (no LMS, QA or safety ids mapped) and the source's signed wire sample
    receiver, queue, processor = world

    # When it is received and its event processed
    answer = receiver.receive(source, signed(source, sample_bytes(sample)), NOW)
    assert answer.status_code == 200, answer.body
    for event in queue.events:
        processor.apply(event, NOW)

    # Then the item is kept for the employee named by id (nobody unmapped), with its KPI counters for them and their team
    employee_ids, unmapped, contribution = stored_item(ticket_key)
    assert (employee_ids, unmapped) == ([employee], [])
    assert contribution is not None and dict(contribution.counters) == counters
    assert f'employee#{employee}' in contribution.scopes and not any('|' in scope for scope in contribution.scopes)


def test_enrolment_and_completion_in_any_order_make_one_completed_training(world: tuple[WebhookReceiver, Queue, TicketProcessor]) -> None:
    # Given the sample completion and the earlier enrolment event of the same enrolment
    receiver, queue, processor = world
    completion = json.loads(sample_bytes('lms_training_completed.json'))
    enrolment: dict[str, Any] = {
        **completion,
        'event_id': 'lms-evt-enrolled',
        'event_type': 'enrolled',
        'occurred_at': '2024-05-02T10:00:03+05:30',
    }
    enrolment['enrolment'] = {k: v for k, v in completion['enrolment'].items() if k not in ('completed_at', 'score')}

    # When the completion arrives first, then the enrolment, then the completion again
    for body in (completion, enrolment, completion):
        assert receiver.receive('lms', signed('lms', json.dumps(body).encode()), NOW).status_code == 200
    for event in queue.events:
        processor.apply(event, NOW + timedelta(minutes=1))

    # Then the enrolment counts once, completed, on its enrolment day
    _, _, contribution = stored_item('lms#ENR-88213')
    assert contribution is not None
    assert (dict(contribution.counters), contribution.day) == ({'tr_n': 1, 'tr_c': 1}, '2024-05-02')


@pytest.mark.parametrize(
    ('source', 'sample', 'edit', 'field'),
    [
        ('lms', 'lms_training_completed.json', lambda b: b.replace(b'"score": 88', b'"score": 188'), 'enrolment.score'),
        ('quality', 'quality_review.json', lambda b: b.replace(b'"E090"', b'"E012"'), 'review.reviewer_id'),
        ('safety', 'safety_hazard_report.json', lambda b: b.replace(b'"severity": "high"', b'"severity": "severe"'), 'report.severity'),
    ],
)
def test_bad_input_is_quarantined_naming_the_field(world: tuple[WebhookReceiver, Queue, TicketProcessor], source: str, sample: str,
                                                   edit: Any, field: str) -> None:  # fmt: skip
    # Given a correctly signed body with one bad field, and the good sample signed with the wrong secret
    receiver, queue, _ = world
    bad = edit(sample_bytes(sample))
    assert bad != sample_bytes(sample)

    # When both are received
    invalid = receiver.receive(source, signed(source, bad), NOW)
    forged = receiver.receive(source, signed(source, sample_bytes(sample), secret='wrong'), NOW)

    # Then the first is a 400 naming the field, the second a 401, both quarantined and nothing queued
    assert (invalid.status_code, json.loads(invalid.body)['error']['field']) == (400, field)
    assert forged.status_code == 401
    assert invalid.quarantine_id and forged.quarantine_id
    assert queue.events == []
