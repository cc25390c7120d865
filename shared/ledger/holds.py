"""Where a pending point becomes available: the hold release.

An award a later event could undo (a reopen, a repeat visit, a changed survey) waits in the pending view
until its rule's hold window closes. The release reads the tickets table's sparse `holds` index, one Query
per partition for `hold_due <= now` (never a Scan): only tickets with an award due are read. Each such
ticket's due awards are written to the ledger as one available entry each, in one transaction with the
ticket (version-checked), the pending items and the balances (`TicketProcessor.release`).

Running it twice, or two of it at once, releases each award once: a released award is no longer pending
on the ticket, and its entry id is fixed (`attribute_not_exists`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from shared.errors import ConcurrentUpdate


class HoldIndex(Protocol):
    shards: int

    def due_holds(self, shard: int, now: datetime, limit: int = 500) -> tuple[list[str], int]: ...


class Releaser(Protocol):
    def release(self, ticket_key: str, now: datetime | None = None) -> object: ...


@dataclass
class ReleaseRun:
    tickets: int = 0  # tickets found due
    index_items_read: int = 0
    awards_released: int = 0
    points_released: int = 0
    conflicts: int = 0  # tickets left for the next run (the processor kept writing them)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def release_due(index: HoldIndex, releaser: Releaser, now: datetime, max_tickets_per_shard: int = 500) -> ReleaseRun:
    """Release every award due by `now`, partition by partition. A partition with more than
    `max_tickets_per_shard` due tickets is read again until it has none left."""
    run = ReleaseRun()
    for shard in range(index.shards):
        while True:
            keys, read = index.due_holds(shard, now, max_tickets_per_shard)
            run.index_items_read += read
            progressed = False
            for key in keys:
                run.tickets += 1
                try:
                    result = releaser.release(key, now)
                except ConcurrentUpdate:
                    run.conflicts += 1
                    continue
                entries = getattr(result, 'entries', [])
                if entries:
                    progressed = True
                run.awards_released += len(entries)
                run.points_released += sum(entry.amount for entry in entries)
            if len(keys) < max_tickets_per_shard or not progressed:
                break
    return run
