"""3,333 alerts through the local stack, on a simulated clock: `python -m tests.bench.alerts` (run by `make bench`).

What runs is the deployed path: tickets' plans in AlertsTable (written as the alert planner writes them: one ticket
per alert), the real scanner handler querying the sparse `due` index and writing each plan's alert out when it falls due, the alerts queue (moto SQS) consumed by the real sender handler with
Lambda's batch semantics, the real twilio client against the fake Twilio, whose signed status callbacks come back
through the local API to the real Twilio webhooks handler.

The clock: the scanner scans twice a minute in AWS (ALERT_SCANS_PER_MINUTE=2, 30 s apart); here each scan is an
invocation at a simulated instant, every 30 s across a 200-minute stretch of the day. Every scan is fired twice
(EventBridge delivers at least once) and a tenth of the queued alerts are queued a second time (a scanner that died
between queueing and marking), so duplicates have their chance. After each scan the bench waits for the queue to
drain; the sender measures each alert's lateness as (scan instant - threshold) + the wall time from queueing to
Twilio's answer, so slow sending shows up as lateness. Another as many pending alerts fall due the next day and must
not be read.

Twilio's signed status callbacks come back while the day runs (the fake's callback thread, as in the local stack);
what the thread has not yet called back when the day ends is left undelivered and counted: draining it, one POST at a
time, took about as long as the sending itself and measured nothing reported (the figures above are all settled by
then; the callbacks' handling is covered by the tests).

The size: the lateness figures depend on the shape of the load per minute, not on the day's length. The shape is a
steady 44/3 alerts a minute (8,800 over a 10-hour day) with bursts of 400 alerts within one minute (shift starts)
making 12% of all alerts. One burst on 200 minutes of background (2,933 + 400 = 3,333 alerts) is that shape; the
earlier drill (10,000 alerts: three bursts on 10 hours) was the same shape three times over and spent about 460 s
just sending at the 25 msgs/s limit.

Figures (last line, JSON): alerts_per_s (sent per second of sending wall time) with alerts_mps_limit (the configured
limit), alert_duplicates (Twilio messages beyond one per alert), alert_lateness_median_s / _max_s, and
alert_scan_read_ratio (index items read / alerts due; beside them the scan reads each plan found due once, in full:
alert_scan_plan_reads).
"""

from __future__ import annotations

import csv
import io
import json
import random
import socket
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

PEOPLE = 300
MPS_LIMIT = 25.0
DAY_START = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 08:00 New York, 13:00 London, 18:30 Kolkata
DAY_MINUTES = 200  # simulated minutes of scanning
BACKGROUND_PER_MINUTE = 8_800 / 600  # alerts falling due at random instants, per simulated minute
BURSTS = ((0, 400),)  # (minute of the day, alerts due within that minute): a shift start; 400 of 3,333 = 12%, as before
ALERTS = round(BACKGROUND_PER_MINUTE * DAY_MINUTES) + sum(count for _, count in BURSTS)  # 3,333 due today
NOISE = ALERTS  # as many pending for the next day, never to be read
ZONES = (('America/New_York', '+1212555'), ('Europe/London', '+4477009'), ('Asia/Kolkata', '+9198450'))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


def directory_csv(rng: random.Random) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(
        ['employee_id', 'name', 'role', 'location_id', 'manager_id', 'phone', 'whatsapp_opt_in', 'email', 'time_zone', 'language']
    )
    for n in range(PEOPLE):
        zone, prefix = ZONES[n % len(ZONES)]
        manager = n < len(ZONES)
        writer.writerow([
            f'B{n:04d}', f'Person {n}', 'manager' if manager else 'agent', f'SITE-{n % len(ZONES)}',
            '' if manager else f'B{n % len(ZONES):04d}', f'{prefix}{n:04d}', 'yes' if rng.random() < 0.7 else 'no',
            f'person{n}@example.com', zone, 'hi' if zone == 'Asia/Kolkata' and rng.random() < 0.5 else 'en',
        ])  # fmt: skip
    return out.getvalue()


def due_times(rng: random.Random) -> list[datetime]:
    burst_total = sum(count for _, count in BURSTS)
    times = [DAY_START + timedelta(seconds=rng.uniform(0, DAY_MINUTES * 60)) for _ in range(ALERTS - burst_total)]
    for minute, count in BURSTS:
        times.extend(DAY_START + timedelta(minutes=minute, seconds=rng.uniform(0, 60)) for _ in range(count))
    return sorted(times)


def run() -> dict[str, Any]:
    from infrastructure.local.sample_month import service_config
    from infrastructure.local.stack import SERVICE_CONFIG_PARAMETER, LocalStack, invoke

    phases: dict[str, float] = {}  # wall seconds of each part of the drill
    phase_began = time.perf_counter()
    stack = LocalStack(aws_port=free_port(), api_port=free_port(), twilio_port=free_port(), pollers=1, alert_messages_per_second=MPS_LIMIT)
    stack.start()
    phases['stack_start_s'] = round(time.perf_counter() - phase_began, 1)
    phase_began = time.perf_counter()
    try:
        import boto3
        from aws_lambda_powertools.utilities import parameters

        from infrastructure.local.schedule import scheduled_event
        from shared.alerts.plan import AlertKind, Recipient
        from shared.alerts.scan import AlertMessage
        from shared.alerts.store import AlertStore
        from shared.alerts.sync import PendingAlert, alert_id

        rng = random.Random(2026)
        # No quiet window: this measures sending, not the night's hold (tests cover quiet hours).
        config = service_config()
        config['alerts']['quiet_hours'] = {'start': '00:00', 'end': '00:00'}
        boto3.client('ssm').put_parameter(Name=SERVICE_CONFIG_PARAMETER, Value=json.dumps(config), Type='String', Overwrite=True)
        parameters.clear_caches()
        imported = invoke('functions.directory_import.app.lambda_handler', {'format': 'csv', 'content': directory_csv(rng)})
        assert imported.get('created') == PEOPLE, imported

        store = AlertStore()
        kinds = (AlertKind.SLA_RISK, AlertKind.SLA_BREACH, AlertKind.PROMISE_MISSED, AlertKind.APPROVAL_WAITING)
        planned_at = DAY_START - timedelta(hours=1)
        due = due_times(rng)
        position = {moment: index for index, moment in enumerate(due)}
        tomorrow = [moment + timedelta(days=1) for moment in due_times(rng)][:NOISE]
        plans = []
        for index, moment in enumerate([*due, *tomorrow]):
            kind = kinds[index % len(kinds)]
            role = Recipient.MANAGER if kind is AlertKind.SLA_BREACH and index % 3 == 0 else Recipient.ASSIGNEE
            subject = f'B{len(ZONES) + index % (PEOPLE - len(ZONES)):04d}'
            key = f'bench:ticket:{index}|{kind.value}|resolution|75%'
            alert = PendingAlert(alert_id(key, role), f'bench:ticket:{index}', f'T-{index}', kind, 'resolution', '75%', role, subject, moment)
            plans.append(store.new_plan_item(f'bench:ticket:{index}', [alert], planned_at))  # as put_plan writes a first plan
        for start in range(0, len(plans), 25):  # loaded 25 at a time (the planner writes one per ticket change)
            request = {store.table: [{'PutRequest': {'Item': item}} for item in plans[start : start + 25]]}
            while request:
                request = store.client.batch_write_item(RequestItems=request).get('UnprocessedItems') or {}

        sqs = boto3.client('sqs')
        alerts_queue = stack.queue_urls['AlertsQueue']
        scanner = 'functions.alert_scanner.app.lambda_handler'
        items_read = alerts_due = requeued = plan_reads = 0
        sending_wall = 0.0
        began = time.perf_counter()
        phases['plan_s'] = round(began - phase_began, 1)
        clock = DAY_START
        end = DAY_START + timedelta(minutes=DAY_MINUTES + 1)
        while clock <= end:
            started = time.perf_counter()
            first = invoke(scanner, scheduled_event(clock, 'arn:aws:events:us-east-1:123456789012:rule/bench'))
            second = invoke(scanner, scheduled_event(clock, 'arn:aws:events:us-east-1:123456789012:rule/bench'))  # at least once
            items_read += first['items_read'] + second['items_read']
            plan_reads += first['plan_reads'] + second['plan_reads']
            alerts_due += first['due'] + second['due']
            if first['queued']:
                # a tenth queued twice, as by a scanner that died after queueing and before marking
                just_due = [m for m in due if clock - timedelta(seconds=30) < m <= clock][: max(1, first['queued'] // 10)]
                for moment in just_due:
                    index = position[moment]
                    kind = kinds[index % len(kinds)]
                    role = Recipient.MANAGER if kind is AlertKind.SLA_BREACH and index % 3 == 0 else Recipient.ASSIGNEE
                    body = AlertMessage(
                        alert=alert_id(f'bench:ticket:{index}|{kind.value}|resolution|75%', role), at=clock, queued=time.time()
                    )
                    sqs.send_message(QueueUrl=alerts_queue, MessageBody=body.model_dump_json())
                    requeued += 1
                while stack.backlog():  # until the sender has taken and finished every message
                    time.sleep(0.005)
                sending_wall += time.perf_counter() - started
            clock += timedelta(seconds=30)
            if clock.minute == 0 and clock.second == 0:
                print(f'  simulated {clock:%H:%M}: {alerts_due} due so far, {time.perf_counter() - began:.0f} s', file=sys.stderr, flush=True)
        phases['day_s'] = round(time.perf_counter() - began, 1)
        phase_began = time.perf_counter()

        # Read back (a report: it may Scan).
        client = boto3.client('dynamodb')
        everything = [item for page in client.get_paginator('scan').paginate(TableName=store.table) for item in page['Items']]
        items = [item for item in everything if item['pk']['S'].startswith('ALERT#bench:ticket:')]
        still_planned = [item for item in everything if item['pk']['S'].startswith('PLAN#bench:ticket:') and 'due_shard' in item]
        today = [item for item in items if item['threshold_at']['S'] < (DAY_START + timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')]
        statuses = Counter(item['status']['S'] for item in today)
        lateness = sorted(float(item['lateness_s']['N']) for item in today if 'lateness_s' in item)
        twilio_summary = stack.twilio.summary()
        messages = stack.twilio.messages
        per_alert = Counter(parse_qs(urlsplit(m['status_callback'] or '').query).get('alert', ['?'])[0] for m in messages)
        emails = len(stack.sent_emails())
        sent = statuses.get('sent', 0)
        phases['read_back_s'] = round(time.perf_counter() - phase_began, 1)
        return {
            'alerts': len(today),
            'noise_pending_next_day': len(items) - len(today) + len(still_planned),
            'noise_written_out': len(items) - len(today),  # next day's alerts written out early: goal 0
            'statuses': dict(statuses),
            'channels': dict(Counter(item.get('channel', {}).get('S', '-') for item in today)),
            'twilio_messages': len(messages),
            'emails': emails,
            'requeued_duplicates_injected': requeued,
            'scans': int((end - DAY_START).total_seconds() // 30) + 1,
            'simulated_minutes': DAY_MINUTES,
            'background_per_minute': round(BACKGROUND_PER_MINUTE, 2),
            'alerts_per_s': round(sent / sending_wall, 1) if sending_wall else None,
            'alerts_mps_limit': MPS_LIMIT,
            'alert_duplicates': sum(count - 1 for count in per_alert.values() if count > 1),
            'alert_lateness_median_s': round(statistics.median(lateness), 1) if lateness else None,
            'alert_lateness_p99_s': round(lateness[int(len(lateness) * 0.99)], 1) if lateness else None,
            'alert_lateness_max_s': round(lateness[-1], 1) if lateness else None,
            'alert_scan_read_ratio': round(items_read / alerts_due, 3) if alerts_due else None,
            'scan_items_read': items_read,
            'alert_scan_plan_reads': plan_reads,
            'alerts_due_found': alerts_due,
            'sending_wall_s': round(sending_wall, 1),
            'callbacks': twilio_summary['callbacks'],
            'twilio_statuses_at_end': twilio_summary['by_status'],  # queued / sent: callbacks still to come when the day ended
            'delivery_statuses': dict(Counter(item.get('message_status', {}).get('S', '-') for item in today if 'message_sid' in item)),
            'phases_s': phases,
        }
    finally:
        stack.stop()


if __name__ == '__main__':
    print(json.dumps(run(), separators=(',', ':')))
