from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import AuthenticationFailed, StaleTimestamp
from shared.sources import signing
from shared.sources.base import SourceSecret, WebhookRequest

SECRET = SourceSecret(secret='pitcrew-signing-secret')
BODY = b'{"schema":"pitcrew.survey/v1","response_id":"r-1"}'
SIGNED_AT = datetime(2024, 5, 14, 12, 0, 0, tzinfo=UTC)
TIMESTAMP = int(SIGNED_AT.timestamp())


def request_with(timestamp: str | None, signature: str | None, body: bytes = BODY) -> WebhookRequest:
    headers = {}
    if timestamp is not None:
        headers[signing.TIMESTAMP_HEADER] = timestamp
    if signature is not None:
        headers[signing.SIGNATURE_HEADER] = signature
    return WebhookRequest(body=body, headers=headers)


def test_signature_is_v1_hex_hmac_of_timestamp_dot_body() -> None:
    # Given the documented construction, computed independently
    expected = hmac.new(SECRET.secret.encode(), f'{TIMESTAMP}.'.encode() + BODY, hashlib.sha256).hexdigest()

    # When / Then sign() produces exactly it
    assert signing.sign(SECRET.secret, TIMESTAMP, BODY) == f'v1={expected}'


def test_signed_headers_verify() -> None:
    # Given headers built by the helper the replay tool uses
    request = WebhookRequest(body=BODY, headers=signing.signed_headers(SECRET.secret, TIMESTAMP, BODY))

    # When / Then they verify
    signing.verify(request, SECRET, SIGNED_AT)


def test_lower_cased_header_names_verify() -> None:
    # Given header names as API Gateway HTTP APIs deliver them
    headers = {name.lower(): value for name, value in signing.signed_headers(SECRET.secret, TIMESTAMP, BODY).items()}

    # When / Then they verify
    signing.verify(WebhookRequest(body=BODY, headers=headers), SECRET, SIGNED_AT)


def test_any_of_several_v1_values_may_match() -> None:
    # Given a sender signing with its old and new secrets while we only know the new one
    headers = signing.signed_headers('new-secret', TIMESTAMP, BODY, also_sign_with='old-secret')
    assert headers[signing.SIGNATURE_HEADER].count('v1=') == 2

    # When / Then it verifies with either secret configured
    signing.verify(WebhookRequest(body=BODY, headers=headers), SourceSecret(secret='new-secret'), SIGNED_AT)
    signing.verify(WebhookRequest(body=BODY, headers=headers), SourceSecret(secret='old-secret'), SIGNED_AT)


def test_values_of_other_schemes_are_ignored() -> None:
    # Given a header with an unknown scheme first and our v1 value after it
    valid = signing.sign(SECRET.secret, TIMESTAMP, BODY)

    # When / Then the v1 value decides
    signing.verify(request_with(str(TIMESTAMP), f'v0=deadbeef, {valid}'), SECRET, SIGNED_AT)
    with pytest.raises(AuthenticationFailed):
        signing.verify(request_with(str(TIMESTAMP), valid.replace('v1=', 'v2=')), SECRET, SIGNED_AT)


def test_upper_case_hex_is_accepted() -> None:
    # Given the hex digest in upper case
    signature = 'v1=' + signing.sign(SECRET.secret, TIMESTAMP, BODY).removeprefix('v1=').upper()

    # When / Then it verifies
    signing.verify(request_with(str(TIMESTAMP), signature), SECRET, SIGNED_AT)


@pytest.mark.parametrize(
    ('timestamp', 'signature', 'field'),
    [
        (None, 'v1=00', signing.TIMESTAMP_HEADER),
        ('', 'v1=00', signing.TIMESTAMP_HEADER),
        ('2024-05-14T12:00:00Z', 'v1=00', signing.TIMESTAMP_HEADER),
        ('1715688000.5', 'v1=00', signing.TIMESTAMP_HEADER),
        ('-1715688000', 'v1=00', signing.TIMESTAMP_HEADER),
        ('9' * 5000, 'v1=00', signing.TIMESTAMP_HEADER),
        (str(TIMESTAMP), None, signing.SIGNATURE_HEADER),
        (str(TIMESTAMP), '', signing.SIGNATURE_HEADER),
        (str(TIMESTAMP), 'v1=', signing.SIGNATURE_HEADER),
        (str(TIMESTAMP), 'sha256=abc', signing.SIGNATURE_HEADER),
        (str(TIMESTAMP), 'v1=é', signing.SIGNATURE_HEADER),
    ],
)
def test_missing_or_malformed_headers_are_rejected_naming_them(timestamp: str | None, signature: str | None, field: str) -> None:
    # Given a request with a missing or malformed signing header
    # When / Then authentication fails naming the header
    with pytest.raises(AuthenticationFailed) as caught:
        signing.verify(request_with(timestamp, signature), SECRET, SIGNED_AT)
    assert caught.value.field == field
    assert not isinstance(caught.value, StaleTimestamp)


def test_timestamp_is_part_of_the_signed_message() -> None:
    # Given a valid signature moved onto a fresher timestamp
    signature = signing.sign(SECRET.secret, TIMESTAMP, BODY)

    # When / Then it no longer verifies
    with pytest.raises(AuthenticationFailed) as caught:
        signing.verify(request_with(str(TIMESTAMP + 600), signature), SECRET, SIGNED_AT + timedelta(seconds=600))
    assert not isinstance(caught.value, StaleTimestamp)


@pytest.mark.parametrize(('seconds', 'stale'), [(-300, False), (300, False), (301, True), (-301, True), (86_400, True)])
def test_replay_window_is_plus_minus_300_seconds(seconds: int, stale: bool) -> None:
    # Given a valid request checked `seconds` after signing
    request = WebhookRequest(body=BODY, headers=signing.signed_headers(SECRET.secret, TIMESTAMP, BODY))
    now = SIGNED_AT + timedelta(seconds=seconds)

    # When / Then it is stale exactly outside the window, and never when freshness is waived
    if stale:
        with pytest.raises(StaleTimestamp):
            signing.verify(request, SECRET, now)
    else:
        signing.verify(request, SECRET, now)
    signing.verify(request, SECRET, now, check_freshness=False)
