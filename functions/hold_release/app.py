"""Scheduled every 15 minutes: release the pending awards whose hold window has closed (shared/ledger/holds.py).

The event's `time` is the release clock (the local replay fast-forwards it); `{}` releases as of now.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.directory.store import DirectoryStore
from shared.ledger.holds import release_due
from shared.ledger.store import LedgerStore
from shared.observability import logger, metrics
from shared.scheduled import scheduled_time
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore

_processor: TicketProcessor | None = None


def processor() -> TicketProcessor:
    global _processor
    if _processor is None:
        _processor = TicketProcessor(tickets=TicketStore(), directory=DirectoryStore(), ledger=LedgerStore())
    return _processor


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = scheduled_time(event)
    if isinstance(now, dict):
        return now
    run = release_due(processor().tickets, processor(), now)
    metrics.add_metric(name='AwardsReleased', unit=MetricUnit.Count, value=run.awards_released)
    metrics.add_metric(name='HoldIndexItemsRead', unit=MetricUnit.Count, value=run.index_items_read)
    if run.awards_released or run.conflicts:
        logger.info('pending awards released', extra=run.as_dict())
    return {'ok': True, **run.as_dict()}
