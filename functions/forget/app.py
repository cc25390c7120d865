"""Forget a person who has left: erase their contact data and free text across the directory, the contact record, the
alerts table and the quarantine, keeping their ledger under their employee id and a pseudonym (`former-<hash>`), which
statements and league summaries then show instead of the name. Run from the console (events/forget.json):

  {"employee_id": "E123", "dry_run": true}     what would be erased (counts per table, the quarantine ids); writes nothing
  {"employee_id": "E123"}                      erase, and record an audit item (who, when, what, how many)

Idempotent: a second run finds nothing left and writes nothing. Refused, naming the field, for an unknown employee
or one still active in the directory. See shared/privacy/forget.py for what is erased and what is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.alerts.store import AlertStore
from shared.api.store import ApiStore
from shared.config import get_settings
from shared.directory.contacts import ContactBook
from shared.directory.store import DirectoryStore
from shared.errors import first_validation_error
from shared.ledger.approvals import actor_from_event
from shared.observability import logger, metrics
from shared.privacy.erase import Eraser, ForgetRefused
from shared.privacy.forget import ForgetRequest
from shared.quarantine.store import QuarantineStore
from shared.recognition.spot_store import SpotStore


def eraser() -> Eraser:
    from shared.recognition.nudge_store import NudgeStore
    from shared.recognition.store import RecognitionStore
    from shared.wallet.store import RewardsStore

    return Eraser(directory=DirectoryStore(), contacts=ContactBook(), alerts=AlertStore(), quarantine=QuarantineStore(), spot=SpotStore(),
                  nudges=NudgeStore(), recognition=RecognitionStore(), rewards=RewardsStore(), api=ApiStore(),
                  logins=_logins())  # fmt: skip


def _logins() -> Any:
    """The people user pool's logins (shared/directory/logins.py), when the stack has one."""
    pool = get_settings().PEOPLE_USER_POOL_ID
    if not pool:
        return None
    from shared.directory.logins import CognitoLogins

    return CognitoLogins(pool)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = ForgetRequest.model_validate(event or {})
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='event')
        return {'ok': False, 'field': field, 'error': reason}
    actor = actor_from_event(event, context.aws_request_id, claimed=request.requested_by)
    try:
        report = eraser().forget(request, actor.principal or actor.reference, datetime.now(UTC))
    except ForgetRefused as refused:
        logger.warning('forget refused', extra={'employee_id': request.employee_id, 'refused': refused.code})
        return {'ok': False, 'refused': refused.code, 'field': refused.field, 'error': refused.reason}
    answer = report.as_dict()
    logger.info('person forgotten' if not request.dry_run else 'forget planned (dry run)',
                extra={'employee_id': request.employee_id, 'counts': answer['counts'], 'changed': answer['changed'],
                       'actor': actor.reference})  # fmt: skip
    if not request.dry_run:
        metrics.add_metric(name='PeopleForgotten', unit=MetricUnit.Count, value=1 if answer['changed'] else 0)
    return {'ok': True, **answer}
