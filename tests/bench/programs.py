"""Bench figures of the program engine (issue 11); each function is self-contained (run from tests/bench/run.py)."""

from __future__ import annotations

from typing import Any


def period_close_requests_per_employee(employees: int = 5_000) -> dict[str, Any]:
    """DynamoDB requests (and sized write/read units) of one period close over `employees` people ÷ people (goal ≤ 3).

    Self-contained: 5,000 agents in 50 teams in moto's directory, each with a KPI month item and an earnings
    item; a program with an accelerator (SLA compliance bands on the month's resolution points), a CSAT bonus
    and a team bonus; one scheduled close counted at botocore (tests/support/counting.py) and metered
    (tests/bench/capacity.py). Most people earn something, so the close writes one transaction per person.
    """
    import os
    import random
    import time
    from datetime import UTC, date, datetime, timedelta

    from shared.directory.employees import EmployeeRow
    from shared.directory.store import DirectoryStore
    from shared.programs.period_close import close_due
    from shared.programs.period_store import PeriodStore
    from tests.bench.capacity import metered
    from tests.support.counting import count_requests
    from tests.support.local_aws import local_aws
    from tests.support.period_programs import ACCELERATOR, CSAT_BONUS, TEAM_BONUS, book, program

    rng = random.Random(11)
    month = '2026-10'
    with local_aws() as aws:
        rows = [EmployeeRow(employee_id=f'B{i:05d}', name=f'Bench {i}', role='agent', location_id='NYC', manager_id=f'T{i % 50:02d}')
                for i in range(employees)]
        DirectoryStore().import_rows(rows, datetime(2026, 10, 1, tzinfo=UTC))
        puts: list[dict[str, Any]] = []
        kpi, balances = os.environ['KPI_TABLE'], os.environ['BALANCES_TABLE']
        for row in rows:
            met = rng.randint(15, 40)
            counters = {'sfr_met': met, 'srs_br': rng.randint(0, 3), 'cs_n': rng.randint(3, 12), 'fr_n': 10, 'fr_s': 6000}
            counters['cs_g'] = counters['cs_n'] - rng.randint(0, 1)
            item = {'pk': {'S': f'employee#{row.employee_id}'}, 'sk': {'S': month}} | {k: {'N': str(v)} for k, v in counters.items()}
            puts.append({kpi: item})
            earned = {'pk': {'S': f'EARN#bench#{row.employee_id}#{month}'}, 'r_resolution_within_sla': {'N': str(met * 5)},
                      'n_resolution_within_sla': {'N': str(met)}}
            puts.append({balances: earned})
        for team in range(50):
            item = {'pk': {'S': f'team#T{team:02d}'}, 'sk': {'S': month}, 'fr_n': {'N': '1000'}, 'fr_s': {'N': str(rng.randint(900, 3000) * 1000)},
                    'rs_n': {'N': '1000'}, 'rs_s': {'N': str(rng.randint(5000, 40000) * 1000)}}
            puts.append({kpi: item})
        for start in range(0, len(puts), 25):
            request: dict[str, list[dict[str, Any]]] = {}
            for put in puts[start : start + 25]:
                ((table, item),) = put.items()
                request.setdefault(table, []).append({'PutRequest': {'Item': item}})
            aws.dynamodb.batch_write_item(RequestItems=request)

        prog = program('bench', [ACCELERATOR, CSAT_BONUS, TEAM_BONUS], starts_on=date(2026, 10, 1))
        started = time.perf_counter()
        with count_requests() as counter, metered() as meter:
            run = close_due(PeriodStore(), book((1, prog)), datetime(2026, 11, 4, tzinfo=UTC), timedelta(hours=72))
        seconds = time.perf_counter() - started
    (report,) = run.closed
    requests = sum(n for (service, _), n in counter.calls.items() if service == 'dynamodb')
    return {
        'period_close_requests_per_employee': round(requests / employees, 3),
        'period_close_requests': dict(sorted((op, n) for (service, op), n in counter.calls.items() if service == 'dynamodb')),
        'period_close_employees_paid': report.employees_paid,
        'period_close_entries': report.entries_written,
        'period_close_wru_per_employee': round(meter.write_units / employees, 2),
        'period_close_rru_per_employee': round(meter.read_units / employees, 3),
        'period_close_seconds_moto': round(seconds, 1),
    }
