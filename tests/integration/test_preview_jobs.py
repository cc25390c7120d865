"""What-if previews as jobs (moto): POST /v1/admin/programs/{program_id}/preview validates the candidate and queues one
job per Idempotency-Key (202); functions/program_preview, fed the queue's message, prices it exactly as run_preview does
and GET /v1/admin/previews/{preview_id} answers the result; an invalid candidate is 400 naming the field with nothing
queued; an unknown job is 404; only admins may ask (403); a candidate that no longer loads fails at once with the
reason, and an unexpected error is retried by SQS and recorded failed on the third receive."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.support.factories import DIRECTORY_CSV, job_card_event, ticket_event
from tests.support.local_aws import LocalAws
from tests.support.people_api import answer, api_world, claims, people_event

WRITTEN = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
MONTH = '2024-05'
PROGRAMS_PATH = '/pitcrew/test/programs'
CONFIG_PARAMETER = '/pitcrew/test/service-config'
ADMIN = claims('admin', sub='admin-user')
HQ = claims('hq', sub='hq-user')
ADVISOR = claims('advisor', employee_id='E3', location='IN-BLR-01', region='IN-South')
PREVIEW_ROUTE = '/v1/admin/programs/{program_id}/preview'
STATUS_ROUTE = '/v1/admin/previews/{preview_id}'


def document(resolved_points: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        'program_id': 'support', 'name': 'Support and workshop', 'time_zone': 'UTC', 'currency': 'USD', 'points_per_currency_unit': 10,
        'starts_on': '2024-01-01', 'effective_from': '2024-01-01T00:00:00Z',
        'rules': [
            {'rule_id': 'resolved_within_sla', 'version': 1, 'kind': 'resolution_within_sla', 'points': resolved_points},
            {'rule_id': 'job_card_on_time', 'version': 1, 'kind': 'on_time_delivery', 'points': 20},
        ],
        **extra,
    }  # fmt: skip


def service_config(*locations: str) -> str:
    return json.dumps({'calendars': [{'calendar_id': 'all', 'timezone': 'UTC', 'hours': {'mon': [('00:00', '24:00')]}}],
                       'locations': [{'location_id': location, 'calendar_id': 'all'} for location in locations],
                       'default_calendar_id': 'all'})  # fmt: skip


def _clear_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    from shared.config import get_settings
    from shared.programs.loader import clear_cache

    get_settings.cache_clear()
    clear_cache()
    parameters.clear_caches()


@contextmanager
def preview_world() -> Iterator[LocalAws]:
    """The current program (10 points a resolution within SLA, 20 an on-time job card) in SSM, the service configuration
    (US-NYC, IN-BLR-01), and May's tickets: E1 resolves 1001 and 1003, E2 1002, advisor E3 delivers JC-1 on time."""
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.events import Status
    from shared.ledger.store import LedgerStore
    from shared.tickets.processing import TicketProcessor
    from shared.tickets.store import TicketStore

    names = ('PROGRAMS_PATH', 'SERVICE_CONFIG_PARAMETER', 'PREVIEWS_QUEUE_URL')
    saved = {name: os.environ.get(name) for name in names}
    with api_world(directory=False) as aws:
        ssm = boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])
        ssm.put_parameter(Name=f'{PROGRAMS_PATH}/support', Value=json.dumps(document()), Type='String')
        ssm.put_parameter(Name=CONFIG_PARAMETER, Value=service_config('US-NYC', 'IN-BLR-01'), Type='String')
        os.environ.update(dict(zip(names, (PROGRAMS_PATH, CONFIG_PARAMETER, aws.queues['PreviewsQueue']), strict=True)))
        _clear_caches()
        try:
            directory = DirectoryStore()
            directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), WRITTEN)
            processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
            for event in [
                ticket_event('1001', 0, status=Status.SOLVED, minutes=30),
                ticket_event('1002', 0, status=Status.SOLVED, minutes=45, agent='agent2@example.com'),
                ticket_event('1003', 0, status=Status.SOLVED, minutes=50),
                job_card_event('JC-1', 0, Status.OPEN, minutes=0),
                job_card_event('JC-1', 1, Status.CLOSED, minutes=180),
            ]:
                processor.apply(event, WRITTEN)
            yield aws
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            _clear_caches()


@pytest.fixture()
def world() -> Iterator[LocalAws]:
    with preview_world() as aws:
        yield aws


def ask(candidate: Any, who: dict[str, str] = ADMIN, key: str | None = 'preview-key-0001', month: str = MONTH,
        program_id: str = 'support') -> tuple[int, dict[str, Any]]:  # fmt: skip
    from functions.api_admin.app import lambda_handler
    from tests.support.apigw import lambda_context

    path = f'/v1/admin/programs/{program_id}/preview'
    event = people_event('POST', path, claims=who, route=PREVIEW_ROUTE, body={'document': candidate, 'month': month},
                         headers={'Idempotency-Key': key} if key else None, path_parameters={'program_id': program_id})  # fmt: skip
    return answer(lambda_handler(event, lambda_context()))


def status_of(preview_id: str, who: dict[str, str] = ADMIN) -> tuple[int, dict[str, Any]]:
    from functions.api_admin.app import lambda_handler
    from tests.support.apigw import lambda_context

    event = people_event('GET', f'/v1/admin/previews/{preview_id}', claims=who, route=STATUS_ROUTE,
                         path_parameters={'preview_id': preview_id})  # fmt: skip
    return answer(lambda_handler(event, lambda_context()))


def queued(aws: LocalAws) -> list[dict[str, Any]]:
    """Every message on PreviewsQueue (received and left for the next receive at once)."""
    url = aws.queues['PreviewsQueue']
    messages = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=['All'], WaitTimeSeconds=0).get('Messages', [])
    for message in messages:
        aws.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message['ReceiptHandle'], VisibilityTimeout=0)
    return messages


def work(message: dict[str, Any], receive_count: int = 1) -> dict[str, Any]:
    """The worker run on one message, as Lambda's SQS poller delivers it."""
    from functions.program_preview.app import lambda_handler
    from tests.support.apigw import lambda_context

    record = {
        'messageId': message['MessageId'], 'receiptHandle': message['ReceiptHandle'], 'body': message['Body'],
        'attributes': {**{k: str(v) for k, v in message.get('Attributes', {}).items()}, 'ApproximateReceiveCount': str(receive_count)},
        'messageAttributes': {}, 'md5OfBody': message.get('MD5OfBody', ''), 'eventSource': 'aws:sqs',
        'eventSourceARN': 'arn:aws:sqs:us-east-1:123456789012:pitcrew-PreviewsQueue', 'awsRegion': 'us-east-1',
    }  # fmt: skip
    result: dict[str, Any] = lambda_handler({'Records': [record]}, lambda_context())
    return result


def test_a_preview_is_queued_once_per_key_and_the_worker_prices_it_as_run_preview_does(world: LocalAws) -> None:
    # Given a candidate paying 15 points a resolution instead of 10
    candidate = document(resolved_points=15)
    # When an admin asks for its preview over May
    status, body = ask(candidate)
    # Then the job is queued at once (202) with where to poll, and one message is on PreviewsQueue
    assert status == 202, body
    preview_id = body['preview_id']
    assert body == {'ok': True, 'preview_id': preview_id, 'status': 'queued', 'poll': f'/v1/admin/previews/{preview_id}'}
    messages = queued(world)
    assert [json.loads(m['Body']) for m in messages] == [{'preview_id': preview_id}]
    # And the job reads queued, asked by the admin's label (no personal data)
    status, job = status_of(preview_id)
    assert (status, job['status'], job['program_id'], job['month'], job['requested_by']) == (200, 'queued', 'support', MONTH,
                                                                                              'admin:admin-user')  # fmt: skip

    # When the same request is sent again with the same key (a retry)
    status, again = ask(candidate)
    # Then it answers the same job and queues nothing new
    assert (status, again['preview_id']) == (202, preview_id)
    assert len(queued(world)) == 1

    # When the worker runs the message
    result = work(messages[0])
    # Then the job is done with exactly the figures run_preview gives directly
    from shared.programs.preview_run import run_preview

    assert result == {'batchItemFailures': []}
    status, job = status_of(preview_id)
    direct = json.loads(json.dumps(run_preview(json.dumps(candidate), MONTH).as_dict()))
    assert (status, job['status'], job['truncated']) == (200, 'done', False)
    assert job['result'] == direct
    assert (job['result']['total']['current_points'], job['result']['total']['difference']) == (50, 15)
    assert job['attempts'] == 1 and 'reason' not in job

    # When the message is delivered again (SQS delivers at least once), or the key is retried after the run
    assert work(messages[0]) == {'batchItemFailures': []}
    status, retried = ask(candidate)
    # Then nothing runs again: the job keeps its one result, and the retry answers it as done
    assert status_of(preview_id)[1]['attempts'] == 1
    assert (status, retried['preview_id'], retried['status']) == (202, preview_id, 'done')
    assert len(queued(world)) == 1  # the first message only (this test never deletes it)


def test_the_same_key_for_another_candidate_is_refused(world: LocalAws) -> None:
    # Given a preview asked with a key
    assert ask(document(resolved_points=15))[0] == 202
    # When the same key comes with another candidate
    status, body = ask(document(resolved_points=12))
    # Then it is refused (409) and nothing more is queued
    assert (status, body['field'], body['refused']) == (409, 'Idempotency-Key', 'key_reused')
    assert len(queued(world)) == 1


def test_an_invalid_candidate_is_refused_naming_the_field_and_nothing_is_queued(world: LocalAws) -> None:
    # When an admin asks for a candidate with a daily cap of 0, one of another program, one without a key
    invalid = document(resolved_points=15)
    invalid['rules'][0]['caps'] = {'day': 0}
    capped = ask(invalid)
    other = ask(document() | {'program_id': 'workshop'})
    keyless = ask(document(), key=None)
    bad_month = ask(document(), month='2024-13')
    # Then each is 400 naming the field
    assert (capped[0], capped[1]['field']) == (400, 'document.rules.0.caps.day')
    assert (other[0], other[1]['field']) == (400, 'document.program_id')
    assert (keyless[0], keyless[1]['field']) == (400, 'Idempotency-Key')
    assert (bad_month[0], bad_month[1]['field']) == (400, 'month')
    # And nothing was queued
    assert queued(world) == []


def test_an_unknown_preview_is_not_found(world: LocalAws) -> None:
    # When an admin reads a job that was never asked for, or an id that is no job id
    unknown = status_of('pv-' + '0' * 32)
    malformed = status_of('pv-not-an-id')
    # Then both are 404 naming preview_id
    assert (unknown[0], unknown[1]['field']) == (404, 'preview_id')
    assert (malformed[0], malformed[1]['field']) == (404, 'preview_id')


@pytest.mark.parametrize('who', [HQ, ADVISOR], ids=['hq', 'advisor'])
def test_only_an_admin_may_ask_for_or_read_a_preview(world: LocalAws, who: dict[str, str]) -> None:
    # Given an admin's queued preview
    preview_id = ask(document(resolved_points=15))[1]['preview_id']
    # When someone else asks for one, or reads the admin's
    asked = ask(document(resolved_points=15), who=who, key='preview-key-other')
    read = status_of(preview_id, who=who)
    # Then both are 403, and only the admin's job is queued
    assert (asked[0], read[0]) == (403, 403)
    assert len(queued(world)) == 1


def test_a_candidate_that_no_longer_loads_fails_at_once_with_the_reason(world: LocalAws) -> None:
    # Given a queued preview of a candidate scoped to US-NYC (valid when asked)
    status, body = ask(document(resolved_points=15, scope={'locations': ['US-NYC']}))
    assert status == 202, body
    # And US-NYC then leaves the service configuration
    boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION']).put_parameter(
        Name=CONFIG_PARAMETER, Value=service_config('IN-BLR-01'), Type='String', Overwrite=True
    )
    _clear_caches()
    # When the worker runs it
    result = work(queued(world)[0])
    # Then the job failed with the reason naming the field (no stack trace) and is not retried
    assert result == {'batchItemFailures': []}
    status, job = status_of(body['preview_id'])
    assert (status, job['status']) == (200, 'failed')
    assert job['reason'].startswith('the candidate is not a valid program document: scope.locations')
    assert 'Traceback' not in job['reason'] and 'result' not in job


def test_an_unexpected_error_is_retried_then_recorded_failed_on_the_third_receive(world: LocalAws) -> None:
    # Given a queued preview, and a tickets table that cannot be read
    preview_id = ask(document(resolved_points=15))[1]['preview_id']
    message = queued(world)[0]
    world.dynamodb.delete_table(TableName=os.environ['TICKETS_TABLE'])
    # When the worker gets the message a first and a second time
    first, second = work(message, receive_count=1), work(message, receive_count=2)
    # Then each time the record fails (SQS delivers it again) and the job waits, with the attempt's reason
    assert first == second == {'batchItemFailures': [{'itemIdentifier': message['MessageId']}]}
    job = status_of(preview_id)[1]
    assert (job['status'], job['attempts']) == ('queued', 2) and job['reason'].startswith('attempt 2 of 3 failed: ')
    # When it gets it a third time (the queue's maxReceiveCount: next stop PreviewsDLQ)
    third = work(message, receive_count=3)
    # Then the record fails once more and the job reads failed, with the error's type and message, no stack trace
    assert third == {'batchItemFailures': [{'itemIdentifier': message['MessageId']}]}
    job = status_of(preview_id)[1]
    assert (job['status'], job['attempts']) == ('failed', 3)
    assert 'Error' in job['reason'].split(':')[0] and 'Traceback' not in job['reason'] and 'File "' not in job['reason']
