"""The wallet view's arithmetic, the notices in en/es/hi/id, the fake provider and the registry (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.programs.document import parse_program
from shared.wallet import providers, texts
from shared.wallet.catalogue import ItemKind
from shared.wallet.metrics import issued_points
from shared.wallet.providers.base import ProviderFailed
from shared.wallet.providers.fake import FakeProvider
from shared.wallet.redeem import Redemption, RedemptionStatus
from shared.wallet.wallet import wallet_view

EVENTS = Path(__file__).resolve().parents[3] / 'events'
AT = datetime(2026, 10, 12, tzinfo=UTC)


def test_value_is_at_the_programs_conversion_rate_and_a_debt_stops_spending_until_repaid() -> None:
    # Given: pitstop (1 point = ₹1) and ecommerce_support (10 points = $1)
    pitstop = parse_program((EVENTS / 'program_workshop.json').read_text())
    support = parse_program((EVENTS / 'program_support.json').read_text())
    # When: the wallet of someone with 1,250 available, 300 pending and a 40-point debt
    inr = wallet_view('E1', pitstop, available=1250, pending=300, debt=40)
    usd = wallet_view('E1', support, available=1250, pending=300, debt=40)
    # Then: the value is available / rate in the program's currency; the debt is shown, and nothing is spendable until it is repaid
    assert (inr.value, inr.currency, inr.pending_value, inr.spendable, inr.debt) == (1250.0, 'INR', 300.0, 0, 40)
    assert (usd.value, usd.currency) == (125.0, 'USD')
    assert wallet_view('E1', pitstop, available=-5, pending=0).value == 0


@pytest.mark.parametrize(('language', 'words', 'points'), [('en', 'Your code', '1,000'), ('es', 'Su código', '1.000'),
                                                             ('hi', 'आपका कोड', '1,000'), ('id', 'Kode Anda', '1.000')])  # fmt: skip
def test_completed_notice_carries_the_code_in_the_persons_language(language: str, words: str, points: str) -> None:
    # Given a completed voucher of 1,000 points; Then the notice reads in the person's language, points grouped as they write them
    line = texts.completed_line(language, 1000, 'ABCD-1234', datetime(2027, 10, 12, tzinfo=UTC), None)
    assert words in line and 'ABCD-1234' in line and '2027-10-12' in line and f'({points} ' in line


@pytest.mark.parametrize('language', ['en', 'es', 'hi', 'id', 'fr'])
def test_queued_and_failed_notices_say_the_position_and_the_reason(language: str) -> None:
    assert '3' in texts.queued_line(language, 500, 3)
    failed = texts.failed_line(language, 500, 'denomination discontinued')
    assert 'denomination discontinued' in failed and '500' in failed


def test_a_provider_code_cannot_smuggle_a_link_or_a_second_line() -> None:
    line = texts.completed_line('en', 10, 'CODE\nvisit https://evil.example', None, None)
    assert '\n' not in line and 'https://' not in line


def _redemption(rid: str = 'r1', item_id: str = 'amazon-500') -> Redemption:
    return Redemption(redemption_id=rid, program_id='pitstop', program_ref='pitstop@1', employee_id='E1', item_id=item_id,
                      item_name='Amazon', kind=ItemKind.VOUCHER, provider='fake', quantity=1, unit_price=500, points=500,
                      catalogue_version=1, location_id='IN-BLR-01', month='2026-10', status=RedemptionStatus.RESERVED,
                      requested_at=AT, entry_id='D1')  # fmt: skip


def test_the_fake_provider_is_deterministic_and_fails_on_demand() -> None:
    fake = FakeProvider(fail={'broken': ProviderFailed('no stock at the provider', retryable=False)})
    first, again = fake.fulfil(_redemption()), fake.fulfil(_redemption())
    assert first == again and first.code and first.expires is not None
    assert fake.fulfil(_redemption('r2')).code != first.code
    with pytest.raises(ProviderFailed) as failed:
        fake.fulfil(_redemption(item_id='broken'))
    assert not failed.value.retryable


def test_a_real_provider_is_one_registration() -> None:
    class Giftbit:
        name = 'giftbit'

        def fulfil(self, redemption: Redemption) -> providers.Fulfilment:
            return providers.Fulfilment(reference=f'GB-{redemption.redemption_id}')

    try:
        providers.register('giftbit', Giftbit)
        assert 'giftbit' in providers.known()
        assert providers.provider('giftbit').fulfil(_redemption()).reference == 'GB-r1'
    finally:
        providers._FACTORIES.pop('giftbit', None)
        providers.reset()
    with pytest.raises(ProviderFailed):
        providers.provider('giftbit')


def test_points_issued_counts_new_credits_only() -> None:
    def record(kind: str, amount: int, event: str = 'INSERT') -> dict[str, object]:
        return {'eventName': event, 'dynamodb': {'NewImage': {'kind': {'S': kind}, 'amount': {'N': str(amount)}}}}

    records = [record('award', 100), record('recognition', 20), record('spot_award', 50), record('reversal', -30),
               record('redemption', -500), record('refund', 500), record('adjustment', -10), record('award', 5, 'MODIFY')]  # fmt: skip
    assert issued_points(records) == 170
    assert json.dumps(records)  # plain data


def test_points_issued_are_split_by_the_payees_locations() -> None:
    # Given: a stream batch crediting E1 (Bengaluru) 40 and 10, E2 (Pune) 25, E3 (location unknown) 5; a redemption debit
    from shared.wallet.metrics import issued_by_employee, issued_by_location

    def insert(pk: str, kind: str, amount: int) -> dict[str, object]:
        return {'eventName': 'INSERT', 'dynamodb': {'NewImage': {'pk': {'S': pk}, 'kind': {'S': kind}, 'amount': {'N': str(amount)}}}}

    records = [insert('EMP#E1', 'award', 40), insert('EMP#E1', 'recognition', 10), insert('EMP#E2', 'spot_award', 25),
               insert('EMP#E3', 'award', 5), insert('EMP#E1', 'redemption', -500), insert('EMP#E2', 'refund', 500)]
    # When: the issued points are summed per payee, then per location
    per_employee = issued_by_employee(records)
    by_location = issued_by_location(per_employee, {'E1': 'IN-BLR-01', 'E2': 'IN-PNQ-01'})
    # Then: credits of issuing kinds only (a refund gives back, it issues nothing), split by where the payees work
    assert per_employee == {'E1': 50, 'E2': 25, 'E3': 5}
    assert by_location == {'IN-BLR-01': 50, 'IN-PNQ-01': 25}
