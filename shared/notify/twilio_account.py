"""The Twilio account Pitcrew sends from: one SecureString JSON parameter in SSM (`TWILIO_PARAMETER`), never an
environment variable, never logged:

    {"account_sid": "AC...", "auth_token": "...", "whatsapp_from": "whatsapp:+14155238886", "sms_from": "+15005550006",
     "messaging_service_sid": "MG..." (optional)}

The same auth token validates Twilio's callbacks (`X-Twilio-Signature`). With `TWILIO_API_BASE_URL` set (the local
stack only) the real twilio client is pointed at the fake Twilio; unset, it talks to api.twilio.com.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.config import get_settings
from shared.notify.messaging import MessagingSettings, TwilioMessenger


class TwilioAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra='ignore')

    account_sid: str = Field(pattern=r'^AC[0-9a-fA-F]{32}$')
    auth_token: SecretStr
    whatsapp_from: str = Field(min_length=1)
    sms_from: str = Field(min_length=1)
    messaging_service_sid: str | None = None


def load_account() -> TwilioAccount:
    from aws_lambda_powertools.utilities import parameters

    settings = get_settings()
    if not settings.TWILIO_PARAMETER:
        raise RuntimeError('TWILIO_PARAMETER is not set: no Twilio account to send from')
    value: Any = parameters.get_parameter(settings.TWILIO_PARAMETER, decrypt=True, transform='json', max_age=settings.SECRETS_MAX_AGE_S)
    return TwilioAccount.model_validate(value)


def _rewriting_http_client(base_url: str) -> Any:
    from twilio.http.http_client import TwilioHttpClient

    base = urlsplit(base_url)

    class RewritingHttpClient(TwilioHttpClient):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            parts = urlsplit(url)
            host = parts.hostname or ''
            if host == 'twilio.com' or host.endswith('.twilio.com'):
                url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))
            return super().request(method, url, *args, **kwargs)

    client = RewritingHttpClient()
    if client.session is not None:
        client.session.trust_env = False  # loopback only: never through a proxy from the environment
    return client


def messenger(account: TwilioAccount | None = None) -> TwilioMessenger:
    from twilio.rest import Client

    settings = get_settings()
    account = account or load_account()
    http_client = _rewriting_http_client(settings.TWILIO_API_BASE_URL) if settings.TWILIO_API_BASE_URL else None
    client = Client(account.account_sid, account.auth_token.get_secret_value(), http_client=http_client)
    return TwilioMessenger(
        client,
        MessagingSettings(
            whatsapp_from=account.whatsapp_from,
            sms_from=account.sms_from,
            messaging_service_sid=account.messaging_service_sid,
            messages_per_second=settings.ALERT_MESSAGES_PER_SECOND,
        ),
    )
