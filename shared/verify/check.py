"""The verdict on one webhook event given what the helpdesk's API says (pure: no I/O, no clock of its own).

* The API does not know the ticket: rejected (a forged or mistyped id).
* The webhook names an assignee the API does not: rejected (a claim for someone else).
* The webhook says resolved and the API does not: rejected (a resolution that did not happen).
Otherwise the event goes on with the API's facts in place of the webhook's: the assignee, when the ticket was
created, its first agent reply, when it was resolved, its priority and channel. The webhook's status is kept (it is
the history of the ticket, the API only knows the present), and so are its id and time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.events import Assignee, AssigneeRole, TicketEvent
from shared.verify.base import HelpdeskTicket
from shared.verify.settings import SourceSettings


@dataclass(frozen=True)
class Verdict:
    event: TicketEvent | None  # the event to apply; None: rejected
    reason: str | None = None
    code: str | None = None  # not_found | assignee_mismatch | not_resolved | stale_event

    @property
    def rejected(self) -> bool:
        return self.event is None


def stale(event: TicketEvent, settings: SourceSettings, now: datetime) -> Verdict | None:
    if settings.max_event_age_s is None:
        return None
    age = now - event.occurred_at
    if age <= timedelta(seconds=settings.max_event_age_s):
        return None
    reason = (f'event time {event.occurred_at:%Y-%m-%dT%H:%M:%SZ} is {int(age.total_seconds())} s old; the freshness window '
              f'for {event.source.value} is {settings.max_event_age_s} s')
    return Verdict(None, reason, 'stale_event')


def judge(event: TicketEvent, truth: HelpdeskTicket | None) -> Verdict:
    source = event.source.value
    if truth is None:
        return Verdict(None, f'{source} API has no ticket {event.external_id[:64]!r}', 'not_found')
    claimed = [assignee for assignee in event.assignees if assignee.role is AssigneeRole.AGENT]
    known = set(truth.assignee_keys)
    if claimed and not all(assignee.agent_key in known for assignee in claimed):
        actual = 'nobody' if not known else 'another agent'
        return Verdict(None, f'{source} API says the ticket is assigned to {actual}, not the agent the webhook names',
                       'assignee_mismatch')
    if event.status is not None and event.status.is_resolved and (truth.status is None or not truth.status.is_resolved):
        return Verdict(None, f'the webhook says {event.status.value} but the {source} API says '
                             f'{truth.status.value if truth.status else "no status"}', 'not_resolved')
    update: dict[str, Any] = {
        'created_at': truth.created_at or event.created_at,
        'first_response_at': truth.first_response_at,  # only what the helpdesk confirms
        'priority': truth.priority or event.priority,
        'channel': truth.channel or event.channel,
    }
    if event.status is not None and event.status.is_resolved:
        update['resolved_at'] = truth.resolved_at
    if not claimed and truth.assignee_keys:
        key = next((key for key in truth.assignee_keys if '@' in key), truth.assignee_keys[0])  # directories map e-mails first
        update['assignees'] = (Assignee(role=AssigneeRole.AGENT, agent_key=key),)
    return Verdict(TicketEvent.model_validate(event.model_dump() | update))
