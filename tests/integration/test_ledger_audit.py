"""The weekly ledger audit on DynamoDB and SES (moto): a ledger built by the real pipeline reconciles,
a balance changed behind the ledger's back is reported with its difference, the digest e-mail goes
out, nothing is scanned, the entries are read as their amounts only (a projected Query), and a write
landing mid-audit is read again instead of reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shared.config import get_settings
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Status
from shared.ledger.adjustments import AdjustmentRequest, apply_adjustment
from shared.ledger.auditor import LedgerAuditor
from shared.ledger.chain import StoredEntry
from shared.ledger.holds import release_due
from shared.ledger.store import LedgerStore
from shared.quarantine.store import QuarantineStore
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.apigw import lambda_context
from tests.support.counting import count_requests, record_requests
from tests.support.factories import DIRECTORY_CSV, T0, job_card_event, survey_event, ticket_event
from tests.support.local_aws import LocalAws, local_aws

BUILT_AT = datetime(2024, 5, 19, 12, 0, tzinfo=UTC)
AUDIT_TIME = '2024-05-20T02:15:00Z'
SENDER = 'pitcrew-audit@example.com'
ADMINS = ('ops@example.com', 'lead@example.org')
EMPLOYEES = ['E1', 'E2', 'E3', 'E4', 'M1']


def scheduled_event(time: str = AUDIT_TIME) -> dict[str, Any]:
    return {'version': '0', 'id': 'e-1', 'detail-type': 'Scheduled Event', 'source': 'aws.events', 'account': '123456789012',
            'time': time, 'region': 'us-east-1', 'resources': ['arn:aws:events:us-east-1:123456789012:rule/audit'], 'detail': {}}


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]['us-east-1'].sent_messages)


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    monkeypatch.setenv('AUDIT_EMAIL_FROM', SENDER)
    monkeypatch.setenv('AUDIT_EMAIL_TO', ', '.join(ADMINS))
    with local_aws() as local:
        boto3.client('sesv2', region_name='us-east-1').create_email_identity(EmailIdentity=SENDER)
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), BUILT_AT)
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
        # A ledger built by the pipeline: awards, a survey award, a reversal (reopen), a job card,
        # an admin adjustment, and a ticket whose agent is not in the directory.
        for event in [
            ticket_event('1001', 0, status=Status.OPEN), ticket_event('1001', 1, status=Status.SOLVED, minutes=120),
            survey_event('1001', 5, response='r1'),
            ticket_event('1002', 0, status=Status.OPEN, agent='agent2@example.com'),
            ticket_event('1002', 1, status=Status.SOLVED, minutes=60, agent='agent2@example.com'),
            ticket_event('1003', 0, status=Status.SOLVED, minutes=30, agent='agent2@example.com'),
            job_card_event('JC-1', 0, Status.OPEN, minutes=0), job_card_event('JC-1', 1, Status.CLOSED, minutes=180),
            ticket_event('1004', 0, status=Status.SOLVED, minutes=20, agent='new.hire@example.com'),
        ]:
            processor.apply(event, BUILT_AT)
        # The holds close (the default program: 72 h), then 1002 is reopened: a clawback within 30 days
        release_due(processor.tickets, processor, T0 + timedelta(days=4))
        processor.apply(ticket_event('1002', 2, status=Status.OPEN, minutes=5 * 24 * 60, agent='agent2@example.com'), BUILT_AT)
        apply_adjustment(AdjustmentRequest(adjustment_id='adj-1', employee_id='M1', points=25, reason='Spot award for cover',
                                           requested_by='maria@example.com'), ledger=LedgerStore(), directory=directory, now=BUILT_AT)
        QuarantineStore().keep_rejected(source='zendesk', body=b'{}', headers={}, query={}, reason='signature mismatch', field=None,
                                        status_code=401, authenticated=False, correlation_id=None, now=BUILT_AT)
        yield local


def run_audit(event: dict[str, Any] | None = None) -> dict[str, Any]:
    from functions.ledger_audit.app import lambda_handler

    return lambda_handler(scheduled_event() if event is None else event, lambda_context())


def emitted_metrics(stdout: str) -> dict[str, Any]:
    """The EMF document the handler printed: metric values plus its dimension names."""
    [document] = [json.loads(line) for line in stdout.splitlines() if line.startswith('{') and '"_aws"' in line]
    directive = document['_aws']['CloudWatchMetrics'][0]
    return {'names': {m['Name'] for m in directive['Metrics']}, 'dimensions': directive['Dimensions'][0], **document}


def test_a_ledger_built_by_the_pipeline_reconciles_and_the_digest_says_ok(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the ledger built by the pipeline (every employee's entries, read independently)
    ledger = LedgerStore()
    entries = {employee: ledger.entries_for(employee) for employee in EMPLOYEES}
    assert sum(map(len, entries.values())) >= 6 and any(e.amount < 0 for es in entries.values() for e in es)

    # When the scheduled audit runs
    summary = run_audit()

    # Then every employee is audited, every entry checked, nothing mismatches
    assert summary['ok'] is True and summary['mismatches'] == 0 and summary['mismatched_employees'] == []
    assert summary['employees_audited'] == len(EMPLOYEES)
    assert summary['entries_checked'] == sum(map(len, entries.values()))
    assert summary['audited_at'] == '2024-05-20T02:15:00+00:00'
    # And the metrics say so, with the dimensions the template's alarm watches
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics['LedgerAuditMismatches'] == [0.0]
    assert metrics['LedgerEmployeesAudited'] == [5.0]
    assert set(metrics['dimensions']) == {'service', 'stage'} and metrics['stage'] == get_settings().STAGE
    # And one digest went from the verified identity to the admins, saying OK, with the admin context
    assert summary['email_sent'] is True
    [message] = sent_messages()
    assert message.source == SENDER and message.destinations == {'ToAddresses': list(ADMINS)}
    assert message.subject == 'Pitcrew ledger audit (test) 2024-05-20: OK'
    lines = [line.split() for line in message.body.splitlines()]
    assert ['zendesk', 'authentication_failed', '1'] in lines
    assert ['zendesk', '1'] in lines  # ticket 1004 waits for new.hire to be mapped
    assert summary['quarantined_waiting'] == 1 and summary['unmapped_tickets'] == 1


def test_a_balance_changed_behind_the_ledger_is_reported_with_its_difference(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    # Given E2's balance item is changed directly, outside any ledger transaction (+50 points)
    before = LedgerStore().balance('E2').available
    aws.dynamodb.update_item(TableName=get_settings().BALANCES_TABLE, Key={'pk': {'S': 'EMP#E2'}},
                             UpdateExpression='SET available = available + :n', ExpressionAttributeValues={':n': {'N': '50'}})

    # When the scheduled audit runs
    summary = run_audit()

    # Then exactly E2 is reported, and the metric and the summary say 1 mismatch
    assert summary['ok'] is False
    assert summary['mismatches'] == 1 and summary['mismatched_employees'] == ['E2']
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics['LedgerAuditMismatches'] == [1.0]
    # And the digest's subject says so, and its row shows the balance, the entries' sum and +50
    [message] = sent_messages()
    assert message.subject == 'Pitcrew ledger audit (test) 2024-05-20: 1 mismatch'
    [row] = [line.split() for line in message.body.splitlines() if line.strip().startswith('E2 ')]
    entries = LedgerStore().entries_for('E2')
    assert row == ['E2', str(before + 50), str(before), '+50', str(len(entries))]


def test_the_audit_queries_and_never_scans(aws: LocalAws) -> None:
    # Given the ledger built by the pipeline
    # When the audit runs, counting every AWS request
    with count_requests() as counter:
        summary = run_audit()

    # Then DynamoDB saw only Queries, GetItems and BatchGetItems: one Query for the employees, one per employee's
    # entries, one per quarantine day (7) and per source's unmapped tickets (one per source); one BatchGetItem for the
    # one day that holds a quarantined item (the by_day index projects keys only); two balance reads per employee
    # (nothing was writing; pending points are not read); and SES one SendEmail
    from shared.events import Source

    assert counter.dynamodb({'Scan'}) == 0
    assert {op for (service, op) in counter.calls if service == 'dynamodb'} == {'Query', 'GetItem', 'BatchGetItem'}
    assert counter.calls[('dynamodb', 'Query')] == 1 + len(EMPLOYEES) + 7 + len(Source)
    assert counter.calls[('dynamodb', 'BatchGetItem')] == 1
    assert counter.calls[('dynamodb', 'GetItem')] == 2 * len(EMPLOYEES)
    assert counter.calls[('sesv2', 'SendEmail')] == 1 and summary['email_sent']


def test_without_recipients_the_audit_runs_and_sends_nothing(aws: LocalAws, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # Given no admin recipients configured
    monkeypatch.setenv('AUDIT_EMAIL_TO', '')
    get_settings.cache_clear()

    # When the audit runs
    summary = run_audit()

    # Then it audits and records its metrics, and no e-mail is sent
    assert summary['employees_audited'] == len(EMPLOYEES) and summary['email_sent'] is False
    assert sent_messages() == []
    assert emitted_metrics(capsys.readouterr().out)['LedgerAuditMismatches'] == [0.0]


@pytest.mark.filterwarnings('ignore:No application metrics to publish')
def test_a_console_run_without_a_time_audits_now_and_a_bad_time_is_refused(aws: LocalAws) -> None:
    # When run from the console with {} and with a time that is not one
    now = run_audit({})
    refused = run_audit({'time': 'last monday'})

    # Then the first audits as of now, the second names the field and audits nothing more
    assert abs(datetime.fromisoformat(now['audited_at']) - datetime.now(UTC)) < timedelta(minutes=1)
    assert refused['ok'] is False and refused['field'] == 'time'
    assert len(sent_messages()) == 1


def test_stored_entries_are_the_entries_with_their_chain_read_by_one_query_each(aws: LocalAws) -> None:
    # Given the ledger built by the pipeline, with awards and a reversal, read as entries
    ledger = LedgerStore()
    entries = {employee: ledger.entries_for(employee) for employee in EMPLOYEES}
    assert any(e.amount > 0 for es in entries.values() for e in es) and any(e.amount < 0 for es in entries.values() for e in es)

    # When the audit's view of them is read, recording the requests
    with record_requests() as sent:
        stored = {employee: ledger.stored_entries(employee) for employee in EMPLOYEES}

    # Then they are the same entries with the same amounts, in the same order, each carrying its place in the
    # employee's chain (seq 1..n, as many as the balance's chain_seq)
    assert {employee: [(s.entry_id, s.amount) for s in items] for employee, items in stored.items()} == {
        employee: [(e.entry_id, e.amount) for e in es] for employee, es in entries.items()}
    for employee, items in stored.items():
        assert sorted(s.seq for s in items if s.seq is not None) == list(range(1, len(items) + 1))
        assert ledger.balance(employee).chain.seq == len(items)
    # And each employee took one consistent Query on their partition's entries
    assert [op for _, op, _, _ in sent] == ['Query'] * len(EMPLOYEES)
    assert all(params['ConsistentRead'] is True and 'begins_with' in params['KeyConditionExpression'] for _, _, params, _ in sent)


class WriterDuringAudit(LedgerStore):
    """The real store, with a concurrent writer that commits an adjustment for one employee right
    after the audit has read that employee's entries (before it reads the balance again)."""

    def __init__(self, employee_id: str, writes: int = 1) -> None:
        super().__init__()
        self.employee_id = employee_id
        self.writes_left = writes
        self.entry_reads = 0

    def stored_entries(self, employee_id: str) -> list[StoredEntry]:
        amounts = super().stored_entries(employee_id)
        if employee_id == self.employee_id:
            self.entry_reads += 1
            if self.writes_left:
                self.writes_left -= 1
                apply_adjustment(AdjustmentRequest(adjustment_id=f'race-{self.writes_left}', employee_id=employee_id, points=7,
                                                   reason='Concurrent writer', requested_by='test'),
                                 ledger=LedgerStore(), directory=DirectoryStore(), now=BUILT_AT)
        return amounts


def test_a_write_landing_mid_audit_is_read_again_not_reported(aws: LocalAws) -> None:
    # Given a writer that credits E1 between the audit's read of E1's entries and of E1's balance
    ledger = WriterDuringAudit('E1')
    auditor = LedgerAuditor(directory=DirectoryStore(), ledger=ledger, pause=lambda _: None)

    # When the audit runs
    report = auditor.run(datetime(2024, 5, 20, tzinfo=UTC))

    # Then E1 was read twice (the write happened: its balance now holds the credit) and is not a mismatch
    assert ledger.entry_reads == 2
    assert any(e.reason.note == 'Concurrent writer' for e in LedgerStore().entries_for('E1'))
    assert report.mismatches == () and report.unstable == ()
    assert report.employees_audited == len(EMPLOYEES)


def test_an_employee_written_during_every_attempt_is_not_checked_rather_than_reported(aws: LocalAws) -> None:
    # Given a writer that credits E1 during each of the audit's attempts
    ledger = WriterDuringAudit('E1', writes=10)
    auditor = LedgerAuditor(directory=DirectoryStore(), ledger=ledger, pause=lambda _: None)

    # When the audit runs
    report = auditor.run(datetime(2024, 5, 20, tzinfo=UTC))

    # Then E1 is given up after 1 + 3 attempts and listed as not checked; nobody is a mismatch
    assert ledger.entry_reads == 4
    assert report.unstable == ('E1',) and report.mismatches == ()
    assert report.employees_audited == len(EMPLOYEES) - 1
