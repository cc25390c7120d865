"""The payroll export's files, pure (shared/wallet/payout.py): amounts converted at the program's rate with 2 decimals,
rows sorted whatever the order they came in, SAP HR's columns, and a manifest whose checksum is the CSV's and whose
time is the period's end, so the same rows always give the same bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

from shared.wallet.payout import CSV_COLUMNS, PayoutRow, build_csv, build_manifest, currency_amount, period_end, period_of


def row(person: str, points: int, rate: float = 10.0) -> PayoutRow:
    return PayoutRow(personnel_number=person, wage_type='9PUS', amount=str(currency_amount(points, rate)), currency='USD',
                     period='2026-10', reference=f'P{person}', points=points)


def test_amounts_convert_at_the_rate_with_two_decimals_half_up() -> None:
    assert currency_amount(1005, 10) == Decimal('100.50')
    assert currency_amount(1, 3) == Decimal('0.33') and currency_amount(2, 3) == Decimal('0.67')
    assert currency_amount(500, 1) == Decimal('500.00')


def test_the_csv_is_sorted_with_a_header_and_the_same_rows_give_the_same_bytes() -> None:
    rows = [row('00000042', 300), row('00000007', 1005)]
    body = build_csv(rows)
    assert body == build_csv(list(reversed(rows)))
    assert body.decode().splitlines() == [','.join(CSV_COLUMNS), '00000007,9PUS,100.50,USD,2026-10,P00000007',
                                          '00000042,9PUS,30.00,USD,2026-10,P00000042']


def test_the_manifest_holds_the_checksum_totals_and_the_period_end() -> None:
    rows = [row('A', 1005), row('B', 300)]
    body = build_csv(rows)
    end = period_end('2026-10', 'America/New_York')
    manifest, summary = build_manifest('ecommerce_support', '2026-10', rows, body, 'USD', end)
    data = json.loads(manifest)
    assert data['sha256'] == hashlib.sha256(body).hexdigest() == summary.sha256
    assert (data['rows'], data['total_points'], data['total_amount']) == (2, 1305, '130.50')
    assert data['generated_at'] == '2026-11-01T04:00:00+00:00' and data['file'] == 'payouts/ecommerce_support/2026-10/payout.csv'
    assert manifest == build_manifest('ecommerce_support', '2026-10', rows, body, 'USD', end)[0]


def test_the_period_is_the_month_in_the_programs_zone() -> None:
    late_utc = datetime(2026, 10, 31, 20, 0, tzinfo=UTC)  # already November in Kolkata, still October in New York
    assert (period_of('Asia/Kolkata', late_utc), period_of('America/New_York', late_utc)) == ('2026-11', '2026-10')
