"""The payroll payout on AWS (moto: DynamoDB and S3): cash-out requests validated and stored without a debit; at the
period end one export per program: a PAYOUT debit per request (referencing the file), the SAP HR CSV and its manifest
(checksum) in the payouts bucket, a run item; a re-run writes byte-identical files and no second debit."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.payout_export import app as export_app
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import LedgerStore
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook
from shared.wallet.payout import CSV_COLUMNS, PayoutRefused, Payouts, payout_id_for
from shared.wallet.payout_store import PayoutStore
from tests.support.apigw import lambda_context
from tests.support.local_aws import local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'
OCTOBER = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 07:30 on 1 November in Kolkata: October has ended there


@dataclass
class World:
    payouts: Payouts
    store: PayoutStore
    ledger: LedgerStore
    s3: Any

    def credit(self, employee_id: str, points: int) -> None:
        reason = EntryReason(ticket_key='test', source_event_id=f'c-{employee_id}', basis_event_id='c', rule_id='bonus', rule_version=1,
                             program_id='pitstop@1')
        self.ledger.append_adjustment(LedgerEntry(entry_id=f'C{employee_id}', employee_id=employee_id, amount=points, kind=EntryKind.ADJUSTMENT,
                                                  status=EntryStatus.AVAILABLE, reason=reason, occurred_at=OCTOBER, recorded_at=OCTOBER))

    def file(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=os.environ['PAYOUTS_BUCKET'], Key=key)['Body'].read()
        return body

    def payouts_of(self, employee_id: str) -> list[LedgerEntry]:
        return [e for e in self.ledger.entries_for(employee_id) if e.kind is EntryKind.PAYOUT]


def programs() -> ProgramBook:
    return ProgramBook.of(*(parse_program((EVENTS / name).read_text()) for name in ('program_workshop.json', 'program_support.json')))


@pytest.fixture()
def world() -> Iterator[World]:
    with local_aws():
        ledger = LedgerStore()
        store = PayoutStore(ledger=ledger)
        payouts = Payouts(store=store, available=store.available, programs=programs, personnel_numbers=store.personnel_numbers)
        yield World(payouts, store, ledger, boto3.client('s3', region_name=os.environ['AWS_DEFAULT_REGION']))


def test_a_cash_out_request_is_validated_and_stored_without_a_debit(world: World) -> None:
    # Given E1 has 800 points in the pitstop program (minimum cash-out 100)
    world.credit('E1', 800)

    # When E1 asks for too few, too many, then 500 points
    refused = []
    for points in (50, 900):
        with pytest.raises(PayoutRefused) as caught:
            world.payouts.request_cash_out('pitstop', 'E1', points, OCTOBER)
        refused.append((caught.value.code, caught.value.field))
    request = world.payouts.request_cash_out('pitstop', 'E1', 500, OCTOBER)

    # Then the first two are refused naming the field, the third is stored for October (Kolkata) and nothing is debited
    assert refused == [('below_minimum', 'points'), ('insufficient_points', 'points')]
    assert (request.period, request.status) == ('2026-10', 'requested')
    assert [r.points for r in world.store.requests('pitstop', '2026-10')] == [500]
    assert world.ledger.balance('E1').available == 800


def test_the_export_debits_each_request_writes_the_csv_and_manifest_and_a_rerun_is_byte_identical(world: World) -> None:
    # Given three cash-out requests in October: E1 500 of 800, E2 300 of 300, E3 400 but then spends down to 250
    for employee_id, points in (('E1', 800), ('E2', 300), ('E3', 400)):
        world.credit(employee_id, points)
    world.payouts.request_cash_out('pitstop', 'E1', 500, OCTOBER)
    world.payouts.request_cash_out('pitstop', 'E2', 300, OCTOBER)
    world.payouts.request_cash_out('pitstop', 'E3', 400, OCTOBER)
    reason = EntryReason(ticket_key='t', source_event_id='spend', basis_event_id='s', rule_id='redeem', rule_version=1)
    world.ledger.append_adjustment(LedgerEntry(entry_id='SPEND3', employee_id='E3', amount=-150, kind=EntryKind.REDEMPTION,
                                               status=EntryStatus.AVAILABLE, reason=reason, occurred_at=OCTOBER, recorded_at=OCTOBER))

    # When October's export runs, then runs again (the console re-run)
    first = world.payouts.export('pitstop', '2026-10', AFTER)
    csv_1, manifest_1 = world.file(first.key), world.file(first.manifest_key)
    second = world.payouts.export('pitstop', '2026-10', datetime(2026, 11, 3, tzinfo=UTC))
    csv_2, manifest_2 = world.file(second.key), world.file(second.manifest_key)

    # Then each request is one PAYOUT debit (E3: what was available), referencing the file and the period, and no second
    assert [len(world.payouts_of(e)) for e in ('E1', 'E2', 'E3')] == [1, 1, 1]
    [e3] = world.payouts_of('E3')
    assert e3.amount == -250 and e3.entry_id == payout_id_for('pitstop', '2026-10', 'E3')
    assert e3.reason.inputs['file_key'] == 'payouts/pitstop/2026-10/payout.csv' and e3.reason.inputs['period'] == '2026-10'
    assert [world.ledger.balance(e).available for e in ('E1', 'E2', 'E3')] == [300, 0, 0]
    assert (first.debits_written, second.debits_written) == (3, 0)
    # and the re-run wrote byte-identical files
    assert (csv_1, manifest_1) == (csv_2, manifest_2)
    # The CSV: SAP HR's columns, one row per person, amounts in rupees (1 point = 1 INR), the entry as the reference
    rows = list(csv.reader(io.StringIO(csv_1.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1:] == [
        ['E1', '9PIN', '500.00', 'INR', '2026-10', payout_id_for('pitstop', '2026-10', 'E1')],
        ['E2', '9PIN', '300.00', 'INR', '2026-10', payout_id_for('pitstop', '2026-10', 'E2')],
        ['E3', '9PIN', '250.00', 'INR', '2026-10', payout_id_for('pitstop', '2026-10', 'E3')],
    ]
    # The manifest: rows, totals, the CSV's SHA-256, generated at the period's end (midnight in Kolkata), not wall time
    manifest = json.loads(manifest_1)
    assert manifest['sha256'] == hashlib.sha256(csv_1).hexdigest() == first.sha256
    assert (manifest['rows'], manifest['total_points'], manifest['total_amount'], manifest['currency']) == (3, 1050, '1050.00', 'INR')
    assert manifest['generated_at'] == '2026-10-31T18:30:00+00:00'
    run = world.store.run('pitstop', '2026-10')
    assert run is not None and run['sha256'] == first.sha256
    # A request for the exported period is refused
    with pytest.raises(PayoutRefused) as caught:
        world.payouts.request_cash_out('pitstop', 'E1', 100, datetime(2026, 10, 31, 12, tzinfo=UTC))
    assert caught.value.code == 'period_exported'


def test_amounts_convert_at_the_program_rate(world: World) -> None:
    # Given the support program (USD, 10 points = $1) and a request of 1,005 points
    world.credit('E2', 2000)
    world.payouts.request_cash_out('ecommerce_support', 'E2', 1005, OCTOBER)

    # When October ends in New York and the export runs
    summary = world.payouts.export('ecommerce_support', '2026-10', datetime(2026, 11, 1, 5, tzinfo=UTC))

    # Then the row pays $100.50 (2 decimals, half up)
    rows = list(csv.reader(io.StringIO(world.file(summary.key).decode())))
    assert rows[1][1:4] == ['9PUS', '100.50', 'USD']
    assert (summary.total_amount, summary.currency) == ('100.50', 'USD')


def test_points_owed_for_a_clawback_cannot_be_cashed_out(world: World) -> None:
    # Given E1 has 300 points available and owes 100 from a clawback (repaid from them as soon as the stream delivers)
    world.credit('E1', 300)
    world.ledger.balances('EMP#E1').update(actions=[world.ledger.balances.debt.add(100)])

    # When E1 asks to cash out 250, then 200
    with pytest.raises(PayoutRefused) as caught:
        world.payouts.request_cash_out('pitstop', 'E1', 250, OCTOBER)
    request = world.payouts.request_cash_out('pitstop', 'E1', 200, OCTOBER)

    # Then 250 is refused (200 can be cashed out), 200 is accepted
    assert (caught.value.code, caught.value.message) == ('insufficient_points', '250 points asked, 200 available')
    assert request.points == 200


def test_the_personnel_number_is_the_directorys_where_it_has_one(world: World) -> None:
    # Given E1's directory profile carries SAP personnel number 00012345 (E2's has none), and both cash out
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from tests.support.factories import DIRECTORY_CSV

    DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), OCTOBER)
    boto3.client('dynamodb', region_name=os.environ['AWS_DEFAULT_REGION']).update_item(
        TableName=os.environ['DIRECTORY_TABLE'], Key={'pk': {'S': 'EMP#E1'}, 'sk': {'S': 'PROFILE'}},
        UpdateExpression='SET personnel_number = :n', ExpressionAttributeValues={':n': {'S': '00012345'}})
    for employee_id in ('E1', 'E2'):
        world.credit(employee_id, 300)
        world.payouts.request_cash_out('pitstop', employee_id, 200, OCTOBER)

    # When October is exported
    summary = world.payouts.export('pitstop', '2026-10', AFTER)

    # Then E1's row carries the personnel number, E2's the employee id (rows sorted by the number)
    rows = list(csv.reader(io.StringIO(world.file(summary.key).decode())))
    assert [r[0] for r in rows[1:]] == ['00012345', 'E2']
    assert rows[1][5] == payout_id_for('pitstop', '2026-10', 'E1')


def test_an_open_period_and_a_bad_request_are_refused_with_the_field_named(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the export function bound to this test's tables and programs
    export_app.payouts.cache_clear()
    monkeypatch.setattr(export_app, 'payouts', lambda: world.payouts)

    # When it is asked for a period that has not ended, a malformed one, and an unknown program
    open_period = export_app.lambda_handler({'program_id': 'pitstop', 'period': '2999-01'}, lambda_context())
    malformed = export_app.lambda_handler({'program_id': 'pitstop', 'period': '2026-13'}, lambda_context())
    unknown = export_app.lambda_handler({'program_id': 'nope', 'period': '2026-10'}, lambda_context())
    console = export_app.lambda_handler(json.loads((EVENTS / 'payout_export.json').read_text()), lambda_context())

    # Then each is refused naming the field, and the console's test event exports (an empty period: no rows)
    assert (open_period['ok'], open_period['field']) == (False, 'period')
    assert (malformed['ok'], malformed['field']) == (False, 'period')
    assert (unknown['ok'], unknown['field']) == (False, 'program_id')
    assert console['ok'] is True and console['rows'] == 0 and console['key'] == 'payouts/pitstop/2026-10/payout.csv'


def test_make_run_reports_each_programs_payout_and_shows_the_rerun_is_identical(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the two shipped programs published under PROGRAMS_PATH, the directory, and points in each program's ledger
    from infrastructure.local.stack import invoke
    from infrastructure.payouts import payout_and_report
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.programs.loader import clear_cache
    from tests.support.factories import DIRECTORY_CSV
    from tests.support.local_aws import _reset_caches

    with local_aws():
        ssm = boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])
        for name in ('program_workshop.json', 'program_support.json'):
            document = json.loads((EVENTS / name).read_text())
            ssm.put_parameter(Name=f'/pitcrew/test/programs/{document["program_id"]}', Value=json.dumps(document), Type='String')
        os.environ['PROGRAMS_PATH'] = '/pitcrew/test/programs'
        try:
            _reset_caches()
            clear_cache()
            export_app.payouts.cache_clear()
            DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), OCTOBER)
            ledger = LedgerStore()
            for employee_id, program, points in (('E3', 'pitstop@1', 900), ('E4', 'pitstop@1', 400), ('E1', 'ecommerce_support@1', 3000)):
                reason = EntryReason(ticket_key='t', source_event_id=employee_id, basis_event_id='b', rule_id='bonus', rule_version=1,
                                     program_id=program)
                ledger.append_adjustment(LedgerEntry(entry_id=f'C{employee_id}', employee_id=employee_id, amount=points, kind=EntryKind.ADJUSTMENT,
                                                     status=EntryStatus.AVAILABLE, reason=reason, occurred_at=OCTOBER, recorded_at=OCTOBER))

            # When make run's payout step runs for October
            figures = payout_and_report('2026-10', invoke)
        finally:
            os.environ.pop('PROGRAMS_PATH', None)
            export_app.payouts.cache_clear()
            _reset_caches()
            clear_cache()

    # Then each program paid half of what its people had, and the re-run wrote the same file and no second debit
    assert {program: (f['rows'], f['total_points'], f['total_amount'], f['rerun_identical']) for program, f in figures.items()} == {
        'pitstop': (2, 650, '650.00', True), 'ecommerce_support': (1, 1500, '150.00', True)}
    out = capsys.readouterr().out
    assert 'pitstop 2026-10: 2 rows, 650 points = 650.00 INR, sha256 ' in out and 're-run: same file, no second debit' in out
