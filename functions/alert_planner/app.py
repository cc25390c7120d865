"""DynamoDB stream consumer (the tickets table's second reader, beside the KPI aggregator): keeps the alerts in step
with the tickets. Each record carries the ticket's `alerts` before and after the change (shared/alerts/plan.py);
the difference rewrites the ticket's plan (one item; the scanner writes its alerts out when they fall due), moves or
cancels the alerts already written out that a resolve, pause, reassignment or priority change moved or made
pointless, keeps the owner's worklist and remembers new SLA breaches (shared/alerts/sync.py, shared/alerts/store.py).
Every write is idempotent, so a retried batch is harmless; a record that cannot be read is quarantined with its
reason and skipped; a record whose writes fail is reported alone (partial batch response) and retried (README,
"Safety nets").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.alerts.plan import TicketAlerts
from shared.alerts.store import AlertStore
from shared.alerts.sync import changes
from shared.observability import logger, metrics
from shared.quarantine.stream import keep_poison, reading

batch = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
_store: AlertStore | None = None


def store() -> AlertStore:
    global _store
    if _store is None:
        _store = AlertStore()
    return _store


def _alerts(image: dict[str, Any] | None) -> TicketAlerts | None:
    value = (image or {}).get('alerts')
    return TicketAlerts.from_json(value) if isinstance(value, str) else None


def handle_record(record: DynamoDBRecord) -> None:
    try:
        body = record.dynamodb
        old = _alerts(body.old_image if body else None)
        new = _alerts(body.new_image if body else None)
    except (ValueError, TypeError, KeyError) as exc:  # pydantic's ValidationError is a ValueError
        keep_poison('alert_planner', record.raw_event, exc)
        return
    if old == new:
        return
    found = changes(old, new)
    if found.empty:
        return
    counts = store().apply(found, datetime.now(UTC))
    for name, value in counts.items():
        if value:
            metrics.add_metric(name=f'Alerts{name.title().replace("_", "")}', unit=MetricUnit.Count, value=value)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    with reading(event):
        return process_partial_response(event=event, record_handler=handle_record, processor=batch, context=context)
