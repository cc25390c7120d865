"""Import an HR export into the directory, then re-evaluate tickets that were waiting for a mapping."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import QueueMessage
from shared.ingest.webhooks import EventQueue
from shared.tickets.store import TicketStore


def import_directory(
    content: str,
    fmt: str,
    *,
    directory: DirectoryStore,
    tickets: TicketStore,
    queue: EventQueue,
    now: datetime,
    deactivate_missing: bool = True,
) -> dict[str, Any]:
    rows = parse_export(content, fmt)
    report = directory.import_rows(rows, now, deactivate_missing=deactivate_missing)
    sources = sorted({source for source, _ in report.newly_mapped})
    ticket_keys: list[str] = []
    for source in sources:
        ticket_keys.extend(tickets.unmapped_ticket_keys(source))
    if ticket_keys:
        queue.send([QueueMessage(reconcile=key) for key in ticket_keys])
    summary = asdict(report)
    summary['newly_mapped'] = len(report.newly_mapped)
    summary['rows'] = len(rows)
    summary['tickets_requeued'] = len(ticket_keys)
    return summary
