"""The console test events in events/ stay valid for the functions they are meant for."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from functions.directory_import.app import ImportRequest
from functions.quarantine_replay.app import ReplayRequest
from shared.directory.employees import parse_export
from shared.events import QueueMessage
from shared.ledger.adjustments import AdjustmentRequest
from shared.scheduled import ScheduledEvent

EVENTS = Path(__file__).resolve().parents[2] / 'events'


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_admin_events_validate() -> None:
    # Given the replay, list and import test events
    # When they are parsed by the functions' request models
    replay = ReplayRequest.model_validate(load('quarantine_replay.json'))
    corrected = ReplayRequest.model_validate(load('quarantine_replay_corrected.json'))
    listing = ReplayRequest.model_validate(load('quarantine_list_day.json'))
    counters = ReplayRequest.model_validate(load('quarantine_list_rejections.json'))
    imported = ImportRequest.model_validate(load('directory_import_csv.json'))
    adjustment = AdjustmentRequest.model_validate(load('ledger_adjust.json'))

    # Then they carry what the functions need, and the sample directory parses
    assert replay.quarantine_id and corrected.corrected_body and listing.list_day == '2024-05-14'
    assert counters.list_rejections == '2024-05-14'
    assert len(parse_export(imported.content, imported.format)) == 5
    assert adjustment.points == -20 and adjustment.reason


def test_sqs_sample_carries_a_canonical_event() -> None:
    # When the SQS sample's body is parsed as a queue message
    message = QueueMessage.model_validate_json(load('ticket_processor_sqs.json')['Records'][0]['body'])

    # Then it holds a ticket event
    assert message.event is not None and message.event.ticket_key == 'zendesk#35436'


def test_scheduled_audit_sample_is_an_eventbridge_scheduled_event() -> None:
    # When the console sample for the ledger audit is parsed as the function parses it
    sample = load('ledger_audit_scheduled.json')
    event = ScheduledEvent.model_validate(sample)

    # Then it has the scheduled-event shape and its time is the audit time (UTC)
    assert (sample['source'], sample['detail-type']) == ('aws.events', 'Scheduled Event')
    assert event.time == datetime(2024, 5, 20, 2, 15, tzinfo=UTC)


def test_service_configuration_example_validates_and_is_the_one_the_readme_shows() -> None:
    # Given the example service configuration (events/service_config.json) and the README's copy of it
    import re

    from shared.sla.config import ServiceConfig

    example = load('service_config.json')
    readme = (EVENTS.parent / 'README.md').read_text()
    shown = re.search(r'## Service levels and KPIs.*?```json\n(.*?)```', readme, re.S)

    # When it is validated as the functions validate the SSM parameter
    config = ServiceConfig.model_validate(example)

    # Then it is valid, its locations use their calendars, and the README shows exactly this document
    assert config.calendar_for('IN-BLR-01').timezone == 'Asia/Kolkata'
    assert [policy.policy_id for policy in config.sla_policies] == ['vip-chat', 'standard']
    assert shown is not None and json.loads(shown.group(1)) == example


def test_dispute_decision_event_validates() -> None:
    # Given the dispute_decide console event
    from functions.dispute_decide.app import DisputeDecision

    # When it is parsed by the function's request model
    decision = DisputeDecision.model_validate(load('dispute_decide.json'))

    # Then it is an acceptance with a correction and a reason
    assert decision.decision == 'accept' and decision.points == 20 and len(decision.reason) >= 5


def test_stream_samples_carry_a_ticket_change_with_its_kpis_and_alerts() -> None:
    # Given the console samples of the tickets stream's two readers
    from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

    from shared.kpi.definitions import Contribution

    for name in ('kpi_aggregator_stream.json', 'alert_planner_stream.json'):
        # When parsed as Lambda hands them over
        [record] = list(DynamoDBStreamEvent(load(name)).records)
        # Then each is a change of one ticket with its old and new KPI contribution and its alert checkpoints
        assert record.event_name is not None and record.event_name.name == 'MODIFY'
        new, old = record.dynamodb.new_image, record.dynamodb.old_image  # type: ignore[union-attr]
        assert new['pk'] == 'zendesk#35436' and Contribution.from_json(new['kpi']) is not None and old['kpi'] != new['kpi']
        assert 'alerts' in new


def test_scheduled_samples_and_the_alert_queue_sample_validate() -> None:
    # Given the scanner's and the reminders' scheduled samples and the alert sender's SQS sample
    from shared.alerts.scan import AlertMessage

    scanner, reminders = (ScheduledEvent.model_validate(load(name)) for name in ('alert_scanner_scheduled.json', 'daily_reminders_scheduled.json'))
    message = AlertMessage.model_validate_json(load('alert_sender_sqs.json')['Records'][0]['body'])

    # Then the schedules carry their clocks and the message names an alert of ticket 35436
    assert scanner.time == datetime(2024, 5, 20, 14, 31, tzinfo=UTC) and reminders.time == datetime(2024, 5, 20, 12, 5, tzinfo=UTC)
    assert message.alert.startswith('zendesk#35436|sla_breach|')


def test_twilio_inbound_sample_is_a_signed_form_post_of_a_command() -> None:
    # Given Twilio's inbound sample
    from urllib.parse import parse_qs

    event = load('twilio_webhooks_inbound.json')
    # When its body is read as Twilio sends it (form-encoded)
    form = {key: values[0] for key, values in parse_qs(event['body']).items()}
    # Then it is POINTS from a WhatsApp number, on the inbound route, signed (with a sample token: the console shows the refusal)
    assert event['routeKey'] == 'POST /twilio/inbound' and event['headers']['x-twilio-signature']
    assert form['Body'] == 'POINTS' and form['From'].startswith('whatsapp:+')


def test_stream_safety_net_events_validate() -> None:
    # Given the console events that drain a stream reader's failures and replay a stream item
    # When they are parsed by the replay's request model
    drain = ReplayRequest.model_validate(load('quarantine_stream_failures.json'))
    replay = ReplayRequest.model_validate(load('quarantine_replay_stream.json'))

    # Then the drain names a reader the replay knows, and the replay names an item
    from shared.quarantine.stream import READERS

    assert drain.stream_failures in READERS and replay.quarantine_id
