"""The what-if preview job in template.yaml: ProgramPreviewFunction is fed by PreviewsQueue only (one job per invocation,
partial failures, 15 minutes, 3 receives then PreviewsDLQ, as shared/programs/preview_jobs.py counts them), and its
DynamoDB grants are exactly the requests a real run makes (recorded on moto): the tickets table's Scan, the directory's
BatchGetItem, and the job's own PREVIEW# item in ApiTable. The admin route's requests (ApiAdminFunction, declared on
another branch) are recorded the same way: they are the grants that function needs for the preview."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from infrastructure.local.template_resources import template_document
from shared.programs.preview_jobs import MAX_RECEIVES, RUN_TIMEOUT_S, TTL_S
from tests.support.counting import record_requests
from tests.template.test_period_close_template import dynamodb_grants, needed, ssm_problems, statements

RESOURCES: dict[str, Any] = template_document()['Resources']
FUNCTION = 'ProgramPreviewFunction'
Calls = list[tuple[str, str, dict[str, Any], Any]]
# What POST .../preview and GET /v1/admin/previews/{id} call (besides the resolver's throttle counter, RL# UpdateItem):
# the job item (PutItem, GetItem, UpdateItem for its `queued_at` mark) and one SendMessage.
ADMIN_ROUTE_NEEDS = {('dynamodb:PutItem', 'ApiTable'), ('dynamodb:GetItem', 'ApiTable'), ('dynamodb:UpdateItem', 'ApiTable'),
                     ('sqs:SendMessage', 'PreviewsQueue')}  # fmt: skip


@lru_cache(maxsize=1)
def recorded() -> tuple[Calls, Calls]:
    """(the admin routes' requests, the worker's requests) of one preview asked, asked again, read, and run."""
    from tests.integration.test_preview_jobs import ask, document, preview_world, queued, status_of, work

    with preview_world() as aws:
        with record_requests() as route_calls:
            preview_id = ask(document(resolved_points=15))[1]['preview_id']
            ask(document(resolved_points=15))
            status_of(preview_id)
        message = queued(aws)[0]
        with record_requests() as worker_calls:
            assert work(message) == {'batchItemFailures': []}
            assert status_of(preview_id)[1]['status'] == 'done'
        return list(route_calls), list(worker_calls)


def test_the_worker_is_fed_by_its_queue_one_job_at_a_time_within_its_time() -> None:
    # Given the function and its queue
    props = RESOURCES[FUNCTION]['Properties']
    (event,) = props['Events'].values()
    queue = RESOURCES['PreviewsQueue']['Properties']
    # Then one job per invocation with partial failures, from PreviewsQueue only
    assert event['Type'] == 'SQS' and event['Properties']['Queue'] == {'Fn::GetAtt': ['PreviewsQueue', 'Arn']}
    assert event['Properties']['BatchSize'] == 1 and event['Properties']['FunctionResponseTypes'] == ['ReportBatchItemFailures']
    # And the code's limits are the template's: the timeout, 3 receives then the DLQ, a visibility of 6 x the timeout
    assert (props['Timeout'], props['MemorySize']) == (RUN_TIMEOUT_S, 1024)
    assert queue['RedrivePolicy'] == {'deadLetterTargetArn': {'Fn::GetAtt': ['PreviewsDLQ', 'Arn']}, 'maxReceiveCount': MAX_RECEIVES}
    assert queue['VisibilityTimeout'] >= 6 * RUN_TIMEOUT_S
    # And a message lives as long as its job item (it never expires while its job waits)
    assert queue['MessageRetentionPeriod'] == TTL_S
    assert queue['SqsManagedSseEnabled'] is True and RESOURCES['PreviewsDLQ']['Properties']['SqsManagedSseEnabled'] is True


def test_the_workers_dynamodb_grants_are_exactly_what_a_run_calls() -> None:
    # Given the DynamoDB requests of a run (recorded on moto) and the function's grants
    _, worker_calls = recorded()
    need, granted = needed(worker_calls), dynamodb_grants(RESOURCES[FUNCTION])
    # Then they are the same: the tickets Scan, the directory's BatchGetItem, the job's GetItem and UpdateItem
    assert need == granted == {('dynamodb:Scan', 'TicketsTable'), ('dynamodb:BatchGetItem', 'DirectoryTable'),
                               ('dynamodb:GetItem', 'ApiTable'), ('dynamodb:UpdateItem', 'ApiTable')}  # fmt: skip
    # And on ApiTable only the PREVIEW# items
    (job_statement,) = [s for s in statements(RESOURCES[FUNCTION]) if s['Resource'] == {'Fn::GetAtt': ['ApiTable', 'Arn']}]
    assert job_statement['Condition'] == {'ForAllValues:StringLike': {'dynamodb:LeadingKeys': ['PREVIEW#*']}}
    # And SSM: the programs and the service configuration, read exactly as the loader reads them
    assert ssm_problems(RESOURCES[FUNCTION]) == []


def test_the_admin_routes_need_the_job_item_and_the_queue() -> None:
    # Given the requests of asking for a preview twice and reading it (recorded on moto)
    route_calls, _ = recorded()
    need = needed(route_calls) | {(f'sqs:{operation}', 'PreviewsQueue') for service, operation, _, _ in route_calls if service == 'sqs'}
    keys = {params['Key']['pk']['S'].split('#')[0] for service, _, params, _ in route_calls if service == 'dynamodb' and 'Key' in params}
    # Then they are what the report asks ApiAdminFunction to be granted (the throttle's RL# counter aside)
    assert need == ADMIN_ROUTE_NEEDS
    assert keys <= {'PREVIEW', 'RL'}
