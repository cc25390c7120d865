"""The period close on DynamoDB (moto): bonuses paid into the ledger and balances from the KPI and
earnings items, the close marker, reruns that pay nothing twice, a close interrupted between two
people and run again, deductions that stop at the floor, and the requests a close makes per person."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from functions.period_close import app
from shared.directory.employees import EmployeeRow
from shared.directory.store import DirectoryStore
from shared.ledger.store import LedgerStore
from shared.programs.period_close import close_due, close_month, rerun
from shared.programs.period_store import PeriodStore, close_marker_pk
from tests.support.apigw import lambda_context
from tests.support.counting import count_requests
from tests.support.local_aws import LocalAws, local_aws
from tests.support.period_programs import ACCELERATOR, CSAT_BONUS, TEAM_BONUS, book, program

MONTH = '2026-10'
BUILT_AT = datetime(2026, 10, 1, tzinfo=UTC)
AFTER_GRACE = '2026-11-04T00:10:00Z'
PROGRAM = program('support', [ACCELERATOR, CSAT_BONUS, TEAM_BONUS], starts_on=date(2026, 10, 1))


def row(employee_id: str, manager: str | None = 'M1', role: str = 'agent') -> EmployeeRow:
    return EmployeeRow(employee_id=employee_id, name=f'Person {employee_id}', role=role, location_id='NYC', manager_id=manager)


def put_kpi(aws: LocalAws, pk: str, counters: dict[str, int], month: str = MONTH) -> None:
    item = {'pk': {'S': pk}, 'sk': {'S': month}} | {name: {'N': str(value)} for name, value in counters.items()}
    aws.dynamodb.put_item(TableName=os.environ['KPI_TABLE'], Item=item)


def put_earnings(aws: LocalAws, employee_id: str, points: dict[str, int], program_id: str = 'support') -> None:
    item = {'pk': {'S': f'EARN#{program_id}#{employee_id}#{MONTH}'}} | {f'r_{rule}': {'N': str(v)} for rule, v in points.items()}
    aws.dynamodb.put_item(TableName=os.environ['BALANCES_TABLE'], Item=item)


def ledger_state(employee_ids: list[str]) -> dict[str, tuple[int, list[int]]]:
    """Per employee: (available balance, amounts of their entries)."""
    ledger = LedgerStore()
    return {e: (ledger.balance(e).available, sorted(x.amount for x in ledger.entries_for(e))) for e in employee_ids}


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as local:
        app._store = None  # the handler's store is per warm container: bind it to this test's tables
        DirectoryStore().import_rows([row('E1'), row('E2'), row('E3', manager='M2'), row('M1', manager=None, role='manager')], BUILT_AT)
        # E1: SLA 95% (x1.5 on 200 points) and a perfect CSAT month; E2: SLA 92% (x1.2 on 100); E3: no KPIs
        put_kpi(local, 'employee#E1', {'sfr_met': 19, 'srs_br': 1, 'cs_n': 6, 'cs_g': 6, 'cs_sum': 30})
        put_kpi(local, 'employee#E2', {'sfr_met': 23, 'srs_br': 2})
        put_kpi(local, 'team#M1', {'fr_n': 10, 'fr_s': 6000, 'rs_n': 10, 'rs_s': 60000})  # 10 min, 100 min
        put_earnings(local, 'E1', {'resolution_within_sla': 200, 'csat_positive': 30})
        put_earnings(local, 'E2', {'resolution_within_sla': 100})
        yield local


EXPECTED = {'E1': (100 + 50 + 25, [25, 50, 100]), 'E2': (20 + 25, [20, 25]), 'E3': (0, []), 'M1': (0, [])}


def scheduled(time: str = AFTER_GRACE) -> dict[str, Any]:
    return {'version': '0', 'detail-type': 'Scheduled Event', 'source': 'aws.events', 'time': time, 'detail': {}}


def test_scheduled_close_pays_the_months_bonuses_once(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: the support program with an accelerator, a CSAT bonus and a team bonus
    monkeypatch.setattr(app, '_book', lambda: book((1, PROGRAM)))
    # When: the hourly schedule fires after October's end plus the grace period
    answer = app.lambda_handler(scheduled(), lambda_context())
    # Then: October is closed: E1 gets 100 (SLA) + 50 (CSAT) + 25 (team), E2 20 + 25; E3 and the manager nothing
    (report,) = answer['closed']
    assert (report['month'], report['employees_paid'], report['entries_written'], report['points']) == (MONTH, 2, 5, 220)
    assert ledger_state(list(EXPECTED)) == EXPECTED
    # And: the close marker is written
    marker = aws.dynamodb.get_item(TableName=os.environ['BALANCES_TABLE'], Key={'pk': {'S': close_marker_pk('support', MONTH)}})
    assert marker['Item']['points'] == {'N': '220'}
    # When: the next hourly run, and a console rerun of the month
    again = app.lambda_handler(scheduled('2026-11-04T01:10:00Z'), lambda_context())
    console = app.lambda_handler({'program_id': 'support', 'period': MONTH}, lambda_context())
    # Then: the schedule closes nothing more; the rerun finds every entry paid; the balances are unchanged
    assert again['closed'] == []
    assert console['closed'][0]['already_paid'] == 5 and console['closed'][0]['entries_written'] == 0
    assert ledger_state(list(EXPECTED)) == EXPECTED


def test_a_close_before_the_grace_period_ends_waits(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: a run 2 days after October ended (grace 72 h)
    monkeypatch.setattr(app, '_book', lambda: book((1, PROGRAM)))
    # When / Then: October is not closed and nothing is paid
    assert app.lambda_handler(scheduled('2026-11-02T00:10:00Z'), lambda_context())['closed'] == []
    assert ledger_state(['E1'])['E1'] == (0, [])


def test_a_close_interrupted_between_people_pays_each_once_when_run_again(aws: LocalAws) -> None:
    # Given: a store whose second payment transaction fails (the Lambda timed out between two people)
    store = PeriodStore()
    calls = {'n': 0}
    original = store.client.transact_write_items

    def failing_second(**kwargs: Any) -> Any:
        calls['n'] += 1
        if calls['n'] == 2:
            raise TimeoutError('Lambda timed out')
        return original(**kwargs)

    store.client.transact_write_items = failing_second
    now = datetime(2026, 11, 4, tzinfo=UTC)
    with pytest.raises(TimeoutError):
        close_due(store, book((1, PROGRAM)), now, app._grace())
    # Then: E1 is paid, E2 not, and no close marker
    assert ledger_state(['E1', 'E2']) == {'E1': EXPECTED['E1'], 'E2': (0, [])}
    assert PeriodStore().closed([('support', MONTH)]) == set()
    # When: the next hourly run
    run = close_due(PeriodStore(), book((1, PROGRAM)), now, app._grace())
    # Then: E1's entries are found written, E2 is paid; every balance equals its entries, each paid once
    assert (run.closed[0].already_paid, run.closed[0].entries_written) == (3, 2)
    assert ledger_state(list(EXPECTED)) == EXPECTED


def test_a_rule_added_later_is_paid_alone_on_rerun(aws: LocalAws) -> None:
    # Given: October closed with the CSAT bonus only
    now = datetime(2026, 11, 4, tzinfo=UTC)
    close_month(PeriodStore(), program('support', [CSAT_BONUS]), 1, MONTH, now)
    # When: version 2 adds the accelerator and October is re-run from the console
    report = rerun(PeriodStore(), book((1, program('support', [CSAT_BONUS])), (2, PROGRAM)), 'support', MONTH, now)
    # Then: the CSAT entry is skipped, the new ones are written in the same per-person transaction
    assert report.already_paid == 1
    assert ledger_state(list(EXPECTED)) == EXPECTED


def test_a_deduction_stops_at_the_floor(aws: LocalAws) -> None:
    # Given: an accelerator with x0.5 below 99% (a deduction of half the points) and E2 holding 20 points
    aws.dynamodb.put_item(TableName=os.environ['BALANCES_TABLE'], Item={'pk': {'S': 'EMP#E2'}, 'available': {'N': '20'}})
    prog = program('support', [ACCELERATOR | {'bands': [{'min': 0, 'max': 99, 'factor': 0.5}]}])
    # When: closing October (E2 earned 100 points at 92%: -50)
    close_month(PeriodStore(), prog, 1, MONTH, datetime(2026, 11, 4, tzinfo=UTC))
    # Then: E2 loses 20 (the balance stops at 0) and the entry says 30 were not deducted
    (entry,) = LedgerStore().entries_for('E2')
    assert (entry.amount, entry.reason.inputs['unrecovered_points'], LedgerStore().balance('E2').available) == (-20, 30, 0)


def test_requests_per_person_are_a_query_page_a_batch_share_and_one_transaction_per_earner(aws: LocalAws) -> None:
    # Given: 150 more agents in two teams, each with KPIs and earnings (SLA 100%: x1.5 on 10 points)
    more = [row(f'A{i:03d}', manager='M1' if i % 2 else 'M2') for i in range(150)]
    DirectoryStore().import_rows([row('E1'), row('E2'), row('E3', manager='M2'), row('M1', manager=None, role='manager'), *more], BUILT_AT)
    for person in more:
        put_kpi(aws, f'employee#{person.employee_id}', {'sfr_met': 10})
        put_earnings(aws, person.employee_id, {'resolution_within_sla': 10})
    people = 154
    book_ = book((1, PROGRAM))
    # When: closing October, counting DynamoDB requests
    with count_requests() as counter:
        run = close_due(PeriodStore(), book_, datetime(2026, 11, 4, tzinfo=UTC), app._grace())
    # Then: one Query page of the directory; BatchGetItem for the markers and for the keys, 100 keys a request
    #       (employee KPI + earnings per person, 2 team items), and for the earners' ledger chain heads; one transaction
    #       per person who earns; one marker update
    (report,) = run.closed
    keys = 2 * people + 2
    assert report.reads == keys
    assert counter.calls[('dynamodb', 'Query')] == 1
    assert counter.calls[('dynamodb', 'BatchGetItem')] == 1 + -(-keys // 100) + -(-report.employees_paid // 100)
    assert counter.calls[('dynamodb', 'GetItem')] == 0  # no payment found its head moved
    assert counter.calls[('dynamodb', 'TransactWriteItems')] == report.employees_paid == 152
    assert counter.calls[('dynamodb', 'UpdateItem')] == 1
    assert counter.calls[('dynamodb', 'Scan')] == 0
    assert sum(n for (service, _), n in counter.calls.items() if service == 'dynamodb') / people < 1.05


@pytest.mark.parametrize(
    ('event', 'field'),
    [({'program_id': 'support', 'period': '2026-13'}, 'period'), ({'period': MONTH}, 'program_id'),
     ({'program_id': 'nope', 'period': MONTH}, 'program_id'), ({'time': 'yesterday'}, 'time')],
    ids=['bad-month', 'no-program', 'unknown-program', 'bad-time'],
)
def test_a_bad_console_event_is_refused_naming_the_field(aws: LocalAws, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any],
                                                        field: str) -> None:
    # Given: a console event with a bad or missing value
    monkeypatch.setattr(app, '_book', lambda: book((1, PROGRAM)))
    # When: invoking the function
    answer = app.lambda_handler(event, lambda_context())
    # Then: refused with the field named, nothing paid
    assert (answer['ok'], answer['field']) == (False, field)
    assert ledger_state(['E1'])['E1'] == (0, [])


SUPPORT_DOCUMENT = {
    'program_id': 'support',
    'name': 'Support incentives',
    'time_zone': 'America/New_York',
    'currency': 'USD',
    'points_per_currency_unit': 10,
    'period': 'monthly',
    'starts_on': '2026-10-01',
    'effective_from': '2026-10-01T00:00:00-04:00',
    'rules': [{'rule_id': 'resolution_within_sla', 'kind': 'resolution_within_sla', 'points': 10}],
    'period_rules': [ACCELERATOR, CSAT_BONUS, TEAM_BONUS],
}


def test_the_scheduled_close_reads_programs_from_parameter_store(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: the support program as an SSM parameter under PROGRAMS_PATH (the loader, not a local book)
    import boto3

    from shared.config import get_settings
    from shared.programs.loader import clear_cache

    path = '/pitcrew/test/programs'
    boto3.client('ssm', region_name='us-east-1').put_parameter(Name=f'{path}/support', Value=json.dumps(SUPPORT_DOCUMENT), Type='String')
    monkeypatch.setenv('PROGRAMS_PATH', path)
    get_settings.cache_clear()
    clear_cache()
    # When: the schedule fires after October ended in New York plus the grace period
    answer = app.lambda_handler(scheduled('2026-11-04T05:10:00Z'), lambda_context())
    # Then: October is closed with version 1 of the document, paying what the local book paid
    (report,) = answer['closed']
    assert (report['program_id'], report['month'], report['version'], report['points']) == ('support', MONTH, 1, 220)
    assert ledger_state(list(EXPECTED)) == EXPECTED
    (entry, *_) = LedgerStore().entries_for('E2')
    assert entry.reason.program_id == 'support@1'
    clear_cache()
