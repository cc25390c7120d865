"""Bench figures of exactly-once redemptions (issue 14); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

- redemption_double_debits: under 1,000 concurrent redemption requests against a stock of 100, every request sent
  twice (500 people, one idempotency key each, each key sent twice, shuffled, 16 threads on moto with the local stack's
  transaction patches), the REDEMPTION debits beyond one per redemption id, plus the debits beyond the stock: goal 0.
  The debits are counted in the ledger itself (each person's entries), not in what the requests answered.
- redemption_fulfilled: the fulfilment worker's step run for every message the requests queued (the fake provider):
  the redemptions completed. Goal: exactly 100 (the stock).
- redemption_reserved, redemption_refused_out_of_stock, redemption_duplicates_answered: how the 1,000 requests were
  answered: 100 reserved, their 100 second copies answered as duplicates of the first (same redemption id, nothing
  written), and 800 refused out of stock with nothing debited (a refusal is not recorded, so the second copy of a
  refused key is refused again).
Everyone has enough points, the location budget is not capped (the budget's queue is tested in
tests/integration/test_redemptions.py), and each person's balance is checked: 1,000 − the price if they got a unit,
1,000 otherwise (redemption_balance_mismatches, goal 0).

Each request is ONE BatchGetItem (the redemption if its key was used, the stock counter, the balance with its chain
head, the profile) and, unless refused there, ONE TransactWriteItems. The stock counter read first only saves a doomed
transaction: the transaction's condition decides (under the race most of the 100 units are contested there).
Runnable alone: `.venv/bin/python -c "import tests.bench.redemption as m; print(m.figures())"` (about 16 s of CPU;
people are seeded straight into their balance items with BatchWriteItem, 25 a request).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PEOPLE = 500
STOCK = 100
PRICE = 100
THREADS = 8
NOW = datetime(2026, 10, 12, 6, 0, tzinfo=UTC)
EVENTS = Path(__file__).resolve().parents[2] / 'events'


def _directory() -> str:
    rows = ['employee_id,name,role,location_id,manager_id,phone,whatsapp_opt_in,email,time_zone,language,alert_channel']
    rows += [f'B{i:04d},Person {i},technician,IN-BLR-01,,+9198{i:08d},no,,Asia/Kolkata,{("en", "hi", "es")[i % 3]},' for i in range(PEOPLE)]
    return '\n'.join(rows) + '\n'


def figures() -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)
    from shared.alerts.store import AlertStore
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.dynamo import batch_get
    from shared.ledger.entries import EntryKind
    from shared.ledger.store import LedgerStore
    from shared.observability import logger
    from shared.programs.document import parse_program
    from shared.programs.loader import ProgramBook
    from shared.wallet import providers
    from shared.wallet.catalogue import parse_catalogue
    from shared.wallet.catalogue_loader import CatalogueBook
    from shared.wallet.providers.fake import FakeProvider
    from shared.wallet.redeem import RedeemRequest, Refused
    from shared.wallet.service import Redemptions, RedemptionsQueue
    from shared.wallet.store import RewardsStore
    from tests.support.local_aws import local_aws

    raw_program = json.loads((EVENTS / 'program_workshop.json').read_text())
    raw_program['wallet']['location_budget'] = None
    book = ProgramBook.of(parse_program(raw_program))
    catalogue = CatalogueBook.of(parse_catalogue(json.dumps({'program_id': 'pitstop', 'items': [
        {'item_id': 'bench-voucher', 'name': 'Amazon Pay voucher ₹100', 'kind': 'voucher', 'price_points': PRICE, 'stock': STOCK,
         'provider': 'fake', 'same_day': True}]}), providers.known()))  # fmt: skip
    level = logger.log_level
    logger.setLevel('WARNING')
    try:
        with local_aws() as aws:
            DirectoryStore().import_rows(parse_export(_directory(), 'csv'), NOW - timedelta(days=30))
            ledger = LedgerStore()
            people = [f'B{i:04d}' for i in range(PEOPLE)]
            # Everyone's balance: 1,000 available (BatchWriteItem of the balance items; their chains start at the debit).
            balances = ledger.balances.Meta.table_name
            for start in range(0, PEOPLE, 25):
                puts = [{'PutRequest': {'Item': {'pk': {'S': f'EMP#{p}'}, 'available': {'N': '1000'}}}} for p in people[start : start + 25]]
                aws.dynamodb.batch_write_item(RequestItems={balances: puts})
            providers.use('fake', FakeProvider())
            url = aws.queues['RedemptionsQueue']
            service = Redemptions(store=RewardsStore(), ledger=ledger, directory=DirectoryStore(), catalogues=lambda: catalogue,
                                  programs=lambda: book, alerts=AlertStore(), queue=RedemptionsQueue(url),
                                  on_complete=lambda redemption, now: None)  # fmt: skip
            requests = [RedeemRequest(program_id='pitstop', employee_id=p, item_id='bench-voucher', idempotency_key=f'key-{p}')
                        for p in people] * 2  # fmt: skip
            random.Random(14).shuffle(requests)

            def send(request: RedeemRequest) -> str:
                try:
                    answer = service.request(request, NOW)
                except Refused as refused:
                    return refused.code
                return 'duplicate' if answer['duplicate'] else str(answer['status'])

            with ThreadPoolExecutor(THREADS) as pool:
                answers = Counter(pool.map(send, requests))
            messages: list[str] = []
            while batch := aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', []):
                for message in batch:
                    messages.append(json.loads(message['Body'])['redemption_id'])
                    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message['ReceiptHandle'])
            with ThreadPoolExecutor(THREADS) as pool:
                outcomes = Counter(pool.map(lambda rid: service.fulfil(rid, NOW + timedelta(seconds=30)), messages))
            debits: Counter[str] = Counter()
            mismatches = 0
            keys = [(balances, {'pk': {'S': f'EMP#{p}'}}) for p in people]
            available = {item['pk']['S'][4:]: int(item['available']['N']) for _, item in batch_get(aws.dynamodb, keys)}
            for person in people:
                mine = [e for e in ledger.entries_for(person) if e.kind is EntryKind.REDEMPTION]
                debits.update(str(e.reason.inputs['redemption_id']) for e in mine)
                if available[person] != 1000 - PRICE * len(mine):
                    mismatches += 1
            issued = service.store.stock_issued('pitstop', 'bench-voucher')
    finally:
        logger.setLevel(level)
        providers.reset()
    double = sum(n - 1 for n in debits.values() if n > 1) + max(sum(debits.values()) - STOCK, 0)
    return {
        'redemption_double_debits': double,
        'redemption_fulfilled': outcomes.get('completed', 0),
        'redemption_reserved': answers.get('reserved', 0),
        'redemption_refused_out_of_stock': answers.get('out_of_stock', 0),
        'redemption_duplicates_answered': answers.get('duplicate', 0),
        'redemption_balance_mismatches': mismatches + (issued != sum(debits.values())),
    }
