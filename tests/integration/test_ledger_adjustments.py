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


# --- maker-checker ------------------------------------------------------------------------------------------------
MARIA = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/M1'
OMAR = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/M2'


def admin_call(route: str, body: dict[str, Any], principal: str | None, request_id: str = 'req-1') -> dict[str, Any]:
    """The IAM-authorized HTTP API route as API Gateway delivers it (payload 2.0, authorizer.iam from the SigV4 caller)."""
    import json

    from functions.ledger_adjust.app import lambda_handler
    from tests.support.apigw import http_api_event

    method, path = route.split(' ', 1)
    event = http_api_event(path, json.dumps(body).encode(), {'Content-Type': 'application/json'})
    decision = path.endswith(('/approve', '/reject'))
    adjustment_id = path.rsplit('/', 2)[-2]
    event['routeKey'] = event['requestContext']['routeKey'] = route.replace(adjustment_id, '{adjustment_id}') if decision else route
    event['pathParameters'] = {'adjustment_id': adjustment_id} if decision else {}
    if principal:
        event['requestContext']['authorizer'] = {'iam': {'accessKey': 'ASIA0EXAMPLE', 'accountId': '123456789012', 'callerId': 'AROA:x',
                                                         'principalOrgId': None, 'userArn': principal, 'userId': 'AROA:x'}}  # fmt: skip
    context = lambda_context()
    context.aws_request_id = request_id
    response = lambda_handler(event, context)
    return json.loads(response['body']) | {'status_code': response['statusCode']}


def big(**fields: Any) -> dict[str, Any]:
    return {'adjustment_id': 'adj-big', 'employee_id': 'E1', 'points': 800, 'reason': 'Quarterly recount: missed job cards'} | fields


def test_a_large_adjustment_is_only_requested_until_a_second_person_approves_it() -> None:
    # Given Maria requests 800 points (above the 500-point approval amount) through the IAM route
    requested = admin_call('POST /admin/adjustments', big(), MARIA)

    # Then nothing reaches the ledger yet: the request waits, naming Maria as its maker
    assert requested['ok'] and requested['status'] == 'requested' and requested['maker'] == MARIA
    assert LedgerStore().entries_for('E1') == [] and LedgerStore().balance('E1').available == 0

    # When Omar approves it
    approved = admin_call('POST /admin/adjustments/adj-big/approve', {}, OMAR, request_id='req-2')

    # Then one entry is written, carrying maker and approver as authenticated, and the balance shows it
    assert approved['ok'] and approved['status'] == 'approved' and approved['available'] == 800
    [entry] = LedgerStore().entries_for('E1')
    assert entry.amount == 800 and entry.kind is EntryKind.ADJUSTMENT
    assert entry.reason.inputs['maker'] == MARIA and entry.reason.inputs['maker_via'] == 'iam'
    assert entry.reason.inputs['approver'] == OMAR and entry.reason.inputs['approver_via'] == 'iam'


def test_the_maker_cannot_approve_their_own_adjustment() -> None:
    # Given Maria's requested adjustment
    admin_call('POST /admin/adjustments', big(), MARIA)

    # When Maria approves it herself
    refused = admin_call('POST /admin/adjustments/adj-big/approve', {}, MARIA)

    # Then it is refused with the reason, and nothing is written
    assert refused['status_code'] == 403 and refused['refused'] == 'own_request' and 'cannot approve' in refused['error']
    assert LedgerStore().entries_for('E1') == []
    from shared.ledger.approval_store import ApprovalStore

    stored = ApprovalStore().get('adj-big')
    assert stored is not None and stored.status.value == 'requested'


def test_approving_twice_writes_the_entry_once() -> None:
    # Given an approved request
    admin_call('POST /admin/adjustments', big(), MARIA)
    admin_call('POST /admin/adjustments/adj-big/approve', {}, OMAR)

    # When it is approved again (a double click, another admin)
    again = admin_call('POST /admin/adjustments/adj-big/approve', {}, 'arn:aws:iam::123456789012:user/ines')

    # Then the second is refused as already decided, and the ledger holds one entry
    assert again['status_code'] == 409 and again['refused'] == 'decided' and OMAR in again['error']
    assert [entry.amount for entry in LedgerStore().entries_for('E1')] == [800]
    assert LedgerStore().balance('E1').available == 800


def test_unknown_request_and_rejection_with_reason() -> None:
    # When someone approves a request that does not exist
    unknown = admin_call('POST /admin/adjustments/nope-1/approve', {}, OMAR)
    # Then it is refused as unknown
    assert unknown['status_code'] == 404 and unknown['refused'] == 'unknown'

    # Given a request, when Omar rejects it without a reason, then the rejection is refused naming the field
    admin_call('POST /admin/adjustments', big(), MARIA)
    assert admin_call('POST /admin/adjustments/adj-big/reject', {}, OMAR)['status_code'] == 400

    # When he rejects it with a reason
    rejected = admin_call('POST /admin/adjustments/adj-big/reject', {'reason': 'Already paid in April'}, OMAR)

    # Then it is recorded as rejected with the reason; it can no longer be approved; the ledger is untouched
    assert rejected['ok'] and rejected['status'] == 'rejected'
    from shared.ledger.approval_store import ApprovalStore

    stored = ApprovalStore().get('adj-big')
    assert stored is not None and stored.decision is not None
    assert stored.decision.reason == 'Already paid in April' and stored.decision.by.principal == OMAR
    assert admin_call('POST /admin/adjustments/adj-big/approve', {}, 'arn:aws:iam::123456789012:user/ines')['refused'] == 'decided'
    assert LedgerStore().entries_for('E1') == []


def test_a_console_request_records_the_cloudtrail_reference_and_cannot_be_approved_from_the_console() -> None:
    # Given a large request made from the Lambda console (no identity in the event; requested_by is free text)
    from functions.ledger_adjust.app import lambda_handler

    context = lambda_context()
    context.aws_request_id = '8f5cc2a4-1c52-4d1b-9a55-5b4e1f0e7a10'
    made = lambda_handler(big(requested_by='omar@example.com'), context)
    assert made['ok'] and made['status'] == 'requested'
    from shared.ledger.approval_store import ApprovalStore

    stored = ApprovalStore().get('adj-big')
    assert stored is not None and stored.maker.via == 'console' and stored.maker.principal is None
    assert stored.maker.reference == '8f5cc2a4-1c52-4d1b-9a55-5b4e1f0e7a10' and stored.maker.claimed == 'omar@example.com'

    # When someone approves it from the console too
    console_approval = lambda_handler({'action': 'approve', 'adjustment_id': 'adj-big'}, lambda_context())
    # Then it is refused: an approval needs an authenticated identity
    assert console_approval['refused'] == 'unauthenticated' and LedgerStore().entries_for('E1') == []

    # When Maria approves it through the IAM route
    approved = admin_call('POST /admin/adjustments/adj-big/approve', {}, MARIA)

    # Then the entry records the console maker's CloudTrail reference and the claimed label, and Maria as approver
    [entry] = LedgerStore().entries_for('E1')
    assert approved['ok'] and entry.reason.inputs['maker_via'] == 'console'
    assert entry.reason.inputs['maker_reference'] == '8f5cc2a4-1c52-4d1b-9a55-5b4e1f0e7a10'
    assert entry.reason.inputs['maker_claimed'] == 'omar@example.com' and entry.reason.inputs['approver'] == MARIA


def test_small_adjustments_apply_at_once_with_the_claimed_label_kept_apart_from_the_identity() -> None:
    # When Maria credits 500 points (not above the approval amount) through the IAM route, claiming to be someone else
    result = admin_call('POST /admin/adjustments', big(points=500, requested_by='ceo@example.com'), MARIA)

    # Then it is applied at once; the identity is Maria's ARN and the payload's name only a claimed label
    assert result['ok'] and result['status'] == 'applied' and result['available'] == 500
    [entry] = LedgerStore().entries_for('E1')
    assert entry.reason.inputs['maker'] == MARIA and entry.reason.inputs['requested_by'] == 'ceo@example.com'
