"""What a change to a ticket means for its alerts (pure): the pending alerts to add or move, the ones to cancel,
the owner's worklist entry, and new SLA breaches to remember for the daily reminder.

Input: the ticket's `alerts` before and after the change (the tickets table's stream carries both images). One
pending alert per (checkpoint, recipient role): `<checkpoint key>#assignee`, `<checkpoint key>#manager`. The ticket's
whole set of pending alerts is its plan (`planned`, kept as one item until each alert falls due: shared/alerts/store.py);
`upserts` and `cancels` are what changed in it, which only matters for the alerts already written out as alert items.
A ticket whose owner is not in the directory has nobody to tell: its alerts appear once the owner is mapped
(the directory import re-evaluates waiting tickets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.alerts.plan import AlertKind, Recipient, TicketAlerts


@dataclass(frozen=True)
class PendingAlert:
    alert_id: str
    ticket_key: str
    ref: str
    kind: AlertKind
    metric: str
    threshold: str
    role: Recipient
    subject: str  # the employee the alert is about: the ticket's owner (a manager alert goes to their manager)
    due_at: datetime
    shift_only: bool = False
    location_id: str | None = None
    target_due_at: datetime | None = None  # an SLA alert: the target's own due time (`due_at` may be its 75% mark)


@dataclass(frozen=True)
class Breach:
    employee_id: str
    ticket_key: str
    ref: str
    metric: str
    at: datetime


@dataclass
class AlertChanges:
    upserts: list[PendingAlert] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    worklist_put: list[TicketAlerts] = field(default_factory=list)
    worklist_remove: list[tuple[str, str]] = field(default_factory=list)  # (employee id, ticket key)
    breaches: list[Breach] = field(default_factory=list)
    previous: dict[str, PendingAlert] = field(default_factory=dict)  # the alerts as the old image planned them
    ticket_key: str | None = None  # whose plan changed (None: no alert changed)
    planned: dict[str, PendingAlert] = field(default_factory=dict)  # the alerts as the new image plans them

    @property
    def empty(self) -> bool:
        return not (self.upserts or self.cancels or self.worklist_put or self.worklist_remove or self.breaches)


def alert_id(checkpoint_key: str, role: Recipient) -> str:
    return f'{checkpoint_key}#{role.value}'


def pending_alerts(alerts: TicketAlerts | None) -> dict[str, PendingAlert]:
    if alerts is None or not alerts.open or alerts.owner is None:
        return {}
    found: dict[str, PendingAlert] = {}
    for planned in alerts.planned:
        for role in planned.notify:
            found[alert_id(planned.key, role)] = PendingAlert(
                alert_id=alert_id(planned.key, role),
                ticket_key=alerts.ticket_key,
                ref=alerts.ref,
                kind=planned.kind,
                metric=planned.metric,
                threshold=planned.threshold,
                role=role,
                subject=alerts.owner,
                due_at=planned.due_at,
                shift_only=planned.shift_only,
                location_id=alerts.location_id,
                target_due_at=planned.target_due_at,
            )
    return found


_WORKLIST_FIELDS = ('kind', 'ref', 'status', 'priority', 'promised_at', 'approval_since', 'sla_due_at', 'location_id')


def changes(old: TicketAlerts | None, new: TicketAlerts | None) -> AlertChanges:
    result = AlertChanges()
    before, after = pending_alerts(old), pending_alerts(new)
    result.upserts = [alert for key, alert in after.items() if before.get(key) != alert]
    result.cancels = sorted(key for key in before if key not in after)
    result.previous = before
    if result.upserts or result.cancels:
        result.ticket_key = (new or old).ticket_key  # type: ignore[union-attr]  # some image planned an alert
        result.planned = after

    old_owner = old.owner if old is not None and old.open else None
    new_owner = new.owner if new is not None and new.open else None
    if old_owner is not None and old_owner != new_owner and old is not None:
        result.worklist_remove.append((old_owner, old.ticket_key))
    if new_owner is not None and new is not None:
        unchanged = old_owner == new_owner and old is not None and all(getattr(old, f) == getattr(new, f) for f in _WORKLIST_FIELDS)
        if not unchanged:
            result.worklist_put.append(new)

    if new is not None and new.owner is not None:
        # breaches already recorded: only those the old image had AND could record (it had an owner)
        known = set(old.breaches) if old is not None and old.owner is not None else set()
        for breach in new.breaches:
            if breach in known:
                continue
            metric, _, at = breach.partition('@')
            result.breaches.append(Breach(new.owner, new.ticket_key, new.ref, metric, datetime.fromisoformat(at.replace('Z', '+00:00'))))
    return result
