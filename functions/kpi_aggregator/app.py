"""DynamoDB stream consumer: keeps the KPI aggregates in step with the tickets table.

Each stream record carries a ticket item before and after a change; its `kpi` attribute is the
ticket's contribution (see shared/kpi/definitions.py). The batch's deltas are written exactly once
(shared/kpi/store.py) and the outcomes reached are sampled to CloudWatch with location and channel
dimensions for the dashboard. A record whose contribution cannot be read is kept in the quarantine
with its reason and skipped, so one bad item never blocks the stream.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.kpi.aggregate import Sample, TicketChange, samples
from shared.kpi.definitions import Contribution
from shared.kpi.store import KpiStore
from shared.observability import NAMESPACE, logger, metrics

_store: KpiStore | None = None
SAMPLES_PER_FLUSH = 90  # CloudWatch EMF takes at most 100 values per metric in one record


def store() -> KpiStore:
    global _store
    if _store is None:
        _store = KpiStore()
    return _store


def _image_kpi(image: dict[str, Any] | None) -> Contribution | None:
    value = (image or {}).get('kpi', {}).get('S')
    return Contribution.from_json(value) if value else None


def to_change(record: dict[str, Any]) -> TicketChange | None:
    """None for a record that carries no KPI change (or cannot be read: quarantined)."""
    body = record.get('dynamodb', {})
    try:
        old, new = _image_kpi(body.get('OldImage')), _image_kpi(body.get('NewImage'))
    except (ValueError, KeyError, TypeError) as exc:
        _quarantine(record, exc)
        return None
    if old == new:
        return None
    return TicketChange(change_id=str(record['eventID']), old=old, new=new)


def _quarantine(record: dict[str, Any], exc: Exception) -> None:
    import json

    from shared.errors import safe_error_text
    from shared.quarantine.store import QuarantineStore

    logger.error('unreadable KPI contribution on a ticket change; quarantined and skipped', extra={'error': safe_error_text(exc)})
    QuarantineStore().keep_failed(
        source='kpi-stream',
        event_json=json.dumps(record, default=str),
        reason=safe_error_text(exc),
        correlation_id=str(record.get('eventID')),
        now=datetime.now(UTC),
    )


def publish(groups: list[tuple[str, str, list[Sample]]]) -> None:
    """Outcome samples as EMF, by (stage), (stage, location) and (stage, location, channel)."""
    stage = get_settings().STAGE
    by_key: dict[tuple[str, ...], list[Sample]] = {}
    for location, channel, found in groups:
        keys: list[tuple[str, ...]] = [(), (location,), (location, channel)]
        for key in keys:
            by_key.setdefault(key, []).extend(found)
    for key, found in by_key.items():
        for start in range(0, len(found), SAMPLES_PER_FLUSH):
            emf = EphemeralMetrics(namespace=NAMESPACE)
            emf.add_dimension(name='stage', value=stage)
            for name, value in zip(('location', 'channel'), key, strict=False):
                emf.add_dimension(name=name, value=value)
            for sample in found[start : start + SAMPLES_PER_FLUSH]:
                emf.add_metric(name=sample.metric, unit=MetricUnit(sample.unit), value=sample.value)
            emf.flush_metrics()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get('Records', [])
    changes = [change for change in map(to_change, records) if change is not None]
    stats = store().apply(changes, datetime.now(UTC))
    publish([found for found in map(samples, changes) if found is not None])
    metrics.add_metric(name='KpiChangesApplied', unit=MetricUnit.Count, value=len(changes))
    metrics.add_metric(name='KpiItemsWritten', unit=MetricUnit.Count, value=stats.items_written)
    summary = {
        'records': len(records),
        'changes': len(changes),
        'runs': stats.runs,
        'items_written': stats.items_written,
        'already_applied': stats.already_applied,
    }
    logger.info('KPI aggregates updated', extra=summary)
    return summary
