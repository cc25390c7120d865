"""Cost per million ticket events at the brief's design scale (§7: 50,000 people, 1,500 locations, 100 events/s, so
8.64 M events a day), counting every function that runs because events arrive; wired in tests/bench/run.py
(EXTRA_FIGURE_MODULES). Runnable alone: `.venv/bin/python -m tests.bench.cost_model`.

- cost_usd_per_million_events_design_scale: Lambda requests and GB-s, DynamoDB write/read units and SQS billed requests
  of every writer, per million events, at tests/bench/run.py's prices. Goal <= 5.
- cost_usd_per_million_events_design_scale_breakdown: the same per function, each with its lambda_requests, lambda_gb_s,
  ddb (USD per million events) and the units behind them (wru, rru and invocations per event; sqs requests per event).
- cost_model_stream_wru_per_event: each stream reader's write units per event; cost_model_ticket_records_per_event and
  cost_model_ledger_records_per_event: stream records per event (the readers' input); cost_model_assumptions: the
  measured ratios below.

Measured on moto with tests/bench/capacity.py's `metered()` (units sized from the stored items as AWS bills them;
every item of a TransactWriteItems costs 2 WRU per KB):
1. webhook_ingest + ticket_processor: `hot_path()` (tests/bench/run.py: redeliveries, SQS batches as Lambda's poller
   makes them) at HOT_TICKETS tickets, costed as `cost_per_million()` costs it, without its stream-reader share; run
   as run.py's main runs it (no programs parameter), any write to the program engine's tables left to item 2.
2. A slice of the sample month (infrastructure/local/sample_month.py at SLICE_SCALE, both shipped programs, every
   source, clean) processed by the ticket processor with the hold release on a simulated clock
   (tests/bench/leagues_live.py's drill), from which are measured: events per ticket, ticket stream records per event,
   the share of records that change a KPI contribution, ledger entries per event; the program engine's writes in the
   processor (ENGINE_TABLES: ledger, balances, held awards, ...; the tickets table is the hot path's) and its reads
   beyond the hot path's; the
   hold release per event; the league scorer's handler over the ledger stream and the debt recovery's handler over the
   balances stream as their event sources deliver them (BatchSize, FilterCriteria of template.yaml); the alert planner
   (run.py's `alert_planner_units`, with any extra keys its owner adds, each '*wru' key counted as write units).
3. The KPI aggregator at design-scale dispersion: the slice's own KPI changes (real counters, creations and updates)
   re-scoped to random places among 1,500 locations in 150 regions and 50,000 people in 5,000 teams (each ticket its
   own draw, the same for its before and after), applied by `KpiStore.apply` in the batches Lambda would deliver at
   100 events/s. The batch: min(BatchSize, records per shard per batching window, 6 MB / mean record size) with
   STREAM_SHARDS shards; the changes in it: its records x the share that change a contribution. To keep the drill
   short, batch and populations are divided by the same factor (KPI_SCALED_BATCH changes a batch): the chance that a
   scope repeats within a batch depends on batch / population only. (The store writes a batch in runs of at most 99
   items, one transaction each, and at this dispersion a run of ~25 changes shares almost nothing but the
   organisation's items: the batch size barely matters, README "Service levels and KPIs".)

Measured ratios (printed each run in cost_model_assumptions; at SLICE_SCALE 0.03: 287 events of 110 tickets): 2.6 events
a ticket; 1.52 tickets-stream records an event (the processor's write, and the hold release rewriting a ticket when
its award is released); 0.64 of those records change a KPI contribution (0.97 KPI changes an event); 0.64 ledger
entries and 1.43 balance changes an event, of which 0.056 an event reach the debt recovery through its filter; a
tickets-stream record is 7.2 KB on average (11.5 KB at most: 546 records fill the 6 MB payload).

Modeled, not measured (stated here, each a constant below):
- Stream batches: STREAM_SHARDS = 4 shards per table stream at 100 events/s (one per partition of a table taking a few
  hundred writes per second); a batch closes at BatchSize, at the batching window or at the 6 MB payload.
- Duration of a stream reader's or schedule's invocation: BASE_MS + MS_PER_REQUEST per DynamoDB request
  (MS_PER_TRANSACTION per TransactWriteItems), the request counts measured; the hot path's durations are measured.
- The scheduled functions (SCHEDULED): runs a day from their schedules in template.yaml (EventBridge rules and
  Scheduler schedules), units per run from the people they read (directory pages ~300 B a person), stated per function;
  amortised over 8.64 M events a day. Alert sending (alert_sender, Twilio callbacks) is paid per alert sent, not per
  event, and is not in the figure (tests/bench/alerts.py measures it).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.bench.run import (
    DDB_USD_PER_RRU,
    DDB_USD_PER_WRU,
    LAMBDA_USD_PER_GB_S,
    LAMBDA_USD_PER_REQUEST,
    SQS_USD_PER_REQUEST,
    handler_output_discarded,
)

EVENTS_PER_S = 100
EVENTS_PER_DAY = EVENTS_PER_S * 86_400
PEOPLE, LOCATIONS, REGIONS, TEAMS = 50_000, 1_500, 150, 5_000
CHANNELS = ('email', 'chat', 'phone', 'web', 'whatsapp')
STREAM_SHARDS = 4
BASE_MS, MS_PER_REQUEST, MS_PER_TRANSACTION = 5, 10, 25
HOT_TICKETS = int(os.environ.get('BENCH_COST_HOT_TICKETS', '20'))
SLICE_SCALE = float(os.environ.get('BENCH_COST_SLICE_SCALE', '0.02'))
KPI_SCALED_BATCH = 200
KPI_BATCHES = int(os.environ.get('BENCH_COST_KPI_BATCHES', '1'))
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
# Where the ticket processor writes for the incentive programs (entries, balances, held awards): the program engine's
# share of the processor, measured on the sample month with both shipped programs (the hot path runs without them).
ENGINE_TABLES = ('LEDGER_TABLE', 'BALANCES_TABLE', 'PENDING_TABLE', 'LEAGUES_TABLE', 'RECOGNITION_TABLE', 'REWARDS_TABLE')
DIRECTORY_RRU_PER_READ = PEOPLE * 300 / 4096 / 2  # every person's directory item once, eventually consistent Query pages

# Scheduled functions: (function, per run: DynamoDB requests, RRU, WRU, SQS requests; per person and month: RRU, WRU).
# Units are stated, not measured at 50,000 people (each is a few per person per day at most, over 8.64 M events a day).
SCHEDULED: dict[str, dict[str, float]] = {
    # One Query of the due-alerts index a minute; what it finds is paid per alert (not here).
    'AlertScannerFunction': {'requests': 1, 'rru': 0.5},
    # The hold index: one Query per hold shard (HOLD_SHARDS = 4) a run; what it releases is measured per event below.
    'HoldReleaseFunction': {'requests': 4, 'rru': 2},
    # Hourly: finds the periods due (one Query); a month's close reads each person's KPI month and earnings (1 RRU,
    # BatchGetItem) and pays a bonus to about half of them (an entry and a balance in one transaction: 2 x 2 WRU).
    'PeriodCloseFunction': {'requests': 1, 'rru': 0.5, 'person_month_rru': 1, 'person_month_wru': 2},
    # Twice a day: the directory, and a reminder queued (one SQS request) for about 1 in 10 people.
    'DailyRemindersFunction': {'requests': PEOPLE / 1000, 'rru': DIRECTORY_RRU_PER_READ, 'sqs': PEOPLE / 10 / 10},
    # Daily: the directory and each person's day (1 RRU), a badge written for about 1 in 50 (2 x 2 WRU).
    'LeagueStreaksFunction': {'requests': PEOPLE / 100, 'rru': DIRECTORY_RRU_PER_READ + PEOPLE, 'wru': PEOPLE / 50 * 4},
    # Daily: one feed Query per location (~4 KB of recognitions each).
    'RecognitionFlagsFunction': {'requests': LOCATIONS, 'rru': LOCATIONS * 0.5},
    # Daily: the awards waiting for approval (one Query).
    'SpotApprovalsFunction': {'requests': 1, 'rru': 0.5},
    # Every 15 minutes and daily: the queued redemptions (one Query).
    'RedemptionQueueFunction': {'requests': 1, 'rru': 0.5},
    # Weekly: each person's balance and the week's ledger partition (the ledger_chain drill's ledger_audit_rru_per_employee
    # is ~2 RRU per person for a short ledger; a week's entries are added below from the measured entries per event).
    'LedgerAuditFunction': {'requests': PEOPLE * 3, 'rru': PEOPLE * 2},
    # Monthly per program (2): rosters and a snapshot (~1 WRU and 1 RRU a person, tests/bench/leagues_close.py).
    'LeagueCloseFunction': {'requests': PEOPLE / 25, 'rru': PEOPLE, 'wru': PEOPLE},
    # Monthly per program (2): each person's earnings of the month (1 RRU).
    'PayoutExportFunction': {'requests': PEOPLE / 100, 'rru': PEOPLE},
}


# --- the template: memory, stream batching, schedules -------------------------------------------------------------------
def _functions() -> dict[str, dict[str, Any]]:
    from infrastructure.local.template_resources import template_resources

    resources = template_resources()
    memory_default = 512
    template_text = (os.path.dirname(__file__), '..', '..', 'template.yaml')
    with open(os.path.join(*template_text)) as handle:
        found = re.search(r'Globals:\s*\n\s+Function:(.*?)\n\S', handle.read(), re.S)
    if found and (memory := re.search(r'MemorySize:\s*(\d+)', found.group(1))):
        memory_default = int(memory.group(1))
    out: dict[str, dict[str, Any]] = {}
    for name, resource in resources.items():
        if resource.get('Type') != 'AWS::Serverless::Function':
            continue
        props = resource['Properties']
        entry: dict[str, Any] = {'memory_mb': int(props.get('MemorySize') or memory_default), 'runs_per_day': 0.0, 'stream': None}
        for event in (props.get('Events') or {}).values():
            if event['Type'] == 'DynamoDB':
                p = event['Properties']
                entry['stream'] = {'table': p['Stream']['Fn::GetAtt'][0], 'batch_size': int(p.get('BatchSize', 100)),
                                   'window_s': float(p.get('MaximumBatchingWindowInSeconds', 0))}  # fmt: skip
            elif event['Type'] in ('Schedule', 'ScheduleV2'):
                entry['runs_per_day'] += runs_per_day(event['Properties'].get('Schedule') or event['Properties']['ScheduleExpression'])
        out[name] = entry
    for resource in resources.values():  # AWS::Scheduler::Schedule resources (league close, payouts)
        if resource.get('Type') == 'AWS::Scheduler::Schedule':
            target = resource['Properties']['Target']['Arn']
            function = target['Fn::GetAtt'][0] if isinstance(target, dict) and 'Fn::GetAtt' in target else None
            if function in out:
                out[function]['runs_per_day'] += runs_per_day(resource['Properties']['ScheduleExpression'])
    return out


def runs_per_day(expression: str) -> float:
    """rate(N minute(s)|hour(s)|day(s)) or cron(min hour day-of-month month day-of-week year), on average a day."""
    rate = re.fullmatch(r'rate\((\d+) (minute|hour|day)s?\)', expression)
    if rate:
        return {'minute': 1440, 'hour': 24, 'day': 1}[rate.group(2)] / int(rate.group(1))
    cron = re.fullmatch(r'cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?\)', expression)
    if not cron:
        raise ValueError(f'unknown schedule {expression!r}')
    minute, hour, dom, _month, dow = cron.groups()[:5]

    def count(field: str, full: int) -> int:
        return full if field in ('*', '?') else len(field.split(','))

    per_day = float(count(minute, 60) * count(hour, 24))
    if dom not in ('*', '?'):
        per_day *= len(dom.split(',')) / 30.44
    if dow not in ('*', '?'):
        per_day *= len(dow.split(',')) / 7
    return per_day


def _batch(stream: dict[str, Any], records_per_event: float, record_bytes: float = 0.0) -> float:
    """Records a stream invocation gets at 100 events/s: Lambda closes a batch at BatchSize, at the end of the batching
    window, or at the 6 MB payload (per shard; lambda/latest/dg/with-ddb.html, "Polling and batching streams")."""
    per_shard_s = EVENTS_PER_S * records_per_event / STREAM_SHARDS
    payload = LAMBDA_PAYLOAD_BYTES / record_bytes if record_bytes else float('inf')
    return max(1.0, min(stream['batch_size'], per_shard_s * max(stream['window_s'], 1.0), payload))


def _row(invocations: float, billed_ms: float, memory_mb: int, wru: float, rru: float, sqs: float = 0.0) -> dict[str, float]:
    """USD per million events and the units behind them (all per event)."""
    gb_s = invocations * billed_ms / 1000 * memory_mb / 1024
    return {
        'lambda_requests': invocations * LAMBDA_USD_PER_REQUEST * 1e6,
        'lambda_gb_s': gb_s * LAMBDA_USD_PER_GB_S * 1e6,
        'ddb': (wru * DDB_USD_PER_WRU + rru * DDB_USD_PER_RRU) * 1e6,
        'sqs': sqs * SQS_USD_PER_REQUEST * 1e6,
        'invocations_per_event': invocations,
        'wru_per_event': wru,
        'rru_per_event': rru,
        'sqs_requests_per_event': sqs,
    }


def _requests(meter: Any) -> tuple[int, int]:
    """(DynamoDB requests other than transactions, TransactWriteItems requests) a meter saw."""
    transactions = meter.dynamodb['TransactWriteItems'].calls if 'TransactWriteItems' in meter.dynamodb else 0
    return sum(op.calls for op in meter.dynamodb.values()) - transactions, transactions


def _modeled_ms(requests: float, transactions: float) -> float:
    return BASE_MS + MS_PER_REQUEST * requests + MS_PER_TRANSACTION * transactions


# --- 1. the hot path --------------------------------------------------------------------------------------------------
def hot_path_row(functions: dict[str, dict[str, Any]]) -> tuple[dict[str, float], dict[str, Any]]:
    from tests.bench.run import _billed_ms, hot_path
    from tests.support.local_aws import _reset_caches

    # as run.py's main measures it: no programs parameter, no service configuration (other drills leave theirs set);
    # the program engine's writes are measured on the sample month (ticket_processor_program_engine)
    saved = {name: os.environ.pop(name) for name in ('PROGRAMS_PATH', 'SERVICE_CONFIG_PARAMETER', 'HOLD_SHARDS') if name in os.environ}
    _reset_caches()
    try:
        hot = hot_path(HOT_TICKETS)
    finally:
        os.environ.update(saved)
        _reset_caches()
    meter, settings, events = hot['meter'], hot['settings'], hot['events']
    ingest_inv, processor_inv = len(hot['ingest_s']) / events, len(hot['batches']) / events
    ingest_ms, processor_ms = _billed_ms(statistics.median(hot['ingest_s'])), _billed_ms(statistics.median(hot['processor_s']))
    engine_tables = [os.environ[name] for name in ENGINE_TABLES if name in os.environ]
    hot_wru = meter.write_units - sum(meter.table_write_units[table] for table in engine_tables)
    gb_s = (
        ingest_inv * ingest_ms / 1000 * settings['ingest_mb'] / 1024 + processor_inv * processor_ms / 1000 * settings['processor_mb'] / 1024
    )
    row = _row(ingest_inv + processor_inv, 0, 0, hot_wru / events, meter.read_units / events, meter.sqs_billed_requests / events)
    row['lambda_gb_s'] = gb_s * LAMBDA_USD_PER_GB_S * 1e6
    return row, {'events': events, 'ingest_billed_ms': ingest_ms, 'processor_billed_ms': processor_ms}


# --- 2. the sample month slice: program engine, hold release, league scorer, debt recovery, alert planner ---------------
def slice_rows(functions: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, float]], dict[str, Any], list[Any]]:
    from moto.dynamodb.models import dynamodb_backends

    from functions.debt_recovery import app as debt_app
    from functions.kpi_aggregator.app import to_change
    from functions.league_scorer import app as scorer_app
    from infrastructure.local.event_filter import delivers
    from infrastructure.local.template_resources import stream_filters
    from shared.directory.store import DirectoryStore
    from shared.ledger.holds import release_due
    from shared.ledger.store import LedgerStore
    from shared.tickets.processing import TicketProcessor
    from shared.tickets.store import TicketStore
    from tests.bench.capacity import metered
    from tests.bench.holds import _setup_stack, canonical_events
    from tests.bench.run import alert_planner_units
    from tests.support.apigw import lambda_context
    from tests.support.local_aws import local_aws

    month, events = canonical_events(SLICE_SCALE)
    events = sorted(events, key=lambda event: event.occurred_at)
    n = len(events)
    tickets = len({event.ticket_key for event in events})
    release_every = timedelta(hours=3)  # as leagues_live's drill: units per award do not depend on how often it runs
    rows: dict[str, dict[str, float]] = {}
    with local_aws() as aws, handler_output_discarded():
        backend = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']]
        _setup_stack(month, events[0].occurred_at)
        ledger_table, balances_table = os.environ['LEDGER_TABLE'], os.environ['BALANCES_TABLE']
        processor = TicketProcessor(tickets=TicketStore(), directory=DirectoryStore(), ledger=LedgerStore())
        release_runs = 0
        engine_wru = engine_rru = 0.0
        release_wru = release_rru = 0.0
        next_release = events[0].occurred_at + release_every
        for event in events:
            while event.occurred_at >= next_release:
                with metered() as meter:
                    release_due(processor.tickets, processor, next_release)
                release_wru, release_rru, release_runs = release_wru + meter.write_units, release_rru + meter.read_units, release_runs + 1
                next_release += release_every
            with metered() as meter:
                processor.apply(event, event.occurred_at)
            # the tickets table's writes are the hot path's (metered there); the rest is the program engine's
            engine_wru += sum(meter.table_write_units[os.environ[name]] for name in ENGINE_TABLES if name in os.environ)
            engine_rru += meter.read_units
        with metered() as meter:
            release_due(processor.tickets, processor, events[-1].occurred_at + timedelta(days=40))
        release_wru, release_rru = release_wru + meter.write_units, release_rru + meter.read_units
        ticket_records = aws.ticket_changes()
        ledger_records = [item.to_json() for item in _shard(backend, ledger_table).items]
        balance_records = [item.to_json() for item in _shard(backend, balances_table).items]
        kpi_changes = [change for change in map(to_change, ticket_records) if change is not None]
        record_bytes = [len(json.dumps(record, default=str)) for record in ticket_records]

        # the league scorer's handler over the ledger stream, in its template batches
        scorer_app.scorer.cache_clear()
        scorer_app.nudger.cache_clear()
        stream = functions['LeagueScorerFunction']['stream']
        with metered() as meter:
            for first in range(0, len(ledger_records), stream['batch_size']):
                scorer_app.lambda_handler({'Records': ledger_records[first : first + stream['batch_size']]}, lambda_context())
        requests, transactions = _requests(meter)
        invocations = len(ledger_records) / n / _batch(stream, len(ledger_records) / n)
        calls = math.ceil(len(ledger_records) / stream['batch_size']) or 1
        rows['league_scorer'] = _row(invocations, _modeled_ms(requests / calls, transactions / calls),
                                     functions['LeagueScorerFunction']['memory_mb'], meter.write_units / n, meter.read_units / n)  # fmt: skip

        # the debt recovery's handler over the balances stream, filtered as its event source filters it
        debt_app.store.cache_clear()
        patterns = stream_filters('functions.debt_recovery.app.lambda_handler')
        chosen = [record for record in balance_records if delivers(patterns, record)]
        stream = functions['DebtRecoveryFunction']['stream']
        with metered() as meter:
            for first in range(0, len(chosen), stream['batch_size']):
                debt_app.lambda_handler({'Records': chosen[first : first + stream['batch_size']]}, lambda_context())
        requests, transactions = _requests(meter)
        calls = math.ceil(len(chosen) / stream['batch_size']) or 1
        invocations = len(chosen) / n / _batch(stream, len(chosen) / n) if chosen else 0.0
        rows['debt_recovery'] = _row(invocations, _modeled_ms(requests / calls, transactions / calls),
                                     functions['DebtRecoveryFunction']['memory_mb'], meter.write_units / n, meter.read_units / n)  # fmt: skip
        debt_app.store.cache_clear()

        # the alert planner (run.py's drill, as its owner keeps it) over the same ticket records
        stream = functions['AlertPlannerFunction']['stream']
        with metered() as meter:
            planner = alert_planner_units(ticket_records, stream['batch_size'])
        requests, transactions = _requests(meter)
        calls = math.ceil(len(ticket_records) / stream['batch_size']) or 1
        # extra '*wru' keys the planner's owner may add are its units too; the scanner's ('scanner*') go to its own row
        planner_wru = planner['wru'] + sum(
            value for key, value in planner.items() if key != 'wru' and key.endswith('wru') and not key.startswith('scanner')
        )
        invocations = len(ticket_records) / n / _batch(stream, len(ticket_records) / n, statistics.mean(record_bytes or [0]))
        rows['alert_planner'] = _row(invocations, _modeled_ms(requests / calls, transactions / calls),
                                     functions['AlertPlannerFunction']['memory_mb'], planner_wru / n, meter.read_units / n)  # fmt: skip

    # reads: what the processor read per event on the sample month beyond what the hot path reads (set in figures())
    rows['ticket_processor_program_engine'] = _row(0, 0, 0, engine_wru / n, engine_rru / n)
    hold = functions['HoldReleaseFunction']
    # the measured release work per event, plus the runs themselves at the deployed schedule (below, with SCHEDULED)
    rows['hold_release_work'] = _row(0, 0, 0, release_wru / n, release_rru / n)
    measured = {
        'sample_events': n,
        'sample_tickets': tickets,
        'events_per_ticket': round(n / max(tickets, 1), 3),
        'ticket_records_per_event': round(len(ticket_records) / n, 4),
        'kpi_changes_per_record': round(len(kpi_changes) / max(len(ticket_records), 1), 4),
        'kpi_changes_per_event': round(len(kpi_changes) / n, 4),
        'ledger_records_per_event': round(len(ledger_records) / n, 4),
        'balance_records_per_event': round(len(balance_records) / n, 4),
        'debt_recovery_delivered_per_event': round(len(chosen) / n, 5),
        'ticket_record_bytes_max': max(record_bytes, default=0),
        'ticket_record_bytes_mean': round(statistics.mean(record_bytes), 1) if record_bytes else 0,
        'alert_planner': planner,
        'hold_release_memory_mb': hold['memory_mb'],
    }
    return rows, measured, kpi_changes


def _shard(backend: Any, table: str) -> Any:
    shard = backend.get_table(table).stream_shard
    assert shard is not None, f'{table} has no stream (template.yaml StreamSpecification)'
    return shard


# --- 3. the KPI aggregator at design-scale dispersion ------------------------------------------------------------------
def dispersed(changes: list[Any], batch: float, seed: int = 3) -> tuple[list[Any], float, int]:
    """The changes re-scoped to design-scale places, the populations divided by batch / KPI_SCALED_BATCH; returns
    (KPI_BATCHES batches of changes, the factor, the changes a scaled batch holds)."""
    from shared.kpi.aggregate import TicketChange
    from shared.kpi.definitions import Contribution

    factor = max(1.0, batch / KPI_SCALED_BATCH)
    locations, people = max(1, round(LOCATIONS / factor)), max(1, round(PEOPLE / factor))
    regions, teams = max(1, round(REGIONS / factor)), max(1, round(TEAMS / factor))
    rng = random.Random(seed)

    def place(contribution: Contribution | None, where: dict[str, str]) -> Contribution | None:
        if contribution is None:
            return None
        scopes = []
        for scope in contribution.scopes:
            pk, bar, channel = scope.partition('|')
            kind = pk.split('#', 1)[0]
            scopes.append((where.get(kind, pk) if kind != pk else pk) + bar + channel)
        return Contribution(contribution.day, tuple(dict.fromkeys(scopes)), contribution.counters, contribution.late)

    scaled = max(1, round(batch / factor))
    out = []
    for i in range(KPI_BATCHES * scaled):
        change = changes[i % len(changes)]
        location, employee = rng.randrange(locations), rng.randrange(people)
        where = {'location': f'location#L{location}', 'region': f'region#R{location % regions}',
                 'employee': f'employee#E{employee}', 'team': f'team#T{employee % teams}'}  # fmt: skip
        out.append(TicketChange(f'c{i}', place(change.old, where), place(change.new, where)))
    return out, factor, scaled


def kpi_row(functions: dict[str, dict[str, Any]], changes: list[Any], measured: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    from infrastructure.local.template_resources import template_resources
    from shared.kpi.store import KpiStore
    from tests.bench.capacity import metered
    from tests.support.local_aws import local_aws

    stream = functions['KpiAggregatorFunction']['stream']
    records_per_event = measured['ticket_records_per_event']
    batch = _batch(
        stream, records_per_event, measured['ticket_record_bytes_mean']
    )  # records a batch; the changes among them are what the store writes
    change_batch = max(1, round(batch * measured['kpi_changes_per_record']))
    drill, factor, scaled = dispersed(changes, change_batch)
    props = template_resources()['KpiTable']['Properties']
    with local_aws() as aws:
        aws.dynamodb.create_table(TableName='cost-kpi', KeySchema=props['KeySchema'],
                                  AttributeDefinitions=props['AttributeDefinitions'], BillingMode='PAY_PER_REQUEST')  # fmt: skip
        store = KpiStore('cost-kpi', client=aws.dynamodb)
        with metered() as meter:
            for start in range(0, len(drill), scaled):
                store.apply(drill[start : start + scaled], datetime.now(UTC))
    wru_per_change = meter.write_units / len(drill)
    _, transactions = _requests(meter)
    batches = math.ceil(len(drill) / scaled)
    per_event = measured['kpi_changes_per_event']
    row = _row(records_per_event / batch, _modeled_ms(0, transactions / batches * factor), functions['KpiAggregatorFunction']['memory_mb'],
               wru_per_change * per_event, meter.read_units / len(drill) * per_event)  # fmt: skip
    return row, {'kpi_wru_per_change_design_scale': round(wru_per_change, 3), 'kpi_records_per_batch_design_scale': round(batch, 1),
                 'kpi_changes_per_batch_design_scale': change_batch, 'kpi_dispersion_factor': round(factor, 2)}  # fmt: skip


# --- 4. the schedules ----------------------------------------------------------------------------------------------------
def scheduled_rows(functions: dict[str, dict[str, Any]], measured: dict[str, Any]) -> dict[str, dict[str, float]]:
    rows = {}
    month_events = EVENTS_PER_DAY * 30.44
    for name, model in SCHEDULED.items():
        function = functions[name]
        runs = function['runs_per_day']
        per_run_rru, per_run_wru = model.get('rru', 0.0), model.get('wru', 0.0)
        if name == 'LedgerAuditFunction':  # a week's ledger entries of everyone, ~1 KB each, read by Query (4 KB a RRU... /2)
            per_run_rru += measured['ledger_records_per_event'] * EVENTS_PER_DAY * 7 / 4 / 2
        requests = model.get('requests', 1)
        invocations = runs / EVENTS_PER_DAY
        wru = runs * per_run_wru / EVENTS_PER_DAY + model.get('person_month_wru', 0) * PEOPLE / month_events
        rru = runs * per_run_rru / EVENTS_PER_DAY + model.get('person_month_rru', 0) * PEOPLE / month_events
        sqs = runs * model.get('sqs', 0) / EVENTS_PER_DAY
        key = re.sub(r'(?<!^)(?=[A-Z])', '_', name.removesuffix('Function')).lower()
        rows[key] = _row(invocations, _modeled_ms(requests, 0), function['memory_mb'], wru, rru, sqs)
        rows[key]['runs_per_day'] = runs
    return rows


def figures() -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)

    walls: dict[str, float] = {}
    functions = _functions()
    started = time.perf_counter()
    rows, measured, kpi_changes = slice_rows(functions)
    walls['sample_slice'] = time.perf_counter() - started
    print(f'  cost_model sample_slice: {walls["sample_slice"]:.1f} s', file=sys.stderr, flush=True)
    started = time.perf_counter()
    hot, hot_detail = hot_path_row(functions)
    walls['hot_path'] = time.perf_counter() - started
    print(f'  cost_model hot_path: {walls["hot_path"]:.1f} s', file=sys.stderr, flush=True)
    scanner = sum(value for key, value in measured['alert_planner'].items() if key.startswith('scanner') and key.endswith('wru'))
    engine = rows['ticket_processor_program_engine']
    engine['rru_per_event'] = max(0.0, engine['rru_per_event'] - hot['rru_per_event'])
    engine['ddb'] = (engine['wru_per_event'] * DDB_USD_PER_WRU + engine['rru_per_event'] * DDB_USD_PER_RRU) * 1e6
    started = time.perf_counter()
    kpi, kpi_detail = kpi_row(functions, kpi_changes, measured)
    walls['kpi_dispersed'] = time.perf_counter() - started
    print(f'  cost_model kpi_dispersed: {walls["kpi_dispersed"]:.1f} s', file=sys.stderr, flush=True)
    breakdown = {'hot_path (webhook_ingest + ticket_processor)': hot, 'kpi_aggregator': kpi, **rows, **scheduled_rows(functions, measured)}
    work = breakdown.pop('hold_release_work')  # what the release writes, measured, with its scheduled runs: one row
    release = breakdown['hold_release']
    for key in ('wru_per_event', 'rru_per_event', 'ddb'):
        release[key] += work[key]
    if scanner:  # the alert scanner's writes over the same records (alert_planner_units' 'scanner*wru' keys), per event
        row = breakdown['alert_scanner']
        row['wru_per_event'] += scanner / measured['sample_events']
        row['ddb'] = (row['wru_per_event'] * DDB_USD_PER_WRU + row['rru_per_event'] * DDB_USD_PER_RRU) * 1e6
    money = ('lambda_requests', 'lambda_gb_s', 'ddb', 'sqs')
    for row in breakdown.values():
        row['total'] = sum(row[key] for key in money)
    total = sum(row['total'] for row in breakdown.values())
    rounded = {
        name: {key: round(value, 4) for key, value in sorted(row.items(), key=lambda kv: kv[0] != 'total')}
        for name, row in breakdown.items()
    }
    stream_wru = {'kpi_aggregator': kpi['wru_per_event'], 'alert_planner': rows['alert_planner']['wru_per_event'],
                  'league_scorer': rows['league_scorer']['wru_per_event'], 'debt_recovery': rows['debt_recovery']['wru_per_event']}  # fmt: skip
    batch_bound = LAMBDA_PAYLOAD_BYTES // max(measured['ticket_record_bytes_max'], 1)
    return {
        'cost_usd_per_million_events_design_scale': round(total, 3),
        'cost_usd_per_million_events_design_scale_breakdown': rounded,
        'cost_model_stream_wru_per_event': {name: round(value, 3) for name, value in stream_wru.items()},
        'cost_model_ticket_records_per_event': measured['ticket_records_per_event'],
        'cost_model_ledger_records_per_event': measured['ledger_records_per_event'],
        'cost_model_ticket_batch_bound_by_payload': batch_bound,
        'cost_model_assumptions': {key: value for key, value in measured.items() if key != 'alert_planner'}
        | kpi_detail
        | {'stream_shards': STREAM_SHARDS, 'hot_path': hot_detail, 'alert_planner_units': measured['alert_planner']},
        'cost_model_wall_s': {name: round(value, 1) for name, value in walls.items()},
    }


if __name__ == '__main__':
    result = figures()
    print(json.dumps(result, indent=1, default=str), file=sys.stderr)
    print(json.dumps(result, default=str))
