"""The announcements of a closed league on moto, delivered to the fake Twilio through the alert sender: winners get a
WhatsApp template (SMS when WhatsApp refuses it) after the close's quiet hours, location managers an e-mail about
their own location's people, and a rerun sends nothing twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infrastructure.local.fake_twilio import FakeTwilio, local_twilio_client
from shared.alerts.plan import AlertKind
from shared.alerts.scan import AlertMessage, scan
from shared.alerts.settings import AlertSettings
from shared.alerts.store import AlertStore
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.ingest.queue import SqsEventQueue
from shared.leagues.announce import Announcer, AnnounceReport, announce
from shared.leagues.announce_store import AnnounceStore
from shared.leagues.results import DivisionResult, Row
from shared.leagues.roster import Roster
from shared.notify import EmailContent
from shared.notify.dispatch import AlertDispatcher, Outcome
from shared.notify.email import EmailNotSent
from shared.notify.messaging import MessagingSettings, TwilioMessenger
from shared.programs.document import parse_program
from shared.sla.config import Location, ServiceConfig
from tests.integration.test_alert_delivery import Outbox, Wall
from tests.integration.test_messaging import SimulatedTime
from tests.support.local_aws import LocalAws, local_aws

_PITSTOP = parse_program(json.loads((Path(__file__).resolve().parents[2] / 'events' / 'program_workshop.json').read_text()))
assert _PITSTOP.league is not None
LEAGUE = _PITSTOP.league
TEMPLATE = 'HX' + 'd' * 32
CONFIG = ServiceConfig(alerts=AlertSettings(whatsapp_templates={AlertKind.LEAGUE_RESULT: {'en': TEMPLATE}}),
                       locations=[Location(location_id='IN-BLR-01', name='Bengaluru Whitefield', region='IN-South', calendar_id='24x7'),
                                  Location(location_id='IN-HYD-01', name='Hyderabad Gachibowli', region='IN-South', calendar_id='24x7')])  # fmt: skip
PRIYA, RAVI, MEERA = '+919812345678', '+919812345679', '+919812345670'
DIRECTORY = f"""employee_id,name,role,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone,language
E1,Priya Sharma,technician,IN-BLR-01,IN-South,M1,{PRIYA},yes,,Asia/Kolkata,en
E2,Ravi Kumar,technician,IN-BLR-01,IN-South,M1,{RAVI},no,,Asia/Kolkata,hi
E5,Dev Patel,technician,IN-BLR-01,IN-South,M1,,no,,Asia/Kolkata,en
E3,Meera Iyer,technician,IN-HYD-01,IN-South,M2,{MEERA},no,,Asia/Kolkata,es
E4,Kiran Rao,technician,IN-HYD-01,IN-South,M2,,no,kiran@example.com,Asia/Kolkata,en
A2,Arjun Das,service_advisor,IN-HYD-01,IN-South,M2,,no,,Asia/Kolkata,en
M1,Anil Rao,workshop_lead,IN-BLR-01,IN-South,,,no,anil@example.com,Asia/Kolkata,en
M2,Sara Gomez,workshop_lead,IN-HYD-01,IN-South,,,no,sara@example.com,Asia/Kolkata,es
H1,Lakshmi Nair,manager,IN-BLR-01,IN-South,,,no,lakshmi@example.com,Asia/Kolkata,hi
"""
CLOSED_AT = datetime(2026, 10, 31, 18, 35, tzinfo=UTC)  # 00:05 on 1 November in Asia/Kolkata: quiet hours until 08:00
MORNING = datetime(2026, 11, 1, 2, 31, tzinfo=UTC)  # 08:01 IST


def row(rank: int | None, employee_id: str, points: int, **rewards: Any) -> Row:
    return Row(rank=rank, employee_id=employee_id, points=points, score=float(points), qualified=rank is not None, **rewards)


TECHNICIANS = DivisionResult(
    program_id='pitstop', program_version=3, month='2026-10', division='technician|IN-South', name='Workshop technicians · South',
    eligible=5, scored=4, digest='d' * 64, closed_at=CLOSED_AT.isoformat(),
    rows=(row(1, 'E3', 1240, prize=1000, trophies=('mvp', 'sharpshooter')), row(2, 'E1', 1100, prize=600, trophies=('customer_wow',)),
          row(3, 'E4', 900, prize=300), row(4, 'E2', 200, challenges=('zero_comebacks',)), row(None, 'E5', 0)),
)  # fmt: skip
ADVISORS = DivisionResult(
    program_id='pitstop', program_version=3, month='2026-10', division='service_advisor|IN-South', name='Service advisors · South',
    eligible=1, scored=1, digest='e' * 64, closed_at=CLOSED_AT.isoformat(), rows=(row(1, 'A2', 700, prize=1000),),
)  # fmt: skip
RESULTS = (TECHNICIANS, ADVISORS)


@dataclass
class Env:
    aws: LocalAws
    fake: FakeTwilio
    outbox: Outbox
    announcer: Announcer
    dispatcher: AlertDispatcher

    def announce(self, now: datetime = CLOSED_AT) -> AnnounceReport:
        return announce(RESULTS, league=LEAGUE, now=now, announcer=self.announcer)

    def deliver(self, at: datetime) -> dict[str, Outcome]:
        """The alert scan at `at`, then the sender on what it queued: {alert id: outcome}."""
        url = self.aws.queues['AlertsQueue']
        scan(AlertStore(), SqsEventQueue(url, self.aws.sqs), at, CONFIG.alerts.max_late_minutes, wall=self.dispatcher.wall)
        outcomes = {}
        while batch := self.aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', []):
            for raw in batch:
                message = AlertMessage.model_validate_json(raw['Body'])
                outcomes[message.alert] = self.dispatcher.deliver(message.alert, message.at, message.queued, claim_id=raw['MessageId']).outcome
                self.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=raw['ReceiptHandle'])
        return outcomes

    def overnight(self) -> dict[str, Outcome]:
        """The scan a minute after the close (everything held: quiet hours), then at 08:01 IST: what went out."""
        self.deliver(CLOSED_AT + timedelta(minutes=1))
        return self.deliver(MORNING)

    def mail_to(self, address: str) -> EmailContent:
        [content] = [content for to, content in self.outbox.sent if to == address]
        return content


@pytest.fixture()
def env() -> Iterator[Env]:
    with local_aws() as aws, FakeTwilio(port=0) as fake:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime(2026, 9, 1, tzinfo=UTC))
        clock, outbox = SimulatedTime(), Outbox()
        messenger = TwilioMessenger(local_twilio_client(fake), MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006'),
                                    sleep=clock.sleep, clock=clock.clock, jitter=lambda: 1.0)  # fmt: skip
        dispatcher = AlertDispatcher(alerts=AlertStore(), contacts=ContactBook(), messenger=lambda: messenger, email=Outbox(),
                                     config=lambda: CONFIG, wall=Wall())  # fmt: skip
        names = {location.location_id: location.name for location in CONFIG.locations}
        yield Env(aws, fake, outbox, Announcer(AnnounceStore(), AlertStore(), outbox, Roster(), names), dispatcher)


def test_a_winner_gets_a_whatsapp_template_with_their_result_after_the_quiet_hours(env: Env) -> None:
    # Given the October league closed at 00:05 IST on 1 November
    # When it is announced, and the alert scan runs at once and again at 08:01 IST
    report = env.announce()
    at_close = env.deliver(CLOSED_AT + timedelta(minutes=1))
    morning = env.deliver(MORNING)

    # Then every prize, trophy and challenge winner has a notice (Arjun, Meera, Priya, Kiran, Ravi), none sent at night
    assert (report.winners, report.winners_already, report.skipped) == (5, 0, [])
    assert set(at_close.values()) == {Outcome.HELD}
    assert morning['league|pitstop|2026-10|result|E1#assignee'] is Outcome.SENT
    # And Priya (opted in) got the approved template, her result line as a variable, no free text
    [whatsapp] = [m for m in env.fake.messages if m['to'] == f'whatsapp:{PRIYA}']
    assert (whatsapp['content_sid'], whatsapp['body']) == (TEMPLATE, None)
    assert whatsapp['content_variables'] == {
        '1': 'Priya', '2': 'Pitstop League, October 2026', '4': '01 Nov 00:05',
        '3': 'you finished 2nd of 4 in Workshop technicians · South with 1,100 points: +800 points. Trophy: Customer-wow champion.',
    }  # fmt: skip


def test_results_go_by_sms_in_the_winners_language_when_there_is_no_whatsapp(env: Env) -> None:
    # Given Ravi (Hindi, no WhatsApp) met a challenge and Meera (Spanish, no WhatsApp) won two trophies
    env.announce()

    # When the notices go out in the morning
    env.overnight()

    # Then each got one SMS with the full text in their language
    by_number = {m['to']: m['body'] for m in env.fake.messages}
    assert by_number[RAVI] == ('Ravi, Pitstop League, अक्टूबर 2026: आप Workshop technicians · South में 4 में से चौथे स्थान पर रहे, 200 अंकों के '
                               'साथ: +300 अंक। चुनौती पूरी: No comebacks: 98% zero-defect।')
    assert by_number[MEERA] == ('Meera, Pitstop League, octubre de 2026: terminó 1.º de 4 en Workshop technicians · South con 1.240 puntos: '
                                '+1.450 puntos. Trofeos: MVP, Sharpshooter.')


def test_an_indonesian_winner_and_manager_read_the_results_in_bahasa_indonesia(env: Env) -> None:
    # Given Meera (no WhatsApp) and her workshop lead Sara now read Indonesian (the directory re-imported with 'id')
    indonesian = DIRECTORY.replace('Asia/Kolkata,es', 'Asia/Kolkata,id')
    DirectoryStore().import_rows(parse_export(indonesian, 'csv'), datetime(2026, 10, 1, tzinfo=UTC))

    # When the league is announced and the notices go out in the morning
    env.announce()
    env.overnight()

    # Then Meera's SMS is her result in Indonesian, thousands grouped with a period
    by_number = {m['to']: m['body'] for m in env.fake.messages}
    assert by_number[MEERA] == ('Meera, Pitstop League, Oktober 2026: Anda menempati peringkat ke-1 dari 4 di Workshop technicians · South '
                                'dengan 1.240 poin: +1.450 poin. Trofi: MVP, Sharpshooter.')
    # And Sara's summary e-mail is in Indonesian
    sara = env.mail_to('sara@example.com')
    assert sara.subject == 'Pitstop League, Oktober 2026: hasil tim Anda'
    assert sara.text.startswith('Pitstop League, Oktober 2026 telah ditutup. Hasil tim Anda di Hyderabad Gachibowli.')
    assert '  peringkat ke-1: Meera Iyer, 1.240 poin, hadiah +1.000, trofi: MVP, Sharpshooter' in sara.text


def test_a_winner_whose_whatsapp_is_refused_gets_the_result_by_sms(env: Env) -> None:
    # Given WhatsApp refuses Priya's number for good (63007)
    env.fake.fail_number(f'whatsapp:{PRIYA}', code=63007)
    env.announce()

    # When her notice goes out
    outcome = env.overnight()['league|pitstop|2026-10|result|E1#assignee']

    # Then it went by SMS with the whole sentence, after the refused WhatsApp attempt
    assert outcome is Outcome.SENT
    assert [(m['channel'], m['status']) for m in env.fake.messages if PRIYA in m['to']] == [('whatsapp', 'rejected'), ('sms', 'queued')]
    [sms] = [m for m in env.fake.messages if m['to'] == PRIYA]
    assert sms['body'] == ('Priya, Pitstop League, October 2026: you finished 2nd of 4 in Workshop technicians · South with 1,100 points: '
                           '+800 points. Trophy: Customer-wow champion.')


def test_each_location_manager_gets_a_summary_of_their_location_and_no_one_elses_people(env: Env) -> None:
    # When the league is announced
    report = env.announce()

    # Then Anil (manager of the Bengaluru people), Lakshmi (role manager at Bengaluru) and Sara (Hyderabad) got one e-mail each
    assert report.summaries == 3 and sorted(to for to, _ in env.outbox.sent) == ['anil@example.com', 'lakshmi@example.com', 'sara@example.com']
    anil = env.mail_to('anil@example.com')
    assert anil.subject == "Pitstop League, October 2026: results of your people"
    assert anil.text == (
        'Pitstop League, October 2026 has closed. The results of your people at Bengaluru Whitefield.\n'
        '\n'
        'Bengaluru Whitefield: 2 of 3 people scored (66.7%).\n'
        '\n'
        'Workshop technicians · South: 4 ranked; 4 of 5 scored (80%).\n'
        'Top 3:\n'
        '  1st (another location), 1,240 points, prize +1,000, trophies: MVP, Sharpshooter\n'
        '  2nd Priya Sharma, 1,100 points, prize +600, trophies: Customer-wow champion\n'
        '  3rd (another location), 900 points, prize +300\n'
        'Your people:\n'
        '  2nd Priya Sharma, 1,100 points, prize +600, trophies: Customer-wow champion\n'
        '  4th Ravi Kumar, 200 points, challenges: No comebacks: 98% zero-defect\n'
        '  not ranked: Dev Patel, 0 points\n'
    )
    # And nobody from Hyderabad is named in a Bengaluru e-mail, nor the advisors' division (no Bengaluru advisor)
    for other in ('Meera', 'Kiran', 'Arjun', 'E3', 'E4', 'A2', 'Service advisors', 'Hyderabad'):
        assert other not in anil.text and other not in env.mail_to('lakshmi@example.com').text
    # And Sara's is in Spanish, about Hyderabad only, with both divisions her people are in
    sara = env.mail_to('sara@example.com').text
    assert sara.startswith('Pitstop League, octubre de 2026 ha cerrado. Resultados de su equipo en Hyderabad Gachibowli.')
    assert 'Hyderabad Gachibowli: 3 de 3 personas sumaron puntos (100 %).' in sara and 'Service advisors · South' in sara
    assert 'Priya' not in sara and 'Ravi' not in sara and '2.º (otro centro), 1.100 puntos' in sara


def test_a_rerun_sends_nothing_twice(env: Env) -> None:
    # Given the league announced and its notices delivered
    env.announce()
    env.overnight()
    messages, mails = len(env.fake.messages), len(env.outbox.sent)

    # When the announcement runs again (the close's finalize retried), and the alert scan runs again
    again = env.announce(MORNING + timedelta(hours=1))
    env.deliver(MORNING + timedelta(hours=1, minutes=1))

    # Then nothing new was planned, sent or mailed, and the markers say what went
    assert (again.winners, again.winners_already, again.summaries, again.summaries_already) == (0, 5, 0, 3)
    assert (len(env.fake.messages), len(env.outbox.sent)) == (messages, mails)
    markers = AnnounceStore().markers('pitstop', '2026-10')
    assert sorted((m.employee_id, m.kind, m.state) for m in markers) == [
        ('A2', 'result', 'planned'), ('E1', 'result', 'planned'), ('E2', 'result', 'planned'), ('E3', 'result', 'planned'),
        ('E4', 'result', 'planned'), ('H1', 'summary', 'sent'), ('M1', 'summary', 'sent'), ('M2', 'summary', 'sent')]  # fmt: skip


def test_a_failed_email_is_retried_by_a_rerun_and_a_live_claim_is_left_alone(env: Env) -> None:
    # Given SES refuses Anil's e-mail once
    refused: list[str] = []

    def flaky(to: str, content: EmailContent) -> str | None:
        if to == 'anil@example.com' and not refused:
            refused.append(to)
            raise EmailNotSent('MessageRejected')
        return env.outbox(to, content)

    env.announcer.email = flaky
    # And another sender holds a live claim on Sara's e-mail (it is sending it)
    assert AnnounceStore().claim_summary('pitstop', '2026-10', 'M2', CLOSED_AT)

    # When the league is announced, and again two minutes later
    first = env.announce()
    second = env.announce(CLOSED_AT + timedelta(minutes=2))

    # Then the refusal was reported by manager id and error code only, and the rerun sent Anil's e-mail, once
    assert (first.summaries, first.summaries_already, first.summaries_failed) == (1, 1, ['M1: MessageRejected'])
    assert (second.summaries, second.summaries_already, second.summaries_failed) == (1, 2, [])
    sent_to = [to for to, _ in env.outbox.sent]
    assert sorted(sent_to) == ['anil@example.com', 'lakshmi@example.com']
    # And Sara's, claimed by the other sender within its lease, was left to it both times


def test_a_claim_whose_sender_died_is_taken_over_after_the_lease() -> None:
    with local_aws():
        store = AnnounceStore()
        # Given a claim taken at 00:05 whose sender never recorded the e-mail
        assert store.claim_summary('pitstop', '2026-10', 'M1', CLOSED_AT)

        # When others try within the 10-minute lease, and after it
        within = store.claim_summary('pitstop', '2026-10', 'M1', CLOSED_AT + timedelta(minutes=9))
        after = store.claim_summary('pitstop', '2026-10', 'M1', CLOSED_AT + timedelta(minutes=11))
        store.summary_done('pitstop', '2026-10', 'M1', CLOSED_AT + timedelta(minutes=11), message_id='ses-1')
        once_sent = store.claim_summary('pitstop', '2026-10', 'M1', CLOSED_AT + timedelta(hours=5))

        # Then only the claim after the lease wins, and a sent e-mail is never claimed again
        assert (within, after, once_sent) == (False, True, False)


def test_winners_missing_from_the_directory_are_skipped_by_id(env: Env) -> None:
    # Given a winner who left the directory before the announcement
    gone = TECHNICIANS.model_copy(update={'rows': (*TECHNICIANS.rows, row(None, 'X9', 50, challenges=('zero_comebacks',)))})

    # When it is announced
    report = announce((gone,), league=LEAGUE, now=CLOSED_AT, announcer=env.announcer)

    # Then the others are announced and the missing one is named by id only
    assert report.winners == 4 and report.skipped == ['X9: not in the directory']


def test_results_of_several_programs_or_months_are_refused(env: Env) -> None:
    # Given results of two months
    november = ADVISORS.model_copy(update={'month': '2026-11'})

    # When / Then: refused with the field named, nothing written
    with pytest.raises(ValueError, match='results: expected the divisions of one program and month'):
        announce((TECHNICIANS, november), league=LEAGUE, now=CLOSED_AT, announcer=env.announcer)
    assert AnnounceStore().markers('pitstop', '2026-10') == []
