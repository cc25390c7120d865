"""`make run` / `make demo`: start the local stack, replay a generated month of service work through it as the
senders would (signed, over HTTP), fire the schedules on a fast-forwarded clock, and print what happened.
`make run` answers requests within seconds of starting and replays the month in the background (a progress bar on
stderr; the summary prints when the replay ends), then keeps serving on real time until Ctrl-C; `make demo` replays
in the foreground and exits, its last line one JSON object.

`--samples` replays the captured wire samples instead (every source, redeliveries, a forged signature, a
malformed body, an unknown source): a quick look at each sender's format.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import signal
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infrastructure.local.replay import ReplayCancelled, ReplayProgress
from infrastructure.local.sample_month import zendesk_headers
from infrastructure.local.stack import HEALTH_PATH, LOCAL_SECRETS, REGION, SERVICE_CONFIG_PARAMETER, LocalStack, invoke

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / 'tests' / 'fixtures' / 'wire_samples'


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
    people = (('lms', 'lms_training_completed.json'), ('quality', 'quality_review.json'), ('safety', 'safety_hazard_report.json'))
    for source, sample in people:
        body = (SAMPLES / sample).read_bytes()
        headers = {'Content-Type': 'application/json', **signed_headers(LOCAL_SECRETS[source]['secret'], now, body)}
        requests.append((source, f'/webhooks/{source}', body, headers))
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
    parser.add_argument('--samples', action='store_true', help='replay the wire samples instead of the generated month')
    parser.add_argument('--scale', type=float, default=1.0, help="share of the month's tickets to generate (tests use a short form)")
    parser.add_argument('--seed', type=int, default=2026)
    parser.add_argument('--clean', action='store_true', help='the same month without redeliveries, late deliveries or bad payloads')
    parser.add_argument('--senders', type=int, default=3, help='concurrent senders')
    parser.add_argument('--pollers', type=int, default=2, help='concurrent batches of the SQS-triggered function')
    parser.add_argument('--no-alerts', action='store_true', help='without the alerting functions (to measure the rest alone)')
    parser.add_argument('--verify-sources', action='store_true',
                        help='verify mode for Freshdesk, Gorgias and Salesforce: every event confirmed through the local fake '
                             'helpdesk APIs before it can earn points')
    parser.add_argument('--aws-port', type=int, default=5001)
    parser.add_argument('--api-port', type=int, default=3000)
    parser.add_argument('--twilio-port', type=int, default=4010)
    args = parser.parse_args()

    started = time.perf_counter()
    progress = ReplayProgress()
    stack = LocalStack(aws_port=args.aws_port, api_port=args.api_port, twilio_port=args.twilio_port, pollers=args.pollers,
                       alerts=not args.no_alerts, health_detail=progress.snapshot, verify_sources=args.verify_sources)
    stack.start()
    first_answer_s = first_answer(stack, started)
    print_endpoints(stack)
    print(f'first answer on the API {first_answer_s:.1f} s after start (GET {HEALTH_PATH})', flush=True)
    cancelled = threading.Event()

    def replay() -> dict[str, Any]:
        if args.samples:
            return replay_samples(stack, started, progress)
        return replay_month(stack, started, seed=args.seed, scale=args.scale, senders=args.senders, clean=args.clean,
                            progress=progress, cancelled=cancelled)  # fmt: skip

    def people_logins() -> None:  # the people API's local users (issue 15), and how to log in
        print_people_logins(stack, stack.create_people_users(directory_rows(args.samples, args.seed)))

    if args.demo:  # in the foreground: the summary, then exit
        people_logins()
        figures = replay()
        stack.stop()
        print(json.dumps({**figures, 'first_answer_s': round(first_answer_s, 2)}, separators=(',', ':')))
        return
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    outcome: dict[str, Any] = {}

    def in_background() -> None:
        try:
            outcome['figures'] = replay()
        except ReplayCancelled:
            return
        except Exception:  # the stack still serves; say why the summary will not come
            logging.getLogger(__name__).exception('the replay failed')
            progress.set_phase('failed')
            print('the replay failed (above); still serving', flush=True)
        if not cancelled.is_set():
            stack.keep_schedules_on_real_time()
            print(f'replay finished {time.perf_counter() - started:.0f} s after start (summary above); serving on real time, '
                  'the schedules firing on the wall clock; Ctrl-C to stop', flush=True)  # fmt: skip

    replaying = threading.Thread(target=in_background, name='replay', daemon=True)
    replaying.start()
    people_logins()
    print(f'serving on http://127.0.0.1:{stack.api_port} while the month replays in the background (progress on stderr and '
          f'GET {HEALTH_PATH}; the summary prints when the replay ends); Ctrl-C to stop', flush=True)  # fmt: skip
    stopping.wait()
    cancelled.set()
    stack.stop()
    figures = outcome.get('figures', {'replay_finished': False})
    print(json.dumps({**figures, 'first_answer_s': round(first_answer_s, 2)}, separators=(',', ':')), flush=True)


def first_answer(stack: LocalStack, started: float, within_s: float = 15) -> float:
    """Seconds from `started` to the first answer of the local API (its health route), asked as any client would; the
    API is up once the stack has started, so this fails only if it does not answer within `within_s`."""
    deadline = time.perf_counter() + within_s
    while True:
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{stack.api_port}{HEALTH_PATH}', timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, OSError):
            if time.perf_counter() > deadline:
                raise
        time.sleep(0.05)


def print_endpoints(stack: LocalStack) -> None:
    print('Pitcrew local stack')
    print(f'  local AWS (moto server): {stack.aws_endpoint}, region {REGION}, any key; e.g. AWS_ACCESS_KEY_ID=local '
          f'AWS_SECRET_ACCESS_KEY=local aws --region {REGION} --endpoint-url {stack.aws_endpoint} dynamodb list-tables')
    for route in stack.routes:
        print(f'  API: {route.method} http://127.0.0.1:{stack.api_port}{route.path}')
    print(f'  fake Twilio REST API: {stack.twilio.base_url}  (account {stack.twilio.account_sid})')
    print('  webhook secrets (SSM /pitcrew/local/sources/<source>; local values only):')
    for source, secret in LOCAL_SECRETS.items():
        print(f'    {source:10} {json.dumps(secret)}')


def directory_rows(samples: bool, seed: int) -> list[Any]:
    """The directory the run imports (the sample month's people, or the samples' CSV): the local users come from it."""
    if samples:
        import csv

        return list(csv.DictReader((ROOT / 'events' / 'directory_sample.csv').read_text().splitlines()))
    from infrastructure.local.sample_month import sample_people

    return list(sample_people(seed))


def print_people_logins(stack: LocalStack, logins: list[Any]) -> None:
    """How to log in to the people page and API locally (issue 15): one user per role, the kiosks' technicians' PINs,
    and a token from the local Cognito with curl."""
    from infrastructure.local.cognito import LOCAL_PASSWORD

    pool = stack.people_pool
    if pool is None:
        return
    print(f'\npeople page: {stack.web_origin}/  (every local user\'s password: {LOCAL_PASSWORD}; local values only)')
    for login in logins:
        who = ', '.join(part for part in (login.employee_id, login.name, login.location, login.region) if part)
        print(f'  {login.role:9} username {login.username:18} group {login.group:9} {who}')
        if login.pins:
            codes = ', '.join(sorted(login.pins))
            print(f'            then a technician at the kiosk: employee code {codes}; PIN {next(iter(login.pins.values()))}')
    advisor = next((login.username for login in logins if login.role == 'advisor'), logins[0].username if logins else 'advisor')
    print(f'  user pool {pool.pool_id}, client {pool.client_id} (no secret), Cognito at {stack.aws_endpoint}')
    print('  an ID token from the local Cognito (InitiateAuth, USER_PASSWORD_AUTH), then GET /v1/me with it:')
    body = json.dumps({'AuthFlow': 'USER_PASSWORD_AUTH', 'ClientId': pool.client_id,
                       'AuthParameters': {'USERNAME': advisor, 'PASSWORD': LOCAL_PASSWORD}}, separators=(',', ':'))  # fmt: skip
    print(f"    TOKEN=$(curl -s -X POST {stack.aws_endpoint}/ -H 'Content-Type: application/x-amz-json-1.1' "
          f"-H 'X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth' -d '{body}' "
          "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"AuthenticationResult\"][\"IdToken\"])')")  # fmt: skip
    print(f'    curl -s {stack.web_origin}/v1/me -H "Authorization: Bearer $TOKEN"', flush=True)


def import_directory(csv_text: str) -> dict[str, Any]:
    result: dict[str, Any] = invoke('functions.directory_import.app.lambda_handler', {'format': 'csv', 'content': csv_text})
    return result


def replay_month(stack: LocalStack, started: float, *, seed: int, scale: float, senders: int = 3, clean: bool = False,
                 progress: ReplayProgress | None = None, cancelled: threading.Event | None = None) -> dict[str, Any]:  # fmt: skip
    from infrastructure.local.replay import Replayer
    from infrastructure.local.sample_month import generate

    progress = progress or ReplayProgress()
    progress.set_phase('generating')
    month = generate(seed=seed, scale=scale, clean=clean)
    directory = import_directory(month.directory_csv())
    if stack.verify_sources:
        from infrastructure.local.helpdesk_truth import truth

        known = truth(month.deliveries)
        for source, tickets in known.items():
            for ticket in tickets:
                stack.helpdesks.put(source, ticket)
        print('  verify mode: the fake helpdesk APIs know ' + ', '.join(f'{len(t)} {s} tickets' for s, t in known.items()))
    locations = {e.location_id for e in month.employees}
    print(
        f'\nsample month {month.month:%B %Y} (seed {seed}): {len(month.employees)} employees in {len(locations)} locations, '
        f'{month.tickets} tickets, {month.job_cards} job cards, {len(month.deliveries)} webhooks'
    )
    print(f'  directory import: {directory.get("created", 0)} employees')
    print('  ' + ', '.join(f'{label} {count}' for label, count in sorted(month.counts().items())))
    end_of_month = month.deliveries[-1].at.replace(hour=23, minute=59)
    schedules = stack.schedules(month.deliveries[0].at, end_of_month)
    from infrastructure.payouts import ask_for_cash

    # People ask to be paid through payroll two days before the month ends (the export's schedule on the 1st pays them).
    cash_moment = (month.month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=2)
    cash_at = datetime.combine(cash_moment, datetime.min.time(), UTC).replace(hour=12)
    schedules.append(('cash-out requests (sample)', lambda moment: ask_for_cash(f'{month.month:%Y-%m}', moment), [cash_at]))
    gate = stack.alert_gate()  # alerting on: the clock never runs ahead of the alert pipeline (alert_gate.py)
    if gate is not None:
        schedules = [schedule for schedule in schedules if schedule[0] != gate.name]
    replayer = Replayer(stack.api_port, schedules=schedules, backlog=lambda: max(stack.backlog(), stack.stream_backlog()), senders=senders,
                        progress=progress, cancelled=cancelled or threading.Event(), gate=gate)  # fmt: skip
    result = replayer.run(month.deliveries, seed=seed, scale=scale, clean=clean)
    progress.set_phase('draining')
    drained = stack.wait_until_idle(timeout_s=300)
    processed_s = time.perf_counter() - started
    progress.set_phase('summarising')
    summary = summarize(stack)
    kpis = location_kpis(f'{month.month:%Y-%m}')
    events_sent = sum(o.delivery.events for o in result.outcomes)
    accepted_events = sum(o.delivery.events for o in result.accepted)
    unexpected = [o for o in result.outcomes if (o.status == 200) != (o.delivery.expect == 'accepted')]
    figures = {
        'events_sent': len(result.outcomes),
        'ticket_events_sent': events_sent,
        'accepted': len(result.accepted),
        'rejected': len(result.rejected),
        'quarantined': summary['quarantined_total'],
        'duplicates_ignored': accepted_events - summary['distinct_events'],
        'ledger_entries': summary['ledger_entries'],
        'balances_reconcile': summary['reconcile'],
        'wall_s': round(time.perf_counter() - started, 1),
        'replay_wall_s': round(processed_s, 1),
        'replay_alerts_expired': summary['alerts']['expired_found_late'],
        'replay_gate_wait_s': round(gate.waited_s, 1) if gate is not None else None,
        'replay_events_per_s': round(events_sent / processed_s, 1),
        'queue_drained': drained,
        'unexpected_answers': len(unexpected),
        'employees': len(month.employees),
        'tickets': month.tickets,
        'job_cards': month.job_cards,
        'tickets_with_unmapped_agents': sum(summary['unmapped'].values()),
        'schedule_runs': len(result.schedule_runs),
        'emails_sent': len(summary['emails']),
        'twilio_messages': len(stack.twilio.messages),
        'alerts': summary['alerts'],
        'points_digest': summary['digest'],
        'points_not_recovered': summary['not_recovered'],
        'points_by_role': summary['points_by_role'],
        'kpi_digest': kpi_digest(kpis),
        'kpi_tickets': sum(int(report.kpis['tickets'].value or 0) for report in kpis),
        'kpi_job_cards': sum(int(report.kpis['job_cards'].value or 0) for report in kpis),
        'kpi_late_changes': sum(report.late_changes for report in kpis),
    }
    print_summary(summary, result)
    print_kpis(kpis)
    from infrastructure.leagues import close_and_report
    from infrastructure.statement import print_sample_statement

    figures['leagues'] = close_and_report(f'{month.month:%Y-%m}', invoke)
    from infrastructure.recognition import give_and_report
    from infrastructure.rewards import flags_and_report, plant_collusion, spot_awards

    month_text = f'{month.month:%Y-%m}'
    planted = plant_collusion(month_text)  # before the others' thanks use the allowances up
    figures['recognition'] = give_and_report(month_text) | {'planted': planted}
    figures['spot_awards'] = spot_awards(month_text)
    figures['collusion_flags'] = flags_and_report(month_text, invoke)
    from infrastructure.rewards import redeem_and_report

    figures['redemptions'] = redeem_and_report(month_text, wait=lambda: stack.wait_until_idle(timeout_s=120))
    print_sample_statement(f'{month.month:%Y-%m}')
    from infrastructure.payouts import payout_and_report  # the month's payroll export per program, and its re-run

    figures['payouts'] = payout_and_report(f'{month.month:%Y-%m}', invoke)
    progress.set_phase('done')
    return figures


def location_kpis(month: str) -> list[Any]:
    """Each configured location's month, read as the API will: one Query per location."""
    from shared.kpi.report import read_month
    from shared.kpi.store import KpiStore
    from shared.sla.config import load_config

    config, store = load_config(), KpiStore()
    return [read_month(store, f'location#{location.location_id}', month, config.kpi) for location in config.locations]


def kpi_digest(reports: list[Any]) -> str:
    digest = hashlib.sha256()
    for report in reports:
        digest.update(json.dumps([report.scope, report.counters], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _fmt(value: Any, unit: str = '', digits: int = 1) -> str:
    if value is None or value.value is None:
        return '-'
    flag = '' if value.significant else '*'
    return f'{value.value:.{digits}f}{unit}{flag}'


def print_kpis(reports: list[Any]) -> None:
    """The month's KPIs per location (shared/kpi/report.py); * = below the minimum sample."""
    if not reports:
        return
    print(f'\nKPIs for {reports[0].month} per location (business time where marked "bus"; * = not yet significant)')
    header = (f'  {"location":10} {"tickets":>7} {"FRT min":>8} {"FRT bus":>8} {"resol h":>8} {"FCR %":>6} {"1-touch":>7} '
              f'{"CSAT %":>7} {"NPS":>6} {"SLA %":>6} {"jobs":>5} {"TAT h":>6} {"FTF %":>6} {"repeat%":>7} {"0-def%":>6} '
              f'{"upsell%":>7} {"upsell $":>9} {"late":>4}')
    print(header)
    for r in reports:
        k = r.kpis
        print(f'  {r.scope.split("#", 1)[1]:10} {int(k["tickets"].value):>7} {_fmt(k["first_response_time"]):>8} '
              f'{_fmt(k["first_response_time_business"]):>8} {_fmt(k["average_resolution_time"]):>8} '
              f'{_fmt(k["first_contact_resolution"]):>6} {_fmt(k["one_touch_resolution_rate"]):>7} {_fmt(k["csat"]):>7} '
              f'{_fmt(k["nps"]):>6} {_fmt(k["sla_compliance"]):>6} {int(k["job_cards"].value):>5} {_fmt(k["turnaround_time"]):>6} '
              f'{_fmt(k["first_time_fix_rate"]):>6} {_fmt(k["repeat_complaint_rate"]):>7} {_fmt(k["zero_defect_rate"]):>6} '
              f'{_fmt(k["upsell_conversion"]):>7} {k["upsell_revenue"].value:>9.0f} {r.late_changes:>4}')
    print('  service level per channel (response time and CSAT, the lower of the two; brief section 3):')
    for r in reports:
        levels = ', '.join(f'{channel} {level.level} {level.name}' if level.level else f'{channel} not judged'
                           for channel, level in r.service_levels.items())
        print(f'    {r.scope.split("#", 1)[1]:10} {levels}')
    print(f'  read any scope: python -m infrastructure.kpi_report --scope location#<id> --month YYYY-MM --region {REGION} '
          f'--endpoint-url http://127.0.0.1:<aws port> --config-parameter {SERVICE_CONFIG_PARAMETER}')


def replay_samples(stack: LocalStack, started: float, progress: ReplayProgress | None = None) -> dict[str, Any]:
    progress = progress or ReplayProgress()
    progress.set_phase('replaying samples')
    directory = import_directory((ROOT / 'events' / 'directory_sample.csv').read_text())
    print(f'directory: {directory.get("created", 0)} employees imported')
    answers: Counter[int] = Counter()
    for label, path, body, headers in sample_requests():
        status, text = post(f'http://127.0.0.1:{stack.api_port}', path, body, headers)
        answers[status] += 1
        reason = json.loads(text).get('error', {}).get('reason', '') if status != 200 and text.startswith('{') else ''
        print(f'  {status} {label} {reason[:90]}')
    drained = stack.wait_until_idle()
    summary = summarize(stack)
    print_summary(summary, None)
    progress.set_phase('done')
    return {
        'events_sent': sum(answers.values()),
        'accepted': answers[200],
        'rejected': sum(answers.values()) - answers[200],
        'quarantined': summary['quarantined_total'],
        'ledger_entries': summary['ledger_entries'],
        'points_pending': sum(role['pending'] for role in summary['points_by_role'].values()),
        'balances_reconcile': summary['reconcile'],
        'queue_drained': drained,
        'wall_s': round(time.perf_counter() - started, 1),
    }


def summarize(stack: LocalStack) -> dict[str, Any]:
    """Read back what the system did, from the tables (this is a local report, so it may Scan)."""
    from shared.directory.store import DirectoryStore
    from shared.ledger.store import LedgerStore
    from shared.quarantine.store import QuarantineStore
    from shared.tickets.store import TicketStore

    directory, ledger = DirectoryStore(), LedgerStore()
    rows = []
    reconcile = True
    entries_total = not_recovered = 0
    digest = hashlib.sha256()
    by_role: dict[str, dict[str, int]] = {}  # the programs' reach: people per role, and how many earned nothing
    for profile in sorted(directory.profile.employees_index.query('EMPLOYEE'), key=lambda p: p.employee_id):
        entries = ledger.entries_for(profile.employee_id)
        amounts = [entry.amount for entry in entries]
        not_recovered += sum(int(entry.reason.inputs.get('unrecovered_points', 0) or 0) for entry in entries)
        balance = ledger.balance(profile.employee_id)
        entries_total += len(amounts)
        reconcile &= balance.available == sum(amounts)
        digest.update(f'{profile.employee_id}={balance.available};'.encode())
        rows.append((profile.location_id or '-', profile.employee_id, profile.name or '', balance.available, len(amounts)))
        role = by_role.setdefault(profile.role or '-', {'people': 0, 'without_points': 0, 'available': 0, 'pending': 0})
        role['people'] += 1
        role['without_points'] += int(balance.available + balance.pending <= 0)
        role['available'] += balance.available
        role['pending'] += balance.pending
    quarantine = QuarantineStore()
    quarantined = [item for day in stack.quarantine_days() for item in quarantine.list_day(day)]
    tickets = TicketStore()
    distinct_events = 0
    for record in tickets.model.scan(attributes_to_get=['events', 'history']):  # each ticket keeps its distinct events
        # not the repeat-visit events Pitcrew adds itself (shared/tickets/processing.py); a ticket with more than 200
        # events keeps the older ones folded (shared/tickets/history.py), counted as the fold counted them
        events = json.loads(zlib.decompress(record.events))
        distinct_events += sum(1 for event in events if not event['event_id'].startswith('repeat-visit:'))
        if record.history:
            distinct_events += json.loads(zlib.decompress(record.history))['fold'].get('count', 0)
    unmapped = {source: len(tickets.unmapped_ticket_keys(source)) for source in ('zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms')}
    return {
        'rows': sorted(rows, key=lambda r: (r[0], -r[3])),
        'quarantined': quarantined,
        'quarantined_total': len(quarantined),
        'unmapped': unmapped,
        'ledger_entries': entries_total,
        'reconcile': reconcile,
        'not_recovered': not_recovered,
        'points_by_role': dict(sorted(by_role.items())),
        'distinct_events': distinct_events,
        'digest': digest.hexdigest()[:16],
        'emails': stack.sent_emails(),
        'twilio': stack.twilio.summary(),
        'alerts': alert_summary(),
    }


EXPIRED_LATE = 'found too long after its time'


def alert_summary() -> dict[str, Any]:
    """The alerts table read back (a local report: it may Scan): alerts per kind, status and channel, delivery statuses
    from Twilio's callbacks, and lateness after the threshold (on the replay's simulated clock)."""
    import boto3

    from shared.config import get_settings

    client = boto3.client('dynamodb', region_name=get_settings().AWS_REGION)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator('scan').paginate(TableName=get_settings().ALERTS_TABLE):
        items.extend(item for item in page['Items'] if item['pk']['S'].startswith('ALERT#'))

    def text(item: dict[str, Any], name: str) -> str:
        return str(item.get(name, {}).get('S', '-'))

    lateness = sorted(float(item['lateness_s']['N']) for item in items if 'lateness_s' in item)
    return {
        'alerts': len(items),
        # expired by the scanner as "found too long after its time" (shared/alerts/store.py); with the replay's clock
        # gated on the pipeline only an event that arrived that late can do it (the sample month's late deliveries)
        'expired_found_late': sum(1 for i in items if text(i, 'status') == 'expired' and text(i, 'reason').startswith(EXPIRED_LATE)),
        'by_kind_status': dict(sorted(Counter(f'{text(i, "kind")}/{text(i, "status")}' for i in items).items())),
        'by_channel': dict(sorted(Counter(text(i, 'channel') for i in items if text(i, 'status') == 'sent').items())),
        'delivery': dict(sorted(Counter(text(i, 'message_status') for i in items if text(i, 'status') == 'sent').items())),
        'sms_fallbacks': sum(1 for i in items if 'fallback_sid' in i or 'fell_back_from' in i),
        'lateness_median_s': round(lateness[len(lateness) // 2], 1) if lateness else None,
        'lateness_max_s': round(lateness[-1], 1) if lateness else None,
    }


def print_summary(summary: dict[str, Any], result: Any) -> None:
    if result is not None:
        print(f'\nanswers: {dict(sorted(result.statuses.items()))}')
        reasons = Counter(f'{o.status} {o.delivery.source} {o.reason[:80]}' for o in result.rejected)
        for reason, count in reasons.most_common():
            print(f'  {count:>3} x {reason}')
    print('\npoints per employee: top 10 per location')
    by_location: dict[str, list[tuple[str, str, str, int, int]]] = {}
    for row in summary['rows']:
        by_location.setdefault(row[0], []).append(row)
    for location, rows in by_location.items():
        print(f'  {location}')
        for _, employee_id, name, points, entries in rows[:10]:
            print(f'    {employee_id:6} {name:22} {points:>6} pts  {entries:>4} entries')
    print('\npoints per role (available + pending; managers are outside both programs)')
    for role, figures in summary['points_by_role'].items():
        print(f'  {role:16} {figures["people"]:>3} people  {figures["without_points"]:>3} without points  '
              f'{figures["available"]:>7} available  {figures["pending"]:>7} pending')
    waiting = ', '.join(f'{source} {count}' for source, count in summary['unmapped'].items() if count) or 'none'
    print(f'\ntickets waiting for a directory mapping (index "unmapped"): {waiting}')
    print(
        f'\nquarantined: {summary["quarantined_total"]} (DynamoDB QuarantineTable, index by_day; replay with the QuarantineReplay function)'
    )
    for item in summary['quarantined'][:20]:
        print(f'  {item["quarantine_id"]}  {item["status_code"]} {item["source"]:10} {item["field"] or "-":24} {str(item["reason"])[:60]}')
    print('\nsent')
    for email in summary['emails']:
        print(f'  email to {email["to"]}: {email["subject"]}')
    print(f'  WhatsApp/SMS through the fake Twilio: {summary["twilio"]["messages"]} messages {summary["twilio"]["by_status"] or ""}')
    alerts = summary['alerts']
    print(f'\nalerts (AlertsTable): {alerts["alerts"]}; sent by channel {alerts["by_channel"]}; Twilio statuses {alerts["delivery"]}; '
          f'SMS fallbacks {alerts["sms_fallbacks"]}')
    for kind_status, count in alerts['by_kind_status'].items():
        print(f'  {count:>5} {kind_status}')
    print(f'  lateness after the threshold (simulated clock; the replay scans when its clock passes a minute): median '
          f'{alerts["lateness_median_s"]} s, max {alerts["lateness_max_s"]} s')
    if result is not None:
        scans = [outcome for name, _, outcome in result.schedule_runs if name == 'AlertScannerFunction' and isinstance(outcome, dict)]
        print(f'  alert scans: {len(scans)}, alerts queued {sum(s.get("queued", 0) for s in scans)}, '
              f'expired {sum(s.get("expired", 0) for s in scans)}, items read {sum(s.get("items_read", 0) for s in scans)}')
        for name, moment, outcome in result.schedule_runs:
            if name in ('AlertScannerFunction', 'DailyRemindersFunction'):
                continue
            keys = ('employees_audited', 'entries_checked', 'mismatches', 'email_sent', 'people_judged', 'streak_badges', 'error')
            brief = {k: outcome[k] for k in keys if k in outcome} if isinstance(outcome, dict) else outcome
            print(f'  schedule {name} at {moment:%Y-%m-%d %H:%M} UTC: {brief or outcome}')


if __name__ == '__main__':
    main()
