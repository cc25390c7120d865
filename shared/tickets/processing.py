"""Apply one event to its ticket: fold the state, ask the program which awards it deserves, and write
the ticket plus any ledger change in one request.

Per event on the hot path: one consistent GetItem of the ticket, at most one BatchGetItem of the
directory (skipped when every assignee is cached), and exactly one write (none for a duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from shared.directory.store import DirectoryStore
from shared.errors import ConcurrentUpdate
from shared.events import TicketEvent
from shared.ledger.entries import LedgerEntry, plan_entries
from shared.ledger.store import LedgerStore
from shared.rules.program import DEFAULT_PROGRAM, Program, RuleContext
from shared.tickets.state import fold
from shared.tickets.store import TicketStore

MAX_ATTEMPTS = 5


class Outcome(StrEnum):
    APPLIED = 'applied'
    DUPLICATE = 'duplicate'
    RECONCILED = 'reconciled'
    NOT_FOUND = 'not_found'


@dataclass
class ApplyResult:
    outcome: Outcome
    ticket_key: str
    entries: list[LedgerEntry] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    attempts: int = 1


@dataclass
class TicketProcessor:
    tickets: TicketStore
    directory: DirectoryStore
    ledger: LedgerStore
    program: Program = DEFAULT_PROGRAM

    def apply(self, event: TicketEvent, now: datetime | None = None) -> ApplyResult:
        """Apply a new event (a redelivered one changes nothing and writes nothing)."""
        return self._with_retries(event.ticket_key, event, now)

    def reconcile(self, ticket_key: str, now: datetime | None = None) -> ApplyResult:
        """Re-evaluate a ticket against the current directory and program (no new event)."""
        return self._with_retries(ticket_key, None, now)

    def _with_retries(self, ticket_key: str, event: TicketEvent | None, now: datetime | None) -> ApplyResult:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                result = self._apply_once(ticket_key, event, now or datetime.now(UTC))
                result.attempts = attempt
                return result
            except ConcurrentUpdate:
                if attempt == MAX_ATTEMPTS:
                    raise
        raise AssertionError('unreachable')

    def _apply_once(self, ticket_key: str, event: TicketEvent | None, now: datetime) -> ApplyResult:
        stored = self.tickets.get(ticket_key)
        if event is not None and stored is not None and stored.has_event(event.event_id):
            return ApplyResult(Outcome.DUPLICATE, ticket_key)
        if event is None and stored is None:
            return ApplyResult(Outcome.NOT_FOUND, ticket_key)
        previous_events = stored.events if stored else []
        events = previous_events + ([event] if event is not None else [])
        state = fold(events)

        keys = [assignee.agent_key for assignee in state.assignees]
        employees = self.directory.lookup(state.source, keys) if keys else {}
        unmapped = sorted(key for key in keys if key not in employees)
        desired = self.program.evaluate(state, RuleContext(employees))

        trigger = event or max(events, key=lambda e: (e.occurred_at, e.event_id))
        current = stored.awards if stored else {}
        plan = plan_entries(
            ticket_key=ticket_key,
            current=current,
            desired=desired,
            source_event_id=trigger.event_id,
            occurred_at=trigger.occurred_at,
            now=now,
            program_id=f'{self.program.program_id}@{self.program.version}',
        )
        employee_ids = sorted({employee.employee_id for employee in employees.values()})
        record, condition = self.tickets.build(stored, events, state, plan.awards, employee_ids, unmapped, now)
        written = self.ledger.commit(record, condition, plan)
        outcome = Outcome.APPLIED if event is not None else Outcome.RECONCILED
        return ApplyResult(outcome, ticket_key, list(written.entries), unmapped)

