"""Apply one event to its ticket: fold the state, run its SLA clocks and derive its KPI contribution,
ask the program which awards it deserves, and write the ticket plus any ledger change in one request.

Per event on the hot path: one consistent GetItem of the ticket, at most one BatchGetItem of the
directory (skipped when every assignee is cached), and exactly one write (none for a duplicate). A ledger
change larger than one transaction (hundreds of upsell lines, a reassignment of many credited lines) is
written in steps (`shared.ledger.entries.split_plan`): the ticket `unsettled` until the last, so a crash
between steps is finished by the redelivery (README: size limits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from shared.alerts.plan import TicketAlerts, ticket_alerts
from shared.directory.people import Employee
from shared.directory.store import DirectoryStore
from shared.errors import ConcurrentUpdate
from shared.events import Kind, QueueMessage, TicketEvent
from shared.kpi.definitions import Contribution, contribution
from shared.ledger.earnings import cap_keys, plan_counters
from shared.ledger.entries import LedgerEntry, Scalar, due_awards, plan_awards, plan_release, release_limit, split_plan
from shared.ledger.store import LedgerStore
from shared.sla.clock import Checkpoint, SlaReport, evaluate
from shared.sla.config import Location, ServiceConfig, load_config
from shared.sla.policy import PolicySubject, first_matching
from shared.tickets.history import TicketHistory
from shared.tickets.state import REPEAT_VISIT_TAG, TicketState
from shared.tickets.store import TicketStore
from shared.verify.check import Verdict

if TYPE_CHECKING:
    from shared.programs.loader import ProgramBook

MAX_ATTEMPTS = 5


class Outcome(StrEnum):
    APPLIED = 'applied'
    DUPLICATE = 'duplicate'
    RECONCILED = 'reconciled'
    NOT_FOUND = 'not_found'
    RELEASED = 'released'
    NOTHING_DUE = 'nothing_due'
    REJECTED = 'rejected'  # the source's API did not confirm the event (verify mode) or it was stale: nothing applied


@dataclass
class ApplyResult:
    outcome: Outcome
    ticket_key: str
    entries: list[LedgerEntry] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    attempts: int = 1
    pending_changes: int = 0  # awards added, re-priced or dropped in the pending view
    steps: int = 1  # transactions the ledger change took (more than one for a change too large for one)
    more: bool = False  # a release step left due awards for the next step
    reason: str | None = None  # why a REJECTED event was not applied


def _no_hook(step: int) -> None:
    return None


class EventQueue(Protocol):
    def send(self, messages: Sequence[QueueMessage]) -> None: ...


class EventVerifier(Protocol):
    """Verify with the source (shared/verify/service.py): whether a source's events are checked, and the verdict."""

    def applies(self, source: str) -> bool: ...

    def verify(self, event: TicketEvent, now: datetime, *, check_freshness: bool = True) -> Verdict: ...


def repeat_visit_event(state: TicketState) -> TicketEvent | None:
    """The event that tells the earlier job card it was repeated (its first-time fix is then judged
    against the repeat window). Its id is derived from this card, so sending it twice is harmless."""
    if state.repeat_of is None or state.created_at is None:
        return None
    return TicketEvent(
        source=state.source,
        kind=Kind.JOB_CARD,
        external_id=state.repeat_of,
        event_id=f'repeat-visit:{state.ticket_key}',
        occurred_at=state.created_at,
        tags=(f'{REPEAT_VISIT_TAG}{state.ticket_key}',),
    )


def policy_subject(state: TicketState, location_id: str | None) -> PolicySubject:
    return PolicySubject(
        kind=state.kind,
        source=state.source,
        channel=state.channel,
        priority=state.priority or 'normal',
        location_id=location_id,
        job_type=state.job_type,
    )


def service_figures(
    state: TicketState,
    points: Sequence[Checkpoint],
    keys: Sequence[str],
    employees: Mapping[str, Employee],
    config: ServiceConfig,
    changed_at: datetime,
) -> tuple[SlaReport | None, Contribution, TicketAlerts, Location]:
    """The ticket's SLA clocks under the first matching policy, its KPI contribution, its alert checkpoints
    and the location it is judged at."""
    owner = employees.get(state.primary_assignee.agent_key) if state.primary_assignee else None
    # Helpdesks rarely say where a ticket was worked: then it belongs to its owner's location.
    location = config.location(state.location_id or (owner.location_id if owner else None))
    calendar = config.calendar(location.calendar_id)
    policy = first_matching(config.sla_policies, policy_subject(state, location.location_id))
    sla = evaluate(state, (), policy, calendar, points) if policy is not None else None
    people = list({employees[key].employee_id: employees[key] for key in keys if key in employees}.values())
    kpi = contribution(state, points, sla, calendar, location, people, config.kpi, changed_at)
    alerts = ticket_alerts(state, points, sla, calendar, config.alerts.rules, owner.employee_id if owner else None, location.location_id)
    return sla, kpi, alerts, location


def undo_facts(state: TicketState) -> dict[str, Scalar]:
    """What a clawback reversal states about the ticket that undid the award."""
    facts: dict[str, Scalar] = {'status': str(state.status) if state.status else None, 'reopen_count': state.reopen_count}
    if state.repeat_visits:
        facts['repeat_visits'] = ','.join(key for key, _ in state.repeat_visits)
    if state.survey is not None:
        facts['csat'] = state.survey.survey.csat
        facts['nps'] = state.survey.survey.nps
    return facts


def load_programs() -> ProgramBook:
    """The program book (shared/programs/loader.py). Imported on first use: releasing holds (functions/hold_release) never
    evaluates programs; the ticket processor, which always does, imports them at cold start itself."""
    from shared.programs.loader import load_programs as load

    return load()


@dataclass
class TicketProcessor:
    tickets: TicketStore
    directory: DirectoryStore
    ledger: LedgerStore
    programs: Callable[[], ProgramBook] = load_programs
    config: Callable[[], ServiceConfig] = load_config
    queue: EventQueue | None = None  # for repeat-visit events; None: repeat visits are not linked
    after_step: Callable[[int], None] = _no_hook  # called between the write steps of a large change (tests inject crashes)
    verifier: EventVerifier | None = None  # None: every event is taken at its word

    def apply(self, event: TicketEvent, now: datetime | None = None, *, check_freshness: bool = True) -> ApplyResult:
        """Apply a new event (a redelivered one changes nothing and writes nothing).

        In verify mode the source's API is asked first (after the duplicate check, so a redelivery costs no API call):
        an event it does not confirm is not applied (REJECTED, with the reason); one it confirms is applied with the
        API's facts. SourceApiUnavailable (rate limit, helpdesk down) propagates: the queue delivers the event again."""
        if self.verifier is not None and self.verifier.applies(event.source.value):
            stored = self.tickets.get(event.ticket_key)
            if stored is not None and stored.has_event(event.event_id):
                return ApplyResult(Outcome.DUPLICATE, event.ticket_key)
            verdict = self.verifier.verify(event, now or datetime.now(UTC), check_freshness=check_freshness)
            if verdict.event is None:
                return ApplyResult(Outcome.REJECTED, event.ticket_key, reason=f'{verdict.code}: {verdict.reason}')
            event = verdict.event
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
        if event is None and stored is None:
            return ApplyResult(Outcome.NOT_FOUND, ticket_key)
        if stored is not None and event is not None:
            history = stored.history.with_event(event)
            if history is None:
                if not stored.unsettled:
                    return ApplyResult(Outcome.DUPLICATE, ticket_key)
                # The event is recorded but its ledger change was cut short between steps: finish it.
                event, history = None, stored.history
        elif stored is not None:
            history = stored.history
        else:
            assert event is not None
            history = TicketHistory.of([event])
        state = history.state()

        keys = [assignee.agent_key for assignee in state.assignees]
        employees = self.directory.lookup(state.source, keys) if keys else {}
        unmapped = sorted(key for key in keys if key not in employees)

        trigger = event or history.latest
        sla, kpi, alerts, location = service_figures(state, history.checkpoints(), keys, employees, self.config(), trigger.occurred_at)
        from shared.programs.engine import evaluate as evaluate_programs

        desired = evaluate_programs(self.programs(), state, employees, sla, location)
        if event is not None and self.queue is not None and _newly_repeating(state, stored.history if stored else None):
            repeat = repeat_visit_event(state)
            if repeat is not None:
                self.queue.send([QueueMessage(event=repeat)])  # before the write: at least once, deduplicated by id
        current = stored.awards if stored else {}
        plan = plan_awards(
            ticket_key=ticket_key,
            current=current,
            desired=desired,
            trigger_event_id=trigger.event_id,
            trigger_at=trigger.occurred_at,
            facts=undo_facts(state),
            now=now,
        )
        # A change too large for one transaction is written in steps, the event with the first: until the last
        # step the ticket is `unsettled`, and a redelivery (or any later event) plans again from the awards the
        # ticket holds, so a crash between steps is finished by the next attempt and nothing is written twice.
        steps = split_plan(current, plan)
        employee_ids = sorted({employee.employee_id for employee in employees.values()})
        record, condition = self.tickets.build(
            stored, history, state, steps[0].awards, employee_ids, unmapped, now, sla=sla, kpi=kpi, alerts=alerts,
            unsettled=len(steps) > 1,
        )
        written = [self.ledger.commit(record, condition, steps[0])]
        for number, step in enumerate(steps[1:], start=1):
            self.after_step(number)
            record, condition = self.tickets.with_awards(record, step.awards, now, unsettled=number < len(steps) - 1)
            written.append(self.ledger.commit(record, condition, step))
        outcome = Outcome.APPLIED if event is not None else Outcome.RECONCILED
        changes = len(plan.pending_put) + len(plan.pending_delete)
        entries = [entry for step in written for entry in step.entries]
        return ApplyResult(outcome, ticket_key, entries, unmapped, pending_changes=changes, steps=len(steps))

    def release(self, ticket_key: str, now: datetime | None = None) -> ApplyResult:
        """Release the ticket's pending awards whose hold window has closed (the hold release's work). Many due
        awards are released in steps of one transaction each: each step a consistent ticket, so a crash between
        steps leaves the rest pending and due, for the next run."""
        at = now or datetime.now(UTC)
        entries: list[LedgerEntry] = []
        outcome = Outcome.NOTHING_DUE
        steps = 0
        while True:
            if steps:
                self.after_step(steps)
            result = self._release_step(ticket_key, at)
            if result.outcome is Outcome.NOT_FOUND:
                return result
            if result.outcome is Outcome.NOTHING_DUE:
                break
            outcome, steps = Outcome.RELEASED, steps + 1
            entries += result.entries
            if not result.more:
                break
        return ApplyResult(outcome, ticket_key, entries, steps=steps)

    def _release_step(self, ticket_key: str, now: datetime) -> ApplyResult:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                result = self._release_once(ticket_key, now)
                result.attempts = attempt
                return result
            except ConcurrentUpdate:
                if attempt == MAX_ATTEMPTS:
                    raise
        raise AssertionError('unreachable')

    def _release_once(self, ticket_key: str, now: datetime) -> ApplyResult:
        stored, record = self.tickets.get_record(ticket_key)
        if stored is None or record is None:
            return ApplyResult(Outcome.NOT_FOUND, ticket_key)
        due = sorted(due_awards(stored.awards, now), key=lambda r: (r.basis_at or datetime.min.replace(tzinfo=UTC), r.entry_id))
        if not due:
            return ApplyResult(Outcome.NOTHING_DUE, ticket_key)
        chosen = due[: release_limit(due, lambda records: len(plan_counters(records, {})[1]))]
        keys = cap_keys(chosen)
        amounts, counters = plan_counters(chosen, self.ledger.counters(keys) if keys else {})
        plan = plan_release(ticket_key=ticket_key, awards=stored.awards, now=now, amounts=amounts,
                            only={record.entry_id for record in chosen})
        updated, condition = self.tickets.with_awards(record, plan.awards, now, unsettled=stored.unsettled)
        written = self.ledger.commit_release(updated, condition, plan, counters)
        return ApplyResult(Outcome.RELEASED, ticket_key, list(written.entries), more=len(chosen) < len(due))


def _newly_repeating(state: TicketState, previous: TicketHistory | None) -> bool:
    if state.repeat_of is None:
        return False
    return previous is None or f'repeat_of:{state.repeat_of}' not in previous.tags()

