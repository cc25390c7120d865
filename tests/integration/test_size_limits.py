"""Size limits (issue 13, finding 3): a job card with many upsell lines, a reassignment of a card with many credited
lines, and a ticket with very many events or very large tags must lose no work and count no point twice (moto,
tables from template.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Status, TicketEvent, UpsellLine
from shared.ledger.entries import EntryKind
from shared.ledger.store import LedgerStore
from shared.tickets.processing import Outcome, TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.factories import DIRECTORY_CSV, job_card_event, ticket_event
from tests.support.local_aws import local_aws

NOW = datetime(2024, 5, 20, tzinfo=UTC)
HOLD = timedelta(hours=72)
UPSELL_POINTS = 5  # the default program's flat points per accepted upsell line
ON_TIME_POINTS = 10
SECOND_ADVISOR = 'E5,Esha Advisor,service_advisor,SA2,IN-BLR-01,IN-South,M2,+919812345670,yes,esha@example.com,Asia/Kolkata,,,adv-2\n'


@pytest.fixture()
def processor() -> Iterator[TicketProcessor]:
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV + SECOND_ADVISOR, 'csv'), NOW)
        yield TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())


def lines(count: int) -> tuple[UpsellLine, ...]:
    return tuple(UpsellLine(line_id=f'L{n:04d}', category='detailing', amount=Decimal('100.00'), currency='INR') for n in range(count))


def big_card(card: str, count: int) -> tuple[TicketEvent, TicketEvent]:
    """A job card opened with `count` accepted upsell lines, then delivered on time (3 h against a 4 h promise)."""
    return (job_card_event(card, 0, Status.OPEN, minutes=0, upsell_lines=lines(count)),
            job_card_event(card, 1, Status.CLOSED, minutes=180))


def release_all(processor: TicketProcessor, ticket_key: str) -> int:
    return sum(entry.amount for entry in processor.release(ticket_key, NOW + HOLD * 2).entries)


def assert_ledger_reconciles(ledger: LedgerStore, employee_id: str) -> None:
    entries = ledger.entries_for(employee_id)
    balance = ledger.balance(employee_id)
    assert balance.available == sum(entry.amount for entry in entries)
    assert balance.entry_count == len(entries)
    assert len({entry.entry_id for entry in entries}) == len(entries)


def test_a_job_card_with_99_upsell_lines_is_written_and_every_line_paid_once(processor: TicketProcessor) -> None:
    # Given a job card whose delivery makes 99 upsell awards and one on-time award due (more than one transaction holds)
    opened, delivered = big_card('JC-99', 99)

    # When both stages are applied and the hold release runs twice
    processor.apply(opened, NOW)
    result = processor.apply(delivered, NOW)
    first = release_all(processor, 'dms#JC-99')
    second = release_all(processor, 'dms#JC-99')

    # Then the ticket is written with the delivery, every award was pending then released exactly once
    assert result.outcome is Outcome.APPLIED
    assert processor.tickets.get('dms#JC-99') is not None
    assert first == 99 * UPSELL_POINTS + ON_TIME_POINTS and second == 0
    assert processor.ledger.balance('E3').available == 99 * UPSELL_POINTS + ON_TIME_POINTS
    assert_ledger_reconciles(processor.ledger, 'E3')


def test_a_thousand_upsell_lines_are_paid_exactly_once_even_after_a_crash_between_steps(processor: TicketProcessor) -> None:
    # Given a job card with 1,000 accepted upsell lines, opened
    opened, delivered = big_card('JC-1000', 1000)
    processor.apply(opened, NOW)

    # When the delivery's processing crashes after its third write step (the Lambda dies) ...
    steps: list[int] = []

    def crash_after_three(step: int) -> None:
        steps.append(step)
        if len(steps) == 3:
            raise RuntimeError('crash between steps')

    processor.after_step = crash_after_three
    with pytest.raises(RuntimeError):
        processor.apply(delivered, NOW)
    pending_after_crash = processor.ledger.balance('E3').pending

    # ... and SQS delivers the event again (twice), then the hold release runs, crashing once between its steps too
    processor.after_step = lambda step: None
    again = processor.apply(delivered, NOW)
    duplicate = processor.apply(delivered, NOW)
    calls: list[int] = []

    def crash_release_once(step: int) -> None:
        calls.append(step)
        if len(calls) == 2:
            raise RuntimeError('crash between release steps')

    processor.after_step = crash_release_once
    with pytest.raises(RuntimeError):
        processor.release('dms#JC-1000', NOW + HOLD * 2)
    processor.after_step = lambda step: None
    processor.release('dms#JC-1000', NOW + HOLD * 2)
    processor.release('dms#JC-1000', NOW + HOLD * 2)

    # Then the crash had written some awards but not all; the redelivery finished the rest and the duplicate changed nothing
    total = 1000 * UPSELL_POINTS + ON_TIME_POINTS
    assert 0 < pending_after_crash < total
    assert again.outcome is Outcome.RECONCILED and again.steps > 1  # the event was recorded: its remaining steps were finished
    assert duplicate.outcome is Outcome.DUPLICATE
    # and every point was released exactly once: one entry per line, nothing left pending
    balance = processor.ledger.balance('E3')
    assert (balance.available, balance.pending) == (total, 0)
    entries = processor.ledger.entries_for('E3')
    assert len(entries) == 1001 and all(entry.kind is EntryKind.AWARD for entry in entries)
    assert_ledger_reconciles(processor.ledger, 'E3')


def test_reassigning_a_card_with_60_credited_lines_moves_the_points_and_later_events_still_apply(processor: TicketProcessor) -> None:
    # Given a delivered card with 60 upsell lines whose awards were released to advisor adv-1 (E3)
    opened, delivered = big_card('JC-60', 60)
    processor.apply(opened, NOW)
    processor.apply(delivered, NOW)
    credited = release_all(processor, 'dms#JC-60')
    assert credited == 60 * UPSELL_POINTS + ON_TIME_POINTS

    # When the DMS reassigns the card to adv-2 (E5) within the clawback window, and a later event follows
    reassigned = processor.apply(job_card_event('JC-60', 2, Status.CLOSED, minutes=200, advisor='adv-2'), NOW + timedelta(days=4))
    later = processor.apply(job_card_event('JC-60', 3, Status.CLOSED, minutes=220, advisor='adv-2'), NOW + timedelta(days=4))

    # Then the old advisor's awards are all reversed once, the new advisor's are pending, and the later event applies
    assert reassigned.outcome is Outcome.APPLIED and later.outcome is Outcome.APPLIED
    reversals = [entry for entry in processor.ledger.entries_for('E3') if entry.kind is EntryKind.REVERSAL]
    assert len(reversals) == 61 and len({entry.reverses for entry in reversals}) == 61
    assert processor.ledger.balance('E3').available == 0
    assert processor.ledger.balance('E5').pending == 60 * UPSELL_POINTS + ON_TIME_POINTS
    assert_ledger_reconciles(processor.ledger, 'E3')


def test_large_tags_on_every_event_never_make_the_ticket_too_large(processor: TicketProcessor) -> None:
    # Given events that each carry 25 KB of distinct tags (500 tags of 50 characters)
    def tagged(n: int) -> TicketEvent:
        tags = tuple(f'Tag-{n:02d}-{i:03d}-' + 'x' * 38 for i in range(500))
        return ticket_event('7001', n, status=Status.OPEN, minutes=n, tags=tags)

    # When 12 of them are applied
    outcomes = [processor.apply(tagged(n), NOW).outcome for n in range(12)]

    # Then every one is applied, and the ticket keeps a bounded, normalised set of tags and says how many it dropped
    assert outcomes == [Outcome.APPLIED] * 12
    stored = processor.tickets.get('zendesk#7001')
    assert stored is not None
    state = processor.tickets.state_of(stored)
    assert 0 < len(state.tags) <= 100
    assert all(tag == tag.strip().lower() and len(tag) <= 64 for tag in state.tags)
    assert state.tags_dropped > 0


def long_ticket(count: int) -> list[TicketEvent]:
    """A Zendesk ticket opened, solved within its SLA at 2 h, then updated `count - 2` more times (a reply each, three
    tags from a pool of 300, the status left solved)."""
    events = [ticket_event('8001', 0, status=Status.OPEN), ticket_event('8001', 1, status=Status.SOLVED, minutes=120, reply_count=1)]
    for n in range(2, count):
        tags = tuple(f'topic-{(n * 7 + i) % 300:03d}' for i in range(3))
        events.append(ticket_event('8001', n, status=Status.SOLVED, minutes=120 + n, reply_count=n, tags=tags))
    return events


def stored_item_bytes(processor: TicketProcessor, ticket_key: str) -> int:
    from tests.bench.capacity import item_size

    item = processor.ledger.client.get_item(TableName=processor.tickets.model.Meta.table_name, Key={'pk': {'S': ticket_key}})['Item']
    return item_size(item)


def test_twenty_thousand_events_keep_the_ticket_item_small_and_old_duplicates_count_nothing(processor: TicketProcessor) -> None:
    # Given a ticket whose first 19,990 events were applied (the ticket item built from them through the processor's
    # own history and store, written once, as the processor would have left it), then 10 more through the processor
    events = long_ticket(20_000)
    from shared.tickets.history import TicketHistory

    seeded = TicketHistory.of(events[:19_990])
    record, condition = processor.tickets.build(None, seeded, seeded.state(), {}, ['E1'], [], NOW)
    record.save(condition=condition)
    processor.reconcile('zendesk#8001', NOW)
    outcomes = {processor.apply(event, NOW).outcome for event in events[19_990:]}
    released = release_all(processor, 'zendesk#8001')
    balance = processor.ledger.balance('E1')

    # When old events (compacted long ago), a recent one and the solving one are delivered again, and the release runs
    again = [processor.apply(events[n], NOW).outcome for n in (0, 1, 500, 12_345, 19_999)]
    released_again = release_all(processor, 'zendesk#8001')

    # Then the ticket item stays within 64 KB, the state counts every event once, the solve earned its points once
    assert outcomes == {Outcome.APPLIED}
    assert stored_item_bytes(processor, 'zendesk#8001') <= 65_536
    stored = processor.tickets.get('zendesk#8001')
    assert stored is not None
    state = processor.tickets.state_of(stored)
    assert state.event_count == 20_000 and state.reply_count == 19_999
    assert len(state.tags) == 100 and state.tags_dropped > 0
    assert released > 0
    # and the duplicates were recognised (by id or by content) without writing, so no point moved
    assert again == [Outcome.DUPLICATE] * 5 and released_again == 0
    assert processor.ledger.balance('E1') == balance
    assert_ledger_reconciles(processor.ledger, 'E1')


def test_an_event_arriving_after_its_place_was_compacted_still_counts_its_order_independent_facts(processor: TicketProcessor) -> None:
    # Given a ticket with 230 events applied one by one (the oldest 30 compacted: 200 are kept whole)
    events = long_ticket(231)
    late = events.pop(10)
    for event in events:
        processor.apply(event, NOW)

    # When the missing 11th event (older than the compaction horizon) arrives, with a tag no other event has (one the
    # tag cap keeps: it sorts before the 'topic-' tags)
    late = late.model_copy(update={'tags': ('account-vip',)})
    outcome = processor.apply(late, NOW).outcome
    repeat = processor.apply(late, NOW).outcome

    # Then it is absorbed once: its tag is on the ticket and it is counted; its redelivery is a duplicate
    stored = processor.tickets.get('zendesk#8001')
    assert stored is not None
    state = processor.tickets.state_of(stored)
    assert (outcome, repeat) == (Outcome.APPLIED, Outcome.DUPLICATE)
    assert 'account-vip' in state.tags and state.event_count == 231
