"""Managers' spot awards on moto: an award and its budget decrement in one transaction (entry, balance, notice, feed);
concurrent awards never overspend a budget; a retried key writes once; maker-checker (requested -> approved writes the
entry once, rejected and expired release the reservation and tell the maker); one reminder a day; refusals write
nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.store import AlertStore
from shared.alerts.sync import alert_id
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.ledger.approvals import Actor
from shared.ledger.auditor import LedgerAuditor
from shared.ledger.entries import EntryKind
from shared.ledger.store import LedgerStore
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook
from shared.recognition.spot import SpotRefused, SpotStatus, spot_entry_id
from shared.recognition.spot_service import SpotAwards, SpotRequest
from shared.recognition.spot_store import SpotStore, budget_pk
from tests.support.local_aws import LocalAws, local_aws

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 14:30 in Asia/Kolkata: the month is 2026-12
REPORTS = '\n'.join(f'W{i},Worker {i},technician,IN-BLR-01,M1,,no,,Asia/Kolkata,en,' for i in range(3, 13))
DIRECTORY = """employee_id,name,role,location_id,manager_id,phone,whatsapp_opt_in,email,time_zone,language,alert_channel,active
W1,Ravi Kumar,technician,IN-BLR-01,M1,+919812345600,no,,Asia/Kolkata,hi,,yes
W2,Priya Sharma,service_advisor,IN-BLR-01,M1,+919812345678,no,,Asia/Kolkata,en,,yes
W9X,Old Hand,technician,IN-BLR-01,M1,,no,,Asia/Kolkata,en,,no
X1,Asha Accountant,accountant,IN-BLR-01,M1,,no,,Asia/Kolkata,en,,yes
P1,Omar Advisor,service_advisor,IN-PNQ-01,M2,,no,,Asia/Kolkata,en,,yes
M1,Maria Manager,workshop_manager,IN-BLR-01,D1,+15558675300,no,,Asia/Kolkata,es,sms,yes
M2,Mohan Manager,workshop_manager,IN-PNQ-01,D1,+15558675301,no,,Asia/Kolkata,en,sms,yes
D1,Dana Director,regional_manager,IN-BLR-01,,+15558675302,no,,Asia/Kolkata,en,sms,yes
""" + '\n'.join(line + ',yes' for line in REPORTS.splitlines()) + '\n'
ARN = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/{}'
ADMIN = 'arn:aws:iam::123456789012:user/admin'


def iam(name: str) -> Actor:
    return Actor(via='iam', principal=ARN.format(name), reference=f'req-{name}')


CONSOLE = Actor(via='console', reference='lambda-req-1')


def program(**spot: Any) -> ProgramBook:
    document = json.loads((ROOT / 'events' / 'program_workshop.json').read_text())
    document['spot_awards'] |= spot
    return ProgramBook.of(parse_program(document), version=3)


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as local:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), NOW - timedelta(days=30))
        yield local


def service(book: ProgramBook | None = None) -> SpotAwards:
    book = book or program()
    return SpotAwards(SpotStore(), DirectoryStore(), programs=lambda pid, at: book.latest(pid), admin_principals=ADMIN)


def ask(employee: str = 'W1', points: int = 150, key: str = 'k-1', manager: str = 'M1', reason: str = 'zero_defect_repair',
        message: str = 'Clean brake job, no comeback') -> SpotRequest:  # fmt: skip
    return SpotRequest(program_id='pitstop', manager_id=manager, employee_id=employee, points=points, reason_id=reason, message=message,
                       idempotency_key=key)  # fmt: skip


def items(aws: LocalAws, pk: str) -> list[dict[str, Any]]:
    return aws.dynamodb.query(TableName=os.environ['RECOGNITION_TABLE'], KeyConditionExpression='pk = :pk',
                              ExpressionAttributeValues={':pk': {'S': pk}}, ConsistentRead=True)['Items']  # fmt: skip


def alert(kind: str, award_id: str, role: Recipient) -> Any:
    return AlertStore().get(alert_id(f'spot#{award_id}|{kind}', role))


def audit_ok() -> bool:
    return LedgerAuditor(directory=DirectoryStore(), ledger=LedgerStore(), pause=lambda _: None).run(NOW + timedelta(days=1)).ok


def test_an_award_debits_the_budget_and_credits_the_receiver_with_notice_and_feed_in_one_go(aws: LocalAws) -> None:
    # Given Maria (M1) manages Ravi (W1, Hindi), with a budget of 2,000 points a month
    awards = service()

    # When she gives him 150 points for a zero-defect repair
    result = awards.award(ask(), iam('M1'), NOW)

    # Then it is awarded at once, and her budget shows what is left
    assert (result.status, result.used, result.remaining, result.budget, result.month) == (SpotStatus.AWARDED, 150, 1850, 2000, '2026-12')
    # And Ravi's ledger has one chained SPOT_AWARD entry explaining itself, and his balance holds the points
    [entry] = LedgerStore().entries_for('W1')
    assert (entry.entry_id, entry.kind, entry.amount) == (spot_entry_id(result.award_id), EntryKind.SPOT_AWARD, 150)
    assert entry.reason.rule_id == 'spot_award' and entry.reason.program_id == 'pitstop@3'
    assert entry.reason.inputs['manager_id'] == 'M1' and entry.reason.inputs['reason_id'] == 'zero_defect_repair'
    assert LedgerStore().balance('W1').available == 150
    assert audit_ok()
    # And Ravi is told in Hindi, naming Maria, the points, the reason and the message
    notice = alert('received', result.award_id, Recipient.ASSIGNEE)
    assert notice.kind == AlertKind.SPOT_AWARD_RECEIVED.value and notice.subject == 'W1'
    assert notice.threshold == 'Maria Manager ने आपको Zero-defect repair के लिए +150 अंक दिए: "Clean brake job, no comeback"'
    # And the award is in the team's and the location's feed as kind `spot`
    for pk in ('FEED#pitstop#T#M1', 'FEED#pitstop#L#IN-BLR-01'):
        [item] = items(aws, pk)
        assert item['kind']['S'] == 'spot' and item['recognition_id']['S'] == result.award_id
        assert item['sk']['S'] == f'2026-12-03T09:00:00+00:00#{result.award_id}'  # the recognition feed's sort key
        assert (item['giver_id']['S'], item['receiver_id']['S'], item['points']['N'], item['value']['S']) == ('M1', 'W1', '150',
                                                                                                            'zero_defect_repair')
        assert (item['receiver_team']['S'], item['giver_team']['S'], item['month']['S']) == ('M1', 'D1', '2026-12')


def test_a_retried_idempotency_key_writes_once(aws: LocalAws) -> None:
    # Given an award made
    awards = service()
    first = awards.award(ask(key='nudge-77'), CONSOLE, NOW)

    # When the same request arrives again (a retry), even a day later
    again = awards.award(ask(key='nudge-77'), CONSOLE, NOW + timedelta(days=1))

    # Then the answer is the first award's, marked duplicate, and nothing more was written
    assert again.duplicate and again.award_id == first.award_id and again.status is SpotStatus.AWARDED
    assert len(LedgerStore().entries_for('W1')) == 1 and LedgerStore().balance('W1').available == 150
    assert SpotStore().used('pitstop', 'M1', '2026-12') == 150
    # And the same key for a different award is refused, not silently answered
    with pytest.raises(SpotRefused) as refused:
        awards.award(ask(key='nudge-77', employee='W2'), CONSOLE, NOW)
    assert refused.value.code == 'key_reused'
    # And someone else's session replaying Maria's key learns nothing of her award
    with pytest.raises(SpotRefused) as other:
        awards.award(ask(key='nudge-77'), iam('M2'), NOW)
    assert other.value.code == 'not_the_giver'


def test_concurrent_awards_exhaust_the_budget_exactly_and_never_overspend(aws: LocalAws) -> None:
    # Given a budget of 1,000 points and 30 awards of 100 points racing on 8 threads to ten people
    awards = service(program(monthly_budget=1000))
    people = ['W1', 'W2', *[f'W{i}' for i in range(3, 11)]]

    def give(n: int) -> str:
        try:
            return awards.award(ask(employee=people[n % len(people)], points=100, key=f'race-{n}'), CONSOLE, NOW).status.value
        except SpotRefused as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(give, range(30)))

    # Then exactly ten are awarded, the rest refused over budget, and the budget is used exactly
    assert outcomes.count('awarded') == 10 and outcomes.count('over_budget') == 20
    assert SpotStore().used('pitstop', 'M1', '2026-12') == 1000
    assert sum(LedgerStore().balance(p).available for p in people) == 1000
    assert audit_ok()


def test_over_budget_is_refused_naming_what_is_left_and_nothing_is_written(aws: LocalAws) -> None:
    # Given 1,900 of 2,000 points given this month (in seven awards at or below the approval amount)
    awards = service()
    for n, points in enumerate([300, 300, 300, 300, 300, 300, 100]):
        awards.award(ask(employee=f'W{n + 3}', points=points, key=f'b-{n}'), CONSOLE, NOW)

    # When Maria gives 150 more
    with pytest.raises(SpotRefused) as refused:
        awards.award(ask(points=150, key='b-over'), CONSOLE, NOW)

    # Then it is refused with the remaining budget named, and nothing was debited or credited
    assert refused.value.code == 'over_budget' and refused.value.values['remaining'] == 100
    assert '100 of 2000 points left for 2026-12' in refused.value.reason
    assert LedgerStore().entries_for('W1') == [] and SpotStore().used('pitstop', 'M1', '2026-12') == 1900
    # And next month (in the program's zone: 18:30 UTC on the 31st is the 1st in Kolkata) the budget is whole again
    january = datetime(2026, 12, 31, 18, 30, tzinfo=UTC)
    assert awards.award(ask(points=150, key='b-jan'), CONSOLE, january).remaining == 1850


@pytest.mark.parametrize(('request_fields', 'actor', 'code', 'field'), [
    ({'employee': 'P1'}, 'M1', 'not_your_report', 'employee_id'),
    ({'employee': 'W1'}, 'M2', 'not_the_giver', 'manager_id'),
    ({'employee': 'NOBODY'}, 'M1', 'unknown_receiver', 'employee_id'),
    ({'employee': 'W9X'}, 'M1', 'inactive_receiver', 'employee_id'),
    ({'employee': 'X1'}, 'M1', 'outside_program', 'employee_id'),
    ({'reason': 'nice_smile'}, 'M1', 'unknown_reason', 'reason_id'),
    ({'points': 0}, 'M1', 'points', 'points'),
    ({'points': -50}, 'M1', 'points', 'points'),
    ({'points': 1001}, 'M1', 'points', 'points'),
    ({'employee': 'M1'}, 'M1', 'self', 'employee_id'),
])  # fmt: skip
def test_bad_input_is_refused_with_the_reason_and_nothing_is_written(aws: LocalAws, request_fields: dict[str, Any], actor: str,
                                                                      code: str, field: str) -> None:  # fmt: skip
    # Given Maria's team and budget
    awards = service()

    # When a spot award with one bad part is asked
    with pytest.raises(SpotRefused) as refused:
        awards.award(ask(**request_fields), iam(actor), NOW)

    # Then it is refused with a stable code naming the field, and nothing is written anywhere
    assert (refused.value.code, refused.value.field) == (code, field), refused.value.reason
    assert SpotStore().used('pitstop', 'M1', '2026-12') == 0
    assert items(aws, budget_pk('pitstop', 'M1')) == [] and items(aws, 'FEED#pitstop#T#M1') == []
    assert all(LedgerStore().entries_for(person) == [] for person in ('W1', 'P1', 'W9X', 'X1', 'M1'))


def test_an_admin_may_give_to_someone_outside_their_chain(aws: LocalAws) -> None:
    # Given an admin principal naming Mohan (M2) as the giver for Ravi (W1, Maria's report)
    result = service().award(ask(manager='M2'), Actor(via='iam', principal=ADMIN, reference='r-admin'), NOW)

    # Then it is awarded, charged to Mohan's budget
    assert result.status is SpotStatus.AWARDED and SpotStore().used('pitstop', 'M2', '2026-12') == 150


def test_a_large_award_is_requested_with_the_budget_reserved_and_approved_once(aws: LocalAws) -> None:
    # Given an award above the approval amount (300)
    awards = service()
    requested = awards.award(ask(points=500, key='big-1'), iam('M1'), NOW)

    # Then it is only requested: no entry, but the points are reserved and the approver (Dana, M1's manager) is told
    assert requested.status is SpotStatus.REQUESTED and requested.remaining == 1500
    assert requested.expires_at == NOW + timedelta(days=7) and 'D1' in (requested.approver_hint or '')
    assert LedgerStore().entries_for('W1') == []
    [pending] = items(aws, 'SPOTPENDING#pitstop')
    assert pending['sk']['S'] == f'2026-12-10T09:00:00Z#{requested.award_id}'
    waiting = alert('waiting', requested.award_id, Recipient.MANAGER)
    assert waiting.kind == AlertKind.SPOT_APPROVAL_WAITING.value and (waiting.subject, waiting.role) == ('M1', 'manager')
    assert 'Maria Manager asks to give Ravi Kumar +500 points for Zero-defect repair' in waiting.threshold

    # When the maker tries to approve it herself, and a console invocation tries (no identity)
    for actor, code in ((iam('M1'), 'own_request'), (CONSOLE, 'unauthenticated'), (iam('M2'), 'not_approver')):
        with pytest.raises(SpotRefused) as refused:
            awards.decide(requested.award_id, True, None, actor, NOW + timedelta(hours=1))
        assert refused.value.code == code
    assert LedgerStore().entries_for('W1') == []

    # When Dana approves it
    approved = awards.decide(requested.award_id, True, None, iam('D1'), NOW + timedelta(hours=2))

    # Then the entry is written once, naming the approver; the budget stays charged once; the pending item is gone
    assert approved.status is SpotStatus.APPROVED and approved.remaining == 1500
    [entry] = LedgerStore().entries_for('W1')
    assert entry.amount == 500 and entry.reason.inputs['approver'] == ARN.format('D1')
    assert items(aws, 'SPOTPENDING#pitstop') == [] and audit_ok()
    # And Ravi and Maria (in Spanish) are told; the feed shows it
    assert alert('received', requested.award_id, Recipient.ASSIGNEE).subject == 'W1'
    decided = alert('decided', requested.award_id, Recipient.ASSIGNEE)
    assert decided.subject == 'M1' and decided.threshold == 'los +500 puntos para Ravi Kumar por Zero-defect repair fueron aprobados y entregados'
    assert len(items(aws, 'FEED#pitstop#T#M1')) == 1

    # And a second approval (a retry, or an admin late) is refused: decided, nothing written twice
    with pytest.raises(SpotRefused) as again:
        awards.decide(requested.award_id, True, None, Actor(via='iam', principal=ADMIN, reference='r2'), NOW + timedelta(hours=3))
    assert again.value.code == 'decided'
    assert len(LedgerStore().entries_for('W1')) == 1 and LedgerStore().balance('W1').available == 500


def test_two_requests_cannot_overspend_the_budget_together(aws: LocalAws) -> None:
    # Given 900 of 1,500 reserved by an open request
    awards = service(program(monthly_budget=1500))
    assert awards.award(ask(points=900, key='r-1'), CONSOLE, NOW).status is SpotStatus.REQUESTED

    # When a second request of 700 comes before the first is decided
    with pytest.raises(SpotRefused) as refused:
        awards.award(ask(employee='W2', points=700, key='r-2'), CONSOLE, NOW)

    # Then it is refused over budget: the reservation counts
    assert refused.value.code == 'over_budget' and refused.value.values['remaining'] == 600


def test_a_rejection_releases_the_reservation_and_tells_the_maker(aws: LocalAws) -> None:
    # Given a requested award of 500
    awards = service()
    requested = awards.award(ask(points=500, key='big-2'), CONSOLE, NOW)

    # When an admin rejects it without a reason, then with one
    admin = Actor(via='iam', principal=ADMIN, reference='r-admin')
    with pytest.raises(SpotRefused) as no_reason:
        awards.decide(requested.award_id, False, '', admin, NOW)
    assert no_reason.value.code == 'reason'
    rejected = awards.decide(requested.award_id, False, 'Already paid by the bonus', admin, NOW + timedelta(hours=1))

    # Then the budget is whole again, no entry, the pending item gone, and Maria told why (in Spanish)
    assert rejected.status is SpotStatus.REJECTED and rejected.remaining == 2000
    assert LedgerStore().entries_for('W1') == [] and items(aws, 'SPOTPENDING#pitstop') == []
    notice = alert('decided', requested.award_id, Recipient.ASSIGNEE)
    assert notice.kind == AlertKind.SPOT_AWARD_DECIDED.value and 'Already paid by the bonus' in notice.threshold
    # And approving it afterwards is refused
    with pytest.raises(SpotRefused) as late:
        awards.decide(requested.award_id, True, None, iam('D1'), NOW + timedelta(hours=2))
    assert late.value.code == 'decided'


def test_pending_requests_are_reminded_once_a_day_and_expire_after_the_days_releasing_the_budget(aws: LocalAws) -> None:
    # Given a request made with 3 days to decide
    awards = service(program(approval_expires_days=3))
    requested = awards.award(ask(points=500, key='big-3'), CONSOLE, NOW)

    # When the daily run runs the same day: no reminder (Dana was told today)
    first = awards.run_daily('pitstop', NOW + timedelta(hours=1))
    assert (first.open, first.reminded, first.expired) == (1, 0, 0)

    # When it runs the next day, twice (a retried schedule)
    day2 = awards.run_daily('pitstop', NOW + timedelta(days=1))
    day2_again = awards.run_daily('pitstop', NOW + timedelta(days=1, hours=2))

    # Then Dana is reminded once that day
    assert (day2.reminded, day2_again.reminded) == (1, 0)
    reminder = AlertStore().get(alert_id(f'spot#{requested.award_id}|waiting|2026-12-04', Recipient.MANAGER))
    assert reminder is not None and reminder.threshold.startswith('reminder: Maria Manager still waits')

    # When the deadline passes
    expired = awards.run_daily('pitstop', NOW + timedelta(days=3, minutes=1))

    # Then the request expires, its reservation is released, and Maria is told (in Spanish)
    assert expired.expired == 1 and expired.expired_ids == [requested.award_id] and expired.open == 0
    assert SpotStore().used('pitstop', 'M1', '2026-12') == 0
    assert SpotStore().get(requested.award_id).status is SpotStatus.EXPIRED  # type: ignore[union-attr]
    assert 'caducaron sin decisión' in alert('decided', requested.award_id, Recipient.ASSIGNEE).threshold
    # And approving it now is refused, nothing written
    with pytest.raises(SpotRefused) as late:
        awards.decide(requested.award_id, True, None, iam('D1'), NOW + timedelta(days=4))
    assert late.value.code == 'decided' and LedgerStore().entries_for('W1') == []
    # And an approval after the deadline but before the run is refused as expired
    other = awards.award(ask(points=400, key='big-4'), CONSOLE, NOW + timedelta(days=4))
    with pytest.raises(SpotRefused) as too_late:
        awards.decide(other.award_id, True, None, iam('D1'), NOW + timedelta(days=7, minutes=1))
    assert too_late.value.code == 'expired'


def test_forgetting_a_leaver_blanks_their_spot_award_messages_and_pseudonymises_them_everywhere(aws: LocalAws) -> None:
    from functions.forget.app import eraser
    from shared.privacy.forget import ForgetRequest, pseudonym

    # Given an award to Ravi (W1), who then leaves
    awards = service()
    result = awards.award(ask(), CONSOLE, NOW)
    DirectoryStore().import_rows(parse_export(DIRECTORY.replace('Asia/Kolkata,hi,,yes', 'Asia/Kolkata,hi,,no'), 'csv'), NOW)

    # When an admin forgets him
    report = eraser().forget(ForgetRequest(employee_id='W1'), 'arn:aws:iam::123456789012:user/admin', NOW + timedelta(days=1))

    # Then the award record and both feed items keep the points but no message and only his pseudonym
    alias = pseudonym('W1')
    assert report.counts()['recognition_spot_awards'] == 1
    stored = SpotStore().get(result.award_id)
    assert stored is not None and (stored.employee_id, stored.message, stored.points) == (alias, '', 150)
    for pk in ('FEED#pitstop#T#M1', 'FEED#pitstop#L#IN-BLR-01'):
        [item] = items(aws, pk)
        assert (item['receiver_id']['S'], item['message']['S'], item['giver_id']['S']) == (alias, '', 'M1')
    assert items(aws, 'SPOTOF#W1') == [] and len(items(aws, 'SPOTOF#M1')) == 1
    # And a second run finds nothing left to erase
    again = eraser().forget(ForgetRequest(employee_id='W1'), 'arn:aws:iam::123456789012:user/admin', NOW + timedelta(days=2))
    assert again.counts()['recognition_spot_awards'] == 0


def test_the_notices_go_out_through_the_alert_sender_to_the_right_people(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities import parameters

    from infrastructure.local.fake_twilio import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN, FakeTwilio, local_twilio_client
    from shared.alerts.quiet_hours import QuietHours
    from shared.alerts.settings import AlertSettings
    from shared.config import get_settings
    from shared.directory.contacts import ContactBook
    from shared.notify import EmailContent
    from shared.notify.dispatch import AlertDispatcher, Outcome
    from shared.notify.messaging import MessagingSettings, TwilioMessenger
    from shared.sla.config import ServiceConfig
    from tests.integration.test_messaging import SimulatedTime

    monkeypatch.setenv('TWILIO_PARAMETER', '/pitcrew/test/twilio')
    with FakeTwilio(port=0) as fake:
        account = {'account_sid': LOCAL_ACCOUNT_SID, 'auth_token': LOCAL_AUTH_TOKEN, 'whatsapp_from': 'whatsapp:+14155238886',
                   'sms_from': '+15005550006'}  # fmt: skip
        import boto3

        boto3.client('ssm', region_name='us-east-1').put_parameter(Name='/pitcrew/test/twilio', Value=json.dumps(account), Type='SecureString')
        get_settings.cache_clear()
        parameters.clear_caches()
        clock = SimulatedTime()
        messenger = TwilioMessenger(local_twilio_client(fake), MessagingSettings(whatsapp_from='whatsapp:+14155238886', sms_from='+15005550006'),
                                    sleep=clock.sleep, clock=clock.clock, jitter=lambda: 1.0)  # fmt: skip

        def no_email(to: str, content: EmailContent) -> str | None:
            raise AssertionError('no e-mail expected')

        config = ServiceConfig(alerts=AlertSettings(quiet_hours=QuietHours(start='00:00', end='00:00')))
        dispatcher = AlertDispatcher(alerts=AlertStore(), contacts=ContactBook(), messenger=lambda: messenger, email=no_email,
                                     config=lambda: config, wall=lambda: 0.0)  # fmt: skip
        sent_at = datetime.now(UTC)
        awards = service()

        def deliver(kind: str, award_id: str, role: Recipient) -> dict[str, Any]:
            result = dispatcher.deliver(alert_id(f'spot#{award_id}|{kind}', role), datetime.now(UTC) + timedelta(seconds=5), 0.0,
                                        claim_id=f'c-{kind}')  # fmt: skip
            assert result.outcome is Outcome.SENT, result
            return fake.messages[-1]

        # Given an award and a request made now
        small = awards.award(ask(), CONSOLE, sent_at)
        big = awards.award(ask(points=500, key='big-notice'), CONSOLE, sent_at)

        # Then Ravi gets his notice by SMS in Hindi, and Dana (Maria's manager) the approval request
        received = deliver('received', small.award_id, Recipient.ASSIGNEE)
        assert received['to'] == '+919812345600' and 'ने आपको Zero-defect repair के लिए +150 अंक दिए' in received['body']
        waiting = deliver('waiting', big.award_id, Recipient.MANAGER)
        assert waiting['to'] == '+15558675302' and 'Maria Manager asks to give Ravi Kumar +500 points' in waiting['body']

        # When Dana rejects it, Maria is told in Spanish
        awards.decide(big.award_id, False, 'Ya cobrado en el bono', iam('D1'), datetime.now(UTC))
        told = deliver('decided', big.award_id, Recipient.ASSIGNEE)
        assert told['to'] == '+15558675300' and 'fueron rechazados (Ya cobrado en el bono)' in told['body']


def test_a_request_for_someone_who_left_meanwhile_cannot_be_approved_only_rejected(aws: LocalAws) -> None:
    # Given a request for Ravi, who then leaves
    awards = service()
    requested = awards.award(ask(points=500, key='leaver'), CONSOLE, NOW)
    DirectoryStore().import_rows(parse_export(DIRECTORY.replace('Asia/Kolkata,hi,,yes', 'Asia/Kolkata,hi,,no'), 'csv'), NOW)

    # When Dana approves it: refused, nothing written; rejecting it releases the budget
    with pytest.raises(SpotRefused) as refused:
        awards.decide(requested.award_id, True, None, iam('D1'), NOW + timedelta(hours=1))
    assert refused.value.code == 'inactive_receiver' and LedgerStore().entries_for('W1') == []
    assert awards.decide(requested.award_id, False, 'He left the company', iam('D1'), NOW + timedelta(hours=2)).remaining == 2000


def test_a_large_award_by_the_top_of_the_chain_waits_for_an_admin_and_nobody_is_messaged(aws: LocalAws) -> None:
    # Given Dana (no manager above her) asks for 500 points for Ravi, two levels down
    awards = service()
    requested = awards.award(ask(manager='D1', points=500, key='top'), iam('D1'), NOW)

    # Then it waits for an admin (the answer says so), with no approval notice to nobody; the daily run skips it
    assert requested.status is SpotStatus.REQUESTED and 'an admin' in (requested.approver_hint or '')
    assert alert('waiting', requested.award_id, Recipient.MANAGER) is None
    assert awards.run_daily('pitstop', NOW + timedelta(days=1)).reminded == 0
    # And an admin approves it
    admin = Actor(via='iam', principal=ADMIN, reference='r-admin')
    assert awards.decide(requested.award_id, True, None, admin, NOW + timedelta(days=1)).status is SpotStatus.APPROVED
    assert LedgerStore().balance('W1').available == 500
