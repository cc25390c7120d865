"""Where a WhatsApp or SMS message leaves Pitcrew: Twilio's Messages API.

WhatsApp messages that start a conversation must be approved Content templates (`content_sid` plus
`content_variables` as a JSON string); SMS carries a body. Twilio's 429 / 20429 and 5xx answers are
retried with exponential backoff and full jitter; an invalid number (21211), an opted-out recipient
(21610) and every other 4xx are not. Sends are paced to a configured messages-per-second limit. A
WhatsApp send that fails for good falls back to SMS when the caller gives an SMS text, except for an
invalid number, which is invalid on both, and except a failure Twilio calls temporary (429/5xx after the retries),
which the caller retries later rather than switching channel.

The client is a real `twilio.rest.Client`: with real credentials it talks to Twilio; locally it is
pointed at the fake Twilio of the local stack (`infrastructure/local/fake_twilio.py`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.notify.safe_text import whatsapp_variables

INVALID_NUMBER = 21211
OPTED_OUT = 21610
RATE_LIMITED = 20429


class MessageChannel(StrEnum):
    WHATSAPP = 'whatsapp'
    SMS = 'sms'


@dataclass(frozen=True)
class OutboundMessage:
    to: str  # E.164, e.g. +919812345678
    channel: MessageChannel
    content_sid: str | None = None  # WhatsApp: an approved Content template (HX...)
    variables: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None  # SMS text
    status_callback: str | None = None


@dataclass(frozen=True)
class Delivery:
    sid: str
    channel: MessageChannel
    status: str
    attempts: int
    fell_back_from: int | None = None  # the WhatsApp error code that made this an SMS


class SendFailed(Exception):
    def __init__(self, channel: MessageChannel, code: int | None, status: int | None, attempts: int, message: str) -> None:
        super().__init__(f'{channel.value} send failed after {attempts} attempt(s): {code or status} {message}')
        self.channel, self.code, self.status, self.attempts = channel, code, status, attempts

    @property
    def retryable(self) -> bool:
        return is_retryable(self.status, self.code)


def is_retryable(status: int | None, code: int | None) -> bool:
    return status == 429 or code == RATE_LIMITED or (status is not None and status >= 500)


class MessagingSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    whatsapp_from: str = Field(min_length=1, description='whatsapp:+E164 sender, or use messaging_service_sid')
    sms_from: str = Field(min_length=1, description='+E164 sender')
    messaging_service_sid: str | None = None
    max_attempts: int = Field(default=4, ge=1, le=10)
    base_delay_s: float = Field(default=0.5, gt=0)
    max_delay_s: float = Field(default=8.0, gt=0)
    messages_per_second: float = Field(default=10.0, gt=0, description='pace of sends from one function instance')


class RateLimiter:
    """A token bucket: at most `rate` sends per second on average, bursts of up to `rate`."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.tokens = rate
        self.updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                self.sleep(wait)
                self.updated = self.clock()
                self.tokens = 1.0
            self.tokens -= 1


class TwilioMessenger:
    def __init__(
        self,
        client: Any,
        settings: MessagingSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client, self.settings, self.sleep, self.jitter = client, settings, sleep, jitter
        self.limiter = RateLimiter(settings.messages_per_second, clock, sleep)

    def send(self, message: OutboundMessage) -> Delivery:
        """Send once (retrying what Twilio says can be retried); SendFailed when it cannot be sent."""
        from twilio.base.exceptions import TwilioRestException

        params = self._params(message)
        for attempt in range(1, self.settings.max_attempts + 1):
            self.limiter.acquire()
            try:
                created = self.client.messages.create(**params)
            except TwilioRestException as exc:
                if not is_retryable(exc.status, exc.code) or attempt == self.settings.max_attempts:
                    raise SendFailed(message.channel, exc.code, exc.status, attempt, str(exc.msg)) from exc
                self.sleep(self._backoff(attempt))
                continue
            return Delivery(sid=str(created.sid), channel=message.channel, status=str(created.status), attempts=attempt)
        raise AssertionError('unreachable')

    def send_with_fallback(self, whatsapp: OutboundMessage, sms_body: str | None) -> Delivery:
        """WhatsApp first; SMS when WhatsApp fails for good and an SMS text is given (not for an invalid number)."""
        try:
            return self.send(whatsapp)
        except SendFailed as failed:
            if sms_body is None or failed.code == INVALID_NUMBER or failed.retryable:
                raise  # no text, a number invalid on both channels, or Twilio saying "later": the caller retries
            sms = OutboundMessage(to=whatsapp.to, channel=MessageChannel.SMS, body=sms_body, status_callback=whatsapp.status_callback)
            delivery = self.send(sms)
            return Delivery(delivery.sid, delivery.channel, delivery.status, delivery.attempts, fell_back_from=failed.code or failed.status)

    def _params(self, message: OutboundMessage) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if message.channel is MessageChannel.WHATSAPP:
            if not message.content_sid:
                raise ValueError('a WhatsApp alert must use an approved Content template (content_sid)')
            params.update(
                to=f'whatsapp:{message.to}',
                content_sid=message.content_sid,
                # one line each, never empty, capped: what WhatsApp accepts in a template variable, whoever composed it
                content_variables=json.dumps(whatsapp_variables(message.variables), separators=(',', ':')),
            )
            sender = self.settings.whatsapp_from
        else:
            if not message.body:
                raise ValueError('an SMS needs a body')
            params.update(to=message.to, body=message.body)
            sender = self.settings.sms_from
        if self.settings.messaging_service_sid:
            params['messaging_service_sid'] = self.settings.messaging_service_sid
        else:
            params['from_'] = sender
        if message.status_callback:
            params['status_callback'] = message.status_callback
        return params

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return min(self.settings.max_delay_s, self.settings.base_delay_s * 2 ** (attempt - 1)) * self.jitter()


def twilio_client(credentials: Mapping[str, str], http_client: Any = None) -> Any:
    """A Twilio REST client from {"account_sid": "AC...", "auth_token": "..."} (an SSM SecureString)."""
    from twilio.rest import Client

    return Client(credentials['account_sid'], credentials['auth_token'], http_client=http_client)
