"""Peer recognition in the sample month, for `make run`'s summary: colleagues thank each other through the use case
the THANKS command and the recognition_give function call (`shared.recognition.service.Recognitions.give`), at moments
spread over the month (so allowances are the month's), then each location's feed head is printed, read as the feed
function reads it (one Query a page, names from the directory).

Who thanks whom is seeded: people the program admits thank a colleague at their own location, with points, a message
and a value of the program; some ask for more than their allowance or the pair cap allows, and are refused as anyone
would be (counted by reason). Run again on the same stack, the idempotency keys find the first results: nothing is
given twice.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

MESSAGES = ('stayed late to finish the job card', 'caught the brake fault on the test drive', 'covered my callbacks today',
            'explained the estimate so well the customer said yes', 'helped me with the escalation', 'kept the bay spotless')  # fmt: skip


def give_and_report(month: str, *, per_program: int = 40, seed: int = 1414, feed_lines: int = 5) -> dict[str, Any]:
    """Give up to `per_program` recognitions per program during `month` (yyyy-mm) and print each location's feed head."""
    from shared.config import get_settings
    from shared.directory.store import DirectoryStore
    from shared.dynamo import dynamodb_client
    from shared.programs.loader import load_programs
    from shared.recognition.feed import FeedReader, FeedRequest, lines_text
    from shared.recognition.give import GiveRequest, Member, RecognitionRefused, admits_giver, admits_receiver
    from shared.recognition.service import Recognitions
    from shared.recognition.store import RecognitionStore

    rng = random.Random(seed)
    book = load_programs()
    start = datetime.fromisoformat(f'{month}-02T06:00:00+00:00').astimezone(UTC)
    people = [Member(employee_id=r.employee_id, name=r.name, role=r.role, job_grade=r.job_grade, location_id=r.location_id,
                     region=r.region, manager_id=r.manager_id, active=bool(r.active), language=r.language or 'en')
              for r in DirectoryStore().profile.employees_index.query('EMPLOYEE')]  # fmt: skip
    recognitions = Recognitions(RecognitionStore(), lambda: book)
    given, refused = Counter[str](), Counter[str]()
    locations: dict[str, set[str]] = {}
    for program_id in book.programs:
        version = book.for_basis(program_id, start)
        if version is None or version.document.recognition is None:
            continue
        document, config = version.document, version.document.recognition
        givers = [p for p in people if admits_giver(document, p, start)]
        receivers = [p for p in people if admits_receiver(document, p, start)]
        for n in range(per_program):
            if not givers:
                break
            giver = rng.choice(givers)
            colleagues = [p for p in receivers if p.location_id == giver.location_id and p.employee_id != giver.employee_id]
            if not colleagues:
                continue
            receiver = rng.choice(colleagues)
            points = rng.choice([config.min_points, 10, 20, 25, 50, config.max_points or 50])
            at = start + timedelta(hours=rng.randint(0, 24 * 26))
            request = GiveRequest(program_id=program_id, giver_id=giver.employee_id, receiver_id=receiver.employee_id, points=points,
                                  message=rng.choice(MESSAGES), value=rng.choice(config.values).tag,
                                  idempotency_key=f'make-run-{month}-{program_id}-{n}')  # fmt: skip
            try:
                recognitions.give(request, at)
                given[program_id] += 1
                locations.setdefault(program_id, set()).add(str(receiver.location_id))
            except RecognitionRefused as refusal:
                refused[refusal.code] += 1
    settings = get_settings()
    reader = FeedReader(dynamodb_client(), settings.RECOGNITION_TABLE, settings.DIRECTORY_TABLE)
    print(f'\npeer recognition in {month}: {sum(given.values())} given {dict(given)}; refused {dict(refused) or "none"}')
    heads: dict[str, list[str]] = {}
    for program_id, where in sorted(locations.items()):
        for location in sorted(where):
            page = reader.page(FeedRequest(program_id=program_id, location_id=location, limit=feed_lines))
            heads[f'{program_id}/{location}'] = lines_text(page.lines, feed_lines)
            print(f'  feed {program_id} · {location} (newest first)')
            for line in heads[f'{program_id}/{location}']:
                print(f'    {line}')
    return {'given': dict(given), 'refused': dict(refused), 'feed_heads': len(heads)}
