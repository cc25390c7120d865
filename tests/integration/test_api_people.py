"""The person's own routes (functions/api_people) end to end on moto with the ORG directory and the real use cases:
wallet, statement (lines, totals, points by rule), rank and standings (scored by the league scorer), feed, give, catalogue,
redeem (exactly once per Idempotency-Key), my redemptions, disputes, my kiosk PIN; and bad input answered with the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from functions.api_people import app as people
from tests.support.people_api import BY_ID, ORG, claims, claims_of
from tests.support.people_seed import World, call, people_world

NOW = datetime(2026, 10, 20, 6, 0, tzinfo=UTC)
ME = BY_ID['IN-BLR-01-A']  # a service advisor at IN-BLR-01 (in the workshop program's scope)
COLLEAGUE = BY_ID['IN-BLR-01-B']  # a technician at the same location, same manager
ADVISOR = claims_of(ME)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with people_world(monkeypatch, NOW) as world:
        yield world


def get(path: str, who: dict[str, str] = ADVISOR, **query: str) -> tuple[int, dict]:
    status, body, _ = call(people, 'GET', path, who, query=query or None)
    return status, body


def contact_details(text: str, *, but: str | None = None) -> list[str]:
    return [value for m in ORG if m.employee_id != but for value in (m.phone, m.email) if value in text]


# --- profile and wallet ------------------------------------------------------------------------------------------------
def test_me_answers_my_profile_and_my_wallet_in_the_programs_i_am_in(world: World) -> None:
    # Given: 1,200 points earned this month
    world.write(world.entry(ME.employee_id, 1200, NOW - timedelta(days=3)))
    # When: I ask for /v1/me
    status, body = get('/v1/me')
    # Then: my own profile (no phone, no e-mail), the workshop program, and the wallet with its rupee value
    assert status == 200
    assert body['person']['employee_id'] == ME.employee_id and body['person']['manager_id'] == ME.manager_id
    assert body['programs'] == ['pitstop']
    assert body['wallets'][0]['available'] == 1200 and body['wallets'][0]['currency'] == 'INR'
    assert contact_details(str(body)) == []


# --- statement ---------------------------------------------------------------------------------------------------------
def test_statement_pages_its_lines_and_totals_points_by_rule(world: World) -> None:
    # Given: three awards of two rules this month and one last month
    world.write(world.entry(ME.employee_id, 50, datetime(2026, 9, 28, 6, tzinfo=UTC)),
                world.entry(ME.employee_id, 100, datetime(2026, 10, 2, 6, tzinfo=UTC)),
                world.entry(ME.employee_id, 30, datetime(2026, 10, 5, 6, tzinfo=UTC), rule='csat_5'),
                world.entry(ME.employee_id, 70, datetime(2026, 10, 9, 6, tzinfo=UTC)))  # fmt: skip
    # When: October's statement is read two lines at a time
    status, first = get('/v1/me/statement', month='2026-10', limit='2')
    status_2, second = get('/v1/me/statement', month='2026-10', limit='2', cursor=first['next_cursor'])
    # Then: every October line once, explained, oldest first; totals reconcile; points by rule sum per rule
    assert status == status_2 == 200
    lines = first['items'] + second['items']
    assert [line['amount'] for line in lines] == [100, 30, 70] and second['next_cursor'] is None
    assert all(line['explanation'] and line['code'] for line in lines)
    assert first['totals']['opening_available'] == 50 and first['totals']['earned'] == 200 and first['reconciles']
    assert {(row['rule_id'], row['points']) for row in first['by_rule']} == {('first_time_fix', 170), ('csat_5', 30)}


@pytest.mark.parametrize(('query', 'field'), [
    ({'month': '2026-13'}, 'month'),
    ({'month': 'October'}, 'month'),
    ({'limit': '0'}, 'limit'),
    ({'limit': '101'}, 'limit'),
    ({'employee_id': 'IN-BLR-01-B'}, 'employee_id'),
    ({'cursor': 'not-a-cursor'}, 'cursor'),
])  # fmt: skip
def test_bad_statement_queries_are_refused_naming_the_field(world: World, query: dict[str, str], field: str) -> None:
    # Given / When: a statement asked with a bad month, limit, an unknown parameter or a forged cursor
    status, body, _ = call(people, 'GET', '/v1/me/statement', ADVISOR, query=query)
    # Then: 400 naming the field
    assert status == 400 and body['field'] == field, body


def test_a_cursor_of_another_list_is_refused(world: World) -> None:
    # Given: a cursor of my statement (October, one line a page)
    world.write(*(world.entry(ME.employee_id, 10, datetime(2026, 10, d, 6, tzinfo=UTC)) for d in (1, 2)))
    _, statement = get('/v1/me/statement', month='2026-10', limit='1')
    assert statement['next_cursor']
    # When: it is sent to another list (my catalogue), to another month's statement, and by another person
    other_list = get('/v1/catalogue', cursor=statement['next_cursor'])
    other_month = get('/v1/me/statement', month='2026-09', limit='1', cursor=statement['next_cursor'])
    other_person = get('/v1/me/statement', claims_of(COLLEAGUE), month='2026-10', limit='1', cursor=statement['next_cursor'])
    # Then: each is a 400 naming `cursor`
    for status, body in (other_list, other_month, other_person):
        assert status == 400 and body['field'] == 'cursor'


# --- rank and standings ------------------------------------------------------------------------------------------------
def test_rank_answers_place_gap_level_and_the_months_points_day_by_day(world: World) -> None:
    # Given: two service advisors of the South region (one division), both with enough job cards to qualify; I pass
    # 1,000 lifetime points (the "Pit crew" level)
    rival = BY_ID['IN-BLR-02-A']
    world.write(
        world.entry(ME.employee_id, 1000, datetime(2026, 10, 3, 6, tzinfo=UTC)),
        world.entry(ME.employee_id, 50, datetime(2026, 10, 10, 6, tzinfo=UTC)),
        world.entry(rival.employee_id, 2000, datetime(2026, 10, 4, 6, tzinfo=UTC)),
    )
    for person in (ME, rival):
        world.job_cards(person.employee_id, '2026-10', 5)
    world.score()
    # When: I ask for my rank
    status, body = get('/v1/me/rank')
    # Then: second of two, 950 behind; my level and its badge; my cumulative points per day up to today with today's rank
    assert status == 200, body
    assert body['program_id'] == 'pitstop' and body['month'] == '2026-10'
    assert (body['rank'], body['of'], body['points'], body['gap'], body['qualified']) == (2, 2, 1050, 950.0, True)
    assert body['level'] == {'index': 1, 'name': 'Pit crew', 'lifetime_points': 1050}
    assert [(b['kind'], b['name']) for b in body['badges']] == [('level', 'Pit crew')]
    movement = body['movement']
    assert movement[0] == {'date': '2026-10-01', 'points': 0}
    assert {'date': '2026-10-03', 'points': 1000} in movement and {'date': '2026-10-10', 'points': 1050} in movement
    assert movement[-1] == {'date': '2026-10-20', 'points': 1050, 'rank': 2}


def test_standings_page_my_divisions_board(world: World) -> None:
    # Given: two service advisors of the South region with points this month
    people_ = [ME, BY_ID['IN-BLR-02-A']]
    for n, person in enumerate(people_):
        world.write(world.entry(person.employee_id, 100 * (n + 1), datetime(2026, 10, 3, 6, tzinfo=UTC)))
        world.job_cards(person.employee_id, '2026-10', 5)
    world.score()
    # When: the board is read one row at a time
    status, first = get('/v1/standings', limit='1')
    _, second = get('/v1/standings', limit='1', cursor=first['next_cursor'])
    # Then: best first, names but no contact details, and my row marked
    assert status == 200, first
    rows = first['items'] + second['items']
    assert [row['points'] for row in rows] == [200, 100] and rows[1]['me'] and second['next_cursor'] is None
    assert rows[0]['name'] == 'Name IN-BLR-02-A' and contact_details(str(rows)) == []


# --- recognition -------------------------------------------------------------------------------------------------------
def test_give_thanks_then_it_is_in_my_teams_feed(world: World) -> None:
    # Given: my colleague (same manager) thanks me through the API
    headers = {'Idempotency-Key': 'give-0001-abcd'}
    body = {'to_employee_id': ME.employee_id, 'points': 20, 'message': 'Spotted the brake fault early', 'value': 'teamwork'}
    status, given, _ = call(people, 'POST', '/v1/recognitions', claims_of(COLLEAGUE), body=body, headers=headers)
    again, retried, _ = call(people, 'POST', '/v1/recognitions', claims_of(COLLEAGUE), body=body, headers=headers)
    # When: I read my team's feed and my location's
    team_status, team = get('/v1/feed')
    location_status, location = get('/v1/feed', scope='location')
    # Then: given once (the retry answers the first), and the line is in both feeds
    assert status == again == 200, given
    assert retried['recognition_id'] == given['recognition_id'] and retried['duplicate']
    assert given['remaining'] == 180
    assert team_status == location_status == 200
    assert [line['recognition_id'] for line in team['items']] == [given['recognition_id']]
    assert [line['recognition_id'] for line in location['items']] == [given['recognition_id']]
    assert contact_details(str(team)) == []


def test_give_without_an_idempotency_key_is_refused(world: World) -> None:
    # Given / When: a recognition without the header
    status, body, _ = call(people, 'POST', '/v1/recognitions', ADVISOR, body={'to_employee_id': COLLEAGUE.employee_id, 'points': 10})
    # Then: 400 naming the header, nothing given
    assert status == 400 and body['field'] == 'Idempotency-Key'


# --- catalogue and redemptions -----------------------------------------------------------------------------------------
def test_catalogue_lists_what_is_offered_at_my_location(world: World) -> None:
    # Given / When: the catalogue for me (IN-BLR-01, Bengaluru)
    status, body = get('/v1/catalogue', limit='100')
    # Then: the items offered there (the Bengaluru-only service discount included), with my city
    assert status == 200
    ids = {item['item_id'] for item in body['items']}
    assert {'amazon-500', 'fuel-2000', 'service-20pct'} <= ids
    assert {item['city'] for item in body['items']} == {'Bengaluru'}


def test_redeem_twice_with_the_same_key_debits_once_and_lists_it(world: World) -> None:
    # Given: 2,000 points
    world.write(world.entry(ME.employee_id, 2000, NOW - timedelta(days=2)))
    headers = {'Idempotency-Key': 'redeem-0001-abcd'}
    # When: I redeem a voucher and the page retries with the same key
    status, first, _ = call(people, 'POST', '/v1/redemptions', ADVISOR, body={'item_id': 'amazon-500'}, headers=headers)
    again, second, _ = call(people, 'POST', '/v1/redemptions', ADVISOR, body={'item_id': 'amazon-500'}, headers=headers)
    # Then: one redemption, one debit of 500; listed once; readable by id
    assert status == again == 200, first
    assert second['redemption_id'] == first['redemption_id'] and second['duplicate']
    _, me = get('/v1/me')
    assert me['wallets'][0]['available'] == 1500
    _, mine = get('/v1/redemptions')
    assert [r['redemption_id'] for r in mine['items']] == [first['redemption_id']]
    one_status, one, _ = call(people, 'GET', f'/v1/redemptions/{first["redemption_id"]}', ADVISOR, route='/v1/redemptions/<redemption_id>',
                              path_parameters={'redemption_id': first['redemption_id']})  # fmt: skip
    assert one_status == 200 and one['item_id'] == 'amazon-500' and one['points'] == 500


def test_redeem_refusals_name_the_field(world: World) -> None:
    # Given: 100 points
    world.write(world.entry(ME.employee_id, 100, NOW - timedelta(days=2)))
    headers = {'Idempotency-Key': 'redeem-0002-abcd'}
    # When: too expensive, no key, an unknown item field
    poor = call(people, 'POST', '/v1/redemptions', ADVISOR, body={'item_id': 'amazon-500'}, headers=headers)
    no_key = call(people, 'POST', '/v1/redemptions', ADVISOR, body={'item_id': 'amazon-500'})
    extra = call(people, 'POST', '/v1/redemptions', ADVISOR, body={'item_id': 'amazon-500', 'employee_id': 'IN-BLR-01-B'}, headers=headers)
    # Then: each refused naming the field, nothing debited
    assert (poor[0], poor[1]['field'], poor[1]['refused']) == (409, 'quantity', 'insufficient')
    assert (no_key[0], no_key[1]['field']) == (400, 'Idempotency-Key')
    assert (extra[0], extra[1]['field']) == (400, 'employee_id')
    assert get('/v1/me')[1]['wallets'][0]['available'] == 100


# --- disputes ----------------------------------------------------------------------------------------------------------
def test_dispute_an_entry_of_my_ledger_and_list_it(world: World) -> None:
    # Given: an award of mine and one of my colleague's
    (mine,) = world.write(world.entry(ME.employee_id, 40, NOW - timedelta(days=1)))
    (theirs,) = world.write(world.entry(COLLEAGUE.employee_id, 40, NOW - timedelta(days=1)))
    # When: I dispute mine, then try theirs
    status, filed, _ = call(people, 'POST', '/v1/disputes', ADVISOR, body={'entry_id': mine.entry_id, 'reason': 'the job card was two'})
    other, refused, _ = call(people, 'POST', '/v1/disputes', ADVISOR, body={'entry_id': theirs.entry_id, 'reason': 'not mine at all'})
    # Then: mine is open and listed; theirs is answered as unknown (404), nothing filed
    assert status == 200, filed
    assert filed['dispute']['entry_id'] == mine.entry_id and filed['dispute']['status'] == 'open'
    assert other == 404 and refused == {'ok': False, 'error': 'not found', 'field': 'entry_id'}
    _, listed = get('/v1/disputes')
    assert [d['dispute_id'] for d in listed['items']] == [filed['dispute']['dispute_id']]


# --- kiosk PIN ---------------------------------------------------------------------------------------------------------
def test_set_my_pin_checks_its_format(world: World) -> None:
    # Given / When: a good PIN, then a 3-digit one
    ok, body, _ = call(people, 'PUT', '/v1/me/pin', ADVISOR, body={'pin': '2468'})
    bad, refused, _ = call(people, 'PUT', '/v1/me/pin', ADVISOR, body={'pin': '123'})
    # Then: the first is stored as a hash (never the PIN), the second refused naming `pin`
    assert ok == 200 and body == {'ok': True}
    from shared.api.store import ApiStore

    record = ApiStore().pin_record(ME.employee_id)
    assert record is not None and '2468' not in str(record)
    assert bad == 400 and refused['field'] == 'pin'


def test_a_caller_without_an_employee_id_is_refused(world: World) -> None:
    # Given / When: an hq token naming no employee asks for /v1/me
    status, body = get('/v1/me', claims('hq'))
    # Then: 403 naming the missing claim
    assert status == 403 and body['field'] == 'custom:employee_id'


def test_the_console_event_answers_the_sample_advisors_statement(world: World) -> None:
    # Given: the sample directory imported (E3 is a service advisor at IN-BLR-01)
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from tests.support.apigw import lambda_context
    from tests.support.people_api import answer
    from tests.support.people_seed import EVENTS

    DirectoryStore().import_rows(parse_export((EVENTS / 'directory_sample.csv').read_text(), 'csv'), NOW - timedelta(days=30))
    # When: events/api_people.json is run through the handler, as from the Lambda console
    status, body = answer(people.lambda_handler(json.loads((EVENTS / 'api_people.json').read_text()), lambda_context()))
    # Then: E3's November statement (empty), paged
    assert status == 200, body
    assert body['employee_id'] == 'E3' and body['month'] == '2026-11' and body['items'] == [] and body['next_cursor'] is None
