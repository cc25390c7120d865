"""Scheduled daily (02:30 UTC): the collusion check of peer recognition (shared/recognition/flag_run.py). For each
program with a recognition section, the current month in the program's time zone (on the 1st also the month that just
ended): reciprocal giving, closed rings and concentration are flagged once to the manager(s) in scope, with the evidence
(FLAG# items and a notice each). Nothing is blocked. Reads the location feeds with Queries, never a Scan.

Invoked by an EventBridge schedule; the event's `time` is the run time:
  {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-15T02:30:00Z", ...}
From the console (events/recognition_flags.json), judge one program and/or one month again; idempotent (a known flag
is updated only when its evidence grew, and nobody is told twice):
  {"program_id": "pitstop", "month": "2026-11"}
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from shared.leagues.roster import Roster
from shared.observability import logger, metrics
from shared.programs.loader import load_programs
from shared.recognition.flag_run import CollusionJudge, FlagRun
from shared.recognition.flag_store import FlagStore
from shared.scheduled import rerun_or_scheduled
from shared.sla.config import load_config


class FlagRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    program_id: str | None = Field(default=None, min_length=1, max_length=100)
    month: str | None = Field(default=None, pattern=r'^20\d\d-(0[1-9]|1[0-2])$', description='yyyy-mm, in the program time zone')


def judge() -> CollusionJudge:
    return CollusionJudge(roster=Roster(), store=FlagStore(), config=load_config())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    asked = rerun_or_scheduled(event, FlagRequest, ('program_id', 'month'))
    if isinstance(asked, dict):
        return asked
    request, now = asked
    try:
        run = judge().run(load_programs(), now, program_id=request.program_id if request else None,
                          month=request.month if request else None)  # fmt: skip
    except LookupError as exc:
        return {'ok': False, 'field': 'program_id', 'error': str(exc)}
    _record(run)
    return run.as_dict()


def _record(run: FlagRun) -> None:
    for report in run.months:
        logger.info('collusion check', extra=report.as_dict())
    metrics.add_metric(name='CollusionFlagsRaised', unit=MetricUnit.Count, value=sum(r.raised for r in run.months))
    metrics.add_metric(name='CollusionNotices', unit=MetricUnit.Count, value=sum(r.notices for r in run.months))
    metrics.add_metric(name='CollusionFeedQueries', unit=MetricUnit.Count, value=sum(r.queries for r in run.months))
