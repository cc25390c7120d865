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


def rule_eval_us_100_rules(repeats: int = 2_000) -> float:
    """Median µs for the program engine to evaluate one ticket's state against 100 active event rules.

    Self-contained: one program document whose 100 rules span the ticket kinds (SLA, FCR, one-touch, surveys,
    reviews, callbacks, support SLA, upsell, penalties) with realistic conditions (channels, priorities, customer
    tiers, roles, job grades), multipliers and holds; a resolved, surveyed ticket of a senior agent with met SLA
    clocks. About half the rules pay. Timed with the document already validated (the loader does that once per
    version per container).
    """
    import statistics
    import time
    from datetime import UTC, datetime, timedelta

    from shared.directory.people import Employee
    from shared.events import Assignee, Channel, Priority, Source, Status, Survey, TicketEvent
    from shared.programs.document import parse_program
    from shared.programs.engine import evaluate
    from shared.programs.loader import ProgramBook
    from shared.sla.clock import ClockState, SlaReport, TargetClock
    from shared.sla.config import Location
    from shared.sla.policy import Metric
    from shared.tickets.state import fold

    t0 = datetime(2026, 10, 5, 14, tzinfo=UTC)
    fast = {'name': 'fast', 'factor': 1.5, 'input': 'sla_used_pct', 'max': 50}
    variants: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ('resolution_within_sla', {}, {'multipliers': [fast], 'hold_hours': 72}),
        ('first_response_within_sla', {}, {'multipliers': [fast]}),
        ('fcr', {}, {'hold_hours': 168}),
        ('one_touch', {}, {}),
        ('csat_positive', {}, {'multipliers': [{'name': 'delighted', 'factor': 1.5, 'input': 'csat', 'min': 5}]}),
        ('nps_promoter', {}, {}),
        ('positive_review', {}, {}),
        ('callback_within', {'within_minutes': 60}, {}),
        ('support_sla', {}, {}),
        ('upsell', {'mode': 'percent_of_revenue', 'percent': 2}, {'caps': {'month': 3000}}),
        ('sla_breach', {}, {}),
        ('reopen', {}, {}),
    ]
    conditions: list[dict[str, Any]] = [{}, {'channels': ['chat', 'email']}, {'priorities': ['high', 'urgent']}, {'customer_tiers': ['vip']},
                  {'roles': ['agent']}, {'job_grades': ['senior']}, {'channels': ['phone']}, {'locations': ['US-NYC', 'US-CHI']}]
    rules = []
    for n in range(100):
        kind, params, extra = variants[n % len(variants)]
        rules.append({'rule_id': f'r{n:03d}', 'kind': kind, 'points': 5 + n % 7, 'params': params,
                      'conditions': conditions[n % len(conditions)], **extra})
    doc = parse_program({'program_id': 'bench', 'name': 'Bench', 'time_zone': 'America/New_York', 'currency': 'USD',
                         'points_per_currency_unit': 10, 'starts_on': '2026-01-01', 'effective_from': '2026-01-01T00:00:00Z',
                         'scope': {'roles': ['agent', 'support']}, 'rules': rules})
    book = ProgramBook.of(doc)
    agent = Assignee(agent_key='ana@example.com')
    events = [
        TicketEvent(source=Source.ZENDESK, external_id='1', event_id='1', occurred_at=t0, created_at=t0, status=Status.OPEN,
                    channel=Channel.CHAT, priority=Priority.HIGH, assignees=(agent,), location_id='US-NYC', tags=('tier:vip',)),
        TicketEvent(source=Source.ZENDESK, external_id='1', event_id='2', occurred_at=t0 + timedelta(minutes=9), status=Status.PENDING,
                    first_response_at=t0 + timedelta(minutes=9), reply_count=1, agent_touches=1),
        TicketEvent(source=Source.ZENDESK, external_id='1', event_id='3', occurred_at=t0 + timedelta(hours=2), status=Status.SOLVED),
        TicketEvent(source=Source.SURVEY, external_id='1', event_id='4', occurred_at=t0 + timedelta(hours=5),
                    survey=Survey(response_id='R1', csat=5, nps=10, comment='Quick, kind and the refund was there the same day.')),
    ]
    state = fold(events)
    clocks = {
        Metric.FIRST_RESPONSE: TargetClock(metric=Metric.FIRST_RESPONSE, target_minutes=60, business_hours=True, state=ClockState.MET,
                                           started_at=t0, completed_at=t0 + timedelta(minutes=9), elapsed_s=540),
        Metric.RESOLUTION: TargetClock(metric=Metric.RESOLUTION, target_minutes=480, business_hours=True, state=ClockState.MET,
                                       started_at=t0, completed_at=t0 + timedelta(hours=2), elapsed_s=7200),
    }
    sla = SlaReport(policy_id='standard', policy_version=1, calendar_id='hours-us-nyc', priority=Priority.HIGH, clocks=clocks)
    employees = {'ana@example.com': Employee('E1', role='agent', job_grade='senior', location_id='US-NYC')}
    location = Location(location_id='US-NYC', region='US-East', calendar_id='hours-us-nyc')
    awards = evaluate(book, state, employees, sla, location)
    assert 30 <= len(awards) <= 80, len(awards)  # a realistic share of the rules pays
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        evaluate(book, state, employees, sla, location)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1e6, 1)


def figures() -> dict[str, Any]:
    """The issue-11 figures for `make bench`'s JSON line (tests/bench/run.py's EXTRA_FIGURE_MODULES hook)."""
    import os

    from tests.bench import holds

    out: dict[str, Any] = {'rule_eval_us_100_rules': round(rule_eval_us_100_rules(), 1)}
    out |= period_close_requests_per_employee()
    out |= holds.figures(float(os.environ.get('BENCH_HOLDS_SCALE', '0.15')))
    return out
