"""POST /webhooks/{source}: authenticate, validate, queue; reject with 4xx and keep what was rejected."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.ingest.queue import SqsEventQueue
from shared.ingest.secrets import SsmSecretProvider
from shared.ingest.webhooks import WebhookReceiver
from shared.observability import logger, metrics, tracer
from shared.quarantine.store import QuarantineStore
from shared.sources.base import WebhookRequest

app = APIGatewayHttpResolver()
_receiver: WebhookReceiver | None = None


def receiver() -> WebhookReceiver:
    global _receiver
    if _receiver is None:
        settings = get_settings()
        _receiver = WebhookReceiver(
            secrets=SsmSecretProvider(),
            queue=SqsEventQueue(settings.EVENTS_QUEUE_URL),
            quarantine=QuarantineStore(),
            max_body_bytes=settings.MAX_BODY_BYTES,
        )
    return _receiver


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get('body') or ''
    if event.get('isBase64Encoded'):
        return base64.b64decode(body)
    return body.encode('utf-8', errors='surrogateescape')


@app.post('/webhooks/<source>')
def receive_webhook(source: str) -> Response:
    current = app.current_event
    request = WebhookRequest(
        body=_raw_body(current.raw_event),
        headers=dict(current.headers or {}),
        query=dict(current.query_string_parameters or {}),
    )
    answer = receiver().receive(source, request, datetime.now(UTC), correlation_id=current.request_context.request_id)
    metrics.add_dimension(name='source', value=source if answer.status_code != 404 else 'unknown')
    if answer.status_code == 200:
        metrics.add_metric(name='WebhookEventsAccepted', unit=MetricUnit.Count, value=answer.events)
    else:
        metrics.add_metric(name='WebhooksRejected', unit=MetricUnit.Count, value=1)
    return Response(status_code=answer.status_code, content_type=answer.content_type, body=answer.body)


@app.exception_handler(Exception)
def dependency_failed(error: Exception) -> Response:
    # Only a failing dependency (queue, table, parameter store) gets here: every input problem is a
    # 4xx above. 503 makes the sender retry, so nothing is lost.
    logger.exception('webhook could not be handled')
    metrics.add_metric(name='WebhookDependencyFailures', unit=MetricUnit.Count, value=1)
    return Response(status_code=503, content_type='application/json',
                    body='{"error": {"code": "service_unavailable", "reason": "temporarily unavailable, retry later"}}')


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
