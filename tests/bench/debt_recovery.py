"""Bench figures of the clawback debt recovery (issue 14); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

- debt_recovery_wru_per_event: DynamoDB write units (tests/bench/capacity.py's sizing: 2x per item of a transaction)
  the debt recovery spends per balance-stream event it acts on (one DEBT_RECOVERY entry, chained, and the balance
  update, in one transaction), measured through its handler on moto.
- debt_recovery_rru_per_event: its read units per such event (one consistent GetItem of the balance item).
- debt_recovery_delivered_share: of every balance change in the drill, the share the event source's filter
  (`debt > 0 AND available > 0`, template.yaml) delivers; the others invoke nothing and cost nothing (Lambda does not
  bill filtered records). The drill: 40 people, 8 of whom owe 30 points from a clawback, each earns 3 times 20 points;
  the stream is filtered exactly as the local stack filters it (infrastructure/local/event_filter.py).
  Also printed: debt_recovery_events_acted, debt_recovery_balance_events (the drill's counts) and
  debt_recovery_debt_left (0: every debt repaid, none twice).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

PEOPLE = 40
OWING = 8
DEBT = 30
CREDITS = (20, 20, 20)
HANDLER = 'functions.debt_recovery.app.lambda_handler'


def _credit(ledger: Any, employee_id: str, n: int, points: int, now: datetime) -> None:
    from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry

    reason = EntryReason(ticket_key='bench', source_event_id=f'{employee_id}-{n}', basis_event_id='b', rule_id='bonus', rule_version=1,
                         program_id='pitstop@1')
    ledger.append_adjustment(LedgerEntry(entry_id=f'C{employee_id}{n}', employee_id=employee_id, amount=points, kind=EntryKind.ADJUSTMENT,
                                         status=EntryStatus.AVAILABLE, reason=reason, occurred_at=now, recorded_at=now))


def figures() -> dict[str, Any]:
    from moto.dynamodb.models import dynamodb_backends

    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)
    from functions.debt_recovery import app as debt_app
    from infrastructure.local.event_filter import delivers
    from infrastructure.local.template_resources import stream_filters
    from shared.ledger.store import LedgerStore
    from tests.bench.capacity import metered
    from tests.support.apigw import lambda_context
    from tests.support.local_aws import local_aws

    now = datetime(2026, 10, 20, tzinfo=UTC)
    patterns = stream_filters(HANDLER)
    with local_aws() as aws:
        debt_app.store.cache_clear()
        floor = debt_app._floor
        debt_app._floor = lambda ref: 0  # type: ignore[assignment]
        try:
            table = os.environ['BALANCES_TABLE']
            for i in range(PEOPLE):  # everyone has a balance item; the first OWING as a capped clawback leaves them (30 owed)
                owes = {'debt': {'N': str(DEBT)}, 'debt_entries': {'SS': [f'R{i}']}, 'debt_program': {'S': 'pitstop@1'}} if i < OWING else {}
                aws.dynamodb.put_item(TableName=table, Item={'pk': {'S': f'EMP#B{i:03d}'}, 'available': {'N': '0'}, **owes})
            shard = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']].get_table(table).stream_shard
            assert shard is not None
            position = len(shard.items)
            ledger = LedgerStore()
            total = delivered = acted = 0
            handler_w = handler_r = 0.0
            for n, points in enumerate(CREDITS):
                for i in range(PEOPLE):
                    _credit(ledger, f'B{i:03d}', n, points, now)
                while position < len(shard.items):  # the stream, as the filtered event source delivers it (batches of 100)
                    records = [item.to_json() for item in shard.items[position : position + 100]]
                    position += len(records)
                    total += len(records)
                    chosen = [r for r in records if delivers(patterns, r)]
                    delivered += len(chosen)
                    if not chosen:
                        continue
                    with metered() as meter:
                        debt_app.lambda_handler({'Records': chosen}, lambda_context())
                    handler_w += meter.write_units
                    handler_r += meter.read_units
                    acted += len(chosen)
            owed = sum(ledger.balance(f'B{i:03d}', with_pending=False).debt for i in range(OWING))
        finally:
            debt_app._floor = floor
            debt_app.store.cache_clear()
    return {
        'debt_recovery_wru_per_event': round(handler_w / acted, 2) if acted else 0.0,
        'debt_recovery_rru_per_event': round(handler_r / acted, 2) if acted else 0.0,
        'debt_recovery_delivered_share': round(delivered / total, 3) if total else 0.0,
        'debt_recovery_debt_left': owed,
        'debt_recovery_events_acted': acted,
        'debt_recovery_balance_events': total,
    }


if __name__ == '__main__':
    print(figures())
