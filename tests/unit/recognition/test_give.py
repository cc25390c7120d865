"""Judging a recognition (pure): every refusal names its field and writes nothing; an allowed one plans the record, the
feed, one ledger entry and the receiver's notice; the allowance is a counter per month of the program's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.alerts.plan import AlertKind
from shared.ledger.entries import EntryKind
from shared.programs.document import ProgramDocument, parse_program
from shared.recognition.give import (
    Candidate,
    Given,
    GiveRequest,
    Member,
    RecognitionRefused,
    choose_program,
    entry_id_for,
    local_month,
    plan_give,
)
from shared.recognition.texts import reply_refused

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
WORKSHOP = Candidate(3, parse_program((ROOT / 'events/program_workshop.json').read_text()))
SUPPORT = Candidate(1, parse_program((ROOT / 'events/program_support.json').read_text()))
ASHA = Member('TECH-101', name='Asha Rao', role='technician', location_id='IN-BLR-01', manager_id='MGR-1', language='en')
RAVI = Member('TECH-104', name='Ravi Kumar', role='technician', location_id='IN-PNQ-01', manager_id='MGR-2', language='hi')
NOTHING = Given()
BOSS = Member('MGR-1', name='Meera Iyer', role='service_manager', location_id='IN-BLR-01')


def _request(**changes: object) -> GiveRequest:
    values: dict[str, object] = {'giver_id': 'TECH-101', 'receiver_id': 'TECH-104', 'points': 20, 'message': 'found the brake fault',
                                 'value': '#teamwork', 'idempotency_key': 'k1'}  # fmt: skip
    return GiveRequest.model_validate(values | changes)


def _refusal(request: GiveRequest, giver: Member | None = ASHA, receiver: Member | None = RAVI, given: Given = NOTHING,
             now: datetime = NOW) -> RecognitionRefused:  # fmt: skip
    with pytest.raises(RecognitionRefused) as refused:
        plan_give(request, WORKSHOP, giver, receiver, given, now)
    return refused.value


def test_an_allowed_recognition_plans_the_record_the_feed_the_entry_and_the_notice() -> None:
    # Given Asha, who has given 30 of her 200 this month, thanks Ravi (who reads Hindi) with 20 points
    plan = plan_give(_request(), WORKSHOP, ASHA, RAVI, Given(total=30, to_receiver=10), NOW)
    # Then the record names both, the program's month and value
    record = plan.record
    assert (record.giver_id, record.receiver_id, record.points, record.value, record.month) == ('TECH-101', 'TECH-104', 20, 'teamwork', '2026-10')
    # and 150 of the allowance remain
    assert (plan.allowance, plan.remaining) == (200, 150)
    # and the feed goes to Ravi's team (his manager) and his location
    assert (plan.feed.receiver_team, plan.feed.receiver_location, plan.feed.kind) == ('MGR-2', 'IN-PNQ-01', 'thanks')
    # and one RECOGNITION entry credits Ravi, explained as the design says
    entry = plan.entry
    assert (entry.kind, entry.employee_id, entry.amount, entry.entry_id) == (EntryKind.RECOGNITION, 'TECH-104', 20, entry_id_for(record.recognition_id))
    assert entry.reason.rule_id == 'peer_recognition' and entry.reason.program_id == 'pitstop@3'
    assert entry.reason.ticket_key == f'recognition#{record.recognition_id}' and entry.reason.source_event_id == f'recognition:{record.recognition_id}'
    assert entry.reason.inputs == {'giver_id': 'TECH-101', 'value': 'teamwork', 'message': 'found the brake fault', 'month': '2026-10'}
    # and Ravi's notice is in Hindi, from Asha
    assert plan.notice.kind is AlertKind.RECOGNITION_RECEIVED and plan.notice.subject == 'TECH-104'
    assert plan.notice.threshold.startswith('Asha ने Teamwork के लिए आपको 20 अंक')


def test_the_same_idempotency_key_is_the_same_recognition_and_entry() -> None:
    first = plan_give(_request(), WORKSHOP, ASHA, RAVI, Given(), NOW)
    again = plan_give(_request(points=25), WORKSHOP, ASHA, RAVI, Given(), NOW)
    other = plan_give(_request(idempotency_key='k2'), WORKSHOP, ASHA, RAVI, Given(), NOW)
    assert first.record.recognition_id == again.record.recognition_id != other.record.recognition_id
    assert first.entry.entry_id == again.entry.entry_id and first.entry.entry_id.startswith('G')


def test_more_than_the_remaining_allowance_is_refused_naming_the_points() -> None:
    # Given Asha has given 150 of her 200 this month
    refused = _refusal(_request(points=80), given=Given(total=150))
    # Then the 80 are refused with what is left
    assert (refused.code, refused.field) == ('allowance', 'points')
    assert str(refused) == 'points: 80 is more than your remaining allowance of 50 this month'


def test_a_role_with_its_own_allowance_gives_from_it() -> None:
    # Given a service manager (outside the program's scoring roles, but given 500 by the recognition section)
    plan = plan_give(_request(giver_id='MGR-1'), WORKSHOP, BOSS, RAVI, Given(total=450), NOW)
    assert plan.allowance == 500 and plan.remaining == 30
    assert _refusal(_request(giver_id='MGR-1', points=60), giver=BOSS, given=Given(total=450)).params['remaining'] == 50


def test_thanking_oneself_is_refused() -> None:
    refused = _refusal(_request(receiver_id='tech-101'), receiver=ASHA)
    assert (refused.code, refused.field, refused.reason) == ('self', 'receiver_id', 'you cannot thank yourself')


@pytest.mark.parametrize(('giver', 'receiver', 'code', 'field'), [
    (None, RAVI, 'giver_unknown', 'giver_id'),
    (Member('TECH-101', role='technician', location_id='IN-BLR-01', active=False), RAVI, 'giver_inactive', 'giver_id'),
    (Member('TECH-101', role='technician', location_id='US-NYC'), RAVI, 'giver_outside', 'giver_id'),
    (ASHA, None, 'receiver_unknown', 'receiver_id'),
    (ASHA, Member('TECH-104', role='technician', location_id='IN-PNQ-01', active=False), 'receiver_inactive', 'receiver_id'),
    (ASHA, Member('TECH-104', role='service_manager', location_id='IN-BLR-01'), 'receiver_outside', 'receiver_id'),
    (ASHA, Member('TECH-104', role='technician', location_id='IN-DEL-09'), 'receiver_outside', 'receiver_id'),
])  # fmt: skip
def test_unknown_deactivated_or_outside_people_are_refused(giver: Member | None, receiver: Member | None, code: str, field: str) -> None:
    refused = _refusal(_request(), giver=giver, receiver=receiver)
    assert (refused.code, refused.field) == (code, field)
    assert str(refused).startswith(f'{field}: ')


def test_an_empty_or_overlong_message_is_refused() -> None:
    assert (_refusal(_request(message='   ')).code, _refusal(_request(message='   ')).field) == ('message_empty', 'message')
    refused = _refusal(_request(message='x' * 501))
    assert str(refused) == 'message: the message has 501 characters, more than 500'


def test_a_value_the_program_does_not_have_is_refused_with_its_values() -> None:
    refused = _refusal(_request(value='hustle'))
    assert (refused.code, refused.field) == ('value_unknown', 'value')
    assert str(refused) == 'value: #hustle is not a value of program pitstop (one of: #teamwork, #customer_first, #quality, #safety)'
    assert _refusal(_request(value='')).code == 'value_unknown'


def test_points_outside_the_programs_bounds_are_refused() -> None:
    assert str(_refusal(_request(points=2))) == 'points: 2 is less than the least of 5 points'
    assert str(_refusal(_request(points=101))) == 'points: 101 is more than the most of 100 points in one recognition'


def test_the_pair_cap_is_refused_with_what_is_left_for_this_receiver() -> None:
    # Given Asha gave Ravi 90 this month (cap 100), with plenty of allowance left
    refused = _refusal(_request(points=20), given=Given(total=90, to_receiver=90))
    assert (refused.code, refused.field) == ('pair_cap', 'points')
    assert refused.params == {'points': 20, 'receiver': 'TECH-104', 'cap': 100, 'left': 10}


def test_the_month_resets_on_the_first_in_the_programs_time_zone() -> None:
    # Given 18:45 UTC on 31 October is already 1 November in Kolkata (UTC+5:30), and still October in New York
    moment = datetime(2026, 10, 31, 18, 45, tzinfo=UTC)
    assert local_month(moment, 'Asia/Kolkata') == '2026-11'
    assert local_month(moment, 'America/New_York') == '2026-10'
    # When Asha gives then, her counter is November's (a new, full allowance), and her October giving is not read
    plan = plan_give(_request(), WORKSHOP, ASHA, RAVI, Given(), moment)
    assert plan.record.month == '2026-11' and plan.remaining == 180
    # and a minute before midnight in Kolkata it is still October's
    assert plan_give(_request(), WORKSHOP, ASHA, RAVI, Given(), datetime(2026, 10, 31, 18, 29, tzinfo=UTC)).record.month == '2026-10'


def test_the_program_is_the_one_that_admits_both_people() -> None:
    nyc = Member('AG-1', role='agent', location_id='US-NYC')
    nyc2 = Member('AG-2', role='agent', location_id='US-NYC')
    assert choose_program([WORKSHOP, SUPPORT], None, nyc, nyc2, NOW).document.program_id == 'ecommerce_support'
    assert choose_program([WORKSHOP, SUPPORT], None, ASHA, RAVI, NOW).document.program_id == 'pitstop'
    # An agent thanking a technician: judged in the agent's program, so the refusal is about the receiver
    assert choose_program([WORKSHOP, SUPPORT], None, nyc, RAVI, NOW).document.program_id == 'ecommerce_support'
    # Someone both programs admit (a support role at a location of both), thanking someone neither admits: no program
    both_places = Member('SUP-1', role='support', location_id='IN-BLR-01')
    wide = SUPPORT.document.model_copy(update={'scope': SUPPORT.document.scope.model_copy(update={'locations': ['IN-BLR-01']})})
    with pytest.raises(RecognitionRefused) as refused:
        choose_program([WORKSHOP, Candidate(1, wide)], None, both_places, Member('X', role='agent', location_id='XX'), NOW)
    assert refused.value.code == 'no_program'
    # The command judges in the first program that admits the giver
    assert choose_program([WORKSHOP, Candidate(1, wide)], None, both_places, Member('X', role='agent', location_id='XX'), NOW,
                          giver_first=True).document.program_id == 'ecommerce_support'
    with pytest.raises(RecognitionRefused, match='program_id: no program nope'):
        choose_program([WORKSHOP, SUPPORT], 'nope', ASHA, RAVI, NOW)


def test_refusals_are_told_in_the_givers_language() -> None:
    refused = _refusal(_request(points=80), given=Given(total=150))
    assert reply_refused('es', refused.code, refused.params) == 'No enviado: 80 es más que lo que le queda por dar este mes (50).'
    assert reply_refused('hi', refused.code, refused.params) == 'नहीं भेजा गया: 80 इस महीने आपके बचे हुए 50 अंक से अधिक है।'
    assert reply_refused('id', refused.code, refused.params) == 'Tidak terkirim: 80 lebih dari sisa jatah Anda bulan ini, yaitu 50.'
    program: ProgramDocument = WORKSHOP.document
    assert program.recognition is not None


def test_without_any_program_with_recognition_the_refusal_says_so() -> None:
    from shared.programs.loader import ProgramBook
    from shared.recognition.service import Recognitions

    plain = WORKSHOP.document.model_copy(update={'recognition': None})
    service = Recognitions(store=None, programs=lambda: ProgramBook.of(plain))  # type: ignore[arg-type]
    with pytest.raises(RecognitionRefused) as refused:
        service.give(_request(), NOW)
    assert str(refused.value) == 'program_id: no program has peer recognition yet'
