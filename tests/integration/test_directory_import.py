"""Employee directory import: idempotent, leavers deactivated (never deleted), waiting tickets re-evaluated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.directory.store import DirectoryStore
from shared.events import Source, Status
from shared.ledger.store import LedgerStore
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.apigw import lambda_context
from tests.support.factories import DIRECTORY_CSV, ticket_event
from tests.support.local_aws import LocalAws, local_aws

NOW = datetime(2024, 5, 20, tzinfo=UTC)


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        yield aws


def run_import(content: str, fmt: str = 'csv', deactivate_missing: bool = True) -> dict:
    from functions.directory_import.app import lambda_handler

    return lambda_handler({'format': fmt, 'content': content, 'deactivate_missing': deactivate_missing}, lambda_context())


def test_reimporting_the_same_export_changes_nothing(aws: LocalAws) -> None:
    # Given the directory was imported once
    first = run_import(DIRECTORY_CSV)

    # When the same export is imported again
    second = run_import(DIRECTORY_CSV)

    # Then the first created everyone and the second left everyone unchanged
    assert first['ok'] and first['created'] == 5
    assert second['ok'] and second['unchanged'] == 5 and second['created'] == second['updated'] == 0
    assert second['mappings_written'] == 0


def test_a_leaver_is_deactivated_not_deleted_and_earns_nothing_more(aws: LocalAws) -> None:
    # Given E2 is in the directory, then a new full export no longer lists E2
    run_import(DIRECTORY_CSV)
    without_e2 = '\n'.join(line for line in DIRECTORY_CSV.splitlines() if not line.startswith('E2,')) + '\n'

    # When it is imported
    report = run_import(without_e2)

    # Then E2's profile remains, inactive, and E2's agent id no longer maps to anyone
    store = DirectoryStore()
    assert report['deactivated'] == 1
    profile = store.profile_of('E2')
    assert profile is not None and profile.active is False
    assert store.lookup(Source.ZENDESK, ['agent2@example.com']) == {}
    assert 'agent1@example.com' in store.lookup(Source.ZENDESK, ['agent1@example.com'])


def test_json_export_with_an_agent_id_moving_between_people(aws: LocalAws) -> None:
    # Given agent id x@example.com belongs to P1
    rows = [{'employee_id': 'P1', 'name': 'P One', 'role': 'agent', 'location_id': 'L1', 'zendesk_agent_id': 'x@example.com'},
            {'employee_id': 'P2', 'name': 'P Two', 'role': 'agent', 'location_id': 'L1'}]
    run_import(json.dumps(rows), 'json')

    # When the next export gives it to P2
    rows[0].pop('zendesk_agent_id')
    rows[1]['zendesk_agent_id'] = 'x@example.com'
    run_import(json.dumps({'employees': rows}), 'json')

    # Then it maps to P2
    assert DirectoryStore().lookup(Source.ZENDESK, ['x@example.com'])['x@example.com'].employee_id == 'P2'


@pytest.mark.parametrize(
    ('content', 'field'),
    [
        ('employee_id,name,role,location_id,phone\nE1,Ana,agent,L1,555-12\n', 'rows[0].phone'),
        ('employee_id,name,role,location_id,time_zone\nE1,Ana,agent,L1,Mars/Olympus\n', 'rows[0].time_zone'),
        ('employee_id,name,role,location_id\nE1,Ana,agent,L1\nE1,Ana B,agent,L1\n', 'rows[1].employee_id'),
        ('employee_id,name,role\nE1,Ana,agent\n', 'rows[0].location_id'),
        ('employee_id,name,role,location_id,language\nE1,Ana,agent,L1,fr\n', 'rows[0].language'),
    ],
)
def test_bad_rows_are_rejected_naming_the_row_and_field(aws: LocalAws, content: str, field: str) -> None:
    # When an export with a bad row is imported
    report = run_import(content)

    # Then nothing is imported and the answer names the row and field
    assert report['ok'] is False and report['field'] == field
    assert DirectoryStore().profile_of('E1') is None


def test_every_supported_language_is_accepted_and_read_back(aws: LocalAws) -> None:
    # Given an export with a person in each language Pitcrew speaks, Indonesian written as HR systems write it ('ID')
    content = ('employee_id,name,role,location_id,time_zone,language\nE1,Ana,agent,L1,UTC,en\nE2,Lucía,agent,L1,Europe/Madrid,es\n'
               'E3,Priya,agent,L1,Asia/Kolkata,hi\nE4,Budi Santoso,agent,L1,Asia/Jakarta,ID\n')  # fmt: skip

    # When it is imported
    report = run_import(content)

    # Then every row is imported and each person's language is stored as the texts know it
    assert report['ok'] is True
    from shared.directory.contacts import ContactBook

    book = ContactBook()
    assert [getattr(book.contact(e), 'language', None) for e in ('E1', 'E2', 'E3', 'E4')] == ['en', 'es', 'hi', 'id']


def test_import_requeues_tickets_waiting_for_a_new_mapping(aws: LocalAws) -> None:
    # Given a ticket solved by an agent nobody knew yet
    processor = TicketProcessor(TicketStore(), DirectoryStore(), LedgerStore())
    processor.apply(ticket_event('W1', 0, status=Status.SOLVED, minutes=15, agent='agent1@example.com'), NOW)
    assert processor.tickets.unmapped_ticket_keys('zendesk') == ['zendesk#W1']

    # When the directory is imported and the queued reconcile message is processed
    report = run_import(DIRECTORY_CSV)
    messages = aws.drain()
    for message in messages:
        processor.reconcile(json.loads(message['Body'])['reconcile'], NOW)

    # Then the ticket was re-queued and its owner now holds the award (pending until its hold window closes)
    assert report['tickets_requeued'] == 1
    assert [json.loads(m['Body']) for m in messages] == [{'reconcile': 'zendesk#W1'}]
    assert LedgerStore().balance('E1').pending == 10
    processor.release('zendesk#W1', NOW + timedelta(days=30))
    assert (LedgerStore().balance('E1').available, LedgerStore().balance('E1').pending) == (10, 0)
