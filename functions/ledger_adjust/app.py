"""Admin action (Lambda console test event): credit or debit an employee's points with a reason.

  {"adjustment_id": "2024-05-recount-17", "employee_id": "E1", "points": -20,
   "reason": "Duplicate CSAT award found in May audit", "requested_by": "maria@example.com"}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.directory.store import DirectoryStore
from shared.errors import InvalidPayload
from shared.ledger.adjustments import AdjustmentRequest, apply_adjustment
from shared.ledger.store import LedgerStore
from shared.observability import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = AdjustmentRequest.model_validate(event)
        result = apply_adjustment(request, ledger=LedgerStore(), directory=DirectoryStore(), now=datetime.now(UTC))
    except ValidationError as exc:
        first = exc.errors()[0]
        return {'ok': False, 'field': '.'.join(map(str, first['loc'])), 'error': first['msg']}
    except InvalidPayload as exc:
        return {'ok': False, 'field': exc.field, 'error': exc.reason}
    logger.info('ledger adjusted', extra={'adjustment': result, 'requested_by': request.requested_by})
    return result
