"""Give peer thanks on someone's behalf: an admin from the Lambda console (events/recognition_give.json) or an
integration (an HR portal, a chat bot) invoking the function. The THANKS command over WhatsApp/SMS and, later, the
people-facing API call the same use case (shared/recognition/service.py).

  {"giver_id": "TECH-101", "receiver_id": "TECH-104", "points": 20, "message": "Spotted the brake fault early",
   "value": "teamwork", "idempotency_key": "portal-7f3a9c"}           (+ "program_id" when several programs admit both)

Answer: `{"ok": true, "recognition_id", "points", "remaining", "allowance", "duplicate", ...}` (the same idempotency key
answers the first result again and writes nothing), or `{"ok": false, "refused": <code>, "field": ..., "error":
"points: 80 is more than your remaining allowance of 50 this month"}` with nothing written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.errors import first_validation_error
from shared.observability import logger, metrics
from shared.recognition.give import GiveRequest, RecognitionRefused
from shared.recognition.service import Recognitions


def recognitions() -> Recognitions:
    from shared.programs.loader import load_programs
    from shared.recognition.store import RecognitionStore

    return Recognitions(RecognitionStore(), load_programs)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = GiveRequest.model_validate({'channel': 'function'} | (event or {}))
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='event')
        return {'ok': False, 'field': field, 'error': reason}
    try:
        result = recognitions().give(request, datetime.now(UTC))
    except RecognitionRefused as refused:
        logger.info('recognition refused', extra={'refused': refused.code, 'field': refused.field})
        metrics.add_metric(name='RecognitionsRefused', unit=MetricUnit.Count, value=1)
        return {'ok': False, 'refused': refused.code, 'field': refused.field, 'error': str(refused)}
    metrics.add_metric(name='RecognitionsGiven', unit=MetricUnit.Count, value=0 if result.duplicate else 1)
    return {'ok': True, **result.model_dump(mode='json')}
