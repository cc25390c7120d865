"""Delivering alerts: the one-minute scan, the alerts queue (SQS in moto), the sender's claim, quiet hours in the
recipient's time zone, channel routing and fallbacks, against the local fake Twilio (the real twilio-python client)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from infrastructure.local.fake_twilio import FakeTwilio, local_twilio_client
from shared.alerts.plan import AlertKind, Recipient, TicketAlerts
from shared.alerts.quiet_hours import QuietHours
from shared.alerts.scan import AlertMessage, scan
from shared.alerts.settings import AlertSettings, ReminderSettings
from shared.alerts.store import AlertStore
from shared.alerts.sync import Breach, PendingAlert, alert_id
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Kind
from shared.ingest.queue import SqsEventQueue
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import LedgerStore
from shared.notify import EmailContent
from shared.notify.conversations import Conversations
from shared.notify.dispatch import AlertDispatcher, Outcome
from shared.notify.messaging import MessagingSettings, SendFailed, TwilioMessenger
from shared.notify.twilio_webhooks import status_update
from shared.sla.config import ServiceConfig
from tests.integration.test_messaging import SimulatedTime
from tests.support.apigw import lambda_context, sqs_event
from tests.support.factories import risk_alert
from tests.support.local_aws import LocalAws, local_aws

TEMPLATE_EN = 'HX' + 'a' * 32
TEMPLATE_ES = 'HX' + 'b' * 32
REMINDER_EN = 'HX' + 'c' * 32
CALLBACK_BASE = 'https://api.example.com'
DAY = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)  # Kolkata 15:30, Madrid 11:00, New York 05:00 (quiet)
EVENING = datetime(2024, 1, 15, 18, 0, tzinfo=UTC)  # Kolkata 23:30 (quiet), New York 13:00
PRIYA, JOHN, ANA, SAM, NOOR = '+919812345678', '+12125550123', '+34600111222', '+447700900123', '+971501234567'
BUDI = '+6281234567890'
DIRECTORY = f"""employee_id,name,role,location_id,manager_id,phone,whatsapp_opt_in,email,time_zone,language,alert_channel
E1,Priya Sharma,agent,L1,M1,{PRIYA},yes,priya@example.com,Asia/Kolkata,en,
E2,John Miller,agent,L2,M1,{JOHN},yes,,America/New_York,en,
M1,Ana Gomez,manager,L1,,{ANA},no,ana.gomez@example.com,Europe/Madrid,es,
E3,Sam Lee,agent,L1,M1,{SAM},no,sam@example.com,UTC,en,
E4,Noor Ali,agent,L1,M1,{NOOR},yes,,UTC,en,
E5,Lone Wolf,agent,L1,,+15005550009,no,,UTC,en,
E6,Budi Santoso,agent,L1,M1,{BUDI},no,,Asia/Jakarta,id,
"""


class Wall:
    """The sender's wall clock (seconds), moved by the test."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Outbox:
    """The e-mail port (SES in production): records what it was asked to send."""

    sent: list[tuple[str, EmailContent]] = field(default_factory=list)

    def __call__(self, to: str, content: EmailContent) -> str | None:
        self.sent.append((to, content))
        return f'ses-{len(self.sent)}'


@dataclass
class Env:
    aws: LocalAws
    fake: FakeTwilio
    time: SimulatedTime
    wall: Wall
    outbox: Outbox
    store: AlertStore
    contacts: ContactBook
    config: ServiceConfig
    messenger: TwilioMessenger

    def dispatcher(self, ledger: LedgerStore | None = None) -> AlertDispatcher:
        return AlertDispatcher(
            alerts=self.store,
            contacts=self.contacts,
            messenger=lambda: self.messenger,
            email=self.outbox,
            config=lambda: self.config,
            ledger=ledger,
            callback_base=CALLBACK_BASE,
            wall=self.wall,
        )

    @property
    def queue(self) -> SqsEventQueue:
        return SqsEventQueue(self.aws.queues['AlertsQueue'], self.aws.sqs)

    def scan(self, at: datetime) -> list[tuple[str, AlertMessage]]:
        """Run the one-minute scan at `at` and take what it queued: (SQS message id, message)."""
        scan(self.store, self.queue, at, self.config.alerts.max_late_minutes, wall=self.wall)
        return [(m['MessageId'], AlertMessage.model_validate_json(m['Body'])) for m in self.receive('AlertsQueue')]

    def receive(self, queue: str) -> list[dict[str, Any]]:
        url = self.aws.queues[queue]
        received: list[dict[str, Any]] = []
        while batch := self.aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                                    AttributeNames=['All']).get('Messages', []):  # fmt: skip
            for message in batch:
                self.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message['ReceiptHandle'])
            received.extend(batch)
        return received

    def accepted(self) -> list[dict[str, Any]]:
        """The messages Twilio accepted (rejected attempts have no SID)."""
        return [m for m in self.fake.messages if m['sid']]


def service_config(**alerts: Any) -> ServiceConfig:
    templates = {AlertKind.SLA_RISK: {'en': TEMPLATE_EN, 'es': TEMPLATE_ES}, AlertKind.DAILY_REMINDER: {'en': REMINDER_EN}}
    return ServiceConfig(alerts=AlertSettings(whatsapp_templates=templates, **alerts))


@pytest.fixture()
def env() -> Iterator[Env]:
    with local_aws() as aws, FakeTwilio(port=0) as fake:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), DAY - timedelta(days=30))
        clock = SimulatedTime()
        settings = MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006')
        messenger = TwilioMessenger(local_twilio_client(fake), settings, sleep=clock.sleep, clock=clock.clock, jitter=lambda: 1.0)
        yield Env(aws, fake, clock, Wall(), Outbox(), AlertStore(), ContactBook(), service_config(), messenger)


def risk(subject: str, due_at: datetime, ticket: str = '1001', role: Recipient = Recipient.ASSIGNEE, **fields: Any) -> PendingAlert:
    return risk_alert(subject, due_at, ticket, role, **fields)


def planned(env: Env, *alerts: PendingAlert) -> None:
    for alert in alerts:
        assert env.store.upsert(alert, alert.due_at - timedelta(hours=1))


def raw_item(env: Env, alert: str) -> dict[str, Any]:
    item: dict[str, Any] = env.aws.dynamodb.get_item(TableName=env.store.table, Key={'pk': {'S': f'ALERT#{alert}'}, 'sk': {'S': 'A'}})[
        'Item'
    ]
    return item


# --- WhatsApp, once -------------------------------------------------------------------------------------


def test_a_due_alert_goes_out_as_a_whatsapp_template_and_is_recorded_sent(env: Env) -> None:
    # Given an alert for Priya (opted in to WhatsApp, Asia/Kolkata) due 90 s before the scan
    alert = risk('E1', DAY - timedelta(seconds=90))
    planned(env, alert)
    env.wall.now = 1_000.0
    [(message_id, message)] = env.scan(DAY)

    # When the sender takes the queued message 42.5 s (wall clock) after the scan queued it
    env.wall.now = 1_042.5
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then Twilio received the approved template with its numbered variables as JSON (no free text) and the callback URL
    assert (result.outcome, result.channel) == (Outcome.SENT, 'whatsapp')
    [sent] = env.fake.messages
    assert (sent['to'], sent['from'], sent['content_sid'], sent['body']) == (
        f'whatsapp:{PRIYA}',
        'whatsapp:+14155238886',
        TEMPLATE_EN,
        None,
    )
    assert sent['content_variables'] == {'1': 'Priya', '2': '#1001', '3': 'first response 75%', '4': '15 Jan 15:28'}
    [request] = env.fake.requests
    assert json.loads(request['form']['ContentVariables'][0]) == sent['content_variables'] and 'Body' not in request['form']
    assert sent['status_callback'] == f'{CALLBACK_BASE}/twilio/status?alert={quote(alert.alert_id, safe="")}'
    # And the alert is recorded sent, with Twilio's SID, and its lateness: scan time + wall delay - due = 90 + 42.5 s
    item = env.store.get(alert.alert_id)
    assert item is not None
    assert (item.status, item.channel, item.recipient, item.message_sid, item.message_status) == (
        'sent', 'whatsapp', 'E1', sent['sid'], 'queued')  # fmt: skip
    assert result.lateness_s == item.lateness_s == pytest.approx(132.5)
    assert env.store.due(DAY + timedelta(days=1)).due == []


def test_the_same_alert_delivered_twice_sends_one_message(env: Env) -> None:
    # Given a due alert, queued twice (two overlapping scans both found it)
    alert = risk('E1', DAY - timedelta(minutes=1))
    planned(env, alert)
    first_scan = env.store.due(DAY)
    env.queue.send_bodies([AlertMessage(alert=alert.alert_id, at=DAY, queued=env.wall()).model_dump_json()] * 2)
    env.store.mark_queued(first_scan.due[0], DAY)
    messages = [(m['MessageId'], AlertMessage.model_validate_json(m['Body'])) for m in env.receive('AlertsQueue')]
    assert len(messages) == 2
    dispatcher = env.dispatcher()

    # When both messages are handled, and the first one is delivered again by SQS
    results = [dispatcher.deliver(m.alert, m.at, m.queued, claim_id=mid) for mid, m in [*messages, messages[0]]]

    # Then one Twilio message went out; the others did nothing
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert len(env.fake.messages) == 1
    item = env.store.get(alert.alert_id)
    assert item is not None and item.status == 'sent' and item.message_sid == env.fake.messages[0]['sid']


# --- quiet hours, in each recipient's time zone -------------------------------------------------------------


def test_quiet_hours_hold_an_alert_in_the_recipients_own_time_zone(env: Env) -> None:
    # Given two alerts due at 18:00Z: for Priya (Asia/Kolkata, 23:30 there) and John (America/New_York, 13:00 there)
    to_priya, to_john = risk('E1', EVENING, ticket='1001'), risk('E2', EVENING, ticket='1002')
    planned(env, to_priya, to_john)
    env.wall.now = 5_000.0
    messages = {m.alert: (mid, m) for mid, m in env.scan(EVENING)}
    dispatcher = env.dispatcher()

    # When the sender handles both
    priya = dispatcher.deliver(to_priya.alert_id, EVENING, 5_000.0, claim_id=messages[to_priya.alert_id][0])
    john = dispatcher.deliver(to_john.alert_id, EVENING, 5_000.0, claim_id=messages[to_john.alert_id][0])

    # Then Priya's is held until 08:00 in Kolkata (02:30Z), back in the due index then; John's goes out now
    release = datetime(2024, 1, 16, 2, 30, tzinfo=UTC)
    assert priya.outcome is Outcome.HELD and john.outcome is Outcome.SENT
    held = env.store.get(to_priya.alert_id)
    assert held is not None and (held.status, held.due_at, held.reason, held.message_sid) == ('pending', release, 'quiet hours', None)
    assert [d.alert_id for d in env.store.due(release - timedelta(seconds=1)).due] == []
    assert [d.alert_id for d in env.store.due(release).due] == [to_priya.alert_id]
    assert [m['to'] for m in env.fake.messages] == [f'whatsapp:{JOHN}']

    # And when the scan finds it at 02:30Z it goes out
    [(message_id, message)] = env.scan(release)
    later = dispatcher.deliver(message.alert, message.at, message.queued, claim_id=message_id)
    assert later.outcome is Outcome.SENT and [m['to'] for m in env.fake.messages] == [f'whatsapp:{JOHN}', f'whatsapp:{PRIYA}']


# --- managers ------------------------------------------------------------------------------------------


def test_a_manager_alert_goes_by_email_to_the_subjects_manager_naming_the_subject(env: Env) -> None:
    # Given a manager alert about Priya, whose manager Ana has an e-mail address (and writes Spanish)
    alert = risk('E1', DAY - timedelta(minutes=1), role=Recipient.MANAGER)
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When it is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then Ana got an e-mail about Priya's ticket, in Spanish, and nothing went through Twilio
    assert (result.outcome, result.channel) == (Outcome.SENT, 'email')
    [(to, content)] = env.outbox.sent
    assert to == 'ana.gomez@example.com'
    assert content.text.startswith('Para su equipo (Priya Sharma): Ana, #1001: se ha usado el 75% del objetivo de primera respuesta.')
    assert '#1001' in content.subject
    assert env.fake.messages == []
    item = env.store.get(alert.alert_id)
    assert item is not None and (item.status, item.channel, item.recipient, item.message_sid) == ('sent', 'email', 'M1', 'ses-1')


def test_a_manager_alert_for_someone_without_a_manager_is_skipped(env: Env) -> None:
    # Given a manager alert about E5, who has no manager in the directory
    alert = risk('E5', DAY - timedelta(minutes=1), role=Recipient.MANAGER)
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When it is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then it is skipped with the reason and nothing is sent
    assert (result.outcome, result.detail) == (Outcome.SKIPPED, 'no manager in the directory')
    assert env.fake.messages == [] and env.outbox.sent == []
    item = env.store.get(alert.alert_id)
    assert item is not None and (item.status, item.reason) == ('skipped', 'no manager in the directory')


# --- fallbacks ------------------------------------------------------------------------------------------


def test_whatsapp_refused_for_good_falls_back_to_sms_at_once(env: Env) -> None:
    # Given WhatsApp refuses Priya's number for good (63007: no WhatsApp sender for this channel)
    env.fake.fail_number(f'whatsapp:{PRIYA}', code=63007)
    alert = risk('E1', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When the alert is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then it went by SMS with the full text, and the alert says so and why
    assert (result.outcome, result.channel) == (Outcome.SENT, 'sms')
    assert [(m['channel'], m['status']) for m in env.fake.messages] == [('whatsapp', 'rejected'), ('sms', 'queued')]
    sms = env.fake.messages[1]
    assert (sms['to'], sms['from'], sms['body']) == (
        PRIYA,
        '+15005550006',
        'Priya, #1001: 75% of the first response target is used. Due 15 Jan 15:29.',
    )
    item = env.store.get(alert.alert_id)
    assert item is not None and (item.status, item.channel, item.message_sid) == ('sent', 'sms', sms['sid'])
    assert raw_item(env, alert.alert_id)['fell_back_from'] == {'N': '63007'}


def _whatsapp_failing_after_acceptance(env: Env) -> tuple[PendingAlert, Conversations, dict[str, str]]:
    """Priya's WhatsApp message is accepted, then its status callback says failed 63016."""
    env.fake.async_failure(f'whatsapp:{PRIYA}', 63016)
    alert = risk('E1', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)
    assert env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id).outcome is Outcome.SENT
    [callback] = env.fake.deliver_status_callbacks()  # signed for CALLBACK_BASE (not reachable here): read its parameters
    assert (callback['params']['MessageStatus'], callback['params']['ErrorCode']) == ('failed', '63016')
    return alert, Conversations(env.store, env.contacts, env.queue, wall=env.wall), callback['params']


def test_whatsapp_failing_after_acceptance_falls_back_to_sms_once(env: Env) -> None:
    # Given Priya's WhatsApp alert was accepted and then failed (63016, reported in a status callback)
    alert, conversations, failed = _whatsapp_failing_after_acceptance(env)

    # When the callback is handled
    outcome = conversations.status(alert.alert_id, status_update(failed), DAY + timedelta(seconds=20))

    # Then one SMS fallback is queued on the alerts queue, and sending it sends exactly one SMS
    assert outcome == 'sms fallback queued'
    [queued] = env.receive('AlertsQueue')
    message = AlertMessage.model_validate_json(queued['Body'])
    assert (message.alert, message.fallback) == (alert.alert_id, 'sms')
    result = env.dispatcher().deliver_fallback(message.alert)
    assert (result.outcome, result.channel) == (Outcome.SENT, 'sms')
    assert [(m['channel'], m['to']) for m in env.accepted()] == [('whatsapp', f'whatsapp:{PRIYA}'), ('sms', PRIYA)]
    item = env.store.get(alert.alert_id)
    assert item is not None
    assert (item.message_status, item.error_code, item.fallback_sid) == ('failed', 63016, env.accepted()[1]['sid'])

    # And a second failed callback (Twilio retries callbacks) queues nothing more, and a second fallback sends nothing
    again = conversations.status(alert.alert_id, status_update(failed), DAY + timedelta(seconds=40))
    assert again == 'recorded' and env.receive('AlertsQueue') == []
    assert env.dispatcher().deliver_fallback(alert.alert_id).outcome is Outcome.DUPLICATE
    assert len(env.accepted()) == 2


def test_the_sms_fallbacks_delivery_is_reported_back_on_the_alert(env: Env) -> None:
    # Given Priya's WhatsApp alert failed after acceptance and its SMS fallback was sent
    alert, conversations, failed = _whatsapp_failing_after_acceptance(env)
    conversations.status(alert.alert_id, status_update(failed), DAY + timedelta(seconds=20))
    env.receive('AlertsQueue')
    assert env.dispatcher().deliver_fallback(alert.alert_id).outcome is Outcome.SENT

    # When Twilio reports the SMS's progress
    callbacks = env.fake.deliver_status_callbacks()
    for callback in callbacks:
        conversations.status(alert.alert_id, status_update(callback['params']), DAY + timedelta(seconds=30))

    # Then the SMS asked for status callbacks on the alert's URL, and its delivery is on the alert as fallback_status
    sms = env.accepted()[1]
    assert sms['status_callback'] == f'{CALLBACK_BASE}/twilio/status?alert={quote(alert.alert_id, safe="")}'
    item = env.store.get(alert.alert_id)
    assert item is not None and item.fallback_status == 'delivered'


# --- Twilio rate limits and outages ---------------------------------------------------------------------


def test_rate_limits_are_retried_and_the_alert_still_goes_out(env: Env) -> None:
    # Given Twilio answers the next two sends with 429 / 20429
    env.fake.fail_next(2, status=429, code=20429)
    alert = risk('E1', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When the alert is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then it went out by WhatsApp on the third attempt, after backing off 0.5 s and 1 s
    assert (result.outcome, result.channel) == (Outcome.SENT, 'whatsapp')
    assert [(m['channel'], m['http_status']) for m in env.fake.messages] == [('whatsapp', 429), ('whatsapp', 429), ('whatsapp', 201)]
    assert env.time.sleeps == [0.5, 1.0]
    item = env.store.get(alert.alert_id)
    assert item is not None and item.status == 'sent'


def test_a_whatsapp_rate_limit_that_persists_releases_the_alert_instead_of_texting(env: Env) -> None:
    # Given Twilio rate-limits every WhatsApp attempt the messenger makes (4), and would accept an SMS
    env.fake.fail_next(4, status=429, code=20429)
    alert = risk('E1', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When the alert is delivered
    # Then (dispatch.py: "429/20429/5xx ... when they persist the alert is released and the error raised, so SQS delivers
    # it again"; WhatsApp falls back to SMS only when "refused for good") the error is raised and no SMS goes out
    with pytest.raises(SendFailed):
        env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)
    assert [m['channel'] for m in env.fake.messages] == ['whatsapp'] * 4
    item = env.store.get(alert.alert_id)
    assert item is not None and item.status == 'queued'


def test_a_persistent_outage_releases_the_alert_and_a_redelivery_sends_it_once(env: Env) -> None:
    # Given Twilio answers every attempt of the next delivery (4) with 503 / 20500
    env.fake.fail_next(4, status=503, code=20500)
    alert = risk('E1', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)
    dispatcher = env.dispatcher()

    # When the alert is delivered
    with pytest.raises(SendFailed) as failed:
        dispatcher.deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then the failure is retryable (for SQS to deliver again), nothing was accepted, and the alert is queued with the reason
    assert failed.value.retryable
    assert env.accepted() == []
    item = env.store.get(alert.alert_id)
    assert item is not None and item.status == 'queued' and item.reason is not None and '20500' in item.reason

    # And when Twilio recovers, the redelivered message sends it once; a further copy sends nothing
    redelivered = dispatcher.deliver(message.alert, message.at, message.queued, claim_id=message_id)
    duplicate = dispatcher.deliver(message.alert, message.at, message.queued, claim_id='another-copy')
    assert (redelivered.outcome, duplicate.outcome) == (Outcome.SENT, Outcome.DUPLICATE)
    assert len(env.accepted()) == 1
    item = env.store.get(alert.alert_id)
    assert item is not None and (item.status, item.message_sid) == ('sent', env.accepted()[0]['sid'])


@pytest.fixture()
def sender(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The alert_sender function, with its Twilio messenger pointed at the fake."""
    from functions.alert_sender import app

    monkeypatch.setattr(app, '_messenger', lambda: env.messenger)
    app.dispatcher.cache_clear()
    yield app
    app.dispatcher.cache_clear()


def test_the_sender_function_reports_the_failing_message_for_sqs_to_retry(env: Env, sender: Any) -> None:
    # Given two due SMS alerts (Sam, in UTC) queued by the scan, and Twilio failing every attempt of the first send
    first, second = risk('E3', DAY - timedelta(minutes=1), ticket='2001'), risk('E3', DAY - timedelta(minutes=1), ticket='2002')
    planned(env, first, second)
    scan(env.store, env.queue, DAY, 360, wall=time.time)
    received = env.receive('AlertsQueue')
    env.fake.fail_next(4, status=503, code=20500)

    # When the function handles the batch
    response = sender.lambda_handler(sqs_event(received), lambda_context())

    # Then only the first message is reported failed; its alert is queued again, the other one was sent
    failing = json.loads(received[0]['Body'])['alert']
    assert response == {'batchItemFailures': [{'itemIdentifier': received[0]['MessageId']}]}
    statuses = {a.alert_id: env.store.get(a.alert_id).status for a in (first, second)}  # type: ignore[union-attr]
    assert statuses == {failing: 'queued', ({first.alert_id, second.alert_id} - {failing}).pop(): 'sent'}
    assert [(m['channel'], m['to']) for m in env.accepted()] == [('sms', SAM)]


def test_an_alert_twilio_keeps_refusing_ends_in_the_dead_letter_queue_and_a_redrive_sends_it_once(env: Env, sender: Any) -> None:
    # Given a due SMS alert for Sam, and Twilio failing every attempt of five deliveries (4 attempts each)
    alert = risk('E3', DAY - timedelta(minutes=1))
    planned(env, alert)
    scan(env.store, env.queue, DAY, 360, wall=time.time)
    env.fake.fail_next(5 * 4, status=503, code=20500)
    queue_url, dlq_url = env.aws.queues['AlertsQueue'], env.aws.queues['AlertsDLQ']

    # When SQS delivers it as often as the redrive policy allows, the function failing each time
    outcomes = []
    for _ in range(6):
        batch = env.aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                            AttributeNames=['All']).get('Messages', [])  # fmt: skip
        if batch:
            outcomes.append(sender.lambda_handler(sqs_event(batch), lambda_context()))

    # Then it failed five times, then moved to the dead-letter queue, with the alert still queued and nothing sent
    assert [len(o['batchItemFailures']) for o in outcomes] == [1] * 5
    assert env.accepted() == []
    item = env.store.get(alert.alert_id)
    assert item is not None and item.status == 'queued'
    dead = env.aws.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, AttributeNames=['All']).get('Messages', [])
    assert [json.loads(m['Body'])['alert'] for m in dead] == [alert.alert_id]

    # And once Twilio works again, the redriven message sends it once
    assert sender.lambda_handler(sqs_event(dead), lambda_context()) == {'batchItemFailures': []}
    assert sender.lambda_handler(sqs_event(dead), lambda_context()) == {'batchItemFailures': []}
    assert [(m['channel'], m['to']) for m in env.accepted()] == [('sms', SAM)]
    item = env.store.get(alert.alert_id)
    assert item is not None and item.status == 'sent'


# --- what a refusal teaches about a person ----------------------------------------------------------------


def test_an_invalid_number_is_recorded_on_the_contact_record_and_the_alert_goes_by_email(env: Env) -> None:
    # Given Twilio says Priya's number is not a valid phone number (21211)
    env.fake.fail_number(f'whatsapp:{PRIYA}', code=21211)
    alert = risk('E1', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When the alert is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then the number is recorded invalid on her contact record, no SMS was tried, and the alert went by e-mail
    contact = env.contacts.contact('E1')
    assert contact is not None and contact.invalid_phone is True
    assert (result.outcome, result.channel) == (Outcome.SENT, 'email')
    assert [m['channel'] for m in env.fake.messages] == ['whatsapp']
    assert [to for to, _ in env.outbox.sent] == ['priya@example.com']
    assert env.outbox.sent[0][1].text == 'Priya, #1001: 75% of the first response target is used. Due 15 Jan 15:29.'


def test_an_unsubscribed_number_records_the_sms_opt_out_and_the_alert_goes_by_email(env: Env) -> None:
    # Given Sam (SMS, no WhatsApp) sent STOP to Twilio: Twilio answers 21610
    env.fake.fail_number(SAM, code=21610)
    alert = risk('E3', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When the alert is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then his SMS opt-out is recorded and the alert went by e-mail
    contact = env.contacts.contact('E3')
    assert contact is not None and contact.opted_out == frozenset({'sms'})
    assert (result.outcome, result.channel) == (Outcome.SENT, 'email')
    assert [to for to, _ in env.outbox.sent] == ['sam@example.com']


def test_nobody_reachable_is_skipped_with_the_reason_and_nothing_is_sent(env: Env) -> None:
    # Given Noor opted out of WhatsApp and SMS and has no e-mail
    env.contacts.record_opt_out('E4', 'whatsapp', NOOR, 'inbound STOP', DAY - timedelta(days=1))
    env.contacts.record_opt_out('E4', 'sms', NOOR, 'inbound STOP', DAY - timedelta(days=1))
    alert = risk('E4', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When an alert for Noor is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then it is skipped, saying why, and nothing went out
    assert result.outcome is Outcome.SKIPPED
    assert result.detail == 'opted out of sms, opted out of whatsapp, no e-mail'
    assert env.fake.messages == [] and env.outbox.sent == []
    item = env.store.get(alert.alert_id)
    assert item is not None and (item.status, item.reason) == ('skipped', result.detail)


# --- the daily reminder ---------------------------------------------------------------------------------


def _reminder(subject: str, day: str, due_at: datetime) -> PendingAlert:
    return PendingAlert(
        alert_id=alert_id(f'reminder|{subject}|{day}', Recipient.ASSIGNEE),
        ticket_key=f'reminder|{subject}',
        ref=day,
        kind=AlertKind.DAILY_REMINDER,
        metric='day',
        threshold=day,
        role=Recipient.ASSIGNEE,
        subject=subject,
        due_at=due_at,
        location_id='L1',
    )


def _priyas_day(env: Env) -> None:
    """Priya's worklist and breaches around 15 Jan (Asia/Kolkata: the day runs 14 Jan 18:30Z - 15 Jan 18:30Z)."""
    env.store.put_worklist(TicketAlerts(ticket_key='zendesk#1001', kind=Kind.TICKET, ref='#1001', owner='E1',
                                        sla_due_at=datetime(2024, 1, 15, 17, 0, tzinfo=UTC)))  # fmt: skip
    env.store.put_worklist(TicketAlerts(ticket_key='dms#JC-7', kind=Kind.JOB_CARD, ref='JC-7', owner='E1',
                                        approval_since=datetime(2024, 1, 15, 6, 0, tzinfo=UTC),
                                        promised_at=datetime(2024, 1, 16, 10, 0, tzinfo=UTC)))  # fmt: skip
    env.store.put_worklist(TicketAlerts(ticket_key='dms#JC-8', kind=Kind.JOB_CARD, ref='JC-8', owner='E1',
                                        promised_at=datetime(2024, 1, 15, 12, 0, tzinfo=UTC)))  # fmt: skip
    for at, ticket in ((datetime(2024, 1, 14, 10, 0, tzinfo=UTC), '900'),  # yesterday in Kolkata
                       (datetime(2024, 1, 14, 20, 0, tzinfo=UTC), '901'),  # today in Kolkata
                       (datetime(2024, 1, 13, 12, 0, tzinfo=UTC), '902')):  # the day before yesterday  # fmt: skip
        env.store.put_breach(Breach('E1', f'zendesk#{ticket}', f'#{ticket}', 'resolution', at))


def test_the_daily_reminder_is_composed_from_the_worklist_and_breaches_and_ignores_quiet_hours(env: Env) -> None:
    # Given Priya (WhatsApp, Asia/Kolkata) with three open items and one breach yesterday, no ledger (balance 0), a daily
    # target for agents, and her reminder found at 23:30 her time (inside quiet hours)
    env.config = service_config(reminders=ReminderSettings(targets={'agent': 'Target: 5 closures.'}))
    _priyas_day(env)
    reminder = _reminder('E1', '2024-01-15', EVENING - timedelta(minutes=1))
    planned(env, reminder)
    [(message_id, message)] = env.scan(EVENING)

    # When it is delivered
    result = env.dispatcher(ledger=None).deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then it is not held: it went out as the reminder template with today's figures
    assert (result.outcome, result.channel) == (Outcome.SENT, 'whatsapp')
    [sent] = env.fake.messages
    assert sent['content_sid'] == REMINDER_EN
    assert sent['content_variables'] == {'1': 'Priya', '2': 'Target: 5 closures.', '3': '3', '4': '1', '5': '1', '6': '0'}


def test_the_reminder_figures_count_todays_work_yesterdays_breaches_and_points(env: Env) -> None:
    # Given Priya's day, and 25 points credited yesterday (Kolkata) and 5 today in the ledger
    _priyas_day(env)
    ledger = LedgerStore()
    for entry_id, amount, at in (
        ('adj-1', 25, datetime(2024, 1, 14, 5, 0, tzinfo=UTC)),
        ('adj-2', 5, datetime(2024, 1, 15, 5, 0, tzinfo=UTC)),
    ):
        reason = EntryReason(ticket_key='-', source_event_id=entry_id, basis_event_id=entry_id, rule_id='admin_adjustment', rule_version=1)
        ledger.append_adjustment(LedgerEntry(entry_id=entry_id, employee_id='E1', amount=amount, kind=EntryKind.ADJUSTMENT,
                                             status=EntryStatus.AVAILABLE, reason=reason, occurred_at=at, recorded_at=at))  # fmt: skip
    person = env.contacts.contact('E1')
    assert person is not None

    # When the reminder's figures are computed at 23:30 in Kolkata on 15 Jan, without and with the ledger
    without = env.dispatcher(ledger=None).reminder_figures(person, env.config, EVENING)
    figures = env.dispatcher(ledger=ledger).reminder_figures(person, env.config, EVENING)

    # Then: 3 open (2 job cards, 1 awaiting approval), 2 due today, 1 breach yesterday; points yesterday 25 of balance 30
    assert (without.open, without.jobs, without.approvals, without.due_today, without.breaches) == (3, 2, 1, 2, 1)
    assert (without.points, without.balance) == (0, 0)
    assert (figures.points, figures.balance) == (25, 30)


def test_an_sms_reminder_carries_the_full_text(env: Env) -> None:
    # Given Sam (SMS only, UTC) with nothing open, and his reminder due at 07:00 his time (inside quiet hours)
    reminder = _reminder('E3', '2024-01-15', datetime(2024, 1, 15, 7, 0, tzinfo=UTC))
    planned(env, reminder)
    [(message_id, message)] = env.scan(datetime(2024, 1, 15, 7, 0, tzinfo=UTC))

    # When it is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then the SMS says his day in full
    assert (result.outcome, result.channel) == (Outcome.SENT, 'sms')
    [sent] = env.fake.messages
    assert sent['body'] == ("Good morning Sam. Open: 0 (0 job cards, 0 awaiting approval). Due today: 0. Yesterday's SLA breaches: 0. "
                            'Points yesterday: 0 (balance 0). Reply TODAY for the list.')  # fmt: skip


def test_an_indonesian_reader_gets_the_alert_and_the_reminder_by_sms_in_bahasa_indonesia(env: Env) -> None:
    # Given Budi (Jakarta, SMS only, reads Indonesian): a risk alert due at 10:00Z (17:00 his time) and his daily reminder
    alert = risk('E6', DAY - timedelta(minutes=1))
    planned(env, alert)
    [(message_id, message)] = env.scan(DAY)

    # When the alert is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then the SMS reads in Indonesian, the metric named in Indonesian and the due time in his zone, written 16.59
    assert (result.outcome, result.channel) == (Outcome.SENT, 'sms')
    [sms] = env.fake.messages
    assert (sms['to'], sms['body']) == (BUDI, 'Budi, #1001: 75% dari target respons pertama sudah terpakai. Batas waktu 15 Jan 16.59.')

    # And his reminder (no template in Indonesian is needed: SMS carries the full text) reads in Indonesian too
    reminder = _reminder('E6', '2024-01-16', datetime(2024, 1, 16, 1, 0, tzinfo=UTC))
    planned(env, reminder)
    [(message_id, message)] = env.scan(datetime(2024, 1, 16, 1, 0, tzinfo=UTC))
    assert env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id).outcome is Outcome.SENT
    assert env.fake.messages[-1]['body'] == (
        'Selamat pagi Budi. Terbuka: 0 (0 perintah kerja, 0 menunggu persetujuan). Jatuh tempo hari ini: 0. '
        'Pelanggaran SLA kemarin: 0. Poin kemarin: 0 (saldo 0). Balas HARI INI untuk melihat daftarnya.'
    )


def test_quiet_hours_can_be_configured_per_program(env: Env) -> None:
    # Given a program whose quiet hours are 13:00-14:00 (a lunch break) and an alert for John at 13:00 New York time
    env.config = service_config(quiet_hours=QuietHours(start='13:00', end='14:00'))
    alert = risk('E2', EVENING)
    planned(env, alert)
    [(message_id, message)] = env.scan(EVENING)

    # When it is delivered
    result = env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then it is held until 14:00 New York time (19:00Z)
    assert result.outcome is Outcome.HELD
    item = env.store.get(alert.alert_id)
    assert item is not None and item.due_at == datetime(2024, 1, 15, 19, 0, tzinfo=UTC)
    assert env.fake.messages == []


# --- what an alert says ------------------------------------------------------------------------------------------


def test_the_risk_alert_names_the_target_due_time_it_was_planned_with(env: Env) -> None:
    # Given the 75% alert for Priya (Asia/Kolkata) of a first response due an hour after the 75% mark
    alert = risk('E1', DAY - timedelta(minutes=1), target_due_at=DAY + timedelta(minutes=59))
    planned(env, alert)
    assert (stored := env.store.get(alert.alert_id)) is not None and stored.target_due_at == alert.target_due_at
    [(message_id, message)] = env.scan(DAY)

    # When it is delivered
    env.dispatcher().deliver(message.alert, message.at, message.queued, claim_id=message_id)

    # Then the WhatsApp variable "due" is the target's time, 16:29 in Kolkata, not the 75% mark's 15:29
    [sent] = env.fake.messages
    assert sent['content_variables']['4'] == '15 Jan 16:29'


HOSTILE_ID = ('1001\r\nURGENT: your account is locked, pay at http://evil.example.com/pay or bit.ly/x \u202egnp.exe\u202c '
              ).ljust(256, 'Z')  # fmt: skip


def test_a_hostile_ticket_id_reaches_whatsapp_sms_and_email_as_one_clean_short_line(env: Env) -> None:
    # Given alerts about a ticket whose id a token holder chose: for Priya (WhatsApp refused for good, so SMS), for John
    # (WhatsApp), and for Priya's manager Ana (e-mail)
    env.fake.fail_number(f'whatsapp:{PRIYA}', code=63007)
    alerts = [risk('E1', DAY - timedelta(minutes=1), ref=HOSTILE_ID), risk('E2', DAY - timedelta(minutes=1), ticket='1002', ref=HOSTILE_ID),
              risk('E1', DAY - timedelta(minutes=1), ref=HOSTILE_ID, role=Recipient.MANAGER)]  # fmt: skip
    planned(env, *alerts)
    env.wall.now = 1_000.0
    messages = env.scan(DAY + timedelta(hours=5))  # 15:00Z: 10:00 in New York, past John's quiet hours

    # When they are delivered
    dispatcher = env.dispatcher()
    results = [dispatcher.deliver(m.alert, m.at, m.queued, claim_id=mid) for mid, m in messages]

    # Then all went out, and what Twilio and SES received holds the id as one line, capped, with no link and no override
    assert sorted(r.channel or '' for r in results) == ['email', 'sms', 'whatsapp']
    sms = next(m for m in env.fake.messages if m['channel'] == 'sms')
    whatsapp = next(m for m in env.fake.messages if m['channel'] == 'whatsapp' and m['sid'])
    [(_, email)] = env.outbox.sent
    shown = whatsapp['content_variables']['2']
    assert shown.startswith('1001 URGENT: your account is locked, pay at evil[.]example') and shown.endswith('…')
    assert len(shown) == 64
    for text in (sms['body'], *whatsapp['content_variables'].values(), email.subject, email.text):
        assert not {'\r', '\n', '\u202e', '\u202c'} & set(text)
        assert 'http' not in text and 'evil.example.com' not in text and 'bit.ly' not in text and 'Z' * 64 not in text
    assert sms['body'] == f'Priya, {shown}: 75% of the first response target is used. Due 15 Jan 15:29.'
