"""Scheduled every minute: put every alert that has fallen due on the alerts queue (shared/alerts/scan.py).

EventBridge fires at most once a minute, so one invocation scans ALERT_SCANS_PER_MINUTE times, evenly spaced (two:
at the minute and 30 s later): an alert then waits at most 30 s for its scan, leaving the rest of the minute for
sending. The event's `time` is the first scan's clock (the local replay fast-forwards it); `{}` scans as of now.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.alerts.scan import ScanResult, scan
from shared.alerts.store import AlertStore
from shared.config import get_settings
from shared.ingest.queue import SqsEventQueue
from shared.observability import logger, metrics
from shared.scheduled import scheduled_time
from shared.sla.config import load_config

_store: AlertStore | None = None
_queue: SqsEventQueue | None = None


def _parts() -> tuple[AlertStore, SqsEventQueue]:
    global _store, _queue
    if _store is None or _queue is None:
        settings = get_settings()
        _store = AlertStore()
        _queue = SqsEventQueue(settings.ALERTS_QUEUE_URL, boto3.client('sqs', region_name=settings.AWS_REGION))
    return _store, _queue


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    start = scheduled_time(event)
    if isinstance(start, dict):
        return start
    store, queue = _parts()
    scans = get_settings().ALERT_SCANS_PER_MINUTE
    started = time.monotonic()
    results = []
    for index in range(scans):
        offset = index * 60 / scans
        if index:
            time.sleep(max(0.0, started + offset - time.monotonic()))
        results.append(scan(store, queue, start + timedelta(seconds=offset), load_config().alerts.max_late_minutes))
    result = ScanResult(*(sum(getattr(r, name) for r in results) for name in ScanResult.__dataclass_fields__))
    metrics.add_metric(name='AlertsDue', unit=MetricUnit.Count, value=result.due)
    metrics.add_metric(name='AlertsQueued', unit=MetricUnit.Count, value=result.queued)
    metrics.add_metric(name='AlertsExpired', unit=MetricUnit.Count, value=result.expired)
    metrics.add_metric(name='AlertScanItemsRead', unit=MetricUnit.Count, value=result.items_read)
    if result.due:
        logger.info('alerts queued', extra=result.as_dict())
    return {'ok': True, **result.as_dict()}
