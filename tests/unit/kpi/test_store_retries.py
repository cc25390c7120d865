"""KpiStore's answers to DynamoDB's transaction outcomes, at the boundary (a scripted client stands in for
DynamoDB's responses; the run-splitting, marker and retry logic under test is the real code)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.kpi.aggregate import TicketChange
from shared.kpi.definitions import Contribution
from shared.kpi.store import KpiStore, RunFailed

NOW = datetime(2026, 10, 5, tzinfo=UTC)


class TransactionCanceled(Exception):
    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__('TransactionCanceledException')
        self.response = {'CancellationReasons': reasons}


class ScriptedDynamoDB:
    """Answers each transact_write_items with the next scripted outcome ('ok' or a list of reasons)."""

    class exceptions:  # noqa: N801 - boto3's client.exceptions namespace
        TransactionCanceledException = TransactionCanceled

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[list[dict[str, Any]]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append(TransactItems)
        outcome = self.outcomes.pop(0)
        if outcome != 'ok':
            raise TransactionCanceled(outcome)
        return {}


def change(n: int, location: str = 'L1') -> TicketChange:
    return TicketChange(f'c{n}', None, Contribution('2026-10-05', (f'location#{location}',), {'t': 1}))


def test_a_conflict_with_a_concurrent_writer_is_retried_with_the_same_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given DynamoDB cancels the first attempt because another transaction touched the same item
    monkeypatch.setattr('shared.kpi.store.time.sleep', lambda _: None)
    conflict = [{'Code': 'None'}, {'Code': 'TransactionConflict'}]
    client = ScriptedDynamoDB(conflict, 'ok')

    # When a run of two changes is applied
    stats = KpiStore('kpi', client=client).apply([change(1), change(2)], NOW)

    # Then the identical transaction is sent again and succeeds: one run, counted once
    assert len(client.calls) == 2 and client.calls[0] == client.calls[1]
    assert (stats.runs, stats.conflicts_retried) == (1, 1)
    update = client.calls[1][1]['Update']
    assert update['ExpressionAttributeValues'][':c0'] == {'N': '2'}


def test_a_marker_written_by_an_earlier_attempt_skips_what_it_covered() -> None:
    # Given an earlier attempt already wrote a run starting at c1 and ending at c2, then failed
    already = [{'Code': 'ConditionalCheckFailed', 'Item': {'last': {'S': 'c2'}}}, {'Code': 'None'}]
    client = ScriptedDynamoDB(already, 'ok')

    # When the retried batch (c1, c2, c3) is applied
    stats = KpiStore('kpi', client=client).apply([change(1), change(2), change(3)], NOW)

    # Then only c3 is written, in a run of its own
    assert stats.already_applied == 1 and stats.runs == 1
    marker = client.calls[1][0]['Put']['Item']
    assert (marker['pk'], marker['last']) == ({'S': 'run#c3'}, {'S': 'c3'})
    assert client.calls[1][1]['Update']['ExpressionAttributeValues'][':c0'] == {'N': '1'}


def test_any_other_cancellation_is_raised_so_that_lambda_retries_the_batch() -> None:
    # Given DynamoDB refuses the transaction for another reason (e.g. a validation error)
    client = ScriptedDynamoDB([{'Code': 'None'}, {'Code': 'ValidationError'}])

    # When a run is applied, then the error propagates naming the run's first change (the stream retries from it)
    with pytest.raises(RunFailed) as failed:
        KpiStore('kpi', client=client).apply([change(1)], NOW)
    assert failed.value.change_id == change(1).change_id and isinstance(failed.value.__cause__, TransactionCanceled)


def test_runs_stay_within_the_transaction_limit() -> None:
    # Given 150 changes, each for a different location (one item each)
    client = ScriptedDynamoDB('ok', 'ok')

    # When they are applied
    stats = KpiStore('kpi', client=client).apply([change(n, f'L{n}') for n in range(150)], NOW)

    # Then they go in two transactions of at most 100 actions (99 items + the marker)
    assert [len(call) for call in client.calls] == [100, 52]
    assert stats.items_written == 150
