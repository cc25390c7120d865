"""Scheduled (weekly): check that every balance equals the sum of its ledger entries and that every
employee's hash chain of entries is intact, and e-mail the admins a digest (mismatches, broken chains,
quarantined payloads of the last 7 days, unmapped tickets).

Invoked by an EventBridge schedule; the event's `time` is the audit time:
  {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2024-05-20T02:15:00Z", ...}
From the console, `{}` audits as of now (see events/ledger_audit_scheduled.json).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import shared.tickets.store  # noqa: F401 - every audit reads the tickets (LedgerAuditor.from_settings): loaded at cold start
from shared.config import get_settings
from shared.ledger.auditor import LedgerAuditor, audit_summary, send_digest
from shared.notify.email import SesEmailSender
from shared.observability import logger, metrics
from shared.scheduled import scheduled_time


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    audited_at = scheduled_time(event)
    if isinstance(audited_at, dict):
        return audited_at
    stage = get_settings().STAGE

    report = LedgerAuditor.from_settings().run(audited_at)
    # Before the e-mail: if SES refuses it, the mismatch count still reaches the alarm.
    metrics.add_dimension(name='stage', value=stage)
    metrics.add_metric(name='LedgerAuditMismatches', unit=MetricUnit.Count, value=len(report.mismatches))
    metrics.add_metric(name='LedgerChainBroken', unit=MetricUnit.Count, value=len(report.broken_chains))
    metrics.add_metric(name='LedgerEmployeesAudited', unit=MetricUnit.Count, value=report.employees_audited)

    message_id = send_digest(report, SesEmailSender.from_settings(), stage=stage)
    return audit_summary(report, message_id)
