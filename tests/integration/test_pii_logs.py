"""Logs and quarantine reasons carry field names and reasons, never values: a customer's name, e-mail or phone that
fails validation reaches neither the log lines (as CloudWatch gets them: through the Powertools formatter) nor the
quarantine item's reason, through the real ingest and processor handlers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.sample_month import zendesk_headers
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.observability import MaskingFormatter
from shared.quarantine.store import QuarantineStore
from tests.support.apigw import http_api_event, lambda_context, sqs_event
from tests.support.factories import DIRECTORY_CSV
from tests.support.local_aws import SECRETS, LocalAws, local_aws

SAMPLES = Path(__file__).resolve().parents[1] / 'fixtures' / 'wire_samples'
NAME, EMAIL, PHONE = 'Jane Q. Customer', 'jane.customer@example.org', '+14155550123'
# What must never appear, in any form the formatter could leave: the whole value and its distinctive parts.
SECRET_PARTS = ('Jane Q. Customer', 'Customer', 'jane.customer', '4155550123', '14155550123')


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), datetime.now(UTC))
        yield aws


def zendesk(ticket: dict[str, Any]) -> dict[str, Any]:
    from functions.webhook_ingest.app import lambda_handler

    body = json.loads((SAMPLES / 'zendesk_ticket_webhook.json').read_text())
    body['ticket'].update(ticket)
    raw = json.dumps(body).encode()
    return lambda_handler(http_api_event('/webhooks/zendesk', raw, zendesk_headers(raw, SECRETS['zendesk']['secret'])),
                          lambda_context())  # fmt: skip


def log_lines(records: list[logging.LogRecord]) -> str:
    """The records as the Lambda's log stream gets them (at INFO, the functions' level: botocore and pynamodb print whole
    items at DEBUG, which is never set in a deployed stage)."""
    formatter = MaskingFormatter()
    return '\n'.join(formatter.format(record) for record in records)


def assert_no_personal_data(text: str) -> None:
    leaked = [part for part in SECRET_PARTS if part.lower() in text.lower()]
    assert not leaked, f'personal data in {text[max(0, text.lower().find(leaked[0].lower()) - 400):][:600]!r}: {leaked}'


@pytest.mark.parametrize(
    ('ticket', 'field'),
    [
        ({'status': f'{NAME} <{EMAIL}> {PHONE}'}, 'ticket.status'),  # a field mapped to the requester by mistake
        ({'priority': f'{NAME} {PHONE}'}, 'ticket.priority'),
        ({'updated_at': f'{EMAIL} {NAME}'}, 'ticket.updated_at'),
        ({'id': f'{NAME} {EMAIL} {PHONE} ' * 12}, 'ticket.id'),  # over 256 characters: refused by pydantic
    ],
)
def test_a_rejected_webhook_names_the_field_and_the_reason_but_never_the_value(
    aws: LocalAws, caplog: pytest.LogCaptureFixture, ticket: dict[str, Any], field: str
) -> None:
    # Given a signed Zendesk webhook whose field holds a customer's name, e-mail and phone, and is invalid
    # When it is posted through the ingest handler
    with caplog.at_level(logging.INFO):
        answer = zendesk(ticket)

    # Then it is refused naming the field, and neither the answer, the quarantine reason nor any log line holds the value
    assert answer['statusCode'] == 400
    error = json.loads(answer['body'])
    assert error['error']['field'] == field and error['error']['reason']
    kept = QuarantineStore().get(error['quarantine_id'])
    assert kept is not None and kept.field == field
    assert_no_personal_data(kept.reason)
    assert_no_personal_data(answer['body'])
    lines = log_lines(caplog.records)
    assert 'webhook rejected' in lines and field in lines
    assert_no_personal_data(lines)


def test_an_event_failing_its_last_attempt_logs_a_traceback_without_input_values(
    aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a queued message whose event fails pydantic validation on a value holding a customer's details, on its
    # last delivery
    event = {'event_id': 'e-1', 'source': 'zendesk', 'external_id': '1', 'kind': 'ticket',
             'occurred_at': f'{NAME} {EMAIL} {PHONE}'}  # fmt: skip
    message = {'MessageId': 'm-1', 'ReceiptHandle': 'r-1', 'Body': json.dumps({'event': event}),
               'Attributes': {'ApproximateReceiveCount': '5'}}  # fmt: skip
    from functions.ticket_processor.app import lambda_handler

    # When the processor handles it
    with caplog.at_level(logging.INFO):
        result = lambda_handler(sqs_event([message]), lambda_context())

    # Then it fails (to the dead-letter queue) and is quarantined with the field and the reason only
    assert result['batchItemFailures'] == [{'itemIdentifier': 'm-1'}]
    kept = QuarantineStore().list_day(f'{datetime.now(UTC):%Y-%m-%d}')
    assert len(kept) == 1 and 'event.occurred_at' in str(kept[0]['reason'])
    assert_no_personal_data(str(kept[0]['reason']))
    # and the logged traceback (exception, stack trace) names the error but holds no input value
    lines = log_lines(caplog.records)
    assert 'ValidationError' in lines and 'input_value' not in lines
    assert_no_personal_data(lines)
