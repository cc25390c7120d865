"""`make bench`: figures for the core pipeline. A readable table, then one JSON line (the last line).

- ddb_*_requests_per_event: DynamoDB requests per ticket event on the hot path (webhook -> queue ->
  processor), counted at botocore for a realistic mix of new tickets, updates, surveys and redeliveries.
- cold_import_ratio_max: the largest, over all handler modules, of import time in a fresh process
  divided by `import boto3` in a fresh process; medians of repeated runs, measured in the same run.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = {
    'webhook_ingest': 'functions.webhook_ingest.app',
    'ticket_processor': 'functions.ticket_processor.app',
    'directory_import': 'functions.directory_import.app',
    'quarantine_replay': 'functions.quarantine_replay.app',
    'ledger_adjust': 'functions.ledger_adjust.app',
}
IMPORT_RUNS = int(os.environ.get('BENCH_IMPORT_RUNS', '7'))


def _import_seconds(module: str) -> float:
    code = f'import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)'
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE='0', **lambda_environment())
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def lambda_environment() -> dict[str, str]:
    """The literal environment variables the template gives every function (Globals)."""
    from infrastructure.local.template_resources import template_document

    variables = template_document().get('Globals', {}).get('Function', {}).get('Environment', {}).get('Variables', {})
    return {name: str(value) for name, value in variables.items() if isinstance(value, (str, int))}


def cold_imports() -> dict[str, float]:
    # Warm the bytecode cache once so every measurement imports compiled modules, as Lambda does.
    for module in ['boto3', *HANDLERS.values()]:
        _import_seconds(module)
    medians: dict[str, float] = {}
    samples: dict[str, list[float]] = {name: [] for name in ['boto3', *HANDLERS]}
    for _ in range(IMPORT_RUNS):  # interleaved, so drift on a shared machine hits all alike
        samples['boto3'].append(_import_seconds('boto3'))
        for name, module in HANDLERS.items():
            samples[name].append(_import_seconds(module))
    for name, values in samples.items():
        medians[name] = statistics.median(values)
    return medians


def hot_path_requests(n_tickets: int = 150) -> dict[str, float]:
    from functions.ticket_processor.app import lambda_handler as process
    from functions.webhook_ingest.app import lambda_handler as ingest
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from tests.integration.test_webhook_pipeline import zendesk_body, zendesk_headers
    from tests.support.apigw import http_api_event, lambda_context, sqs_event
    from tests.support.counting import count_requests
    from tests.support.factories import DIRECTORY_CSV
    from tests.support.local_aws import local_aws

    rng = random.Random(42)
    deliveries: list[bytes] = []
    for t in range(n_tickets):
        ticket = 50_000 + t
        for status, minute, rating in (('Open', 5, ''), ('Pending', 30, ''), ('Solved', 90 + t % 600, ''), ('Solved', 200 + t % 600, rng.choice(['Good', 'Bad']))):
            body = zendesk_body(ticket_id=ticket, status=status, updated=f'2024-05-14T{9 + minute // 60:02d}:{minute % 60:02d}Z', rating=rating)
            deliveries.append(body)
            if rng.random() < 0.1:
                deliveries.append(body)  # helpdesk retry
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), datetime.now(UTC))
        with count_requests() as counter:
            started = time.perf_counter()
            for body in deliveries:
                ingest(http_api_event('/webhooks/zendesk', body, zendesk_headers(body)), lambda_context())
                messages = aws.drain()
                process(sqs_event(messages), lambda_context())
            elapsed = time.perf_counter() - started
    events = len(deliveries)
    return {
        'events': events,
        'ddb_write_requests_per_event': round(counter.ddb_writes / events, 3),
        'ddb_read_requests_per_event': round(counter.ddb_reads / events, 3),
        'transactions': counter.dynamodb({'TransactWriteItems'}),
        'sqs_requests_per_event': round(sum(n for (svc, _), n in counter.calls.items() if svc == 'sqs') / events, 3),
        'local_events_per_s': round(events / elapsed, 1),
    }


def main() -> None:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)

    imports = cold_imports()
    hot = hot_path_requests()
    boto3_s = imports['boto3']
    ratios = {name: imports[name] / boto3_s for name in HANDLERS}
    print('Pitcrew core pipeline benchmark')
    print(f'{"figure":45} {"value":>12}')
    print(f'{"import boto3 (median, fresh process)":45} {boto3_s * 1000:>10.1f}ms')
    for name in HANDLERS:
        print(f'{"import " + name:45} {imports[name] * 1000:>10.1f}ms  ratio {ratios[name]:.2f}')
    for key, value in hot.items():
        print(f'{key:45} {value:>12}')
    figures = {
        'ddb_write_requests_per_event': hot['ddb_write_requests_per_event'],
        'ddb_read_requests_per_event': hot['ddb_read_requests_per_event'],
        'cold_import_ratio_max': round(max(ratios.values()), 3),
        'cold_import_boto3_ms': round(boto3_s * 1000, 1),
        'cold_import_ms': {name: round(imports[name] * 1000, 1) for name in HANDLERS},
        'hot_path_events': hot['events'],
    }
    print(json.dumps(figures, separators=(',', ':')))


if __name__ == '__main__':
    main()
