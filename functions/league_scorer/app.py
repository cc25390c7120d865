"""DynamoDB stream consumer of the ledger: keeps the live league standings, lifetimes, levels and badges in step with
every new ledger entry (shared/leagues/scorer.py), then plans the managers' nudges for the levels, milestone badges and
CSAT runs the batch achieved (shared/recognition/nudge_service.py). Thin: parse the records, delegate, report.

Partial batch failures are written by hand rather than with Powertools' BatchProcessor: the batch is scored together
(ONE BatchGetItem round for everyone in it, then one transaction per person), whereas the BatchProcessor calls a
handler once per record. A person whose write fails is reported by the lowest sequence number among their records;
Lambda retries the stream from there (FunctionResponseTypes: ReportBatchItemFailures), and the `seq` on every item
makes the records already written no-ops. A record that cannot be read (not a ledger entry) is kept in the quarantine
with its reason and skipped, so one bad item never blocks the stream (README, "Safety nets").
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.leagues.live import StreamEntry, parse_record
from shared.leagues.scorer import LeagueScorer, ScoreResult
from shared.observability import logger, metrics
from shared.quarantine.stream import keep_poison, reading
from shared.recognition.nudge_service import Nudger
from shared.wallet.metrics import profile_locations, publish_issued


@cache
def scorer() -> LeagueScorer:
    from shared.alerts.store import AlertStore
    from shared.leagues.live_store import LiveStore

    return LeagueScorer(store=LiveStore(), alerts=AlertStore())


@cache
def nudger() -> Nudger:
    from shared.alerts.store import AlertStore
    from shared.directory.contacts import ContactBook
    from shared.recognition.nudge_store import NudgeStore

    return Nudger(store=NudgeStore(), contacts=ContactBook(), alerts=AlertStore())


def nudge(entries: list[StreamEntry], result: ScoreResult, now: datetime) -> None:
    """The managers' nudges for what this batch achieved (levels, milestone badges, CSAT runs), after the standings are
    written. A failure here is logged and counted, never a batch failure: the standings must not wait for a suggestion."""
    try:
        report = nudger().after_scoring(entries, result.achievements, now)
    except Exception:
        logger.exception('nudges of this batch could not be planned; the standings are written')
        metrics.add_metric(name='NudgeFailures', unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name='NudgesPlanned', unit=MetricUnit.Count, value=report.outcomes['planned'])
    metrics.add_metric(name='NudgesSkipped', unit=MetricUnit.Count, value=report.outcomes['skipped'])
    if report.outcomes or report.runs_saved:
        logger.info('nudges', extra=report.as_dict())


def entries_of(records: list[dict[str, Any]]) -> tuple[list[StreamEntry], int]:
    """The new ledger entries among the records, and how many records could not be read."""
    entries: list[StreamEntry] = []
    unreadable = 0
    for record in records:
        try:
            parsed = parse_record(record)
        except (ValidationError, KeyError, TypeError, ValueError) as exc:
            unreadable += 1
            keep_poison('league_scorer', record, exc)
            continue
        if parsed is not None:
            entries.append(parsed)
    return entries, unreadable


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get('Records', [])
    with reading(event):
        entries, unreadable = entries_of(records)
    now = datetime.now(UTC)
    result = scorer().apply(entries, now)
    nudge(entries, result, now)
    try:  # the dashboard's redemption rate, by location (shared/wallet/metrics.py): a trend, never worth a batch retry
        publish_issued(records, profile_locations)
    except Exception:  # noqa: BLE001
        logger.exception('points issued not published')
    metrics.add_metric(name='LeagueEntriesScored', unit=MetricUnit.Count, value=result.applied)
    metrics.add_metric(name='LeagueLateEntries', unit=MetricUnit.Count, value=result.late)
    metrics.add_metric(name='LeagueAchievements', unit=MetricUnit.Count, value=len(result.achievements))
    if result.failed or unreadable:
        metrics.add_metric(name='LeagueScoringFailures', unit=MetricUnit.Count, value=len(result.failed) + unreadable)
    logger.info('league standings updated', extra={'records': len(records), 'entries': len(entries), 'applied': result.applied,
                                                   'skipped': result.skipped, 'late': result.late, 'people': result.people,
                                                   'achievements': len(result.achievements), 'failed_people': len(result.failed),
                                                   'unreadable': unreadable})  # fmt: skip
    first = result.first_failure
    return {'batchItemFailures': [{'itemIdentifier': first}] if first is not None else []}
