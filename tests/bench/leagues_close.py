"""Bench figures of the monthly league close (issue 12); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

One close of the shipped Pitstop league (events/program_workshop.json: divisions by role x region, prizes for 3
ranks, 4 trophies, a challenge for advisors and one for technicians) over 5,000 people on moto, run through its two
handlers as deployed: the coordinator (LeagueCloseFunction), then LeagueCloseQueue's messages one per invocation to
the division worker (LeagueCloseDivisionFunction). 5,000 people at IN-BLR-01 (South) and IN-PNQ-01 (West): 40 %
technicians, 40 % service advisors, 20 % support staff, so 6 divisions; 85 % have a score item (as the league scorer
writes it), of whom most are qualified, and everyone a KPI month item with random counters (about a third meet their
challenge). Every request is counted at botocore (tests/support/counting.py) and metered (tests/bench/capacity.py).

- league_close_requests_per_employee: DynamoDB + SQS requests of the whole close ÷ people (goal <= 4); the SQS
  requests include the receive and delete of each division message as Lambda's poller makes them.
- league_close_rerun_writes: DynamoDB writes + SQS messages sent by a second close of the same month from the console
  (goal 0).
- league_close_wru_per_employee: sized write units of the close ÷ people (the snapshot, rosters, marker, and the
  payment transactions: 2x per item, an entry and a balance per person paid).
- league_close_modeled_s_50k: modeled wall time for 50,000 people in one program (goal <= 300), at 10 ms per request.
  The close has two sequential stages: the coordinator, then the divisions, which run in parallel (one message and one
  Lambda each), so the largest division bounds the second stage. Worst case: all 50,000 people in ONE division. From
  the per-person rates measured here:
      coordinator  = c x 50,000 requests               (c: its requests per person: directory pages, rosters, marker)
      division     = w x 50,000 + (p x 50,000) / T      (w: the worker's non-payment requests per person: score/KPI
                                                          BatchGetItem, snapshot; p: payment transactions per person;
                                                          T = LEAGUE_PAY_THREADS = 8 transactions in flight)
      modeled_s    = (coordinator + division) x 10 ms
  The division stage must also fit one Lambda (900 s): that is league_close_modeled_s_50k minus the coordinator's part.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EMPLOYEES = 5_000
MODEL_PEOPLE = 50_000
SECONDS_PER_REQUEST = 0.010
MONTH = '2026-10'
ROOT = Path(__file__).resolve().parents[2]


def _people(rng: random.Random) -> list[Any]:
    from shared.directory.employees import EmployeeRow

    rows = []
    for i in range(EMPLOYEES):
        role = ('technician', 'service_advisor', 'support')[0 if i % 5 < 2 else 1 if i % 5 < 4 else 2]
        region, location = (('IN-South', 'IN-BLR-01'), ('IN-West', 'IN-PNQ-01'))[rng.random() < 0.5]
        rows.append(EmployeeRow(employee_id=f'P{i:05d}', name=f'Bench {i}', role=role, location_id=location, region=region))
    return rows


def _scores(rows: list[Any], rng: random.Random) -> tuple[list[Any], dict[str, dict[str, int]]]:
    from tests.support.league_close import Score

    scores, kpis = [], {}
    for row in rows:
        jobs = rng.randint(0, 30)
        if rng.random() < 0.85:
            scores.append(Score(row.employee_id, f'{row.role}|{row.region}', rng.randint(-50, 3000), items=jobs, qualified=jobs >= 3,
                                reached_at=f'2026-10-{rng.randint(1, 31):02d}T{rng.randint(0, 23):02d}:00:00+00:00',
                                entries=rng.randint(1, 200), digest=f'{rng.getrandbits(64):016x}'))
        responses = rng.randint(0, 12)
        kpis[row.employee_id] = {'j': jobs, 'ta_n': jobs, 'ta_s': jobs * rng.randint(2, 8) * 3600, 'zd': jobs - rng.randint(0, 1),
                                 'ftf_n': jobs, 'ftf_ok': jobs - rng.randint(0, 2), 'pd_n': jobs, 'pd_ok': jobs - rng.randint(0, 1),
                                 'cs_n': responses, 'cs_g': max(0, responses - rng.randint(0, 2)), 'srs_br': rng.randint(0, 2)}
    return scores, kpis


def figures() -> dict[str, Any]:
    import pytest

    from functions.league_close import app as coordinator
    from shared.directory.store import DirectoryStore
    from shared.leagues.close_run import PAY_THREADS
    from shared.programs.document import parse_program
    from shared.programs.loader import ProgramBook, ProgramVersion
    from tests.bench.capacity import metered
    from tests.support.apigw import lambda_context
    from tests.support.counting import count_requests
    from tests.support.league_close import bind_handlers, deliver, seed_scores
    from tests.support.local_aws import local_aws

    rng = random.Random(12)
    program = parse_program((ROOT / 'events' / 'program_workshop.json').read_text())
    monkeypatch = pytest.MonkeyPatch()
    try:
        with local_aws() as aws:
            queue = aws.queues['LeagueCloseQueue']
            bind_handlers(lambda: ProgramBook({'pitstop': [ProgramVersion(1, program)]}), monkeypatch, queue)
            rows = _people(rng)
            DirectoryStore().import_rows(rows, datetime(2026, 10, 1, tzinfo=UTC))
            scores, kpis = _scores(rows, rng)
            seed_scores(aws.dynamodb, 'pitstop', MONTH, scores, kpis)

            started = time.perf_counter()
            with count_requests() as counter, metered() as meter:
                with count_requests() as coordinator_counter:
                    answer = coordinator.lambda_handler({'program_id': 'pitstop', 'month': MONTH}, lambda_context())
                with count_requests() as worker_counter:
                    _, failures = deliver(aws.sqs, queue)
            seconds = time.perf_counter() - started
            with count_requests() as rerun:
                again = coordinator.lambda_handler({'program_id': 'pitstop', 'month': MONTH}, lambda_context())
            announced = _winner_notices(aws.dynamodb)
    finally:
        monkeypatch.undo()

    def total(c: Any, services: tuple[str, ...] = ('dynamodb', 'sqs')) -> int:
        return sum(n for (service, _), n in c.calls.items() if service in services)

    # The worker's transactions: one per person paid (8 in flight) and, for the announcement, one per winner's notice
    # (written one after another: counted with the worker's sequential requests).
    payments = worker_counter.calls[('dynamodb', 'TransactWriteItems')] - announced
    c = total(coordinator_counter) / EMPLOYEES
    w = (total(worker_counter) - payments) / EMPLOYEES
    p = payments / EMPLOYEES
    coordinator_s = c * MODEL_PEOPLE * SECONDS_PER_REQUEST
    division_s = (w * MODEL_PEOPLE + p * MODEL_PEOPLE / PAY_THREADS) * SECONDS_PER_REQUEST
    sent = rerun.calls[('sqs', 'SendMessageBatch')] + rerun.calls[('sqs', 'SendMessage')]
    assert answer['ok'] and again.get('finalized') and failures == 0, (answer, again)
    return {
        'league_close_requests_per_employee': round(total(counter) / EMPLOYEES, 3),
        'league_close_rerun_writes': rerun.ddb_writes + sent,
        'league_close_modeled_s_50k': round(coordinator_s + division_s, 1),
        'league_close_wru_per_employee': round(meter.write_units / EMPLOYEES, 3),
        'league_close_requests': dict(sorted((f'{s}:{op}', n) for (s, op), n in counter.calls.items())),
        'league_close_model_per_employee': {'coordinator': round(c, 4), 'worker_other': round(w, 4), 'payments': round(p, 4),
                                            'pay_threads': PAY_THREADS},
        'league_close_divisions': answer['divisions'],
        'league_close_people_paid': payments,
        'league_close_winner_notices': announced,
        'league_close_seconds_moto': round(seconds, 1),
    }


def _winner_notices(dynamodb: Any) -> int:
    """Winners' notices the announcement wrote (their sent markers `SENT#<employee>#result` in the close's partition)."""
    import os

    params: dict[str, Any] = {'TableName': os.environ['LEAGUES_TABLE'], 'KeyConditionExpression': 'pk = :pk AND begins_with(sk, :sent)',
                              'ExpressionAttributeValues': {':pk': {'S': f'CLOSE#pitstop#{MONTH}'}, ':sent': {'S': 'SENT#'}},
                              'ProjectionExpression': 'sk'}
    found = 0
    while True:
        page = dynamodb.query(**params)
        found += sum(1 for item in page['Items'] if item['sk']['S'].endswith('#result'))
        if 'LastEvaluatedKey' not in page:
            return found
        params['ExclusiveStartKey'] = page['LastEvaluatedKey']


if __name__ == '__main__':
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)

    print(json.dumps(figures(), indent=1))
