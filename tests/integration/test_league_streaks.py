"""The daily streak judgement on moto: the directory, the alerts table's breach records, the leagues table's streak
state and badges; the badge notice delivered through the alert sender (quiet hours, language) to the fake Twilio."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.fake_twilio import FakeTwilio, local_twilio_client
from shared.alerts.scan import AlertMessage, scan
from shared.alerts.store import AlertStore
from shared.alerts.sync import Breach
from shared.directory.contacts import ContactBook
from shared.directory.employees import EmployeeRow, parse_export
from shared.directory.store import DirectoryStore
from shared.ingest.queue import SqsEventQueue
from shared.leagues.roster import Roster
from shared.leagues.streak_run import StreakJudge, StreakRun
from shared.leagues.streak_store import StreakStore
from shared.notify.dispatch import AlertDispatcher, Outcome
from shared.notify.messaging import MessagingSettings, TwilioMessenger
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook
from shared.sla.calendar import ALWAYS_OPEN, BusinessCalendar
from shared.sla.config import Location, ServiceConfig
from tests.integration.test_alert_delivery import Outbox, Wall
from tests.integration.test_messaging import SimulatedTime
from tests.support.apigw import lambda_context
from tests.support.counting import count_requests
from tests.support.local_aws import LocalAws, local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'
PROGRAM = parse_program(json.loads((EVENTS / 'program_workshop.json').read_text()))  # 'clean_week': 5 working days
BLR = BusinessCalendar(calendar_id='blr-workshop', timezone='Asia/Kolkata', hours={d: [('09:00', '18:00')] for d in ('mon', 'tue', 'wed', 'thu', 'fri')})
CONFIG = ServiceConfig(calendars=[ALWAYS_OPEN, BLR], locations=[Location(location_id='IN-BLR-01', region='IN-South', calendar_id='blr-workshop'),
                                                                 Location(location_id='IN-PNQ-01', region='IN-West', calendar_id='blr-workshop')])  # fmt: skip
PRIYA = '+919812345678'
DIRECTORY = f"""employee_id,name,role,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone,language
E1,Priya Sharma,technician,IN-BLR-01,IN-South,M1,{PRIYA},no,,Asia/Kolkata,hi
E2,Ravi Kumar,technician,IN-BLR-01,IN-South,M1,+919812345679,no,,Asia/Kolkata,en
E3,Meera Iyer,service_advisor,IN-PNQ-01,IN-West,M1,+919812345670,no,,Asia/Kolkata,en
M1,Anil Rao,manager,IN-BLR-01,IN-South,,+919812345671,no,anil@example.com,Asia/Kolkata,en
"""
MON = date(2026, 10, 5)


def after(day: date) -> datetime:
    """The daily run that judges `day` in Bengaluru: 00:30 UTC the next day (06:00 IST)."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(minutes=30)


def ist(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour, minutes=-30 - 5 * 60)


@dataclass
class Env:
    aws: LocalAws
    judge: StreakJudge
    book: ProgramBook

    def run(self, now: datetime, **kwargs: Any) -> StreakRun:
        return self.judge.run(self.book, now, **kwargs)


@pytest.fixture()
def env() -> Iterator[Env]:
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime(2026, 9, 1, tzinfo=UTC))
        yield Env(aws, StreakJudge(Roster(), StreakStore(), AlertStore(), CONFIG), ProgramBook.of(PROGRAM))


def breach(employee_id: str, at: datetime, ticket: str = 'dms#JC-1') -> None:
    AlertStore().put_breach(Breach(employee_id, ticket, 'JC-1', 'turnaround', at))


def week(env: Env, first: date = MON, last: date = date(2026, 10, 9)) -> list[StreakRun]:
    runs, day = [], first
    while day <= last:
        runs.append(env.run(after(day)))
        day += timedelta(days=1)
    return runs


def test_a_clean_working_week_earns_the_badge_once_with_its_reason_and_a_notice(env: Env) -> None:
    # Given Priya and Ravi work clean Monday to Friday; Ravi breaches a turnaround target on Wednesday 11:00 IST
    breach('E2', ist(date(2026, 10, 7), 11))

    # When the daily run judges each day of the week
    runs = week(env)

    # Then Priya (and Meera, also clean) earn 'clean_week' on Friday, once, with its reason; Ravi does not
    store = StreakStore()
    [badge] = store.badges('pitstop', 'E1')
    assert (badge['badge_id'], badge['run_start'], badge['reached_on'], badge['program_version']) == ('clean_week', '2026-10-05', '2026-10-09', '1')
    assert badge['reason'] == ('Clean week: 5 working days without a breach: 5 working days in a row without an SLA breach, '
                               '2026-10-05 to 2026-10-09 (calendar blr-workshop, Asia/Kolkata)')
    assert store.badges('pitstop', 'E2') == []
    assert [run.programs[0].badges for run in runs] == [0, 0, 0, 0, 2]
    # And the manager (out of the program's scope) is not judged at all
    assert runs[0].programs[0].in_scope == 3
    # And Ravi's run restarted the day after his breach
    assert store.states('pitstop', ['E2'])['E2'].since == date(2026, 10, 8)
    # And the notice is an alert due at once, to Priya, of kind badge_earned
    notice = AlertStore().get('league|pitstop|E1|badge|clean_week|2026-10-05#assignee')
    assert notice is not None
    assert (notice.kind, notice.subject, notice.ref, notice.threshold, notice.due_at) == (
        'badge_earned', 'E1', 'Pitstop League', 'Clean week: 5 working days without a breach', after(date(2026, 10, 9)))


def test_state_is_written_only_when_it_changes(env: Env) -> None:
    # Given Ravi breaches on Wednesday
    breach('E2', ist(date(2026, 10, 7), 11))

    # When the week is judged
    runs = week(env)

    # Then writes happen on the first day (3 people start), Wednesday (Ravi's breach) and Friday (2 badges), never else
    assert [run.programs[0].state_writes for run in runs] == [3, 0, 1, 0, 2]
    assert [run.programs[0].runs_broken for run in runs] == [0, 0, 1, 0, 0]


def test_a_rerun_of_the_same_day_writes_nothing_and_reads_no_breaches(env: Env) -> None:
    # Given the week judged (Friday's run awarded two badges)
    week(env)

    # When Friday's run runs again
    with count_requests() as counter:
        again = env.run(after(date(2026, 10, 9)))

    # Then everyone is found judged: no write, no breach Query; one directory Query and one BatchGetItem
    assert again.programs[0].already_judged == 3
    assert counter.ddb_writes == 0
    assert counter.dynamodb({'Query'}) == 1 and counter.dynamodb({'BatchGetItem'}) == 1 and counter.dynamodb({'Scan'}) == 0
    assert len(StreakStore().badges('pitstop', 'E1')) == 1


def test_weekends_do_not_break_the_run_and_a_new_run_can_earn_the_badge_again(env: Env) -> None:
    # Given Priya's clean first week (badge), a breach on Tuesday of the second week, then a clean run to the next Monday
    week(env)
    breach('E1', ist(date(2026, 10, 13), 15))

    # When the days up to Tuesday 20 October are judged (weekends included)
    week(env, date(2026, 10, 10), date(2026, 10, 20))

    # Then the second run (from Wednesday 14) reaches 5 working days on Tuesday 20 across the weekend, a second badge
    assert [(b['run_start'], b['reached_on']) for b in StreakStore().badges('pitstop', 'E1')] == [
        ('2026-10-05', '2026-10-09'), ('2026-10-14', '2026-10-20')]  # fmt: skip
    # And Meera, clean all along, has the badge once: one run, however long
    assert [(b['run_start'], b['reached_on']) for b in StreakStore().badges('pitstop', 'E3')] == [('2026-10-05', '2026-10-09')]


def test_a_breach_recorded_late_ends_the_run_at_the_next_judgement(env: Env) -> None:
    # Given Monday to Wednesday judged clean for Priya
    week(env, MON, date(2026, 10, 7))

    # When a Tuesday breach is recorded on Thursday (the ticket changed only then) and Thursday and Friday are judged
    breach('E1', ist(date(2026, 10, 6), 16))
    week(env, date(2026, 10, 8), date(2026, 10, 9))

    # Then Priya's run restarted on Wednesday: no badge on Friday (3 working days)
    assert StreakStore().states('pitstop', ['E1'])['E1'].since == date(2026, 10, 7)
    assert StreakStore().badges('pitstop', 'E1') == []


def test_the_notice_waits_for_the_end_of_quiet_hours_and_goes_in_the_persons_language(env: Env) -> None:
    # Given Priya's badge was awarded by Friday's run at 06:00 IST (quiet until 08:00 IST), Priya reads Hindi, by SMS
    week(env)
    queue = SqsEventQueue(env.aws.queues['AlertsQueue'], env.aws.sqs)
    with FakeTwilio(port=0) as fake:
        clock, wall = SimulatedTime(), Wall()
        messenger = TwilioMessenger(local_twilio_client(fake), MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006'),
                                    sleep=clock.sleep, clock=clock.clock, jitter=lambda: 1.0)  # fmt: skip
        dispatcher = AlertDispatcher(alerts=AlertStore(), contacts=ContactBook(), messenger=lambda: messenger, email=Outbox(),
                                     config=lambda: CONFIG, wall=wall)  # fmt: skip

        def deliver(at: datetime) -> list[Outcome]:
            scan(AlertStore(), queue, at, CONFIG.alerts.max_late_minutes, wall=wall)
            outcomes = []
            for raw in env.aws.sqs.receive_message(QueueUrl=env.aws.queues['AlertsQueue'], MaxNumberOfMessages=10).get('Messages', []):
                message = AlertMessage.model_validate_json(raw['Body'])
                if message.alert.startswith('league|pitstop|E1|'):
                    outcomes.append(dispatcher.deliver(message.alert, message.at, message.queued, claim_id=raw['MessageId']).outcome)
                env.aws.sqs.delete_message(QueueUrl=env.aws.queues['AlertsQueue'], ReceiptHandle=raw['ReceiptHandle'])
            return outcomes

        # When the alert scan runs a minute after the award, then at 08:00 IST
        first = deliver(after(date(2026, 10, 9)) + timedelta(minutes=1))
        second = deliver(datetime(2026, 10, 10, 2, 30, tzinfo=UTC))

        # Then it is held at first, then goes once, by SMS, in Hindi, naming the badge and the league
        assert (first, second) == ([Outcome.HELD], [Outcome.SENT])
        [sms] = [m for m in fake.messages if m['to'] == PRIYA]
        assert sms['body'] == 'Priya, आपको Pitstop League में "Clean week: 5 working days without a breach" बैज मिला।'


def test_the_scheduled_function_and_its_console_rerun(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.league_streaks import app

    monkeypatch.setattr(app, 'load_programs', lambda: env.book)
    monkeypatch.setattr(app, 'load_config', lambda: CONFIG)
    scheduled = json.loads((EVENTS / 'league_streaks.json').read_text())
    rerun = json.loads((EVENTS / 'league_streaks_rerun.json').read_text())

    # When the console's scheduled event (00:30 UTC on 15 October) and then its rerun form (the 14th, pitstop) are invoked
    first = app.lambda_handler(scheduled, lambda_context())
    second = app.lambda_handler(rerun, lambda_context())

    # Then the scheduled run judged Wednesday 14 for the three people in scope, and the rerun found them judged
    assert first['ok'] and first['programs'][0]['days'] == ['2026-10-14'] and first['programs'][0]['judged'] == 3
    assert second['ok'] and second['programs'][0]['already_judged'] == 3 and second['programs'][0]['state_writes'] == 0
    # And bad requests are refused with the field named, nothing judged
    assert app.lambda_handler({'program_id': 'pitstop', 'day': '14-10-2026'}, lambda_context())['field'] == 'day'
    assert app.lambda_handler({'program_id': 'nope', 'day': '2026-10-14'}, lambda_context()) == {
        'ok': False, 'field': 'program_id', 'error': "no program 'nope'"}  # fmt: skip
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert app.lambda_handler({'program_id': 'pitstop', 'day': tomorrow}, lambda_context())['field'] == 'day'


def test_requests_per_person_are_constant(env: Env) -> None:
    # Given 120 more technicians in scope, each judged once already (their runs have started)
    rows = [EmployeeRow(employee_id=f'T{i:03d}', name=f'Tech {i}', role='technician', location_id='IN-BLR-01', region='IN-South')
            for i in range(120)]
    DirectoryStore().import_rows(rows, datetime(2026, 9, 1, tzinfo=UTC), deactivate_missing=False)
    env.run(after(MON))

    # When the next day is judged, with 3 breaches among them
    for i in range(3):
        breach(f'T{i:03d}', ist(date(2026, 10, 6), 10))
    with count_requests() as counter:
        run = env.run(after(date(2026, 10, 6)))

    # Then: one directory Query page, 2 BatchGetItem (100 states a request), one breach Query per person, 3 writes; no Scan
    people = run.programs[0].judged
    assert people == 123
    assert counter.dynamodb({'Query'}) == 1 + people
    assert counter.dynamodb({'BatchGetItem'}) == 2
    assert counter.ddb_writes == 3 and counter.dynamodb({'Scan'}) == 0


def test_the_latest_breach_of_a_window_is_read_with_its_bounds_half_open(env: Env) -> None:
    # Given breaches at midnight IST on the 6th (the window's start), at 15:00 that day, and at midnight on the 7th (its end)
    start, end = ist(date(2026, 10, 6), 0), ist(date(2026, 10, 7), 0)
    for at, ticket in ((start, 'dms#JC-1'), (start + timedelta(hours=15), 'dms#JC-2'), (end, 'dms#JC-3')):
        breach('E1', at, ticket)

    # When the latest breach of [start, end) and of [start, start + 1 s) are asked
    # Then the 15:00 one is the latest inside the day, the start is inside its window, the end is not
    assert AlertStore().last_breach('E1', start, end) == start + timedelta(hours=15)
    assert AlertStore().last_breach('E1', start, start + timedelta(seconds=1)) == start
    assert AlertStore().last_breach('E2', start, end) is None
