"""Helpers shared by the source adapters: decoding, field errors, time parsing, secret checks."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError

from shared.errors import AuthenticationFailed, InvalidPayload, StaleTimestamp, first_validation_error, invalid_from_validation
from shared.events import Source, TicketEvent, content_event_id
from shared.sources.base import SourceSecret, WebhookRequest

TOKEN_HEADER = 'X-Pitcrew-Token'
REPLAY_WINDOW_SECONDS = 300
_INTEGER = re.compile(r'[+-]?[0-9]{1,15}')
_MAX_ID_LENGTH = 256  # TicketEvent.event_id


def decode_utf8(body: bytes) -> str:
    try:
        return body.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise InvalidPayload(f'body is not valid UTF-8 (byte {exc.start})', field='body') from exc


def load_json_object(body: bytes) -> dict[str, Any]:
    text = decode_utf8(body)
    if not text.strip():
        raise InvalidPayload('body is empty', field='body')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPayload(f'body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}', field='body') from exc
    except (ValueError, RecursionError) as exc:  # a number over 4300 digits; nesting deeper than the recursion limit
        raise InvalidPayload(f'body is not acceptable JSON: {type(exc).__name__}', field='body') from exc
    if not isinstance(data, dict):
        raise InvalidPayload('body must be a JSON object', field='body')
    unencodable = _unencodable_field(data, '')
    if unencodable is not None:  # a lone surrogate (\ud800) is valid JSON but no UTF-8: it would fail at the queue
        raise InvalidPayload('text holds an unpaired UTF-16 surrogate (\\ud800-\\udfff escape)', field=unencodable or 'body')
    return data


def _unencodable_field(value: Any, path: str) -> str | None:
    """The dotted path of the first key or string that cannot be encoded as UTF-8, or None."""
    if isinstance(value, str):
        return None if value.isascii() or _encodes(value) else path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        child_path = f'{path}.{key}' if path else str(key)
        if isinstance(key, str) and not _encodes(key):
            return path or 'body'
        found = _unencodable_field(child, child_path)
        if found is not None:
            return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def validation_to_invalid(exc: ValidationError, prefix: str = '') -> InvalidPayload:
    """The first pydantic error as an InvalidPayload naming the dotted field path."""
    return invalid_from_validation(exc, prefix)


def validate[T](builder: Callable[[], T], prefix: str = '') -> T:
    """Run a pydantic construction and turn its ValidationError into InvalidPayload."""
    try:
        return builder()
    except ValidationError as exc:
        raise validation_to_invalid(exc, prefix) from None  # the ValidationError's text holds the input values


# Dates a sender may report: anything outside is refused at the boundary (400 naming the field).
MIN_YEAR, MAX_YEAR = 1970, 2200


def parse_datetime(value: Any, field: str, *, naive_is_utc: bool = False) -> datetime:
    """ISO-8601 (with 'Z', with or without seconds, with '+0000' offsets) to an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload('expected an ISO-8601 date-time string', field=field)
    text = value.strip()
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    # Salesforce REST style offset without colon: 2024-05-14T09:12:31.000+0000
    if len(text) > 5 and text[-5] in '+-' and text[-4:].isdigit() and ':' not in text[-5:]:
        text = f'{text[:-2]}:{text[-2:]}'
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidPayload('not an ISO-8601 date-time', field=field) from exc
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise InvalidPayload('date-time has no time zone', field=field)
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00 falls before year 1 in UTC
        raise InvalidPayload('date-time out of range', field=field) from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:  # processing adds hold windows and SLA targets: 9999-12-31 would overflow
        raise InvalidPayload(f'date-time out of range: years {MIN_YEAR}-{MAX_YEAR} are accepted', field=field)
    return parsed


def optional_datetime(value: Any, field: str, *, naive_is_utc: bool = False) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_datetime(value, field, naive_is_utc=naive_is_utc)


def require_str(data: dict[str, Any], key: str, field: str) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidPayload('field is required', field=field)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidPayload(f'expected a string or integer, got {type(value).__name__}', field=field)
    return str(value).strip()


def optional_str(data: dict[str, Any], key: str, field: str) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidPayload(f'expected a string, got {type(value).__name__}', field=field)
    return str(value).strip()


def secrets_match(given: str | None, secret: SourceSecret) -> bool:
    if not given:
        return False
    candidates = [secret.secret] + ([secret.previous_secret] if secret.previous_secret else [])
    return any(hmac.compare_digest(given.encode(), candidate.encode()) for candidate in candidates)


def check_token(request: WebhookRequest, secret: SourceSecret, header: str = TOKEN_HEADER) -> None:
    """Senders without signatures (Freshdesk, Gorgias, Salesforce) authenticate with a shared token,
    sent in a header or, where the sender cannot set headers, as the `token` query parameter."""
    given = request.header(header) or request.query.get('token')
    if given is None:
        raise AuthenticationFailed(f'missing {header} header or token query parameter', field=header)
    if not secrets_match(given, secret):
        raise AuthenticationFailed('token does not match', field=header)


def optional_int(data: dict[str, Any], key: str, field: str, *, minimum: int | None = 0) -> int | None:
    """An integer sent as a JSON number or as a string of digits (templates quote everything)."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidPayload(f'expected an integer, got {type(value).__name__}', field=field)
    if isinstance(value, str):
        if not _INTEGER.fullmatch(value.strip()):
            raise InvalidPayload('expected an integer, got a string that is not one', field=field)
        value = int(value.strip())
    if minimum is not None and value < minimum:
        raise InvalidPayload(f'must be at least {minimum}', field=field)
    return value


def split_tags(value: Any, field: str, separator: str | None = None) -> tuple[str, ...]:
    """Tags as a list of strings or as one string (split on `separator`, None = whitespace), de-duplicated in order."""
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.split(separator)
    elif isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise InvalidPayload(f'expected a string, got {type(item).__name__}', field=f'{field}[{index}]')
            items.append(item)
    else:
        raise InvalidPayload(f'expected a string or a list of strings, got {type(value).__name__}', field=field)
    return tuple(dict.fromkeys(tag.strip() for tag in items if tag.strip()))


def ensure_fresh(signed_at: float, now: datetime, field: str, window_seconds: int = REPLAY_WINDOW_SECONDS) -> None:
    """Reject a correctly signed request whose timestamp (epoch seconds) is outside ±window of `now`."""
    skew = abs(now.timestamp() - signed_at)
    if skew > window_seconds:
        raise StaleTimestamp(f'timestamp is {int(skew)} s away from now; the replay window is ±{window_seconds} s', field=field)


def build_event(
    fields: dict[str, Any],
    *,
    event_id: str | None = None,
    hash_occurred_at: bool = True,
    field_names: Mapping[str, str] | None = None,
) -> TicketEvent:
    """Validate the canonical fields into a TicketEvent.

    Without a sender-given `event_id` the id is `content_event_id` over every canonical field, so an identical
    redelivery gets the same id. `hash_occurred_at=False` leaves `occurred_at` out of that digest: use it when
    occurred_at is the receive time (not in the payload), or a redelivery would look like a new change.
    `field_names` maps canonical field names to the payload paths named in InvalidPayload. Pass nested values
    (assignees, survey, upsell lines) as dicts so that they are validated here too.
    """
    names = field_names or {}
    try:
        event = TicketEvent(event_id=event_id or 'pending', **fields)
    except ValidationError as exc:
        path, reason = first_validation_error(exc, default_field='')
        head = path.split('.', 1)[0]
        raise InvalidPayload(reason, field=(names.get(head) or path) if path else 'body') from None
    if event_id is not None:
        return event
    exclude = {'event_id', 'source', 'external_id'} | (set() if hash_occurred_at else {'occurred_at'})
    canonical = event.model_dump(mode='json', exclude=exclude, exclude_none=True, exclude_defaults=True)
    content_id = content_event_id(event.source, event.external_id, canonical)
    if len(content_id) > _MAX_ID_LENGTH:
        raise InvalidPayload('id is too long to key events', field=names.get('external_id', 'external_id'))
    return event.model_copy(update={'event_id': content_id})


def _iso_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError('date-time has no time zone')
        return value.astimezone(UTC)
    try:
        return parse_datetime(value, 'value')
    except InvalidPayload as exc:
        raise ValueError(exc.reason) from None


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_datetime)]
"""For pydantic body models: an ISO-8601 string with a UTC offset (or 'Z'), converted to aware UTC. No epoch numbers."""


def source_matches(data: dict[str, Any], expected: Source, key: str = 'source') -> None:
    """Our templates carry `"source": "<name>"`; a body for another source sent to this URL is rejected."""
    value = data.get(key)
    if value is not None and value != expected.value:
        raise InvalidPayload(f'this endpoint takes {expected.value} payloads, got another source', field=key)
