"""The one-minute scan: every alert that has fallen due goes on the alerts queue, once.

Reads only the sparse `due` index (a Query per shard for `due_at <= now`): items read / items due stays near 1
whatever the table holds. An alert found much later than its time (a late webhook, a backfill) is recorded as
expired rather than sent. Queue first, then mark queued: a crash between the two re-queues at the next scan,
and the sender's claim makes the second copy harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from shared.alerts.store import AlertStore, parse_iso


class AlertMessage(BaseModel):
    """A message on the alerts queue: deliver `alert` (or its SMS fallback). `at` is the scan's clock, `queued` the
    wall time it was queued, so the sender can tell how late it really is."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    alert: str
    at: datetime
    queued: float
    fallback: str | None = None


class BodyQueue(Protocol):
    def send_bodies(self, bodies: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class ScanResult:
    due: int
    queued: int
    expired: int
    items_read: int
    queries: int
    read_units: float

    def as_dict(self) -> dict[str, float]:
        return {'due': self.due, 'queued': self.queued, 'expired': self.expired, 'items_read': self.items_read,
                'queries': self.queries, 'read_units': self.read_units}  # fmt: skip


def scan(store: AlertStore, queue: BodyQueue, now: datetime, max_late_minutes: float, wall: Callable[[], float] = time.time) -> ScanResult:
    stats = store.due(now)
    oldest = now - timedelta(minutes=max_late_minutes)
    fresh, expired = [], 0
    for due in stats.due:
        if parse_iso(due.due_at) < oldest:
            expired += int(store.expire(due, now))
        else:
            fresh.append(due)
    if fresh:
        queue.send_bodies([AlertMessage(alert=due.alert_id, at=now, queued=wall()).model_dump_json() for due in fresh])
    queued = sum(1 for due in fresh if store.mark_queued(due, now))
    return ScanResult(len(stats.due), queued, expired, stats.items_read, stats.queries, stats.read_units)
