"""Helpers for the source-adapter tests: wire samples, requests, and hypothesis strategies for fuzzing parse()."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from shared.errors import AuthenticationFailed, InvalidPayload, StaleTimestamp
from shared.sources import signing
from shared.sources.base import SourceAdapter, SourceSecret, WebhookRequest

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures' / 'wire_samples'
RECEIVED_AT = datetime(2024, 5, 14, 12, 0, 0, tzinfo=UTC)
TWO_MEGABYTES = 2 * 1024 * 1024


def sample_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample_bytes(name))


def to_bytes(body: bytes | dict[str, Any] | list[Any]) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def make_request(
    body: bytes | dict[str, Any] | list[Any],
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> WebhookRequest:
    return WebhookRequest(body=to_bytes(body), headers=headers or {}, query=query or {})


def signed_request(body: bytes | dict[str, Any], secret: str, signed_at: datetime) -> WebhookRequest:
    raw = to_bytes(body)
    return WebhookRequest(body=raw, headers=signing.signed_headers(secret, int(signed_at.timestamp()), raw))


def authenticated_event(adapter: SourceAdapter, sample_name: str, secret: SourceSecret) -> Any:
    """The wire sample `sample_name`, signed with `secret` five seconds before RECEIVED_AT, authenticated and parsed: its one event."""
    request = signed_request(sample_bytes(sample_name), secret.secret, RECEIVED_AT - timedelta(seconds=5))
    adapter.authenticate(request, secret, RECEIVED_AT)
    return adapter.parse(request, RECEIVED_AT).events[0]


def refused(adapter: SourceAdapter, request: WebhookRequest, secret: SourceSecret, at: datetime = RECEIVED_AT) -> AuthenticationFailed:
    """Authenticate `request`, which must be refused; the refusal (its `field` names the header at fault)."""
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.authenticate(request, secret, at)
    return caught.value


def tampered(request: WebhookRequest, old: bytes, new: bytes) -> WebhookRequest:
    """`request` with `old` replaced by `new` in its body after signing, its signature headers unchanged."""
    result = WebhookRequest(body=request.body.replace(old, new), headers=request.headers)
    assert result.body != request.body
    return result


def stale_but_replayable(adapter: SourceAdapter, request: WebhookRequest, secret: SourceSecret, at: datetime) -> StaleTimestamp:
    """Check `request` at `at`: it must be refused as stale, yet authenticate as an admin replay (check_freshness=False)."""
    with pytest.raises(StaleTimestamp) as caught:
        adapter.authenticate(request, secret, at)
    adapter.authenticate(request, secret, at, check_freshness=False)
    return caught.value


def parse_one(adapter: SourceAdapter, body: bytes | dict[str, Any], received_at: datetime = RECEIVED_AT) -> Any:
    result = adapter.parse(make_request(body), received_at)
    assert len(result.events) == 1
    return result.events[0]


def rejected_field(adapter: SourceAdapter, body: bytes | dict[str, Any]) -> str | None:
    """Parse `body`, which must be rejected as invalid (HTTP 400); the field the rejection names."""
    with pytest.raises(InvalidPayload) as caught:
        parse_one(adapter, body)
    return caught.value.field


def with_value(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `document` with the dotted `path` set to `value` (the `_DELETE` marker removes the key)."""
    result = copy.deepcopy(document)
    *parents, last = path.split('.')
    target = result
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _DELETE:
        if isinstance(target, list):
            del target[int(last)]
        else:
            target.pop(last, None)
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return result


_DELETE = object()


def without(document: dict[str, Any], path: str) -> dict[str, Any]:
    return with_value(document, path, _DELETE)


def parse_outcome(adapter: SourceAdapter, body: bytes) -> str:
    """Parse arbitrary bytes; only InvalidPayload may escape (any other exception fails the calling test)."""
    try:
        result = adapter.parse(make_request(body), RECEIVED_AT)
    except InvalidPayload as exc:
        assert exc.field, 'InvalidPayload must name a field'
        return 'invalid'
    assert result.events, 'a successful parse yields at least one event'
    for event in result.events:
        assert event.occurred_at.tzinfo is not None
        assert len(event.event_id) <= 256
    return 'parsed'


def huge_json_bodies(document: dict[str, Any], string_path: str) -> list[bytes]:
    """2 MB variants of a valid document: one long string in an ignored or free-text field, and deep nesting."""
    padded = with_value(document, string_path, 'x' * TWO_MEGABYTES)
    nested = {**document, 'padding': json.loads('[' * 200 + ']' * 200)}
    return [json.dumps(padded).encode(), json.dumps(nested).encode() + b' ' * TWO_MEGABYTES, b'[' * TWO_MEGABYTES]


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=6)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def mutations(document: dict[str, Any], paths: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """The document with one of `paths` replaced by an arbitrary JSON value or removed."""
    replaced = st.builds(with_value, st.just(document), st.sampled_from(paths), json_values)
    removed = st.builds(without, st.just(document), st.sampled_from(paths))
    return replaced | removed


def leaf_paths(document: Any, prefix: str = '') -> list[str]:
    """Dotted paths of every value in a JSON document (objects and list items), for mutation fuzzing."""
    paths: list[str] = []
    items: list[tuple[str, Any]]
    if isinstance(document, dict):
        items = [(str(key), value) for key, value in document.items()]
    elif isinstance(document, list):
        items = [(str(index), value) for index, value in enumerate(document)]
    else:
        return paths
    for key, value in items:
        path = f'{prefix}.{key}' if prefix else key
        paths.append(path)
        paths.extend(leaf_paths(value, path))
    return paths


SCHEMAS = Path(__file__).resolve().parents[3] / 'events' / 'schemas'


def schema_validator(name: str) -> Any:
    """A JSON Schema validator for one of the formats we publish in events/schemas/."""
    import jsonschema

    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def adapter_accepts(adapter: SourceAdapter, body: dict[str, Any]) -> bool:
    try:
        parse_one(adapter, body)
    except InvalidPayload:
        return False
    return True


def assert_schema_and_adapter_agree(adapter: SourceAdapter, schema: str, body: dict[str, Any], valid: bool) -> None:
    """The published `schema` and the adapter judge `body` alike, and as `valid` says."""
    schema_valid, adapter_valid = schema_validator(schema).is_valid(body), adapter_accepts(adapter, body)
    assert schema_valid == adapter_valid == valid
