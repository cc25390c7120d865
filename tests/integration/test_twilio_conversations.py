"""POST /twilio/status and /twilio/inbound through the twilio_webhooks function: X-Twilio-Signature verified over the
public URL (the Twilio account in SSM, moto), status callbacks stored on their alert, inbound commands answered in the
person's language, and nothing about anyone sent to a number the directory does not know."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from twilio.request_validator import RequestValidator

from functions.twilio_webhooks import app
from infrastructure.local.fake_twilio import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN, FakeTwilio, local_twilio_client
from shared.alerts.plan import AlertKind, Recipient, TicketAlerts
from shared.alerts.quiet_hours import QuietHours
from shared.alerts.scan import AlertMessage
from shared.alerts.settings import AlertSettings
from shared.alerts.store import AlertStore
from shared.alerts.sync import PendingAlert, alert_id
from shared.config import get_settings
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Kind
from shared.notify import EmailContent
from shared.notify.conversations import twiml
from shared.notify.dispatch import AlertDispatcher, Outcome
from shared.notify.messaging import MessagingSettings, TwilioMessenger
from shared.quarantine.store import QuarantineStore
from shared.sla.config import ServiceConfig
from tests.integration.test_messaging import SimulatedTime
from tests.support.apigw import http_api_event, lambda_context
from tests.support.local_aws import LocalAws, local_aws

BASE = 'https://hooks.example.com'
TWILIO_PARAMETER = '/pitcrew/test/twilio'
TEMPLATE = 'HX' + 'd' * 32
PRIYA, LUCIA, SHARED, STRANGER = '+919812345678', '+34611222333', '+15005550077', '+15005550999'
BUDI = '+6281234567890'
NOW = datetime.now(UTC).replace(microsecond=0)
DIRECTORY = f"""employee_id,name,role,location_id,manager_id,phone,whatsapp_opt_in,email,time_zone,language,alert_channel
E1,Priya Sharma,agent,L1,,{PRIYA},yes,,UTC,en,
E7,Lucía Fernández,agent,L2,,{LUCIA},yes,,Europe/Madrid,es,
E8,Pat One,agent,L1,,{SHARED},no,,UTC,en,
E9,Pat Two,agent,L1,,{SHARED},no,,UTC,en,
E10,Budi Santoso,service_advisor,L3,,{BUDI},yes,,Asia/Jakarta,id,
"""
NOT_REGISTERED = 'This number is not registered with Pitcrew. Please contact your administrator.'


@dataclass
class Env:
    aws: LocalAws
    fake: FakeTwilio
    store: AlertStore
    contacts: ContactBook


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv('TWILIO_PARAMETER', TWILIO_PARAMETER)
    monkeypatch.setenv('PUBLIC_API_BASE_URL', BASE)
    with local_aws() as aws, FakeTwilio(port=0) as fake:
        account = {'account_sid': LOCAL_ACCOUNT_SID, 'auth_token': LOCAL_AUTH_TOKEN, 'whatsapp_from': 'whatsapp:+14155238886',
                   'sms_from': '+15005550006'}  # fmt: skip
        boto3.client('ssm', region_name='us-east-1').put_parameter(Name=TWILIO_PARAMETER, Value=json.dumps(account), Type='SecureString')
        get_settings.cache_clear()
        parameters.clear_caches()
        app.conversations.cache_clear()
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), NOW - timedelta(days=30))
        yield Env(aws, fake, AlertStore(), ContactBook())
        app.conversations.cache_clear()


def call(
    path: str, params: dict[str, str], *, query: str = '', signature: str | None = None, signed_url: str | None = None
) -> dict[str, Any]:
    """POST the form to the function as API Gateway (HTTP API) delivers it, signed as Twilio signs it unless told otherwise."""
    url = signed_url or f'{BASE}{path}' + (f'?{query}' if query else '')
    if signature is None:
        signature = RequestValidator(LOCAL_AUTH_TOKEN).compute_signature(url, params)
    event = http_api_event(path, urlencode(params).encode(), {'Content-Type': 'application/x-www-form-urlencoded',
                                                              'Host': 'abc123.execute-api.us-east-1.amazonaws.com',
                                                              'X-Twilio-Signature': signature, 'User-Agent': 'TwilioProxy/1.1'})  # fmt: skip
    event['routeKey'] = event['requestContext']['routeKey'] = f'POST {path}'
    event['rawQueryString'] = query
    event.pop('pathParameters')
    if query:
        event['queryStringParameters'] = dict(parse_qsl(query))
    response: dict[str, Any] = app.lambda_handler(event, lambda_context())
    return response


def replay_callback(callback: dict[str, Any], signature: str | None = None) -> dict[str, Any]:
    """A status callback the fake Twilio signed (for BASE, unreachable from here), delivered to the function."""
    url = urlsplit(callback['url'])
    assert f'{url.scheme}://{url.netloc}' == BASE
    return call(url.path, callback['params'], query=url.query, signature=signature or callback['signature'])


def inbound(sender: str, body: str) -> dict[str, Any]:
    return call('/twilio/inbound', {'MessageSid': 'SM' + 'e' * 32, 'AccountSid': LOCAL_ACCOUNT_SID, 'From': sender,
                                    'To': 'whatsapp:+14155238886' if sender.startswith('whatsapp:') else '+15005550006',
                                    'Body': body, 'NumMedia': '0'})  # fmt: skip


def send_alert(env: Env) -> PendingAlert:
    """Priya's WhatsApp alert, sent through the fake Twilio with the status callback on BASE."""
    alert = PendingAlert(alert_id=alert_id('zendesk#1001|sla_risk|first_response|75%', Recipient.ASSIGNEE), ticket_key='zendesk#1001',
                         ref='#1001', kind=AlertKind.SLA_RISK, metric='first_response', threshold='75%', role=Recipient.ASSIGNEE,
                         subject='E1', due_at=NOW - timedelta(minutes=1))  # fmt: skip
    env.store.upsert(alert, NOW - timedelta(hours=1))
    clock = SimulatedTime()
    messenger = TwilioMessenger(local_twilio_client(env.fake), MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006'),
                                sleep=clock.sleep, clock=clock.clock, jitter=lambda: 1.0)  # fmt: skip

    def no_email(to: str, content: EmailContent) -> str | None:
        raise AssertionError('no e-mail expected')

    dispatcher = AlertDispatcher(alerts=env.store, contacts=env.contacts, messenger=lambda: messenger, email=no_email,
                                 config=lambda: ServiceConfig(alerts=AlertSettings(whatsapp_templates={AlertKind.SLA_RISK: {'en': TEMPLATE}},
                                                                                   quiet_hours=QuietHours(start='00:00', end='00:00'))),
                                 callback_base=BASE, wall=lambda: 0.0)  # fmt: skip
    assert dispatcher.deliver(alert.alert_id, NOW, 0.0, claim_id='msg-1').outcome is Outcome.SENT
    return alert


def alerts_queue(env: Env) -> list[AlertMessage]:
    url = env.aws.queues['AlertsQueue']
    found: list[AlertMessage] = []
    while batch := env.aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get('Messages', []):
        for message in batch:
            env.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message['ReceiptHandle'])
            found.append(AlertMessage.model_validate_json(message['Body']))
    return found


def quarantined_today() -> list[dict[str, object]]:
    days = {f'{NOW:%Y-%m-%d}', f'{datetime.now(UTC):%Y-%m-%d}'}
    return [item for day in sorted(days) for item in QuarantineStore().list_day(day)]


def message_of(response: dict[str, Any]) -> str:
    assert response['statusCode'] == 200 and response['headers']['Content-Type'] == 'text/xml'
    body: str = response['body']
    return body


# --- status callbacks -------------------------------------------------------------------------------------


def test_signed_status_callbacks_are_answered_204_and_stored_on_the_alert(env: Env) -> None:
    # Given Priya's WhatsApp alert went out and Twilio signed its callbacks (sent, then delivered)
    alert = send_alert(env)
    sent_cb, delivered_cb = env.fake.deliver_status_callbacks()
    assert (sent_cb['params']['MessageStatus'], delivered_cb['params']['MessageStatus']) == ('sent', 'delivered')

    # When the function receives them out of order
    answers = [replay_callback(delivered_cb), replay_callback(sent_cb)]

    # Then both are accepted with 204, the alert says delivered, and its history keeps both
    assert [a['statusCode'] for a in answers] == [204, 204]
    item = env.store.get(alert.alert_id)
    assert item is not None and (item.message_sid, item.message_status) == (sent_cb['params']['MessageSid'], 'delivered')
    assert [entry.split('@')[0] for entry in item.history] == ['queued', 'whatsapp:delivered', 'whatsapp:sent']
    assert quarantined_today() == []


def test_a_callback_with_a_wrong_signature_is_refused_kept_in_quarantine_and_not_stored(env: Env) -> None:
    # Given a delivered callback for Priya's alert whose signature does not match (signed with another token)
    alert = send_alert(env)
    _, delivered_cb = env.fake.deliver_status_callbacks()
    forged = RequestValidator('not-the-auth-token').compute_signature(delivered_cb['url'], delivered_cb['params'])

    # When the function receives it
    answer = replay_callback(delivered_cb, signature=forged)

    # Then it is refused with 401, the alert is unchanged, and the request is kept in the quarantine with the reason
    assert answer['statusCode'] == 401
    item = env.store.get(alert.alert_id)
    assert item is not None and item.message_status == 'queued' and len(item.history) == 1
    [kept] = quarantined_today()
    assert (kept['source'], kept['field'], kept['status_code'], kept['stage']) == ('twilio', 'headers.x-twilio-signature', 401, 'ingest')


def test_a_callback_signed_for_another_url_is_refused(env: Env) -> None:
    # Given a callback correctly signed, but over the execute-api URL instead of the public one Twilio is configured with
    alert = send_alert(env)
    _, delivered_cb = env.fake.deliver_status_callbacks()
    query = urlsplit(delivered_cb['url']).query
    other = f'https://abc123.execute-api.us-east-1.amazonaws.com/twilio/status?{query}'

    # When the function receives it
    answer = call('/twilio/status', delivered_cb['params'], query=query, signed_url=other)

    # Then it is refused and nothing is stored
    assert answer['statusCode'] == 401
    item = env.store.get(alert.alert_id)
    assert item is not None and item.message_status == 'queued'


def test_a_whatsapp_failure_callback_queues_one_sms_fallback(env: Env) -> None:
    # Given Priya's WhatsApp alert is accepted, then fails (63016) in its signed callback
    env.fake.async_failure(f'whatsapp:{PRIYA}', 63016)
    alert = send_alert(env)
    [failed_cb] = env.fake.deliver_status_callbacks()

    # When the function receives the callback, and Twilio retries it
    answers = [replay_callback(failed_cb), replay_callback(failed_cb)]

    # Then both are answered 204, the failure is on the alert, and one SMS fallback is queued
    assert [a['statusCode'] for a in answers] == [204, 204]
    item = env.store.get(alert.alert_id)
    assert item is not None and (item.message_status, item.error_code) == ('failed', 63016)
    assert [(m.alert, m.fallback) for m in alerts_queue(env)] == [(alert.alert_id, 'sms')]


# --- inbound commands ---------------------------------------------------------------------------------------


def test_whatsapp_stop_records_the_opt_out_and_answers_in_the_persons_language(env: Env) -> None:
    # Given Lucía (Spanish) is opted in to WhatsApp
    # When she sends STOP over WhatsApp
    answer = inbound(f'whatsapp:{LUCIA}', 'STOP')

    # Then her WhatsApp opt-out is recorded for her number and the TwiML reply is in Spanish
    contact = env.contacts.contact('E7')
    assert contact is not None and contact.opted_out == frozenset({'whatsapp'})
    assert message_of(answer) == twiml('Ya no recibirá alertas de Pitcrew por WhatsApp. Responda START para reanudarlas.')


def test_whatsapp_start_removes_the_opt_out(env: Env) -> None:
    # Given Lucía opted out of WhatsApp
    inbound(f'whatsapp:{LUCIA}', 'BAJA')
    before = env.contacts.contact('E7')
    assert before is not None and before.opted_out == frozenset({'whatsapp'})

    # When she sends START
    answer = inbound(f'whatsapp:{LUCIA}', 'START')

    # Then she is opted in again, and told so in Spanish
    contact = env.contacts.contact('E7')
    assert contact is not None and contact.opted_out == frozenset()
    assert message_of(answer) == twiml('Las alertas de Pitcrew por WhatsApp están activas de nuevo.')


def test_sms_stop_records_the_opt_out_and_leaves_the_reply_to_twilio(env: Env) -> None:
    # Given Priya texts STOP by SMS
    # When the function receives it
    answer = inbound(PRIYA, 'STOP')

    # Then her SMS opt-out is recorded (not WhatsApp) and the TwiML is empty: Twilio confirms an SMS STOP itself
    contact = env.contacts.contact('E1')
    assert contact is not None and contact.opted_out == frozenset({'sms'})
    assert message_of(answer) == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def test_points_replies_with_the_balance_in_the_persons_language(env: Env) -> None:
    # Given Lucía has 120 points available and 30 pending (two awards in her pending view)
    env.aws.dynamodb.put_item(TableName=get_settings().BALANCES_TABLE, Item={
        'pk': {'S': 'EMP#E7'}, 'available': {'N': '120'}, 'lifetime_earned': {'N': '150'}, 'entry_count': {'N': '4'}})  # fmt: skip
    for entry_id, amount in (('Ea', '10'), ('Eb', '20')):
        env.aws.dynamodb.put_item(TableName=get_settings().PENDING_TABLE, Item={
            'pk': {'S': 'EMP#E7'}, 'sk': {'S': entry_id}, 'amount': {'N': amount}, 'ticket_key': {'S': 'zendesk#1'}, 'award': {'S': '{}'}})  # fmt: skip

    # When she asks for her points, in English and in Spanish
    english_keyword, spanish_keyword = inbound(f'whatsapp:{LUCIA}', 'points'), inbound(f'whatsapp:{LUCIA}', 'PUNTOS')

    # Then both answers give her balance, in Spanish
    expected = twiml('Tiene 120 puntos disponibles y 30 pendientes.')
    assert message_of(english_keyword) == message_of(spanish_keyword) == expected


def test_today_lists_the_worklist_in_the_persons_language(env: Env) -> None:
    # Given Lucía's worklist: a ticket due at 17:00Z and a job card awaiting approval, promised tomorrow 09:00Z
    due = NOW.replace(hour=17, minute=0, second=0)
    promised = (NOW + timedelta(days=1)).replace(hour=9, minute=0, second=0)
    env.store.put_worklist(TicketAlerts(ticket_key='zendesk#1001', kind=Kind.TICKET, ref='#1001', owner='E7', sla_due_at=due))
    env.store.put_worklist(TicketAlerts(ticket_key='dms#JC-7', kind=Kind.JOB_CARD, ref='JC-7', owner='E7', approval_since=NOW - timedelta(hours=2),
                                        promised_at=promised))  # fmt: skip

    # When she sends HOY
    answer = message_of(inbound(f'whatsapp:{LUCIA}', 'HOY'))

    # Then the reply, in Spanish, counts them and lists both references, the soonest first
    assert answer.startswith(twiml('Abiertos: 2 (1 órdenes, 1 esperan aprobación).').removesuffix('</Message></Response>'))
    assert answer.index('- #1001') < answer.index('- JC-7')


def test_an_indonesian_reader_is_answered_in_bahasa_indonesia_whatever_keyword_they_use(env: Env) -> None:
    # Given Budi (Jakarta, reads Indonesian) has 1,250 points available and 30 pending, and two items open
    env.aws.dynamodb.put_item(TableName=get_settings().BALANCES_TABLE, Item={
        'pk': {'S': 'EMP#E10'}, 'available': {'N': '1250'}, 'lifetime_earned': {'N': '1250'}, 'entry_count': {'N': '3'}})  # fmt: skip
    env.aws.dynamodb.put_item(TableName=get_settings().PENDING_TABLE, Item={
        'pk': {'S': 'EMP#E10'}, 'sk': {'S': 'Ea'}, 'amount': {'N': '30'}, 'ticket_key': {'S': 'dms#1'}, 'award': {'S': '{}'}})  # fmt: skip
    promised = (NOW + timedelta(days=1)).replace(hour=2, minute=30, second=0)  # 09.30 in Jakarta
    env.store.put_worklist(TicketAlerts(ticket_key='dms#JC-7', kind=Kind.JOB_CARD, ref='JC-7', owner='E10', approval_since=NOW - timedelta(hours=2),
                                        promised_at=promised))  # fmt: skip
    points = twiml('Anda memiliki 1.250 poin tersedia dan 30 poin tertunda.')

    # When he asks for his points in Indonesian (POIN, saldo) and in English
    # Then every answer gives his balance in Indonesian, thousands grouped with a period
    assert [message_of(inbound(f'whatsapp:{BUDI}', body)) for body in ('POIN', 'saldo', 'points')] == [points] * 3

    # When he sends HARI INI (two words, any case)
    today = message_of(inbound(f'whatsapp:{BUDI}', 'hari ini'))
    # Then his work is listed in Indonesian, the promised time in Jakarta time, written with a period
    assert today.startswith(twiml('Terbuka: 1 (1 perintah kerja, 1 menunggu persetujuan).').removesuffix('</Message></Response>'))
    assert f'- JC-7 {promised.day:02d} ' in today and ' 09.30 (menunggu persetujuan)' in today

    # When he sends something Pitcrew does not know, he gets the Indonesian help with the Indonesian commands
    assert 'Perintah Pitcrew: POIN, PERINGKAT, HARI INI, SANGGAH' in message_of(inbound(f'whatsapp:{BUDI}', 'halo'))


def test_berhenti_and_mulai_stop_and_resume_whatsapp_alerts_in_bahasa_indonesia(env: Env) -> None:
    # Given Budi is opted in to WhatsApp
    # When he sends BERHENTI, then MULAI
    stopped = message_of(inbound(f'whatsapp:{BUDI}', 'BERHENTI'))
    contact = env.contacts.contact('E10')
    assert contact is not None and contact.opted_out == frozenset({'whatsapp'})
    started = message_of(inbound(f'whatsapp:{BUDI}', 'Mulai'))

    # Then his opt-out is recorded and lifted, each time told in Indonesian
    assert stopped == twiml('Anda tidak akan lagi menerima notifikasi Pitcrew di WhatsApp. Balas START untuk mengaktifkannya kembali.')
    assert started == twiml('Notifikasi Pitcrew di WhatsApp aktif kembali.')
    contact = env.contacts.contact('E10')
    assert contact is not None and contact.opted_out == frozenset()


def test_an_unknown_or_shared_number_gets_the_fixed_reply_and_no_data(env: Env) -> None:
    # Given the directory knows Lucía's balance and worklist, and two people share one number
    env.aws.dynamodb.put_item(TableName=get_settings().BALANCES_TABLE, Item={'pk': {'S': 'EMP#E8'}, 'available': {'N': '777'},
                                                                            'pending': {'N': '0'}})  # fmt: skip
    env.store.put_worklist(TicketAlerts(ticket_key='zendesk#1001', kind=Kind.TICKET, ref='#1001', owner='E8'))

    # When a stranger and the shared number ask for points and today's work, and a stranger sends STOP
    answers = [message_of(inbound(sender, body)) for sender in (f'whatsapp:{STRANGER}', STRANGER, f'whatsapp:{SHARED}')
               for body in ('POINTS', 'TODAY', 'STOP')]  # fmt: skip

    # Then every answer is the fixed "not registered" reply, with no balance or worklist in it, and nobody's record changed
    assert set(answers) == {twiml(NOT_REGISTERED)}
    assert not any('777' in a or '#1001' in a for a in answers)
    for employee in ('E8', 'E9'):
        contact = env.contacts.contact(employee)
        assert contact is not None and contact.opted_out == frozenset()


def test_an_unsigned_inbound_message_is_refused_and_not_answered(env: Env) -> None:
    # Given an inbound STOP without a valid signature (someone posting to the public URL)
    # When the function receives it
    answer = call('/twilio/inbound', {'MessageSid': 'SM' + 'f' * 32, 'From': f'whatsapp:{LUCIA}', 'Body': 'STOP'}, signature='')

    # Then it is refused, nothing is recorded and no TwiML is returned
    assert answer['statusCode'] == 401 and '<Response>' not in answer['body']
    contact = env.contacts.contact('E7')
    assert contact is not None and contact.opted_out == frozenset()
    assert [(k['source'], k['field']) for k in quarantined_today()] == [('twilio', 'headers.x-twilio-signature')]


# --- configuration faults (README, "Safety nets") -------------------------------------------------------------------


@pytest.mark.parametrize('stored', [None, '{"account_sid": "not-a-sid"}', 'not json'], ids=['missing', 'invalid', 'not-json'])
def test_an_unreadable_twilio_parameter_is_logged_by_name_and_answered_503(
    env: Env, stored: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the Twilio account parameter is missing, or holds something that is not an account
    ssm = boto3.client('ssm', region_name='us-east-1')
    ssm.delete_parameter(Name=TWILIO_PARAMETER)
    if stored is not None:
        ssm.put_parameter(Name=TWILIO_PARAMETER, Value=stored, Type='SecureString')
    parameters.clear_caches()

    # When Twilio posts an inbound message and a status callback
    answers = [inbound('whatsapp:+919800000001', 'POINTS'), call('/twilio/status', {'MessageSid': 'SM' + 'a' * 32, 'MessageStatus': 'delivered'},
                                                                  query='alert=a-1')]  # fmt: skip

    # Then both are answered 503 (Twilio's Debugger records it; its fallback URL or #rp=5xx retries), nothing raised,
    # and the log names the parameter and the error's kind without any of the parameter's content
    assert [(a['statusCode'], a['body']) for a in answers] == [(503, 'temporarily unavailable')] * 2
    errors = [record for record in caplog.records if record.levelname == 'ERROR']
    assert len(errors) == 2 and all(getattr(record, 'parameter', None) == TWILIO_PARAMETER for record in errors)
    assert all('not-a-sid' not in json.dumps(record.__dict__, default=str) for record in caplog.records)
    assert quarantined_today() == []
