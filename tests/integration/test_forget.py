"""Forgetting a person who has left (functions/forget): their contact data and free text are erased from the directory,
the contact record, the alerts table and the quarantine; their ledger stays, with its balance and statement, under the
employee id and a pseudonym; a second run changes nothing; an unknown or still active person is refused, nothing
written. Real handler, moto tables built from template.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.alerts.store import AlertStore
from shared.alerts.sync import Breach
from shared.config import get_settings
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore, agent_pk
from shared.events import Status
from shared.leagues.roster import Roster
from shared.ledger.store import LedgerStore
from shared.privacy.forget import pseudonym
from shared.quarantine.store import QuarantineStore
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.apigw import lambda_context
from tests.support.factories import DIRECTORY_CSV, ticket_event
from tests.support.local_aws import LocalAws, local_aws

NOW = datetime.now(UTC)
E1_PHONE, E1_EMAIL, E1_NAME = '+15558675310', 'agent1@example.com', 'Ana Agent'


def without(employee_id: str) -> str:
    """The HR export after the person left (a leaver drops out of the export)."""
    return '\n'.join(line for line in DIRECTORY_CSV.splitlines() if not line.startswith(f'{employee_id},')) + '\n'


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as local:
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW - timedelta(days=3))
        # E1 earned points: two tickets solved, released
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
        for ticket in ('1001', '1002'):
            processor.apply(ticket_event(ticket, 0, status=Status.SOLVED, minutes=30), NOW - timedelta(days=2))
            processor.release(f'zendesk#{ticket}', NOW)
        # E1 opted out of WhatsApp; has a worklist item and a breach in the alerts table
        ContactBook().record_opt_out('E1', 'whatsapp', E1_PHONE, 'STOP', NOW)
        alerts = AlertStore()
        alerts.client.put_item(TableName=alerts.table, Item={'pk': {'S': 'WORK#E1'}, 'sk': {'S': 'zendesk#1005'},
                                                             'kind': {'S': 'ticket'}, 'ref': {'S': '#1005'}})  # fmt: skip
        alerts.put_breach(Breach(employee_id='E1', ticket_key='zendesk#1005', ref='#1005', metric='first_response', at=NOW))
        alerts.put_breach(Breach(employee_id='E2', ticket_key='zendesk#1006', ref='#1006', metric='first_response', at=NOW))
        # The quarantine: a rejected body naming E1's e-mail (today), an event with E1's phone (5 days ago), and
        # someone else's rejected body
        quarantine = QuarantineStore()
        body = json.dumps({'ticket': {'id': 7, 'status': 'Bogus', 'assignee_email': E1_EMAIL, 'requester_name': 'Carl Customer'}})
        local.forget_ids = {  # type: ignore[attr-defined]
            'mentions_email': reject(quarantine, body, NOW),
            'mentions_phone': quarantine.keep_failed(source='queue', event_json=json.dumps({'note': 'call +1 (555) 867-5310'}),
                                                     reason='ValueError: bad', correlation_id='m-1', now=NOW - timedelta(days=5)),
            'other': reject(quarantine, json.dumps({'ticket': {'assignee_email': 'agent2@example.com'}}), NOW),
        }
        # a kiosk PIN of E1 (its hash) and a lockout after wrong guesses
        from shared.api.store import ApiStore

        ApiStore().put_pin('E1', 'ab' * 32, 'cd' * 16, 16384, 8, 1, NOW)
        ApiStore().record_pin_failure('E1', 3, 0, int(NOW.timestamp()) + 900)
        # E1 left: the next HR export no longer lists them
        directory.import_rows(parse_export(without('E1'), 'csv'), NOW)
        yield local


def reject(quarantine: QuarantineStore, body: str, now: datetime) -> str:
    kept = quarantine.keep_rejected(source='zendesk', body=body.encode(), headers={}, query={'note': 'x'}, reason='unknown status',
                                    field='ticket.status', status_code=400, authenticated=True, correlation_id=None, now=now)
    assert kept is not None  # authenticated: the whole payload is kept
    return kept


def forget(**event: Any) -> dict[str, Any]:
    from functions.forget.app import lambda_handler

    return dict(lambda_handler(event, lambda_context()))


def directory_items() -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the directory table (the test reads it whole; the function never does)."""
    client = boto3.client('dynamodb')
    items = client.scan(TableName=get_settings().DIRECTORY_TABLE)['Items']
    return {(item['pk']['S'], item['sk']['S']): item for item in items}


def alert_items() -> list[dict[str, Any]]:
    return list(boto3.client('dynamodb').scan(TableName=get_settings().ALERTS_TABLE)['Items'])


def quarantine_state() -> dict[str, Any]:
    store = QuarantineStore()
    return {quarantine_id: store.get(quarantine_id) for quarantine_id in store.texts(store.day_ids(f'{NOW:%Y-%m-%d}'))}


def test_forget_erases_every_place_and_keeps_the_ledger_under_the_pseudonym(aws: LocalAws) -> None:
    ids = aws.forget_ids  # type: ignore[attr-defined]
    ledger = LedgerStore()
    balance_before, entries_before = ledger.balance('E1'), ledger.entries_for('E1')
    assert balance_before.available > 0 and entries_before

    # When an admin forgets E1
    answer = forget(employee_id='E1', requested_by='hr-5521')

    # Then the answer counts what was erased in each table
    alias = pseudonym('E1')
    assert answer['ok'] is True and answer['pseudonym'] == alias and answer['changed'] is True
    assert answer['profile_fields'] == ['agent_ids', 'email', 'forgotten_at', 'name', 'phone', 'whatsapp_opt_in']
    assert answer['counts'] == {'directory_profile_fields': 6, 'directory_mappings': 2, 'directory_contact_record': 1,
                                'alerts_worklist': 1, 'alerts_breaches': 1, 'quarantine_items': 2,
                                'recognition_spot_awards': 0, 'recognition_nudges': 0, 'recognition_items': 0,
                                'rewards_redemptions': 0, 'api_kiosk_pin': 2, 'cognito_login': 0}  # fmt: skip
    assert answer['quarantine_ids'] == sorted([ids['mentions_email'], ids['mentions_phone']])
    # And the directory holds no name, phone, e-mail or agent id of E1, nor their mappings or contact record
    items = directory_items()
    profile = items[('EMP#E1', 'PROFILE')]
    assert profile['name']['S'] == alias and profile['active']['BOOL'] is False and 'forgotten_at' in profile
    assert not {'phone', 'email', 'agent_ids', 'whatsapp_opt_in', 'alert_channel'} & set(profile)
    assert profile['role']['S'] == 'agent' and profile['location_id']['S'] == 'US-NYC' and profile['manager_id']['S'] == 'M1'
    assert ('EMP#E1', 'CONTACT') not in items
    assert (agent_pk('zendesk', E1_EMAIL), 'MAP') not in items and (agent_pk('freshdesk', E1_EMAIL), 'MAP') not in items
    everything = json.dumps(list(items.values()))
    assert E1_NAME not in everything and E1_EMAIL not in everything and E1_PHONE not in everything
    assert ContactBook().employees_with_phone(E1_PHONE) == []
    # And no kiosk PIN hash or lockout of E1 is left
    from shared.api.store import ApiStore

    assert ApiStore().pin_record('E1') is None
    # And the other people are untouched
    assert items[('EMP#E2', 'PROFILE')]['email']['S'] == 'agent2@example.com'
    # And the alerts table has no worklist or breach of E1 left, E2's breach stays
    keys = {item['pk']['S'] for item in alert_items()}
    assert 'WORK#E1' not in keys and 'BREACH#E1' not in keys and 'BREACH#E2' in keys
    # And the quarantined payloads that named E1 keep only their metadata; the other one is whole
    quarantine = QuarantineStore()
    by_email, by_phone, other = (quarantine.get(ids[name]) for name in ('mentions_email', 'mentions_phone', 'other'))
    assert by_email is not None and by_email.body is None and by_email.query == {} and by_email.field == 'ticket.status'
    assert by_phone is not None and by_phone.event is None
    assert other is not None and other.body is not None and b'agent2@example.com' in other.body
    # And an audit record says who, when and how many, with no personal data
    audits = DirectoryStore().erasures('E1')
    assert len(audits) == 1 and audits[0].requested_by == 'hr-5521' and audits[0].actor
    assert json.loads(audits[0].counts) == answer['counts'] and E1_EMAIL not in audits[0].quarantine_ids
    # And the ledger is unchanged: same entries and balance; the statement and the league roster show the pseudonym
    assert ledger.entries_for('E1') == entries_before and ledger.balance('E1') == balance_before
    from functions.statement.app import lambda_handler as statement

    month = f'{NOW - timedelta(days=2):%Y-%m}'
    out = statement({'employee_id': 'E1', 'month': month}, lambda_context())
    assert out['ok'] is True and out['statement']['employee_name'] == alias
    assert out['statement']['reconciliation']['reconciles'] is True
    roster = {person.employee_id: person for person in Roster().people()}
    assert roster['E1'].display_name == alias and roster['E1'].email is None


def test_a_second_run_changes_nothing_and_the_hr_import_does_not_restore_the_person(aws: LocalAws) -> None:
    # Given E1 forgotten once
    first = forget(employee_id='E1')
    assert first['changed'] is True
    before = directory_items(), alert_items(), quarantine_state()

    # When forgotten again, and an HR export lists them again with their name, phone, e-mail and agent ids
    second = forget(employee_id='E1')
    report = DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW + timedelta(minutes=1))

    # Then the second run found nothing to erase and wrote nothing (not even an audit record)
    assert second['ok'] is True and second['changed'] is False and set(second['counts'].values()) == {0}
    assert len(DirectoryStore().erasures('E1')) == 1
    # And the import skipped the forgotten person: the directory is as the first run left it
    assert report.forgotten_skipped == 1
    after = directory_items(), alert_items(), quarantine_state()
    assert after[1:] == before[1:]
    assert after[0][('EMP#E1', 'PROFILE')] == before[0][('EMP#E1', 'PROFILE')]
    assert (agent_pk('zendesk', E1_EMAIL), 'MAP') not in after[0]


def test_a_dry_run_lists_what_would_be_erased_and_writes_nothing(aws: LocalAws) -> None:
    # Given the tables before
    before = directory_items(), alert_items(), quarantine_state()

    # When a dry run is asked for
    answer = forget(employee_id='E1', dry_run=True)

    # Then it lists the same counts a real run erases, and nothing changed
    assert answer['ok'] is True and answer['dry_run'] is True and answer['counts']['quarantine_items'] == 2
    assert answer['counts']['directory_mappings'] == 2 and answer['counts']['directory_contact_record'] == 1
    assert (directory_items(), alert_items(), quarantine_state()) == before
    assert forget(employee_id='E1')['counts'] == answer['counts']


@pytest.mark.parametrize(
    ('event', 'field', 'code'),
    [
        ({'employee_id': 'E404'}, 'employee_id', 'unknown_employee'),
        ({'employee_id': 'E2'}, 'employee_id', 'still_active'),  # still in the HR export
        ({'employee_id': ''}, 'employee_id', None),
        ({'employee_id': 'E1', 'quarantine_days': 0}, 'quarantine_days', None),
        ({'employee_id': 'E1', 'erase_everything': True}, 'erase_everything', None),
    ],
)
def test_a_bad_or_refused_request_names_the_field_and_writes_nothing(aws: LocalAws, event: dict[str, Any], field: str,
                                                                     code: str | None) -> None:  # fmt: skip
    # Given the tables before
    before = directory_items(), alert_items(), quarantine_state()

    # When the request is made
    answer = forget(**event)

    # Then it is refused naming the field (and the refusal's code), and nothing was written
    assert answer['ok'] is False and answer['field'] == field and answer['error']
    assert answer.get('refused') == code
    assert (directory_items(), alert_items(), quarantine_state()) == before
