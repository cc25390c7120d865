"""Bad input the bench's re-signed mutation fuzz (tests/bench/quarantine.py) turned into a 5xx, now refused at the
boundary with a 400 that names the field: a date-time the processor's arithmetic overflows on, and text holding an
unpaired UTF-16 surrogate (valid JSON, no UTF-8: the queue could not take it)."""

from __future__ import annotations

import json

import pytest

from shared.errors import InvalidPayload
from shared.sources import get_adapter
from shared.sources.common import load_json_object, parse_datetime
from tests.unit.sources._support import make_request, sample_json, with_value

RECEIVED = parse_datetime('2024-05-14T12:00:00Z', 'now')


@pytest.mark.parametrize('value', ['9999-12-31T23:59:59Z', '1969-12-31T23:59:59Z', '0001-01-02T00:00:00Z'])
def test_a_date_time_outside_the_accepted_years_is_refused_naming_the_field(value: str) -> None:
    # Given a date-time far outside any ticket's life
    # When it is parsed at the boundary
    with pytest.raises(InvalidPayload) as caught:
        parse_datetime(value, 'ticket.updated_at')

    # Then it is refused as out of range, naming the field
    assert caught.value.field == 'ticket.updated_at' and 'out of range' in caught.value.reason


def test_the_accepted_years_still_parse() -> None:
    # Given date-times at both ends of the accepted range
    # When parsed / Then they are kept as given (UTC)
    assert parse_datetime('1970-01-01T00:00:00Z', 'f').year == 1970
    assert parse_datetime('2200-12-31T23:59:59Z', 'f').year == 2200


def test_a_gorgias_ticket_closed_in_year_9999_is_a_400_not_a_processing_failure() -> None:
    # Given the Gorgias sample with its close date in year 9999 (the fuzz's case: it overflowed in processing)
    body = with_value(sample_json('gorgias_ticket_webhook.json'), 'closed_datetime', '9999-12-31T23:59:59Z')

    # When the adapter parses it
    with pytest.raises(InvalidPayload) as caught:
        get_adapter('gorgias').parse(make_request(body), RECEIVED)

    # Then it is refused naming the field
    assert caught.value.field == 'closed_datetime'


def test_an_unpaired_surrogate_is_refused_naming_the_field() -> None:
    # Given the Zendesk sample whose subject holds an unpaired surrogate escape (valid JSON, not encodable as UTF-8)
    document = sample_json('zendesk_ticket_webhook.json')
    body = json.dumps(with_value(document, 'ticket.subject', 'Printer \ud800 on fire')).encode()
    assert b'\\ud800' in body

    # When the body is read at the boundary, and when the adapter parses it
    with pytest.raises(InvalidPayload) as read:
        load_json_object(body)
    with pytest.raises(InvalidPayload) as parsed:
        get_adapter('zendesk').parse(make_request(body), RECEIVED)

    # Then both refuse it, naming the field that holds it
    assert read.value.field == parsed.value.field == 'ticket.subject'


def test_a_surrogate_in_a_key_names_the_object_and_paired_surrogates_are_fine() -> None:
    # Given a key with an unpaired surrogate, and an emoji written as a surrogate pair (valid UTF-16, valid UTF-8)
    bad_key = b'{"ticket": {"\\udc00": 1}}'
    emoji = b'{"ticket": {"subject": "\\ud83d\\ude00"}}'

    # When read / Then the key's object is named, and the pair reads as the emoji
    with pytest.raises(InvalidPayload) as caught:
        load_json_object(bad_key)
    assert caught.value.field == 'ticket'
    assert load_json_object(emoji)['ticket']['subject'] == '\U0001f600'
