"""What the local fake helpdesks know: the sample month's genuine tickets, as each helpdesk's API would report them at
the end of the month (`make run RUN_ARGS=--verify-sources`).

The truth is read from the month's own deliveries through the real source adapters (what a genuine helpdesk sent),
folded per ticket: who it is assigned to last, when it was created, its first agent reply, when it was resolved, its
last status, priority and channel. Forged deliveries, and deliveries the month expects to be rejected, are not part of
any helpdesk's truth, so a ticket only a forger named is a 404 and earns nothing. Pure: no AWS, no sockets.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from infrastructure.local.fake_helpdesks import FakeTicket
from infrastructure.local.sample_month import Delivery
from shared.errors import PitcrewError
from shared.events import AssigneeRole, TicketEvent
from shared.sources import get_adapter
from shared.sources.base import WebhookRequest
from shared.verify import VERIFIER_NAMES

_FAKE_STATUS = {'new': 'open', 'open': 'open', 'pending': 'pending', 'on_hold': 'pending', 'solved': 'solved', 'closed': 'closed'}


@dataclass
class _Fold:
    agent: tuple[datetime, str] | None = None
    status: tuple[datetime, str] | None = None
    priority: tuple[datetime, str] | None = None
    channel: tuple[datetime, str] | None = None
    created_at: datetime | None = None
    replied_at: datetime | None = None
    solved_at: datetime | None = None
    seen: set[str] = field(default_factory=set)

    def add(self, event: TicketEvent) -> None:
        at = event.occurred_at
        agents = [a.agent_key for a in event.assignees if a.role is AssigneeRole.AGENT]
        if agents and (self.agent is None or at >= self.agent[0]):
            self.agent = (at, agents[-1])
        for name, value in (('status', event.status), ('priority', event.priority), ('channel', event.channel)):
            current = getattr(self, name)
            if value is not None and (current is None or at >= current[0]):
                setattr(self, name, (at, value.value))
        self.created_at = _earliest(self.created_at, event.created_at)
        self.replied_at = _earliest(self.replied_at, event.first_response_at)
        if event.resolved_at is not None and (self.solved_at is None or event.resolved_at > self.solved_at):
            self.solved_at = event.resolved_at


def _earliest(current: datetime | None, new: datetime | None) -> datetime | None:
    if new is None:
        return current
    return new if current is None or new < current else current


def agent_number(agent_key: str) -> int:
    """A stable numeric agent id for an agent's key (Freshdesk and Gorgias address agents by number)."""
    return 1_000 + zlib.crc32(agent_key.lower().encode()) % 9_000_000


def truth(deliveries: Iterable[Delivery]) -> dict[str, list[FakeTicket]]:
    """Per helpdesk that verify mode can ask, its genuine tickets as FakeTickets."""
    folds: dict[tuple[str, str], _Fold] = {}
    for delivery in deliveries:
        if delivery.source not in VERIFIER_NAMES or delivery.forged or delivery.expect != 'accepted':
            continue
        content_type = 'text/xml; charset=utf-8' if delivery.source == 'salesforce' else 'application/json'
        request = WebhookRequest(body=delivery.body, headers={'content-type': content_type}, received_at=delivery.at)
        try:
            events = get_adapter(delivery.source).parse(request, delivery.at).events
        except PitcrewError:  # a payload the boundary refuses is no helpdesk's truth
            continue
        for event in events:
            folds.setdefault((delivery.source, event.external_id), _Fold()).add(event)
    found: dict[str, list[FakeTicket]] = {name: [] for name in VERIFIER_NAMES}
    for (source, external_id), fold in sorted(folds.items()):
        if fold.agent is None:
            continue  # nobody was ever assigned: nothing to claim
        status = _FAKE_STATUS.get(fold.status[1] if fold.status else 'open', 'open')
        found[source].append(FakeTicket(
            ticket_id=external_id, agent_email=fold.agent[1], status=status, created_at=fold.created_at,
            replied_at=fold.replied_at, solved_at=fold.solved_at if status in ('solved', 'closed') else None,
            priority=fold.priority[1] if fold.priority else 'normal', channel=fold.channel[1] if fold.channel else 'email',
            agent_id=agent_number(fold.agent[1]),
        ))  # fmt: skip
    return found
