"""Live league standings on moto: ledger entries written to the ledger table reach the league scorer through the table's
stream (records as Lambda delivers them), and the standings, histograms, lifetimes, achievements and notices land in the
leagues table; ranks and tops are read back as RANK reads them, in the person's language."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.alerts.store import AlertStore
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.leagues.live import close_marker_key, histogram_pk, parse_record
from shared.leagues.live_store import LiveStore, Snapshot, Wants
from shared.leagues.scorer import LeagueScorer, leagues_of
from shared.leagues.standings import LeagueStandings
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.notify.conversations import Conversations
from shared.notify.twilio_webhooks import Command, InboundMessage
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook
from tests.support.counting import count_requests
from tests.support.local_aws import LocalAws, local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'
WORKSHOP = parse_program((EVENTS / 'program_workshop.json').read_text())
LEAGUES = leagues_of(ProgramBook.of(WORKSHOP))
OCT = datetime(2026, 10, 12, 6, 0, tzinfo=UTC)
NOV_2 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
WEST = 'technician|IN-West'
DIRECTORY = """employee_id,name,role,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone,language
T1,Arjun Rao,technician,IN-PNQ-01,IN-West,M2,+919800000001,yes,,Asia/Kolkata,hi
T2,Bela Nair,technician,IN-PNQ-01,IN-West,M2,+919800000002,yes,,Asia/Kolkata,en
T3,Chitra Das,technician,IN-PNQ-01,IN-West,M2,+919800000003,yes,,Asia/Kolkata,en
T4,Lucía Pérez,technician,IN-PNQ-01,IN-West,M2,+919800000004,yes,,Asia/Kolkata,es
T5,Esha Iyer,technician,IN-PNQ-01,IN-West,M2,+919800000005,yes,,Asia/Kolkata,hi
T6,Farhan Ali,technician,IN-PNQ-01,IN-West,M2,+919800000006,yes,,Asia/Kolkata,en
T7,Gita Menon,technician,IN-BLR-01,IN-South,M2,+919800000007,yes,,Asia/Kolkata,en
A1,Ana Agent,agent,US-NYC,US-East,M1,+15558675310,yes,,America/New_York,en
"""


@dataclass
class Env:
    aws: LocalAws
    store: LiveStore
    alerts: AlertStore
    scorer: LeagueScorer
    position: int = 0

    def write(self, *entries: LedgerEntry) -> None:
        """Append entries to the ledger table, as the ledger writes them."""
        for entry in entries:
            self.aws.dynamodb.put_item(TableName=os.environ['LEDGER_TABLE'], Item={
                'pk': {'S': f'EMP#{entry.employee_id}'}, 'sk': {'S': f'ENTRY#{entry.entry_id}'}, 'entry': {'S': entry.model_dump_json()},
                'amount': {'N': str(entry.amount)}, 'kind': {'S': entry.kind.value}, 'period': {'S': entry.period},
                'recorded_at': {'S': entry.recorded_at.isoformat()}}, ConditionExpression='attribute_not_exists(pk)')  # fmt: skip

    def records(self) -> list[dict[str, Any]]:
        """The ledger stream's records not taken yet, in Lambda's event shape."""
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']].get_table(os.environ['LEDGER_TABLE']).stream_shard
        assert shard is not None
        records = [item.to_json() for item in shard.items[self.position :]]
        self.position += len(records)
        return records

    def score(self, records: list[dict[str, Any]] | None = None) -> Any:
        entries = [parsed for parsed in map(parse_record, records if records is not None else self.records()) if parsed is not None]
        return self.scorer.apply(entries, OCT)

    def kpi(self, employee_id: str, month: str, job_cards: int) -> None:
        self.aws.dynamodb.put_item(TableName=os.environ['KPI_TABLE'], Item={'pk': {'S': f'employee#{employee_id}'}, 'sk': {'S': month},
                                                                         'j': {'N': str(job_cards)}, 't': {'N': '0'}})  # fmt: skip

    def item(self, pk: str, sk: str) -> dict[str, Any]:
        return dict(self.aws.dynamodb.get_item(TableName=os.environ['LEAGUES_TABLE'], Key={'pk': {'S': pk}, 'sk': {'S': sk}}).get('Item', {}))

    def numbers(self, pk: str, sk: str) -> dict[str, int]:
        return {k: int(v['N']) for k, v in self.item(pk, sk).items() if 'N' in v and int(v['N'])}


def award(employee: str, amount: int, *, at: datetime = OCT, recorded: datetime | None = None, rule: str = 'first_time_fix',
          inputs: dict[str, Any] | None = None, entry_id: str | None = None) -> LedgerEntry:  # fmt: skip
    award.counter += 1  # type: ignore[attr-defined]
    reason = EntryReason(ticket_key='dms#JC-1', source_event_id='release', basis_event_id='delivery', rule_id=rule, rule_version=1,
                         program_id='pitstop@1', inputs=inputs or {})  # fmt: skip
    return LedgerEntry(entry_id=entry_id or f'E{award.counter:031d}', employee_id=employee, amount=amount,  # type: ignore[attr-defined]
                       kind=EntryKind.AWARD, status=EntryStatus.AVAILABLE, reason=reason, occurred_at=at,
                       recorded_at=recorded or at)  # fmt: skip


award.counter = 0  # type: ignore[attr-defined]


@pytest.fixture()
def env() -> Iterator[Env]:
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), OCT - timedelta(days=30))
        alerts = AlertStore()
        store = LiveStore()
        yield Env(aws, store, alerts, LeagueScorer(store, alerts, leagues=lambda: LEAGUES))


def standing(env: Env, employee: str, month: str = '2026-10') -> Any:
    return env.store.rank('pitstop', employee, month, LEAGUES['pitstop'].config)


# --- the handler and its console event ----------------------------------------------------------------------------------
def test_the_console_event_is_scored_by_the_handler(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the programs published under PROGRAMS_PATH, E4 a technician in IN-South with 5 job cards in October
    from functions.league_scorer import app
    from shared.programs.loader import clear_cache
    from tests.support.apigw import lambda_context

    ssm = boto3.client('ssm', region_name='us-east-1')
    ssm.put_parameter(Name='/pitcrew/test/programs/pitstop', Value=(EVENTS / 'program_workshop.json').read_text(), Type='String',
                      Tier='Intelligent-Tiering')  # fmt: skip
    monkeypatch.setenv('PROGRAMS_PATH', '/pitcrew/test/programs')
    from shared.config import get_settings

    get_settings.cache_clear()
    clear_cache()
    app.scorer.cache_clear()
    DirectoryStore().import_rows(parse_export('employee_id,name,role,location_id,region\nE4,Dev,technician,IN-BLR-01,IN-South\n', 'csv'),
                                 OCT, deactivate_missing=False)  # fmt: skip
    env.kpi('E4', '2026-10', 5)

    # When the console event (a ledger INSERT of a 10-point first-time-fix award) is handled, twice
    event = json.loads((EVENTS / 'league_scorer.json').read_text())
    answers = [app.lambda_handler(event, lambda_context()), app.lambda_handler(event, lambda_context())]
    app.scorer.cache_clear()
    clear_cache()

    # Then no record failed, E4 has 10 October points once, ranked 1st of 1 in technicians · South
    assert answers == [{'batchItemFailures': []}, {'batchItemFailures': []}]
    view = standing(env, 'E4')
    assert (view.points, view.rank, view.of, view.division_name, view.items) == (10, 1, 1, 'Workshop technicians · South', 5)


# --- which month -------------------------------------------------------------------------------------------------------
def test_an_entry_arriving_after_the_close_started_counts_in_the_new_month_as_late(env: Env) -> None:
    # Given T2 with 30 October points scored, and October's close marker written (the close started)
    env.kpi('T2', '2026-10', 5)
    env.kpi('T2', '2026-11', 1)
    env.write(award('T2', 30))
    env.score()
    pk, sk = close_marker_key('pitstop', '2026-10')
    env.aws.dynamodb.put_item(TableName=os.environ['LEAGUES_TABLE'], Item={'pk': {'S': pk}, 'sk': {'S': sk}})

    # When an October award of 10 is released on Nov 2 and scored
    env.write(award('T2', 10, recorded=NOV_2))
    result = env.score()

    # Then October's standings are unchanged (its item notes 10 late points), November has the 10 points, flagged late
    october, november = env.numbers('S#pitstop#T2', '2026-10'), env.numbers('S#pitstop#T2', '2026-11')
    assert (october['points'], october['entries'], october['late_points']) == (30, 1, 10)
    assert (november['points'], november['entries'], november['late_points_in']) == (10, 1, 10)
    assert env.numbers(histogram_pk('pitstop', '2026-10', WEST), 'TOP') == {'n': 1, 'b0': 1}
    assert result.late == 1


def test_a_close_that_starts_between_the_read_and_the_write_makes_the_entry_late(env: Env) -> None:
    # Given the scorer reads October's standings, and the close writes its marker just after that read
    env.kpi('T2', '2026-10', 5)
    env.write(award('T2', 10, recorded=NOV_2))
    reads = env.store.read

    def read_then_close(wants: Wants) -> Snapshot:
        snapshot = reads(wants)
        pk, sk = close_marker_key('pitstop', '2026-10')
        env.aws.dynamodb.put_item(TableName=os.environ['LEAGUES_TABLE'], Item={'pk': {'S': pk}, 'sk': {'S': sk}})
        return snapshot

    env.store.read = read_then_close  # type: ignore[method-assign]

    # When the entry (earned in October, recorded on Nov 2) is scored
    result = env.score()

    # Then the marker check refused October, and the entry counts in November, late
    assert env.item('S#pitstop#T2', '2026-10').get('points', {}).get('N', '0') == '0'
    assert env.numbers('S#pitstop#T2', '2026-11')['points'] == 10
    assert result.late == 1 and not result.failed


def test_an_entry_recorded_after_its_month_but_before_the_close_counts_in_its_month(env: Env) -> None:
    # Given no close marker for October
    env.kpi('T2', '2026-10', 5)

    # When an October award released on Nov 2 is scored
    env.write(award('T2', 10, recorded=NOV_2))
    result = env.score()

    # Then it counts in October, not late
    assert env.numbers('S#pitstop#T2', '2026-10')['points'] == 10 and not env.item('S#pitstop#T2', '2026-11')
    assert result.late == 0


# --- exactly once ---------------------------------------------------------------------------------------------------------
def test_a_redelivered_batch_is_counted_once(env: Env) -> None:
    # Given three awards of T1 and T2 in one stream batch, scored
    for person in ('T1', 'T2'):
        env.kpi(person, '2026-10', 5)
    env.write(award('T1', 20), award('T2', 15), award('T1', 5))
    records = env.records()
    env.score(records)

    # When the stream delivers the same batch again, and then its last two records again
    again = env.score(records)
    tail = env.score(records[1:])

    # Then every count stays as after the first delivery
    assert (env.numbers('S#pitstop#T1', '2026-10')['points'], env.numbers('S#pitstop#T1', '2026-10')['entries']) == (25, 2)
    assert env.numbers('S#pitstop#T2', '2026-10')['points'] == 15
    assert env.numbers(histogram_pk('pitstop', '2026-10', WEST), 'TOP') == {'n': 2, 'b0': 2}
    assert env.numbers(histogram_pk('pitstop', '2026-10', WEST), 'B0') == {'s2500': 1, 's1500': 1}
    assert env.numbers('ACH#pitstop#T1', 'LIFE')['points'] == 25
    assert (again.applied, again.transactions, tail.applied, tail.transactions) == (0, 0, 0, 0)


# --- divisions ---------------------------------------------------------------------------------------------------------------
def test_a_person_who_moved_division_moves_in_the_histograms_and_the_boards(env: Env) -> None:
    # Given T3 ranked in technicians · West with 40 points
    env.kpi('T3', '2026-10', 5)
    env.write(award('T3', 40))
    env.score()
    assert [row.employee_id for row in env.store.top('pitstop', '2026-10', WEST)] == ['T3']

    # When the directory moves T3 to IN-South and a new award of 5 arrives
    env.aws.dynamodb.update_item(TableName=os.environ['DIRECTORY_TABLE'], Key={'pk': {'S': 'EMP#T3'}, 'sk': {'S': 'PROFILE'}},
                                 UpdateExpression='SET #r = :south', ExpressionAttributeNames={'#r': 'region'},
                                 ExpressionAttributeValues={':south': {'S': 'IN-South'}})  # fmt: skip
    env.write(award('T3', 5))
    env.score()

    # Then West has nobody left and South has T3 with 45 points, in its histogram and on its board
    south = 'technician|IN-South'
    assert env.numbers(histogram_pk('pitstop', '2026-10', WEST), 'TOP') == {}
    assert env.numbers(histogram_pk('pitstop', '2026-10', south), 'TOP') == {'n': 1, 'b0': 1}
    assert env.store.top('pitstop', '2026-10', WEST) == []
    assert [(row.employee_id, row.points) for row in env.store.top('pitstop', '2026-10', south)] == [('T3', 45)]
    view = standing(env, 'T3')
    assert (view.rank, view.of, view.division_name) == (1, 1, 'Workshop technicians · South')


# --- ranks and tops ---------------------------------------------------------------------------------------------------------
def test_ranks_read_from_histograms_equal_brute_force_ranks_in_at_most_3_requests(env: Env) -> None:
    # Given 90 technicians in West with random points (ties, penalties and scores far apart), some below 3 job cards
    rng = random.Random(2026)
    people = [f'W{i:03d}' for i in range(90)]
    rows = '\n'.join(f'{p},P {p},technician,IN-PNQ-01,IN-West' for p in people)
    DirectoryStore().import_rows(parse_export(f'employee_id,name,role,location_id,region\n{rows}\n', 'csv'), OCT, deactivate_missing=False)
    points: dict[str, int] = {}
    for person in people:
        cards = rng.choice([1, 3, 5, 8])
        env.kpi(person, '2026-10', cards)
        amounts = [rng.choice([5, 10, 10, 25, -5, 64, 640, 3000]) for _ in range(rng.randint(1, 3))]
        env.write(*(award(person, amount) for amount in amounts))
        if cards >= 3:
            points[person] = sum(amounts)
    result = env.score()
    assert not result.failed

    for person in people:
        # When each person's rank is read
        with count_requests() as counter:
            view = standing(env, person)

        # Then it takes at most 3 requests, and equals standard competition ranking over the qualified people
        assert counter.dynamodb({'GetItem', 'BatchGetItem', 'Query'}) <= 3
        assert view.of == len(points)
        if person not in points:
            assert view.rank is None and not view.qualified
            continue
        better = [other for other in points.values() if other > points[person]]
        assert view.rank == len(better) + 1
        assert view.tied == (list(points.values()).count(points[person]) > 1)
        if better:
            assert view.behind_next == min(better) - points[person]
            assert view.next_rank == 1 + sum(1 for other in points.values() if other > min(better))
        else:
            assert view.behind_next is None and view.next_rank is None

    # And the top 10 is one Query, best first, with competition ranks
    with count_requests() as counter:
        top = env.store.top('pitstop', '2026-10', WEST, 10)
    assert counter.dynamodb({'Query'}) == 1
    ordered = sorted(points.values(), reverse=True)
    assert [row.points for row in top] == ordered[:10]
    assert [row.rank for row in top] == [1 + sum(1 for other in ordered if other > row.points) for row in top]


# --- levels, badges and their notices ------------------------------------------------------------------------------------
def test_a_level_and_a_badge_are_reached_once_with_their_reason_and_a_notice(env: Env) -> None:
    # Given T1 earns 600 + 450 points (the Pit crew level is at 1,000) and a 5-star CSAT award
    env.kpi('T1', '2026-10', 5)
    env.write(award('T1', 600), award('T1', 450, entry_id='E-CROSSES'), award('T1', 20, rule='csat_positive', inputs={'csat': 5},
                                                                            entry_id='E-FIVE'))  # fmt: skip
    records = env.records()

    # When the batch is scored, redelivered, and more points follow
    first = env.score(records)
    env.score(records)
    env.write(award('T1', 100))
    env.score()

    # Then 'Pit crew' and 'First 5-star CSAT' are each written once, with the entry that reached them
    achievements = {item['sk']: item for item in env.store.achievements('pitstop', 'T1')}
    assert set(achievements) == {'LEVEL#1', 'BADGE#first_five_star'}
    assert (achievements['LEVEL#1']['name'], achievements['LEVEL#1']['entry_id'], achievements['LEVEL#1']['lifetime_points']) == (
        'Pit crew', 'E-CROSSES', '1050')
    assert achievements['BADGE#first_five_star']['entry_id'] == 'E-FIVE'
    assert json.loads(achievements['BADGE#first_five_star']['inputs']) == {'csat': 5}
    assert len(first.achievements) == 2
    life = env.store.lifetime('pitstop', 'T1')
    assert life is not None and (life.points, life.level) == (1170, 1)
    # and each has one pending alert for T1, which the alert sender delivers in their language
    notices = {alert.kind: alert for alert in (env.alerts.get(f'league#pitstop#T1|{sk}#assignee') for sk in achievements) if alert}
    assert set(notices) == {'level_up', 'badge_earned'}
    assert (notices['level_up'].threshold, notices['level_up'].ref, notices['level_up'].status) == ('Pit crew', 'Pitstop League', 'pending')


# --- RANK over WhatsApp/SMS ----------------------------------------------------------------------------------------------------
def rank_reply(env: Env, phone: str, now: datetime = OCT) -> str | None:
    conversations = Conversations(alerts=env.alerts, contacts=ContactBook(), queue=None,  # type: ignore[arg-type]
                                  leagues=LeagueStandings(env.store, leagues=lambda: LEAGUES))  # fmt: skip
    return conversations.inbound(InboundMessage('SM1', phone, 'whatsapp', 'RANK', Command.RANK), now)


def test_rank_answers_in_the_persons_language_with_their_place_the_gap_and_what_qualifies(env: Env) -> None:
    # Given technicians in West: T1 100, T2 80, T3 35, T4 (es) 35, T5 (hi) 10 points, all with 5 job cards; T6 with
    # 25 points and one job card (3 qualify); T7 (South) without points this month; A1 a US agent outside the league
    for person, amount in (('T1', 100), ('T2', 80), ('T3', 35), ('T4', 35), ('T5', 10), ('T6', 25)):
        env.kpi(person, '2026-10', 1 if person == 'T6' else 5)
        env.write(award(person, amount))
    env.score()

    # When each asks RANK
    answers = {person: rank_reply(env, f'+91980000000{person[1]}') for person in ('T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7')}
    answers['A1'] = rank_reply(env, '+15558675310')

    # Then each answer is their place among the 5 qualified, in their language, with the gap to the next better place
    assert answers['T3'] == '3rd (tied) of 5 in Workshop technicians · West, 45 points behind 2nd.'
    assert answers['T2'] == '2nd of 5 in Workshop technicians · West, 20 points behind 1st.'
    assert answers['T4'] == '3.º (empatado) de 5 en Workshop technicians · West, a 45 puntos del 2.º.'
    assert answers['T5'] == 'Workshop technicians · West में 5 में से 5वाँ स्थान, तीसरे स्थान से 25 अंक पीछे।'
    assert answers['T1'] == 'Workshop technicians · West में 5 में से पहला स्थान।'
    # the unqualified person is told how many job cards are missing, someone without points that they have none yet
    assert answers['T6'] == 'Not ranked yet in Workshop technicians · West: 2 more job cards to qualify (1 of 3). 25 points so far.'
    assert answers['T7'] == 'No points in Pitstop League yet this month: your first points put you on the board.'
    # and someone no league admits keeps the clear answer
    assert answers['A1'] == 'Leagues have not started yet. You have 0 points available.'
