"""POST /webhooks/{source}: authenticate, validate, queue; reject with 4xx and keep what was rejected.

Thin on purpose: API Gateway (HTTP API) routes only `POST /webhooks/{source}` here, so the handler reads
the three things it needs from the event and delegates to `shared.ingest.webhooks`. The quarantine
store (pynamodb) is loaded only when a payload is rejected, which keeps the cold start of the common
path small (see `make bench`).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from shared.config import get_settings
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
    body = event.get('body') or ''
    raw = base64.b64decode(body) if event.get('isBase64Encoded') else body.encode('utf-8')
    return WebhookRequest(body=raw, headers=dict(event.get('headers') or {}), query=dict(event.get('queryStringParameters') or {}))


def _response(answer: WebhookAnswer) -> dict[str, Any]:
    return {'statusCode': answer.status_code, 'headers': {'Content-Type': answer.content_type}, 'body': answer.body}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    source = str((event.get('pathParameters') or {}).get('source') or '')
    request_id = (event.get('requestContext') or {}).get('requestId')
    try:
        answer = receiver().receive(source, _request(event), datetime.now(UTC), correlation_id=request_id)
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
