"""Same events in any order, delivered any number of times -> same ticket state and exactly the same ledger
entries as one clean in-order delivery, once the hold windows close (DynamoDB)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Status, TicketEvent
from shared.ledger.store import LedgerStore
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.factories import DIRECTORY_CSV, survey_event, ticket_event
from tests.support.local_aws import local_aws

NOW = datetime(2024, 5, 20, tzinfo=UTC)
LATER = NOW + timedelta(days=30)  # past every hold window of the default program
_ids = itertools.count()


@pytest.fixture(scope='module')
def processor() -> Iterator[TicketProcessor]:
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW)
        yield TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())


@st.composite
def histories(draw: st.DrawFn) -> list[dict]:
    """Event templates (ticket id filled in later) for one ticket's life."""
    steps = []
    for n in range(draw(st.integers(min_value=1, max_value=7))):
        steps.append({
            'kind': 'ticket', 'n': n,
            'status': draw(st.sampled_from([Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED])),
            'minutes': draw(st.integers(min_value=0, max_value=3000)),
            'agent': draw(st.sampled_from(['agent1@example.com', 'agent2@example.com'])),
        })
    for n in range(draw(st.integers(min_value=0, max_value=2))):
        steps.append({'kind': 'survey', 'n': n, 'csat': draw(st.integers(1, 5)), 'minutes': draw(st.integers(0, 4000))})
    return steps


def build(ticket: str, step: dict) -> TicketEvent:
    if step['kind'] == 'survey':
        return survey_event(ticket, step['csat'], minutes=step['minutes'], response=f'{ticket}-r{step["n"]}')
    return ticket_event(ticket, step['n'], status=step['status'], minutes=step['minutes'], agent=step['agent'])


def ledger_of(ledger: LedgerStore, ticket_key: str) -> list[tuple[str, str, int, str, str]]:
    """The ticket's ledger entries as (employee, kind, amount, rule, basis): everything but ids and the ticket's own
    name (both tickets' survey response ids embed it)."""
    ticket = ticket_key.split('#', 1)[1]
    return sorted(
        (entry.employee_id, entry.kind.value, entry.amount, entry.reason.rule_id, entry.reason.basis_event_id.replace(ticket, 'T'))
        for employee_id in ('E1', 'E2')
        for entry in ledger.entries_for(employee_id)
        if entry.reason.ticket_key == ticket_key
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories(), data=st.data())
def test_shuffled_redelivered_events_converge(processor: TicketProcessor, history: list[dict], data: st.DataObject) -> None:
    # Given one ticket's events applied in time order, and the same events for a twin ticket shuffled with redeliveries
    n = next(_ids)
    in_order, shuffled = f'ORD{n}', f'SHUF{n}'
    for step in sorted(history, key=lambda s: (s['minutes'], s['kind'], s['n'])):
        processor.apply(build(in_order, step), NOW)
    redelivered = data.draw(st.permutations(history + data.draw(st.lists(st.sampled_from(history), max_size=4))))

    # When the twin's deliveries are processed in that order
    for step in redelivered:
        processor.apply(build(shuffled, step), NOW)

    # Then both tickets end in the same state
    a, b = processor.tickets.get(f'zendesk#{in_order}'), processor.tickets.get(f'zendesk#{shuffled}')
    assert a is not None and b is not None
    state_a = json.loads(processor.tickets.model.get(f'zendesk#{in_order}').state)
    state_b = json.loads(processor.tickets.model.get(f'zendesk#{shuffled}').state)
    for state in (state_a, state_b):
        for key in ('ticket_key', 'external_id', 'assigned_by_event', 'resolved_by_event', 'survey'):
            state.pop(key, None)
    assert state_a == state_b
    # And, once their hold windows have closed, both ledgers hold exactly the same entries: no churn either way
    # (no reversal, no award that a later event took back)
    for key in (in_order, shuffled):
        processor.release(f'zendesk#{key}', LATER)
    in_order_ledger = ledger_of(processor.ledger, f'zendesk#{in_order}')
    assert in_order_ledger == ledger_of(processor.ledger, f'zendesk#{shuffled}')
    assert all(kind == 'award' and amount > 0 for _, kind, amount, _, _ in in_order_ledger)
    assert len({(employee, rule, basis) for employee, _, _, rule, basis in in_order_ledger}) == len(in_order_ledger)
