"""Opaque, signed pagination cursors bound to their list: the route, the caller and the list's filters. A cursor of
another list (or another caller, or edited) is refused with a 400 naming `cursor`, never followed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shared.api.errors import BadRequest
from shared.api.principal import Principal
from shared.api.signing import seal, unseal

PURPOSE = 'cursor'


def _binding(list_name: str, principal: Principal, filters: dict[str, Any]) -> str:
    text = json.dumps([list_name, principal.subject, principal.employee_id, filters], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(list_name: str, principal: Principal, filters: dict[str, Any], position: Any, master: bytes | None = None) -> str | None:
    """The cursor for the page after `position` (any JSON value the list's store understands); None ends the list."""
    if position is None:
        return None
    return seal(PURPOSE, {'l': _binding(list_name, principal, filters), 'p': position}, master)


def decode_cursor(list_name: str, principal: Principal, filters: dict[str, Any], cursor: str | None, master: bytes | None = None) -> Any:
    """The position a cursor points at (None: the first page), or a 400 for a cursor that is not this list's."""
    if not cursor:
        return None
    payload = unseal(PURPOSE, cursor, master)
    if payload is None:
        raise BadRequest('the cursor is not one this API issued (edited or corrupt)', field='cursor')
    if payload.get('l') != _binding(list_name, principal, filters):
        raise BadRequest('the cursor belongs to another list: start again without it', field='cursor')
    return payload.get('p')
