"""Bench drills for the program engine's ledger: it must not churn, and the hold release must read only what is due.

- ledger_entries_shuffled_ratio: the sample month (both example programs, every source) processed twice on a
  simulated clock with the hold release running every simulated 15 minutes: once clean (each change once, in
  the order it happened), once with every ticket's changes shuffled within their arrival window (a day) and a
  third of them delivered twice. Ledger entries written by the shuffled month ÷ by the clean month (goal 1.0),
  and whether the two ledgers are the same entries (ids, amounts, rules).
- hold_release_read_ratio: holds-index items the release read ÷ awards it released, over the same clean month
  (goal ≤ 1.2).
- hold_release_wru_per_award, hold_release_wru_per_event: write units (capacity.py's sizing) of the release's transactions per award released
  (the ticket rewritten, the pending item deleted, the entry, the balance and the earnings counter).
- sample_month_people_with_zero_points_by_role: people who end the clean month with no available points, by role
  (managers are outside both programs).
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS_PATH = '/pitcrew/bench/programs'
SHUFFLE_WINDOW = timedelta(hours=24)
RELEASE_EVERY = timedelta(minutes=15)


def canonical_events(scale: float) -> tuple[Any, list[Any]]:
    """The clean sample month as canonical events (parsed by the real adapters), and the month itself."""
    from infrastructure.local.sample_month import generate
    from shared.sources import get_adapter
    from shared.sources.base import WebhookRequest

    month = generate(seed=2026, scale=scale, clean=True)
    events = []
    for delivery in month.deliveries:
        if delivery.expect != 'accepted' or delivery.forged:
            continue
        headers = {'Content-Type': 'application/json'}
        query = {'token': 'x'} if delivery.source == 'salesforce' else {}
        result = get_adapter(delivery.source).parse(WebhookRequest(body=delivery.body, headers=headers, query=query), delivery.at)
        events.extend(result.events)
    return month, events


def _setup_stack(month: Any, now: datetime) -> None:
    import boto3

    from infrastructure.local.sample_month import service_config
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore

    ssm = boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])
    ssm.put_parameter(Name='/pitcrew/bench/service-config', Value=json.dumps(service_config()), Type='String', Overwrite=True)
    for name in ('program_support.json', 'program_workshop.json'):
        document = json.loads((ROOT / 'events' / name).read_text())
        ssm.put_parameter(Name=f'{PROGRAMS_PATH}/{document["program_id"]}', Value=json.dumps(document), Type='String', Overwrite=True)
    os.environ['SERVICE_CONFIG_PARAMETER'] = '/pitcrew/bench/service-config'
    os.environ['PROGRAMS_PATH'] = PROGRAMS_PATH
    os.environ['HOLD_SHARDS'] = '1'
    from tests.support.local_aws import _reset_caches

    _reset_caches()
    DirectoryStore().import_rows(parse_export(month.directory_csv(), 'csv'), now)


def _replay(arrivals: list[tuple[datetime, Any]], month: Any, meter_release: bool = False) -> dict[str, Any]:
    """Process (arrival time, event) in arrival order on a simulated clock, releasing every RELEASE_EVERY; then
    release everything still pending after the month. Returns the ledger entries and the release's read count."""
    from shared.directory.store import DirectoryStore
    from shared.ledger.holds import release_due
    from shared.ledger.store import LedgerStore
    from shared.tickets.processing import TicketProcessor
    from tests.bench.capacity import metered
    from tests.support.local_aws import local_aws

    arrivals = sorted(arrivals, key=lambda pair: pair[0])
    start = arrivals[0][0]
    with local_aws():
        _setup_stack(month, start)
        processor = TicketProcessor(tickets=_tickets(), directory=DirectoryStore(), ledger=LedgerStore())
        read = released = 0
        release_wru = 0.0
        next_release = start + RELEASE_EVERY

        def release(at: datetime) -> None:
            nonlocal read, released, release_wru
            if meter_release:
                with metered() as meter:
                    run = release_due(processor.tickets, processor, at)
                release_wru += meter.write_units
            else:
                run = release_due(processor.tickets, processor, at)
            read, released = read + run.index_items_read, released + run.awards_released

        for at, event in arrivals:
            while at >= next_release:
                release(next_release)
                next_release += RELEASE_EVERY
            processor.apply(event, at)
        release(arrivals[-1][0] + timedelta(days=120))
        entries = [entry for person in month.employees for entry in processor.ledger.entries_for(person.employee_id)]
        pending = sum(processor.ledger.pending_points(person.employee_id) for person in month.employees)
        points = {person.employee_id: processor.ledger.balance(person.employee_id).available for person in month.employees}
    return {'entries': entries, 'index_items_read': read, 'awards_released': released, 'pending_left': pending, 'points': points,
            'release_wru': release_wru}


def _tickets() -> Any:
    from shared.tickets.store import TicketStore

    return TicketStore()


def shuffled_arrivals(events: Iterable[Any], seed: int = 7) -> list[tuple[datetime, Any]]:
    """Each ticket's events regrouped by day of its life; within a day the arrival times are permuted among the
    day's events, and a third of them arrive a second time at another of those times."""
    rng = random.Random(seed)
    by_ticket: dict[str, list[Any]] = defaultdict(list)
    for event in events:
        by_ticket[event.ticket_key].append(event)
    arrivals: list[tuple[datetime, Any]] = []
    for ticket_events in by_ticket.values():
        first = min(e.occurred_at for e in ticket_events)
        windows: dict[int, list[Any]] = defaultdict(list)
        for event in ticket_events:
            windows[int((event.occurred_at - first) / SHUFFLE_WINDOW)].append(event)
        for group in windows.values():
            times = [e.occurred_at for e in group]
            rng.shuffle(times)
            arrivals.extend(zip(times, group, strict=True))
            for event in group:
                if rng.random() < 1 / 3:
                    arrivals.append((rng.choice(times), event))
    return arrivals


def _signature(entries: list[Any]) -> list[tuple[str, str, int, str, str]]:
    return sorted((e.entry_id, e.employee_id, e.amount, e.reason.rule_id, e.reason.basis_event_id) for e in entries)


def figures(scale: float = 0.5) -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)

    month, events = canonical_events(scale)
    clean = _replay([(event.occurred_at, event) for event in events], month, meter_release=True)
    shuffled = _replay(shuffled_arrivals(events), month)
    roles: dict[str, int] = defaultdict(int)
    zero_roles: dict[str, int] = defaultdict(int)
    for person in month.employees:
        roles[person.role] += 1
        if clean['points'].get(person.employee_id, 0) <= 0 and person.role != 'manager':
            zero_roles[person.role] += 1
    return {
        'ledger_entries_shuffled_ratio': round(len(shuffled['entries']) / max(len(clean['entries']), 1), 4),
        'ledger_shuffled_same_entries': _signature(clean['entries']) == _signature(shuffled['entries']),
        'ledger_entries_clean': len(clean['entries']),
        'ledger_entries_shuffled': len(shuffled['entries']),
        'sample_events': len(events),
        'hold_release_read_ratio': round(clean['index_items_read'] / max(clean['awards_released'], 1), 4),
        'hold_release_awards': clean['awards_released'],
        'hold_release_wru_per_award': round(clean['release_wru'] / max(clean['awards_released'], 1), 2),
        'hold_release_wru_per_event': round(clean['release_wru'] / max(len(events), 1), 3),
        'sample_month_pending_left_after_release': clean['pending_left'],
        'sample_month_people_with_zero_points_by_role': dict(zero_roles),
        'sample_month_people_by_role': dict(roles),
    }


if __name__ == '__main__':
    print(json.dumps(figures(float(os.environ.get('BENCH_HOLDS_SCALE', '0.15')))))
