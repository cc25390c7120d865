"""SQS worker on RedemptionsQueue: fulfils reserved redemptions through their provider (shared/wallet/service.py
`Redemptions.fulfil`), with partial batch failures. A message is `{"redemption_id": ...}`; the step is idempotent (a
finished redemption is skipped, providers are idempotent on the id), so a redelivery or the sweep's re-send is safe.
A retryable provider failure fails the record (it comes back after the visibility timeout) until its third delivery,
then the points are refunded; a final failure refunds at once. Either way the person is told.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.redemption_request.app import service
from shared.observability import logger
from shared.sqs_batch import SqsBatch, SqsRecord, process_partial_response

batch = SqsBatch()


def handle_record(record: SqsRecord) -> None:
    body = json.loads(record.body)
    rid = str(body['redemption_id'])
    receive_count = int(record.attributes.approximate_receive_count or 1)
    outcome = service().fulfil(rid, datetime.now(UTC), receive_count=receive_count)
    logger.info('redemption fulfilment', extra={'redemption_id': rid, 'outcome': outcome, 'receive_count': receive_count})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(event=event, record_handler=handle_record, processor=batch)
