"""What Twilio POSTs to Pitcrew: delivery status callbacks and inbound WhatsApp/SMS messages.

Both are form-encoded and signed with `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, the full public URL
Twilio called + every POST parameter, sorted by name)). Behind API Gateway the function sees its own view of the
request, so the public URL is rebuilt from the event (domain name, raw path, raw query string), or from the base
URL configured in Twilio when it differs (a custom domain with a base path). Validation uses twilio-python's own
RequestValidator over all parameters; an unsigned or mis-signed request is refused before anything is read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl

from shared.errors import AuthenticationFailed, InvalidPayload

SIGNATURE_HEADER = 'x-twilio-signature'
# Final and intermediate states Twilio reports for a message.
STATUSES = frozenset({'accepted', 'scheduled', 'queued', 'sending', 'sent', 'delivered', 'read', 'undelivered', 'failed',
                      'receiving', 'received', 'canceled', 'partially_delivered'})  # fmt: skip


def public_url(event: dict[str, Any], configured_base: str | None = None) -> str:
    """The URL Twilio called, as it signed it."""
    path = event.get('rawPath') or event.get('requestContext', {}).get('http', {}).get('path', '/')
    query = event.get('rawQueryString') or ''
    if configured_base:
        base = configured_base.rstrip('/')
    else:
        headers = {k.lower(): v for k, v in (event.get('headers') or {}).items()}
        scheme = headers.get('x-forwarded-proto', 'https')
        host = headers.get('host') or event.get('requestContext', {}).get('domainName', '')
        base = f'{scheme}://{host}'
    return f'{base}{path}' + (f'?{query}' if query else '')


def form_params(event: dict[str, Any]) -> dict[str, str]:
    body = event.get('body') or ''
    raw = base64.b64decode(body) if event.get('isBase64Encoded') else body.encode()
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise InvalidPayload('body is not valid UTF-8', field='body') from exc
    return dict(parse_qsl(text, keep_blank_values=True))


def verify(auth_token: str, url: str, params: dict[str, str], signature: str | None) -> None:
    """Raise AuthenticationFailed unless the signature covers this URL and every parameter."""
    from twilio.request_validator import RequestValidator

    if not signature:
        raise AuthenticationFailed('missing X-Twilio-Signature', field='headers.x-twilio-signature')
    if not RequestValidator(auth_token).validate(url, params, signature):
        raise AuthenticationFailed('X-Twilio-Signature does not match the URL and parameters', field='headers.x-twilio-signature')


def verified_params(event: dict[str, Any], auth_token: str, configured_base: str | None = None) -> dict[str, str]:
    params = form_params(event)
    headers = {k.lower(): v for k, v in (event.get('headers') or {}).items()}
    verify(auth_token, public_url(event, configured_base), params, headers.get(SIGNATURE_HEADER))
    return params


def _address(value: str) -> tuple[str, str]:
    channel, _, number = value.rpartition(':')
    return (channel or 'sms'), number


@dataclass(frozen=True)
class StatusUpdate:
    message_sid: str
    status: str
    to: str
    channel: str  # whatsapp | sms
    error_code: int | None = None


def status_update(params: dict[str, str]) -> StatusUpdate:
    sid = params.get('MessageSid') or params.get('SmsSid')
    if not sid:
        raise InvalidPayload('field is required', field='MessageSid')
    status = (params.get('MessageStatus') or params.get('SmsStatus') or '').lower()
    if status not in STATUSES:
        raise InvalidPayload(f'unknown message status (expected one of {", ".join(sorted(STATUSES))})', field='MessageStatus')
    code = params.get('ErrorCode') or None
    if code is not None and not code.isdigit():
        raise InvalidPayload('expected a numeric error code', field='ErrorCode')
    channel, number = _address(params.get('To', ''))
    return StatusUpdate(message_sid=sid, status=status, to=number, channel=channel, error_code=int(code) if code else None)


class Command(StrEnum):
    POINTS = 'points'
    RANK = 'rank'
    TODAY = 'today'
    HELP = 'help'
    STOP = 'stop'
    START = 'start'
    DISPUTE = 'dispute'
    THANKS = 'thanks'  # peer recognition: shared/recognition/service.py
    UNKNOWN = 'unknown'


# Keywords per language (the person's language from the directory decides the reply; any known keyword is
# understood). STOP and START include Twilio's standard opt-out and opt-in keywords.
KEYWORDS: dict[str, dict[Command, tuple[str, ...]]] = {
    'en': {Command.POINTS: ('POINTS', 'BALANCE'), Command.RANK: ('RANK', 'LEAGUE'), Command.TODAY: ('TODAY',),
           Command.HELP: ('HELP', 'INFO'), Command.DISPUTE: ('DISPUTE',), Command.THANKS: ('THANKS',),
           Command.STOP: ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE'),
           Command.START: ('START', 'UNSTOP', 'YES', 'OPTIN')},
    'es': {Command.POINTS: ('PUNTOS',), Command.RANK: ('POSICION', 'POSICIÓN', 'RANGO'), Command.TODAY: ('HOY',), Command.HELP: ('AYUDA',),
           Command.DISPUTE: ('DISPUTA', 'RECLAMO'), Command.THANKS: ('GRACIAS',),
           Command.STOP: ('BAJA', 'PARAR'), Command.START: ('ALTA', 'INICIAR')},
    'hi': {Command.POINTS: ('ANK', 'अंक'), Command.RANK: ('STHAN', 'स्थान'), Command.TODAY: ('AAJ', 'आज'), Command.HELP: ('MADAD', 'मदद'),
           Command.DISPUTE: ('SHIKAYAT', 'शिकायत'), Command.THANKS: ('DHANYAVAAD', 'धन्यवाद'),
           Command.STOP: ('BAND', 'बंद'), Command.START: ('SHURU', 'शुरू')},
    'id': {Command.POINTS: ('POIN', 'SALDO'), Command.RANK: ('PERINGKAT', 'LIGA'), Command.TODAY: ('HARI INI', 'HARIINI'),
           Command.HELP: ('BANTUAN',), Command.DISPUTE: ('SANGGAH', 'SANGGAHAN'),
           Command.THANKS: ('TERIMA KASIH', 'TERIMAKASIH', 'MAKASIH'), Command.STOP: ('BERHENTI',), Command.START: ('MULAI',)},
}  # fmt: skip
_LOOKUP = {word: command for words in KEYWORDS.values() for command, options in words.items() for word in options}


@dataclass(frozen=True)
class InboundMessage:
    message_sid: str
    sender: str  # E.164, without the whatsapp: prefix
    channel: str
    body: str
    command: Command


def inbound_message(params: dict[str, str]) -> InboundMessage:
    sid = params.get('MessageSid') or params.get('SmsMessageSid')
    if not sid:
        raise InvalidPayload('field is required', field='MessageSid')
    channel, sender = _address(params.get('From', ''))
    if not sender:
        raise InvalidPayload('field is required', field='From')
    body = (params.get('Body') or '').strip()
    opt_out = (params.get('OptOutType') or '').upper()  # Twilio's Advanced Opt-Out already classified it
    command = Command(opt_out.lower()) if opt_out in ('STOP', 'START', 'HELP') else keyword_command(body)
    return InboundMessage(message_sid=sid, sender=sender, channel=channel, body=body[:1600], command=command)


def keyword_command(body: str) -> Command:
    """The command a message starts with: a two-word keyword (TERIMA KASIH, HARI INI) before a one-word one, in any case
    (Devanagari as typed)."""
    words = body.split()
    if not words:
        return Command.UNKNOWN
    first = words[0].upper().strip('.!?')
    if len(words) > 1 and (command := _LOOKUP.get(f'{first} {words[1].upper().strip(".!?,")}')) is not None:
        return command
    return _LOOKUP.get(first, _LOOKUP.get(words[0], Command.UNKNOWN))
