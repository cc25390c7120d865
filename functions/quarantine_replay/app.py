"""Admin action (console test event or `aws lambda invoke`): list or replay quarantined payloads.

  {"quarantine_id": "q-20240514-..."}                      replay one item
  {"quarantine_id": "...", "corrected_body": "{...}"}      replay with a body an admin fixed
  {"quarantine_id": "...", "accept_unauthenticated": true} replay an item that failed authentication
  {"list_day": "2024-05-14"}                               list a day's quarantined items
  {"list_rejections": "2024-05-14"}                        a day's unauthenticated rejections per source and hour
  {"stream_failures": "kpi_aggregator"}                    turn a stream reader's on-failure messages into quarantine
                                                           items (kpi_aggregator, alert_planner, league_scorer)
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, ValidationError

from shared.errors import first_validation_error
from shared.events import QueueMessage
from shared.observability import logger
from shared.quarantine.replay import live_receiver, reader_functions, replay_item
from shared.quarantine.store import QuarantineStore
from shared.quarantine.stream import READERS, ReaderInvoker, drain_failures


class ReplayRequest(BaseModel):
    quarantine_id: str | None = Field(default=None, min_length=3)
    corrected_body: str | None = None
    accept_unauthenticated: bool = False
    list_day: str | None = Field(default=None, pattern=r'^\d{4}-\d{2}-\d{2}$')
    list_rejections: str | None = Field(default=None, pattern=r'^\d{4}-\d{2}-\d{2}$')
    stream_failures: Literal['kpi_aggregator', 'alert_planner', 'league_scorer'] | None = None


def _drain(reader: str, store: QuarantineStore) -> dict[str, Any]:
    import boto3

    queue_url = os.environ.get(READERS[reader][1], '')
    if not queue_url:
        return {'ok': False, 'error': f'no on-failure queue is configured for {reader}', 'field': 'stream_failures'}
    return drain_failures(reader, queue_url=queue_url, sqs=boto3.client('sqs'), streams=boto3.client('dynamodbstreams'), store=store)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = ReplayRequest.model_validate(event)
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='event')
        return {'ok': False, 'error': reason, 'field': field}
    store = QuarantineStore()
    if request.list_day:
        return {'ok': True, 'items': store.list_day(request.list_day)}
    if request.list_rejections:
        return {'ok': True, 'counters': store.list_rejections(request.list_rejections)}
    if request.stream_failures:
        return _drain(request.stream_failures, store)
    if not request.quarantine_id:
        return {'ok': False, 'error': 'quarantine_id, list_day, list_rejections or stream_failures is required', 'field': 'quarantine_id'}
    receiver = live_receiver(store)
    outcome = replay_item(
        store,
        receiver,
        request.quarantine_id,
        now=datetime.now(UTC),
        corrected_body=request.corrected_body.encode() if request.corrected_body is not None else None,
        accept_unauthenticated=request.accept_unauthenticated,
        requeue=lambda message: receiver.queue.send([QueueMessage.model_validate_json(message)]),
        rerun=ReaderInvoker(reader_functions()),
    )
    logger.info('replay finished', extra={'quarantine_id': request.quarantine_id, 'ok': outcome['ok']})
    return outcome
