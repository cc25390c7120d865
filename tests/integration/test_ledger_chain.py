"""Tamper evidence on DynamoDB (moto): every ledger writer (ticket processor and clawback, hold release, admin
adjustment, period/league close payment) chains its entries; the weekly audit passes an untouched ledger and
catches an entry overwritten with a raw PutItem, a deleted entry and a forged one, alarming through its metric;
legacy entries without chain fields are accepted; two writers racing on one employee never fork the chain."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Status
from shared.ledger.adjustments import AdjustmentRequest, apply_adjustment
from shared.ledger.auditor import LedgerAuditor
from shared.ledger.chain import BreakKind, ChainHead, entry_hash
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.holds import release_due
from shared.ledger.store import LedgerStore
from shared.programs import period_store
from shared.programs.period_store import PeriodStore
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.apigw import lambda_context
from tests.support.factories import DIRECTORY_CSV, T0, survey_event, ticket_event
from tests.support.local_aws import LocalAws, local_aws

BUILT_AT = datetime(2024, 5, 19, 12, 0, tzinfo=UTC)
AUDITED_AT = datetime(2024, 5, 20, 2, 15, tzinfo=UTC)
EMPLOYEES = ['E1', 'E2', 'E3', 'E4', 'M1']


def entry(employee_id: str, entry_id: str, amount: int, note: str = 'bonus') -> LedgerEntry:
    reason = EntryReason(ticket_key='period:support:2024-05', source_event_id='close', basis_event_id='close', rule_id='bonus',
                         rule_version=1, note=note)
    return LedgerEntry(entry_id=entry_id, employee_id=employee_id, amount=amount, kind=EntryKind.AWARD, status=EntryStatus.AVAILABLE,
                       reason=reason, occurred_at=BUILT_AT, recorded_at=BUILT_AT)


def adjust(employee_id: str, points: int, adjustment_id: str, ledger: LedgerStore | None = None) -> None:
    apply_adjustment(AdjustmentRequest(adjustment_id=adjustment_id, employee_id=employee_id, points=points, reason='Spot award for cover',
                                       requested_by='maria@example.com'), ledger=ledger or LedgerStore(), directory=DirectoryStore(), now=BUILT_AT)


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as local:
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), BUILT_AT)
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
        # Every kind of writer: awards released from the hold, a clawback (reopen within 30 days), an admin
        # adjustment, a period-close payment of two entries in one transaction
        for event in [
            ticket_event('1001', 0, status=Status.OPEN), ticket_event('1001', 1, status=Status.SOLVED, minutes=120),
            survey_event('1001', 5, response='r1'),
            ticket_event('1002', 0, status=Status.OPEN, agent='agent2@example.com'),
            ticket_event('1002', 1, status=Status.SOLVED, minutes=60, agent='agent2@example.com'),
        ]:
            processor.apply(event, BUILT_AT)
        release_due(processor.tickets, processor, T0 + timedelta(days=4))
        processor.apply(ticket_event('1002', 2, status=Status.OPEN, minutes=5 * 24 * 60, agent='agent2@example.com'), BUILT_AT)
        adjust('M1', 25, 'adj-1')
        PeriodStore().pay('E1', [entry('E1', 'PB1', 40), entry('E1', 'PB2', 15)], BUILT_AT)
        yield local


def audit() -> Any:
    return LedgerAuditor(directory=DirectoryStore(), ledger=LedgerStore(), pause=lambda _: None).run(AUDITED_AT)


def raw_items(aws: LocalAws, employee_id: str) -> list[dict[str, Any]]:
    response = aws.dynamodb.query(TableName=os.environ['LEDGER_TABLE'], KeyConditionExpression='pk = :pk',
                                  ExpressionAttributeValues={':pk': {'S': f'EMP#{employee_id}'}}, ConsistentRead=True)
    return sorted(response['Items'], key=lambda item: int(item['seq']['N']))


def test_every_writer_chains_its_entries_and_an_untouched_ledger_passes(aws: LocalAws) -> None:
    # Given the ledger written by the processor, the hold release, a clawback, an adjustment and a period close
    ledger = LedgerStore()
    kinds = {e.kind for employee in EMPLOYEES for e in ledger.entries_for(employee)}
    assert {EntryKind.AWARD, EntryKind.REVERSAL, EntryKind.ADJUSTMENT} <= kinds

    # When the audit runs
    report = audit()

    # Then every chain is intact and every balance reconciles
    assert report.ok and report.chain_breaks == () and report.mismatches == ()
    # And each employee's entries are chained 1..n from genesis, with the balance's head on the last one
    for employee in EMPLOYEES:
        items = raw_items(aws, employee)
        assert [int(i['seq']['N']) for i in items] == list(range(1, len(items) + 1))
        assert [i['prev_hash']['S'] for i in items] == ['', *[i['hash']['S'] for i in items]][: len(items)]
        head = ledger.balance(employee).chain
        assert head == (ChainHead(hash=items[-1]['hash']['S'], seq=len(items)) if items else ChainHead())
    # And the period close's two entries, written in one transaction, follow each other in the chain
    e1 = {i['sk']['S']: int(i['seq']['N']) for i in raw_items(aws, 'E1')}
    assert e1['ENTRY#PB2'] == e1['ENTRY#PB1'] + 1


def test_an_entry_overwritten_with_a_raw_put_item_is_caught_and_alarmed(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    # Given E2's first entry overwritten by a plain PutItem (no condition) that raises its amount by 100,
    # its chain fields copied as they were, and the balance raised too so that the sums still agree
    [first, *_] = raw_items(aws, 'E2')
    forged = json.loads(first['entry']['S']) | {'amount': int(first['amount']['N']) + 100}
    aws.dynamodb.put_item(TableName=os.environ['LEDGER_TABLE'],
                          Item=first | {'amount': {'N': str(forged['amount'])}, 'entry': {'S': json.dumps(forged)}})
    aws.dynamodb.update_item(TableName=os.environ['BALANCES_TABLE'], Key={'pk': {'S': 'EMP#E2'}},
                             UpdateExpression='ADD available :n', ExpressionAttributeValues={':n': {'N': '100'}})

    # When the scheduled audit runs (the function, with its metrics)
    from functions.ledger_audit.app import lambda_handler

    summary = lambda_handler({'time': '2024-05-20T02:15:00Z'}, lambda_context())

    # Then the sums agree, but the chain names E2's entry as altered
    assert summary['ok'] is False and summary['mismatches'] == 0
    assert summary['chain_breaks'] == 1 and summary['broken_chain_employees'] == ['E2']
    report = audit()
    [broken] = report.chain_breaks
    assert (broken.employee_id, broken.entry_id, broken.problem) == ('E2', first['sk']['S'].removeprefix('ENTRY#'), BreakKind.ALTERED)
    # And the metric the alarm watches counts one broken chain
    [document] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{') and '"_aws"' in line]
    assert document['LedgerChainBroken'] == [1.0]


def test_a_deleted_entry_is_caught(aws: LocalAws) -> None:
    # Given E1's first entry deleted (the balance left alone)
    [first, *rest] = raw_items(aws, 'E1')
    assert rest
    aws.dynamodb.delete_item(TableName=os.environ['LEDGER_TABLE'], Key={'pk': first['pk'], 'sk': first['sk']})

    # When the audit runs
    report = audit()

    # Then the gap is reported at the entry that follows it (and the sums disagree as well)
    assert [(b.employee_id, b.problem, b.entry_id) for b in report.chain_breaks] == [
        ('E1', BreakKind.GAP, rest[0]['sk']['S'].removeprefix('ENTRY#'))]
    assert [f.employee_id for f in report.mismatches] == ['E1']


def test_a_forged_entry_inserted_at_the_head_is_caught_even_with_a_valid_hash(aws: LocalAws) -> None:
    # Given a forged 500-point entry for M1, chained correctly onto M1's head (the scheme is public), and M1's
    # balance raised by 500 and its entry count by one (so the sums and counts agree), but the head not moved
    [last] = raw_items(aws, 'M1')[-1:]
    fields: dict[str, str | int | None] = {'pk': 'EMP#M1', 'sk': 'ENTRY#Eforged', 'entry': '{"forged": true}', 'amount': 500, 'kind': 'award', 'period': '2024-05',
              'recorded_at': BUILT_AT.isoformat()}
    seq, prev = int(last['seq']['N']) + 1, last['hash']['S']
    item = {k: ({'N': str(v)} if isinstance(v, int) else {'S': str(v)}) for k, v in fields.items()}
    item |= {'seq': {'N': str(seq)}, 'prev_hash': {'S': prev}, 'hash': {'S': entry_hash(fields, seq, prev)}}
    aws.dynamodb.put_item(TableName=os.environ['LEDGER_TABLE'], Item=item)
    aws.dynamodb.update_item(TableName=os.environ['BALANCES_TABLE'], Key={'pk': {'S': 'EMP#M1'}},
                             UpdateExpression='ADD available :n, entry_count :one',
                             ExpressionAttributeValues={':n': {'N': '500'}, ':one': {'N': '1'}})

    # When the audit runs
    report = audit()

    # Then the sums agree, but the balance's head is not the forged entry: it is named (and the count bumped to
    # hide it leaves one entry the balance cannot place)
    assert report.mismatches == ()
    assert sorted((b.employee_id, b.problem.value, b.entry_id) for b in report.chain_breaks) == [
        ('M1', 'head_mismatch', 'Eforged'), ('M1', 'legacy_missing', None)]


def test_legacy_entries_without_chain_fields_are_accepted_before_the_chain(aws: LocalAws) -> None:
    # Given E4 with two entries written the way the ledger wrote them before the chain (no seq, prev_hash,
    # hash; the balance counting them), then an adjustment written now
    for n, amount in enumerate([30, 12]):
        legacy = entry('E4', f'LEGACY{n}', amount)
        aws.dynamodb.put_item(TableName=os.environ['LEDGER_TABLE'], Item={
            'pk': {'S': 'EMP#E4'}, 'sk': {'S': f'ENTRY#{legacy.entry_id}'}, 'entry': {'S': legacy.model_dump_json()},
            'amount': {'N': str(amount)}, 'kind': {'S': 'award'}, 'period': {'S': legacy.period},
            'recorded_at': {'S': (BUILT_AT - timedelta(days=60)).isoformat()}})
    aws.dynamodb.update_item(TableName=os.environ['BALANCES_TABLE'], Key={'pk': {'S': 'EMP#E4'}},
                             UpdateExpression='ADD available :n, entry_count :c', ExpressionAttributeValues={':n': {'N': '42'}, ':c': {'N': '2'}})
    adjust('E4', 8, 'adj-e4')

    # When the audit runs
    report = audit()

    # Then the chain starts at the adjustment (seq 1 from genesis) and nothing is reported
    assert LedgerStore().balance('E4').chain.seq == 1
    assert report.ok, (report.chain_breaks, report.mismatches)


class RacingLedger(LedgerStore):
    """The real store, with another writer committing for the same employee right after this one read the
    employee's chain head (the interleaving two Lambda invocations can produce)."""

    def __init__(self, other_writer: Any) -> None:
        super().__init__()
        self.other_writer = other_writer
        self.head_reads = 0

    def _heads(self, employee_ids: Any) -> dict[str, ChainHead]:
        heads = super()._heads(employee_ids)
        self.head_reads += 1
        if self.other_writer is not None:
            other, self.other_writer = self.other_writer, None
            other()
        return heads


def test_two_writers_for_one_employee_never_fork_the_chain(aws: LocalAws) -> None:
    # Given an adjustment for M1 whose writer is overtaken, after reading M1's head, by another adjustment
    seq_before = LedgerStore().balance('M1').chain.seq
    racing = RacingLedger(lambda: adjust('M1', 7, 'adj-other'))

    # When it writes
    adjust('M1', 3, 'adj-racing', ledger=racing)

    # Then it read the head again and wrote after the other: both entries, one after the other, no fork
    assert racing.head_reads == 2
    items = raw_items(aws, 'M1')
    assert [int(i['seq']['N']) for i in items] == list(range(1, seq_before + 3))
    sources = [json.loads(i['entry']['S'])['reason']['source_event_id'] for i in items[-2:]]
    assert sources == ['adjustment:adj-other', 'adjustment:adj-racing']
    assert audit().ok


def test_a_period_payment_overtaken_by_another_writer_retries_on_the_new_head(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a period payment for E2 overtaken, after reading E2's head, by an adjustment for E2
    real = period_store.batch_heads
    other = [lambda: adjust('E2', 5, 'adj-during-close')]
    reads: list[int] = []

    def overtaken(client: Any, table: str, employee_ids: Any) -> dict[str, ChainHead]:
        heads = real(client, table, employee_ids)
        reads.append(1)
        if other:
            other.pop()()
        return heads

    monkeypatch.setattr(period_store, 'batch_heads', overtaken)
    seq_before = LedgerStore().balance('E2').chain.seq

    # When the close pays E2 two entries
    payment = PeriodStore().pay('E2', [entry('E2', 'PB3', 10), entry('E2', 'PB4', 20)], BUILT_AT)

    # Then both were paid after the adjustment, on a chain without a fork, and the audit agrees
    assert len(payment.written) == 2 and len(reads) == 2
    assert LedgerStore().balance('E2').chain.seq == seq_before + 3
    assert audit().ok
