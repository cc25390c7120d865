"""Redemptions end to end on moto: exactly once per idempotency key, stock/limit/budget atomic with the debit, the
budget queue in order, fulfilment by the fake provider (or an admin), refunds that give everything back, and every
refusal writing nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.alerts.plan import AlertKind
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.ledger.adjustments import adjustment_entry_id
from shared.ledger.approvals import Actor
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import LedgerStore
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook
from shared.wallet import providers
from shared.wallet.catalogue import parse_catalogue
from shared.wallet.catalogue_loader import CatalogueBook
from shared.wallet.providers.base import ProviderFailed
from shared.wallet.providers.fake import FakeProvider
from shared.wallet.redeem import RedeemRequest, RedemptionStatus, Refused, refund_entry_id
from shared.wallet.service import Redemptions, RedemptionsQueue
from shared.wallet.store import RewardsStore
from tests.support.local_aws import LocalAws, local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'
NOW = datetime(2026, 10, 12, 6, 0, tzinfo=UTC)
DIRECTORY = """employee_id,name,role,location_id,manager_id,phone,whatsapp_opt_in,email,time_zone,language,alert_channel
E1,Priya Sharma,technician,IN-BLR-01,M1,+919812345678,no,,Asia/Kolkata,en,
E2,Ravi Kumar,technician,IN-BLR-01,M1,+919812345600,no,,Asia/Kolkata,hi,
E3,Lucía Fernández,service_advisor,IN-PNQ-01,M1,+34611222333,no,,Asia/Kolkata,es,
E4,Anil Gone,technician,IN-BLR-01,M1,+919812345601,no,,Asia/Kolkata,en,
M1,Maria Manager,manager,IN-BLR-01,,+15558675300,no,,Asia/Kolkata,en,sms
"""
ADMIN = Actor(via='iam', principal='arn:aws:sts::123456789012:assumed-role/PitcrewAdmins/ops', reference='req-1')


def catalogue(**overrides: Any) -> CatalogueBook:
    raw = json.loads((EVENTS / 'catalogue_workshop.json').read_text())
    raw['items'] += [
        {'item_id': 'last-unit', 'name': 'Last unit voucher', 'kind': 'voucher', 'price_points': 100, 'stock': 1, 'provider': 'fake',
         'same_day': True},
        {'item_id': 'old', 'name': 'Old voucher', 'kind': 'voucher', 'price_points': 100, 'provider': 'fake',
         'valid_until': '2026-01-01T00:00:00+05:30'},
        {'item_id': 'future', 'name': 'Diwali hamper', 'kind': 'voucher', 'price_points': 100, 'provider': 'fake',
         'valid_from': '2027-10-01T00:00:00+05:30'},
        {'item_id': 'pune-only', 'name': 'Pune lunch voucher', 'kind': 'voucher', 'price_points': 100, 'provider': 'fake',
         'cities': ['Pune']},
    ]  # fmt: skip
    raw.update(overrides)
    return CatalogueBook.of(parse_catalogue(json.dumps(raw), providers.known()), version=3)


def program(budget: int | None = 50_000) -> ProgramBook:
    raw = json.loads((EVENTS / 'program_workshop.json').read_text())
    raw['wallet']['location_budget'] = budget
    return ProgramBook.of(parse_program(raw), version=7)


@dataclass
class Env:
    aws: LocalAws
    service: Redemptions
    store: RewardsStore
    ledger: LedgerStore
    fake: FakeProvider

    def credit(self, employee_id: str, points: int) -> None:
        entry = LedgerEntry(entry_id=adjustment_entry_id(f'seed-{employee_id}-{points}'), employee_id=employee_id, amount=points,
                            kind=EntryKind.ADJUSTMENT, status=EntryStatus.AVAILABLE,
                            reason=EntryReason(ticket_key='-', source_event_id='seed', basis_event_id='seed', rule_id='seed', rule_version=1),
                            occurred_at=NOW - timedelta(days=1), recorded_at=NOW - timedelta(days=1))  # fmt: skip
        assert self.ledger.append_adjustment(entry)

    def available(self, employee_id: str) -> int:
        return self.ledger.balance(employee_id, with_pending=False).available

    def redeem(self, employee_id: str, item_id: str, key: str, quantity: int = 1, at: datetime = NOW) -> dict[str, Any]:
        request = RedeemRequest(program_id='pitstop', employee_id=employee_id, item_id=item_id, quantity=quantity, idempotency_key=key)
        return self.service.request(request, at)

    def debits(self, employee_id: str) -> list[LedgerEntry]:
        return [e for e in self.ledger.entries_for(employee_id) if e.kind is EntryKind.REDEMPTION]

    def messages(self) -> list[str]:
        url = self.aws.queues['RedemptionsQueue']
        out: list[str] = []
        while batch := self.aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', []):
            for message in batch:
                out.append(json.loads(message['Body'])['redemption_id'])
                self.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message['ReceiptHandle'])
        return out

    def notices(self, employee_id: str) -> list[str]:
        items = self.aws.dynamodb.scan(TableName=self.service.alerts.table).get('Items', [])  # test inspection only
        return [i['threshold']['S'] for i in items if i.get('subject', {}).get('S') == employee_id
                and i.get('kind', {}).get('S') == AlertKind.REDEMPTION_UPDATE.value]  # fmt: skip


def make_env(aws: LocalAws, budget: int | None = 50_000, books: CatalogueBook | None = None) -> Env:
    from shared.alerts.store import AlertStore

    DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), NOW - timedelta(days=30))
    ledger = LedgerStore()
    fake = FakeProvider()
    providers.use('fake', fake)
    book = books or catalogue()
    service = Redemptions(store=RewardsStore(), ledger=ledger, directory=DirectoryStore(), catalogues=lambda: book,
                          programs=lambda: program(budget), alerts=AlertStore(), queue=RedemptionsQueue(aws.queues['RedemptionsQueue']),
                          on_complete=lambda redemption, now: None)  # fmt: skip
    return Env(aws, service, service.store, ledger, fake)


@pytest.fixture
def env() -> Iterator[Env]:
    with local_aws() as aws:
        yield make_env(aws)
    providers.reset()


def test_the_same_key_twice_debits_once(env: Env) -> None:
    # Given: Priya with 2,000 points
    env.credit('E1', 2000)
    # When: she redeems a ₹500 voucher and the client retries with the same key
    first = env.redeem('E1', 'amazon-500', 'k-1')
    again = env.redeem('E1', 'amazon-500', 'k-1')
    # Then: one redemption, one debit, one unit of stock, one fulfilment message; the retry names the same redemption
    assert first['status'] == 'reserved' and not first['duplicate']
    assert again['redemption_id'] == first['redemption_id'] and again['duplicate']
    assert [e.amount for e in env.debits('E1')] == [-500]
    assert env.available('E1') == 1500
    assert env.store.stock_issued('pitstop', 'amazon-500') == 1
    assert env.messages() == [first['redemption_id']]


def test_fulfilment_completes_with_a_voucher_code_told_in_the_persons_language(env: Env) -> None:
    # Given: Ravi (Hindi) reserved a voucher
    env.credit('E2', 1000)
    rid = env.redeem('E2', 'amazon-500', 'k-2')['redemption_id']
    # When: the worker fulfils it, twice (a redelivered message)
    assert env.service.fulfil(rid, NOW + timedelta(seconds=5)) == 'completed'
    assert env.service.fulfil(rid, NOW + timedelta(seconds=6)) == 'skipped'
    # Then: completed with the fake's deterministic code, told once in Hindi, the points stay spent
    stored = env.store.get(rid)
    assert stored is not None and stored.status is RedemptionStatus.COMPLETED and stored.fulfilment is not None
    code = stored.fulfilment.code
    assert code and len(env.notices('E2')) == 1 and code in env.notices('E2')[0] and 'आपका कोड' in env.notices('E2')[0]
    assert env.available('E2') == 500


def test_provider_failure_refunds_balance_stock_limit_and_budget_in_one_step(env: Env) -> None:
    # Given: Priya reserved a Flipkart card; the provider refuses it for good
    env.credit('E1', 3000)
    rid = env.redeem('E1', 'flipkart-1000', 'k-3')['redemption_id']
    env.fake.fail['flipkart-1000'] = ProviderFailed('denomination discontinued', retryable=False)
    stored = env.store.get(rid)
    assert stored is not None
    assert env.store.budget_used('pitstop', 'IN-BLR-01', '2026-10') == 1000 and env.store.limit_used(stored) == 1
    # When: the worker tries it
    assert env.service.fulfil(rid, NOW + timedelta(minutes=1)) == 'failed'
    # Then: a refund entry reverses the debit; balance, stock, limit and budget are back; she is told why
    refunds = [e for e in env.ledger.entries_for('E1') if e.kind is EntryKind.REFUND]
    assert [(e.entry_id, e.amount, e.reverses) for e in refunds] == [(refund_entry_id(rid), 1000, stored.entry_id)]
    assert env.available('E1') == 3000
    assert env.store.stock_issued('pitstop', 'flipkart-1000') == 0
    assert env.store.limit_used(stored) == 0 and env.store.budget_used('pitstop', 'IN-BLR-01', '2026-10') == 0
    assert any('denomination discontinued' in line and '1,000 points are back' in line for line in env.notices('E1'))
    # And: failing again (a redelivery) changes nothing
    assert env.service.fulfil(rid, NOW + timedelta(minutes=2)) == 'skipped'
    assert env.available('E1') == 3000


def test_a_retryable_failure_comes_back_then_refunds_on_the_last_attempt(env: Env) -> None:
    env.credit('E1', 1000)
    rid = env.redeem('E1', 'amazon-500', 'k-4')['redemption_id']
    env.fake.fail_all = ProviderFailed('provider timeout', retryable=True)
    with pytest.raises(ProviderFailed):
        env.service.fulfil(rid, NOW, receive_count=1)
    assert env.available('E1') == 500
    assert env.service.fulfil(rid, NOW, receive_count=3) == 'failed'
    assert env.available('E1') == 1000


def test_concurrent_requests_for_the_last_unit_reserve_exactly_one(env: Env) -> None:
    # Given: four people with points and one unit left
    for person in ('E1', 'E2', 'E3', 'E4'):
        env.credit(person, 1000)
    outcomes: list[Any] = []

    def redeem(person: str) -> None:
        try:
            outcomes.append(env.redeem(person, 'last-unit', f'last-{person}'))
        except Refused as refused:
            outcomes.append(refused.code)

    # When: all four ask at once
    threads = [threading.Thread(target=redeem, args=(p,)) for p in ('E1', 'E2', 'E3', 'E4')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then: exactly one reserved; three refused out of stock with nothing debited
    assert sum(1 for o in outcomes if isinstance(o, dict) and o['status'] == 'reserved') == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ['out_of_stock'] * 3
    assert sum(len(env.debits(p)) for p in ('E1', 'E2', 'E3', 'E4')) == 1
    assert env.store.stock_issued('pitstop', 'last-unit') == 1


@pytest.mark.parametrize(
    ('employee', 'item', 'quantity', 'code', 'field'),
    [
        ('E1', 'amazon-500', 5, 'over_limit', 'quantity'),
        ('E1', 'flipkart-1000', 2, 'insufficient', 'quantity'),
        ('E1', 'nope', 1, 'unknown_item', 'item_id'),
        ('E1', 'old', 1, 'expired', 'item_id'),
        ('E1', 'future', 1, 'not_yet_valid', 'item_id'),
        ('E1', 'pune-only', 1, 'not_offered', 'item_id'),
        ('E9', 'amazon-500', 1, 'unknown_person', 'employee_id'),
    ],
)
def test_refusals_name_the_field_and_debit_nothing(env: Env, employee: str, item: str, quantity: int, code: str, field: str) -> None:
    # Given: Priya (Bengaluru) with 1,500 points
    env.credit('E1', 1500)
    # When: the request breaks one rule
    with pytest.raises(Refused) as refused:
        env.redeem(employee, item, f'bad-{item}', quantity=quantity)
    # Then: refused with the code and field; nothing debited, nothing reserved
    assert (refused.value.code, refused.value.field) == (code, field)
    assert env.debits('E1') == [] and env.available('E1') == 1500
    assert env.store.stock_issued('pitstop', 'amazon-500') == 0


def test_a_deactivated_person_and_a_later_limit_breach_are_refused(env: Env) -> None:
    env.credit('E1', 5000)
    DirectoryStore().import_rows(parse_export(DIRECTORY.replace('E4,Anil Gone', 'E4x,Anil Gone'), 'csv'), NOW - timedelta(days=1))
    with pytest.raises(Refused) as inactive:
        env.redeem('E4', 'amazon-500', 'inactive-1')
    assert (inactive.value.code, inactive.value.field) == ('inactive', 'employee_id')
    # Priya's fuel card: 1 a month. The second request (another key) is refused by the limit counter, nothing debited.
    env.redeem('E1', 'fuel-2000', 'fuel-1')
    with pytest.raises(Refused) as over:
        env.redeem('E1', 'fuel-2000', 'fuel-2')
    assert (over.value.code, over.value.field) == ('over_limit', 'quantity')
    assert [e.amount for e in env.debits('E1')] == [-2000]
    # Next month the limit is fresh.
    assert env.redeem('E1', 'fuel-2000', 'fuel-3', at=NOW + timedelta(days=25))['status'] == 'reserved'


def test_over_budget_queues_in_order_and_the_queue_never_overspends() -> None:
    with local_aws() as aws:
        env = make_env(aws, budget=1000)
        for person in ('E1', 'E2', 'E4'):
            env.credit(person, 2000)
        # Given: the location's budget is 1,000 points; three ₹500 vouchers... and a ₹1,000 card
        first = env.redeem('E1', 'amazon-500', 'q-1', at=NOW)
        second = env.redeem('E2', 'amazon-500', 'q-2', at=NOW + timedelta(seconds=1))
        third = env.redeem('E4', 'flipkart-1000', 'q-3', at=NOW + timedelta(seconds=2))
        fourth = env.redeem('E1', 'amazon-500', 'q-4', at=NOW + timedelta(seconds=3))
        # Then: the first two fit; the others wait in order, points and stock reserved, budget not
        assert [first['status'], second['status'], third['status'], fourth['status']] == ['reserved', 'reserved', 'queued', 'queued']
        assert (third['position'], fourth['position']) == (1, 2)
        assert env.available('E4') == 1000 and env.store.stock_issued('pitstop', 'flipkart-1000') == 1
        assert env.store.budget_used('pitstop', 'IN-BLR-01', '2026-10') == 1000
        assert any('number 1 in the queue' in line for line in env.notices('E4'))
        # When: the queue runs the same month: nothing fits, nothing moves
        assert env.service.release_queue('pitstop', ['IN-BLR-01'], NOW + timedelta(hours=1)) == {'released': 0, 'locations_waiting': 1}
        # When: it runs on the 1st of the next month: the ₹1,000 card takes the whole budget; the voucher behind it waits
        nov = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
        assert env.service.release_queue('pitstop', ['IN-BLR-01'], nov) == {'released': 1, 'locations_waiting': 1}
        assert env.store.budget_used('pitstop', 'IN-BLR-01', '2026-11') == 1000
        assert env.service.status(fourth['redemption_id'])['position'] == 1
        assert env.service.status(third['redemption_id'])['status'] == 'reserved'
        # And: an admin failing the queued one refunds it without touching any budget
        env.service.decide(fourth['redemption_id'], fulfil=False, actor=ADMIN, now=nov, reason='cancelled at the person request')
        assert env.store.budget_used('pitstop', 'IN-BLR-01', '2026-11') == 1000
        assert env.available('E1') == 2000 - 500
    providers.reset()


def test_manual_items_wait_for_an_admin_who_fulfils_them(env: Env) -> None:
    env.credit('E1', 4000)
    rid = env.redeem('E1', 'extra-leave-day', 'leave-1')['redemption_id']
    # the worker leaves it alone; no message was sent for it
    assert env.messages() == [] and env.service.fulfil(rid, NOW) == 'skipped'
    assert env.store.open_ids('pitstop') == [(rid, 'manual')]
    with pytest.raises(Refused) as no_reason:
        env.service.decide(rid, fulfil=False, actor=ADMIN, now=NOW, reason='no')
    assert no_reason.value.field == 'reason'
    done = env.service.decide(rid, fulfil=True, actor=ADMIN, now=NOW + timedelta(hours=2), reference='HR-LEAVE-2291')
    assert done['status'] == 'completed' and done['fulfilment']['reference'] == 'HR-LEAVE-2291'
    assert env.store.open_ids('pitstop') == []
    stored = env.store.get(rid)
    assert stored is not None and stored.decided_by == ADMIN.principal
    with pytest.raises(Refused) as decided:
        env.service.decide(rid, fulfil=False, actor=ADMIN, now=NOW, reason='changed my mind')
    assert decided.value.code == 'decided'


def test_a_lost_fulfilment_message_is_resent_by_the_sweep(env: Env) -> None:
    env.credit('E1', 1000)
    env.service.queue = RedemptionsQueue('')  # the send "fails": nothing goes out
    rid = env.redeem('E1', 'amazon-500', 'lost-1')['redemption_id']
    env.service.queue = RedemptionsQueue(env.aws.queues['RedemptionsQueue'])
    assert env.service.sweep('pitstop', NOW + timedelta(minutes=5)) == 0  # too fresh
    assert env.service.sweep('pitstop', NOW + timedelta(minutes=20)) == 1
    assert env.messages() == [rid]
    assert env.service.fulfil(rid, NOW + timedelta(minutes=21)) == 'completed'
    assert env.service.sweep('pitstop', NOW + timedelta(minutes=40)) == 0


def test_a_forget_erases_voucher_codes_and_reasons_but_keeps_the_points(env: Env) -> None:
    from shared.alerts.store import AlertStore
    from shared.directory.contacts import ContactBook
    from shared.privacy.erase import Eraser
    from shared.privacy.forget import ForgetRequest
    from shared.quarantine.store import QuarantineStore

    # Given: Priya completed a voucher (with its code) and had a card refunded with a reason, then left
    env.credit('E1', 3000)
    done = env.redeem('E1', 'amazon-500', 'f-1')['redemption_id']
    env.service.fulfil(done, NOW)
    refunded = env.redeem('E1', 'flipkart-1000', 'f-2')['redemption_id']
    env.fake.fail['flipkart-1000'] = ProviderFailed('card blocked for Priya Sharma', retryable=False)
    env.service.fulfil(refunded, NOW)
    DirectoryStore().import_rows(parse_export('\n'.join(r for r in DIRECTORY.splitlines() if not r.startswith('E1,')), 'csv'), NOW)
    eraser = Eraser(directory=DirectoryStore(), contacts=ContactBook(), alerts=AlertStore(), quarantine=QuarantineStore(), rewards=env.store)
    # When: she is forgotten (a dry run first, then for real, then again)
    dry = eraser.forget(ForgetRequest(employee_id='E1', dry_run=True, quarantine_days=1), 'hr', NOW)
    real = eraser.forget(ForgetRequest(employee_id='E1', quarantine_days=1), 'hr', NOW)
    again = eraser.forget(ForgetRequest(employee_id='E1', quarantine_days=1), 'hr', NOW)
    # Then: both redemptions lose the code and the reason; points, items, statuses and the ledger stay
    assert (dry.redemptions, real.redemptions, again.redemptions) == (2, 2, 0)
    kept = {r.redemption_id: r for r in env.store.redemptions_of('E1')}
    fulfilment = kept[done].fulfilment
    assert fulfilment is not None and fulfilment.code is None and kept[done].status is RedemptionStatus.COMPLETED
    assert kept[refunded].failure == 'erased' and kept[refunded].points == 1000
    assert env.available('E1') == 2500 and len(env.debits('E1')) == 2


def test_nothing_is_spent_while_a_clawback_debt_is_owed(env: Env) -> None:
    # Given: Priya has 2,000 points and still owes 300 of a clawback (the debt the capped reversal recorded)
    env.credit('E1', 2000)
    balances = env.ledger.balances.Meta.table_name
    env.aws.dynamodb.update_item(TableName=balances, Key={'pk': {'S': 'EMP#E1'}}, UpdateExpression='SET debt = :d',
                                 ExpressionAttributeValues={':d': {'N': '300'}})  # fmt: skip
    # When: she redeems a ₹500 voucher
    with pytest.raises(Refused) as refused:
        env.redeem('E1', 'amazon-500', 'k-debt')
    # Then: refused with the debt named, nothing debited and no stock used
    assert refused.value.code == 'in_debt' and refused.value.field == 'quantity' and '300' in str(refused.value)
    assert env.debits('E1') == [] and env.available('E1') == 2000
    assert env.store.stock_issued('pitstop', 'amazon-500') == 0


def test_a_debt_recorded_between_the_read_and_the_debit_still_stops_the_spend(env: Env) -> None:
    # Given: Priya with 2,000 points and no debt when her request is read
    env.credit('E1', 2000)
    balances = env.ledger.balances.Meta.table_name
    store = env.store
    original = store.snapshot

    def read_then_clawback(*args: Any, **kwargs: Any) -> Any:
        seen = original(*args, **kwargs)
        env.aws.dynamodb.update_item(TableName=balances, Key={'pk': {'S': 'EMP#E1'}}, UpdateExpression='SET debt = :d',
                                     ExpressionAttributeValues={':d': {'N': '120'}})  # fmt: skip
        return seen

    store.snapshot = read_then_clawback  # type: ignore[method-assign]
    # When: a clawback records a 120-point debt after the read, before the reserving transaction
    with pytest.raises(Refused) as refused:
        env.redeem('E1', 'amazon-500', 'k-race')
    # Then: the transaction's own condition refuses it: nothing debited
    assert refused.value.code == 'in_debt' and '120' in str(refused.value)
    assert env.debits('E1') == [] and env.available('E1') == 2000
