"""Ticket state and the points ledger against DynamoDB (moto), tables created from template.yaml."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Status
from shared.ledger.entries import EntryKind, LedgerEntry
from shared.ledger.store import LedgerStore
from shared.tickets.processing import Outcome, TicketProcessor
from shared.tickets.store import StoredTicket, TicketStore
from tests.support.counting import count_requests
from tests.support.factories import DIRECTORY_CSV, job_card_event, survey_event, ticket_event
from tests.support.local_aws import local_aws

NOW = datetime(2024, 5, 20, tzinfo=UTC)
HOLD = timedelta(hours=72)  # the default program's hold window


@pytest.fixture()
def processor() -> Iterator[TicketProcessor]:
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW)
        yield TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())


def assert_balances_reconcile(ledger: LedgerStore, employee_ids: list[str]) -> None:
    for employee_id in employee_ids:
        entries = ledger.entries_for(employee_id)
        assert ledger.balance(employee_id).available == sum(entry.amount for entry in entries), employee_id
        assert ledger.balance(employee_id).entry_count == len(entries)


def released(processor: TicketProcessor, ticket_key: str, after: timedelta = HOLD) -> list[LedgerEntry]:
    """Run the hold release for one ticket once its awards' hold windows have closed."""
    return processor.release(ticket_key, NOW + after).entries


def test_resolution_within_sla_is_pending_then_released_once_with_its_reason(processor: TicketProcessor) -> None:
    # Given a ticket opened and solved 2 hours later by a mapped agent (default policy, 24x7 calendar:
    # 24 business hours at normal priority; the default program holds awards 72 h)
    opened = ticket_event('1001', 0, status=Status.OPEN)
    solved = ticket_event('1001', 1, status=Status.SOLVED, minutes=120)

    # When both events are applied
    processor.apply(opened, NOW)
    result = processor.apply(solved, NOW)

    # Then nothing is in the ledger yet: the award is pending for E1 (10 points), available 0
    assert result.entries == [] and result.pending_changes == 1
    assert (processor.ledger.balance('E1').available, processor.ledger.balance('E1').pending) == (0, 10)
    [(ticket_key, pending)] = processor.ledger.pending_awards('E1')
    assert ticket_key == 'zendesk#1001' and pending.release_at == solved.occurred_at + HOLD

    # When the hold release runs before and after the window closes, twice after
    early = processor.release('zendesk#1001', solved.occurred_at + timedelta(hours=71))
    entries = released(processor, 'zendesk#1001', HOLD + timedelta(hours=2))
    again = released(processor, 'zendesk#1001', HOLD + timedelta(hours=3))

    # Then one award entry is written for E1 once, explaining itself, and pending is empty
    assert early.entries == [] and again == []
    assert [(e.employee_id, e.amount, e.kind) for e in entries] == [('E1', 10, EntryKind.AWARD)]
    entry = entries[0]
    assert entry.reason.rule_id == 'resolved_within_sla'
    assert entry.reason.rule_version == 3
    assert entry.reason.program_id == 'default@1'
    assert entry.reason.basis_event_id == 'resolution'
    assert entry.reason.inputs['elapsed_minutes'] == 120.0
    assert entry.reason.inputs['target_minutes'] == 24 * 60
    assert entry.reason.inputs['policy'] == 'standard@1'
    assert entry.occurred_at == solved.occurred_at
    assert (processor.ledger.balance('E1').available, processor.ledger.balance('E1').pending) == (10, 0)
    assert_balances_reconcile(processor.ledger, ['E1'])


def test_duplicate_delivery_reads_but_writes_nothing(processor: TicketProcessor) -> None:
    # Given a solved ticket already processed
    processor.apply(ticket_event('1002', 0, status=Status.OPEN), NOW)
    solved = ticket_event('1002', 1, status=Status.SOLVED, minutes=30)
    processor.apply(solved, NOW)

    # When the same event is delivered again
    with count_requests() as counter:
        result = processor.apply(solved, NOW)

    # Then it is recognised as a duplicate: one read, no write, the one pending award unchanged
    assert result.outcome is Outcome.DUPLICATE
    assert counter.ddb_writes == 0
    assert counter.ddb_reads == 1
    assert len(processor.ledger.pending_awards('E1')) == 1


def test_hot_path_costs_at_most_one_write_and_two_reads(processor: TicketProcessor) -> None:
    # Given a new ticket event whose agent is not cached yet
    event = ticket_event('1003', 0, status=Status.SOLVED, minutes=10)

    # When it is applied (a pending award, so the write is a transaction)
    with count_requests() as counter:
        result = processor.apply(event, NOW)

    # Then it costs one write request and two reads (ticket + directory)
    assert result.pending_changes
    assert counter.ddb_writes == 1
    assert counter.ddb_reads == 2


def test_reopen_inside_the_hold_window_changes_only_the_pending_view(processor: TicketProcessor) -> None:
    # Given a ticket solved within SLA, its 10 points pending
    processor.apply(ticket_event('1004', 0, status=Status.OPEN), NOW)
    processor.apply(ticket_event('1004', 1, status=Status.SOLVED, minutes=60), NOW)
    assert processor.ledger.balance('E1').pending == 10

    # When the customer reopens it an hour later, then the window passes
    result = processor.apply(ticket_event('1004', 2, status=Status.OPEN, minutes=120), NOW)
    after = released(processor, 'zendesk#1004', HOLD * 2)

    # Then nothing was ever written to the ledger: the pending award simply went away
    assert result.entries == [] and after == []
    assert processor.ledger.entries_for('E1') == []
    assert processor.ledger.balance('E1').pending == 0


def test_reopen_after_release_is_clawed_back_with_the_facts(processor: TicketProcessor) -> None:
    # Given a ticket solved within SLA and its award released (default program: reverse within 30 days)
    processor.apply(ticket_event('1014', 0, status=Status.OPEN), NOW)
    processor.apply(ticket_event('1014', 1, status=Status.SOLVED, minutes=60), NOW)
    [award] = released(processor, 'zendesk#1014')

    # When the customer reopens it 5 days later
    reopen = ticket_event('1014', 2, status=Status.OPEN, minutes=5 * 24 * 60)
    result = processor.apply(reopen, NOW + timedelta(days=5))

    # Then one reversal points at the award, carries why (the reopen, the event), the award is unchanged
    assert [(e.kind, e.amount, e.reverses) for e in result.entries] == [(EntryKind.REVERSAL, -10, award.entry_id)]
    reversal = result.entries[0]
    assert reversal.reason.inputs['reopen_count'] == 1 and reversal.reason.inputs['undone_by_event'] == reopen.event_id
    assert reversal.reason.inputs['original_elapsed_minutes'] == 60.0
    entries = {e.entry_id: e for e in processor.ledger.entries_for('E1')}
    assert entries[award.entry_id] == award
    assert processor.ledger.balance('E1').available == 0


def test_survey_changes_inside_the_window_settle_on_the_last_response(processor: TicketProcessor) -> None:
    # Given a resolved ticket with a happy survey
    processor.apply(ticket_event('1005', 0, status=Status.SOLVED, minutes=2000), NOW)
    happy = processor.apply(survey_event('1005', 5, response='r1'), NOW)
    assert happy.entries == [] and processor.ledger.balance('E1').pending == 5

    # When a later response rates it 2, then another rates it 4, and the window passes
    unhappy = processor.apply(survey_event('1005', 2, minutes=700, response='r2'), NOW)
    happy_again = processor.apply(survey_event('1005', 4, minutes=800, response='r3'), NOW)
    entries = released(processor, 'zendesk#1005', HOLD * 2)

    # Then the ledger holds one CSAT award, for the latest positive response, and no reversal
    assert unhappy.entries == [] and happy_again.entries == []
    assert [(e.kind, e.amount, e.reason.rule_id) for e in entries] == [(EntryKind.AWARD, 5, 'csat_positive')]
    assert 'r3' in entries[0].reason.basis_event_id
    assert_balances_reconcile(processor.ledger, ['E1'])
    assert processor.ledger.balance('E1').available == 5


def test_a_rating_repeated_on_later_updates_does_not_churn_the_ledger(processor: TicketProcessor) -> None:
    # Given a helpdesk that repeats the same satisfaction rating on every ticket update
    from shared.events import Survey

    good = Survey(response_id='zendesk:1009:satisfaction', csat=5)
    processor.apply(ticket_event('1009', 0, status=Status.OPEN, survey=good), NOW)

    # When two more updates arrive carrying the same rating, and the window passes
    later = [processor.apply(ticket_event('1009', n, status=Status.PENDING, minutes=3000 + n, survey=good), NOW) for n in (1, 2)]
    released(processor, 'zendesk#1009', HOLD * 2)

    # Then the pending view did not move and the CSAT award was written once
    assert all(not result.entries and not result.pending_changes for result in later)
    assert [e.reason.rule_id for e in processor.ledger.entries_for('E1')] == ['csat_positive']


def test_unknown_agent_is_kept_and_awarded_after_mapping(processor: TicketProcessor) -> None:
    # Given a ticket solved by an agent the directory does not know
    result = processor.apply(ticket_event('1006', 0, status=Status.SOLVED, minutes=20, agent='new.hire@example.com'), NOW)
    assert result.unmapped == ['new.hire@example.com'] and not result.entries
    assert processor.tickets.unmapped_ticket_keys('zendesk') == ['zendesk#1006']

    # When the directory learns who that is and the ticket is reconciled
    csv = 'employee_id,name,role,location_id,zendesk_agent_id\nE9,New Hire,agent,US-NYC,new.hire@example.com\n'
    processor.directory.import_rows(parse_export(csv, 'csv'), NOW, deactivate_missing=False)
    reconciled = processor.reconcile('zendesk#1006', NOW)

    # Then the award lands on the new employee (pending, then released) and the ticket leaves the unmapped index
    assert reconciled.pending_changes == 1
    assert [(e.employee_id, e.amount) for e in released(processor, 'zendesk#1006')] == [('E9', 10)]
    assert processor.tickets.unmapped_ticket_keys('zendesk') == []


def test_job_card_delivered_on_time_with_upsell(processor: TicketProcessor) -> None:
    # Given a job card opened with an accepted extended-warranty upsell and delivered before the promise
    from decimal import Decimal

    from shared.events import UpsellLine

    line = UpsellLine(line_id='L1', category='extended_warranty', amount=Decimal('12000.00'), currency='INR')
    processor.apply(job_card_event('JC-1', 0, Status.OPEN, minutes=0, upsell_lines=(line,)), NOW)

    # When the vehicle is delivered at 3 h against a 4 h promise, and the hold window passes
    result = processor.apply(job_card_event('JC-1', 1, Status.CLOSED, minutes=180), NOW)
    released(processor, 'dms#JC-1', HOLD * 2)

    # Then the advisor holds both awards and the technician none
    rules = sorted(e.reason.rule_id for e in processor.ledger.entries_for('E3'))
    assert rules == ['job_card_on_time', 'upsell_accepted']
    assert processor.ledger.balance('E3').available == 15
    assert processor.ledger.entries_for('E4') == []
    assert result.outcome is Outcome.APPLIED


def test_reversal_never_takes_a_balance_below_zero(processor: TicketProcessor) -> None:
    # Given E1 earned 10 points, then spent them (a debit entry taking the balance to 0)
    processor.apply(ticket_event('1007', 0, status=Status.SOLVED, minutes=30), NOW)
    assert len(released(processor, 'zendesk#1007')) == 1
    balances = processor.ledger.balances
    balances('EMP#E1').update(actions=[balances.available.add(-10)])

    # When the ticket is reopened and the award must be reversed
    result = processor.apply(ticket_event('1007', 1, status=Status.OPEN, minutes=4 * 24 * 60), NOW + timedelta(days=4))

    # Then the reversal recovers only what is there and says what it could not recover
    reversal = result.entries[0]
    assert reversal.amount == 0
    assert reversal.reason.inputs['unrecovered_points'] == 10
    assert processor.ledger.balance('E1').available == 0


def test_duplicate_storm_writes_each_entry_once(processor: TicketProcessor) -> None:
    # Given 200 events over 40 tickets (open, reply, solve, reopen for some, surveys), delivered 5 times each, interleaved
    events = []
    for t in range(40):
        ticket = f'S{t}'
        agent = ['agent1@example.com', 'agent2@example.com', 'stranger@example.com'][t % 3]
        events.append(ticket_event(ticket, 0, status=Status.OPEN, agent=agent))
        events.append(ticket_event(ticket, 1, status=Status.PENDING, minutes=10, agent=agent, reply_count=1))
        events.append(ticket_event(ticket, 2, status=Status.SOLVED, minutes=60 + t, agent=agent))
        events.append(ticket_event(ticket, 3, status=Status.OPEN if t % 4 == 0 else Status.CLOSED, minutes=200, agent=agent))
        events.append(survey_event(ticket, 5 - t % 3, response=f'r-{t}'))
    assert len(events) == 200
    deliveries = [event for event in events for _ in range(5)]
    random.Random(7).shuffle(deliveries)

    # When every delivery is processed
    outcomes = [processor.apply(event, NOW).outcome for event in deliveries]

    for t in range(40):
        released(processor, f'zendesk#S{t}', HOLD * 2)

    # Then 200 were applied and 800 recognised as duplicates; every entry exists once; balances reconcile
    assert outcomes.count(Outcome.APPLIED) == 200
    assert outcomes.count(Outcome.DUPLICATE) == 800
    for employee_id in ('E1', 'E2'):
        entries = processor.ledger.entries_for(employee_id)
        assert len({e.entry_id for e in entries}) == len(entries)
    assert_balances_reconcile(processor.ledger, ['E1', 'E2'])
    assert processor.ledger.balance('E1').available > 0


def test_concurrent_writers_on_one_ticket_both_land(processor: TicketProcessor) -> None:
    # Given a second processor (another Lambda container) that applies the ticket's solve event while
    # the first one is between reading the ticket and writing it
    other = TicketProcessor(tickets=TicketStore(), directory=processor.directory, ledger=LedgerStore())
    processor.apply(ticket_event('1008', 0, status=Status.OPEN), NOW)
    solved = ticket_event('1008', 1, status=Status.SOLVED, minutes=30)
    late_reply = ticket_event('1008', 2, status=Status.SOLVED, minutes=40, reply_count=1)

    class RacingTicketStore(TicketStore):
        raced = False

        def get(self, ticket_key: str) -> StoredTicket | None:
            stored = super().get(ticket_key)
            if not self.raced:
                self.raced = True
                other.apply(solved, NOW)  # lands after our read: our write's version check must fail
            return stored

    racing = TicketProcessor(tickets=RacingTicketStore(), directory=processor.directory, ledger=processor.ledger)

    # When the first processor applies its own event
    result = racing.apply(late_reply, NOW)

    # Then its first write is refused, it re-reads and retries, and the ticket holds both events with one award
    assert result.attempts == 2
    released(processor, 'zendesk#1008')
    stored = processor.tickets.get('zendesk#1008')
    assert stored is not None and {e.event_id for e in stored.events} == {'zendesk:1008:0', solved.event_id, late_reply.event_id}
    assert [e.reason.rule_id for e in processor.ledger.entries_for('E1')].count('resolved_within_sla') == 1
    assert_balances_reconcile(processor.ledger, ['E1'])
