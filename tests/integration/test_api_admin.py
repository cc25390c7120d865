"""The admin routes (functions/api_admin) against moto with the ORG directory: programs, the preview, the quarantine list
(with its cursor) and a replay, adjustments (a large one waits for a second admin; a retried approval decides once) and
a kiosk PIN reset; every route refuses anyone but an admin (403)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.local_aws import LocalAws
from tests.support.team_api import ADMIN, HQ, ROOT, call_admin, claims, team_world

OTHER_ADMIN = claims('admin', sub='second-admin')
TODAY = datetime.now(UTC).strftime('%Y-%m-%d')


@pytest.fixture()
def world() -> Iterator[LocalAws]:
    with team_world() as aws:
        yield aws


def test_an_admin_lists_and_reads_programs(world: LocalAws) -> None:
    # When an admin lists the programs and reads one
    status, body = call_admin('GET', '/v1/admin/programs', ADMIN)
    assert status == 200 and [p['program_id'] for p in body['items']] == ['pitstop']
    status, body = call_admin(
        'GET', '/v1/admin/programs/pitstop', ADMIN, route='/v1/admin/programs/{program_id}', params={'program_id': 'pitstop'}
    )
    # Then the newest version's document comes with its versions; an unknown program is 404 naming program_id
    assert status == 200 and body['document']['program_id'] == 'pitstop' and body['versions'] == [1]
    status, body = call_admin(
        'GET', '/v1/admin/programs/nope', ADMIN, route='/v1/admin/programs/{program_id}', params={'program_id': 'nope'}
    )
    assert (status, body['field']) == (404, 'program_id')


def test_hq_may_not_use_admin_routes(world: LocalAws) -> None:
    assert call_admin('GET', '/v1/admin/programs', HQ)[0] == 403


def test_the_preview_is_queued_run_by_the_worker_and_names_a_bad_field(world: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import get_settings

    monkeypatch.setenv('PREVIEWS_QUEUE_URL', world.queues['PreviewsQueue'])
    get_settings.cache_clear()
    document = json.loads((ROOT / 'events' / 'program_workshop.json').read_text())
    route, params = '/v1/admin/programs/{program_id}/preview', {'program_id': 'pitstop'}
    # When an admin previews the candidate over this month
    status, body = call_admin('POST', '/v1/admin/programs/pitstop/preview', ADMIN, route=route, params=params, key='preview-0001',
                              body={'document': document, 'month': TODAY[:7]})  # fmt: skip
    # Then it is queued (202) with where to poll
    assert (status, body['status'], body['poll']) == (202, 'queued', f'/v1/admin/previews/{body["preview_id"]}'), body
    # When the worker runs the queued message (no tickets stored: zero differences)
    from functions.program_preview.app import lambda_handler
    from tests.support.apigw import lambda_context

    message = world.sqs.receive_message(QueueUrl=world.queues['PreviewsQueue'], AttributeNames=['All'])['Messages'][0]
    record = {'messageId': message['MessageId'], 'receiptHandle': message['ReceiptHandle'], 'body': message['Body'],
              'attributes': {'ApproximateReceiveCount': '1'}, 'messageAttributes': {}, 'eventSource': 'aws:sqs'}  # fmt: skip
    assert lambda_handler({'Records': [record]}, lambda_context()) == {'batchItemFailures': []}
    # Then the job reads done with the preview
    status, job = call_admin('GET', body['poll'], ADMIN, route='/v1/admin/previews/{preview_id}', params={'preview_id': body['preview_id']})
    assert (status, job['status']) == (200, 'done'), job
    assert job['result']['total']['candidate_points'] == 0
    # And a candidate with a bad time zone is refused naming the field inside the document
    status, body = call_admin('POST', '/v1/admin/programs/pitstop/preview', ADMIN, route=route, params=params, key='preview-0002',
                              body={'document': document | {'time_zone': 'Mars/Olympus'}, 'month': TODAY[:7]})  # fmt: skip
    assert status == 400 and body['field'].startswith('document.time_zone')
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_quarantine_pages_a_day_and_replays_one(world: LocalAws) -> None:
    from shared.quarantine.store import QuarantineStore

    # Given three items kept today
    store = QuarantineStore()
    ids = [store.keep_failed(source='queue', event_json='{}', reason=f'KeyError: {n}', correlation_id=None, now=datetime.now(UTC))
           for n in range(3)]  # fmt: skip
    # When an admin pages the day two at a time
    status, first = call_admin('GET', '/v1/admin/quarantine', ADMIN, query={'day': TODAY, 'limit': '2'})
    status2, second = call_admin('GET', '/v1/admin/quarantine', ADMIN, query={'day': TODAY, 'limit': '2', 'cursor': first['next_cursor']})
    # Then every item comes once
    assert (status, status2) == (200, 200)
    assert sorted(i['quarantine_id'] for i in first['items'] + second['items']) == sorted(ids)
    assert second['next_cursor'] is None
    # And a bad day is 400 naming `day`; an unknown item's replay is 404
    assert call_admin('GET', '/v1/admin/quarantine', ADMIN, query={'day': 'today'})[1]['field'] == 'day'
    status, body = call_admin('POST', '/v1/admin/quarantine/q-nope/replay', ADMIN, route='/v1/admin/quarantine/{quarantine_id}/replay',
                              params={'quarantine_id': 'q-nope'}, body={})  # fmt: skip
    assert (status, body['field']) == (404, 'quarantine_id')
    # And replaying a kept item answers the replay's outcome (this one's payload is no event: it says so)
    status, body = call_admin('POST', f'/v1/admin/quarantine/{ids[0]}/replay', ADMIN, route='/v1/admin/quarantine/{quarantine_id}/replay',
                              params={'quarantine_id': ids[0]}, body={})  # fmt: skip
    assert status == 200 and 'ok' in body


def _adjust(who: dict[str, str], body: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
    return call_admin('POST', '/v1/admin/adjustments', who, body=body, key=key)


def _decide(who: dict[str, str], adjustment_id: str, verb: str, key: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    return call_admin('POST', f'/v1/admin/adjustments/{adjustment_id}/{verb}', who, route=f'/v1/admin/adjustments/{{adjustment_id}}/{verb}',
                      params={'adjustment_id': adjustment_id}, key=key, body=body)  # fmt: skip


def test_a_large_adjustment_waits_for_a_second_admin_who_approves_once(world: LocalAws) -> None:
    from shared.ledger.store import LedgerStore

    request = {'adjustment_id': 'adj-0001', 'employee_id': 'IN-BLR-01-A', 'points': 5000, 'reason': 'Missed bonus in the audit'}
    # When an admin requests 5000 points without a key: 400 naming the header; with one: it waits (above the approval amount)
    assert _adjust(ADMIN, request, None)[1]['field'] == 'Idempotency-Key'
    status, body = _adjust(ADMIN, request, 'adjust-key-1')
    assert status == 200 and body['status'] == 'requested', body
    # And the same admin may not approve their own request
    assert _decide(ADMIN, 'adj-0001', 'approve', 'approve-key-1')[1]['refused'] == 'own_request'
    # When a second admin approves twice with the same key
    first = _decide(OTHER_ADMIN, 'adj-0001', 'approve', 'approve-key-2')
    again = _decide(OTHER_ADMIN, 'adj-0001', 'approve', 'approve-key-2')
    # Then it is applied once
    assert first[0] == 200 and again == first
    assert LedgerStore().balance('IN-BLR-01-A').available == 5000


def test_adjustment_bad_input_and_unknown_people(world: LocalAws) -> None:
    request = {'adjustment_id': 'adj-0002', 'employee_id': 'IN-BLR-01-A', 'points': 10, 'reason': 'x'}
    assert _adjust(ADMIN, request, 'adjust-key-2')[1]['field'] == 'reason'
    status, body = _adjust(ADMIN, request | {'reason': 'A fine reason', 'employee_id': 'NOBODY'}, 'adjust-key-3')
    assert (status, body['field']) == (404, 'employee_id')
    assert _decide(OTHER_ADMIN, 'adj-0002', 'reject', 'reject-key-1', body={})[1]['field'] == 'reason'


def test_an_admin_resets_a_kiosk_pin_and_lifts_a_lockout(world: LocalAws) -> None:
    # Given IN-BLR-01-B locked out after six wrong PINs at their kiosk
    from datetime import UTC, datetime

    from shared.api.errors import TooManyRequests, Unauthorized
    from shared.api.kiosk_pins import login, set_pin
    from shared.api.store import ApiStore

    now = datetime.now(UTC)
    set_pin('IN-BLR-01-B', '1357', now)
    for _ in range(6):
        with pytest.raises((Unauthorized, TooManyRequests)):
            login(ApiStore(), 'IN-BLR-01-B', '0000', now)
    with pytest.raises(TooManyRequests):
        login(ApiStore(), 'IN-BLR-01-B', '1357', now)
    route = '/v1/admin/people/{employee_id}/pin'
    # When an admin sets IN-BLR-01-B's PIN
    status, body = call_admin('POST', '/v1/admin/people/IN-BLR-01-B/pin', ADMIN, route=route, params={'employee_id': 'IN-BLR-01-B'},
                              body={'pin': '2468'})  # fmt: skip
    # Then the new PIN opens a session at once (the lockout is lifted) and the answer carries no PIN
    assert status == 200 and '2468' not in json.dumps(body)
    login(ApiStore(), 'IN-BLR-01-B', '2468', datetime.now(UTC))
    # And a bad PIN names `pin`; an unknown person is 404
    assert call_admin('POST', '/v1/admin/people/IN-BLR-01-B/pin', ADMIN, route=route, params={'employee_id': 'IN-BLR-01-B'},
                      body={'pin': '12'})[1]['field'] == 'pin'  # fmt: skip
    assert (
        call_admin('POST', '/v1/admin/people/NOBODY/pin', ADMIN, route=route, params={'employee_id': 'NOBODY'}, body={'pin': '1234'})[0]
        == 404
    )
