"""Admin adjustments from the console: appended with a reason, once per request id, never below zero."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.ledger.entries import EntryKind
from shared.ledger.store import LedgerStore
from tests.support.apigw import lambda_context
from tests.support.factories import DIRECTORY_CSV
from tests.support.local_aws import local_aws


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with local_aws():
        DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), datetime.now(UTC))
        yield


def adjust(**fields: Any) -> dict[str, Any]:
    from functions.ledger_adjust.app import lambda_handler

    request = {'adjustment_id': 'adj-1', 'employee_id': 'E1', 'points': 50, 'reason': 'Hazard reported in bay 3',
               'requested_by': 'maria@example.com'} | fields
    return lambda_handler(request, lambda_context())


def test_credit_is_appended_with_who_and_why() -> None:
    # When an admin credits 50 points
    result = adjust()

    # Then an adjustment entry exists with the reason and requester, and the balance shows it
    assert result['ok'] and result['applied'] and result['available'] == 50
    [entry] = LedgerStore().entries_for('E1')
    assert entry.kind is EntryKind.ADJUSTMENT and entry.amount == 50
    assert entry.reason.note == 'Hazard reported in bay 3' and entry.reason.inputs['requested_by'] == 'maria@example.com'


def test_the_same_request_twice_writes_once() -> None:
    # When the console request is run twice (a double click, a retry)
    adjust()
    again = adjust()

    # Then the second is reported as a duplicate and nothing more is written
    assert again['ok'] and again['duplicate'] and again['available'] == 50
    assert len(LedgerStore().entries_for('E1')) == 1


def test_a_debit_larger_than_the_balance_is_refused_and_nothing_is_written() -> None:
    # Given 50 points available
    adjust()

    # When an admin tries to debit 80
    refused = adjust(adjustment_id='adj-2', points=-80, reason='Reverse duplicate award')

    # Then it is refused naming the field, and the ledger and balance are unchanged
    assert refused == {'ok': False, 'field': 'points', 'error': 'debit of 80 exceeds the 50 points available'}
    assert LedgerStore().balance('E1').available == 50
    assert len(LedgerStore().entries_for('E1')) == 1


@pytest.mark.parametrize(
    ('fields', 'field'),
    [({'employee_id': 'NOBODY'}, 'employee_id'), ({'points': 0}, 'points'), ({'reason': ''}, 'reason'), ({'points': 'many'}, 'points')],
)
def test_bad_requests_name_the_field(fields: dict[str, Any], field: str) -> None:
    # When a request is incomplete or wrong
    result = adjust(**fields)

    # Then nothing is written and the answer names the field
    assert result['ok'] is False and result['field'] == field
    assert LedgerStore().entries_for('E1') == []
