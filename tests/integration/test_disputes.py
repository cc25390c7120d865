"""Disputes end to end: an employee disputes an entry by WhatsApp/SMS (`DISPUTE <entry code> <text>`, in en/es/hi),
a manager in scope accepts it (an adjustment through the adjustments path) or rejects it with a reason, and the outcome
goes back to the employee through the alert sender (fake Twilio). Refusals write nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from functions.twilio_webhooks import app as twilio_app
from infrastructure.local.fake_twilio import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN, FakeTwilio, local_twilio_client
from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.quiet_hours import QuietHours
from shared.alerts.settings import AlertSettings
from shared.alerts.store import AlertStore
from shared.alerts.sync import alert_id
from shared.config import get_settings
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.disputes.model import DisputeStatus, dispute_id_for, entry_code, entry_codes
from shared.disputes.store import DisputeStore
from shared.ledger.approval_store import ApprovalStore
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import LedgerStore
from shared.notify import EmailContent
from shared.notify.conversations import twiml
from shared.notify.dispatch import AlertDispatcher, Outcome
from shared.notify.messaging import MessagingSettings, TwilioMessenger
from shared.sla.config import ServiceConfig
from tests.integration.test_messaging import SimulatedTime
from tests.integration.test_twilio_conversations import inbound, message_of
from tests.support.apigw import http_api_event, lambda_context
from tests.support.local_aws import local_aws

TWILIO_PARAMETER = '/pitcrew/test/twilio'
PRIYA, LUCIA, RAVI, MARIA = '+919812345678', '+34611222333', '+919812345600', '+15558675300'
NOW = datetime.now(UTC).replace(microsecond=0)
DIRECTORY = f"""employee_id,name,role,location_id,manager_id,phone,whatsapp_opt_in,email,time_zone,language,alert_channel
E1,Priya Sharma,agent,L1,M1,{PRIYA},no,,UTC,en,
E7,Lucía Fernández,agent,L2,M1,{LUCIA},no,,UTC,es,
E9,Ravi Kumar,agent,L1,M2,{RAVI},no,,UTC,hi,
M1,Maria Manager,manager,L1,D1,{MARIA},no,,UTC,en,sms
M2,Omar Manager,manager,L1,D1,+15558675301,no,,UTC,en,sms
D1,Dana Director,director,L1,,+15558675302,no,,UTC,en,sms
"""
MARIA_ARN = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/M1'
OMAR_ARN = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/M2'
DANA_ARN = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/D1'


@dataclass
class Env:
    fake: FakeTwilio
    ledger: LedgerStore
    disputes: DisputeStore
    alerts: AlertStore


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv('TWILIO_PARAMETER', TWILIO_PARAMETER)
    monkeypatch.setenv('PUBLIC_API_BASE_URL', 'https://hooks.example.com')
    with local_aws(), FakeTwilio(port=0) as fake:
        account = {'account_sid': LOCAL_ACCOUNT_SID, 'auth_token': LOCAL_AUTH_TOKEN, 'whatsapp_from': 'whatsapp:+14155238886',
                   'sms_from': '+15005550006'}  # fmt: skip
        boto3.client('ssm', region_name='us-east-1').put_parameter(Name=TWILIO_PARAMETER, Value=json.dumps(account), Type='SecureString')
        get_settings.cache_clear()
        parameters.clear_caches()
        twilio_app.conversations.cache_clear()
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), NOW - timedelta(days=30))
        yield Env(fake, LedgerStore(), DisputeStore(), AlertStore())
        twilio_app.conversations.cache_clear()


def entry(env: Env, employee_id: str, amount: int, name: str, kind: EntryKind = EntryKind.AWARD) -> LedgerEntry:
    """A ledger entry as the processor or the hold release writes it."""
    import hashlib

    written = LedgerEntry(entry_id=('E' if kind is EntryKind.AWARD else 'R') + hashlib.sha256(name.encode()).hexdigest()[:32],
                          employee_id=employee_id, amount=amount, kind=kind, status=EntryStatus.AVAILABLE,
                          reason=EntryReason(ticket_key='zendesk#1001', source_event_id='ev-1', basis_event_id='ev-1',
                                             rule_id='csat_positive', rule_version=1, program_id='support@1'),
                          occurred_at=NOW - timedelta(days=2), recorded_at=NOW - timedelta(days=2))  # fmt: skip
    assert env.ledger.append_adjustment(written)
    return written


def decide(body: dict[str, Any], principal: str | None, dispute_id: str) -> dict[str, Any]:
    """POST /admin/disputes/{dispute_id}/decide as API Gateway delivers it with the IAM authorizer."""
    from functions.dispute_decide.app import lambda_handler

    event = http_api_event(f'/admin/disputes/{dispute_id}/decide', json.dumps(body).encode(), {'Content-Type': 'application/json'})
    event['routeKey'] = event['requestContext']['routeKey'] = 'POST /admin/disputes/{dispute_id}/decide'
    event['pathParameters'] = {'dispute_id': dispute_id}
    if principal:
        event['requestContext']['authorizer'] = {'iam': {'accountId': '123456789012', 'userArn': principal, 'userId': 'AROA:x'}}
    response = lambda_handler(event, lambda_context())
    return json.loads(response['body']) | {'status_code': response['statusCode']}


def deliver(env: Env, kind: AlertKind, dispute_id: str, role: Recipient = Recipient.ASSIGNEE) -> dict[str, Any]:
    """The alert sender's delivery of the dispute message (no WhatsApp template configured: SMS), through the fake Twilio."""
    clock = SimulatedTime()
    messenger = TwilioMessenger(local_twilio_client(env.fake), MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006'),
                                sleep=clock.sleep, clock=clock.clock, jitter=lambda: 1.0)  # fmt: skip

    def no_email(to: str, content: EmailContent) -> str | None:
        raise AssertionError('no e-mail expected')

    config = ServiceConfig(alerts=AlertSettings(quiet_hours=QuietHours(start='00:00', end='00:00')))
    dispatcher = AlertDispatcher(alerts=env.alerts, contacts=ContactBook(), messenger=lambda: messenger, email=no_email,
                                 config=lambda: config, wall=lambda: 0.0)  # fmt: skip
    result = dispatcher.deliver(
        alert_id(f'dispute#{dispute_id}|{kind.value}', role), datetime.now(UTC) + timedelta(seconds=5), 0.0, claim_id='c-1'
    )
    assert result.outcome is Outcome.SENT, result
    return env.fake.messages[-1]


def test_an_employee_disputes_an_entry_by_whatsapp_and_the_manager_is_told(env: Env) -> None:
    # Given a reversal of 10 points on Priya's ledger
    entry(env, 'E1', 30, 'award-1')
    reversal = entry(env, 'E1', -10, 'reversal-1', EntryKind.REVERSAL)
    code = entry_code(reversal.entry_id)

    # When she sends DISPUTE <code> <text> (the code typed in lower case)
    answer = inbound(f'whatsapp:{PRIYA}', f'dispute {code.lower()} the customer reopened by mistake')

    # Then the reply names the dispute, and it is stored open with her comment and history
    dispute_id = dispute_id_for(reversal.entry_id)
    assert message_of(answer) == twiml(f'Dispute {dispute_id} recorded for entry {code} (-10 points). Your manager decides; '
                                       'the answer comes here.')  # fmt: skip
    stored = env.disputes.get(dispute_id)
    assert stored is not None and stored.status is DisputeStatus.OPEN and stored.employee_id == 'E1'
    assert stored.comment == 'the customer reopened by mistake' and [h.event for h in stored.history] == ['filed']

    # And her manager Maria gets the dispute by SMS through the alert sender
    sent = deliver(env, AlertKind.DISPUTE_FILED, dispute_id, Recipient.MANAGER)
    assert sent['to'] == MARIA and dispute_id in sent['body'] and code in sent['body'] and 'Priya Sharma' in sent['body']


def test_refusals_write_nothing_and_say_why_in_the_persons_language(env: Env) -> None:
    # Given an entry of Priya's and one of Lucía's
    priya = entry(env, 'E1', 30, 'award-1')
    lucia = entry(env, 'E7', 20, 'award-2')

    # When Lucía disputes Priya's entry (its code), in Spanish
    refused = inbound(f'whatsapp:{LUCIA}', f'DISPUTA {entry_code(priya.entry_id)} no es justo')
    # Then she is told no such entry is hers (never whose it is), and nothing is written
    assert message_of(refused) == twiml(
        f'Ningún movimiento {entry_code(priya.entry_id)} entre sus puntos. Revise el código en su extracto.'
    )
    assert env.disputes.get(dispute_id_for(priya.entry_id)) is None

    # When she disputes an unknown code, or her own entry without saying what is wrong
    assert 'Ningún movimiento EFFFFFFF' in message_of(inbound(f'whatsapp:{LUCIA}', 'RECLAMO EFFFFFFF falta'))
    assert 'Indique qué está mal' in message_of(inbound(f'whatsapp:{LUCIA}', f'DISPUTA {entry_code(lucia.entry_id)}'))
    assert env.disputes.get(dispute_id_for(lucia.entry_id)) is None

    # When she disputes her own entry twice
    first = message_of(inbound(f'whatsapp:{LUCIA}', f'DISPUTA {entry_code(lucia.entry_id)} faltan puntos del NPS'))
    second = message_of(inbound(f'whatsapp:{LUCIA}', f'DISPUTA {entry_code(lucia.entry_id)} otra vez'))
    # Then the first is recorded and the second refused, the stored comment being the first one
    dispute_id = dispute_id_for(lucia.entry_id)
    assert dispute_id in first
    assert second == twiml(f'El movimiento {entry_code(lucia.entry_id)} ya está reclamado ({dispute_id}, abierta).')
    stored = env.disputes.get(dispute_id)
    assert stored is not None and stored.comment == 'faltan puntos del NPS' and len(stored.history) == 1


def test_hindi_keyword_files_a_dispute(env: Env) -> None:
    # Given Ravi's entry, when he writes शिकायत <code> <text>
    ravi = entry(env, 'E9', 15, 'award-3')
    answer = message_of(inbound(RAVI, f'शिकायत {entry_code(ravi.entry_id)} ग्राहक ने 5 दिए थे'))
    # Then the dispute is filed and he is answered in Hindi
    assert f'शिकायत {dispute_id_for(ravi.entry_id)} दर्ज हुई' in answer
    assert env.disputes.get(dispute_id_for(ravi.entry_id)) is not None


def test_the_manager_accepts_a_dispute_with_an_adjustment_and_the_employee_is_told(env: Env) -> None:
    # Given Priya disputes a 10-point reversal
    entry(env, 'E1', 30, 'award-1')
    reversal = entry(env, 'E1', -10, 'reversal-1', EntryKind.REVERSAL)
    inbound(f'whatsapp:{PRIYA}', f'DISPUTE {entry_code(reversal.entry_id)} the customer reopened by mistake')
    dispute_id = dispute_id_for(reversal.entry_id)

    # When Omar, who is not her manager, tries to accept it
    out_of_scope = decide({'decision': 'accept', 'reason': 'Reopened by mistake'}, OMAR_ARN, dispute_id)
    # Then he is refused and nothing changes
    assert out_of_scope['status_code'] == 403 and out_of_scope['refused'] == 'out_of_scope'
    assert env.ledger.balance('E1').available == 20

    # When Maria (her manager) accepts it through the IAM route
    accepted = decide({'decision': 'accept', 'reason': 'Reopened by mistake'}, MARIA_ARN, dispute_id)

    # Then an adjustment undoes the reversal, linked to the dispute and made by Maria; the dispute is accepted
    assert accepted['ok'] and accepted['points'] == 10 and accepted['adjustment_status'] == 'applied'
    assert env.ledger.balance('E1').available == 30
    adjustment = next(e for e in env.ledger.entries_for('E1') if e.kind is EntryKind.ADJUSTMENT)
    assert adjustment.amount == 10 and adjustment.reason.inputs['dispute_id'] == dispute_id
    assert adjustment.reason.inputs['disputed_entry'] == reversal.entry_id and adjustment.reason.inputs['maker'] == MARIA_ARN
    stored = env.disputes.get(dispute_id)
    assert stored is not None and stored.status is DisputeStatus.ACCEPTED and stored.adjustment_id == f'dispute-{dispute_id}'
    assert [h.event for h in stored.history] == ['filed', 'accepted'] and stored.decided_by is not None
    assert stored.decided_by.principal == MARIA_ARN

    # And Priya is messaged the outcome; a second decision is refused
    sent = deliver(env, AlertKind.DISPUTE_ACCEPTED, dispute_id)
    assert (
        sent['to'] == PRIYA
        and sent['body'] == f'Priya, your dispute of points entry {entry_code(reversal.entry_id)} was accepted: a correction of +10 points.'
    )
    assert decide({'decision': 'reject', 'reason': 'Changed my mind'}, DANA_ARN, dispute_id)['refused'] == 'decided'
    assert env.ledger.balance('E1').available == 30


def test_a_large_correction_from_a_dispute_waits_for_a_second_person(env: Env) -> None:
    # Given Lucía disputes an award, and her manager's manager Dana accepts it with 800 points (above the approval amount)
    award = entry(env, 'E7', 20, 'award-2')
    inbound(f'whatsapp:{LUCIA}', f'DISPUTA {entry_code(award.entry_id)} faltan las horas extra')
    accepted = decide(
        {'decision': 'accept', 'points': 800, 'reason': 'Overtime bonus never credited'}, DANA_ARN, dispute_id_for(award.entry_id)
    )

    # Then the dispute is accepted but the adjustment is only requested: nothing in the ledger yet
    assert accepted['ok'] and accepted['adjustment_status'] == 'requested'
    assert env.ledger.balance('E7').available == 20
    request = ApprovalStore().get(str(accepted['adjustment_id']))
    assert request is not None and request.maker.principal == DANA_ARN and request.links['dispute_id'] == dispute_id_for(award.entry_id)


def test_the_manager_rejects_with_a_reason_and_the_employee_is_told(env: Env) -> None:
    # Given Priya's dispute
    award = entry(env, 'E1', 30, 'award-1')
    inbound(f'whatsapp:{PRIYA}', f'DISPUTE {entry_code(award.entry_id)} should be 50')
    dispute_id = dispute_id_for(award.entry_id)

    # When Maria rejects it without a reason, the decision is refused naming the field
    assert decide({'decision': 'reject', 'reason': ''}, MARIA_ARN, dispute_id)['field'] == 'reason'

    # When she rejects it with a reason
    rejected = decide({'decision': 'reject', 'reason': 'The program pays 30 for CSAT 5'}, MARIA_ARN, dispute_id)

    # Then the dispute is rejected with the reason, no adjustment is written, and Priya gets the reason by SMS
    assert rejected['ok'] and rejected['status'] == 'rejected'
    stored = env.disputes.get(dispute_id)
    assert stored is not None and stored.status is DisputeStatus.REJECTED and stored.decision_reason == 'The program pays 30 for CSAT 5'
    assert [e.kind for e in env.ledger.entries_for('E1')] == [EntryKind.AWARD]
    sent = deliver(env, AlertKind.DISPUTE_REJECTED, dispute_id)
    assert sent['to'] == PRIYA and sent['body'].endswith('was rejected: The program pays 30 for CSAT 5')


def test_a_console_decision_records_its_cloudtrail_reference(env: Env) -> None:
    # Given Priya's dispute of a reversal
    entry(env, 'E1', 30, 'award-1')
    reversal = entry(env, 'E1', -10, 'reversal-1', EntryKind.REVERSAL)
    inbound(f'whatsapp:{PRIYA}', f'DISPUTE {entry_code(reversal.entry_id)} reopened by mistake')

    # When an admin decides it from the Lambda console (events/dispute_decide.json shape)
    from functions.dispute_decide.app import lambda_handler

    context = lambda_context()
    context.aws_request_id = '0b6c1f0e-5d1e-4c55-8f4a-4b1e2f3a9c77'
    result = lambda_handler({'dispute_id': dispute_id_for(reversal.entry_id), 'decision': 'accept', 'reason': 'Reopened by mistake',
                             'decided_by': 'maria@example.com'}, context)  # fmt: skip

    # Then the decision and its adjustment carry invoked_via=console and the request id an auditor looks up in CloudTrail
    assert result['ok']
    stored = env.disputes.get(dispute_id_for(reversal.entry_id))
    assert stored is not None and stored.decided_by is not None and stored.decided_by.via == 'console'
    assert stored.decided_by.reference == '0b6c1f0e-5d1e-4c55-8f4a-4b1e2f3a9c77' and stored.decided_by.claimed == 'maria@example.com'
    adjustment = next(e for e in env.ledger.entries_for('E1') if e.kind is EntryKind.ADJUSTMENT)
    assert adjustment.reason.inputs['maker_via'] == 'console'
    assert adjustment.reason.inputs['maker_reference'] == '0b6c1f0e-5d1e-4c55-8f4a-4b1e2f3a9c77'


def test_entry_codes_are_lengthened_only_where_two_entries_share_them() -> None:
    # Given two ids that share their first 8 characters and one that does not
    codes = entry_codes(['Eabcdef0123', 'Eabcdef0999', 'E1234567aaa'])
    # Then each code is unique in the set, and the unambiguous one keeps 8 characters
    assert codes == {'Eabcdef0123': 'EABCDEF01', 'Eabcdef0999': 'EABCDEF09', 'E1234567aaa': 'E1234567'}
