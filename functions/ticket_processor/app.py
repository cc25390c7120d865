"""SQS consumer: apply each queued event to its ticket, award points; partial batch failures.

In verify mode (service configuration `sources.<name>.verify: source_api`) each event is first confirmed through the
helpdesk's REST API: an event it does not confirm is kept in the quarantine with the reason (an admin can replay it)
and earns nothing; a rate-limited or unreachable helpdesk sends the event back to the queue, after the vendor's
Retry-After when it gave one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import shared.programs.engine  # noqa: F401 - every event is evaluated against the programs: loaded at cold start
import shared.programs.loader  # noqa: F401
from shared.config import get_settings
from shared.directory.store import DirectoryStore
from shared.errors import safe_error_text
from shared.events import QueueMessage
from shared.ingest.queue import SqsEventQueue
from shared.ledger.store import LedgerStore
from shared.observability import logger, metrics
from shared.sqs_batch import SqsBatch, SqsRecord, process_partial_response
from shared.tickets.processing import Outcome, TicketProcessor
from shared.tickets.store import TicketStore

batch = SqsBatch()
_processor: TicketProcessor | None = None
_quarantine: Any = None


def processor() -> TicketProcessor:
    global _processor
    if _processor is None:
        from shared.sla.config import load_config
        from shared.verify.service import SourceVerification, SsmCredentialsProvider

        verifier = SourceVerification(credentials=SsmCredentialsProvider(), settings=lambda: load_config().sources)
        _processor = TicketProcessor(tickets=TicketStore(), directory=DirectoryStore(), ledger=LedgerStore(),
                                     queue=SqsEventQueue(get_settings().EVENTS_QUEUE_URL), verifier=verifier)
    return _processor


def quarantine() -> Any:
    """Loaded on first use: only an event failing its last attempt needs it."""
    global _quarantine
    if _quarantine is None:
        from shared.quarantine.store import QuarantineStore

        _quarantine = QuarantineStore()
    return _quarantine


def handle_record(record: SqsRecord) -> None:
    try:
        message = QueueMessage.model_validate_json(record.body)
        logger.set_correlation_id(message.correlation_id or record.message_id)
        if message.event is not None:
            logger.append_keys(ticket_key=message.event.ticket_key, event_id=message.event.event_id)
            result = processor().apply(message.event, check_freshness=not message.skip_freshness)
        elif message.reconcile:
            result = processor().reconcile(message.reconcile)
        else:
            raise ValueError('queue message has neither event nor reconcile')
    except Exception as exc:
        _delay_if_asked(record, exc)
        _keep_if_last_attempt(record, exc)
        raise
    if result.outcome is Outcome.REJECTED and message.event is not None:
        _keep_rejected(record, message, result.reason or 'not confirmed by the source')
    metrics.add_metric(name=f'Events{result.outcome.value.title()}', unit=MetricUnit.Count, value=1)
    if result.entries:
        metrics.add_metric(name='LedgerEntriesWritten', unit=MetricUnit.Count, value=len(result.entries))
    if result.unmapped and result.outcome is not Outcome.DUPLICATE:
        logger.warning('ticket has unmapped agents', extra={'unmapped_agents': result.unmapped})
        metrics.add_metric(name='UnmappedAgentEvents', unit=MetricUnit.Count, value=1)


def _keep_rejected(record: SqsRecord, message: QueueMessage, reason: str) -> None:
    """An event the source did not confirm: kept with its reason; a replay asks the source again (skipping only the
    freshness window, as a webhook replay does)."""
    replay = message.model_copy(update={'skip_freshness': True}).model_dump_json(exclude_none=True)
    quarantine_id = quarantine().keep_failed(source=message.event.source.value if message.event else 'queue', event_json=replay,
                                             reason=f'verification: {reason}', correlation_id=record.message_id, now=datetime.now(UTC))
    code = reason.split(':', 1)[0]
    logger.warning('event not confirmed by its source; quarantined', extra={'code': code, 'quarantine_id': quarantine_id})


def _delay_if_asked(record: SqsRecord, exc: Exception) -> None:
    """A helpdesk's Retry-After: the message becomes visible again only then (bounded to the queue's 12 h maximum)."""
    retry_after = getattr(exc, 'retry_after', None)
    if retry_after is None:
        return
    try:
        import boto3

        boto3.client('sqs').change_message_visibility(QueueUrl=get_settings().EVENTS_QUEUE_URL, ReceiptHandle=record.receipt_handle,
                                                      VisibilityTimeout=min(43_200, max(1, int(retry_after + 0.999))))
    except Exception:  # the queue's own visibility timeout still brings it back
        logger.warning('could not delay the message to the Retry-After', extra={'retry_after': retry_after})


def _keep_if_last_attempt(record: SqsRecord, exc: Exception) -> None:
    """On the last delivery before the dead-letter queue, keep the event with its reason."""
    attempts = int(record.attributes.approximate_receive_count or 1)
    if attempts < get_settings().EVENTS_MAX_RECEIVE_COUNT:
        logger.warning('event failed; SQS will retry', extra={'attempt': attempts, 'error': safe_error_text(exc)})
        return
    logger.exception('event failed on its last attempt; quarantined and sent to the dead-letter queue')
    try:
        quarantine().keep_failed(source='queue', event_json=record.body, reason=safe_error_text(exc),
                                 correlation_id=record.message_id, now=datetime.now(UTC))
    except Exception:  # the DLQ still holds the message
        logger.exception('could not quarantine the failed event')


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(event=event, record_handler=handle_record, processor=batch)
