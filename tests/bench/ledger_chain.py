"""Bench drill for the ledger's hash chain (tamper evidence, issue 13): what it costs to write and to audit.

A small ledger built on moto by the real writers (the ticket processor and its hold release and clawback, admin
adjustments, a period-close payment of two entries per person), then:

- ledger_chain_extra_bytes_per_entry: the mean size the chain adds to a ledger item (`seq`, `prev_hash`, `hash`:
  about 150 bytes), measured on the stored items with capacity.py's sizing;
- ledger_chain_extra_wru_per_entry: the mean write units the chain adds to an entry's Put (nonzero only for entries
  the extra bytes push over a 1 KB boundary), and ledger_entry_bytes_mean for scale;
- ledger_chain_balance_extra_bytes: the same for the balance item (`chain_head`, `chain_seq`), whose update is in
  the same transaction;
- ledger_chain_head_reads_per_write: the reads a ledger write makes for the chain (an admin adjustment: one
  consistent GetItem of the balance; a close reads its payees' heads 100 a BatchGetItem instead);
- ledger_audit_requests_per_employee: DynamoDB requests of the weekly audit per employee (the directory's
  Query pages shared; per employee: balance, the partition's Query, balance) and ledger_audit_rru_per_employee.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

CHAIN_ATTRIBUTES = ('seq', 'prev_hash', 'hash')
BALANCE_CHAIN_ATTRIBUTES = ('chain_head', 'chain_seq')
BUILT_AT = datetime(2024, 5, 19, 12, 0, tzinfo=UTC)


def _build_ledger(rounds: int) -> None:
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.events import Status
    from shared.ledger.adjustments import AdjustmentRequest, apply_adjustment
    from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
    from shared.ledger.holds import release_due
    from shared.ledger.store import LedgerStore
    from shared.programs.period_store import PeriodStore
    from shared.tickets.processing import TicketProcessor
    from shared.tickets.store import TicketStore
    from tests.support.factories import DIRECTORY_CSV, T0, job_card_event, survey_event, ticket_event

    directory = DirectoryStore()
    directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), BUILT_AT)
    processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
    for n in range(rounds):
        ticket, other, card = f'{1000 + n}', f'{5000 + n}', f'JC-{n}'
        for event in [
            ticket_event(ticket, 0, status=Status.OPEN), ticket_event(ticket, 1, status=Status.SOLVED, minutes=120),
            survey_event(ticket, 5, response=f'r{n}'),
            ticket_event(other, 0, status=Status.OPEN, agent='agent2@example.com'),
            ticket_event(other, 1, status=Status.SOLVED, minutes=60, agent='agent2@example.com'),
            job_card_event(card, 0, Status.OPEN, minutes=0), job_card_event(card, 1, Status.CLOSED, minutes=180),
        ]:
            processor.apply(event, BUILT_AT)
    release_due(processor.tickets, processor, T0 + timedelta(days=4))
    for n in range(rounds // 2):  # half the second agent's tickets reopened: clawbacks
        processor.apply(ticket_event(f'{5000 + n}', 2, status=Status.OPEN, minutes=5 * 24 * 60, agent='agent2@example.com'), BUILT_AT)
    store = PeriodStore()
    for employee_id in ('E1', 'E2', 'E3', 'E4'):
        reason = EntryReason(ticket_key='period:support:2024-05', source_event_id='close', basis_event_id='close', rule_id='bonus',
                             rule_version=1, inputs={'sla_met_pct': 95.2, 'factor': 1.5})
        entries = [LedgerEntry(entry_id=f'P{employee_id}{k}', employee_id=employee_id, amount=25 * (k + 1), kind=EntryKind.AWARD,
                               status=EntryStatus.AVAILABLE, reason=reason, occurred_at=BUILT_AT, recorded_at=BUILT_AT) for k in range(2)]
        store.pay(employee_id, entries, BUILT_AT)
    for n in range(rounds):
        apply_adjustment(AdjustmentRequest(adjustment_id=f'bench-{n}', employee_id='M1', points=5, reason='Spot award for cover',
                                           requested_by='maria@example.com'), ledger=LedgerStore(), directory=directory, now=BUILT_AT)


def _items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item of a table (the bench's own moto tables: a Scan here is measurement, not a code path)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {'TableName': table}
    while True:
        page = dynamodb.scan(**kwargs)
        items += page['Items']
        if 'LastEvaluatedKey' not in page:
            return items
        kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']


def figures(rounds: int = 12) -> dict[str, Any]:
    from shared.directory.store import DirectoryStore
    from shared.ledger.adjustments import AdjustmentRequest, apply_adjustment
    from shared.ledger.auditor import LedgerAuditor
    from shared.ledger.store import LedgerStore
    from tests.bench.capacity import item_size, metered, write_units
    from tests.support.counting import count_requests, record_requests
    from tests.support.local_aws import local_aws

    started = time.perf_counter()
    with local_aws() as aws:
        _build_ledger(rounds)
        entries = _items(aws.dynamodb, os.environ['LEDGER_TABLE'])
        balances = [item for item in _items(aws.dynamodb, os.environ['BALANCES_TABLE']) if 'chain_head' in item]
        assert entries and all(name in item for item in entries for name in CHAIN_ATTRIBUTES)

        def without(item: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
            return {k: v for k, v in item.items() if k not in names}

        extra_bytes = [item_size(item) - item_size(without(item, CHAIN_ATTRIBUTES)) for item in entries]
        extra_wru = [write_units(item_size(item)) - write_units(item_size(without(item, CHAIN_ATTRIBUTES))) for item in entries]
        balance_bytes = [item_size(item) - item_size(without(item, BALANCE_CHAIN_ATTRIBUTES)) for item in balances]

        with record_requests() as sent:
            apply_adjustment(AdjustmentRequest(adjustment_id='bench-reads', employee_id='E1', points=5, reason='Spot award for cover',
                                               requested_by='maria@example.com'), ledger=LedgerStore(), directory=DirectoryStore(),
                             now=BUILT_AT)
        head_reads = sum(1 for _, op, params, _ in sent if op in ('GetItem', 'BatchGetItem') and 'chain_head' in str(params))

        auditor = LedgerAuditor(directory=DirectoryStore(), ledger=LedgerStore(), pause=lambda _: None)
        with count_requests() as audit_counter, metered() as meter:
            report = auditor.run(BUILT_AT)
        assert report.ok and report.employees_audited, report
    ddb = sum(n for (service, _), n in audit_counter.calls.items() if service == 'dynamodb')
    return {
        'ledger_chain_extra_bytes_per_entry': round(statistics.mean(extra_bytes), 1),
        'ledger_chain_extra_wru_per_entry': round(statistics.mean(extra_wru), 3),
        'ledger_entry_bytes_mean': round(statistics.mean(item_size(item) for item in entries), 1),
        'ledger_chain_balance_extra_bytes': round(statistics.mean(balance_bytes), 1),
        'ledger_chain_head_reads_per_write': head_reads,
        'ledger_audit_requests_per_employee': round(ddb / report.employees_audited, 3),
        'ledger_audit_rru_per_employee': round(meter.read_units / report.employees_audited, 3),
        'ledger_chain_entries_measured': len(entries),
        'ledger_chain_bench_s': round(time.perf_counter() - started, 1),
    }
