"""The catalogue document: what validates, what is refused with the field named, where an item is offered, and the
pure redemption rules (refusals name the field; ids are deterministic)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.wallet import providers
from shared.wallet.catalogue import CatalogueInvalid, ItemKind, parse_catalogue
from shared.wallet.catalogue_loader import CatalogueBook
from shared.wallet.redeem import Person, RedeemRequest, Refused, check, debit_entry_id, redemption_id, refund_entry_id

EVENTS = Path(__file__).resolve().parents[3] / 'events'
NOW = datetime(2026, 10, 12, 6, 0, tzinfo=UTC)


def workshop() -> dict[str, Any]:
    return json.loads((EVENTS / 'catalogue_workshop.json').read_text())


@pytest.mark.parametrize('name', ['catalogue_workshop.json', 'catalogue_support.json'])
def test_shipped_catalogues_validate_with_every_kind_they_promise(name: str) -> None:
    # Given / When: a shipped catalogue parsed with the registered providers
    document = parse_catalogue((EVENTS / name).read_text(), providers.known())
    # Then: vouchers, leave and donations are offered; vouchers are same-day through a provider
    kinds = {item.kind for item in document.items}
    assert {ItemKind.VOUCHER, ItemKind.EXTRA_LEAVE, ItemKind.DONATION} <= kinds
    assert all(item.provider != 'manual' for item in document.items if item.same_day)


@pytest.mark.parametrize(
    ('change', 'field'),
    [
        (lambda d: d['items'][0].update(price_points=0), 'items.0.price_points'),
        (lambda d: d['items'][1].update(stock=-1), 'items.1.stock'),
        (lambda d: d['items'][0].update(kind='crypto'), 'items.0.kind'),
        (lambda d: d['items'][0].update(limit_period='week'), 'items.0.limit_period'),
        (lambda d: d['items'][1].update(item_id=d['items'][0]['item_id']), 'items.1.item_id'),
        (lambda d: d['items'][4].update(valid_until='2025-01-01T00:00:00+05:30'), 'items.4'),
        (lambda d: d['items'][3].update(same_day=True), 'items.3'),
        (lambda d: d['items'][0].update(provider='giftbit'), 'items.0.provider'),
        (lambda d: d.update(program_id='Not A Slug'), 'program_id'),
    ],
)
def test_a_bad_version_is_refused_with_the_field_named(change: Any, field: str) -> None:
    # Given: the workshop catalogue with one mistake
    document = workshop()
    change(document)
    # When / Then: refused, an error naming the field
    with pytest.raises(CatalogueInvalid) as refused:
        parse_catalogue(json.dumps(document), providers.known())
    assert any(error.startswith(field) or f'{field}.' in error for error in refused.value.errors), refused.value.errors


def test_not_json_is_refused() -> None:
    with pytest.raises(CatalogueInvalid) as refused:
        parse_catalogue('{"program_id": ', providers.known())
    assert refused.value.errors[0].startswith('(document): not JSON')


def test_items_are_offered_by_location_or_city_and_validity() -> None:
    # Given: the workshop catalogue (Bengaluru and Pune)
    document = parse_catalogue(json.dumps(workshop()), providers.known())
    # When: listing what each location can redeem now
    blr = {item.item_id for item in document.offered('IN-BLR-01', NOW)}
    pnq = {item.item_id for item in document.offered('IN-PNQ-01', NOW)}
    elsewhere = {item.item_id for item in document.offered('US-NYC', NOW)}
    # Then: the service discount is Bengaluru's; the fuel card both cities'; vouchers everywhere; the leave day until 2027
    assert 'service-20pct' in blr and 'service-20pct' not in pnq
    assert 'fuel-2000' in pnq and 'fuel-2000' not in elsewhere
    assert 'amazon-500' in elsewhere
    assert 'extra-leave-day' not in {item.item_id for item in document.offered('IN-BLR-01', datetime(2027, 2, 1, tzinfo=UTC))}


def test_ids_are_deterministic_per_program_person_and_key() -> None:
    rid = redemption_id('pitstop', 'E1', 'k')
    assert rid == redemption_id('pitstop', 'E1', 'k') != redemption_id('pitstop', 'E2', 'k') != redemption_id('pitstop', 'E1', 'k2')
    assert debit_entry_id(rid).startswith('D') and refund_entry_id(rid).startswith('F') and debit_entry_id(rid) != refund_entry_id(rid)


def _check(item_id: str, *, quantity: int = 1, available: int = 10_000, person: Person | None = None, at: datetime = NOW) -> str:
    book = CatalogueBook.of(parse_catalogue(json.dumps(workshop()), providers.known()))
    request = RedeemRequest(program_id='pitstop', employee_id='E1', item_id=item_id, quantity=quantity, idempotency_key='k')
    who = person if person is not None else Person('E1', True, 'IN-PNQ-01')
    try:
        return check(request, catalogue=book.get('pitstop'), person=who, available=available, now=at).item_id
    except Refused as refused:
        return f'{refused.code}:{refused.field}'


def test_the_pure_rules_refuse_with_the_field() -> None:
    assert _check('amazon-500') == 'amazon-500'
    assert _check('amazon-500', available=499) == 'insufficient:quantity'
    assert _check('amazon-500', quantity=5) == 'over_limit:quantity'
    assert _check('service-20pct') == 'not_offered:item_id'
    assert _check('extra-leave-day', at=datetime(2025, 12, 1, tzinfo=UTC)) == 'not_yet_valid:item_id'
    assert _check('extra-leave-day', at=datetime(2027, 1, 2, tzinfo=UTC)) == 'expired:item_id'
    assert _check('missing') == 'unknown_item:item_id'
    assert _check('amazon-500', person=Person('E1', False, 'IN-PNQ-01')) == 'inactive:employee_id'


def test_a_request_names_its_bad_field() -> None:
    with pytest.raises(ValueError, match='quantity'):
        RedeemRequest(program_id='pitstop', employee_id='E1', item_id='amazon-500', quantity=0, idempotency_key='k')
    with pytest.raises(ValueError, match='idempotency_key'):
        RedeemRequest(program_id='pitstop', employee_id='E1', item_id='amazon-500', idempotency_key='')
