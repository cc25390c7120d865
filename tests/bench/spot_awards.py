"""Bench figures of managers' spot awards (issue 14); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

- spot_award_requests: DynamoDB requests of one award written at once (`SpotAwards.award`), counted at botocore
  (tests/support/counting.py): the idempotency read, the directory (receiver, giver and the receiver's manager chain,
  each person read once), the budget, the receiver's chain head, ONE TransactWriteItems (budget, award, person index,
  entry, balance, notice, two feed items) and the budget read for the answer;
- spot_approval_requests: the same for an award above the approval amount, requested then approved (two calls);
- spot_budget_overspend_points, spot_budget_awarded: SPOT_CONCURRENT awards of 10 points from one manager, on 8 threads,
  to 10 people, against a budget of SPOT_BUDGET points: the points awarded beyond the budget (goal 0) and how many were
  awarded (goal SPOT_BUDGET / 10 exactly: the budget is used up, never exceeded).
Runs alone: `.venv/bin/python -c "import tests.bench.spot_awards as m; print(m.figures())"`.
"""

from __future__ import annotations

import json
import statistics
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SPOT_CONCURRENT = 120
SPOT_BUDGET = 600
PEOPLE = [f'W{n}' for n in range(1, 11)]
DIRECTORY = 'employee_id,name,role,location_id,manager_id,time_zone,language\n' + '\n'.join(
    [f'{p},Worker {p},technician,IN-BLR-01,M1,Asia/Kolkata,en' for p in PEOPLE]
    + ['M1,Maria Manager,workshop_manager,IN-BLR-01,D1,Asia/Kolkata,es', 'D1,Dana Director,regional_manager,IN-BLR-01,,Asia/Kolkata,en']
)


def _service(budget: int) -> Any:
    from shared.directory.store import DirectoryStore
    from shared.programs.document import parse_program
    from shared.programs.loader import ProgramBook
    from shared.recognition.spot_service import SpotAwards
    from shared.recognition.spot_store import SpotStore

    document = json.loads((ROOT / 'events' / 'program_workshop.json').read_text())
    document['spot_awards'] |= {'monthly_budget': budget}
    book = ProgramBook.of(parse_program(document))
    return SpotAwards(SpotStore(), DirectoryStore(), programs=lambda pid, at: book.latest(pid))


def _request(employee: str, points: int, key: str) -> Any:
    from shared.recognition.spot import SpotRequest

    return SpotRequest(program_id='pitstop', manager_id='M1', employee_id=employee, points=points, reason_id='hazard_reporting',
                       message='Reported the loose cable', idempotency_key=key)  # fmt: skip


def figures() -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.ledger.approvals import Actor
    from shared.ledger.store import LedgerStore
    from shared.recognition.spot import SpotRefused
    from shared.recognition.spot_store import SpotStore
    from tests.support.counting import count_requests
    from tests.support.local_aws import local_aws

    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    console = Actor(via='console', reference='bench')
    checker = Actor(via='iam', principal='arn:aws:sts::123456789012:assumed-role/PitcrewManagers/D1', reference='bench')
    out: dict[str, Any] = {}
    with local_aws():
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), now)
        awards = _service(100_000)
        singles, approvals = [], []
        for n in range(5):
            with count_requests() as counter:
                awards.award(_request(PEOPLE[n], 50, f'single-{n}'), console, now)
            singles.append(counter.dynamodb({'GetItem', 'Query', 'BatchGetItem', 'TransactWriteItems', 'PutItem', 'UpdateItem'}))
            with count_requests() as counter:
                requested = awards.award(_request(PEOPLE[n], 500, f'large-{n}'), console, now)
                awards.decide(requested.award_id, True, None, checker, now)
            approvals.append(counter.dynamodb({'GetItem', 'Query', 'BatchGetItem', 'TransactWriteItems', 'PutItem', 'UpdateItem'}))
        out['spot_award_requests'] = int(statistics.median(singles))
        out['spot_approval_requests'] = int(statistics.median(approvals))
    with local_aws():
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), now)
        awards = _service(SPOT_BUDGET)

        def give(n: int) -> bool:
            try:
                awards.award(_request(PEOPLE[n % len(PEOPLE)], 10, f'race-{n}'), console, now)
                return True
            except SpotRefused:
                return False

        with ThreadPoolExecutor(max_workers=8) as pool:
            awarded = sum(pool.map(give, range(SPOT_CONCURRENT)))
        credited = sum(LedgerStore().balance(p).available for p in PEOPLE)
        used = SpotStore().used('pitstop', 'M1', '2026-12')
        out['spot_budget_overspend_points'] = max(credited - SPOT_BUDGET, used - SPOT_BUDGET, 0)
        out['spot_budget_awarded'] = awarded
    return out
