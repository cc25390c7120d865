"""POST /twilio/status and POST /twilio/inbound: Twilio's delivery callbacks and inbound WhatsApp/SMS messages.

Thin: verify `X-Twilio-Signature` over the public URL and every parameter (shared/notify/twilio_webhooks.py), parse,
delegate to shared/notify/conversations.py. A request that fails verification or parsing is answered 401/400 and
kept in the quarantine with its reason (source `twilio`), like every rejected webhook.

When the Twilio account parameter cannot be read (missing, unreadable, not the expected JSON), nothing can be verified:
the error log names the parameter (never its value) and Twilio is answered 503. Twilio records the failure in its
Debugger (error 11200), tries the number's fallback URL and retries when the webhook URL asks it to (`#rp=5xx`); a 200
with empty TwiML would acknowledge a message nobody read and lose it silently (README, "Safety nets").
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.alerts.store import AlertStore
from shared.config import get_settings
from shared.directory.contacts import ContactBook
from shared.errors import InvalidPayload, PitcrewError
from shared.ingest.queue import SqsEventQueue
from shared.notify.conversations import Conversations, twiml
from shared.notify.twilio_account import load_account
from shared.notify.twilio_webhooks import inbound_message, status_update, verified_params
from shared.observability import logger, metrics


@cache
def conversations() -> Conversations:
    from shared.directory.store import DirectoryStore
    from shared.disputes.service import Disputes
    from shared.disputes.store import DisputeStore
    from shared.leagues.live_store import LiveStore
    from shared.leagues.standings import LeagueStandings
    from shared.ledger.store import LedgerStore
    from shared.programs.loader import load_programs
    from shared.recognition.nudge_service import NudgeReplies
    from shared.recognition.nudge_store import NudgeStore
    from shared.recognition.service import Recognitions
    from shared.recognition.spot_service import SpotAwards
    from shared.recognition.store import RecognitionStore

    settings = get_settings()
    return Conversations(
        alerts=AlertStore(),
        contacts=ContactBook(),
        queue=SqsEventQueue(settings.ALERTS_QUEUE_URL, boto3.client('sqs', region_name=settings.AWS_REGION)),
        ledger=LedgerStore(),
        disputes=Disputes(disputes=DisputeStore(), directory=DirectoryStore(), alerts=AlertStore()),
        leagues=LeagueStandings(LiveStore()),
        nudges=NudgeReplies(store=NudgeStore(), contacts=ContactBook(), spot=SpotAwards.default()),
        recognition=Recognitions(RecognitionStore(), load_programs),
    )


def _answer(status: int, body: str = '', content_type: str = 'text/plain') -> dict[str, Any]:
    return {'statusCode': status, 'headers': {'Content-Type': content_type}, 'body': body}


def _keep_rejected(event: dict[str, Any], error: PitcrewError, now: datetime) -> None:
    from shared.quarantine.store import QuarantineStore

    body = event.get('body') or ''
    raw = base64.b64decode(body) if event.get('isBase64Encoded') else body.encode()
    QuarantineStore().keep_rejected(
        source='twilio',
        body=raw,
        headers=dict(event.get('headers') or {}),
        query=dict(event.get('queryStringParameters') or {}),
        reason=str(error),
        field=error.field,
        status_code=error.status_code,
        authenticated=False,
        correlation_id=event.get('requestContext', {}).get('requestId'),
        now=now,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    route = str(event.get('routeKey') or event.get('rawPath') or '')
    try:
        account = load_account()
    except Exception as exc:  # a missing or unreadable parameter: a configuration fault, not the sender's
        logger.error('the Twilio account parameter cannot be read; request not handled',
                     extra={'parameter': get_settings().TWILIO_PARAMETER or '(TWILIO_PARAMETER unset)', 'error': type(exc).__name__})
        metrics.add_metric(name='TwilioAccountUnavailable', unit=MetricUnit.Count, value=1)
        return _answer(503, 'temporarily unavailable')
    try:
        params = verified_params(event, account.auth_token.get_secret_value(), get_settings().PUBLIC_API_BASE_URL or None)
        if route.endswith('/twilio/status'):
            alert_id = (event.get('queryStringParameters') or {}).get('alert')
            if not alert_id:
                raise InvalidPayload('the status callback URL has no alert id', field='query.alert')
            outcome = conversations().status(alert_id, status_update(params), now)
            metrics.add_metric(name='TwilioStatusCallbacks', unit=MetricUnit.Count, value=1)
            logger.info('status callback', extra={'alert_id': alert_id, 'outcome': outcome, 'status': params.get('MessageStatus')})
            return _answer(204)
        message = inbound_message(params)
        metrics.add_metric(name='TwilioInboundMessages', unit=MetricUnit.Count, value=1)
        logger.info('inbound message', extra={'command': message.command.value, 'channel': message.channel})
        return _answer(200, twiml(conversations().inbound(message, now)), 'text/xml')
    except PitcrewError as error:
        logger.warning('Twilio request refused', extra={'field': error.field, 'reason': str(error), 'status': error.status_code})
        metrics.add_metric(name='TwilioRequestsRefused', unit=MetricUnit.Count, value=1)
        _keep_rejected(event, error, now)
        return _answer(error.status_code, f'{error.field or "-"}: {error}')
