"""SQS consumer of the alerts queue: deliver each alert once (shared/notify/dispatch.py), partial batch failures.

A message that keeps failing (Twilio rate limits or outages that outlast the messenger's retries) is retried by SQS
and then moved to the alerts dead-letter queue; the alert item says `queued` with the last error. An admin redrives
the dead-letter queue from the SQS console ("Start DLQ redrive"); the claim makes a redriven duplicate harmless.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.alerts.scan import AlertMessage
from shared.alerts.store import AlertStore
from shared.config import get_settings
from shared.directory.contacts import ContactBook
from shared.notify import EmailContent
from shared.notify.dispatch import AlertDispatcher, Messenger
from shared.observability import logger, metrics
from shared.sla.config import load_config
from shared.sqs_batch import SqsBatch, SqsRecord, process_partial_response

batch = SqsBatch()


@cache
def _messenger() -> Messenger:
    from shared.notify.twilio_account import messenger

    return messenger()


@cache
def _ses() -> Any:
    import boto3

    settings = get_settings()
    return boto3.client('sesv2', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)


def send_email(to: str, content: EmailContent) -> str | None:
    from shared.notify.email import SesEmailSender

    settings = get_settings()
    return SesEmailSender(settings.ALERT_EMAIL_FROM or settings.AUDIT_EMAIL_FROM, [to], client=_ses()).send(content)


@cache
def dispatcher() -> AlertDispatcher:
    from shared.ledger.store import LedgerStore

    return AlertDispatcher(
        alerts=AlertStore(),
        contacts=ContactBook(),
        messenger=_messenger,
        email=send_email,
        config=load_config,
        ledger=LedgerStore(),
        callback_base=get_settings().PUBLIC_API_BASE_URL,
    )


def handle_record(record: SqsRecord) -> None:
    message = AlertMessage.model_validate_json(record.body)
    logger.append_keys(alert_id=message.alert)
    try:
        if message.fallback:
            result = dispatcher().deliver_fallback(message.alert)
        else:
            result = dispatcher().deliver(message.alert, message.at, message.queued, claim_id=record.message_id)
    except Exception:
        attempt = int(record.attributes.approximate_receive_count or 1)
        if attempt >= get_settings().ALERTS_MAX_RECEIVE_COUNT:
            logger.exception('alert failed on its last attempt; it moves to the alerts dead-letter queue', extra={'attempt': attempt})
        else:
            logger.warning('alert failed; SQS will deliver it again', extra={'attempt': attempt}, exc_info=True)
        raise
    metrics.add_metric(name=f'Alerts{result.outcome.value.title()}', unit=MetricUnit.Count, value=1)
    if result.lateness_s is not None:
        metrics.add_metric(name='AlertLatenessSeconds', unit=MetricUnit.Seconds, value=max(result.lateness_s, 0.0))
    if result.outcome.value in ('skipped', 'failed'):
        logger.warning('alert not delivered', extra={'outcome': result.outcome.value, 'detail': result.detail})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(event=event, record_handler=handle_record, processor=batch)
