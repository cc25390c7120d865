"""The tickets table read whole, for admin tools only (the what-if preview): never on a hot path.

A paged Scan is acceptable here and nowhere else: an admin runs the preview by hand before publishing a program
version, and it must see every ticket a month's awards could come from. The Scan is filtered on `updated_at`
(a ticket last written before the month began cannot hold a basis inside it: every basis is a time the ticket's
events carry, and the ticket is written when they arrive), and projected to what the engine needs (the events, and the fold of
the compacted ones).
A filter does not lower the read cost (DynamoDB bills the items scanned); it lowers what is sent and parsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from shared.tickets.store import StoredTicket, TicketStore, _unpack_history


def tickets_written_since(store: TicketStore, since: datetime, *, page_size: int = 100) -> Iterator[StoredTicket]:
    """Every ticket whose item was last written at or after `since` (UTC), page by page, with its events
    (awards are not read: a preview prices the states afresh)."""
    condition = store.model.updated_at >= since.astimezone(UTC).isoformat()
    for record in store.model.scan(filter_condition=condition, attributes_to_get=['pk', 'version', 'events', 'history'],
                                   page_size=page_size):
        yield StoredTicket(record.pk, int(record.version), _unpack_history(record))
