"""POST /webhooks/{source}: authenticate, validate, queue; reject with 4xx and keep what was rejected.

Thin on purpose: API Gateway (HTTP API) routes only `POST /webhooks/{source}` here, so the handler reads
the three things it needs from the event and delegates to `shared.ingest.webhooks`. The quarantine
store (pynamodb) is loaded only when a payload is rejected, which keeps the cold start of the common
path small (see `make bench`).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from shared.config import get_settings
from shared.errors import InvalidPayload
from shared.ingest.queue import SqsEventQueue
from shared.ingest.secrets import SsmSecretProvider
from shared.ingest.webhooks import WebhookAnswer, WebhookReceiver
from shared.observability import logger, metrics
from shared.sources.base import WebhookRequest

_receiver: WebhookReceiver | None = None


class _QuarantineOnDemand:
    """Creates the quarantine store the first time something is rejected."""

    def __init__(self) -> None:
        self._store: Any = None

    def keep_rejected(self, **kwargs: Any) -> str | None:
        if self._store is None:
            from shared.quarantine.store import QuarantineStore

            self._store = QuarantineStore()
        kept: str | None = self._store.keep_rejected(**kwargs)
        return kept


def receiver() -> WebhookReceiver:
    global _receiver
    if _receiver is None:
        settings = get_settings()
        _receiver = WebhookReceiver(
            secrets=SsmSecretProvider(),
            queue=SqsEventQueue(settings.EVENTS_QUEUE_URL, boto3.client('sqs')),
            quarantine=_QuarantineOnDemand(),  # type: ignore[arg-type]
            max_body_bytes=settings.MAX_BODY_BYTES,
        )
    return _receiver


def _request(event: dict[str, Any]) -> WebhookRequest:
    """The request as sent; raises InvalidPayload (the bytes as received kept on it) when the body is not the base64
    that `isBase64Encoded` claims (API Gateway never sends that; a direct invocation can)."""
    body = event.get('body') or ''
    headers, query = dict(event.get('headers') or {}), dict(event.get('queryStringParameters') or {})
    if not event.get('isBase64Encoded'):
        return WebhookRequest(body=body.encode('utf-8', 'surrogatepass'), headers=headers, query=query)
    try:
        return WebhookRequest(body=base64.b64decode(body, validate=True), headers=headers, query=query)
    except (binascii.Error, ValueError) as exc:
        raise _Unreadable(WebhookRequest(body=body.encode('utf-8', 'surrogatepass'), headers=headers, query=query)) from exc


class _Unreadable(Exception):
    def __init__(self, request: WebhookRequest) -> None:
        super().__init__('the body is not valid base64')
        self.request = request


def _response(answer: WebhookAnswer) -> dict[str, Any]:
    return {'statusCode': answer.status_code, 'headers': {'Content-Type': answer.content_type}, 'body': answer.body}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    source = str((event.get('pathParameters') or {}).get('source') or '')
    request_id = (event.get('requestContext') or {}).get('requestId')
    try:
        try:
            answer = receiver().receive(source, _request(event), datetime.now(UTC), correlation_id=request_id)
        except _Unreadable as unreadable:
            refusal = InvalidPayload('isBase64Encoded is true but the body is not valid base64', field='body')
            answer = receiver().reject(source, unreadable.request, refusal, datetime.now(UTC), correlation_id=request_id)
    except Exception:
        # Only a failing dependency (queue, table, parameter store) gets here: every input problem is a
        # 4xx answer above. 503 makes the sender retry, so nothing is lost.
        logger.exception('webhook could not be handled')
        metrics.add_metric(name='WebhookDependencyFailures', unit=MetricUnit.Count, value=1)
        error = {'error': {'code': 'service_unavailable', 'reason': 'temporarily unavailable, retry later'}}
        return {'statusCode': 503, 'headers': {'Content-Type': 'application/json'}, 'body': json.dumps(error)}
    metrics.add_dimension(name='source', value=source if answer.status_code != 404 else 'unknown')
    if answer.status_code == 200:
        metrics.add_metric(name='WebhookEventsAccepted', unit=MetricUnit.Count, value=answer.events)
    else:
        metrics.add_metric(name='WebhooksRejected', unit=MetricUnit.Count, value=1)
    return _response(answer)
