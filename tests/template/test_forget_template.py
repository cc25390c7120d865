"""Infrastructure tests for the ForgetFunction in template.yaml: its DynamoDB grants are exactly the calls one forget
makes (recorded on moto over a person with a profile, mappings, a contact record, alert items and quarantined
payloads), it never scans and never touches the ledger or the balances, and its console test event is accepted.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3

from infrastructure.local.template_resources import TABLE_ENV, template_document
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES: dict[str, Any] = template_document()['Resources']
FUNCTION = 'ForgetFunction'


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _label(resource: Any) -> str:
    """A grant's resource as `Table` or `Table/index/name`."""
    if isinstance(resource, dict) and 'Fn::GetAtt' in resource:
        return str(resource['Fn::GetAtt'][0])
    if isinstance(resource, dict) and 'Fn::Sub' in resource:
        return re.sub(r'\$\{(\w+)\.Arn\}', r'\1', str(resource['Fn::Sub']))
    return str(resource)


def grants(function: dict[str, Any]) -> set[tuple[str, str]]:
    statements = [s for p in function['Properties'].get('Policies', []) if isinstance(p, dict) for s in p.get('Statement', [])]
    return {(str(action), _label(resource)) for s in statements if s.get('Effect', 'Allow') == 'Allow'
            for action in _as_list(s['Action']) for resource in _as_list(s['Resource'])}  # fmt: skip


@lru_cache(maxsize=1)
def recorded_dynamodb_calls() -> frozenset[tuple[str, str]]:
    """(IAM action, table or index) of every DynamoDB request of one forget of a leaver with data everywhere."""
    from functions.forget.app import lambda_handler
    from shared.alerts.store import AlertStore
    from shared.alerts.sync import Breach
    from shared.directory.contacts import ContactBook
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.quarantine.store import QuarantineStore
    from tests.support.apigw import lambda_context
    from tests.support.factories import DIRECTORY_CSV

    now = datetime.now(UTC)
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), now)
        ContactBook().record_opt_out('E1', 'sms', '+15558675310', 'STOP', now)
        AlertStore().put_breach(Breach(employee_id='E1', ticket_key='zendesk#1', ref='#1', metric='first_response', at=now))
        QuarantineStore().keep_rejected(source='zendesk', body=b'{"assignee_email": "agent1@example.com"}', headers={}, query={},
                                        reason='unknown status', field='ticket.status', status_code=400, authenticated=True,
                                        correlation_id=None, now=now)  # fmt: skip
        spot_award_to('E1', now)
        recognition = os.environ['RECOGNITION_TABLE']  # a nudge about E1 (shared/recognition/nudge_store.py)
        boto3.client('dynamodb').put_item(TableName=recognition, Item={'pk': {'S': 'NUDGE#E1'}, 'sk': {'S': 'pitstop#level#1'}})
        from shared.recognition.store import RecognitionStore
        from tests.support.recognition import seed_recognition, technician

        seed_recognition(RecognitionStore(), technician('E1'), technician('E2'), now)  # E1's thanks: its message is erased
        _completed_redemption('E1', now)
        from shared.api.store import ApiStore

        ApiStore().put_pin('E1', 'ab' * 32, 'cd' * 16, 16384, 8, 1, now)  # a kiosk PIN hash: deleted
        directory.import_rows(parse_export('\n'.join(row for row in DIRECTORY_CSV.splitlines() if not row.startswith('E1,')), 'csv'), now)
        logical = {os.environ[env]: logical_id for logical_id, (env, _) in TABLE_ENV.items()}
        with record_requests() as sent:
            out = lambda_handler({'employee_id': 'E1', 'quarantine_days': 2}, lambda_context())
        assert out['ok'] and out['changed'] and out['counts']['quarantine_items'] == 1
        assert out['counts']['recognition_spot_awards'] == 1 and out['counts']['recognition_items'] == 1
        assert out['counts']['rewards_redemptions'] == 1 and out['counts']['api_kiosk_pin'] == 1
        calls = set()
        for service, operation, params, _ in sent:
            if service != 'dynamodb':
                continue
            for table in [params['TableName']] if 'TableName' in params else params['RequestItems']:
                index = f'/index/{params["IndexName"]}' if 'IndexName' in params else ''
                calls.add((f'dynamodb:{operation}', logical[table] + index))
        return frozenset(calls)


def spot_award_to(employee_id: str, now: datetime) -> None:
    """A spot award from the person's manager (shared/recognition/spot_service.py), so the forget has one to erase."""
    from shared.directory.store import DirectoryStore
    from shared.ledger.approvals import Actor
    from shared.programs.document import parse_program
    from shared.programs.loader import ProgramBook
    from shared.recognition.spot_service import SpotAwards, SpotRequest
    from shared.recognition.spot_store import SpotStore

    document = json.loads((REPO_ROOT / 'events' / 'program_workshop.json').read_text()) | {'scope': {}}
    book = ProgramBook.of(parse_program(document))
    awards = SpotAwards(SpotStore(), DirectoryStore(), programs=lambda pid, at: book.latest(pid))
    awards.award(SpotRequest(program_id='pitstop', manager_id='M1', employee_id=employee_id, points=10, reason_id='hazard_reporting',
                             message='Reported the loose cable', idempotency_key='forget-test'), Actor(via='console', reference='r'), now)


def _completed_redemption(employee_id: str, now: datetime) -> None:
    """A completed voucher redemption with its code (what a forget erases), stored as the fulfilment stores it."""
    from shared.wallet.catalogue import ItemKind
    from shared.wallet.providers.base import Fulfilment
    from shared.wallet.redeem import Redemption, RedemptionStatus
    from shared.wallet.store import RewardsStore

    done = Redemption(redemption_id='r1', program_id='pitstop', program_ref='pitstop@1', employee_id=employee_id, item_id='amazon-500',
                      item_name='Amazon', kind=ItemKind.VOUCHER, provider='fake', quantity=1, unit_price=500, points=500,
                      catalogue_version=1, location_id='L1', month=f'{now:%Y-%m}', status=RedemptionStatus.COMPLETED, requested_at=now,
                      entry_id='D1', fulfilment=Fulfilment(reference='FAKE-1', code='ABCD-1234'))  # fmt: skip
    store = RewardsStore()
    store.client.put_item(**store._rdm_put(done, new=True)['Put'])


def test_dynamodb_grants_are_exactly_the_calls_a_forget_makes() -> None:
    # Given: the DynamoDB requests of one forget (recorded on moto)
    need = recorded_dynamodb_calls()
    granted = {(action, target) for action, target in grants(RESOURCES[FUNCTION]) if action.startswith('dynamodb:')}
    # Then: every call is granted and every grant is used
    assert sorted(need - granted) == [] and sorted(granted - need) == []
    # And: no Scan anywhere, nothing on the ledger or the balances; the quarantine is read through its day index
    assert not any(action == 'dynamodb:Scan' for action, _ in need)
    assert not any(target.startswith(('LedgerTable', 'BalancesTable')) for _, target in need)
    assert ('dynamodb:Query', 'QuarantineTable/index/by_day') in need


def test_the_login_grants_are_the_lookup_and_the_delete_on_the_people_pool_only() -> None:
    # Given: the function's grants outside DynamoDB and its environment
    others = {grant for grant in grants(RESOURCES[FUNCTION]) if not grant[0].startswith(('dynamodb:', 'ssm:', 'kms:'))}
    env = RESOURCES[FUNCTION]['Properties']['Environment']['Variables']
    # Then: the person's login is looked up (dry run) or deleted in the people user pool, nothing else of Cognito
    assert others == {('cognito-idp:AdminGetUser', 'PeopleUserPool'), ('cognito-idp:AdminDeleteUser', 'PeopleUserPool')}
    assert env['PEOPLE_USER_POOL_ID'] == {'Ref': 'PeopleUserPool'}


def test_the_console_event_is_a_dry_run_the_handler_accepts() -> None:
    # Given: the console test event
    event = json.loads((REPO_ROOT / 'events' / 'forget.json').read_text())
    # When: validated as the handler does
    from shared.privacy.forget import ForgetRequest

    request = ForgetRequest.model_validate(event)
    # Then: it asks for a dry run (the safe first step)
    assert request.dry_run is True and request.employee_id
