"""Seeding and driving a league close on moto (tests and bench): people's score items written as the league scorer
writes them (`shared.leagues.live_store`), KPI month items, and a close run through its two handlers the way Lambda
runs them (the coordinator, then LeagueCloseQueue's messages one per invocation, as BatchSize 1 delivers them)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.leagues.live import board_pk, board_sk
from tests.support.apigw import lambda_context


@dataclass(frozen=True)
class Score:
    employee_id: str
    division: str
    points: int
    items: int = 10
    qualified: bool = True
    reached_at: str = '2026-10-20T10:00:00+00:00'
    entries: int = 5
    digest: str = '0123456789abcdef'


def score_item(program_id: str, month: str, score: Score) -> dict[str, Any]:
    """A person's month item as the scorer writes it (board keys while qualified)."""
    score_x100 = score.points * 100
    item: dict[str, Any] = {
        'pk': {'S': f'S#{program_id}#{score.employee_id}'}, 'sk': {'S': month}, 'employee_id': {'S': score.employee_id},
        'program_id': {'S': program_id}, 'month': {'S': month}, 'division': {'S': score.division}, 'points': {'N': str(score.points)},
        'items': {'N': str(score.items)}, 'score_x100': {'N': str(score_x100)}, 'entries': {'N': str(score.entries)},
        'digest': {'S': score.digest}, 'seq': {'S': '1'.zfill(40)}, 'reached_at': {'S': score.reached_at}, 'late_points': {'N': '0'},
        'late_points_in': {'N': '0'}, 'qualified': {'BOOL': score.qualified},
    }  # fmt: skip
    if score.qualified:
        item['board_pk'] = {'S': board_pk(program_id, month, score.division)}
        item['board_sk'] = {'S': board_sk(score_x100, score.employee_id)}
    return item


def kpi_item(employee_id: str, month: str, counters: dict[str, int]) -> dict[str, Any]:
    return {'pk': {'S': f'employee#{employee_id}'}, 'sk': {'S': month}} | {k: {'N': str(v)} for k, v in counters.items()}


def put_items(dynamodb: Any, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """(table, item) pairs, 25 a BatchWriteItem."""
    pending = list(items)
    for start in range(0, len(pending), 25):
        request: dict[str, list[dict[str, Any]]] = {}
        for table, item in pending[start : start + 25]:
            request.setdefault(table, []).append({'PutRequest': {'Item': item}})
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get('UnprocessedItems') or {}


def seed_scores(dynamodb: Any, program_id: str, month: str, scores: Iterable[Score],
                kpis: dict[str, dict[str, int]] | None = None) -> None:
    leagues, kpi = os.environ['LEAGUES_TABLE'], os.environ['KPI_TABLE']
    put_items(dynamodb, [(leagues, score_item(program_id, month, s)) for s in scores]
              + [(kpi, kpi_item(e, month, c)) for e, c in (kpis or {}).items()])


@dataclass
class CloseDrive:
    """What one drive of a close returned: the coordinator's answer and every division answer (or failure)."""

    started: dict[str, Any]
    divisions: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0


def bind_handlers(book: Callable[[], Any], monkeypatch: Any, queue_url: str) -> None:
    """Point both handlers at this test's tables, queue and programs (their stores are per warm container)."""
    from functions.league_close import app as coordinator
    from functions.league_close_division import app as worker

    monkeypatch.setenv('LEAGUE_CLOSE_QUEUE_URL', queue_url)
    from shared.config import get_settings

    get_settings.cache_clear()
    for module in (coordinator, worker):
        monkeypatch.setattr(module, '_store', None)
        monkeypatch.setattr(module, '_book', book)
    monkeypatch.setattr(coordinator, '_sqs', None)


def sqs_record(body: str, message_id: str = 'm-1', receipt: str = 'r-1', attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    return {'messageId': message_id, 'receiptHandle': receipt, 'body': body, 'attributes': {k: str(v) for k, v in (attributes or {}).items()},
            'messageAttributes': {}, 'md5OfBody': '', 'eventSource': 'aws:sqs',
            'eventSourceARN': 'arn:aws:sqs:us-east-1:123456789012:pitcrew-LeagueCloseQueue', 'awsRegion': 'us-east-1'}


def deliver_bodies(bodies: Iterable[str]) -> int:
    """Hand message bodies to the division worker, one per invocation; returns how many it reported failed."""
    from functions.league_close_division import app as worker

    failures = 0
    for number, body in enumerate(bodies):
        result = worker.lambda_handler({'Records': [sqs_record(body, f'm-{number}', f'r-{number}')]}, lambda_context())
        failures += len(result.get('batchItemFailures', []))
    return failures


def deliver(sqs: Any, queue_url: str, *, max_invocations: int = 1000) -> tuple[list[dict[str, Any]], int]:
    """Deliver LeagueCloseQueue's messages to the division worker one per invocation until the queue is empty; a
    reported failure makes the message visible again at once (locally, instead of the visibility timeout)."""
    from functions.league_close_division import app as worker

    answers: list[dict[str, Any]] = []
    failures = 0
    for _ in range(max_invocations):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=['All']).get('Messages', [])
        if not messages:
            return answers, failures
        (message,) = messages
        record = sqs_record(message['Body'], message['MessageId'], message['ReceiptHandle'], message.get('Attributes'))
        result = worker.lambda_handler({'Records': [record]}, lambda_context())
        if result.get('batchItemFailures'):
            failures += 1
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message['ReceiptHandle'], VisibilityTimeout=0)
            continue
        answers.append({'body': message['Body']})
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message['ReceiptHandle'])
    raise RuntimeError(f'LeagueCloseQueue not empty after {max_invocations} invocations')


def drive(event: dict[str, Any], sqs: Any, queue_url: str) -> CloseDrive:
    """Run a close as deployed: the coordinator with `event`, then its division messages."""
    from functions.league_close import app as coordinator

    started = coordinator.lambda_handler(event, lambda_context())
    answers, failures = deliver(sqs, queue_url)
    return CloseDrive(started, answers, failures)
