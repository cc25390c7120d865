"""What every source adapter guarantees, whatever the sender: arbitrary input only ever ends in a
parsed event or an InvalidPayload naming a field, and unreadable bodies are rejected as the body."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.sources import ADAPTER_NAMES, get_adapter

from ._support import json_bytes, json_objects, parse_outcome, rejected_field

JSON_ADAPTERS = [name for name in ADAPTER_NAMES if name != 'salesforce']

# Shapes that get past the first checks of the JSON senders: a bare object, one under "ticket"
# (Zendesk, Freshdesk), and one claiming our survey / job-card / training / review / safety schemas.
json_documents = (
    json_objects
    | st.builds(lambda ticket: {'ticket': ticket}, json_objects)
    | st.builds(lambda rest: {**rest, 'schema': 'pitcrew.survey/v1'}, json_objects)
    | st.builds(lambda rest: {**rest, 'schema': 'pitcrew.dms.job_card/v1'}, json_objects)
    | st.builds(lambda rest: {**rest, 'schema': 'pitcrew.lms.training/v1'}, json_objects)
    | st.builds(lambda rest: {**rest, 'schema': 'pitcrew.quality.review/v1'}, json_objects)
    | st.builds(lambda rest: {**rest, 'schema': 'pitcrew.safety.report/v1'}, json_objects)
)


@pytest.mark.parametrize('name', ADAPTER_NAMES)
@settings(deadline=None)
@given(body=st.binary(max_size=512))
def test_arbitrary_bytes_only_ever_raise_invalid_payload(name: str, body: bytes) -> None:
    # Given any bytes / When parsed / Then only a parse or InvalidPayload naming a field comes out
    parse_outcome(get_adapter(name), body)


@pytest.mark.parametrize('name', JSON_ADAPTERS)
@settings(deadline=None)
@given(document=json_documents)
def test_arbitrary_json_objects_only_ever_raise_invalid_payload(name: str, document: dict[str, Any]) -> None:
    # Given any JSON object in the shapes senders use / When parsed / Then only a parse or InvalidPayload
    parse_outcome(get_adapter(name), json_bytes(document))


UNREADABLE = [b'', b'   \n', b'{', b'not json', b'csat=5', b'[{"ticket_id": "1"}]', b'null', b'"ticket"',
              b'\xff\xfe{"ticket": 1}', b'\xc3\x28', 'Résolu, très bien'.encode('latin-1')]


@pytest.mark.parametrize('name', JSON_ADAPTERS)
@pytest.mark.parametrize('body', UNREADABLE)
def test_empty_malformed_non_object_or_non_utf8_body_is_rejected_as_the_body(name: str, body: bytes) -> None:
    # Given an empty, non-JSON, form-encoded, non-object or non-UTF-8 body
    # When / Then parsing fails naming the body
    assert rejected_field(get_adapter(name), body) == 'body'
