"""`make run` / `make demo`: start the local stack, send the sample webhooks as their senders would
(signed, over HTTP), process them, print what happened. `make run` then keeps serving until Ctrl-C;
`make demo` exits, its last line one JSON object.

This first version replays the wire samples (every source, plus redeliveries, a forged signature, a
malformed body and an unknown source); the generated sample month comes with the local-stack issue.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infrastructure.local.stack import LOCAL_SECRETS, LocalStack, lambda_context

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / 'tests' / 'fixtures' / 'wire_samples'


def zendesk_headers(body: bytes, secret: str, timestamp: str | None = None) -> dict[str, str]:
    """Headers Zendesk sends: base64 HMAC-SHA256 of timestamp + raw body, keyed by the secret string."""
    ts = timestamp or datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')
    signature = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()).decode()
    return {'Content-Type': 'application/json', 'X-Zendesk-Webhook-Signature': signature, 'X-Zendesk-Webhook-Signature-Timestamp': ts}


def sample_requests() -> list[tuple[str, str, bytes, dict[str, str]]]:
    """(label, path with query, body, headers) for every sample, as each sender would send it."""
    from shared.sources.signing import signed_headers

    requests: list[tuple[str, str, bytes, dict[str, str]]] = []
    zd = json.loads((SAMPLES / 'zendesk_ticket_webhook.json').read_text())
    for ticket_id, (status, updated) in enumerate([('Open', '09:12'), ('Solved', '11:40')] * 3, start=0):
        body_doc = json.loads(json.dumps(zd))
        body_doc['ticket'].update(
            {'id': 35436 + ticket_id // 2, 'status': status, 'updated_at': f'2024-05-14T{updated}Z', 'assignee_email': 'agent1@example.com'}
        )
        body = json.dumps(body_doc, separators=(',', ':')).encode()
        requests.append(('zendesk', '/webhooks/zendesk', body, zendesk_headers(body, LOCAL_SECRETS['zendesk']['secret'])))
    requests.append(('zendesk (redelivery)', *requests[-1][1:]))
    fd = (SAMPLES / 'freshdesk_ticket_webhook.json').read_bytes()
    requests.append(
        (
            'freshdesk',
            '/webhooks/freshdesk',
            fd,
            {'Content-Type': 'application/json', 'X-Pitcrew-Token': LOCAL_SECRETS['freshdesk']['secret']},
        )
    )
    sf = (SAMPLES / 'salesforce_outbound_case.xml').read_bytes()
    requests.append(
        (
            'salesforce',
            f'/webhooks/salesforce?token={LOCAL_SECRETS["salesforce"]["secret"]}',
            sf,
            {'Content-Type': 'text/xml; charset=utf-8'},
        )
    )
    requests.append(('salesforce (redelivery)', *requests[-1][1:]))
    gg = (SAMPLES / 'gorgias_ticket_webhook.json').read_bytes()
    requests.append(
        ('gorgias', '/webhooks/gorgias', gg, {'Content-Type': 'application/json', 'X-Pitcrew-Token': LOCAL_SECRETS['gorgias']['secret']})
    )
    now = int(time.time())
    dms = (SAMPLES / 'dms_job_card_delivered.json').read_bytes()
    requests.append(
        ('dms', '/webhooks/dms', dms, {'Content-Type': 'application/json', **signed_headers(LOCAL_SECRETS['dms']['secret'], now, dms)})
    )
    sv = (SAMPLES / 'survey_response.json').read_bytes()
    requests.append(
        (
            'survey',
            '/webhooks/survey',
            sv,
            {'Content-Type': 'application/json', **signed_headers(LOCAL_SECRETS['survey']['secret'], now, sv)},
        )
    )
    forged = requests[0][2]
    requests.append(('zendesk (forged signature)', '/webhooks/zendesk', forged, zendesk_headers(forged, 'not-the-secret')))
    broken = b'{"source": "zendesk", "ticket": {"id": '
    requests.append(('zendesk (malformed)', '/webhooks/zendesk', broken, zendesk_headers(broken, LOCAL_SECRETS['zendesk']['secret'])))
    requests.append(('hubspot (unknown source)', '/webhooks/hubspot', b'{}', {'Content-Type': 'application/json'}))
    return requests


def post(base: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(base + path, data=body, headers=headers, method='POST')
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--demo', action='store_true', help='exit after the summary (for CI and benchmarks)')
    parser.add_argument('--aws-port', type=int, default=5001)
    parser.add_argument('--api-port', type=int, default=3000)
    args = parser.parse_args()

    started = time.perf_counter()
    stack = LocalStack(aws_port=args.aws_port, api_port=args.api_port)
    stack.start()
    base = f'http://127.0.0.1:{args.api_port}'
    print(f'local AWS (moto server): {stack.aws_endpoint}   API: {base}/webhooks/<source>')
    print('secrets: SSM /pitcrew/local/sources/<source> (local values in infrastructure/local/stack.py)')

    from functions.directory_import.app import lambda_handler as import_directory

    directory = import_directory({'format': 'csv', 'content': (ROOT / 'events' / 'directory_sample.csv').read_text()}, lambda_context())
    print(f'directory: {directory.get("created", 0)} employees imported')

    answers: Counter[int] = Counter()
    rejected: list[str] = []
    accepted_events = 0
    for label, path, body, headers in sample_requests():
        status, text = post(base, path, body, headers)
        answers[status] += 1
        if status == 200:
            accepted_events += json.loads(text).get('accepted', 1) if text.startswith('{') else text.count('<Ack>')
            print(f'  {status} {label}')
        else:
            error = json.loads(text).get('error', {}) if text.startswith('{') else {}
            rejected.append(f'{status} {label}: {error.get("reason", text)[:90]}')
            print(f'  {status} {label}: {error.get("reason", "")[:90]}')
    idle = stack.wait_until_idle()
    summary = summarize(started, sum(answers.values()), answers, idle)
    print_summary(summary)
    if not args.demo:
        print('serving; Ctrl-C to stop')
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    stack.stop()
    print(json.dumps(summary['figures'], separators=(',', ':')))


def summarize(started: float, sent: int, answers: Counter[int], idle: bool) -> dict[str, Any]:
    from shared.directory.store import DirectoryStore
    from shared.ledger.store import LedgerStore
    from shared.quarantine.store import QuarantineStore

    directory, ledger = DirectoryStore(), LedgerStore()
    rows = []
    reconcile = True
    entries_total = 0
    for profile in directory.profile.employees_index.query('EMPLOYEE'):
        entries = ledger.entries_for(profile.employee_id)
        balance = ledger.balance(profile.employee_id)
        entries_total += len(entries)
        reconcile &= balance.available == sum(e.amount for e in entries)
        rows.append((profile.location_id or '-', profile.employee_id, profile.name or '', balance.available, len(entries)))
    quarantined = QuarantineStore().list_day(datetime.now(UTC).strftime('%Y-%m-%d'))
    from shared.tickets.store import TicketStore

    tickets = TicketStore()
    unmapped = {source: len(tickets.unmapped_ticket_keys(source)) for source in ('zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms')}
    figures = {
        'events_sent': sent,
        'accepted': answers[200],
        'rejected': sent - answers[200],
        'quarantined': len(quarantined),
        'ledger_entries': entries_total,
        'balances_reconcile': reconcile,
        'queue_drained': idle,
        'wall_s': round(time.perf_counter() - started, 2),
    }
    figures['tickets_with_unmapped_agents'] = sum(unmapped.values())
    return {'rows': sorted(rows, key=lambda r: (r[0], -r[3])), 'quarantined': quarantined, 'unmapped': unmapped, 'figures': figures}


def print_summary(summary: dict[str, Any]) -> None:
    print('\npoints per employee (by location)')
    for location, employee_id, name, points, entries in summary['rows']:
        print(f'  {location:12} {employee_id:6} {name:20} {points:>6} pts  {entries} entries')
    waiting = ', '.join(f'{source} {count}' for source, count in summary['unmapped'].items() if count) or 'none'
    print(f'\ntickets waiting for a directory mapping (index "unmapped"): {waiting}')
    print('\nquarantined (DynamoDB QuarantineTable, index by_day)')
    for item in summary['quarantined']:
        print(f'  {item["quarantine_id"]}  {item["status_code"]} {item["source"]:10} {item["field"] or "-":12} {str(item["reason"])[:70]}')


if __name__ == '__main__':
    main()
