"""Scheduled daily (00:30 UTC): judge each person's streak on the last day that has ended in their time zone and award
streak badges once per run, each with a notice (shared/leagues/streak_run.py; the rules in shared/leagues/streaks.py).
A person's day is judged once it has ended where they are: at 00:30 UTC that is yesterday east of Greenwich and the
day before west of it (judged the next night). Reads the directory's `employees` index (a Query, never a Scan).

Invoked by an EventBridge schedule; the event's `time` is the run time:
  {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-10-15T00:30:00Z", ...}
From the console, judge one program on one local day again (events/league_streaks_rerun.json); idempotent: people
already judged for that day, or whose run and badges it does not change, are not written:
  {"program_id": "pitstop", "day": "2026-10-14"}
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.alerts.store import AlertStore
from shared.errors import first_validation_error
from shared.leagues.roster import Roster
from shared.leagues.streak_run import StreakJudge, StreakRun
from shared.leagues.streak_store import StreakBadgeAward, StreakStore
from shared.observability import logger, metrics
from shared.programs.loader import load_programs
from shared.recognition.nudge_service import Nudger
from shared.scheduled import rerun_or_scheduled
from shared.sla.config import load_config


class RerunRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    program_id: str = Field(min_length=1, max_length=100)
    day: date


def _refused(exc: ValidationError) -> dict[str, Any]:
    field, reason = first_validation_error(exc, default_field='event')
    return {'ok': False, 'field': field, 'error': reason}


def judge() -> StreakJudge:
    from shared.directory.contacts import ContactBook
    from shared.recognition.nudge_store import NudgeStore

    alerts = AlertStore()
    nudger = Nudger(store=NudgeStore(), contacts=ContactBook(), alerts=alerts)
    return StreakJudge(roster=Roster(), store=StreakStore(), alerts=alerts, config=load_config(),
                       on_badge=lambda award, now: nudge(nudger, award, now))  # fmt: skip


def nudge(nudger: Nudger, award: StreakBadgeAward, now: datetime) -> None:
    """The manager's nudge for a streak badge just written (shared/recognition/nudge_service.py). A failure is logged and
    counted; the judgement goes on (the badge and the person's notice are written)."""
    try:
        outcome = nudger.streak_badge(award, now)
    except Exception:
        logger.exception('the nudge of a streak badge could not be planned', extra={'badge_id': award.badge_id})
        metrics.add_metric(name='NudgeFailures', unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name=f'Nudges{outcome.value.title().replace("_", "")}', unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    asked = rerun_or_scheduled(event, RerunRequest, ('program_id', 'day'))
    if isinstance(asked, dict):
        return asked
    request, now = asked
    if request is None:
        run = judge().run(load_programs(), now)
    else:
        try:
            run = judge().run(load_programs(), now, program_id=request.program_id, day=request.day)
        except LookupError as exc:
            return {'ok': False, 'field': 'program_id', 'error': str(exc)}
        if not any(program.in_scope for program in run.programs) and any(program.not_ended for program in run.programs):
            return {'ok': False, 'field': 'day', 'error': f'{request.day} has not ended yet for anyone in {request.program_id}'}
    _record(run)
    return run.as_dict()


def _record(run: StreakRun) -> None:
    for program in run.programs:
        logger.info('streaks judged', extra=program.as_dict())
    metrics.add_metric(name='StreakPeopleJudged', unit=MetricUnit.Count, value=sum(p.judged for p in run.programs))
    metrics.add_metric(name='StreakRunsBroken', unit=MetricUnit.Count, value=sum(p.runs_broken for p in run.programs))
    metrics.add_metric(name='StreakBadgesAwarded', unit=MetricUnit.Count, value=run.badges)
