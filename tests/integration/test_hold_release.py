"""The hold release (functions/hold_release) against DynamoDB (moto): it reads the sparse holds index, releases
each award once when its window closes, applies caps from the earnings counters, and reads nothing that is not due."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.hold_release import app
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Status
from shared.ledger.earnings import month_key
from shared.ledger.store import LedgerStore
from shared.programs.loader import clear_cache
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.apigw import lambda_context
from tests.support.counting import count_requests
from tests.support.factories import DIRECTORY_CSV, T0, ticket_event
from tests.support.local_aws import _reset_caches, local_aws

NOW = datetime(2024, 5, 20, tzinfo=UTC)
HOLD = timedelta(hours=72)
EVENT = json.loads((Path(__file__).resolve().parents[2] / 'events' / 'hold_release_scheduled.json').read_text())


@pytest.fixture()
def processor() -> Iterator[TicketProcessor]:
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW)
        app._processor = None  # bound to this test's tables
        yield TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
        app._processor = None


def run_release(at: datetime) -> dict[str, Any]:
    return app.lambda_handler(EVENT | {'time': at.strftime('%Y-%m-%dT%H:%M:%SZ')}, lambda_context())


def solve(processor: TicketProcessor, ticket: str, minutes: float) -> None:
    processor.apply(ticket_event(ticket, 0, status=Status.OPEN, minutes=minutes - 30), NOW)
    processor.apply(ticket_event(ticket, 1, status=Status.SOLVED, minutes=minutes), NOW)


def test_release_reads_only_what_is_due_and_releases_each_award_once(processor: TicketProcessor) -> None:
    # Given three tickets solved at 1 h, 2 h and 20 h (the default program holds 72 h)
    for ticket, minutes in (('A', 60), ('B', 120), ('C', 20 * 60)):
        solve(processor, ticket, minutes)
    assert processor.ledger.balance('E1').pending == 30

    # When the release runs at 74 h (A and B due, C not), then again at the same time
    first = run_release(T0 + HOLD + timedelta(hours=2, minutes=1))
    second = run_release(T0 + HOLD + timedelta(hours=2, minutes=1))

    # Then it read two index items and released two awards; the rerun read and wrote nothing
    assert (first['index_items_read'], first['awards_released'], first['points_released']) == (2, 2, 20)
    assert (second['index_items_read'], second['awards_released']) == (0, 0)
    balance = processor.ledger.balance('E1')
    assert (balance.available, balance.pending) == (20, 10)

    # When it runs after C's window too
    third = run_release(T0 + HOLD + timedelta(hours=31))

    # Then C is released and nothing is pending or left in the index
    assert (third['index_items_read'], third['awards_released']) == (1, 1)
    assert (processor.ledger.balance('E1').available, processor.ledger.balance('E1').pending) == (30, 0)
    keys, read = processor.tickets.due_holds(0, NOW + timedelta(days=365))
    assert (keys, read) == ([], 0)


def test_a_release_is_one_transaction_per_ticket(processor: TicketProcessor) -> None:
    # Given one solved ticket with one pending award
    solve(processor, 'D', 60)

    # When its award is released
    with count_requests() as counter:
        result = processor.release('zendesk#D', T0 + HOLD * 2)

    # Then the release read the ticket and the employee's ledger chain head (a GetItem of the balance), and wrote once
    # (ticket, pending item, entry, balance with the new chain head, earnings together)
    assert len(result.entries) == 1
    assert counter.ddb_writes == 1
    assert counter.ddb_reads == 2 and counter.calls[('dynamodb', 'GetItem')] == 2


def test_a_day_cap_cuts_the_award_that_would_exceed_it(processor: TicketProcessor) -> None:
    # Given a program whose resolution rule pays 10 points with a day cap of 15, and two tickets solved the same day
    program = json.loads((Path(__file__).resolve().parents[2] / 'shared' / 'programs' / 'default_program.json').read_text())
    program['rules'] = [rule | {'caps': {'day': 15}} for rule in program['rules'] if rule['rule_id'] == 'resolved_within_sla']
    boto3.client('ssm', region_name='us-east-1').put_parameter(Name='/pitcrew/test/programs/default', Value=json.dumps(program),
                                                               Type='String')
    import os

    os.environ['PROGRAMS_PATH'] = '/pitcrew/test/programs'
    try:
        _reset_caches()
        clear_cache()
        solve(processor, 'E', 60)
        solve(processor, 'F', 90)

        # When both are released
        run_release(T0 + HOLD * 2)

        # Then the first pays 10, the second the 5 left of the day, saying it was capped; the counter holds 15
        entries = sorted(processor.ledger.entries_for('E1'), key=lambda e: e.reason.ticket_key)
        assert [(e.reason.ticket_key, e.amount) for e in entries] == [('zendesk#E', 10), ('zendesk#F', 5)]
        assert entries[1].reason.inputs['capped_from'] == 10
        counters = processor.ledger.counters([month_key('default', 'E1', f'{T0:%Y-%m}')])
        assert counters[month_key('default', 'E1', f'{T0:%Y-%m}')][f'd{T0:%d}_resolved_within_sla'] == 15
    finally:
        os.environ.pop('PROGRAMS_PATH', None)
        _reset_caches()
        clear_cache()


def test_a_bad_scheduled_event_is_refused_with_the_field(processor: TicketProcessor) -> None:
    # Given a console event whose time is not a time
    # When the release is invoked with it
    answer = app.lambda_handler({'time': 'yesterday'}, lambda_context())
    # Then nothing runs and the field is named
    assert answer['ok'] is False and answer['field'] == 'time'
