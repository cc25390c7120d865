"""Close a program's monthly league: the coordinator (validate, create the close marker, list the people once,
group them into divisions, send one LeagueCloseQueue message per division; LeagueCloseDivisionFunction does the
rest, see shared/leagues/close_run.py).

Invoked by an EventBridge Scheduler schedule per program at 00:05 on the 1st in the program's time zone; the
Scheduler sends the schedule's Input as the event, with its scheduled time filled in:
  {"program_id": "pitstop", "scheduled_time": "2026-10-31T18:35:00Z"}   -> closes the month that just ended there
From the console, close (or re-run) one program month (events/league_close.json):
  {"program_id": "pitstop", "month": "2026-10"}
A rerun of a finished close writes nothing and answers with its outcome; a rerun of an interrupted one resumes it
(same standings, each prize paid once). With no program ({} or an EventBridge scheduled event), every program
with a league closes the month that just ended in its own time zone.

Refused with the field named, nothing written: a malformed month, a month that has not ended in the program's
time zone, an unknown program, a program (version) without a league.

A program an admin adds later gets its own schedule: copy `PitstopLeagueCloseSchedule` in template.yaml (its
ScheduleExpressionTimezone is the program's `time_zone`, its Input names the program) and deploy; or, without a
deploy, create one in the EventBridge Scheduler console: cron(5 0 1 * ? *), the program's time zone, flexible
window off, target this function with the JSON above and the role `LeagueSchedulerRoleArn` (stack output).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.config import get_settings
from shared.errors import first_validation_error
from shared.leagues.close_run import MONTH_PATTERN, CloseRefused, DivisionMessage, leagues_due, resolve, start_close
from shared.leagues.close_store import LeagueCloseStore
from shared.observability import logger, metrics
from shared.programs.loader import ProgramBook, load_programs
from shared.scheduled import scheduled_time

SQS_BATCH = 10


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    program_id: str = Field(min_length=1, max_length=100)
    month: str | None = Field(default=None, pattern=MONTH_PATTERN, description='YYYY-MM; absent: the month that just ended')
    scheduled_time: AwareDatetime | None = Field(default=None, description='filled in by EventBridge Scheduler')


_store: LeagueCloseStore | None = None
_sqs: Any = None


def _close_store() -> LeagueCloseStore:
    global _store
    if _store is None:
        _store = LeagueCloseStore()
    return _store


def _book() -> ProgramBook:
    return load_programs()


def _send(messages: Sequence[DivisionMessage]) -> None:
    global _sqs
    settings = get_settings()
    if _sqs is None:
        import boto3

        _sqs = boto3.client('sqs', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
    for start in range(0, len(messages), SQS_BATCH):
        batch = messages[start : start + SQS_BATCH]
        entries = [{'Id': str(i), 'MessageBody': m.model_dump_json()} for i, m in enumerate(batch)]
        failed = _sqs.send_message_batch(QueueUrl=settings.LEAGUE_CLOSE_QUEUE_URL, Entries=entries).get('Failed') or []
        if failed:  # raise: the invocation is retried, and what was sent is idempotent
            raise RuntimeError(f'LeagueCloseQueue refused {len(failed)} division messages: {failed[0]}')


def _is_schedule_without_program(event: dict[str, Any]) -> bool:
    return not event or (event.get('source') == 'aws.events' and 'program_id' not in event)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = event or {}
    now = datetime.now(UTC)
    stage = get_settings().STAGE
    book = _book()
    if _is_schedule_without_program(event):
        when_or_error = scheduled_time(event)  # the scheduled run's own time decides which month just ended
        if isinstance(when_or_error, dict):
            return when_or_error
        targets = leagues_due(book, when_or_error)
    else:
        try:
            request = CloseRequest.model_validate(event)
        except ValidationError as exc:
            field, reason = first_validation_error(exc, default_field='(event)')
            return {'ok': False, 'field': field, 'error': reason}
        when = request.scheduled_time.astimezone(UTC) if request.scheduled_time else now
        try:
            targets = [resolve(book, request.program_id, request.month, when)]
        except CloseRefused as refused:
            logger.warning('league close refused', extra=refused.answer())
            return refused.answer()
    answers = [start_close(_close_store(), _send, book, target, now, stage) for target in targets]
    metrics.add_dimension(name='stage', value=stage)
    metrics.add_metric(name='LeagueDivisionsQueued', unit=MetricUnit.Count, value=sum(a.queued for a in answers))
    for answer in answers:
        logger.info('league close started' if answer.queued else 'league close answered', extra=json.loads(json.dumps(answer.as_dict())))
    if len(answers) == 1 and not _is_schedule_without_program(event):
        return answers[0].as_dict()
    return {'ok': True, 'closes': [answer.as_dict() for answer in answers]}
