"""Bench figures of size limits (issue 13, finding 3); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

On moto through the real processor (shared/tickets/processing.py) and stores, writes metered by tests/bench/capacity.py
(sized write units, 2x per transactional item):

- ticket_item_bytes_after_20k_events: DynamoDB size of one Zendesk ticket's item after 20,000 events (goal <= 65,536).
  The first 19,990 are folded through the processor's own history (shared/tickets/history.py) and written once, as the
  processor would have left them (applying 20,000 events one by one on moto takes minutes); the last 10 go through
  `TicketProcessor.apply`. Every event replies and carries 3 tags from a pool of 300.
- ticket_wru_per_event_after_20k_events: sized write units per event of those last 10 (the ticket put; before the
  history was compacted every event rewrote all earlier events: 20,000 of them do not fit a 400 KB item at all).
- upsell_lines_1000_points_ok: a job card with 1,000 accepted upsell lines, opened then delivered on time, then
  released: the advisor holds 1,000 x 5 + 10 points in 1,001 entries, nothing pending (before: the delivery needed
  one transaction of more than 100 items, failed 5 times and was dead-lettered: 0 points).
- processor_wru_per_event_big_card: sized write units of the delivery event of that card (its steps: the ticket
  rewritten with each step, 1,000 pending items), and processor_steps_big_card its transactions.
- release_wru_big_card: sized write units of releasing its 1,001 awards (entries, balances, counters, in steps).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

NOW = datetime(2024, 5, 20, tzinfo=UTC)
EVENTS = 20_000
APPLIED_AT_THE_END = 10
LINES = 1_000


def _long_ticket() -> list[Any]:
    from shared.events import Status
    from tests.support.factories import ticket_event

    events = [ticket_event('8001', 0, status=Status.OPEN), ticket_event('8001', 1, status=Status.SOLVED, minutes=120, reply_count=1)]
    for n in range(2, EVENTS):
        tags = tuple(f'topic-{(n * 7 + i) % 300:03d}' for i in range(3))
        events.append(ticket_event('8001', n, status=Status.SOLVED, minutes=120 + n, reply_count=n, tags=tags))
    return events


def figures() -> dict[str, Any]:
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.events import Status, UpsellLine
    from shared.ledger.store import LedgerStore
    from shared.tickets.history import TicketHistory
    from shared.tickets.processing import TicketProcessor
    from shared.tickets.store import TicketStore
    from tests.bench.capacity import item_size, metered
    from tests.support.factories import DIRECTORY_CSV, job_card_event
    from tests.support.local_aws import local_aws

    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW)
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())

        events = _long_ticket()
        seeded = TicketHistory.of(events[: EVENTS - APPLIED_AT_THE_END])
        record, condition = processor.tickets.build(None, seeded, seeded.state(), {}, ['E1'], [], NOW)
        record.save(condition=condition)
        with metered() as meter:
            for event in events[EVENTS - APPLIED_AT_THE_END :]:
                processor.apply(event, NOW)
        ticket_wru = meter.write_units / APPLIED_AT_THE_END
        item = processor.ledger.client.get_item(TableName=processor.tickets.model.Meta.table_name, Key={'pk': {'S': 'zendesk#8001'}})

        lines = tuple(UpsellLine(line_id=f'L{n:04d}', category='detailing', amount=Decimal('100.00'), currency='INR') for n in range(LINES))
        processor.apply(job_card_event('JC-1000', 0, Status.OPEN, minutes=0, upsell_lines=lines), NOW)
        with metered() as big:
            delivered = processor.apply(job_card_event('JC-1000', 1, Status.CLOSED, minutes=180), NOW)
        with metered() as release:
            processor.release('dms#JC-1000', NOW + timedelta(days=6))
        balance = processor.ledger.balance('E3')
        entries = processor.ledger.entries_for('E3')

    return {
        'ticket_item_bytes_after_20k_events': item_size(item['Item']),
        'ticket_wru_per_event_after_20k_events': round(ticket_wru, 1),
        'upsell_lines_1000_points_ok': (balance.available, balance.pending, len(entries)) == (LINES * 5 + 10, 0, LINES + 1),
        'processor_wru_per_event_big_card': round(big.write_units, 1),
        'processor_steps_big_card': delivered.steps,
        'release_wru_big_card': round(release.write_units, 1),
    }
