"""DynamoDB stream consumer of the balances: repays a recorded clawback debt from later earnings
(shared/wallet/debt.py). Thin: parse the records, delegate, report.

The event source mapping's filter (FilterCriteria in template.yaml) delivers only balance images with
`debt > 0 AND available > 0`, so every other balance change costs no invocation. Each delivered record is applied in
stream order: one consistent GetItem and, when something can be repaid, one transaction (the DEBT_RECOVERY entry,
chained, and the balance update). The entry id comes from the image's chain seq: a record delivered twice writes once.
A write that fails reports its record (ReportBatchItemFailures) and Lambda retries from there; a record that cannot
be read is kept in the quarantine with its reason and skipped (README, "Safety nets").
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics
from shared.quarantine.stream import keep_poison, reading
from shared.wallet.debt import floor_of, wants_recovery
from shared.wallet.debt_store import DebtStore, Recovery

READER = 'debt_recovery'


@cache
def store() -> DebtStore:
    return DebtStore()


def _floor(program_ref: str) -> int:
    from shared.programs.loader import load_programs

    return floor_of(load_programs(), program_ref)


def employee_of(record: dict[str, Any]) -> tuple[str, str] | None:
    """(employee id, trigger) of a balance image that owes and has points; None for any other record."""
    body = record['dynamodb']
    image = body.get('NewImage') or {}
    pk = str(body['Keys']['pk']['S'])
    if not pk.startswith('EMP#') or not wants_recovery(image):
        return None
    trigger = image.get('chain_seq', {}).get('N') or f'seq{body["SequenceNumber"]}'
    return pk.removeprefix('EMP#'), str(trigger)


def apply(records: list[dict[str, Any]], now: datetime) -> tuple[list[Recovery], str | None, int]:
    """Recoveries made, the sequence number of the first record that failed (Lambda retries from it), unreadable count."""
    done: list[Recovery] = []
    unreadable = 0
    for record in records:
        try:
            target = employee_of(record)
        except (KeyError, TypeError, ValueError) as exc:
            unreadable += 1
            keep_poison(READER, record, exc)
            continue
        if target is None:
            continue
        try:
            done.append(store().recover(target[0], target[1], _floor, now))
        except Exception:
            logger.exception('debt recovery failed; the stream retries from this record', extra={'event_id': record.get('eventID')})
            return done, str(record['dynamodb'].get('SequenceNumber')), unreadable
    return done, None, unreadable


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get('Records', [])
    with reading(event):
        done, failed, unreadable = apply(records, datetime.now(UTC))
    recovered = [r.entry for r in done if r.entry is not None]
    metrics.add_metric(name='DebtRecoveries', unit=MetricUnit.Count, value=len(recovered))
    metrics.add_metric(name='DebtPointsRecovered', unit=MetricUnit.Count, value=sum(-entry.amount for entry in recovered))
    if failed is not None or unreadable:
        metrics.add_metric(name='DebtRecoveryFailures', unit=MetricUnit.Count, value=int(failed is not None) + unreadable)
    logger.info('debt recovery', extra={'records': len(records), 'recovered': len(recovered),
                                        'duplicates': sum(1 for r in done if r.outcome == 'duplicate'), 'unreadable': unreadable})
    return {'batchItemFailures': [{'itemIdentifier': failed}] if failed is not None else []}
