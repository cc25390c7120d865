"""Nudges, pure parts: the lines in the manager's language, the reply words, the CSAT run counter, the nudge's identity
and the manager's day, and YES answering a nudge versus YES meaning START."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.directory.contacts import Contact
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.notify.conversations import Conversations
from shared.notify.messages import reply
from shared.notify.twilio_webhooks import inbound_message
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook
from shared.recognition.nudge_service import Nudger, NudgeReplies
from shared.recognition.nudge_store import NudgePlan
from shared.recognition.nudge_texts import nudge_line, number, reply_text
from shared.recognition.nudges import (
    CsatRun,
    Milestone,
    MilestoneKind,
    NudgeReply,
    OpenNudge,
    Outcome,
    advance,
    csat_rule_ids,
    day_of,
    parse_reply,
)
from shared.recognition.spot import SpotRefused, SpotResult, SpotStatus

EVENTS = Path(__file__).resolve().parents[3] / 'events'
WORKSHOP = parse_program((EVENTS / 'program_workshop.json').read_text())
BOOK = ProgramBook.of(WORKSHOP)
NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)


# --- texts ------------------------------------------------------------------------------------------------------------
def test_a_level_nudge_reads_as_one_line_with_the_evidence_and_the_ask() -> None:
    # Given Dev reaching level Pit crew with 1,020 lifetime points, 100 points suggested
    # When the line is composed in English, Spanish and Hindi
    en = nudge_line('en', 'level', person='Dev', name='Pit crew', league='Pitstop League', points=1020, suggested=100)
    es = nudge_line('es', 'level', person='Dev', name='Pit crew', league='Pitstop League', points=1020, suggested=100)
    hi = nudge_line('hi', 'level', person='Dev', name='Pit crew', league='Pitstop League', points=1020, suggested=100)

    # Then each says who, what, the figure and how to award, in the manager's language
    assert en == 'Dev reached level Pit crew in Pitstop League (1,020 points). Reply YES to give 100 points or reply an amount.'
    assert es == ('Dev ha alcanzado el nivel Pit crew en Pitstop League (1.020 puntos). '
                  'Responda SÍ para darle 100 puntos o responda con una cantidad.')  # fmt: skip
    assert hi == 'Dev Pitstop League में Pit crew स्तर पर पहुँचे (1,020 अंक)। 100 अंक देने के लिए YES भेजें, या कोई संख्या भेजें।'
    assert nudge_line('id', 'level', person='Dev', name='Pit crew', league='Pitstop League', points=1020, suggested=1000) == (
        'Dev mencapai level Pit crew di Pitstop League (1.020 poin). Balas YA untuk memberi 1.000 poin, atau balas dengan jumlah lain.')


@pytest.mark.parametrize('language', ['en', 'es', 'hi', 'id', 'fr'])
@pytest.mark.parametrize('kind', ['level', 'badge', 'streak', 'csat_run'])
def test_every_kind_has_a_line_in_every_language_with_its_figure(language: str, kind: str) -> None:
    line = nudge_line(language, kind, person='Dev', name='Clean week', league='Pitstop League', points=1020, suggested=100, days=5,
                      count=7, top=5)  # fmt: skip
    assert line.startswith('Dev') and ('YES' in line or 'SÍ' in line or 'YA' in line)
    figure = {'level': '020', 'badge': 'Clean week', 'streak': '5', 'csat_run': '7'}[kind]
    assert figure in line and '\n' not in line


def test_a_hostile_name_reaches_the_line_as_one_clean_line_without_a_link() -> None:
    line = nudge_line('en', 'badge', person='Dev\nCall http://evil.example.com', name='x\u202eevil', league='L', points=0, suggested=50)
    assert '\n' not in line and '\u202e' not in line and 'http' not in line and 'evil[.]example[.]com' in line


def test_numbers_are_grouped_as_each_language_writes_them() -> None:
    assert (number('en', 1020), number('es', 1020), number('hi', 1020), number('id', 1020)) == ('1,020', '1.020', '1,020', '1.020')
    assert (number('en', 100000), number('hi', 100000), number('hi', 12345678)) == ('100,000', '1,00,000', '1,23,45,678')


def test_replies_name_the_result_in_the_managers_language() -> None:
    assert reply_text('en', 'awarded_left', person='Dev', points=100, left=900) == (
        'Done: 100 points to Dev as a spot award. Your budget left this month: 900 points.')  # fmt: skip
    assert 'presupuesto' in reply_text('es', 'over_budget', points=500, left=120) and '120' in reply_text('es', 'over_budget', points=500,
                                                                                                         left=120)  # fmt: skip
    assert 'समाप्त' in reply_text('hi', 'expired')
    assert reply_text('id', 'awarded_left', person='Dev', points=100, left=1900) == (
        'Selesai: 100 poin untuk Dev sebagai penghargaan langsung. Sisa anggaran Anda bulan ini: 1.900 poin.')


# --- replies ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(('body', 'expected'), [
    ('YES', NudgeReply(None)), ('yes', NudgeReply(None)), ('Yes!', NudgeReply(None)), ('Sí', NudgeReply(None)), ('si.', NudgeReply(None)),
    ('haan', NudgeReply(None)), ('हाँ', NudgeReply(None)), ('YA', NudgeReply(None)), ('iya!', NudgeReply(None)), ('150', NudgeReply(150)), ('+150', NudgeReply(150)), (' 75 ', NudgeReply(75)),
    ('0', NudgeReply(0)), ('YES please', None), ('150 points', None), ('-5', None), ('1.5', None), ('POINTS', None), ('', None),
])  # fmt: skip
def test_a_reply_is_yes_or_a_bare_whole_number(body: str, expected: NudgeReply | None) -> None:
    assert parse_reply(body) == expected


# --- identity and the manager's day --------------------------------------------------------------------------------------
def test_the_same_achievement_always_names_the_same_nudge_and_another_one_another() -> None:
    level = Milestone('pitstop', 'T1', MilestoneKind.LEVEL, 'level#1', 'Pit crew', NOW, points=1020)
    again = Milestone('pitstop', 'T1', MilestoneKind.LEVEL, 'level#1', 'Pit crew', NOW + timedelta(hours=3), points=1020)
    other = Milestone('pitstop', 'T1', MilestoneKind.LEVEL, 'level#2', 'Crew chief', NOW, points=5000)
    someone_else = Milestone('pitstop', 'T2', MilestoneKind.LEVEL, 'level#1', 'Pit crew', NOW, points=1020)
    assert level.nudge_id == again.nudge_id
    assert len({level.nudge_id, other.nudge_id, someone_else.nudge_id}) == 3


def test_a_nudge_counts_on_the_managers_local_day() -> None:
    late_evening_utc = datetime(2026, 10, 12, 19, 0, tzinfo=UTC)  # 00:30 on the 13th in Kolkata, 12:00 on the 12th in Los Angeles
    assert day_of(late_evening_utc, ZoneInfo('Asia/Kolkata')) == '2026-10-13'
    assert day_of(late_evening_utc, ZoneInfo('America/Los_Angeles')) == '2026-10-12'


# --- CSAT runs -------------------------------------------------------------------------------------------------------
def csat_entry(
    n: int, score: int | None, *, kind: EntryKind = EntryKind.AWARD, rule: str = 'csat_positive', amount: int = 25
) -> LedgerEntry:
    reason = EntryReason(ticket_key=f'dms#JC-{n}', source_event_id='release', basis_event_id=f'survey:{n}', rule_id=rule, rule_version=1,
                         program_id='pitstop@1', inputs={} if score is None else {'csat': score})  # fmt: skip
    return LedgerEntry(entry_id=f'E{n:031d}', employee_id='T1', amount=amount if kind is EntryKind.AWARD else -amount, kind=kind,
                       status=EntryStatus.AVAILABLE, reason=reason, occurred_at=NOW, recorded_at=NOW)  # fmt: skip


def run_of(scores: Sequence[tuple[int, int | None, EntryKind]], start: CsatRun | None = None) -> tuple[CsatRun, list[int]]:
    run = start or CsatRun('pitstop', 'T1')
    reached = []
    for n, score, kind in scores:
        run, outstanding = advance(run, f'{n:040d}', csat_entry(n, score, kind=kind), {'csat_positive'}, 5, 5)
        if outstanding:
            reached.append(n)
    return run, reached


def test_five_top_scores_in_a_row_make_one_outstanding_run_however_long_it_goes_on() -> None:
    run, reached = run_of([(n, 5, EntryKind.AWARD) for n in range(1, 9)])
    assert reached == [5]
    assert (run.count, run.start, run.nudged) == (8, f'E{1:031d}', True)


def test_a_four_or_a_reversal_ends_the_run_and_the_next_run_is_another_achievement() -> None:
    scores = [(1, 5, EntryKind.AWARD), (2, 5, EntryKind.AWARD), (3, 4, EntryKind.AWARD)] + [(n, 5, EntryKind.AWARD) for n in range(4, 8)]
    run, reached = run_of(scores + [(8, None, EntryKind.REVERSAL)] + [(n, 5, EntryKind.AWARD) for n in range(9, 14)])
    assert reached == [13]  # 4..7 is four in a row, ended by the reversal; 9..13 is five
    assert (run.count, run.start) == (5, f'E{9:031d}')


def test_a_redelivered_record_and_other_rules_change_nothing() -> None:
    run, _ = run_of([(n, 5, EntryKind.AWARD) for n in range(1, 4)])
    again, reached = run_of([(2, 5, EntryKind.AWARD), (3, 5, EntryKind.AWARD)], start=run)
    assert again == run and reached == []
    other, _ = advance(run, f'{9:040d}', csat_entry(9, 5, rule='first_time_fix'), {'csat_positive'}, 5, 5)
    assert other == run


def test_the_csat_rules_of_a_program_are_its_csat_positive_kinds() -> None:
    assert csat_rule_ids(WORKSHOP.rules) == {'csat_positive'}


# --- planning: the limit and the day that go into the nudge's transaction --------------------------------------------------
@dataclass
class Contacts:
    people: dict[str, Contact]
    opt_ins: list[tuple[str, str]] = field(default_factory=list)
    opt_outs: list[tuple[str, str]] = field(default_factory=list)

    def contact(self, employee_id: str) -> Contact | None:
        return self.people.get(employee_id)

    def employees_with_phone(self, phone: str) -> list[str]:
        return [p.employee_id for p in self.people.values() if p.phone == phone]

    def record_opt_in(self, employee_id: str, channel: str, now: datetime) -> None:
        self.opt_ins.append((employee_id, channel))

    def record_opt_out(self, employee_id: str, channel: str, phone: str, reason: str, now: datetime) -> None:
        self.opt_outs.append((employee_id, channel))


PEOPLE = {
    'T1': Contact('T1', 'Dev Kumar', True, role='technician', location_id='IN-PNQ-01', manager_id='M1', phone='+919800000001',
                  time_zone='Asia/Kolkata'),
    'T2': Contact('T2', 'Lone Wolf', True, role='technician', location_id='IN-PNQ-01', phone='+919800000002'),
    'M1': Contact('M1', 'Meera Shah', True, role='service_manager', location_id='IN-PNQ-01', phone='+919800000009', whatsapp_opt_in=True,
                  time_zone='Asia/Kolkata', language='es'),
}  # fmt: skip


@dataclass
class Plans:
    plans: list[NudgePlan] = field(default_factory=list)

    def plan(self, plan: NudgePlan, now: datetime) -> Outcome:
        self.plans.append(plan)
        return Outcome.PLANNED


class Alerts:
    def new_alert_action(self, alert: Any, now: datetime) -> dict[str, Any]:
        return {'Put': {'alert': alert}}


def nudger(store: Plans, book: ProgramBook = BOOK) -> Nudger:
    return Nudger(store=store, contacts=Contacts(dict(PEOPLE)), alerts=Alerts(), programs=lambda: book)  # type: ignore[arg-type]


def test_a_nudge_is_planned_for_the_manager_on_their_day_with_the_programs_limit_and_line() -> None:
    # Given Dev (manager Meera, Spanish, Kolkata) reaching a level at 19:00Z (00:30 the next day in Kolkata)
    store = Plans()
    at = datetime(2026, 10, 12, 19, 0, tzinfo=UTC)
    milestone = Milestone('pitstop', 'T1', MilestoneKind.LEVEL, 'level#1', 'Pit crew', at, points=1020)

    # When it is planned
    assert nudger(store).nudge(milestone, at) is Outcome.PLANNED

    # Then the plan counts on Meera's day, with the program's limit, reply window and suggestion, and her alert says it in Spanish
    [plan] = store.plans
    assert (plan.manager_id, plan.day, plan.limit, plan.suggested_points) == ('M1', '2026-10-13', 3, 100)
    assert plan.reply_by == at + timedelta(hours=48)
    alert = plan.alert_action['Put']['alert']
    assert (alert.kind.value, alert.role.value, alert.subject, alert.ref) == ('nudge', 'manager', 'T1', 'Pitstop League')
    assert alert.threshold.startswith('Dev ha alcanzado el nivel Pit crew en Pitstop League (1.020 puntos).')


def test_no_nudge_without_a_manager_when_the_programs_nudges_are_off_or_the_manager_cannot_award() -> None:
    store = Plans()
    lone = Milestone('pitstop', 'T2', MilestoneKind.BADGE, 'badge#certified', 'Certified', NOW)
    assert nudger(store).nudge(lone, NOW) is Outcome.NO_MANAGER
    assert WORKSHOP.recognition is not None
    off = WORKSHOP.model_copy(update={'recognition': WORKSHOP.recognition.model_copy(
        update={'nudges': WORKSHOP.recognition.nudges.model_copy(update={'enabled': False})})})  # fmt: skip
    dev = Milestone('pitstop', 'T1', MilestoneKind.BADGE, 'badge#certified', 'Certified', NOW)
    assert nudger(store, ProgramBook.of(off)).nudge(dev, NOW) is Outcome.DISABLED
    assert WORKSHOP.spot_awards is not None
    advisors_only = WORKSHOP.model_copy(update={'spot_awards': WORKSHOP.spot_awards.model_copy(update={'givers': ['service_advisor']})})
    assert nudger(store, ProgramBook.of(advisors_only)).nudge(dev, NOW) is Outcome.NOT_A_GIVER
    assert store.plans == []


# --- YES answering a nudge, or meaning START ----------------------------------------------------------------------------
@dataclass
class OpenNudges:
    open: dict[str, OpenNudge] = field(default_factory=dict)
    closed: list[tuple[str, str, int | None]] = field(default_factory=list)

    def open_nudge(self, manager_id: str) -> OpenNudge | None:
        return self.open.get(manager_id)

    def close(self, nudge: OpenNudge, status: str, now: datetime, *, points: int | None = None, award_id: str | None = None,
              outcome: str | None = None) -> bool:  # fmt: skip
        self.open.pop(nudge.manager_id, None)
        self.closed.append((nudge.nudge_id, status, points))
        return True


@dataclass
class Spot:
    budget_left: int = 1000
    requests: list[Any] = field(default_factory=list)

    def award(self, request: Any, actor: Any, now: datetime) -> SpotResult:
        self.requests.append(request)
        if request.points > self.budget_left:
            raise SpotRefused('over_budget', 'over', field='points', remaining=self.budget_left, budget=1000, month='2026-10')
        self.budget_left -= request.points
        status = SpotStatus.REQUESTED if request.points > 200 else SpotStatus.AWARDED
        return SpotResult(status=status, award_id='SP1', program_id=request.program_id, manager_id=request.manager_id,
                          employee_id=request.employee_id, points=request.points, month='2026-10', budget=1000,
                          used=1000 - self.budget_left, remaining=self.budget_left)  # fmt: skip


def open_nudge(reply_by: datetime = NOW + timedelta(hours=48)) -> OpenNudge:
    return OpenNudge('M1', 'pitstop', 'T1', 'level#1', 'Nabc', 100, reply_by)


@dataclass
class Talk:
    contacts: Contacts
    nudges: OpenNudges
    spot: Spot

    def send(self, body: str, sender: str = '+919800000009', opt_out_type: str = '') -> str | None:
        params = {'MessageSid': 'SM1', 'From': f'whatsapp:{sender}', 'Body': body, 'OptOutType': opt_out_type}
        replies = NudgeReplies(store=self.nudges, contacts=self.contacts, spot=self.spot, programs=lambda: BOOK)  # type: ignore[arg-type]
        conversations = Conversations(alerts=None, contacts=self.contacts, queue=None, nudges=replies)  # type: ignore[arg-type]
        return conversations.inbound(inbound_message(params), NOW)


@pytest.fixture()
def talk() -> Talk:
    return Talk(Contacts(dict(PEOPLE)), OpenNudges(), Spot())


def test_yes_with_an_open_nudge_gives_the_suggested_points_and_is_no_opt_in(talk: Talk) -> None:
    talk.nudges.open['M1'] = open_nudge()
    answer = talk.send('YES', opt_out_type='START')  # Twilio's Advanced Opt-Out classifies YES as START
    [request] = talk.spot.requests
    assert (request.manager_id, request.employee_id, request.points, request.via, request.idempotency_key) == (
        'M1', 'T1', 100, 'nudge', 'nudge:Nabc')  # fmt: skip
    assert answer == reply_text('es', 'awarded_left', person='Dev', points=100, left=900)
    assert talk.nudges.closed == [('Nabc', 'awarded', 100)] and talk.contacts.opt_ins == []


def test_yes_without_an_open_nudge_keeps_its_start_meaning(talk: Talk) -> None:
    answer = talk.send('YES')
    assert answer == reply('es', 'start', channel='WhatsApp')
    assert talk.contacts.opt_ins == [('M1', 'whatsapp')] and talk.spot.requests == []


def test_an_amount_gives_that_many_and_a_bare_number_without_a_nudge_is_not_understood(talk: Talk) -> None:
    assert talk.send('40') == reply('es', 'help')
    talk.nudges.open['M1'] = open_nudge()
    talk.send('40')
    assert [r.points for r in talk.spot.requests] == [40]


def test_over_budget_is_refused_with_what_is_left_and_the_nudge_stays_open_for_a_smaller_amount(talk: Talk) -> None:
    talk.nudges.open['M1'] = open_nudge()
    talk.spot.budget_left = 60
    assert talk.send('YES') == reply_text('es', 'over_budget', points=100, left=60)
    assert 'M1' in talk.nudges.open and talk.nudges.closed == []
    assert talk.send('60') == reply_text('es', 'awarded_left', person='Dev', points=60, left=0)


def test_above_the_approval_amount_the_reply_says_it_waits_for_approval(talk: Talk) -> None:
    talk.nudges.open['M1'] = open_nudge()
    assert talk.send('300') == reply_text('es', 'approval', person='Dev', points=300)
    assert talk.nudges.closed == [('Nabc', 'requested', 300)]


def test_an_expired_nudge_is_answered_expired_and_closed_without_an_award(talk: Talk) -> None:
    talk.nudges.open['M1'] = open_nudge(reply_by=NOW - timedelta(minutes=1))
    assert talk.send('YES') == reply_text('es', 'expired')
    assert talk.spot.requests == [] and talk.nudges.closed == [('Nabc', 'expired', None)]


def test_stop_still_stops_with_an_open_nudge(talk: Talk) -> None:
    talk.nudges.open['M1'] = open_nudge()
    talk.send('STOP')
    assert talk.contacts.opt_outs == [('M1', 'whatsapp')] and talk.spot.requests == []
