"""The wallet's dashboard metrics (EMF, namespace Pitcrew, Powertools' `service` dimension plus `stage`, and `location`
where it applies): the redemption rate is PointsRedeemed / PointsIssued, time-to-fulfil is TimeToFulfilSeconds.

- PointsRedeemed, TimeToFulfilSeconds: when a redemption completes (shared/wallet/service.py), by (stage) and by
  (stage, location): the person's location at the request. Failed (refunded) redemptions are never counted.
- PointsIssued: the cheapest honest source is the ledger's stream, which every writer of credits already feeds (rules,
  holds, period and league closes, recognition, spot awards, adjustments) and whose one reader, the league scorer, gets
  every new entry anyway: it sums the positive amounts of new credit entries per batch and emits one datapoint (no
  extra read, no Scan). By (stage) only: a ledger entry does not carry the person's location, and reading every
  payee's profile to split it would cost a read per entry; so the rate is program-wide, and per location the dashboard
  shows the points redeemed and the time to fulfil. A stream batch Lambda retries is counted again (rare; the metric
  is a trend, the ledger is the record).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.ledger.entries import EntryKind

if TYPE_CHECKING:
    from shared.wallet.redeem import Redemption

ISSUING_KINDS = frozenset({EntryKind.AWARD, EntryKind.ADJUSTMENT, EntryKind.RECOGNITION, EntryKind.SPOT_AWARD})


def _emf(location: str | None = None) -> Any:
    from aws_lambda_powertools.metrics import EphemeralMetrics

    from shared.config import get_settings
    from shared.observability import NAMESPACE

    emf = EphemeralMetrics(namespace=NAMESPACE)
    emf.add_dimension(name='stage', value=get_settings().STAGE)
    if location is not None:
        emf.add_dimension(name='location', value=location)
    return emf


def publish_completion(redemption: Redemption, now: datetime) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    seconds = max((now - redemption.requested_at).total_seconds(), 0.0)
    for location in (None, redemption.location_id):
        emf = _emf(location)
        emf.add_metric(name='PointsRedeemed', unit=MetricUnit.Count, value=redemption.points)
        emf.add_metric(name='TimeToFulfilSeconds', unit=MetricUnit.Seconds, value=seconds)
        emf.flush_metrics()


def issued_points(records: Iterable[Mapping[str, Any]]) -> int:
    """The points credited by the new ledger entries among stream records (INSERTs of credit kinds, positive amounts)."""
    total = 0
    for record in records:
        if record.get('eventName') != 'INSERT':
            continue
        image = (record.get('dynamodb') or {}).get('NewImage') or {}
        kind, amount = image.get('kind', {}).get('S'), image.get('amount', {}).get('N')
        if kind in ISSUING_KINDS and amount is not None and int(amount) > 0:
            total += int(amount)
    return total


def publish_issued(records: Iterable[Mapping[str, Any]]) -> int:
    from aws_lambda_powertools.metrics import MetricUnit

    points = issued_points(records)
    if points:
        emf = _emf()
        emf.add_metric(name='PointsIssued', unit=MetricUnit.Count, value=points)
        emf.flush_metrics()
    return points
