"""Twilio's status callbacks and inbound messages: signature validation over the public URL and every parameter,
and what they say (wire samples from tests/fixtures/wire_samples)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator

from shared.errors import AuthenticationFailed, InvalidPayload
from shared.notify.twilio_webhooks import Command, inbound_message, public_url, status_update, verified_params, verify

SAMPLES = Path(__file__).resolve().parents[2] / 'fixtures' / 'wire_samples'
TOKEN = 'test_auth_token_0123456789abcdef'


def form(name: str) -> str:
    return next(line for line in (SAMPLES / name).read_text().splitlines() if line and not line.startswith('#'))


def api_event(
    body: str,
    path: str = '/twilio/status',
    domain: str = 'abc123.execute-api.us-east-1.amazonaws.com',
    signature: str | None = None,
    encoded: bool = False,
) -> dict[str, object]:
    headers = {'content-type': 'application/x-www-form-urlencoded', 'host': domain}
    if signature is not None:
        headers['x-twilio-signature'] = signature
    return {
        'version': '2.0',
        'rawPath': path,
        'rawQueryString': '',
        'headers': headers,
        'requestContext': {'domainName': domain, 'http': {'method': 'POST', 'path': path}},
        'body': base64.b64encode(body.encode()).decode() if encoded else body,
        'isBase64Encoded': encoded,
    }


@pytest.mark.parametrize(
    'vector',
    [v for v in json.loads((SAMPLES / 'twilio_signature_test_vectors.json').read_text())['vectors'] if 'params' in v],
    ids=lambda v: v['name'][:40],
)
def test_the_published_signature_vectors_validate(vector: dict[str, Any]) -> None:
    # Given a signature vector from Twilio's own tests (and one computed for our status route)
    # When it is verified, then it is accepted
    verify(vector['auth_token'], vector['url'], dict(vector['params']), vector['signature'])


def test_a_changed_parameter_or_url_is_refused() -> None:
    # Given our status-route vector
    vector = json.loads((SAMPLES / 'twilio_signature_test_vectors.json').read_text())['vectors'][3]
    params = dict(vector['params'])

    # When a parameter is changed, or the URL differs, then the signature no longer matches
    with pytest.raises(AuthenticationFailed, match='does not match'):
        verify(vector['auth_token'], vector['url'], params | {'MessageStatus': 'read'}, vector['signature'])
    with pytest.raises(AuthenticationFailed):
        verify(vector['auth_token'], vector['url'].replace('/prod/', '/dev/'), params, vector['signature'])
    # And a missing signature is refused naming the header
    with pytest.raises(AuthenticationFailed) as missing:
        verify(vector['auth_token'], vector['url'], params, None)
    assert missing.value.field == 'headers.x-twilio-signature'


def test_the_public_url_is_rebuilt_from_the_api_gateway_event_or_the_configured_base() -> None:
    # Given a request that reached the function through API Gateway, and one behind a custom domain's base path
    event = api_event('', path='/twilio/status')

    # When the URL Twilio called is rebuilt
    direct = public_url(event)
    custom = public_url(event, configured_base='https://alerts.example.com/pitcrew/')

    # Then it is the address Twilio signed
    assert direct == 'https://abc123.execute-api.us-east-1.amazonaws.com/twilio/status'
    assert custom == 'https://alerts.example.com/pitcrew/twilio/status'


def test_a_signed_status_callback_is_read_and_an_unsigned_one_refused() -> None:
    # Given the 63016 status callback (WhatsApp outside the 24 h window), signed by Twilio for our route, once as
    # API Gateway passes it (base64) and once unsigned
    body = form('twilio_status_callback_whatsapp_failed_63016.txt')
    url = 'https://abc123.execute-api.us-east-1.amazonaws.com/twilio/status'
    params = dict(parse_qsl(body))
    signature = RequestValidator(TOKEN).compute_signature(url, params)

    # When each is verified and read
    update = status_update(verified_params(api_event(body, signature=signature, encoded=True), TOKEN))

    # Then the signed one says the WhatsApp message failed with 63016 (the cue to fall back to SMS)
    assert (update.status, update.error_code, update.channel, update.to) == ('failed', 63016, 'whatsapp', '+15558675310')
    with pytest.raises(AuthenticationFailed):
        verified_params(api_event(body), TOKEN)


def test_the_captured_status_request_verifies_as_api_gateway_delivers_it() -> None:
    # Given the captured HTTP request of a delivered-SMS status callback to a named stage ('/prod/twilio/status')
    lines = [line for line in (SAMPLES / 'twilio_status_callback_sms_delivered.txt').read_text().splitlines() if not line.startswith('#')]
    request_line, rest = lines[0], lines[1:]
    blank = rest.index('')
    headers = dict(line.split(': ', 1) for line in rest[:blank])
    body = rest[blank + 1]
    path = request_line.split()[1]
    event = api_event(body, path=path, domain=headers['Host'], signature=headers['X-Twilio-Signature'])

    # When it is verified with the account's auth token and read
    update = status_update(verified_params(event, TOKEN))

    # Then the stage in the raw path is part of the signed URL, and the message was delivered, with no error code
    assert public_url(event) == 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/twilio/status'
    assert (update.status, update.error_code, update.channel) == ('delivered', None, 'sms')


@pytest.mark.parametrize(
    ('params', 'field'),
    [
        ({'MessageStatus': 'sent'}, 'MessageSid'),
        ({'MessageSid': 'SM1', 'MessageStatus': 'exploded'}, 'MessageStatus'),
        ({'MessageSid': 'SM1', 'MessageStatus': 'failed', 'ErrorCode': 'x'}, 'ErrorCode'),
    ],
)
def test_a_bad_status_callback_is_refused_naming_the_field(params: dict[str, str], field: str) -> None:
    # When a callback lacks its message id, has an unknown status or a non-numeric error code, then it names the field
    with pytest.raises(InvalidPayload) as refused:
        status_update(params)
    assert refused.value.field == field


def test_an_inbound_stop_is_an_opt_out_whatever_the_wording() -> None:
    # Given Twilio's inbound STOP (Advanced Opt-Out classified it), and a person writing 'Stop.' or 'बंद' themselves
    sample = dict(parse_qsl(form('twilio_inbound_stop_optout.txt')))
    typed = sample | {'OptOutType': '', 'Body': 'Stop.'}
    hindi = sample | {'OptOutType': '', 'Body': 'बंद'}

    # When they are read, then each is a STOP from that number
    assert [inbound_message(p).command for p in (sample, typed, hindi)] == [Command.STOP] * 3
    assert inbound_message(sample).sender == '+15558675310'


@pytest.mark.parametrize(
    ('body', 'command'),
    [
        ('points', Command.POINTS),
        ('RANK please', Command.RANK),
        ('hoy', Command.TODAY),
        ('MADAD', Command.HELP),
        ('start', Command.START),
        ('what is my score?', Command.UNKNOWN),
        ('', Command.UNKNOWN),
        ('POIN', Command.POINTS),
        ('saldo?', Command.POINTS),
        ('Peringkat', Command.RANK),
        ('hari ini', Command.TODAY),
        ('HARI INI.', Command.TODAY),
        ('hari', Command.UNKNOWN),
        ('SANGGAH E3F9A0C1 pelanggan memberi nilai 5', Command.DISPUTE),
        ('terima kasih TECH-104 20 mantap #teamwork', Command.THANKS),
        ('BANTUAN', Command.HELP),
        ('berhenti', Command.STOP),
        ('MULAI', Command.START),
        ('RANGO', Command.RANK),
    ],
)
def test_inbound_commands_are_recognised_in_the_persons_language(body: str, command: Command) -> None:
    # Given an inbound WhatsApp message
    params = {'MessageSid': 'SM' + 'e' * 32, 'From': 'whatsapp:+919812345678', 'Body': body}

    # When it is read, then its command is recognised (anything else is unknown: a fixed polite reply, no data)
    message = inbound_message(params)
    assert (message.command, message.channel, message.sender) == (command, 'whatsapp', '+919812345678')


def test_form_bodies_with_repeated_encoding_survive() -> None:
    # Given a status callback built with urlencode (as Twilio sends it)
    body = urlencode({'MessageSid': 'SM' + 'f' * 32, 'MessageStatus': 'read', 'To': 'whatsapp:+15558675310'})

    # When it is read through the API Gateway event without verification (the parser alone)
    from shared.notify.twilio_webhooks import form_params

    # Then the WhatsApp read receipt is understood
    assert status_update(form_params(api_event(body))).status == 'read'
