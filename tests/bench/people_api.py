"""Bench figures of the people-facing API and page (issue 15); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

- api_p50_ms_statement, api_p50_ms_standings: median wall time of GET /v1/me/statement and GET /v1/standings on the local
  stack, asked over HTTP as the page asks (keep-alive connection, an ID token from the local Cognito, checked by the
  emulated JWT authorizer, then the real function: per-user throttle, scope, the use case's reads).
- api_p50_ms_getitem_ledger, api_p50_ms_getitem_leagues: a bare GetItem of the same tables (LedgerTable, LeaguesTable)
  through the same local AWS over HTTP (boto3, signed), interleaved with the API requests in one run.
- api_overhead_ratio: the larger of statement / GetItem(ledger) and standings / GetItem(leagues); goal <= 2.
- bola_cases, bola_leaks: every case of the people and team BOLA tables (route x role x another scope's object, run
  through the real handlers on moto); a leak is an answer that is not the expected refusal or that carries another
  person's phone, e-mail or name. Goal: 0 leaks.
- page_weight_kb: the page's first load (tests/bench/page_weight.py).

Sized to its figures: 8 advisors with 60 ledger entries each this month (a statement of 3 pages of 20 lines) and 40
people in the division's board; 120 rounds of (statement, standings, GetItem, GetItem) after 10 warm-up rounds, the
users in turn (each stays under the API's 120 requests a minute). Each part runs in a process of its own (the local
stack and the BOLA tables both patch the AWS SDK).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get('BENCH_API_ROUNDS', '120'))
WARMUP = 10
USERS = 8
ENTRIES_PER_USER = 60
BOARD = 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


def _child(flag: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(('AWS_', 'POWERTOOLS_', 'PITCREW_'))}
    done = subprocess.run([sys.executable, '-m', 'tests.bench.people_api', flag], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900, check=False)  # fmt: skip
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if not line.startswith('{"level"')][-20:]
        raise RuntimeError(f'people_api {flag} failed:\n' + '\n'.join(tail))
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def figures() -> dict[str, Any]:
    from tests.bench.page_weight import figures as page_weight

    return {**_child('--latency'), **_child('--bola'), **page_weight()}


# --- the latency drill (a process of its own) ------------------------------------------------------------------------
def _seed(stack: Any, now: datetime) -> list[tuple[str, str]]:
    """The sample directory, USERS advisors of one division with a login each, their month's entries, scored by the
    league scorer (the stack's own stream reader). Returns (username, employee id)."""
    import boto3

    from infrastructure.local.cognito import LOCAL_PASSWORD
    from infrastructure.local.sample_month import SampleMonth, sample_people
    from infrastructure.local.stack import invoke
    from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry

    people = sample_people()
    imported = invoke('functions.directory_import.app.lambda_handler',
                      {'format': 'csv', 'content': SampleMonth(date(2026, 10, 1), people, [], 0, 0).directory_csv()})  # fmt: skip
    assert imported.get('ok'), imported
    stack.create_people_users(people)
    advisors = [p for p in people if p.role == 'service_advisor']
    division = [p for p in advisors if p.region == advisors[0].region][:BOARD]
    users = division[:USERS]
    pool = stack.people_pool
    assert pool is not None
    cognito = boto3.client('cognito-idp')
    for n, person in enumerate(users):
        username = f'bench-{n}'
        cognito.admin_create_user(UserPoolId=pool.pool_id, Username=username, MessageAction='SUPPRESS', UserAttributes=[
            {'Name': 'custom:employee_id', 'Value': person.employee_id}, {'Name': 'custom:location', 'Value': person.location_id},
            {'Name': 'custom:region', 'Value': person.region}])  # fmt: skip
        cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=username, Password=LOCAL_PASSWORD, Permanent=True)
        cognito.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=username, GroupName='advisor')
    ledger, balances = os.environ['LEDGER_TABLE'], os.environ['BALANCES_TABLE']
    dynamodb = boto3.client('dynamodb')
    month_start = now.replace(day=1, hour=6, minute=0, second=0, microsecond=0)
    span = max(1.0, (now - month_start).total_seconds() - 3600)
    counter = 0
    for index, person in enumerate(division):
        count = ENTRIES_PER_USER if person in users else 3 + index % 5
        for k in range(count):
            counter += 1
            at = month_start + timedelta(seconds=span * k / count)
            reason = EntryReason(ticket_key=f'dms#JC-B{counter}', source_event_id=f'release-{counter}', basis_event_id='delivery',
                                 rule_id='first_time_fix' if k % 3 else 'csat_bonus', rule_version=1, program_id='pitstop@1',
                                 inputs={'job_cards': 1})  # fmt: skip
            entry = LedgerEntry(entry_id=f'B{counter:031d}', employee_id=person.employee_id, amount=10 + k % 7, kind=EntryKind.AWARD,
                                status=EntryStatus.AVAILABLE, reason=reason, occurred_at=at, recorded_at=at)  # fmt: skip
            dynamodb.put_item(TableName=ledger, Item={
                'pk': {'S': f'EMP#{entry.employee_id}'}, 'sk': {'S': f'ENTRY#{entry.entry_id}'}, 'entry': {'S': entry.model_dump_json()},
                'amount': {'N': str(entry.amount)}, 'kind': {'S': entry.kind.value}, 'period': {'S': entry.period},
                'recorded_at': {'S': entry.recorded_at.isoformat()}})  # fmt: skip
            dynamodb.update_item(TableName=balances, Key={'pk': {'S': f'EMP#{entry.employee_id}'}}, UpdateExpression='ADD available :a',
                                 ExpressionAttributeValues={':a': {'N': str(entry.amount)}})  # fmt: skip
    assert stack.wait_until_idle(300), 'the league scorer did not catch up'
    return [(f'bench-{n}', person.employee_id) for n, person in enumerate(users)]


def latency() -> dict[str, Any]:
    """The stack in this process, seeded; the measuring client in a process of its own (as the page and any AWS client
    reach the stack: over HTTP; in this process every AWS call would go to moto in-process, skipping HTTP)."""
    import boto3

    from infrastructure.local.cognito import LOCAL_PASSWORD
    from infrastructure.local.stack import LocalStack
    from shared.leagues.live import person_pk

    stack = LocalStack(aws_port=_free_port(), api_port=_free_port(), twilio_port=_free_port(), alerts=False)
    stack.start()
    try:
        now = datetime.now(UTC)
        users = _seed(stack, now)
        month = f'{now:%Y-%m}'
        pool = stack.people_pool
        assert pool is not None
        cognito = boto3.client('cognito-idp')
        tokens = [cognito.initiate_auth(ClientId=pool.client_id, AuthFlow='USER_PASSWORD_AUTH',
                                        AuthParameters={'USERNAME': username, 'PASSWORD': LOCAL_PASSWORD})['AuthenticationResult']['IdToken']
                  for username, _ in users]  # fmt: skip
        dynamodb = boto3.client('dynamodb')
        ledger, leagues = os.environ['LEDGER_TABLE'], os.environ['LEAGUES_TABLE']
        entry_keys = []
        for _, employee_id in users:
            item = dynamodb.query(TableName=ledger, KeyConditionExpression='pk = :p', ExpressionAttributeValues={':p': {'S': f'EMP#{employee_id}'}},
                                  Limit=1)['Items'][0]  # fmt: skip
            entry_keys.append({'pk': item['pk'], 'sk': item['sk']})
        month_keys = [{'pk': {'S': person_pk('pitstop', e)}, 'sk': {'S': month}} for _, e in users]  # each user's month score item
        assert all('Item' in dynamodb.get_item(TableName=leagues, Key=key) for key in month_keys), 'the scorer wrote no month items'
        plan = {'api_port': stack.api_port, 'aws_endpoint': stack.aws_endpoint, 'region': os.environ['AWS_REGION'], 'month': month,
                'tokens': tokens, 'ledger': ledger, 'leagues': leagues, 'entry_keys': entry_keys, 'month_keys': month_keys}  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(('AWS_', 'POWERTOOLS_'))}
        done = subprocess.run([sys.executable, '-m', 'tests.bench.people_api', '--client'], cwd=ROOT, env=env, input=json.dumps(plan),
                              capture_output=True, text=True, timeout=600, check=True)  # fmt: skip
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        stack.stop()


def client(plan: dict[str, Any]) -> dict[str, Any]:
    """Interleaved rounds: the statement, a GetItem of the ledger, the standings, a GetItem of the leagues table."""
    import boto3

    bare = boto3.client('dynamodb', endpoint_url=plan['aws_endpoint'], region_name=plan['region'], aws_access_key_id='local',
                        aws_secret_access_key='local')  # fmt: skip
    api = http.client.HTTPConnection('127.0.0.1', plan['api_port'], timeout=30)
    origin = f'http://127.0.0.1:{plan["api_port"]}'
    times: dict[str, list[float]] = {'statement': [], 'standings': [], 'get_ledger': [], 'get_leagues': []}
    statuses: dict[str, set[int]] = {'statement': set(), 'standings': set()}
    lines = 0

    def ask(path: str, token: str) -> tuple[int, dict[str, Any]]:
        api.request('GET', path, headers={'Authorization': f'Bearer {token}', 'Origin': origin})
        response = api.getresponse()
        return response.status, json.loads(response.read() or b'{}')

    tokens, month = plan['tokens'], plan['month']
    for n in range(WARMUP + ROUNDS):
        token = tokens[n % len(tokens)]
        for name, run in (
            ('statement', lambda: ask(f'/v1/me/statement?month={month}', token)),  # noqa: B023
            ('get_ledger', lambda: bare.get_item(TableName=plan['ledger'], Key=plan['entry_keys'][n % len(tokens)])),  # noqa: B023
            ('standings', lambda: ask(f'/v1/standings?month={month}', token)),  # noqa: B023
            ('get_leagues', lambda: bare.get_item(TableName=plan['leagues'], Key=plan['month_keys'][n % len(tokens)])),  # noqa: B023
        ):
            began = time.perf_counter()
            result: Any = run()
            elapsed = (time.perf_counter() - began) * 1000
            if name in statuses:
                status, body = result
                statuses[name].add(status)
                if name == 'statement':
                    lines = len(body.get('items', []))
            elif 'Item' not in result:
                raise RuntimeError(f'{name}: no item')
            if n >= WARMUP:
                times[name].append(elapsed)
    p50 = {name: statistics.median(values) for name, values in times.items()}
    ratio = max(p50['statement'] / p50['get_ledger'], p50['standings'] / p50['get_leagues'])
    return {
        'api_p50_ms_statement': round(p50['statement'], 2),
        'api_p50_ms_standings': round(p50['standings'], 2),
        'api_p50_ms_getitem_ledger': round(p50['get_ledger'], 2),
        'api_p50_ms_getitem_leagues': round(p50['get_leagues'], 2),
        'api_overhead_ratio': round(ratio, 2),
        'api_statuses': {name: sorted(found) for name, found in statuses.items()},
        'api_statement_lines_per_page': lines,
        'api_rounds': ROUNDS,
    }


# --- the BOLA tables (a process of its own) --------------------------------------------------------------------------
def bola() -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (the test environment: dummy credentials, Powertools settings)
    from tests.integration import test_api_people_bola as people
    from tests.integration import test_api_team_bola as team

    found = people.run_table()
    with team.bola_world() as objects:
        outcomes = [team.run_case(case, objects) for case in team.CASES]
    team_leaks = sum(1 for outcome in outcomes if not outcome.refused or outcome.leaked)
    return {'bola_cases': found['bola_cases'] + len(team.CASES), 'bola_leaks': found['bola_leaks'] + team_leaks}


if __name__ == '__main__':
    import logging

    logging.disable(logging.WARNING)
    flag = sys.argv[1] if len(sys.argv) > 1 else ''
    if flag == '--client':
        result = client(json.loads(sys.stdin.read()))
    else:
        result = latency() if flag == '--latency' else bola() if flag == '--bola' else figures()
    print(json.dumps(result))
