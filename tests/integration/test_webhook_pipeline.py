"""End to end in one process: signed webhook -> ingest handler -> SQS -> processor handler -> ledger.

Real handlers, moto AWS built from template.yaml, real wire samples.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.sample_month import zendesk_headers as signed_by_zendesk
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.ledger.store import LedgerStore
from shared.quarantine.store import QuarantineStore
from tests.support.apigw import http_api_event, lambda_context, sqs_event
from tests.support.factories import DIRECTORY_CSV
from tests.support.local_aws import SECRETS, LocalAws, local_aws

SAMPLES = Path(__file__).resolve().parents[1] / 'fixtures' / 'wire_samples'


def zendesk_headers(body: bytes, timestamp: str | None = None, secret: str | None = None) -> dict[str, str]:
    return signed_by_zendesk(body, secret or SECRETS['zendesk']['secret'], timestamp)


def zendesk_body(ticket_id: int = 35436, status: str = 'Solved', updated: str = '2024-05-14T11:40Z', rating: str = 'Good') -> bytes:
    body = json.loads((SAMPLES / 'zendesk_ticket_webhook.json').read_text())
    body['ticket'].update({'id': ticket_id, 'status': status, 'updated_at': updated, 'satisfaction_rating': rating,
                           'assignee_email': 'agent1@example.com'})
    return json.dumps(body, separators=(',', ':')).encode()


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), datetime.now(UTC))
        yield aws


def post(source: str, body: bytes, headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    from functions.webhook_ingest.app import lambda_handler

    return lambda_handler(http_api_event(f'/webhooks/{source}', body, headers, query), lambda_context())


def process_queue(aws: LocalAws) -> dict[str, Any]:
    from functions.ticket_processor.app import lambda_handler

    messages = aws.drain()
    return lambda_handler(sqs_event(messages), lambda_context()) if messages else {'batchItemFailures': []}


def release_holds() -> dict[str, Any]:
    """Run the hold release as if a month had passed: every pending award's window has closed."""
    from datetime import UTC, datetime, timedelta

    from functions.hold_release import app

    app._processor = None  # bound to this test's tables
    later = datetime.now(UTC) + timedelta(days=31)
    return app.lambda_handler({'time': later.strftime('%Y-%m-%dT%H:%M:%SZ')}, lambda_context())


def quarantined(answer: dict[str, Any]) -> Any:
    return QuarantineStore().get(json.loads(answer['body'])['quarantine_id'])


def test_signed_zendesk_webhook_flows_to_points(aws: LocalAws) -> None:
    # Given a correctly signed Zendesk webhook: ticket solved by a mapped agent, rated Good
    body = zendesk_body()

    # When it is posted and the queue is processed
    answer = post('zendesk', body, zendesk_headers(body))
    failures = process_queue(aws)

    # Then it is accepted, processed without failure, and the agent has the CSAT and the resolution awards
    # pending (High priority, solved in 2 h 28 min against an 8 h target), in the ledger once released
    assert answer['statusCode'] == 200
    assert failures == {'batchItemFailures': []}
    assert LedgerStore().balance('E1').pending == 15
    assert release_holds()['awards_released'] == 2
    entries = LedgerStore().entries_for('E1')
    assert sorted(e.reason.rule_id for e in entries) == ['csat_positive', 'resolved_within_sla']
    assert LedgerStore().balance('E1').available == 15


def test_redelivered_webhook_awards_nothing_more(aws: LocalAws) -> None:
    # Given a webhook delivered three times (Zendesk retries)
    body = zendesk_body(ticket_id=35500)
    for _ in range(3):
        assert post('zendesk', body, zendesk_headers(body))['statusCode'] == 200

    # When the queue is processed and the holds released
    process_queue(aws)
    release_holds()

    # Then each award exists once
    assert len(LedgerStore().entries_for('E1')) == 2
    assert LedgerStore().balance('E1').available == 15


@pytest.mark.parametrize(
    ('case', 'expected_status', 'expected_field'),
    [
        ('bad_signature', 401, None),
        ('stale_timestamp', 401, None),
        ('unknown_source', 404, 'source'),
        ('too_large', 413, 'body'),
        ('malformed_json', 400, 'body'),
        ('wrong_type', 400, 'ticket.id'),
        ('not_utf8', 400, 'body'),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_is_kept(aws: LocalAws, case: str, expected_status: int, expected_field: str | None) -> None:
    # Given a bad request of each kind
    body, source = zendesk_body(), 'zendesk'
    headers = zendesk_headers(body)
    if case == 'bad_signature':
        headers = zendesk_headers(body, secret='not-the-secret')
    elif case == 'stale_timestamp':
        headers = zendesk_headers(body, timestamp='2024-05-14T11:40:03Z')
    elif case == 'unknown_source':
        source = 'hubspot'
    elif case == 'too_large':
        body = b'{"pad": "' + b'x' * 1_100_000 + b'"}'
        headers = zendesk_headers(body)
    elif case == 'malformed_json':
        body = body[:-5]
        headers = zendesk_headers(body)
    elif case == 'wrong_type':
        body = body.replace(b'"id":35436', b'"id":{"nested":true}')
        headers = zendesk_headers(body)
    elif case == 'not_utf8':
        body = b'{"ticket": "\xff\xfe"}'
        headers = zendesk_headers(body)

    # When it is posted
    answer = post(source, body, headers)

    # Then the status says what is wrong, the body names the field, and the payload is quarantined with its reason:
    # whole when it authenticated (a stale timestamp under a valid signature is authentic), as metadata when it did not
    assert answer['statusCode'] == expected_status
    error = json.loads(answer['body'])['error']
    if expected_field:
        assert error['field'] == expected_field
    assert error['reason']
    item = quarantined(answer)
    assert item is not None and item.status_code == expected_status and item.reason == error['reason']
    assert item.body_size == len(body) and item.body_sha256 == hashlib.sha256(body).hexdigest()
    if case in ('bad_signature', 'unknown_source', 'too_large'):
        assert item.metadata_only and item.body is None and item.body_head == body[:2048]
    else:
        assert not item.metadata_only and item.body is not None and (item.body == body or item.body_truncated)
    assert aws.drain() == []


def test_quarantined_stale_webhook_replays_with_its_signature_rechecked(aws: LocalAws) -> None:
    # Given a correctly signed webhook that arrived too late (older than 5 minutes) and was quarantined
    body = zendesk_body(ticket_id=35600)
    old = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 3600))
    answer = post('zendesk', body, zendesk_headers(body, timestamp=old))
    quarantine_id = json.loads(answer['body'])['quarantine_id']

    # When an admin replays it from the console
    from functions.quarantine_replay.app import lambda_handler as replay

    outcome = replay({'quarantine_id': quarantine_id}, lambda_context())
    process_queue(aws)
    release_holds()

    # Then it is accepted and processed, and the item is marked replayed
    assert outcome == {'ok': True, 'result': 'accepted 1 events'}
    assert len(LedgerStore().entries_for('E1')) == 2
    assert quarantined(answer).status.value == 'replayed'
    assert replay({'quarantine_id': quarantine_id}, lambda_context())['ok'] is False


def test_a_forged_webhook_is_kept_as_metadata_and_is_not_replayable(aws: LocalAws) -> None:
    # Given a webhook with a wrong signature, quarantined
    body = zendesk_body(ticket_id=35601)
    answer = post('zendesk', body, zendesk_headers(body, secret='forged'))
    quarantine_id = json.loads(answer['body'])['quarantine_id']

    # When an admin replays it, even accepting unauthenticated payloads
    from functions.quarantine_replay.app import lambda_handler as replay

    outcomes = [replay({'quarantine_id': quarantine_id, **extra}, lambda_context()) for extra in ({}, {'accept_unauthenticated': True})]

    # Then it is refused, saying it is not replayable (only its metadata was kept), and nothing is queued
    for outcome in outcomes:
        assert outcome['ok'] is False and outcome['replayable'] is False and 'never authenticated' in outcome['error']
    assert aws.drain() == []


def test_salesforce_outbound_message_is_acknowledged_in_soap(aws: LocalAws) -> None:
    # Given the Salesforce Outbound Message sample with two Case notifications
    body = (SAMPLES / 'salesforce_outbound_case.xml').read_bytes()

    # When Salesforce posts it with the token in the URL
    answer = post('salesforce', body, {'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '""'},
                  {'token': SECRETS['salesforce']['secret']})

    # Then the answer is a SOAP Ack and both notifications are queued
    assert answer['statusCode'] == 200
    assert answer['headers']['Content-Type'].startswith('text/xml')
    assert '<Ack>true</Ack>' in answer['body']
    assert len(aws.drain()) == 2


def test_processing_failure_on_last_attempt_is_quarantined_and_retried_before(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a queued event whose processing fails (the ticket table is unavailable)
    body = zendesk_body(ticket_id=35700)
    post('zendesk', body, zendesk_headers(body))
    messages = aws.drain()
    from functions.ticket_processor import app as processor_app

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError('tickets table unavailable')

    monkeypatch.setattr(processor_app.processor().tickets, 'get', broken)

    # When it is delivered for the 2nd time, then for the 5th (last) time
    early = processor_app.lambda_handler(sqs_event(messages), lambda_context())
    messages[0].setdefault('Attributes', {})['ApproximateReceiveCount'] = '5'
    last = processor_app.lambda_handler(sqs_event(messages), lambda_context())

    # Then both report the record as failed (SQS retries, then dead-letters it) and only the last is quarantined
    assert early['batchItemFailures'] == last['batchItemFailures'] == [{'itemIdentifier': messages[0]['MessageId']}]
    today = datetime.now(UTC).strftime('%Y-%m-%d')
    kept = [item for item in QuarantineStore().list_day(today) if item['stage'] == 'processing']
    assert len(kept) == 1 and 'tickets table unavailable' in str(kept[0]['reason'])


def test_no_input_makes_the_webhook_function_answer_5xx(aws: LocalAws) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    sources = st.sampled_from(['zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms', 'survey', 'nope', ''])
    header_names = st.sampled_from(['X-Zendesk-Webhook-Signature', 'X-Zendesk-Webhook-Signature-Timestamp', 'X-Pitcrew-Token',
                                    'X-Pitcrew-Signature', 'X-Pitcrew-Timestamp', 'Content-Type'])

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(source=sources, body=st.binary(max_size=400), headers=st.dictionaries(header_names, st.text(max_size=60), max_size=4),
           token=st.none() | st.text(max_size=30))
    def check(source: str, body: bytes, headers: dict[str, str], token: str | None) -> None:
        # Given arbitrary bytes, headers and query token for any source
        # When posted
        answer = post(source, body, headers, {'token': token} if token is not None else None)
        # Then the answer is an acceptance or a 4xx with a reason, never a server error
        assert answer['statusCode'] in (200, 400, 401, 404, 413), answer
        if answer['statusCode'] != 200:
            assert json.loads(answer['body'])['error']['reason']

    check()


def test_a_direct_invocation_with_a_body_that_is_not_base64_gets_a_400_and_is_kept(aws: LocalAws) -> None:
    # Given an invocation (not through API Gateway) that says its body is base64 but it is not
    event = http_api_event('/webhooks/zendesk', zendesk_body(), zendesk_headers(zendesk_body()))
    event.update(body='{"ticket": not base64!}', isBase64Encoded=True)

    # When the ingest function handles it
    from functions.webhook_ingest.app import lambda_handler

    answer = lambda_handler(event, lambda_context())

    # Then it is refused 400 naming the body and the reason, and kept for an admin as what it is: a request that never
    # authenticated (its signature cannot be checked over bytes it does not have), so metadata and the bytes' head only
    assert answer['statusCode'] == 400
    error = json.loads(answer['body'])['error']
    assert error['field'] == 'body' and 'base64' in error['reason']
    kept = quarantined(answer)
    assert kept is not None and kept.status_code == 400 and kept.source == 'zendesk'
    assert kept.metadata_only and kept.body is None and kept.body_head == b'{"ticket": not base64!}'
    assert aws.drain() == []
