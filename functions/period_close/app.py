"""Scheduled (hourly, at minute 10 UTC): close every program's period that has ended in the program's
time zone (plus the grace period) and is not closed yet, paying its period rules' bonuses once.

Invoked by an EventBridge schedule; the event's `time` is the run time:
  {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-03T00:10:00Z", ...}
From the console, close (or re-run) one program's period, whatever its close marker says (idempotent: a
bonus already paid is not paid again; see events/period_close.json):
  {"program_id": "workshop", "period": "2026-10"}     (a month, or "2026-Q3" for its quarter's last month)
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from shared.config import get_settings
from shared.observability import logger, metrics
from shared.programs.loader import ProgramBook, load_programs
from shared.programs.period_close import RunReport, close_due, rerun
from shared.programs.period_store import PeriodStore
from shared.scheduled import rerun_or_scheduled

DEFAULT_GRACE_HOURS = 72.0


class RerunRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    program_id: str = Field(min_length=1, max_length=100)
    period: str = Field(pattern=r'^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$')


_store: PeriodStore | None = None


def _period_store() -> PeriodStore:
    """One store (and its DynamoDB client) per warm container: an hourly run usually finds nothing due."""
    global _store
    if _store is None:
        _store = PeriodStore()
    return _store


def _book() -> ProgramBook:
    """Every valid version of every program (the loader's cache, PROGRAMS_MAX_AGE_S per warm container)."""
    return load_programs()


def _grace() -> timedelta:
    return timedelta(hours=float(os.environ.get('PERIOD_CLOSE_GRACE_HOURS', DEFAULT_GRACE_HOURS)))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    asked = rerun_or_scheduled(event, RerunRequest, ('program_id', 'period'))
    if isinstance(asked, dict):
        return asked
    request, now = asked
    store = _period_store()
    if request is None:
        run = close_due(store, _book(), now, _grace())
    else:
        try:
            run = RunReport(closed=[rerun(store, _book(), request.program_id, request.period, now)])
        except LookupError as exc:
            return {'ok': False, 'field': 'program_id', 'error': str(exc)}

    metrics.add_dimension(name='stage', value=get_settings().STAGE)
    metrics.add_metric(name='PeriodsClosed', unit=MetricUnit.Count, value=len(run.closed))
    metrics.add_metric(name='PeriodBonusEntries', unit=MetricUnit.Count, value=sum(r.entries_written for r in run.closed))
    for report in run.closed:
        logger.info('period closed', extra=report.as_dict())
    for reason in run.skipped:
        logger.warning('period not closed', extra={'reason': reason})
    return run.as_dict()
