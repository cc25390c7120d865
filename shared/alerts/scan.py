"""The one-minute scan: every alert that has fallen due goes on the alerts queue, once.

Reads only the sparse `due` index (a Query per shard for `due_at <= now`): items read / items due stays near 1
whatever the table holds. The index holds alert items and tickets' plans (shared/alerts/store.py): a plan found due
has its due alerts written out as `queued` alert items and queued at once (shared/alerts/store.py, `materialise`).
An alert found much later than its time (a late webhook, a backfill) is recorded as expired rather than sent.
Queue first, then mark queued: a crash between the two re-queues at the next scan (the alert items written out
are in the index until marked), and the sender's claim makes the second copy harmless.
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
    plans: int = 0  # tickets' plans found due
    plan_reads: int = 0  # GetItem of those plans (beside the index items read)

    def as_dict(self) -> dict[str, float]:
        return {'due': self.due, 'queued': self.queued, 'expired': self.expired, 'items_read': self.items_read,
                'queries': self.queries, 'read_units': self.read_units, 'plans': self.plans, 'plan_reads': self.plan_reads}  # fmt: skip


def scan(store: AlertStore, queue: BodyQueue, now: datetime, max_late_minutes: float, wall: Callable[[], float] = time.time) -> ScanResult:
    stats = store.due(now)
    oldest = now - timedelta(minutes=max_late_minutes)
    fresh, expired, plan_reads, found, queued = [], 0, 0, 0, 0

    def send(alert_ids: list[str]) -> None:
        queue.send_bodies([AlertMessage(alert=alert_id, at=now, queued=wall()).model_dump_json() for alert_id in alert_ids])

    for ticket_key in stats.plans:
        written = store.materialise(ticket_key, now, oldest, send)
        found, queued, expired = found + written.found, queued + written.queued, expired + written.expired
        plan_reads += written.reads
    for due in stats.due:
        if parse_iso(due.due_at) < oldest:
            expired += int(store.expire(due, now))
        else:
            fresh.append(due)
    if fresh:
        queue.send_bodies([AlertMessage(alert=due.alert_id, at=now, queued=wall()).model_dump_json() for due in fresh])
    queued += sum(1 for due in fresh if store.mark_queued(due, now))
    return ScanResult(
        len(stats.due) + found, queued, expired, stats.items_read, stats.queries, stats.read_units, len(stats.plans), plan_reads
    )
