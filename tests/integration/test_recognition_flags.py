"""Collusion flags on moto: a month of recognitions seeded as location feed items (the FEED item format of design14, as
the recognition writer puts them), judged by the daily run; flags written once per month, kind and members, the
manager(s) in scope told once in their language, a re-run idempotent, no Scan; the function's console event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.recognition_flags import app
from infrastructure.local.fake_twilio import FakeTwilio, local_twilio_client
from shared.alerts.store import AlertStore
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.leagues.roster import Roster
from shared.notify.dispatch import AlertDispatcher, Outcome
from shared.notify.messaging import MessagingSettings, TwilioMessenger
from shared.programs.document import ProgramDocument, parse_program
from shared.programs.loader import ProgramBook
from shared.recognition.collusion import detect
from shared.recognition.flag_run import CollusionJudge, FlagRun, month_flags, notice_for
from shared.recognition.flag_store import FlagStore
from shared.sla.calendar import ALWAYS_OPEN
from shared.sla.config import Location, ServiceConfig
from tests.integration.test_alert_delivery import Outbox, Wall
from tests.integration.test_messaging import SimulatedTime
from tests.support.apigw import lambda_context
from tests.support.counting import count_requests
from tests.support.local_aws import LocalAws, local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'
SHIPPED = parse_program(json.loads((EVENTS / 'program_workshop.json').read_text()))
assert SHIPPED.recognition is not None
# pair_cap 100 of a 200 allowance is exactly 50%: the shipped reciprocal_share (0.5, "above") could never be reached
RULES = SHIPPED.recognition.collusion.model_copy(update={'reciprocal_share': 0.4})
PROGRAM: ProgramDocument = SHIPPED.model_copy(update={'recognition': SHIPPED.recognition.model_copy(update={'collusion': RULES})})
CONFIG = ServiceConfig(calendars=[ALWAYS_OPEN], locations=[Location(location_id='IN-BLR-01', calendar_id='24x7')])
MANAGER_PHONE = '+919812345671'
# IN-PNQ-01 is not in the service configuration: its feed is found through the directory
DIRECTORY = f"""employee_id,name,role,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone,language
A1,Priya Sharma,technician,IN-BLR-01,IN-South,M1,+919812345601,no,,Asia/Kolkata,hi
A2,Ravi Kumar,technician,IN-BLR-01,IN-South,M1,+919812345602,no,,Asia/Kolkata,en
A3,Kiran Das,technician,IN-BLR-01,IN-South,M1,+919812345603,no,,Asia/Kolkata,en
B1,Meera Iyer,service_advisor,IN-PNQ-01,IN-West,M2,+919812345604,no,,Asia/Kolkata,en
X1,Sam Noone,support,IN-PNQ-01,IN-West,,+919812345605,no,,Asia/Kolkata,en
M1,Anil Rao,manager,IN-BLR-01,IN-South,,{MANAGER_PHONE},no,,Asia/Kolkata,es
M2,Sara Gomez,manager,IN-PNQ-01,IN-West,,+919812345672,no,,Asia/Kolkata,en
"""
LOCATION = {'A1': 'IN-BLR-01', 'A2': 'IN-BLR-01', 'A3': 'IN-BLR-01', 'B1': 'IN-PNQ-01', 'X1': 'IN-PNQ-01'}
TEAM = {'A1': 'M1', 'A2': 'M1', 'A3': 'M1', 'B1': 'M2'}
NOV = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)  # 11:30 IST
RUN = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)


@dataclass
class Env:
    aws: LocalAws
    judge: CollusionJudge
    book: ProgramBook
    count: int = 0

    def give(self, giver: str, receiver: str, points: int, at: datetime, kind: str = 'thanks') -> str:
        """A recognition's location feed item, as the recognition writer puts it (the receiver's location)."""
        self.count += 1
        rid = f'R{self.count:04d}'
        item: dict[str, Any] = {
            'pk': {'S': f'FEED#pitstop#L#{LOCATION[receiver]}'}, 'sk': {'S': f'{at.astimezone(UTC).isoformat()}#{rid}'},
            'recognition_id': {'S': rid}, 'giver_id': {'S': giver}, 'receiver_id': {'S': receiver}, 'points': {'N': str(points)},
            'value': {'S': 'teamwork'}, 'message': {'S': 'thank you'}, 'kind': {'S': kind}, 'month': {'S': at.strftime('%Y-%m')},
            'giver_location': {'S': LOCATION[giver]}, 'receiver_location': {'S': LOCATION[receiver]},
        }  # fmt: skip
        for name, person in (('giver_team', giver), ('receiver_team', receiver)):
            if person in TEAM:
                item[name] = {'S': TEAM[person]}
        self.aws.dynamodb.put_item(TableName=self.judge.store.table, Item=item)
        return rid

    def run(self, now: datetime = RUN, **kwargs: Any) -> FlagRun:
        return self.judge.run(self.book, now, **kwargs)


@pytest.fixture()
def env() -> Iterator[Env]:
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime(2026, 9, 1, tzinfo=UTC))
        yield Env(aws, CollusionJudge(Roster(), FlagStore(), CONFIG), ProgramBook.of(PROGRAM))


def reciprocal(env: Env) -> list[str]:
    return [
        env.give('A1', 'A2', 50, NOV),
        env.give('A2', 'A1', 90, NOV + timedelta(days=1)),
        env.give('A1', 'A2', 40, NOV + timedelta(days=2)),
    ]


def test_a_flag_is_written_once_with_its_evidence_and_the_manager_told_once(env: Env) -> None:
    # Given Priya gave Ravi 90 points (45% of 200) and Ravi gave Priya 90 (45%) in November; and a spot award, and a
    # thanks from October, that do not count
    ids = reciprocal(env)
    env.give('A2', 'A1', 100, NOV, kind='spot')
    env.give('A2', 'A1', 100, datetime(2026, 10, 31, 18, 0, tzinfo=UTC))  # 23:30 IST on 31 October

    # When the daily run judges November, one Query per location feed and no Scan
    with count_requests() as counter:
        run = env.run()

    # Then one reciprocal flag is raised, with a notice to their manager
    [month] = run.months
    assert (month.month, month.recognitions, month.flags, month.raised, month.notices) == ('2026-11', 3, 1, 1, 1)
    assert (month.locations, month.queries) == (2, 2) and counter.dynamodb({'Scan'}) == 0
    [flag] = FlagStore().flags_of_program('pitstop', '2026-11')
    assert (flag.kind, flag.key, flag.members, flag.managers) == ('reciprocal', '2026-11#reciprocal#A1+A2', ('A1', 'A2'), ('M1',))
    assert [e.recognition_id for e in flag.evidence] == ids and flag.points == 180 and flag.recognitions == 3
    assert [(link.giver_id, link.points, link.share) for link in flag.links] == [('A1', 90, 0.45), ('A2', 90, 0.45)]
    assert FlagStore().flags_for_manager('pitstop', 'M1', '2026-11') == [flag]
    # And the notice is a manager alert about Priya, the evidence line in the manager's language (Spanish)
    notice = AlertStore().get('flag|pitstop|M1|2026-11#reciprocal#A1+A2#manager')
    assert notice is not None and (notice.kind, notice.role, notice.subject, notice.status) == (
        'collusion_flag',
        'manager',
        'A1',
        'pending',
    )
    assert notice.ref == 'Revisión de reconocimientos, noviembre de 2026'
    assert notice.threshold == (
        'posible reconocimiento recíproco: Priya Sharma dio a Ravi Kumar 90 puntos (45% de su asignación) y '
        'Ravi Kumar dio a Priya Sharma 90 (45%). No se bloqueó nada: revíselo en Pitcrew.'
    )


def test_a_rerun_writes_nothing_and_more_evidence_updates_the_flag_without_a_second_notice(env: Env) -> None:
    # Given the flag raised by yesterday's run
    reciprocal(env)
    env.run(RUN - timedelta(days=1))
    first = FlagStore().flags_of_program('pitstop', '2026-11')[0]

    # When the same month is judged again with nothing new
    with count_requests() as counter:
        again = env.run()

    # Then nothing is raised and nothing written: the feed Queries and one Query of the month's known flags
    assert (again.months[0].raised, again.months[0].updated, again.months[0].unchanged, again.months[0].notices) == (0, 0, 1, 0)
    assert counter.ddb_writes == 0 and counter.dynamodb({'Query'}) == 1 + 2 + 1  # the directory, 2 feeds, known flags
    assert again.months[0].requests == 3
    assert FlagStore().flags_of_program('pitstop', '2026-11') == [first]

    # When Ravi thanks Priya once more and the month is judged again
    later = env.give('A2', 'A1', 10, NOV + timedelta(days=10))
    updated = env.run(RUN + timedelta(days=1))

    # Then the flag is updated (in every list) with the new evidence, and still one notice exists
    assert (updated.months[0].raised, updated.months[0].updated, updated.months[0].notices) == (0, 1, 0)
    [flag] = FlagStore().flags_of_program('pitstop', '2026-11')
    assert flag.evidence[-1].recognition_id == later and flag.points == 190 and flag.raised_at == first.raised_at
    assert FlagStore().flags_for_manager('pitstop', 'M1', '2026-11') == [flag]
    pending = env.aws.dynamodb.query(TableName=AlertStore().table, IndexName='due', KeyConditionExpression='due_shard = :s',
                                     ExpressionAttributeValues={':s': {'S': AlertStore().shard_of('flag|pitstop|M1|2026-11#reciprocal#A1+A2#manager')}})  # fmt: skip
    assert [item['pk']['S'] for item in pending['Items']] == ['ALERT#flag|pitstop|M1|2026-11#reciprocal#A1+A2#manager']


def test_a_ring_across_teams_tells_each_manager_and_a_person_without_one_is_for_the_admins(env: Env) -> None:
    # Given a ring Priya -> Meera (Pune, manager M2) -> Sam (no manager) -> Priya, 30 points each
    for giver, receiver in (('A1', 'B1'), ('B1', 'X1'), ('X1', 'A1')):
        env.give(giver, receiver, 30, NOV)

    # When November is judged
    run = env.run()

    # Then one ring, in the admins' list; M1 and M2 each have it in their list and get one notice about their own person
    assert (run.months[0].raised, run.months[0].notices) == (1, 2)
    [ring] = FlagStore().flags_of_program('pitstop', '2026-11')
    assert (ring.kind, ring.members, ring.managers, ring.unmanaged) == ('ring', ('A1', 'B1', 'X1'), ('M1', 'M2'), ('X1',))
    assert [f.key for f in FlagStore().flags_for_manager('pitstop', 'M2', '2026-11')] == ['2026-11#ring#A1+B1+X1']
    subjects = {m: AlertStore().get(f'flag|pitstop|{m}|2026-11#ring#A1+B1+X1#manager') for m in ('M1', 'M2')}
    assert {m: a.subject for m, a in subjects.items() if a is not None} == {'M1': 'A1', 'M2': 'B1'}
    assert FlagStore().flags_for_manager('pitstop', 'X1', '2026-11') == []
    # And the summary for `make run`
    assert month_flags(FlagStore(), 'pitstop', '2026-11') == [{
        'kind': 'ring', 'members': ['A1', 'B1', 'X1'], 'summary': 'A1->B1 30 (15%), B1->X1 30 (15%), X1->A1 30 (15%)',
        'recognitions': 3, 'points': 90, 'managers': ['M1', 'M2'], 'unmanaged': ['X1']}]  # fmt: skip


def test_on_the_first_the_month_that_ended_is_judged_too(env: Env) -> None:
    # Given October's concentration: team M1 gave 200 points, 150 of them to Meera
    october = datetime(2026, 10, 20, 6, 0, tzinfo=UTC)
    env.give('A1', 'B1', 80, october)
    env.give('A2', 'B1', 70, october)
    env.give('A3', 'A1', 50, october)

    # When the run on 1 November (08:00 IST) judges
    run = env.run(datetime(2026, 11, 1, 2, 30, tzinfo=UTC))

    # Then October and November are judged; October's concentration goes to both managers (team M1's, and Meera's)
    assert [(m.month, m.raised) for m in run.months] == [('2026-10', 1), ('2026-11', 0)]
    [flag] = FlagStore().flags_of_program('pitstop', '2026-10')
    assert (flag.kind, flag.key, flag.team_id, flag.team_points, flag.managers) == (
        'concentration',
        '2026-10#concentration#B1+team:M1',
        'M1',
        200,
        ('M1', 'M2'),
    )


def test_the_manager_s_notice_is_delivered_by_the_alert_sender_in_their_language(env: Env) -> None:
    # Given the reciprocal flag raised at 08:00 IST (after quiet hours)
    reciprocal(env)
    now = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    env.run(now)
    with FakeTwilio(port=0) as fake:
        clock, wall = SimulatedTime(), Wall()
        messenger = TwilioMessenger(local_twilio_client(fake), MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006'),
                                    sleep=clock.sleep, clock=clock.clock, jitter=lambda: 1.0)  # fmt: skip
        dispatcher = AlertDispatcher(alerts=AlertStore(), contacts=ContactBook(), messenger=lambda: messenger, email=Outbox(),
                                     config=lambda: CONFIG, wall=wall)  # fmt: skip

        # When the alert sender delivers it
        result = dispatcher.deliver('flag|pitstop|M1|2026-11#reciprocal#A1+A2#manager', now, wall(), claim_id='c1')

        # Then Anil (the manager) gets one SMS in Spanish, about his team
        assert result.outcome is Outcome.SENT
        [sms] = fake.messages
        assert sms['to'] == MANAGER_PHONE
        assert sms['body'].startswith('Para su equipo (Priya Sharma): Anil, Revisión de reconocimientos, noviembre de 2026: posible')
        assert sms['body'].endswith('No se bloqueó nada: revíselo en Pitcrew.')


def test_the_function_judges_a_program_and_month_from_the_console_and_refuses_a_bad_month(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the reciprocal giving of November
    reciprocal(env)
    monkeypatch.setattr(app, 'load_programs', lambda: env.book)
    monkeypatch.setattr(app, 'load_config', lambda: CONFIG)

    # When the console invokes the function for pitstop, November
    answer = app.lambda_handler({'program_id': 'pitstop', 'month': '2026-11'}, lambda_context())

    # Then the month is judged and the flag raised
    assert answer['ok'] is True and answer['raised'] == 1 and answer['months'][0]['requests_per_location'] == 1.0
    # And a bad month or an unknown program is refused with the field named; the schedule's event runs every program
    assert app.lambda_handler({'month': '2026-13'}, lambda_context())['field'] == 'month'
    assert app.lambda_handler({'program_id': 'nope'}, lambda_context()) == {
        'ok': False, 'field': 'program_id', 'error': "no program 'nope' with a recognition section"}  # fmt: skip
    scheduled = app.lambda_handler({'detail-type': 'Scheduled Event', 'time': '2026-11-21T02:30:00Z'}, lambda_context())
    assert scheduled['ok'] is True and scheduled['months'][0]['unchanged'] == 1


def test_a_manager_who_comes_into_scope_later_gets_the_flag_and_one_notice(env: Env) -> None:
    # Given the reciprocal flag raised while Priya and Ravi both report to M1
    reciprocal(env)
    env.run(RUN - timedelta(days=1))

    # When Priya moves to M2's team (the HR export) and the month is judged again, twice
    moved = DIRECTORY.replace('A1,Priya Sharma,technician,IN-BLR-01,IN-South,M1', 'A1,Priya Sharma,technician,IN-BLR-01,IN-South,M2')
    DirectoryStore().import_rows(parse_export(moved, 'csv'), datetime(2026, 11, 19, tzinfo=UTC))
    updated, again = env.run(), env.run(RUN + timedelta(hours=1))

    # Then the flag is updated: M2 has it in their list and one notice about Priya; M1 keeps theirs; nobody is told twice
    assert (updated.months[0].updated, again.months[0].unchanged) == (1, 1)
    [flag] = FlagStore().flags_of_program('pitstop', '2026-11')
    assert flag.managers == ('M1', 'M2')
    assert FlagStore().flags_for_manager('pitstop', 'M2', '2026-11') == FlagStore().flags_for_manager('pitstop', 'M1', '2026-11') == [flag]
    notice = AlertStore().get('flag|pitstop|M2|2026-11#reciprocal#A1+A2#manager')
    assert notice is not None and notice.subject == 'A1' and notice.threshold.startswith('possible reciprocal thanks: Priya Sharma gave')


def test_two_runs_racing_on_a_new_flag_raise_it_once_through_the_conditional_write(env: Env) -> None:
    # Given the month's flags detected by two runs that both read "no flags yet" (raise_flag without what was known)
    reciprocal(env)
    store, people = FlagStore(), {p.employee_id: p for p in Roster().people()}
    assert PROGRAM.recognition is not None
    recognitions, _ = store.month_recognitions('pitstop', ['IN-BLR-01'], datetime(2026, 10, 31, 18, 30, tzinfo=UTC),
                                               datetime(2026, 11, 30, 18, 30, tzinfo=UTC), '2026-11')  # fmt: skip
    [flag] = detect(recognitions, month='2026-11', allowances=dict.fromkeys(people, 200),
                    managers={p: people[p].manager_id for p in people}, rules=RULES).flags  # fmt: skip
    notices = {m: notice_for('pitstop', flag, m, s, people, RUN) for m, s in flag.notices}

    # When both write it
    outcomes = [store.raise_flag('pitstop', flag, notices, RUN), store.raise_flag('pitstop', flag, notices, RUN + timedelta(minutes=1))]

    # Then the first raises it with its notice, the second finds it unchanged: one flag, one notice
    assert outcomes == ['raised', 'unchanged']
    assert len(store.flags_of_program('pitstop', '2026-11')) == 1
    assert AlertStore().get('flag|pitstop|M1|2026-11#reciprocal#A1+A2#manager') is not None


def test_a_flag_deleted_by_hand_is_raised_again_without_telling_the_manager_twice(env: Env) -> None:
    # Given a flag raised and told, then its items deleted by hand (the notice stays)
    reciprocal(env)
    env.run(RUN - timedelta(days=1))
    for pk in ('FLAG#pitstop', 'FLAG#pitstop#M1'):
        env.aws.dynamodb.delete_item(TableName=FlagStore().table, Key={'pk': {'S': pk}, 'sk': {'S': '2026-11#reciprocal#A1+A2'}})

    # When the month is judged again
    run = env.run()

    # Then the flag is back in both lists and no second notice was planned (the first one's item is unchanged)
    assert (run.months[0].raised, len(FlagStore().flags_for_manager('pitstop', 'M1', '2026-11'))) == (1, 1)
    notice = AlertStore().get('flag|pitstop|M1|2026-11#reciprocal#A1+A2#manager')
    assert notice is not None and notice.due_at == RUN - timedelta(days=1)
