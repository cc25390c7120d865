"""The team routes (functions/api_team) against moto with the ORG directory: each route's happy path for the roles that
use it, bad input answered with the field named, and a decision retried with the same Idempotency-Key deciding once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.local_aws import LocalAws
from tests.support.people_api import ORG
from tests.support.team_api import (
    ADMIN,
    ADVISOR,
    HQ,
    MANAGER_BLR1,
    REGIONAL_SOUTH,
    call_team,
    seed_dispute,
    seed_flag,
    seed_kpis,
    seed_spot_request,
    team_world,
)

MONTH = datetime.now(UTC).strftime('%Y-%m')
PHONES_AND_MAILS = [m.phone for m in ORG] + [m.email for m in ORG]


@pytest.fixture()
def world() -> Iterator[LocalAws]:
    with team_world() as aws:
        yield aws


def no_contacts(body: object) -> None:
    text = str(body)
    assert not [value for value in PHONES_AND_MAILS if value in text]


# --- programs --------------------------------------------------------------------------------------------------------------
def test_a_manager_finds_the_programs_that_reach_their_location_with_the_leagues_divisions(world: LocalAws) -> None:
    # Given the workshop program over the ORG's locations
    # When the manager of IN-BLR-01, a regional of South and hq ask which programs reach them
    found = {who: call_team('GET', '/v1/team/programs', caller) for who, caller in (('manager', MANAGER_BLR1), ('regional', REGIONAL_SOUTH),
                                                                                      ('hq', HQ))}  # fmt: skip
    # Then each gets the program with its league's division fields, which the standings route takes
    for status, body in found.values():
        assert status == 200 and [p['program_id'] for p in body['items']] == ['pitstop']
        assert body['items'][0]['league']['divisions_by'] == ['role', 'region']
    # And a manager of a location outside the program's scope gets none; an advisor may not ask
    import json

    import boto3

    from shared.programs.loader import clear_cache

    ssm = boto3.client('ssm')
    document = json.loads(ssm.get_parameter(Name='/pitcrew/test/programs/pitstop')['Parameter']['Value'])
    document['scope']['locations'], document['pilot'] = ['IN-BLR-02'], None
    document['effective_from'] = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()  # a new version, in force now
    ssm.put_parameter(Name='/pitcrew/test/programs/pitstop', Value=json.dumps(document), Type='String', Overwrite=True)
    clear_cache()
    assert call_team('GET', '/v1/team/programs', MANAGER_BLR1)[1]['items'] == []
    assert [p['program_id'] for p in call_team('GET', '/v1/team/programs', REGIONAL_SOUTH)[1]['items']] == ['pitstop']
    assert call_team('GET', '/v1/team/programs', ADVISOR)[0] == 403


# --- people ---------------------------------------------------------------------------------------------------------------
def test_a_manager_lists_the_people_of_their_location_without_contact_details(world: LocalAws) -> None:
    # Given the ORG directory; When the manager of IN-BLR-01 lists their team
    status, body = call_team('GET', '/v1/team/people', MANAGER_BLR1)
    # Then they get their location's three people, public fields only
    assert status == 200
    assert sorted(p['employee_id'] for p in body['items']) == ['IN-BLR-01-A', 'IN-BLR-01-B', 'M-IN-BLR-01']
    assert {p['location_id'] for p in body['items']} == {'IN-BLR-01'}
    no_contacts(body)


def test_a_regional_pages_through_the_locations_of_their_region(world: LocalAws) -> None:
    # Given region South (IN-BLR-01 and IN-BLR-02, three people each); When a regional pages 2 at a time
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        status, body = call_team('GET', '/v1/team/people', REGIONAL_SOUTH, query={'limit': '2', **({'cursor': cursor} if cursor else {})})
        assert status == 200
        seen += [p['employee_id'] for p in body['items']]
        cursor = body['next_cursor']
        if cursor is None:
            break
    # Then every person of both locations comes exactly once, and nobody of the West region
    assert sorted(seen) == sorted(m.employee_id for m in ORG if m.region == 'South')
    assert len(seen) == len(set(seen))


def test_hq_must_name_a_location_or_a_region(world: LocalAws) -> None:
    # When hq asks for people without a filter: 400 naming location_id; with a region: that region's people
    status, body = call_team('GET', '/v1/team/people', HQ)
    assert (status, body['field']) == (400, 'location_id')
    status, body = call_team('GET', '/v1/team/people', HQ, query={'region': 'West'})
    assert status == 200 and {p['location_id'] for p in body['items']} == {'IN-MUM-01'}


def test_bad_input_names_the_field(world: LocalAws) -> None:
    # Then a bad limit, an unknown parameter and another list's cursor are each refused with their name
    assert call_team('GET', '/v1/team/people', MANAGER_BLR1, query={'limit': '0'})[1]['field'] == 'limit'
    assert call_team('GET', '/v1/team/people', MANAGER_BLR1, query={'everyone': '1'})[1]['field'] == 'everyone'
    assert call_team('GET', '/v1/team/kpis', MANAGER_BLR1, query={'period': '2026-13'})[1]['field'] == 'period'
    status, body = call_team('GET', '/v1/team/people', REGIONAL_SOUTH, query={'limit': '1'})
    status, body = call_team('GET', '/v1/team/people', MANAGER_BLR1, query={'cursor': body['next_cursor']})
    assert (status, body['field']) == (400, 'cursor')


# --- KPIs and service levels ------------------------------------------------------------------------------------------------
def test_kpis_come_with_targets_and_a_six_month_trend(world: LocalAws) -> None:
    # Given IN-BLR-01's month: 10 tickets, first response 600 s on average, CSAT 4.9 over 10 surveys
    seed_kpis('location#IN-BLR-01', MONTH, {'t': 10, 'fr_s': 6000, 'fr_n': 10, 'cs_sum': 49, 'cs_n': 10, 'cs_g': 9})
    # When its manager reads the KPIs
    status, body = call_team('GET', '/v1/team/kpis', MANAGER_BLR1)
    # Then the month's values carry their targets, and the trend has six periods ending with this one
    assert status == 200 and body['scope'] == 'location#IN-BLR-01'
    assert body['kpis']['first_response_time']['value'] == 10.0
    assert body['kpis']['csat_average']['target'] == 4.8
    assert [p['period'] for p in body['trend']][-1] == MONTH and len(body['trend']) == 6
    assert body['trend'][-1]['tickets'] == 10 and body['trend'][0]['tickets'] == 0


def test_a_regionals_kpis_are_the_sum_of_the_regions_locations(world: LocalAws) -> None:
    # Given South's two locations with 10 and 4 tickets this month (day items, as the aggregator keeps them; no region
    # item is written) and West's one with 7
    seed_kpis('location#IN-BLR-01', MONTH, {'t': 10, 'fr_s': 6000, 'fr_n': 10})
    seed_kpis('location#IN-BLR-02', MONTH, {'t': 4, 'fr_s': 2400, 'fr_n': 4})
    seed_kpis('location#IN-MUM-01', MONTH, {'t': 7, 'fr_s': 700, 'fr_n': 7})
    # When South's regional reads the KPIs
    status, body = call_team('GET', '/v1/team/kpis', REGIONAL_SOUTH)
    # Then the region's month is its two locations' together (and West's is not in it)
    assert status == 200 and body['scope'] == 'region#South'
    assert body['kpis']['tickets']['value'] == 14 and body['kpis']['first_response_time']['value'] == 10.0
    assert body['trend'][-1]['tickets'] == 14 and body['trend'][0]['tickets'] == 0


def test_service_levels_per_channel(world: LocalAws) -> None:
    # Given chat at IN-BLR-01 answered in 30 s on average with CSAT 5.0 (stellar on both)
    seed_kpis('location#IN-BLR-01', MONTH, {'t': 10, 'fr_s': 300, 'fr_n': 10, 'cs_sum': 50, 'cs_n': 10}, channel='chat')
    # When its manager reads the service levels
    status, body = call_team('GET', '/v1/team/service-levels', MANAGER_BLR1)
    # Then chat is level 5
    assert status == 200
    chat = body['scopes'][0]['channels']['chat']
    assert (chat['level'], chat['name']) == (5, 'stellar')


# --- statements and standings ---------------------------------------------------------------------------------------------
def test_a_manager_reads_a_team_members_statement(world: LocalAws) -> None:
    # Given IN-BLR-01-A credited 50 and debited 20 this month (through adjustments)
    seed_dispute('IN-BLR-01-A')
    # When the manager reads their statement
    status, body = call_team('GET', '/v1/people/IN-BLR-01-A/statement', MANAGER_BLR1, route='/v1/people/{employee_id}/statement',
                             params={'employee_id': 'IN-BLR-01-A'}, query={'month': MONTH})  # fmt: skip
    # Then it is the person's statement (it reconciles), its two lines explained, with the person's public profile
    assert status == 200
    assert body['employee']['employee_id'] == 'IN-BLR-01-A'
    assert body['reconciles'] is True and len(body['items']) == 2 and all(line['explanation'] for line in body['items'])
    no_contacts(body)
    # And the lines page by cursor: one at a time, the second page continues where the first ended
    first = call_team('GET', '/v1/people/IN-BLR-01-A/statement', MANAGER_BLR1, route='/v1/people/{employee_id}/statement',
                      params={'employee_id': 'IN-BLR-01-A'}, query={'month': MONTH, 'limit': '1'})[1]  # fmt: skip
    second = call_team('GET', '/v1/people/IN-BLR-01-A/statement', MANAGER_BLR1, route='/v1/people/{employee_id}/statement',
                       params={'employee_id': 'IN-BLR-01-A'}, query={'month': MONTH, 'limit': '1', 'cursor': first['next_cursor']})[1]  # fmt: skip
    assert [line['code'] for line in first['items'] + second['items']] == [line['code'] for line in body['items']]
    # And a month that is no month is refused naming it
    status, body = call_team('GET', '/v1/people/IN-BLR-01-A/statement', MANAGER_BLR1, route='/v1/people/{employee_id}/statement',
                             params={'employee_id': 'IN-BLR-01-A'}, query={'month': 'May'})  # fmt: skip
    assert (status, body['field']) == (400, 'month')


def test_standings_of_a_division_in_scope(world: LocalAws) -> None:
    import boto3

    from tests.support.league_close import Score, seed_scores

    # Given this month's technicians' board of region South: IN-BLR-01-B 300 points, IN-BLR-02-B 200
    seed_scores(boto3.client('dynamodb'), 'pitstop', MONTH, [Score('IN-BLR-01-B', 'technician|South', 300),
                                                            Score('IN-BLR-02-B', 'technician|South', 200)])  # fmt: skip
    query = {'program_id': 'pitstop', 'division': 'technician|South', 'month': MONTH}
    # When the regional of South reads it: both, ranked, named
    status, body = call_team('GET', '/v1/team/standings', REGIONAL_SOUTH, query=query)
    assert status == 200
    assert [(r['rank'], r['employee_id'], r['name']) for r in body['items']] == [(1, 'IN-BLR-01-B', 'Name IN-BLR-01-B'),
                                                                                  (2, 'IN-BLR-02-B', 'Name IN-BLR-02-B')]  # fmt: skip
    # When the manager of IN-BLR-01 reads it: their own person only (the other location's is left out)
    status, body = call_team('GET', '/v1/team/standings', MANAGER_BLR1, query=query)
    assert [r['employee_id'] for r in body['items']] == ['IN-BLR-01-B']
    no_contacts(body)
    # And a division that is not of this league's shape is refused naming `division`
    status, body = call_team('GET', '/v1/team/standings', REGIONAL_SOUTH, query=query | {'division': 'technician'})
    assert (status, body['field']) == (400, 'division')


def test_flags_in_scope(world: LocalAws) -> None:
    # Given a reciprocal flag between the two people of IN-BLR-01
    seed_flag('IN-BLR-01-A', 'IN-BLR-01-B', 'M-IN-BLR-01')
    # When their manager and the regional of South list the month's flags: it is there
    for who in (MANAGER_BLR1, REGIONAL_SOUTH):
        status, body = call_team('GET', '/v1/team/flags', who)
        assert status == 200 and [f['members'] for f in body['items']] == [['IN-BLR-01-A', 'IN-BLR-01-B']]
        no_contacts(body)


# --- disputes ------------------------------------------------------------------------------------------------------------------
def test_a_dispute_decision_retried_with_the_same_key_decides_once(world: LocalAws) -> None:
    # Given an open dispute of IN-BLR-01-A
    dispute_id = seed_dispute('IN-BLR-01-A')
    path, route = f'/v1/team/disputes/{dispute_id}/decide', '/v1/team/disputes/{dispute_id}/decide'
    decision = {'decision': 'reject', 'reason': 'The survey was for another ticket'}
    # When their manager rejects it without a key: refused naming the header
    status, body = call_team('POST', path, MANAGER_BLR1, route=route, params={'dispute_id': dispute_id}, body=decision)
    assert (status, body['field']) == (400, 'Idempotency-Key')
    # And with a key, twice
    first = call_team('POST', path, MANAGER_BLR1, route=route, params={'dispute_id': dispute_id}, body=decision, key='decide-0001')
    again = call_team('POST', path, MANAGER_BLR1, route=route, params={'dispute_id': dispute_id}, body=decision, key='decide-0001')
    # Then the first decides and the retry answers the same outcome (a new key finds it decided: 409)
    assert first == again and first[0] == 200 and first[1]['status'] == 'rejected'
    other = call_team('POST', path, MANAGER_BLR1, route=route, params={'dispute_id': dispute_id}, body=decision, key='decide-0002')
    assert (other[0], other[1]['refused']) == (409, 'decided')
    from shared.disputes.store import DisputeStore

    stored = DisputeStore().get(dispute_id)
    assert stored is not None and stored.decided_by is not None and stored.decided_by.name == 'M-IN-BLR-01'


def test_disputes_list_in_scope_pages_and_moves_when_decided(world: LocalAws) -> None:
    # Given two open disputes at IN-BLR-01 and one at IN-BLR-02 (region South)
    first = seed_dispute('IN-BLR-01-A')
    second = seed_dispute('IN-BLR-01-B')
    third = seed_dispute('IN-BLR-02-A')
    # When the manager of IN-BLR-01 pages their open disputes one at a time
    status, page1 = call_team('GET', '/v1/team/disputes', MANAGER_BLR1, query={'limit': '1'})
    status2, page2 = call_team('GET', '/v1/team/disputes', MANAGER_BLR1, query={'limit': '1', 'cursor': page1['next_cursor']})
    # Then they see their location's two, each once, with public people only
    assert (status, status2) == (200, 200)
    assert sorted(d['dispute_id'] for d in page1['items'] + page2['items']) == sorted([first, second])
    no_contacts([page1, page2])
    # And the regional of South sees all three; hq must name a location or region
    status, body = call_team('GET', '/v1/team/disputes', REGIONAL_SOUTH)
    assert sorted(d['dispute_id'] for d in body['items']) == sorted([first, second, third])
    assert call_team('GET', '/v1/team/disputes', HQ)[1]['field'] == 'location_id'
    assert call_team('GET', '/v1/team/disputes', MANAGER_BLR1, query={'status': 'closed'})[1]['field'] == 'status'
    # When the manager rejects the first: it leaves the open list for the decided one
    call_team('POST', f'/v1/team/disputes/{first}/decide', MANAGER_BLR1, route='/v1/team/disputes/{dispute_id}/decide',
              params={'dispute_id': first}, body={'decision': 'reject', 'reason': 'The survey was for another ticket'}, key='decide-list-1')  # fmt: skip
    assert [d['dispute_id'] for d in call_team('GET', '/v1/team/disputes', MANAGER_BLR1)[1]['items']] == [second]
    decided = call_team('GET', '/v1/team/disputes', MANAGER_BLR1, query={'status': 'decided'})[1]['items']
    assert [(d['dispute_id'], d['status']) for d in decided] == [(first, 'rejected')]


def test_an_accepted_dispute_corrects_the_points(world: LocalAws) -> None:
    from shared.ledger.store import LedgerStore

    # Given IN-BLR-01-A disputes a -20 entry; When their manager accepts it (the default correction undoes the debit)
    dispute_id = seed_dispute('IN-BLR-01-A')
    before = LedgerStore().balance('IN-BLR-01-A').available
    status, body = call_team('POST', f'/v1/team/disputes/{dispute_id}/decide', MANAGER_BLR1, route='/v1/team/disputes/{dispute_id}/decide',
                             params={'dispute_id': dispute_id}, body={'decision': 'accept', 'reason': 'Yes, the survey was theirs'},
                             key='accept-0001')  # fmt: skip
    # Then an adjustment of +20 is applied through the adjustments path
    assert status == 200 and body['status'] == 'accepted' and body['points'] == 20, body
    assert LedgerStore().balance('IN-BLR-01-A').available == before + 20


def test_hq_is_no_manager_of_the_employee_and_the_existing_check_refuses(world: LocalAws) -> None:
    # Given an open dispute; When hq (in scope, but not a manager nor an admin) decides: the use case refuses (403)
    dispute_id = seed_dispute('IN-BLR-01-B')
    status, body = call_team(
        'POST',
        f'/v1/team/disputes/{dispute_id}/decide',
        HQ,
        route='/v1/team/disputes/{dispute_id}/decide',
        params={'dispute_id': dispute_id},
        body={'decision': 'reject', 'reason': 'not ours'},
        key='hq-decide-1',
    )
    assert (status, body['refused']) == (403, 'out_of_scope')


# --- spot awards ---------------------------------------------------------------------------------------------------------------
def test_a_manager_gives_a_spot_award_once_per_key(world: LocalAws) -> None:
    award = {'program_id': 'pitstop', 'employee_id': 'IN-BLR-01-B', 'points': 100, 'reason_id': 'zero_defect_repair', 'message': 'clean'}
    # When the manager gives 100 points twice with the same key
    first = call_team('POST', '/v1/team/spot-awards', MANAGER_BLR1, body=award, key='spot-key-0001')
    again = call_team('POST', '/v1/team/spot-awards', MANAGER_BLR1, body=award, key='spot-key-0001')
    # Then one award is made (the same award id both times)
    assert first[0] == 200 and first[1]['status'] == 'awarded', first
    assert again[1]['award_id'] == first[1]['award_id']
    # And bad input names the field
    status, body = call_team('POST', '/v1/team/spot-awards', MANAGER_BLR1, body=award | {'points': 0}, key='spot-key-0002')
    assert (status, body['field']) == (400, 'points')


def test_an_admin_approves_a_waiting_award_once(world: LocalAws) -> None:
    # Given a 500-point request by the manager of IN-BLR-01 (above the program's 300: it waits)
    award_id = seed_spot_request('M-IN-BLR-01', 'IN-BLR-01-A', 'seed-req-1')
    # When the regional lists the approvals of their region: it is there, with no contact details
    status, body = call_team('GET', '/v1/team/approvals', REGIONAL_SOUTH)
    assert status == 200 and [i['award_id'] for i in body['items']] == [award_id]
    no_contacts(body)
    # And an admin approves it twice with the same key
    path, route = f'/v1/team/approvals/{award_id}/approve', '/v1/team/approvals/{award_id}/approve'
    first = call_team('POST', path, ADMIN, route=route, params={'award_id': award_id}, key='approve-0001')
    again = call_team('POST', path, ADMIN, route=route, params={'award_id': award_id}, key='approve-0001')
    # Then it is approved once (the retry answers the same)
    assert first[0] == 200 and first[1]['status'] == 'approved', first
    assert again == first
    assert call_team('GET', '/v1/team/approvals', REGIONAL_SOUTH)[1]['items'] == []


def test_a_rejection_needs_a_reason(world: LocalAws) -> None:
    award_id = seed_spot_request('M-IN-BLR-01', 'IN-BLR-01-B', 'seed-req-2')
    status, body = call_team(
        'POST',
        f'/v1/team/approvals/{award_id}/reject',
        ADMIN,
        route='/v1/team/approvals/{award_id}/reject',
        params={'award_id': award_id},
        body={},
        key='reject-0001',
    )
    assert (status, body['field']) == (400, 'reason')


# --- flags ---------------------------------------------------------------------------------------------------------------------
def test_flags_list_answers_a_page(world: LocalAws) -> None:
    # Given no flags this month; When the manager lists flags: an empty page; a bad month is refused naming it
    status, body = call_team('GET', '/v1/team/flags', MANAGER_BLR1)
    assert (status, body) == (200, {'items': [], 'next_cursor': None})
    assert call_team('GET', '/v1/team/flags', MANAGER_BLR1, query={'month': '2026-1'})[1]['field'] == 'month'
