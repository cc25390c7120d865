"""The local Twilio fake, driven through the real twilio-python Client (only its http_client is local)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from infrastructure.local.fake_twilio import FakeTwilio, LocalTwilioHttpClient, local_twilio_client

SENDER = '+15550000000'
WHATSAPP_SENDER = 'whatsapp:+14155238886'
TEMPLATE_SID = 'HX' + 'a' * 32
SID = re.compile(r'^SM[0-9a-f]{32}$')


@dataclass
class Receiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(port=0) as running:
        yield running


@pytest.fixture
def client(fake: FakeTwilio) -> Client:
    return local_twilio_client(fake)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A tiny webhook endpoint that records every status callback POSTed to it."""
    target = Receiver(url='')

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers['Content-Length'])).decode()
            params = dict(parse_qsl(body, keep_blank_values=True))
            target.received.append({'path': self.path, 'signature': self.headers.get('X-Twilio-Signature'), 'params': params})
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    target.url = f'http://127.0.0.1:{server.server_address[1]}/twilio/status'
    yield target
    server.shutdown()
    server.server_close()


def test_sms_create_returns_a_queued_sm_message_and_records_it(fake: FakeTwilio, client: Client) -> None:
    # Given the real twilio-python client pointed at the fake
    # When an SMS is sent
    message = client.messages.create(to='+15551230001', from_=SENDER, body='You earned 120 points')
    # Then Twilio's Message resource comes back queued, and the fake recorded the request it actually received
    assert SID.match(message.sid)
    assert (message.status, message.direction, message.api_version) == ('queued', 'outbound-api', '2010-04-01')
    assert (message.account_sid, message.to, message.from_, message.num_segments) == (fake.account_sid, '+15551230001', SENDER, '1')
    assert isinstance(message.date_created, datetime)
    assert message.error_code is None and message.price is None
    assert message.uri == f'/2010-04-01/Accounts/{fake.account_sid}/Messages/{message.sid}.json'
    [recorded] = fake.messages
    assert recorded | {'sid': message.sid, 'status': 'queued', 'channel': 'sms', 'error_code': None} == recorded
    assert recorded['body'] == 'You earned 120 points'
    [request] = fake.requests
    assert (request['method'], request['status']) == ('POST', 201)
    assert request['path'] == f'/2010-04-01/Accounts/{fake.account_sid}/Messages.json'
    assert request['form'] == {'To': ['+15551230001'], 'From': [SENDER], 'Body': ['You earned 120 points']}


def test_whatsapp_template_records_content_sid_and_parsed_variables(fake: FakeTwilio, client: Client) -> None:
    # Given a WhatsApp template send through a Messaging Service, variables serialized the way callers do
    variables = {'1': 'Ana', '2': '120'}
    # When it is sent
    message = client.messages.create(
        to='whatsapp:+5511987654321',
        from_=WHATSAPP_SENDER,
        content_sid=TEMPLATE_SID,
        content_variables=json.dumps(variables),
        messaging_service_sid='MG' + 'b' * 32,
    )
    # Then the template and its decoded variables are recorded and no Body was sent
    assert message.status == 'queued' and message.messaging_service_sid == 'MG' + 'b' * 32
    [recorded] = fake.messages
    assert (recorded['channel'], recorded['content_sid'], recorded['content_variables']) == ('whatsapp', TEMPLATE_SID, variables)
    assert recorded['to'] == 'whatsapp:+5511987654321' and recorded['body'] is None
    assert 'Body' not in fake.requests[0]['form']


def test_fetch_by_sid_and_list_with_paging_and_filters(fake: FakeTwilio, client: Client) -> None:
    # Given three sent messages
    sids = [client.messages.create(to=f'+1555123000{i}', from_=SENDER, body=f'msg {i}').sid for i in range(3)]
    # When fetching one and listing with a page size that forces next_page_uri to be followed
    fetched = client.messages(sids[1]).fetch()
    listed = client.messages.list(page_size=2)
    # Then fetch returns that message, the list holds all three newest first, and filters apply
    assert (fetched.sid, fetched.body, fetched.to) == (sids[1], 'msg 1', '+15551230001')
    assert [m.sid for m in listed] == sids[::-1]
    assert [m.sid for m in client.messages.list(to='+15551230002')] == [sids[2]]
    with pytest.raises(TwilioRestException) as missing:
        client.messages('SM' + '0' * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_wrong_auth_token_is_rejected_with_twilio_20003(fake: FakeTwilio) -> None:
    # Given a client with the right account SID but a wrong auth token
    intruder = local_twilio_client(fake, auth_token='not-the-token')
    # When it sends
    with pytest.raises(TwilioRestException) as error:
        intruder.messages.create(to='+15551230001', from_=SENDER, body='hi')
    # Then it gets Twilio's 401 / 20003; the attempt is recorded as a request, no message exists
    assert (error.value.status, error.value.code) == (401, 20003)
    assert 'Authenticate' in error.value.msg
    assert fake.requests[0]['status'] == 401 and fake.requests[0]['response']['more_info'] == 'https://www.twilio.com/docs/errors/20003'
    assert fake.messages == []


@pytest.mark.parametrize(
    ('kwargs', 'code'),
    [
        ({'to': '5551230001', 'body': 'hi'}, 21211),
        ({'to': 'whatsapp:+0123', 'body': 'hi'}, 21211),
        ({'to': '', 'body': 'hi'}, 21604),
        ({'to': '+15551230001'}, 21602),
    ],
)
def test_invalid_requests_fail_like_twilio_and_are_recorded(fake: FakeTwilio, client: Client, kwargs: dict[str, str], code: int) -> None:
    # Given a create Twilio would refuse (not E.164, missing To, neither Body nor ContentSid)
    # When it is sent
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(from_=SENDER, **kwargs)
    # Then it surfaces as TwilioRestException 400 with Twilio's code, and the rejection is recorded
    assert (error.value.status, error.value.code) == (400, code)
    [recorded] = fake.messages
    assert (recorded['sid'], recorded['status'], recorded['error_code'], recorded['http_status']) == (None, 'rejected', code, 400)
    assert client.messages.list() == []


@pytest.mark.parametrize(('status', 'code'), [(429, 20429), (500, 20500), (503, 20503)])
def test_fail_next_fails_once_and_twilio_python_does_not_retry(fake: FakeTwilio, client: Client, status: int, code: int) -> None:
    # Given the next create is set to fail
    fake.fail_next(1, status=status, code=code)
    # When sending twice
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to='+15551230001', from_=SENDER, body='hi')
    requests_after_failure = len(fake.requests)
    second = client.messages.create(to='+15551230001', from_=SENDER, body='hi')
    # Then the first raises with the injected status/code after exactly one HTTP request (no client retry); the second succeeds
    assert (error.value.status, error.value.code) == (status, code)
    assert requests_after_failure == 1
    assert second.status == 'queued' and [m['status'] for m in fake.messages] == ['rejected', 'queued']


def test_fail_number_rejects_every_send_to_that_number_on_both_channels(fake: FakeTwilio, client: Client) -> None:
    # Given a recipient who replied STOP
    fake.fail_number('+15550002222', 21610)
    # When messages go to them (SMS twice, WhatsApp once) and to someone else
    codes = []
    for to in ('+15550002222', '+15550002222', 'whatsapp:+15550002222'):
        with pytest.raises(TwilioRestException) as error:
            client.messages.create(to=to, from_=SENDER, body='hi')
        codes.append((error.value.status, error.value.code))
    other = client.messages.create(to='+15550003333', from_=SENDER, body='hi')
    # Then each send to that number fails with 400 / 21610 and others are unaffected
    assert codes == [(400, 21610)] * 3
    assert other.status == 'queued'


def test_status_callbacks_are_signed_with_the_auth_token(fake: FakeTwilio, client: Client, receiver: Receiver) -> None:
    # Given a message sent with a StatusCallback
    message = client.messages.create(to='+15551230001', from_=SENDER, body='hi', status_callback=receiver.url)
    # When the fake delivers its callbacks
    results = fake.deliver_status_callbacks()
    # Then the receiver got sent then delivered, each with a signature RequestValidator accepts for that URL
    validator = RequestValidator(fake.auth_token)
    assert [r['params']['MessageStatus'] for r in receiver.received] == ['sent', 'delivered']
    for callback in receiver.received:
        params = callback['params']
        assert params['MessageSid'] == params['SmsSid'] == message.sid
        assert (params['AccountSid'], params['From'], params['To']) == (fake.account_sid, SENDER, '+15551230001')
        assert params['ApiVersion'] == '2010-04-01'
        assert 'ErrorCode' not in params and callback['path'] == '/twilio/status'
        assert validator.validate(receiver.url, params, callback['signature'])
        # And a tampered parameter (or another token) no longer validates
        assert not validator.validate(receiver.url, {**params, 'MessageStatus': 'read'}, callback['signature'])
        assert not RequestValidator('other-token').validate(receiver.url, params, callback['signature'])
    assert [r['response_status'] for r in results] == [204, 204] and len(fake.callbacks) == 2
    assert client.messages(message.sid).fetch().status == 'delivered'
    assert fake.deliver_status_callbacks() == []


@pytest.mark.parametrize(('final', 'statuses'), [('failed', ['failed']), ('undelivered', ['sent', 'undelivered'])])
def test_async_failure_is_accepted_then_reported_with_error_code(
    fake: FakeTwilio, client: Client, receiver: Receiver, final: str, statuses: list[str]
) -> None:
    # Given a WhatsApp recipient outside the 24-hour window
    fake.async_failure('whatsapp:+15551230001', code=63016, status=final)
    # When a freeform message is sent and callbacks are delivered
    message = client.messages.create(to='whatsapp:+15551230001', from_=WHATSAPP_SENDER, body='hi', status_callback=receiver.url)
    fake.deliver_status_callbacks()
    # Then the create was accepted, and the final callback and resource carry the failure and 63016
    assert message.status == 'queued' and message.error_code is None
    assert [r['params']['MessageStatus'] for r in receiver.received] == statuses
    assert receiver.received[-1]['params']['ErrorCode'] == '63016'
    assert RequestValidator(fake.auth_token).validate(receiver.url, receiver.received[-1]['params'], receiver.received[-1]['signature'])
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == (final, 63016)


def test_auto_callbacks_deliver_without_being_asked(receiver: Receiver) -> None:
    # Given a fake running with automatic callbacks
    with FakeTwilio(port=0, auto_callbacks=True, callback_interval=0.02) as fake:
        # When a message with a StatusCallback is sent
        local_twilio_client(fake).messages.create(to='+15551230001', from_=SENDER, body='hi', status_callback=receiver.url)
        deadline = time.monotonic() + 5
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    # Then both callbacks arrived in order without deliver_status_callbacks() being called
    assert [r['params']['MessageStatus'] for r in receiver.received] == ['sent', 'delivered']


def test_concurrent_sends_are_all_recorded_with_unique_sids(fake: FakeTwilio, client: Client) -> None:
    # Given 8 threads sharing one client
    # When they send 80 messages at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        sids = list(pool.map(lambda i: client.messages.create(to=f'+1555100{i:04d}', from_=SENDER, body='hi').sid, range(80)))
    # Then every message and request is recorded exactly once
    assert len(set(sids)) == 80
    assert sorted(m['sid'] for m in fake.messages) == sorted(sids) and len(fake.requests) == 80


def test_summary_counts_channels_and_statuses(fake: FakeTwilio, client: Client) -> None:
    # Given two SMS (one delivered), one WhatsApp template and one rejected send
    client.messages.create(to='+15551230001', from_=SENDER, body='a')
    fake.deliver_status_callbacks()
    client.messages.create(to='+15551230002', from_=SENDER, body='b')
    client.messages.create(to='whatsapp:+15551230003', from_=WHATSAPP_SENDER, content_sid=TEMPLATE_SID)
    with pytest.raises(TwilioRestException):
        client.messages.create(to='not-a-number', from_=SENDER, body='c')
    # When summarised
    summary = fake.summary()
    # Then channels are split by the whatsapp: prefix and statuses counted, rejections included
    assert summary['by_channel'] == {'sms': 3, 'whatsapp': 1}
    assert summary['by_status'] == {'delivered': 1, 'queued': 2, 'rejected': 1}
    assert summary['messages'] == 4 and summary['callbacks'] == 0


def test_only_twilio_hosts_are_rewritten() -> None:
    # Given the local http client for a fake on port 4010
    http_client = LocalTwilioHttpClient('http://127.0.0.1:4010')
    # When URLs are rewritten
    # Then *.twilio.com go to the fake with path and query kept; lookalike and foreign hosts are untouched
    assert http_client.rewrite('https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=2') == (
        'http://127.0.0.1:4010/2010-04-01/Accounts/AC1/Messages.json?PageSize=2'
    )
    assert http_client.rewrite('https://messaging.twilio.com/v1/Services') == 'http://127.0.0.1:4010/v1/Services'
    assert http_client.rewrite('https://eviltwilio.com/x') == 'https://eviltwilio.com/x'
    assert http_client.rewrite('https://example.com/x') == 'https://example.com/x'
