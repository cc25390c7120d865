"""Bench figures of the collusion check (issue 14, part collusion flags); wired in tests/bench/run.py
(EXTRA_FIGURE_MODULES).

A program month of 1,000 recognitions among 200 people at 5 locations (random thanks, plus a planted reciprocal pair, a
3-ring and a concentration) is seeded as location feed items (the FEED item format of design14), then the daily check
runs on moto, its requests counted at botocore (tests/support/counting.py):
- collusion_flags_requests_per_location: Query requests of the location feeds per location (one page holds ~1 MB of feed
  items: one request up to a few thousand recognitions a location and month);
- collusion_flags_run_requests: every DynamoDB request of the run (the directory Query, the feeds, the month's known
  flags, one transaction per flag raised);
- collusion_flags_raised: flags raised (at least the three planted ones);
- collusion_flags_recognitions: the recognitions judged (all 1,000: the month's sort-key range in the program's zone);
- collusion_flags_rerun_writes: DynamoDB writes of the same run again (goal 0: nothing new, nothing written, nobody told
  twice).
(moto answers each feed Query in ~0.7 s here: the drill's ~15 s are moto's, not the check's.)
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOCATIONS = ('L1', 'L2', 'L3', 'L4', 'L5')
PEOPLE = 200
RECOGNITIONS = 1_000
MONTH_START = datetime(2026, 11, 2, tzinfo=UTC)
RUN_AT = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)


def figures() -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings; run.py has it already)
    from shared.directory.employees import EmployeeRow
    from shared.directory.store import DirectoryStore
    from shared.leagues.roster import Roster
    from shared.programs.document import parse_program
    from shared.programs.loader import ProgramBook
    from shared.recognition.flag_run import CollusionJudge
    from shared.recognition.flag_store import FlagStore
    from shared.sla.calendar import ALWAYS_OPEN
    from shared.sla.config import Location, ServiceConfig
    from tests.support.counting import count_requests
    from tests.support.local_aws import local_aws

    rng = random.Random(14)
    document = json.loads((ROOT / 'events' / 'program_support.json').read_text())
    document['scope']['locations'] = list(LOCATIONS)
    program = parse_program(json.dumps(document))
    config = ServiceConfig(calendars=[ALWAYS_OPEN], locations=[Location(location_id=loc, calendar_id='24x7') for loc in LOCATIONS])
    people = [f'P{index:03d}' for index in range(PEOPLE)]
    location = {person: LOCATIONS[index % len(LOCATIONS)] for index, person in enumerate(people)}
    manager = {person: f'P{(index // 10) * 10:03d}' for index, person in enumerate(people)}  # teams of 10, led by their first
    rows = [EmployeeRow(employee_id=p, name=p, role='agent', location_id=location[p], manager_id=manager[p] if manager[p] != p else None)
            for p in people]  # fmt: skip
    gifts: list[tuple[str, str, int]] = []
    while len(gifts) < RECOGNITIONS - 13:
        giver, receiver = rng.sample(people, 2)
        gifts.append((giver, receiver, 5))
    gifts += [('P011', 'P012', 100), ('P012', 'P011', 100)]  # reciprocal: 2/3 of a 150 allowance each way
    gifts += [('P021', 'P032', 40), ('P032', 'P043', 40), ('P043', 'P021', 40)]  # a 3-ring across teams
    gifts += [(f'P05{n}', 'P155', 100) for n in range(1, 9)]  # concentration: most of team P050's points

    with local_aws() as aws:
        DirectoryStore().import_rows(rows, datetime(2026, 10, 1, tzinfo=UTC))
        store = FlagStore()
        items = []
        for index, (giver, receiver, points) in enumerate(gifts):
            at = MONTH_START + timedelta(minutes=10 * index + 7)
            rid = f'R{index:05d}'
            items.append({'PutRequest': {'Item': {
                'pk': {'S': f'FEED#{program.program_id}#L#{location[receiver]}'}, 'sk': {'S': f'{at.isoformat()}#{rid}'},
                'recognition_id': {'S': rid}, 'giver_id': {'S': giver}, 'receiver_id': {'S': receiver}, 'points': {'N': str(points)},
                'value': {'S': 'teamwork'}, 'message': {'S': 'Thanks for the help with the escalation today'}, 'kind': {'S': 'thanks'},
                'month': {'S': '2026-11'}, 'giver_location': {'S': location[giver]}, 'receiver_location': {'S': location[receiver]},
                'giver_team': {'S': manager[giver]}, 'receiver_team': {'S': manager[receiver]}}}})  # fmt: skip
        for start in range(0, len(items), 25):
            aws.dynamodb.batch_write_item(RequestItems={store.table: items[start : start + 25]})
        judge = CollusionJudge(Roster(), store, config)
        book = ProgramBook.of(program)
        with count_requests() as first:
            run = judge.run(book, RUN_AT)
        with count_requests() as again:
            judge.run(book, RUN_AT + timedelta(hours=1))
    [report] = run.months
    return {
        'collusion_flags_requests_per_location': round(report.requests_per_location, 2),
        'collusion_flags_run_requests': first.dynamodb({'Query', 'PutItem', 'UpdateItem', 'TransactWriteItems', 'GetItem', 'BatchGetItem'}),
        'collusion_flags_raised': report.raised,
        'collusion_flags_rerun_writes': again.ddb_writes,
        'collusion_flags_recognitions': report.recognitions,
    }


if __name__ == '__main__':
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)

    print(json.dumps(figures(), indent=1))
