"""Scheduled daily: for every program with spot awards, expire the approval requests whose deadline passed (the
reserved budget released, the maker told) and remind the approver of each open request, once a day
(shared/recognition/spot_service.py `run_daily`). Reads one Query of SPOTPENDING#<program> by `sk <= now` for the
expired and the partition's pages for the open ones: never a Scan. Idempotent: a retried run expires nothing twice
(the request's status is the condition) and reminds nobody twice the same day (the reminder's id names the day).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics
from shared.programs.loader import load_programs
from shared.recognition.spot_service import SpotAwards
from shared.scheduled import scheduled_time


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = scheduled_time(event)
    if isinstance(now, dict):
        return now
    book = load_programs()
    awards = SpotAwards.default()
    reports = []
    for program_id in book.programs:  # every program: one whose spot awards were switched off still expires its requests
        reports.append(awards.run_daily(program_id, now).as_dict())
    expired = sum(int(str(report['expired'])) for report in reports)
    reminded = sum(int(str(report['reminded'])) for report in reports)
    metrics.add_metric(name='SpotRequestsExpired', unit=MetricUnit.Count, value=expired)
    metrics.add_metric(name='SpotApprovalReminders', unit=MetricUnit.Count, value=reminded)
    logger.info('spot approvals run', extra={'programs': len(reports), 'expired': expired, 'reminded': reminded})
    return {'ok': True, 'programs': reports, 'expired': expired, 'reminded': reminded}
