"""Sending WhatsApp and SMS through Twilio's Messages API: the real twilio-python client against the local fake
(`infrastructure/local/fake_twilio.py`), which answers and fails as Twilio does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.local.fake_twilio import FakeTwilio, local_twilio_client
from shared.notify.messaging import (
    INVALID_NUMBER,
    Delivery,
    MessageChannel,
    MessagingSettings,
    OutboundMessage,
    RateLimiter,
    SendFailed,
    TwilioMessenger,
)

TEMPLATE = 'HX' + 'c' * 32
PERSON = '+919812345678'
SETTINGS = MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15550000000', base_delay_s=0.5, max_delay_s=8)


class SimulatedTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(port=0) as running:
        yield running


def messenger(fake: FakeTwilio, time: SimulatedTime, settings: MessagingSettings = SETTINGS) -> TwilioMessenger:
    return TwilioMessenger(local_twilio_client(fake), settings, sleep=time.sleep, clock=time.clock, jitter=lambda: 1.0)


def whatsapp(**variables: str) -> OutboundMessage:
    return OutboundMessage(
        to=PERSON,
        channel=MessageChannel.WHATSAPP,
        content_sid=TEMPLATE,
        variables=variables,
        status_callback='https://api.example.com/twilio/status',
    )


def test_a_whatsapp_alert_goes_out_as_an_approved_template_with_its_variables(fake: FakeTwilio) -> None:
    # Given a WhatsApp alert using a Content template
    time = SimulatedTime()

    # When it is sent
    delivery = messenger(fake, time).send(whatsapp(**{'1': 'JC-00042', '2': '75%'}))

    # Then Twilio received the template and its variables (no free text), with the status callback
    [sent] = fake.messages
    assert (sent['to'], sent['content_sid'], sent['content_variables'], sent['body']) == (
        f'whatsapp:{PERSON}',
        TEMPLATE,
        {'1': 'JC-00042', '2': '75%'},
        None,
    )
    assert sent['status_callback'] == 'https://api.example.com/twilio/status'
    assert delivery == Delivery(sid=sent['sid'], channel=MessageChannel.WHATSAPP, status='queued', attempts=1)


def test_template_variables_leave_as_whatsapp_accepts_them_whoever_composed_them(fake: FakeTwilio) -> None:
    # Given a WhatsApp message whose variables were built without the message texts: a line break, a tab, a run of
    # spaces, an empty value and 300 characters
    message = whatsapp(**{'1': 'JC-1\nSTOP', '2': 'a\tb      c', '3': '', '4': 'y' * 300})

    # When it is sent
    messenger(fake, SimulatedTime()).send(message)

    # Then Twilio received one-line variables with single spaces, never empty, at most 250 characters
    [sent] = fake.messages
    assert sent['content_variables'] == {'1': 'JC-1 STOP', '2': 'a b c', '3': '-', '4': 'y' * 249 + '…'}


@pytest.mark.parametrize(('status', 'code'), [(429, 20429), (503, 20500)])
def test_rate_limits_and_server_errors_are_retried_with_growing_backoff(fake: FakeTwilio, status: int, code: int) -> None:
    # Given Twilio answers the next two sends with a retryable error
    fake.fail_next(2, status=status, code=code)
    time = SimulatedTime()

    # When one alert is sent
    delivery = messenger(fake, time).send(whatsapp(**{'1': 'x'}))

    # Then it went out on the third attempt, after backing off 0.5 s then 1 s
    assert delivery.attempts == 3 and delivery.status == 'queued'
    assert time.sleeps == [0.5, 1.0]
    assert [m['http_status'] for m in fake.messages] == [status, status, 201]


def test_an_invalid_number_is_not_retried_and_not_sent_as_sms(fake: FakeTwilio) -> None:
    # Given a number Twilio rejects as invalid (21211)
    fake.fail_number(f'whatsapp:{PERSON}', code=INVALID_NUMBER)
    time = SimulatedTime()

    # When the alert is sent with an SMS fallback text
    with pytest.raises(SendFailed) as failed:
        messenger(fake, time).send_with_fallback(whatsapp(**{'1': 'x'}), sms_body='Job card JC-00042 is 75% through its target')

    # Then one request was made, nothing was retried or sent by SMS, and the failure names the code
    assert (failed.value.code, failed.value.retryable, failed.value.attempts) == (INVALID_NUMBER, False, 1)
    assert len(fake.messages) == 1 and time.sleeps == []


def test_a_whatsapp_failure_falls_back_to_sms(fake: FakeTwilio) -> None:
    # Given WhatsApp cannot reach the person (63003) but SMS can
    fake.fail_number(f'whatsapp:{PERSON}', code=63003)

    # When the alert is sent with an SMS text
    delivery = messenger(fake, SimulatedTime()).send_with_fallback(whatsapp(**{'1': 'x'}), sms_body='JC-00042: 75% of target used')

    # Then it went out by SMS, saying why
    assert (delivery.channel, delivery.fell_back_from) == (MessageChannel.SMS, 63003)
    assert [(m['channel'], m['status']) for m in fake.messages] == [('whatsapp', 'rejected'), ('sms', 'queued')]
    assert fake.messages[1]['body'] == 'JC-00042: 75% of target used'


def test_retries_that_run_out_report_a_retryable_failure(fake: FakeTwilio) -> None:
    # Given Twilio keeps rate-limiting
    fake.fail_next(10)
    time = SimulatedTime()

    # When an alert is sent (4 attempts allowed)
    with pytest.raises(SendFailed) as failed:
        messenger(fake, time).send(whatsapp(**{'1': 'x'}))

    # Then it gave up after 4 attempts with a retryable failure, for the dead-letter queue to keep
    assert (failed.value.attempts, failed.value.retryable) == (4, True)
    assert time.sleeps == [0.5, 1.0, 2.0]


def test_sends_are_paced_to_the_messages_per_second_limit(fake: FakeTwilio) -> None:
    # Given a limit of 5 messages per second
    time = SimulatedTime()
    paced = messenger(fake, time, SETTINGS.model_copy(update={'messages_per_second': 5.0}))

    # When 15 alerts are sent at once
    for n in range(15):
        paced.send(OutboundMessage(to=PERSON, channel=MessageChannel.SMS, body=f'alert {n}'))

    # Then the first 5 go at once and the other 10 take 2 s: 15 sends in 2 s of simulated time
    assert len(fake.messages) == 15
    assert time.now == pytest.approx(2.0)


def test_the_rate_limiter_refills_with_time() -> None:
    # Given a bucket of 2 per second, emptied
    time = SimulatedTime()
    limiter = RateLimiter(2.0, time.clock, time.sleep)
    limiter.acquire()
    limiter.acquire()

    # When a second passes and two more sends come
    time.now += 1.0
    limiter.acquire()
    limiter.acquire()

    # Then neither had to wait; a fifth waits half a second
    assert time.sleeps == []
    limiter.acquire()
    assert time.sleeps == [pytest.approx(0.5)]


def test_a_whatsapp_alert_without_a_template_is_refused_before_sending(fake: FakeTwilio) -> None:
    # Given a WhatsApp message with free text instead of a template
    message = OutboundMessage(to=PERSON, channel=MessageChannel.WHATSAPP, body='hello')

    # When it is sent, then it is refused and nothing reaches Twilio
    with pytest.raises(ValueError, match='Content template'):
        messenger(fake, SimulatedTime()).send(message)
    assert fake.messages == []
