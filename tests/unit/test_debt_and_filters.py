"""Clawback debt, pure: a capped debit states the debt it leaves only under the `debt` policy; the recovery takes
min(debt, available - floor) with a deterministic id and says what is left. Lambda's event filtering as the local stack
emulates it (numeric and exists patterns, any-of filters), and the local stream poller delivering only what the
filter lets through while consuming the rest."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from infrastructure.local import stack as stack_module
from infrastructure.local.event_filter import delivers, matches, parse_filters
from infrastructure.local.stack import LocalStack
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import cap_debits
from shared.wallet.debt import DebtState, plan_recovery, recovery_id_for, wants_recovery

NOW = datetime(2026, 10, 20, tzinfo=UTC)
OWING = {'dynamodb': {'NewImage': {'debt': {'N': [{'numeric': ['>', 0]}]}, 'available': {'N': [{'numeric': ['>', 0]}]}}}}


def reversal(points: int) -> LedgerEntry:
    reason = EntryReason(ticket_key='zendesk#1', source_event_id='e2', basis_event_id='resolution', rule_id='resolved', rule_version=1,
                         program_id='pitstop@1', note='claws back E1')
    return LedgerEntry(entry_id='R1', employee_id='E1', amount=-points, kind=EntryKind.REVERSAL, status=EntryStatus.AVAILABLE,
                       reverses='E1', reason=reason, occurred_at=NOW, recorded_at=NOW)


def image(**numbers: int) -> dict[str, Any]:
    return {'eventName': 'MODIFY', 'dynamodb': {'Keys': {'pk': {'S': 'EMP#E1'}}, 'SequenceNumber': str(sum(numbers.values())),
                                                'NewImage': {'pk': {'S': 'EMP#E1'}, **{k: {'N': str(v)} for k, v in numbers.items()}}}}


def test_a_capped_clawback_owes_the_rest_only_under_the_debt_policy() -> None:
    # Given a 30-point clawback and 12 points available
    # When it is capped under the debt policy, then under write-off
    [owed] = cap_debits([reversal(30)], 'E1', 12, lambda entry: True)
    [forgiven] = cap_debits([reversal(30)], 'E1', 12, lambda entry: False)

    # Then both take 12; the first owes 18 (stated), the second only says 18 were not recovered
    assert (owed.amount, owed.reason.inputs['debt_points'], owed.reason.inputs['unrecovered_points']) == (-12, 18, 18)
    assert 'owed as a debt' in (owed.reason.note or '')
    assert forgiven.amount == -12 and 'debt_points' not in forgiven.reason.inputs
    # Capped again (the balance moved meanwhile, 5 left): the debt counts from the first request
    [again] = cap_debits([owed], 'E1', 5, lambda entry: True)
    assert (again.amount, again.reason.inputs['debt_points'], again.reason.inputs['requested_points']) == (-5, 25, 30)


def test_recovery_takes_what_is_above_the_floor_and_says_what_is_left() -> None:
    state = DebtState(employee_id='E1', available=25, debt=40, debt_entries=('R1', 'R2'), program_ref='pitstop@3')
    entry = plan_recovery(state, 5, '17', NOW)
    assert entry is not None
    assert (entry.amount, entry.kind, entry.entry_id) == (-20, EntryKind.DEBT_RECOVERY, recovery_id_for('E1', '17'))
    assert entry.reason.inputs['debt_left'] == 20 and entry.reason.program_id == 'pitstop@3'
    assert entry.reason.note == 'repays 20 of the 40 points owed since clawback R1, R2; 20 points still owed'
    # Nothing above the floor, or nothing owed: no entry
    assert plan_recovery(DebtState('E1', available=5, debt=40), 5, '18', NOW) is None
    assert plan_recovery(DebtState('E1', available=50, debt=0), 0, '19', NOW) is None
    # A recovery of the whole debt clears it
    cleared = plan_recovery(DebtState('E1', available=50, debt=40), 0, '20', NOW)
    assert cleared is not None and cleared.amount == -40 and (cleared.reason.note or '').endswith('debt cleared')


@pytest.mark.parametrize(('numbers', 'expected'), [
    ({'debt': 10, 'available': 1}, True),
    ({'debt': 10, 'available': 0}, False),
    ({'debt': 0, 'available': 10}, False),
    ({'available': 10}, False),
    ({'debt': -3, 'available': 10}, False),
])
def test_the_owing_filter_and_the_codes_own_check_agree(numbers: dict[str, int], expected: bool) -> None:
    record = image(**numbers)
    assert delivers([OWING], record) is expected
    assert wants_recovery(record['dynamodb']['NewImage']) is expected


def test_filter_grammar_exists_equality_prefix_and_any_of_filters() -> None:
    record = image(debt=10, available=3)
    assert matches({'dynamodb': {'NewImage': {'debt': {'N': [{'exists': True}]}}}}, record)
    assert not matches({'dynamodb': {'NewImage': {'debt': [{'exists': False}]}}}, record)
    assert matches({'dynamodb': {'NewImage': {'gone': [{'exists': False}]}}}, record)
    assert matches({'eventName': ['INSERT', 'MODIFY']}, record) and not matches({'eventName': ['REMOVE']}, record)
    assert matches({'dynamodb': {'Keys': {'pk': {'S': [{'prefix': 'EMP#'}]}}}}, record)
    assert matches({'dynamodb': {'NewImage': {'available': {'N': [{'numeric': ['>=', 1, '<', 5]}]}}}}, record)
    assert not matches({'dynamodb': {'NewImage': {'available': {'N': [{'numeric': ['>', 3]}]}}}}, record)
    # Any of the filters; none at all delivers everything
    assert delivers([{'eventName': ['REMOVE']}, OWING], record) and delivers([], record)
    assert parse_filters({'Filters': [{'Pattern': '{"eventName": ["INSERT"]}'}]}) == [{'eventName': ['INSERT']}]
    with pytest.raises(ValueError, match='not emulated'):
        matches({'eventName': [{'wildcard': '*'}]}, record)


@dataclass
class _Item:
    record: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.record


def test_the_local_stream_poller_invokes_only_with_delivered_records_and_consumes_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a balances shard with five changes, two of which owe and have points, and a reader with the owing filter
    records = [image(available=5), image(debt=10, available=0), image(debt=10, available=7), image(available=9),
               image(debt=2, available=4)]
    for number, record in enumerate(records):
        record['dynamodb']['SequenceNumber'] = str(100 + number)
    shard = type('Shard', (), {'items': [_Item(r) for r in records]})()
    handler = 'functions.debt_recovery.app.lambda_handler'
    local = LocalStack()
    local.stream_applied = {handler: 0}
    monkeypatch.setattr(local, '_stream_shard', lambda table_id: shard)
    monkeypatch.setenv('BALANCES_TABLE', 'test-balances')
    invoked: list[list[str]] = []

    def fake_invoke(dotted: str, event: dict[str, Any]) -> dict[str, Any]:
        invoked.append([r['dynamodb']['SequenceNumber'] for r in event['Records']])
        local._stop.set()
        return {'batchItemFailures': []}

    monkeypatch.setattr(stack_module, 'invoke', fake_invoke)

    # When the poller runs (batch of 100, no window)
    thread = threading.Thread(target=local._poll_stream, args=(handler, 100, 0.0, 'BalancesTable'))
    thread.start()
    thread.join(timeout=10)

    # Then it was invoked once with the two owing records, and every record counts as consumed
    assert invoked == [['102', '104']]
    assert local.stream_applied[handler] == 5
