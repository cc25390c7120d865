"""Bench figures of peer recognition (issue 14); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

- recognition_requests_per_give: DynamoDB requests of one recognition (`Recognitions.give`: the two people's profiles,
  the giver's counters, the idempotency record and the receiver's chain head in ONE BatchGetItem; the record, counters,
  feed items, index items, ledger entry, balance and notice in ONE TransactWriteItems), counted at botocore
  (tests/support/counting.py): the most any of GIVES recognitions between people of the workshop program needed (goal
  <= 4). Also printed: the mean, and what a retried idempotency key costs (recognition_requests_per_retry: the one read,
  which finds the first result).
- feed_read_requests_1k, feed_read_requests_100k: requests to read the first page (20 lines, names included) of a
  location feed holding 1,000 and 100,000 items: ONE Query (descending, Limit 20) and ONE BatchGetItem of the
  directory for the names of the people on the page. The goal is that they are equal (O(1) in the feed's length). The
  feed items are built by `shared.recognition.feed.feed_items` and put straight into moto's store (its backend's
  put_item, as tests/bench/leagues_live.py seeds its divisions), so the 100k drill takes seconds.

Runnable alone: `.venv/bin/python -c "import tests.bench.recognition as m; print(m.figures())"`.
"""

from __future__ import annotations

import os
import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

GIVES = 20
PEOPLE = 16
PAGE = 20
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)


def _directory() -> str:
    rows = ['employee_id,name,role,location_id,manager_id,time_zone,language']
    for i in range(PEOPLE):
        location = 'IN-BLR-01' if i % 2 else 'IN-PNQ-01'
        rows.append(f'T{i:03d},Person {i},technician,{location},M{i % 3},Asia/Kolkata,{("en", "hi", "es")[i % 3]}')
    return '\n'.join(rows) + '\n'


def give_figures() -> dict[str, Any]:
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.ledger.store import LedgerStore
    from shared.recognition.give import GiveRequest
    from shared.recognition.service import Recognitions
    from shared.recognition.store import RecognitionStore
    from tests.support.counting import count_requests
    from tests.support.local_aws import local_aws
    from tests.support.recognition import book

    rng = random.Random(1414)
    with local_aws():
        DirectoryStore().import_rows(parse_export(_directory(), 'csv'), NOW - timedelta(days=30))
        recognitions = Recognitions(RecognitionStore(), book)
        counts: list[int] = []
        requests: list[GiveRequest] = []
        for n in range(GIVES):
            giver, receiver = rng.sample(range(PEOPLE), 2)
            request = GiveRequest(giver_id=f'T{giver:03d}', receiver_id=f't{receiver:03d}', points=5, message=f'thanks #{n}',
                                  value='teamwork', idempotency_key=f'bench-{n}')  # fmt: skip
            with count_requests() as counter:
                result = recognitions.give(request, NOW + timedelta(seconds=n))
            assert not result.duplicate
            counts.append(counter.ddb_reads + counter.ddb_writes)
            requests.append(request)
        with count_requests() as counter:
            again = recognitions.give(requests[0], NOW + timedelta(minutes=5))
        assert again.duplicate
        retry = counter.ddb_reads + counter.ddb_writes
        received = sum(LedgerStore().balance(f'T{i:03d}', with_pending=False).available for i in range(PEOPLE))
        assert received == 5 * GIVES, received  # every recognition credited exactly once
        from tests.bench.capacity import metered

        metered_gives = 20
        with metered() as meter:  # the write units one recognition costs (sized as AWS bills them: tests/bench/capacity.py)
            for n in range(GIVES, GIVES + metered_gives):
                giver, receiver = rng.sample(range(PEOPLE), 2)
                recognitions.give(GiveRequest(giver_id=f'T{giver:03d}', receiver_id=f't{receiver:03d}', points=5, message=f'thanks #{n}',
                                              value='teamwork', idempotency_key=f'bench-{n}'), NOW + timedelta(seconds=n))  # fmt: skip
    return {'recognition_requests_per_give': max(counts), 'recognition_requests_per_give_mean': round(statistics.mean(counts), 2),
            'recognition_requests_per_retry': retry, 'recognition_wru_per_give': round(meter.write_units / metered_gives, 2),
            'recognition_rru_per_give': round(meter.read_units / metered_gives, 2)}  # fmt: skip


def _seed_feed(table: str, location: str, items: int) -> None:
    """`items` feed items of one location, newest last. The first goes through moto's put_item (validated, as a writer's
    would); the others are copies of it with their own sort key, ids and people, set into moto's table directly (moto
    builds an item attribute by attribute, re-measuring its size each time: ~0.3 ms, 30 s for 100,000)."""
    import copy

    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    from shared.recognition.feed import FeedEntry, feed_items

    def entry(n: int) -> FeedEntry:
        return FeedEntry(program_id='pitstop', recognition_id=f'{n:032x}', giver_id=f'T{n % PEOPLE:03d}', receiver_id=f'T{(n + 1) % PEOPLE:03d}',
                         points=5, value='teamwork', message='thanks for the help', receiver_location=location, month='2026-10',
                         recorded_at=NOW - timedelta(seconds=items - n))  # fmt: skip

    backend = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']]
    [first] = feed_items(entry(0))
    template = backend.put_item(table, first)
    partition = backend.get_table(table).items[template.hash_key]
    for n in range(1, items):
        recorded_at = (NOW - timedelta(seconds=items - n)).isoformat()
        item = copy.copy(template)
        item.attrs = dict(template.attrs)  # type: ignore[assignment]
        changed = {'sk': f'{recorded_at}#{n:032x}', 'recognition_id': f'{n:032x}', 'giver_id': f'T{n % PEOPLE:03d}',
                   'receiver_id': f'T{(n + 1) % PEOPLE:03d}'}  # fmt: skip
        for name, value in changed.items():
            item.attrs[name] = DynamoType({'S': value})
        item.range_key = item.attrs['sk']
        partition[item.range_key] = item


def feed_figures() -> dict[str, Any]:
    from shared.config import get_settings
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.recognition.feed import FeedReader, FeedRequest
    from shared.recognition.store import RecognitionStore
    from tests.support.counting import count_requests
    from tests.support.local_aws import local_aws

    figures: dict[str, Any] = {}
    for label, items in (('1k', 1_000), ('100k', 100_000)):
        with local_aws():
            DirectoryStore().import_rows(parse_export(_directory(), 'csv'), NOW - timedelta(days=30))
            store = RecognitionStore()
            _seed_feed(store.table, 'IN-BLR-01', items)
            reader = FeedReader(store.client, store.table, get_settings().DIRECTORY_TABLE)
            with count_requests() as counter:
                page = reader.page(FeedRequest(program_id='pitstop', location_id='IN-BLR-01', limit=PAGE))
            assert len(page.lines) == PAGE and page.cursor is not None
            assert page.lines[0].entry.recognition_id == f'{items - 1:032x}' and page.lines[0].giver_name  # newest first, named
            figures[f'feed_read_requests_{label}'] = counter.ddb_reads + counter.ddb_writes
    return figures


def figures() -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)
    from shared.observability import logger

    level = logger.log_level
    logger.setLevel('WARNING')  # a line per recognition is noise here
    try:
        return give_figures() | feed_figures()
    finally:
        logger.setLevel(level)
