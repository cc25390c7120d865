"""Alerts end to end on DynamoDB (moto) and the fake Twilio: ticket events through the processor, the tickets table's
stream through the real alert planner handler (the ticket's plan), the one-minute scan over the `due` index (which
writes a plan's alerts out as they fall due), the sender, Twilio."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infrastructure.local.fake_twilio import FakeTwilio, local_twilio_client
from shared.alerts.scan import AlertMessage, scan
from shared.alerts.store import AlertStore, decode_plan, plan_pk
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Assignee, Channel, Priority, Source, Status, TicketEvent
from shared.ingest.queue import SqsEventQueue
from shared.ledger.store import LedgerStore
from shared.notify.dispatch import AlertDispatcher, Outcome
from shared.notify.messaging import MessagingSettings, TwilioMessenger
from shared.sla.config import ServiceConfig
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.apigw import lambda_context
from tests.support.factories import DIRECTORY_CSV
from tests.support.local_aws import LocalAws, local_aws

WEEKDAYS = ('mon', 'tue', 'wed', 'thu', 'fri')
TEMPLATE = 'HX' + 'a' * 32
CONFIG = ServiceConfig.model_validate(
    {
        'calendars': [
            {'calendar_id': 'nyc', 'timezone': 'America/New_York', 'hours': {d: [('09:00', '17:00')] for d in WEEKDAYS}},
            {'calendar_id': '24x7', 'timezone': 'UTC', 'hours': {d: [('00:00', '24:00')] for d in (*WEEKDAYS, 'sat', 'sun')}},
        ],
        'locations': [{'location_id': 'US-NYC', 'region': 'US-East', 'calendar_id': 'nyc'}],
        'default_calendar_id': '24x7',
        'alerts': {'whatsapp_templates': {'sla_risk': {'en': TEMPLATE}, 'sla_breach': {'en': TEMPLATE}}},
    }
)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall time in October 2026 (EDT, UTC-4) as UTC."""
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC) + timedelta(hours=4)


CREATED = ny(9, 16, 30)  # a Friday, 30 minutes before closing
RISK_AT = ny(12, 11, 30)  # 75% of the standard 4 business hours: 30 min on Friday + 2 h 30 on Monday
DUE_AT = ny(12, 12, 30)  # the first-response target itself


def ticket(step: int, at: datetime, agent: str = 'agent1@example.com', **fields: Any) -> TicketEvent:
    fields.setdefault('status', Status.OPEN)
    fields.setdefault('priority', Priority.NORMAL)
    return TicketEvent(
        source=Source.ZENDESK,
        external_id='501',
        event_id=f'zd:501:{step}',
        occurred_at=at,
        created_at=CREATED,
        location_id='US-NYC',
        channel=Channel.EMAIL,
        assignees=(Assignee(agent_key=agent),),
        **fields,
    )


@dataclass
class World:
    aws: LocalAws
    processor: TicketProcessor
    alerts: AlertStore
    queue: SqsEventQueue
    dispatcher: AlertDispatcher
    fake: FakeTwilio

    def apply(self, *events: TicketEvent) -> list[dict[str, Any]]:
        """Process the events and run the planner over the stream records they made (returned, to deliver again)."""
        for event in events:
            self.processor.apply(event, event.occurred_at)
        records = self.aws.ticket_changes()
        self.plan(records)
        return records

    def plan(self, records: list[dict[str, Any]]) -> None:
        from functions.alert_planner import app

        app._store = None  # bound to this test's table
        answer = app.lambda_handler({'Records': records}, lambda_context())
        assert answer == {'batchItemFailures': []}

    def alert_items(self) -> dict[str, str]:
        """Every alert item of the table (a test may Scan): alert id -> status."""
        items = self.aws.dynamodb.scan(TableName=self.alerts.table)['Items']
        return {i['pk']['S'].removeprefix('ALERT#'): i['status']['S'] for i in items if i['pk']['S'].startswith('ALERT#')}

    def planned(self, ticket_key: str = 'zendesk#501') -> dict[str, datetime]:
        """The ticket's plan as stored: alert id -> due time ({} when it has none)."""
        item = self.aws.dynamodb.get_item(TableName=self.alerts.table, Key={'pk': {'S': plan_pk(ticket_key)}, 'sk': {'S': 'P'}}).get('Item')
        return {a.alert_id: a.due_at for a in decode_plan(item['alerts']['S'])} if item else {}

    def scan(self, at: datetime) -> list[tuple[str, AlertMessage]]:
        """One scan at `at`; the messages it queued (received from the alerts queue, as the sender's poller would)."""
        scan(self.alerts, self.queue, at, CONFIG.alerts.max_late_minutes, wall=lambda: 0.0)
        received: list[tuple[str, AlertMessage]] = []
        while batch := self.aws.sqs.receive_message(QueueUrl=self.aws.queues['AlertsQueue'], MaxNumberOfMessages=10).get('Messages', []):
            for message in batch:
                self.aws.sqs.delete_message(QueueUrl=self.aws.queues['AlertsQueue'], ReceiptHandle=message['ReceiptHandle'])
                received.append((message['MessageId'], AlertMessage.model_validate_json(message['Body'])))
        return received

    def deliver(self, received: list[tuple[str, AlertMessage]]) -> list[Any]:
        return [self.dispatcher.deliver(m.alert, m.at, m.queued, claim_id=message_id) for message_id, m in received]


@pytest.fixture()
def world() -> Iterator[World]:
    with local_aws() as aws, FakeTwilio(port=0) as fake:
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), CREATED)
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore(), config=lambda: CONFIG)
        settings = MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006')
        messenger = TwilioMessenger(local_twilio_client(fake), settings, sleep=lambda s: None, jitter=lambda: 0.0)
        dispatcher = AlertDispatcher(alerts=AlertStore(), contacts=ContactBook(), messenger=lambda: messenger,
                                     email=lambda to, content: 'email-1', config=lambda: CONFIG, wall=lambda: 0.0)  # fmt: skip
        queue = SqsEventQueue(aws.queues['AlertsQueue'], aws.sqs)
        yield World(aws, processor, AlertStore(), queue, dispatcher, fake)


def kinds(received: list[tuple[str, AlertMessage]]) -> list[str]:
    return sorted(message.alert.split('|')[1] + '#' + message.alert.rsplit('#', 1)[1] for _, message in received)


def test_the_risk_alert_falls_due_at_75_percent_of_the_target_in_business_time(world: World) -> None:
    # Given a ticket created Friday 16:30 in New York (Mon-Fri 09:00-17:00), owned by E1 (WhatsApp opted in),
    # under the standard policy's 4 business hours for a first response
    world.apply(ticket(0, CREATED))

    # When the scan runs at closing on Friday, over the weekend, and a minute before Monday 11:30
    early = [world.scan(at) for at in (ny(9, 17), ny(10, 12), ny(11, 23), RISK_AT - timedelta(minutes=1))]

    # Then nothing is due yet: the weekend and the night count for nothing
    assert early == [[], [], [], []]

    # And at Monday 11:30 exactly the owner's risk alert is due, and it goes as the WhatsApp template to E1's phone
    due = world.scan(RISK_AT)
    assert kinds(due) == ['sla_risk#assignee']
    [result] = world.deliver(due)
    assert (result.outcome, result.channel, result.lateness_s) == (Outcome.SENT, 'whatsapp', 0.0)
    [sent] = world.fake.messages
    assert (sent['to'], sent['content_sid']) == ('whatsapp:+15558675310', TEMPLATE)
    assert sent['content_variables']['2'] == '501'

    # And at 12:30 the breach goes to the owner and to their manager (e-mail, the managers' default)
    breach = world.scan(DUE_AT)
    assert kinds(breach) == ['sla_breach#assignee', 'sla_breach#manager']
    outcomes = sorted((r.outcome, r.channel) for r in world.deliver(breach))
    assert outcomes == [(Outcome.SENT, 'email'), (Outcome.SENT, 'whatsapp')]


def test_a_first_reply_before_the_threshold_cancels_the_pending_alerts(world: World) -> None:
    # Given the same ticket, answered on Monday at 10:00, before 75% of the target was used
    world.apply(ticket(0, CREATED), ticket(1, ny(12, 10), reply_count=1, first_response_at=ny(12, 10)))

    # When the scans run at the risk and due times
    received = world.scan(RISK_AT) + world.scan(DUE_AT)

    # Then nothing about the first response is sent: its alerts left the plan before they fell due, so no alert item
    # was ever written for them (nothing to cancel), while the resolution target's alerts are still planned
    assert [m.alert for _, m in received if '|first_response|' in m.alert] == []
    assert not [a for a in world.alert_items() if '|first_response|' in a]
    assert not [a for a in world.planned() if '|first_response|' in a]
    assert [a for a in world.planned() if '|resolution|' in a]
    assert world.fake.messages == []


def test_resolving_cancels_every_pending_alert_and_clears_the_worklist(world: World) -> None:
    # Given the ticket on E1's worklist
    world.apply(ticket(0, CREATED))
    assert [w.ref for w in world.alerts.worklist('E1')] == ['501']

    # When it is solved on Monday at 09:15
    world.apply(ticket(1, ny(12, 9, 15), status=Status.SOLVED, reply_count=1, first_response_at=ny(12, 9, 15), resolved_at=ny(12, 9, 15)))

    # Then no scan that week finds anything and the worklist is empty
    assert world.scan(ny(16, 17)) == []
    assert world.alerts.worklist('E1') == []


def test_a_reassignment_moves_the_alert_to_the_new_owner_and_their_channel(world: World) -> None:
    # Given the ticket reassigned on Monday 09:05 to E2 (no WhatsApp opt-in), with E2's worklist and not E1's
    world.apply(ticket(0, CREATED), ticket(1, ny(12, 9, 5), agent='agent2@example.com'))
    assert (world.alerts.worklist('E1'), [w.ref for w in world.alerts.worklist('E2')]) == ([], ['501'])

    # When the risk alert falls due and goes out
    [result] = world.deliver(world.scan(RISK_AT))

    # Then it reaches E2 by SMS
    assert (result.outcome, result.channel) == (Outcome.SENT, 'sms')
    [sent] = world.fake.messages
    assert sent['to'] == '+15558675311' and '501' in sent['body']


def test_double_firing_and_a_repeated_message_send_one_message(world: World) -> None:
    # Given the due risk alert, found by a scan, then by the same scan fired again (EventBridge delivers at least once)
    world.apply(ticket(0, CREATED))
    first = world.scan(RISK_AT)
    second = world.scan(RISK_AT)
    assert len(first) == 1 and second == []

    # When its queue message is delivered twice (SQS delivers at least once), and once more under another id
    message_id, message = first[0]
    outcomes = [r.outcome for r in world.deliver([(message_id, message), (message_id, message), ('copy', message)])]

    # Then Twilio got exactly one message
    assert outcomes == [Outcome.SENT, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert len(world.fake.messages) == 1


RISK = 'zendesk#501|sla_risk|first_response|75%#assignee'


def test_an_alert_is_written_only_when_it_falls_due_and_then_goes_out_once(world: World) -> None:
    # Given the ticket planned on Friday: its risk alert is due on Monday 11:30
    world.apply(ticket(0, CREATED))
    assert world.planned()[RISK] == RISK_AT

    # When the scans run over the weekend and up to a minute before
    for at in (ny(9, 17), ny(10, 12), RISK_AT - timedelta(minutes=1)):
        assert world.scan(at) == []

    # Then no alert item exists yet: the plan alone holds the alert
    assert world.alert_items() == {}

    # And at 11:30 the scan writes it out and queues it, a second scan finds nothing, and it goes out once
    first, second = world.scan(RISK_AT), world.scan(RISK_AT)
    assert [m.alert for _, m in first] == [RISK] and second == []
    assert world.alert_items() == {RISK: 'queued'}
    world.deliver(first + first)
    assert len(world.fake.messages) == 1 and world.alert_items()[RISK] == 'sent'


def test_a_ticket_resolved_before_its_alerts_fall_due_writes_no_alert_item(world: World) -> None:
    # Given the ticket planned on Friday
    world.apply(ticket(0, CREATED))

    # When it is solved on Monday before anything fell due, and the scans run that week
    world.apply(ticket(1, ny(12, 9, 15), status=Status.SOLVED, reply_count=1, first_response_at=ny(12, 9, 15), resolved_at=ny(12, 9, 15)))
    received = [world.scan(at) for at in (RISK_AT, DUE_AT, ny(16, 17))]

    # Then its plan is gone, no alert item was ever written, and nothing was sent
    items = world.aws.dynamodb.scan(TableName=world.alerts.table)['Items']
    assert [i['pk']['S'] for i in items if not i['pk']['S'].startswith(('WORK#', 'BREACH#'))] == []
    assert received == [[], [], []] and world.fake.messages == []


def test_resolving_after_an_alert_was_written_out_cancels_it(world: World) -> None:
    # Given the risk alert written out and queued by the 11:30 scan, its message not yet delivered
    world.apply(ticket(0, CREATED))
    queued = world.scan(RISK_AT)
    assert world.alert_items() == {RISK: 'queued'}

    # When the ticket is solved at 11:30:20, and then the queued message is delivered
    solved = RISK_AT + timedelta(seconds=20)
    world.apply(ticket(1, solved, status=Status.SOLVED, reply_count=1, first_response_at=solved, resolved_at=solved))
    [result] = world.deliver(queued)

    # Then the written-out alert is cancelled and not sent; the breach alerts were never written; nothing goes out later
    assert world.alert_items() == {RISK: 'cancelled'}
    assert result.outcome is not Outcome.SENT and world.fake.messages == []
    assert world.scan(DUE_AT) == [] and world.planned() == {}


def test_a_priority_change_moves_the_planned_alert(world: World) -> None:
    # Given the ticket planned on Friday with normal priority
    world.apply(ticket(0, CREATED))

    # When its priority is raised to urgent on Friday 16:40, before anything is written out
    world.apply(ticket(1, ny(9, 16, 40), priority=Priority.URGENT))
    moved = world.planned()[RISK]

    # Then the plan holds the risk alert at its new, earlier time, and it goes out then, once, and not at 11:30 again
    assert moved < RISK_AT
    assert world.scan(moved - timedelta(seconds=30)) == []
    due = world.scan(moved)
    assert [m.alert for _, m in due] == [RISK]
    world.deliver(due)
    assert len(world.fake.messages) == 1
    assert [m.alert for _, m in world.scan(RISK_AT) if m.alert == RISK] == []


def test_a_written_out_alert_moved_later_goes_out_at_its_new_time_only(world: World) -> None:
    # Given an urgent ticket whose risk alert the scan wrote out and queued
    world.apply(ticket(0, CREATED, priority=Priority.URGENT))
    first_due = world.planned()[RISK]
    queued = world.scan(first_due)
    assert [m.alert for _, m in queued] == [RISK]

    # When the priority is lowered to normal a few seconds later (the alert is due later), and the queued message arrives
    world.apply(ticket(1, first_due + timedelta(seconds=10), priority=Priority.NORMAL))
    [stale] = world.deliver(queued)

    # Then the old message sends nothing (the alert is not due any more); it goes out once at its new time
    assert stale.outcome is not Outcome.SENT and world.fake.messages == []
    later = world.planned()[RISK]
    assert later > first_due and world.alert_items()[RISK] == 'pending'
    due = world.scan(later)
    assert [m.alert for _, m in due] == [RISK]
    world.deliver(due)
    assert len(world.fake.messages) == 1


def test_a_redelivered_stream_batch_and_repeated_scans_send_nothing_twice(world: World) -> None:
    # Given the ticket planned, its risk alert written out, queued and sent
    records = world.apply(ticket(0, CREATED))
    world.deliver(world.scan(RISK_AT))
    assert len(world.fake.messages) == 1

    # When the stream delivers the same batch again and the scans run again (at the risk time and later)
    world.plan(records)
    again = world.scan(RISK_AT) + world.scan(RISK_AT + timedelta(minutes=1))
    world.deliver(again)

    # Then the risk alert does not go out a second time (the breach alerts are still to come, at their own time)
    assert [m.alert for _, m in again if m.alert == RISK] == []
    assert len(world.fake.messages) == 1 and world.alert_items()[RISK] == 'sent'
