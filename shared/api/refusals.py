"""The existing use cases' refusals as the people-facing API answers them: `{"ok": false, "error", "field"?, "refused"}`
with the status the use case's own HTTP route gives (functions/dispute_decide, spot_award, ledger_adjust)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from shared.errors import InvalidPayload
from shared.observability import logger

DISPUTE_STATUS = {'unknown': 404, 'decided': 409, 'out_of_scope': 403, 'own_dispute': 403, 'points': 400}
ADJUSTMENT_STATUS = {'unknown': 404, 'decided': 409, 'insufficient': 409, 'own_request': 403, 'unauthenticated': 403}
SPOT_STATUS = {
    'unknown': 404, 'unknown_program': 404, 'no_spot_awards': 404, 'unknown_receiver': 404, 'unknown_giver': 404,
    'decided': 409, 'expired': 409, 'over_budget': 409, 'key_reused': 409,
    'own_request': 403, 'own_award': 403, 'unauthenticated': 403, 'not_approver': 403, 'not_the_giver': 403, 'not_a_giver': 403,
    'not_your_report': 403, 'inactive_receiver': 409,
}  # fmt: skip


def _answer(status: int, body: dict[str, Any]) -> Response:
    logger.info('request refused', extra={'status': status, 'refused': body.get('refused'), 'field': body.get('field')})
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def answer_refusals(app: APIGatewayHttpResolver) -> None:
    """Register the handlers (the exception classes are light: pydantic models and plain exceptions)."""
    from shared.disputes.model import DisputeRefused
    from shared.ledger.approvals import Refused
    from shared.recognition.spot import SpotRefused

    @app.exception_handler(InvalidPayload)
    def invalid(exc: InvalidPayload) -> Response:
        body: dict[str, Any] = {'ok': False, 'error': exc.reason}
        if exc.field:
            body['field'] = exc.field
        return _answer(400, body)

    @app.exception_handler(DisputeRefused)
    def dispute(exc: DisputeRefused) -> Response:
        return _answer(DISPUTE_STATUS.get(exc.code, 400), {'ok': False, 'refused': exc.code, 'error': str(exc)})

    @app.exception_handler(Refused)
    def adjustment(exc: Refused) -> Response:
        return _answer(ADJUSTMENT_STATUS.get(exc.code, 400), {'ok': False, 'refused': exc.code, 'error': str(exc)})

    @app.exception_handler(SpotRefused)
    def spot(exc: SpotRefused) -> Response:
        return _answer(SPOT_STATUS.get(exc.code, 400), exc.body())
