"""Write a program's payroll payout for a period (shared/wallet/payout.py): the PAYOUT debits of the period's cash-out
requests, the SAP HR CSV and its manifest in the PayoutsBucket, the run item. Idempotent: a re-run writes the same
files and no second debit.

Invoked by an EventBridge Scheduler schedule per program at 06:00 on the 1st in the program's time zone, with the
schedule's Input and its scheduled time:
  {"program_id": "pitstop", "scheduled_time": "2026-11-01T00:30:00Z"}   -> the month that just ended there
From the console, export (or re-run) one period (events/payout_export.json):
  {"program_id": "pitstop", "period": "2026-10"}
Refused with the field named, nothing written: an unknown program, one without payout, a malformed period, a period
that has not ended in the program's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.errors import first_validation_error
from shared.leagues.close_run import ended_month
from shared.observability import logger, metrics
from shared.programs.loader import load_programs
from shared.wallet.payout import PERIOD_PATTERN, PayoutRefused, Payouts
from shared.wallet.payout_store import PayoutStore


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    program_id: str = Field(min_length=1, max_length=100)
    period: str | None = Field(default=None, pattern=PERIOD_PATTERN, description='YYYY-MM; absent: the month that just ended')
    scheduled_time: AwareDatetime | None = Field(default=None, description='filled in by EventBridge Scheduler')


@cache
def payouts() -> Payouts:
    store = PayoutStore()
    return Payouts(store=store, available=store.available, programs=load_programs, personnel_numbers=store.personnel_numbers)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = ExportRequest.model_validate(event or {})
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='event')
        return {'ok': False, 'field': field, 'error': reason}
    now = (request.scheduled_time or datetime.now(UTC)).astimezone(UTC)
    service = payouts()
    version = service.programs().latest(request.program_id)
    period = request.period or (ended_month(version.document.time_zone, now) if version is not None else '')
    try:
        summary = service.export(request.program_id, period, now)
    except PayoutRefused as refused:
        logger.warning('payout export refused', extra={'program_id': request.program_id, 'field': refused.field, 'code': refused.code})
        return refused.answer()
    metrics.add_metric(name='PayoutRows', unit=MetricUnit.Count, value=summary.rows)
    metrics.add_metric(name='PayoutPoints', unit=MetricUnit.Count, value=summary.total_points)
    logger.info('payout exported', extra=summary.as_dict())
    return {'ok': True, **summary.as_dict()}
