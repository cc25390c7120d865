"""Peer recognition end to end on moto: a recognition writes its record, counters, feed, one ledger entry and the
receiver's balance and notice in one transaction; a retried idempotency key writes once; concurrent gives never overspend
an allowance; the feed pages newest first by cursor; THANKS over WhatsApp is answered in the giver's language; a forget
blanks the messages."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from shared.alerts.plan import Recipient
from shared.alerts.store import AlertStore
from shared.alerts.sync import alert_id
from shared.config import get_settings
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.errors import InvalidPayload
from shared.ledger.chain import ChainHead
from shared.ledger.entries import EntryKind
from shared.ledger.store import LedgerStore
from shared.recognition.feed import FeedReader, FeedRequest
from shared.recognition.give import GivePlan, GiveRequest, GiveResult, RecognitionRefused
from shared.recognition.service import Recognitions
from shared.recognition.store import RecognitionStore, allow_pk, pair_pk
from tests.support.counting import count_requests
from tests.support.local_aws import local_aws
from tests.support.recognition import EVENTS, book

NOW = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
RAVI_PHONE = '+919812345600'
SARI_PHONE = '+6281234567800'
DIRECTORY = f"""employee_id,name,role,location_id,manager_id,phone,whatsapp_opt_in,email,time_zone,language,active
TECH-101,Asha Rao,technician,IN-BLR-01,MGR-1,+919812345601,yes,,Asia/Kolkata,en,yes
TECH-102,Dev Patil,technician,IN-BLR-01,MGR-1,+919812345602,yes,,Asia/Kolkata,en,yes
TECH-103,Imran Shaikh,service_advisor,IN-BLR-01,MGR-1,+919812345603,yes,,Asia/Kolkata,en,yes
TECH-104,Ravi Kumar,technician,IN-PNQ-01,MGR-2,{RAVI_PHONE},yes,,Asia/Kolkata,hi,yes
TECH-105,Gone Person,technician,IN-BLR-01,MGR-1,,no,,Asia/Kolkata,en,no
TECH-106,Sari Wulandari,technician,IN-BLR-01,MGR-1,{SARI_PHONE},yes,,Asia/Jakarta,id,yes
MGR-1,Meera Iyer,service_manager,IN-BLR-01,,+919812345610,no,,Asia/Kolkata,en,yes
AG-1,Ann Agent,agent,US-NYC,MGR-9,+15558675310,no,,America/New_York,en,yes
"""


@dataclass
class Env:
    recognitions: Recognitions
    store: RecognitionStore
    ledger: LedgerStore

    def give(self, giver: str = 'TECH-101', receiver: str = 'TECH-104', points: int = 20, key: str = 'k1', now: datetime = NOW,
             **extra: Any) -> GiveResult:  # fmt: skip
        request = GiveRequest(giver_id=giver, receiver_id=receiver, points=points, message=extra.pop('message', 'found the brake fault'),
                              value=extra.pop('value', 'teamwork'), idempotency_key=key, **extra)  # fmt: skip
        return self.recognitions.give(request, now)

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.store.client.get_item(TableName=self.store.table, Key={'pk': {'S': pk}, 'sk': {'S': sk}},
                                                                  ConsistentRead=True).get('Item')  # fmt: skip
        return found

    def given(self, giver: str, month: str = '2026-10', program: str = 'pitstop') -> int:
        item = self.item(allow_pk(program, giver), month)
        return int(item['given']['N']) if item else 0


@pytest.fixture()
def env() -> Iterator[Env]:
    with local_aws():
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), NOW - timedelta(days=30))
        store = RecognitionStore()
        yield Env(Recognitions(store, book), store, LedgerStore())


def test_a_recognition_writes_one_entry_the_balance_the_feed_and_the_notice_in_two_requests(env: Env) -> None:
    # Given Asha (Bengaluru) and Ravi (Pune, reads Hindi), both technicians of the Pitstop program
    # When Asha thanks Ravi with 20 points for teamwork
    with count_requests() as counter:
        result = env.give()
    # Then it took one BatchGetItem and one TransactWriteItems
    assert dict(counter.calls) == {('dynamodb', 'BatchGetItem'): 1, ('dynamodb', 'TransactWriteItems'): 1}
    # and she is told what is left of her 200 this month
    assert (result.program_id, result.points, result.remaining, result.allowance, result.duplicate) == ('pitstop', 20, 180, 200, False)
    # and Ravi's ledger holds exactly one RECOGNITION entry, chained, and his balance is 20
    [entry] = env.ledger.entries_for('TECH-104')
    assert (entry.kind, entry.amount, entry.entry_id) == (EntryKind.RECOGNITION, 20, result.entry_id)
    assert entry.reason.program_id == 'pitstop@1' and entry.reason.inputs['giver_id'] == 'TECH-101'
    balance = env.ledger.balance('TECH-104')
    assert (balance.available, balance.entry_count, balance.chain.seq) == (20, 1, 1)
    # and the counters, the record and both feed items are there
    assert env.given('TECH-101') == 20
    pair = env.item(pair_pk('pitstop', 'TECH-101', 'TECH-104'), '2026-10')
    assert pair is not None and pair['given'] == {'N': '20'}
    assert env.item(f'GIVE#{result.recognition_id}', '-') is not None
    sk = f'{NOW.isoformat()}#{result.recognition_id}'
    team, location = env.item('FEED#pitstop#T#MGR-2', sk), env.item('FEED#pitstop#L#IN-PNQ-01', sk)
    assert team is not None and location is not None and team == location | {'pk': team['pk']}
    # and Ravi's notice waits for the alert sender, in Hindi
    notice = AlertStore().get(alert_id(f'recognition#{result.recognition_id}', Recipient.ASSIGNEE))
    assert notice is not None and notice.subject == 'TECH-104' and notice.kind == 'recognition_received'
    assert notice.threshold is not None and notice.threshold.startswith('Asha ने Teamwork के लिए आपको 20 अंक')


def test_a_retried_idempotency_key_writes_once_and_answers_the_first_result(env: Env) -> None:
    # Given a recognition given with key k1
    first = env.give()
    # When the same key is sent again (even with other points), and the store is asked to write the same plan again
    with count_requests() as counter:
        again = env.give(points=30)
    # Then the first result comes back from the one read, and nothing more is written
    assert dict(counter.calls) == {('dynamodb', 'BatchGetItem'): 1}
    assert again.duplicate and again.recognition_id == first.recognition_id and again.points == 20 and again.remaining == 180
    assert len(env.ledger.entries_for('TECH-104')) == 1 and env.ledger.balance('TECH-104').available == 20
    assert env.given('TECH-101') == 20
    # and a write that raced past the read (the record exists) is answered from the record too
    plan = _plan(env, key='k1')
    assert env.store.write(plan, ChainHead(), NOW).duplicate
    assert len(env.ledger.entries_for('TECH-104')) == 1 and env.given('TECH-101') == 20


def _plan(env: Env, key: str) -> GivePlan:
    from shared.recognition.give import Candidate, Given, plan_give
    from tests.support.recognition import WORKSHOP

    snapshot_members = {m.employee_id: m for m in env.store.read(_want()).members.values()}
    request = GiveRequest(giver_id='TECH-101', receiver_id='TECH-104', points=20, message='found the brake fault', value='teamwork',
                          idempotency_key=key)  # fmt: skip
    return plan_give(request, Candidate(1, WORKSHOP), snapshot_members['TECH-101'], snapshot_members['TECH-104'], Given(), NOW)


def _want() -> Any:
    from shared.recognition.store import Want

    return Want(giver_ids=('TECH-101',), receiver_ids=('TECH-104',), programs=(), recognition_ids=())


def test_two_concurrent_gives_that_together_exceed_the_allowance_exactly_one_succeeds(env: Env) -> None:
    # Given Asha has 100 of her 200 left, and two recognitions of 60 each (to two people) both read that before writing
    env.give(receiver='TECH-102', points=100, key='earlier')
    barrier = threading.Barrier(2)
    original = env.store.write

    def write_after_both_read(plan: GivePlan, head: ChainHead, now: datetime, receiver_name: str | None = None) -> GiveResult:
        barrier.wait(timeout=10)
        return original(plan, head, now, receiver_name)

    env.store.write = write_after_both_read  # type: ignore[method-assign]

    def attempt(receiver: str) -> GiveResult | RecognitionRefused:
        try:
            return env.give(receiver=receiver, points=60, key=f'concurrent-{receiver}')
        except RecognitionRefused as refused:
            return refused

    # When both are sent at once
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, ['TECH-103', 'TECH-104']))
    # Then exactly one is given, the other refused with what is really left, and the allowance is never overspent
    given = [o for o in outcomes if isinstance(o, GiveResult)]
    refused = [o for o in outcomes if isinstance(o, RecognitionRefused)]
    assert len(given) == 1 and len(refused) == 1
    assert str(refused[0]) == 'points: 60 is more than your remaining allowance of 40 this month'
    assert env.given('TECH-101') == 160
    loser = 'TECH-104' if given[0].receiver_id == 'TECH-103' else 'TECH-103'
    assert env.ledger.entries_for(loser) == [] and env.item(pair_pk('pitstop', 'TECH-101', loser), '2026-10') is None


def test_refusals_write_nothing_and_name_the_field(env: Env) -> None:
    cases = {
        'allowance': {'points': 100, 'key': 'a'},
        'self': {'receiver': 'tech-101'},
        'receiver_unknown': {'receiver': 'TECH-999'},
        'receiver_inactive': {'receiver': 'TECH-105'},
        'receiver_outside': {'receiver': 'MGR-1'},
        'message_empty': {'message': ' '},
        'value_unknown': {'value': '#speed'},
    }  # fmt: skip
    env.give(receiver='TECH-102', points=100, key='first')
    env.give(receiver='TECH-103', points=50, key='second')
    for code, change in cases.items():
        with pytest.raises(RecognitionRefused) as refused:
            env.give(**change)  # type: ignore[arg-type]
        assert refused.value.code == code, (code, refused.value)
    # Nothing was written for any of them: Asha's month counter is the two allowed ones, Ravi has no entry
    assert env.given('TECH-101') == 150 and env.ledger.entries_for('TECH-104') == []
    # An agent of the support program thanking a workshop technician: judged in the agent's program, which Ravi is not in
    with pytest.raises(RecognitionRefused, match='receiver_id: TECH-104 is not in program ecommerce_support'):
        env.give(giver='AG-1')


def test_the_allowance_resets_on_the_first_in_the_programs_time_zone(env: Env) -> None:
    # Given Asha used 200 of her October allowance
    env.give(receiver='TECH-102', points=100, key='a')
    env.give(receiver='TECH-103', points=100, key='b')
    with pytest.raises(RecognitionRefused, match='remaining allowance of 0'):
        env.give(points=10, key='c', now=datetime(2026, 10, 31, 18, 0, tzinfo=UTC))  # 23:30 in Kolkata: still October
    # When she gives at 00:15 on 1 November in Kolkata (still 31 October in UTC)
    result = env.give(points=10, key='d', now=datetime(2026, 10, 31, 18, 45, tzinfo=UTC))
    # Then the new month's allowance is hers
    assert (result.month, result.remaining) == ('2026-11', 190)


def test_the_feed_pages_newest_first_with_a_cursor_bound_to_its_feed(env: Env) -> None:
    # Given five recognitions to people of MGR-1's team, a minute apart
    ids = [env.give(giver='TECH-104', receiver=receiver, points=10, key=f'f{i}', now=NOW + timedelta(minutes=i)).recognition_id
           for i, receiver in enumerate(['TECH-101', 'TECH-102', 'TECH-103', 'TECH-101', 'TECH-102'])]  # fmt: skip
    reader = FeedReader(env.store.client, env.store.table, get_settings().DIRECTORY_TABLE)
    # When the team's feed is read two at a time
    pages = []
    request = FeedRequest(program_id='pitstop', team_id='MGR-1', limit=2)
    with count_requests() as counter:
        while True:
            page = reader.page(request)
            pages.append(page)
            if page.cursor is None:
                break
            request = request.model_copy(update={'cursor': page.cursor})
    # Then the lines come newest first, every one once, with names; one Query (and one BatchGetItem for names) a page
    assert [line.entry.recognition_id for page in pages for line in page.lines] == ids[::-1]
    assert pages[0].lines[0].giver_name == 'Ravi Kumar' and pages[0].lines[0].receiver_name == 'Dev Patil'
    assert counter.calls[('dynamodb', 'Query')] == len(pages) and counter.calls[('dynamodb', 'BatchGetItem')] <= len(pages)
    # and a cursor of this feed is refused by another
    with pytest.raises(InvalidPayload, match='another feed') as refused:
        reader.page(FeedRequest(program_id='pitstop', location_id='IN-BLR-01', cursor=pages[0].cursor))
    assert refused.value.field == 'cursor'


def test_the_functions_give_and_read_the_feed(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the programs published under PROGRAMS_PATH
    from functions.recognition_feed.app import lambda_handler as feed
    from functions.recognition_give.app import lambda_handler as give
    from shared.programs.loader import clear_cache
    from tests.support.apigw import lambda_context

    _publish_programs(monkeypatch)
    # When the console event is invoked twice
    event = json.loads((EVENTS / 'recognition_give.json').read_text())
    first, second = give(event, lambda_context()), give(event, lambda_context())
    # Then one recognition is given, the retry answers the same one
    assert first['ok'] and first['remaining'] == 180 and not first['duplicate']
    assert second['ok'] and second['duplicate'] and second['recognition_id'] == first['recognition_id']
    # and a refusal names the field and the reason
    refused = give(event | {'points': 500, 'idempotency_key': 'other'}, lambda_context())
    assert refused == {'ok': False, 'refused': 'points_max', 'field': 'points',
                       'error': 'points: 500 is more than the most of 100 points in one recognition'}  # fmt: skip
    assert give(event | {'points': 'many'}, lambda_context())['field'] == 'points'
    # and the feed function shows it on Ravi's location feed; a forged cursor is a 400
    page = feed({'feed': {'program_id': 'pitstop', 'location_id': 'IN-PNQ-01'}}, lambda_context())
    assert page['ok'] and [line['entry']['recognition_id'] for line in page['lines']] == [first['recognition_id']]
    assert feed({'program_id': 'pitstop', 'team_id': 'MGR-2', 'cursor': 'x'}, lambda_context())['status'] == 400
    clear_cache()


def _publish_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.programs.loader import clear_cache

    ssm = boto3.client('ssm', region_name='us-east-1')
    for name, file in (('pitstop', 'program_workshop.json'), ('ecommerce_support', 'program_support.json')):
        ssm.put_parameter(Name=f'/pitcrew/test/programs/{name}', Value=(EVENTS / file).read_text(), Type='String', Tier='Intelligent-Tiering')
    monkeypatch.setenv('PROGRAMS_PATH', '/pitcrew/test/programs')
    get_settings.cache_clear()
    parameters.clear_caches()
    clear_cache()


def test_thanks_over_whatsapp_is_answered_in_hindi_with_the_allowance_left(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.twilio_webhooks import app as twilio_app
    from infrastructure.local.fake_twilio import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN
    from shared.programs.loader import clear_cache
    from tests.integration.test_twilio_conversations import TWILIO_PARAMETER, call, message_of

    monkeypatch.setenv('TWILIO_PARAMETER', TWILIO_PARAMETER)
    monkeypatch.setenv('PUBLIC_API_BASE_URL', 'https://hooks.example.com')
    with local_aws():
        account = {'account_sid': LOCAL_ACCOUNT_SID, 'auth_token': LOCAL_AUTH_TOKEN, 'whatsapp_from': 'whatsapp:+14155238886',
                   'sms_from': '+15005550006'}  # fmt: skip
        boto3.client('ssm', region_name='us-east-1').put_parameter(Name=TWILIO_PARAMETER, Value=json.dumps(account), Type='SecureString')
        _publish_programs(monkeypatch)
        twilio_app.conversations.cache_clear()
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime.now(UTC) - timedelta(days=30))

        def thanks(body: str, sid: str) -> str:
            return message_of(call('/twilio/inbound', {'MessageSid': sid, 'AccountSid': LOCAL_ACCOUNT_SID, 'From': f'whatsapp:{RAVI_PHONE}',
                                                       'To': 'whatsapp:+14155238886', 'Body': body, 'NumMedia': '0'}))  # fmt: skip

        # When Ravi (Hindi) thanks Asha by her code in lower case, with the Hindi keyword
        answer = thanks('धन्यवाद tech-101 25 क्लच का काम समय पर पूरा किया #teamwork', 'SM' + 'a' * 32)
        # Then he is told in Hindi what was sent and what is left of his allowance
        assert 'धन्यवाद भेजा गया: Teamwork के लिए Asha को 25 अंक। इस महीने देने के लिए आपके पास 175 अंक बचे हैं।' in answer
        [entry] = LedgerStore().entries_for('TECH-101')
        assert entry.amount == 25 and entry.reason.inputs['message'] == 'क्लच का काम समय पर पूरा किया'
        # When Twilio retries the same message, nothing more is given
        assert 'पहले ही भेजा जा चुका है' in thanks('धन्यवाद tech-101 25 क्लच का काम समय पर पूरा किया #teamwork', 'SM' + 'a' * 32)
        assert len(LedgerStore().entries_for('TECH-101')) == 1
        # When he asks for more than is left, or names no value, he is told why in Hindi and nothing is written
        assert 'आपके पास 75 अंक बचे हैं' in thanks('DHANYAVAAD TECH-102 100 बढ़िया #teamwork', 'SM' + 'b' * 32)
        refused = thanks('DHANYAVAAD TECH-103 100 बढ़िया #teamwork', 'SM' + 'e' * 32)
        assert 'नहीं भेजा गया: 100 इस महीने आपके बचे हुए 75 अंक से अधिक है।' in refused
        assert 'नहीं भेजा गया: #speed कार्यक्रम pitstop का मूल्य नहीं है' in thanks('धन्यवाद TECH-103 10 बढ़िया #speed', 'SM' + 'c' * 32)
        assert 'धन्यवाद &lt;कर्मचारी कोड&gt;' in thanks('धन्यवाद', 'SM' + 'd' * 32)
        assert LedgerStore().entries_for('TECH-103') == []
        twilio_app.conversations.cache_clear()
        clear_cache()


def test_forgetting_a_person_blanks_the_messages_of_their_recognitions(env: Env) -> None:
    # Given Asha thanked Ravi, and Dev thanked Asha
    to_ravi = env.give()
    env.give(giver='TECH-102', receiver='TECH-101', key='k2', message='Asha stayed late for the Rao job')
    # When Asha leaves and is forgotten
    from shared.alerts.store import AlertStore as Alerts
    from shared.directory.contacts import ContactBook
    from shared.privacy.erase import Eraser
    from shared.privacy.forget import ForgetRequest
    from shared.quarantine.store import QuarantineStore

    DirectoryStore().import_rows(parse_export('\n'.join(r for r in DIRECTORY.splitlines() if not r.startswith('TECH-101,')), 'csv'), NOW)
    eraser = Eraser(DirectoryStore(), ContactBook(), Alerts(), QuarantineStore(), recognition=env.store)
    report = eraser.forget(ForgetRequest(employee_id='TECH-101', quarantine_days=1), 'test', NOW)
    # Then both recognitions' messages are blank in the records and the feeds; ids and points stay
    assert report.recognitions == 2
    record = env.item(f'GIVE#{to_ravi.recognition_id}', '-')
    assert record is not None and json.loads(record['record']['S'])['message'] == '' and record['points'] == {'N': '20'}
    team = env.item('FEED#pitstop#T#MGR-2', f'{NOW.isoformat()}#{to_ravi.recognition_id}')
    assert team is not None and team['message'] == {'S': ''} and team['giver_id'] == {'S': 'TECH-101'}
    # and a second run finds nothing left
    assert eraser.forget(ForgetRequest(employee_id='TECH-101', quarantine_days=1), 'test', NOW).recognitions == 0


def test_a_concurrent_give_to_the_same_person_is_refused_at_the_pair_cap(env: Env) -> None:
    # Given Asha gave Ravi 60 of the 100 one giver may give one receiver a month, and two gives of 30 to him both read that
    env.give(points=60, key='earlier')
    barrier = threading.Barrier(2)
    original = env.store.write

    def write_after_both_read(plan: GivePlan, head: ChainHead, now: datetime, receiver_name: str | None = None) -> GiveResult:
        barrier.wait(timeout=10)
        return original(plan, head, now, receiver_name)

    env.store.write = write_after_both_read  # type: ignore[method-assign]

    def attempt(key: str) -> GiveResult | RecognitionRefused:
        try:
            return env.give(points=30, key=key)
        except RecognitionRefused as refused:
            return refused

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, ['p1', 'p2']))
    # Then one is given and the other refused at the pair cap with what is really left (her allowance had room)
    refused = [o for o in outcomes if isinstance(o, RecognitionRefused)]
    assert len(refused) == 1 and refused[0].code == 'pair_cap' and refused[0].params['left'] == 10
    assert env.ledger.balance('TECH-104').available == 90 and env.given('TECH-101') == 90


def test_a_ledger_chain_moved_by_another_writer_is_read_again_and_the_entry_chained_after_it(env: Env) -> None:
    # Given an admin adjustment lands on Ravi's ledger between the recognition's read and its write
    from shared.ledger.entries import EntryReason, EntryStatus, LedgerEntry

    original = env.store.write

    def write_after_an_adjustment(plan: GivePlan, head: ChainHead, now: datetime, receiver_name: str | None = None) -> GiveResult:
        adjustment = LedgerEntry(entry_id='A' + '1' * 32, employee_id='TECH-104', amount=5, kind=EntryKind.ADJUSTMENT,
                                 status=EntryStatus.AVAILABLE, occurred_at=now, recorded_at=now,
                                 reason=EntryReason(ticket_key='admin', source_event_id='adj-1', basis_event_id='adj-1', rule_id='adjustment',
                                                    rule_version=1))  # fmt: skip
        assert env.ledger.append_adjustment(adjustment)
        return original(plan, head, now, receiver_name)

    env.store.write = write_after_an_adjustment  # type: ignore[method-assign]
    # When Asha's recognition is written on the head it read
    result = env.give()
    # Then it is chained after the adjustment: two entries, seq 2, the balance is both
    assert not result.duplicate
    balance = env.ledger.balance('TECH-104')
    assert (balance.available, balance.entry_count, balance.chain.seq) == (25, 2, 2)
    stored = sorted(env.ledger.stored_entries('TECH-104'), key=lambda e: e.seq or 0)
    assert [e.seq for e in stored] == [1, 2] and stored[1].prev_hash == stored[0].hash


def test_the_local_run_gives_recognitions_in_the_sample_month_and_prints_the_feed_heads(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infrastructure.recognition import give_and_report
    from shared.programs.loader import clear_cache

    _publish_programs(monkeypatch)
    # When make run's step gives recognitions during October, twice
    figures = give_and_report('2026-10', per_program=12)
    again = give_and_report('2026-10', per_program=12)
    printed = capsys.readouterr().out
    # Then recognitions were given in October (the month's allowances), printed per location newest first,
    # and the second run gave nothing more (the same idempotency keys)
    assert figures['given'].get('pitstop', 0) > 0 and figures == again
    assert 'feed pitstop · IN-BLR-01 (newest first)' in printed
    entries = [e for p in ('TECH-101', 'TECH-102', 'TECH-103', 'TECH-104', 'TECH-106') for e in env.ledger.entries_for(p)]
    assert len(entries) == figures['given']['pitstop'] and all(e.period == '2026-10' for e in entries)
    clear_cache()


def test_terima_kasih_over_whatsapp_is_answered_in_bahasa_indonesia(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.twilio_webhooks import app as twilio_app
    from infrastructure.local.fake_twilio import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN
    from shared.programs.loader import clear_cache
    from tests.integration.test_twilio_conversations import TWILIO_PARAMETER, call, message_of

    monkeypatch.setenv('TWILIO_PARAMETER', TWILIO_PARAMETER)
    monkeypatch.setenv('PUBLIC_API_BASE_URL', 'https://hooks.example.com')
    with local_aws():
        account = {'account_sid': LOCAL_ACCOUNT_SID, 'auth_token': LOCAL_AUTH_TOKEN, 'whatsapp_from': 'whatsapp:+14155238886',
                   'sms_from': '+15005550006'}  # fmt: skip
        boto3.client('ssm', region_name='us-east-1').put_parameter(Name=TWILIO_PARAMETER, Value=json.dumps(account), Type='SecureString')
        _publish_programs(monkeypatch)
        twilio_app.conversations.cache_clear()
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), datetime.now(UTC) - timedelta(days=30))

        def thanks(body: str, sid: str) -> str:
            return message_of(call('/twilio/inbound', {'MessageSid': sid, 'AccountSid': LOCAL_ACCOUNT_SID, 'From': f'whatsapp:{SARI_PHONE}',
                                                       'To': 'whatsapp:+14155238886', 'Body': body, 'NumMedia': '0'}))  # fmt: skip

        # When Sari (Indonesian) thanks Asha with the two-word keyword, the code in lower case
        answer = thanks('Terima kasih tech-101 25 rem mobilnya beres tepat waktu #teamwork', 'SM' + 'a' * 32)
        # Then she is told in Indonesian what was sent and what is left of her allowance, and Asha got the points
        assert 'Terima kasih terkirim: 25 poin untuk Asha atas Teamwork. Sisa poin yang dapat Anda berikan bulan ini: 175.' in answer
        [entry] = LedgerStore().entries_for('TECH-101')
        assert entry.amount == 25 and entry.reason.inputs['message'] == 'rem mobilnya beres tepat waktu'
        # When Twilio retries the same message, nothing more is given
        assert 'Sudah terkirim: 25 poin untuk Asha' in thanks('Terima kasih tech-101 25 rem mobilnya beres tepat waktu #teamwork', 'SM' + 'a' * 32)
        assert len(LedgerStore().entries_for('TECH-101')) == 1
        # When she asks for more than is left, names no program value, or gives no code: told why in Indonesian, nothing written
        assert 'Tidak terkirim: 200 lebih dari batas maksimum 100 poin untuk satu apresiasi.' in thanks(
            'TERIMAKASIH TECH-103 200 mantap #teamwork', 'SM' + 'b' * 32)
        assert 'Tidak terkirim: #speed bukan nilai program pitstop' in thanks('TERIMA KASIH TECH-103 10 mantap #speed', 'SM' + 'c' * 32)
        assert 'TERIMA KASIH &lt;kode karyawan&gt;' in thanks('TERIMA KASIH', 'SM' + 'd' * 32)
        assert LedgerStore().entries_for('TECH-103') == []
        twilio_app.conversations.cache_clear()
        clear_cache()


@pytest.mark.parametrize(('receiver', 'phone', 'expected'), [
    ('TECH-104', RAVI_PHONE, 'Ravi, Pitstop: after-sales workshop league: Asha ने Teamwork के लिए आपको 20 अंक देकर धन्यवाद दिया'),
    ('TECH-106', SARI_PHONE, 'Sari, Pitstop: after-sales workshop league: Asha berterima kasih kepada Anda dengan 20 poin untuk Teamwork'),
], ids=['hi', 'id'])  # fmt: skip
def test_the_receivers_notice_reaches_them_by_sms_in_their_language(env: Env, receiver: str, phone: str, expected: str) -> None:
    from infrastructure.local.fake_twilio import FakeTwilio, local_twilio_client
    from shared.alerts.quiet_hours import QuietHours
    from shared.alerts.settings import AlertSettings
    from shared.directory.contacts import ContactBook
    from shared.notify import EmailContent
    from shared.notify.dispatch import AlertDispatcher, Outcome
    from shared.notify.messaging import MessagingSettings, TwilioMessenger
    from shared.sla.config import ServiceConfig
    from tests.integration.test_messaging import SimulatedTime

    # Given Asha thanked Ravi (Hindi) or Sari (Indonesian); no WhatsApp template configured: SMS
    result = env.give(receiver=receiver)
    with FakeTwilio(port=0) as fake:
        clock = SimulatedTime()
        messenger = TwilioMessenger(local_twilio_client(fake), MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006'),
                                    sleep=clock.sleep, clock=clock.clock, jitter=lambda: 1.0)  # fmt: skip

        def no_email(to: str, content: EmailContent) -> str | None:
            raise AssertionError('no e-mail expected')

        config = ServiceConfig(alerts=AlertSettings(quiet_hours=QuietHours(start='00:00', end='00:00')))
        dispatcher = AlertDispatcher(alerts=AlertStore(), contacts=ContactBook(), messenger=lambda: messenger, email=no_email,
                                     config=lambda: config, wall=lambda: 0.0)  # fmt: skip
        # When the alert sender delivers the notice
        delivered = dispatcher.deliver(alert_id(f'recognition#{result.recognition_id}', Recipient.ASSIGNEE),
                                       datetime.now(UTC) + timedelta(seconds=5), 0.0, claim_id='c-1')  # fmt: skip
        # Then the receiver reads, in their language, who thanked them, for what and why
        assert delivered.outcome is Outcome.SENT, delivered
        sent = fake.messages[-1]
    assert sent['to'] == phone
    assert sent['body'].startswith(expected)
    assert 'found the brake fault' in sent['body']
