"""SQS consumer of LeagueCloseQueue: close one division of a program's monthly league (shared/leagues/close_run.py):
freeze its standings (or read back the frozen ones), pay its prizes, trophies and challenge rewards once, mark it
done; the division that completes the close finalizes it and records each division's participation.

Message body (events/league_close_division.json shows a whole SQS event):
  {"program_id": "pitstop", "month": "2026-10", "version": 3, "division": "technician|IN-West"}
Partial batch failures: a division that fails is delivered again (its step is idempotent) and, after the queue's
maxReceiveCount, moves to LeagueCloseDLQ; redrive it from the SQS console, or re-run the close from the console
(events/league_close.json), which queues every division not yet done.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.leagues.close_run import DivisionMessage, close_division, program_version
from shared.leagues.close_store import LeagueCloseStore
from shared.leagues.config import LeagueConfig
from shared.leagues.results import DivisionResult
from shared.observability import logger, metrics
from shared.programs.loader import ProgramBook, load_programs
from shared.sqs_batch import SqsBatch, SqsRecord, process_partial_response

batch = SqsBatch()
_store: LeagueCloseStore | None = None


def _close_store() -> LeagueCloseStore:
    global _store
    if _store is None:
        _store = LeagueCloseStore()
    return _store


def _book() -> ProgramBook:
    return load_programs()


def announce(results: Sequence[DivisionResult], league: LeagueConfig, now: datetime) -> None:
    """Winners' notices and managers' summaries, once (imported here: only the last division of a close needs it)."""
    from shared.leagues.announce import announce as announce_close

    report = announce_close(results, league=league, now=now)
    logger.info('league announced', extra=report.as_dict())


def handle_record(record: SqsRecord) -> None:
    message = DivisionMessage.model_validate_json(record.body)
    logger.append_keys(program_id=message.program_id, month=message.month, division=message.division)
    settings = get_settings()
    program = program_version(_book(), message.program_id, message.version)
    answer = close_division(_close_store(), program, message, datetime.now(UTC), stage=settings.STAGE, threads=settings.LEAGUE_PAY_THREADS,
                            announce=announce)
    metrics.add_metric(name='LeagueAwardEntriesWritten', unit=MetricUnit.Count, value=answer.entries_written)
    logger.info('league division closed', extra=answer.as_dict())
    if answer.outcome is not None:
        logger.info('league closed', extra=answer.outcome.as_dict())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    metrics.add_dimension(name='stage', value=get_settings().STAGE)
    return process_partial_response(event=event, record_handler=handle_record, processor=batch)
