"""Redeem points for a catalogue item (console or an integration's Invoke; the people-facing API calls the same use case,
shared/wallet/service.py `Redemptions.request`). Exactly once per idempotency key: a retry answers with the first
outcome. A refusal names the field, and nothing is debited:

  {"program_id": "pitstop", "employee_id": "E1", "item_id": "amazon-500", "quantity": 1, "idempotency_key": "app-7f3c-0001"}
  -> {"ok": true, "redemption_id": "...", "status": "reserved" | "queued", "position": 3 (queued), "points": 500, ...}
  -> {"ok": false, "refused": "out_of_stock", "field": "item_id", "error": "Amazon Pay voucher ₹500 is out of stock"}

`{"action": "status", "redemption_id": "..."}` answers a redemption's state; `{"action": "wallet", "program_id": ...,
"employee_id": ...}` the wallet view (available, pending, debt, value at the program's conversion rate);
`{"action": "cash_out", "program_id": ..., "employee_id": ..., "points": 500}` asks for points to be paid through payroll
at the end of the month (shared/wallet/payout.py: the period's export debits them and writes the SAP HR file).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.errors import first_validation_error
from shared.observability import logger
from shared.wallet.redeem import RedeemRequest, Refused
from shared.wallet.service import Redemptions


@cache
def service() -> Redemptions:
    return Redemptions.from_settings()


def answer(payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    action = str(payload.pop('action', 'redeem'))
    if action == 'status':
        return service().status(str(payload.get('redemption_id', '')))
    if action == 'wallet':
        from shared.wallet.wallet import read_wallet

        program = service().programs().latest(str(payload.get('program_id', '')))
        if program is None:
            raise Refused('unknown_program', 'program_id', f'no program {payload.get("program_id")}')
        return {'ok': True} | read_wallet(str(payload.get('employee_id', '')), program.document, ledger=service().ledger).as_dict()
    if action == 'cash_out':
        return cash_out(payload, now)
    if action != 'redeem':
        raise Refused('action', 'action', 'unknown action (redeem, status, wallet or cash_out)')
    return service().request(RedeemRequest.model_validate(payload), now)


def cash_out(payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    from shared.programs.loader import load_programs
    from shared.wallet.payout import CashOutOrder, PayoutRefused, Payouts
    from shared.wallet.payout_store import PayoutStore

    order = CashOutOrder.model_validate(payload)
    store = PayoutStore()
    payouts = Payouts(store=store, available=store.available, programs=load_programs, personnel_numbers=store.personnel_numbers)
    try:
        request = payouts.request_cash_out(order.program_id, order.employee_id, order.points, now)
    except PayoutRefused as refused:
        raise Refused(refused.code, refused.field, str(refused)) from refused
    return {'ok': True, 'status': request.status, 'program_id': request.program_id, 'employee_id': request.employee_id,
            'points': request.points, 'period': request.period}  # fmt: skip


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = answer(dict(event), datetime.now(UTC))
    except ValidationError as exc:
        field, reason = first_validation_error(exc)
        result = {'ok': False, 'field': field, 'error': reason}
    except Refused as refused:
        result = refused.as_dict()
    logger.info('redemption request', extra={'result': {k: v for k, v in result.items() if k != 'fulfilment'}})
    return result
