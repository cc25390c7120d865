"""What the quarantine keeps of a rejected webhook, and for how long (issue 13, "rejections that cost nothing to send").

Real ingest and replay handlers on moto AWS built from template.yaml: an unauthenticated request leaves a counter and a
small metadata item; an authenticated but invalid one keeps its body and can be replayed; everything expires.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.config import get_settings
from shared.quarantine.store import QuarantineStore, counter_key
from tests.integration.test_webhook_pipeline import post, process_queue, zendesk_body, zendesk_headers
from tests.support.apigw import lambda_context
from tests.support.local_aws import LocalAws, local_aws

ONE_MB = 1024 * 1024


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        yield aws


def stored_item(quarantine_id: str) -> dict[str, Any]:
    """The item as DynamoDB holds it (wire format), to size it as DynamoDB would bill it."""
    return dict(boto3_client().get_item(TableName=get_settings().QUARANTINE_TABLE, Key={'pk': {'S': quarantine_id}})['Item'])


def boto3_client() -> Any:
    import boto3

    return boto3.client('dynamodb', region_name=get_settings().AWS_REGION)


def item_bytes(item: dict[str, Any]) -> int:
    from tests.bench.capacity import item_size

    return item_size(item)


def counter(source: str, at: datetime) -> dict[str, Any] | None:
    found = boto3_client().get_item(TableName=get_settings().QUARANTINE_TABLE, Key={'pk': {'S': counter_key(source, at)}})
    return found.get('Item')


def replay(event: dict[str, Any]) -> dict[str, Any]:
    from functions.quarantine_replay.app import lambda_handler

    return lambda_handler(event, lambda_context())


def test_an_unsigned_1_mb_body_leaves_a_small_metadata_item_with_its_hash_and_size(aws: LocalAws) -> None:
    # Given an unsigned body of 1 MB, the largest the receiver reads (random bytes: incompressible, a hostile sender's choice)
    body = random.Random(13).randbytes(ONE_MB)

    # When it is posted without any signature
    answer = post('zendesk', body, {'Content-Type': 'application/json'})

    # Then it is refused 401, and the quarantine item is metadata: under 4 KB, with the body's size, SHA-256 and head
    assert answer['statusCode'] == 401
    quarantine_id = json.loads(answer['body'])['quarantine_id']
    raw = stored_item(quarantine_id)
    assert item_bytes(raw) < 4 * 1024
    kept = QuarantineStore().get(quarantine_id)
    assert kept is not None and kept.metadata_only and kept.body is None
    assert kept.body_size == len(body) and kept.body_sha256 == hashlib.sha256(body).hexdigest()
    assert kept.body_head == body[:2048] and kept.body_truncated
    assert kept.headers == {} and kept.query == {}
    assert aws.drain() == []


def test_unauthenticated_rejections_are_counted_per_source_and_hour_and_sampled(aws: LocalAws) -> None:
    # Given the sample limit per source and hour
    limit = get_settings().QUARANTINE_REJECTION_SAMPLES
    now = datetime.now(UTC)

    # When more than that many unsigned requests reach one source, plus some for sources that do not exist
    answers = [post('freshdesk', b'{"ticket":{"id":%d}}' % n, {'X-Pitcrew-Token': 'wrong'}) for n in range(limit + 5)]
    unknown = [post(name, b'{}') for name in ('hubspot', 'intercom', 'hubspot')]

    # Then every one is refused and counted under its source's hour (unknown names under one `_unknown` counter, by status)
    assert {a['statusCode'] for a in answers} == {401} and {a['statusCode'] for a in unknown} == {404}
    freshdesk = counter('freshdesk', now)
    assert freshdesk is not None and freshdesk['rejections'] == {'N': str(limit + 5)} and freshdesk['s401'] == {'N': str(limit + 5)}
    nobody = counter('hubspot', now)
    assert nobody is not None and nobody['pk']['S'].startswith('REJ#_unknown#') and nobody['s404'] == {'N': '3'}
    # And only the first `limit` of the source's hour were kept as metadata items (the answer names them); the rest only counted
    kept = [json.loads(a['body']).get('quarantine_id') for a in answers]
    assert all(kept[:limit]) and kept[limit:] == [None] * 5
    # And the admin's listing shows the hour's counters, read without a Scan
    listing = replay({'list_rejections': f'{now:%Y-%m-%d}'})
    counted = {(c['source'], c['hour']): c for c in listing['counters']}
    hour = f'{now:%Y-%m-%dT%H}'
    assert counted[('freshdesk', hour)]['rejections'] == limit + 5 and counted[('_unknown', hour)]['by_status'] == {'404': 3}


def test_an_authenticated_but_invalid_payload_keeps_its_body_and_replays_once_corrected(aws: LocalAws) -> None:
    # Given a correctly signed Zendesk webhook whose ticket id has the wrong type
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from tests.support.factories import DIRECTORY_CSV

    DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), datetime.now(UTC))
    good = zendesk_body(ticket_id=35800)
    body = good.replace(b'"id":35800', b'"id":{"nested":true}')
    answer = post('zendesk', body, zendesk_headers(body))
    quarantine_id = json.loads(answer['body'])['quarantine_id']

    # When the admin looks at it and replays it with the corrected body
    kept = QuarantineStore().get(quarantine_id)
    outcome = replay({'quarantine_id': quarantine_id, 'corrected_body': good.decode()})

    # Then the whole body was kept (not metadata), nothing was counted as unauthenticated, and the replay is accepted
    assert answer['statusCode'] == 400
    assert kept is not None and not kept.metadata_only and kept.body == body and kept.authenticated
    assert counter('zendesk', datetime.now(UTC)) is None
    assert outcome == {'ok': True, 'result': 'accepted 1 events'}
    assert process_queue(aws) == {'batchItemFailures': []}


def test_a_metadata_item_is_refused_by_the_replay_with_a_reason(aws: LocalAws) -> None:
    # Given an unknown source's rejection, kept as metadata
    answer = post('hubspot', b'{"ticket": 1}')
    quarantine_id = json.loads(answer['body'])['quarantine_id']

    # When an admin tries to replay it, also with a corrected body
    outcomes = [replay({'quarantine_id': quarantine_id}), replay({'quarantine_id': quarantine_id, 'corrected_body': '{}'})]

    # Then each answer says it is not replayable and why, without an error, and the item is still waiting
    for outcome in outcomes:
        assert outcome['ok'] is False and outcome['replayable'] is False and outcome['field'] == 'quarantine_id'
        assert 'never authenticated' in outcome['error']
    kept = QuarantineStore().get(quarantine_id)
    assert kept is not None and kept.status.value == 'quarantined'


def test_every_quarantine_item_and_counter_expires_after_the_retention(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a retention of 7 days (and a receiver started with it, as after a deployment)
    from functions.webhook_ingest import app

    monkeypatch.setenv('QUARANTINE_RETENTION_DAYS', '7')
    monkeypatch.setattr(app, '_receiver', None)
    get_settings.cache_clear()
    before = datetime.now(UTC)

    # When an unauthenticated request, an authenticated invalid one and a processing failure are quarantined
    unsigned = post('dms', b'{"job_card": 1}')
    body = zendesk_body().replace(b'"id":35436', b'"id":[]')
    invalid = post('zendesk', body, zendesk_headers(body))
    failed = QuarantineStore().keep_failed(source='queue', event_json='{}', reason='KeyError: x', correlation_id=None, now=before)

    # Then each item, and the source's counter, carries expires_at 7 days on (the table's TTL attribute)
    expected = (before + timedelta(days=7)).timestamp()
    ids = [json.loads(unsigned['body'])['quarantine_id'], json.loads(invalid['body'])['quarantine_id'], failed]
    expiries = [int(stored_item(quarantine_id)['expires_at']['N']) for quarantine_id in ids]
    dms = counter('dms', before)
    assert dms is not None
    expiries.append(int(dms['expires_at']['N']))
    assert all(expected - 5 <= at <= expected + 60 for at in expiries), expiries


def test_the_day_listing_reads_items_through_a_keys_only_index(aws: LocalAws) -> None:
    # Given one metadata item and one whole item quarantined today
    post('gorgias', b'{"ticket_id": 1}', {'X-Pitcrew-Token': 'wrong'})
    body = zendesk_body().replace(b'"id":35436', b'"id":null')
    post('zendesk', body, zendesk_headers(body))

    # When the admin lists the day
    listing = replay({'list_day': f'{datetime.now(UTC):%Y-%m-%d}'})

    # Then both are listed with their stage, source, status and whether only metadata was kept
    summary = sorted((i['source'], i['status_code'], i['metadata_only'], i['status']) for i in listing['items'])
    assert listing['ok'] and summary == [('gorgias', 401, True, 'quarantined'), ('zendesk', 400, False, 'quarantined')]


def test_every_kind_of_kept_reason_is_stored_without_personal_values(aws: LocalAws) -> None:
    # Given reasons that name a person (as a sender's text or an error message may): one for a request that never
    # authenticated, one for an event that failed in processing and one for stream records a reader could not apply
    reason = 'agent jane.doe@example.com at +44 7700 900123 is unknown'
    store, now = QuarantineStore(), datetime.now(UTC)
    kept = [
        store.keep_rejected(source='zendesk', body=b'{}', headers={}, query={}, reason=reason, field='ticket', status_code=401,
                            authenticated=False, correlation_id=None, now=now),
        store.keep_failed(source='queue', event_json='{}', reason=reason, correlation_id=None, now=now),
        store.keep_stream_records(reader='kpi_aggregator', records_json='[]', reason=reason, correlation_id=None, now=now),
    ]

    # When each is read back as an admin lists it
    reasons = [item.reason for item in map(store.get, [k for k in kept if k is not None]) if item is not None]

    # Then all three are kept, and none holds the e-mail address or the phone number
    assert len(reasons) == 3
    assert not any('jane.doe@example.com' in r or '7700 900123' in r for r in reasons), reasons
