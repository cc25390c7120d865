"""The statement on DynamoDB (moto), over a ledger the pipeline wrote: the StatementFunction's JSON reconciles with
the balance, marks an award released after its month ended as late, lists what is still pending with its release
date, and names the entry codes; a balance changed behind the ledger's back is flagged; the local command prints
the same statement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.disputes.model import entry_code
from shared.events import Status
from shared.ledger.adjustments import AdjustmentRequest, apply_adjustment
from shared.ledger.store import LedgerStore, employee_pk
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.apigw import lambda_context
from tests.support.factories import DIRECTORY_CSV, survey_event, ticket_event
from tests.support.local_aws import LocalAws, local_aws

IN_MAY = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
IN_JUNE = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as local:
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), IN_MAY)
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
        # E1 (the built-in program): ticket 1001 released in May, ticket 1003 released only on June 3 (late for May),
        # ticket 1005 still pending; an adjustment.
        for event in [
            ticket_event('1001', 0, status=Status.OPEN), ticket_event('1001', 1, status=Status.SOLVED, minutes=120),
            survey_event('1001', 5, response='r1'),
            ticket_event('1003', 0, status=Status.SOLVED, minutes=30),
            ticket_event('1005', 0, status=Status.SOLVED, minutes=45),
        ]:
            processor.apply(event, IN_MAY)
        processor.release('zendesk#1001', IN_MAY)
        processor.release('zendesk#1003', IN_JUNE)
        apply_adjustment(AdjustmentRequest(adjustment_id='adj-1', employee_id='E1', points=15, reason='Covered a weekend shift',
                                           requested_by='maria@example.com'), ledger=LedgerStore(), directory=directory, now=IN_MAY)
        yield local


def statement(**event: Any) -> dict[str, Any]:
    from functions.statement.app import lambda_handler

    return lambda_handler({'employee_id': 'E1', 'month': '2024-05', **event}, lambda_context())


def test_the_function_returns_a_statement_that_reconciles_with_the_balance(aws: LocalAws) -> None:
    # Given the ledger the pipeline wrote for E1, and its balance
    ledger = LedgerStore()
    entries, balance = ledger.entries_for('E1'), ledger.balance('E1')
    assert entries and balance.pending > 0
    # When E1's May statement is requested
    out = statement()
    # Then it reconciles: every entry is in May, their sum is the available balance, the pending view the pending
    s = out['statement']
    assert out['ok'] is True and s['employee_name'] == 'Ana Agent'
    assert s['reconciliation'] == {'entries_total': balance.available, 'entry_count': len(entries), 'balance_available': balance.available,
                                   'available_difference': 0, 'pending_view_total': balance.pending, 'balance_pending': balance.pending,
                                   'reconciles': True}
    totals = s['totals']
    assert totals['opening_available'] == 0 and totals['closing_available'] == balance.available and totals['adjusted'] == 15
    assert totals['earned'] == sum(e.amount for e in entries if e.kind.value == 'award') and totals['pending'] == balance.pending
    # And every entry is listed once, under its rule, with its code, program and rule versions and source
    lines = [line for group in s['groups'] for line in group['lines']]
    assert sorted(line['entry_id'] for line in lines) == sorted(e.entry_id for e in entries)
    assert {line['code'] for line in lines} == {entry_code(e.entry_id) for e in entries}
    rules = {group['rule_id'] for group in s['groups']}
    assert {'resolved_within_sla', 'csat_positive', 'admin_adjustment'} <= rules
    award = next(line for line in lines if line['rule'].startswith('resolved_within_sla@') and line['ticket_key'] == 'zendesk#1001')
    assert award['program'] == 'default@1' and award['basis'] == 'resolution' and award['inputs']


def test_an_award_released_after_its_month_is_late_and_pending_awards_show_their_release(aws: LocalAws) -> None:
    # Given ticket 1003's award released on June 3 (its basis in May) and ticket 1005's still pending
    # When the May statement is requested
    s = statement()['statement']
    lines = [line for group in s['groups'] for line in group['lines']]
    # Then 1003's entries are May's, marked late with the day they were recorded; 1001's are not late
    late = {line['ticket_key'] for line in lines if line['late']}
    assert late == {'zendesk#1003'} and s['late_entries'] == sum(1 for line in lines if line['late'])
    assert all(any('recorded 2024-06-03' in note for note in line['notes']) for line in lines if line['late'])
    # And 1005's award is pending, with its release date and the May basis
    [(ticket_key, award)] = LedgerStore().pending_awards('E1')
    assert award.release_at is not None and award.basis_at is not None
    [pending] = s['pending']
    assert pending['ticket_key'] == ticket_key == 'zendesk#1005' and pending['in_month'] is True
    assert (pending['release_date'], pending['basis_date']) == (f'{award.release_at:%Y-%m-%d}', f'{award.basis_at:%Y-%m-%d}')


def test_text_format_and_a_balance_changed_behind_the_ledger_is_flagged(aws: LocalAws) -> None:
    # Given someone added 40 points to E1's balance item without a ledger entry
    aws.dynamodb.update_item(TableName=LedgerStore().balances.Meta.table_name, Key={'pk': {'S': employee_pk('E1')}},
                             UpdateExpression='ADD available :d', ExpressionAttributeValues={':d': {'N': '40'}})
    # When the statement is requested as text
    out = statement(format='text')
    # Then the mismatch is reported with its difference, in the JSON and in the text
    assert out['statement']['reconciliation']['reconciles'] is False
    assert out['statement']['reconciliation']['available_difference'] == 40
    assert any(line.startswith('BALANCE MISMATCH') and 'difference +40' in line for line in out['text'])
    assert out['text'][0].startswith('Points statement for E1 (Ana Agent) - May 2024')


def test_a_bad_request_names_the_field(aws: LocalAws) -> None:
    # Given / When a month that is not YYYY-MM
    out = statement(month='2024-13')
    # Then nothing is read and the field is named
    assert out['ok'] is False and out['field'] == 'month'


def test_the_local_command_prints_the_statement(aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the command's environment restored after the test
    for name in ('POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_LOG_LEVEL', 'AWS_REGION', 'AWS_DEFAULT_REGION'):
        monkeypatch.setenv(name, 'true' if name == 'POWERTOOLS_METRICS_DISABLED' else ('WARNING' if 'LOG' in name else 'us-east-1'))
    from infrastructure.statement import main

    # When the command runs for E1's May
    code = main(['--employee', 'E1', '--month', '2024-05'])
    # Then it prints the readable statement and exits 0 (it reconciles)
    text = capsys.readouterr().out
    assert code == 0
    assert 'Points statement for E1 (Ana Agent) - May 2024' in text and 'balance check OK' in text
    assert 'Resolved within SLA:' in text and 'Adjustments: +15 points' in text and 'LATE' in text


def test_make_run_prints_the_statement_of_the_first_employee_of_a_role_with_points(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    # Given E1 (agent) has points; M1 (manager) has none
    from infrastructure.statement import print_sample_statement

    # When the summary asks for an agent's statement, then a manager's
    print_sample_statement('2024-05', role='agent')
    print_sample_statement('2024-05', role='manager')
    # Then E1's statement is printed, and for managers a line saying there is none
    text = capsys.readouterr().out
    assert 'Points statement for E1 (Ana Agent) - May 2024' in text and 'balance check OK' in text
    assert 'no manager has points in 2024-05' in text
