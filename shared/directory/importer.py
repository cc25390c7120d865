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
    summary['logins'] = _sync_logins(rows, report)
    for name in ('changed_ids', 'deactivated_ids'):
        summary[name] = len(summary[name])
    summary['newly_mapped'] = len(report.newly_mapped)
    summary['rows'] = len(rows)
    summary['tickets_requeued'] = len(ticket_keys)
    return summary


def _sync_logins(rows: list[Any], report: Any) -> dict[str, Any] | None:
    """The API logins of the people this import changed (shared/directory/logins.py); None without a user pool."""
    from shared.config import get_settings

    pool = get_settings().PEOPLE_USER_POOL_ID
    if not pool:
        return None
    from shared.directory.logins import CognitoLogins, Login, login_for

    changed = set(report.changed_ids)
    logins = [login_for(row) for row in rows if row.employee_id in changed]
    logins += [Login(username=employee_id, group='advisor', attributes={}, enabled=False) for employee_id in report.deactivated_ids]
    return CognitoLogins(pool).apply(logins).as_dict()
