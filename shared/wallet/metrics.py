"""The wallet's dashboard metrics (EMF, namespace Pitcrew, Powertools' `service` dimension plus `stage`, and `location`
where it applies): the redemption rate is PointsRedeemed / PointsIssued, time-to-fulfil is TimeToFulfilSeconds.

- PointsRedeemed, TimeToFulfilSeconds: when a redemption completes (shared/wallet/service.py), by (stage) and by
  (stage, location): the person's location at the request. Failed (refunded) redemptions are never counted.
- PointsIssued: the cheapest honest source is the ledger's stream, which every writer of credits already feeds (rules,
  holds, period and league closes, recognition, spot awards, adjustments) and whose one reader, the league scorer, gets
  every new entry anyway: it sums the positive amounts of new credit entries per batch and emits them by (stage) and by
  (stage, location). A ledger entry does not carry the person's location: the payees' current locations are read in
  ONE BatchGetItem of their directory profiles per batch (a batch holds at most 100 records; projected to the
  location), never a Scan. So the dashboard has the rate per location too (PointsRedeemed / PointsIssued with the same
  location). A stream batch Lambda retries is counted again (rare; the metric is a trend, the ledger is the record).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
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


def issued_by_employee(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The points credited to each payee by the new ledger entries among stream records (INSERTs of credit kinds, positive
    amounts), keyed by employee id (the entry item's `pk`, EMP#<id>)."""
    out: dict[str, int] = {}
    for record in records:
        if record.get('eventName') != 'INSERT':
            continue
        image = (record.get('dynamodb') or {}).get('NewImage') or {}
        kind, amount = image.get('kind', {}).get('S'), image.get('amount', {}).get('N')
        if kind in ISSUING_KINDS and amount is not None and int(amount) > 0:
            employee_id = image.get('pk', {}).get('S', '').removeprefix('EMP#')
            out[employee_id] = out.get(employee_id, 0) + int(amount)
    return out


def issued_points(records: Iterable[Mapping[str, Any]]) -> int:
    """The points credited by the new ledger entries among stream records (INSERTs of credit kinds, positive amounts)."""
    return sum(issued_by_employee(records).values())


def issued_by_location(per_employee: Mapping[str, int], locations: Mapping[str, str]) -> dict[str, int]:
    """Issued points summed by the payees' locations (a payee without a known location is counted program-wide only)."""
    out: dict[str, int] = {}
    for employee_id, points in per_employee.items():
        location = locations.get(employee_id)
        if location:
            out[location] = out.get(location, 0) + points
    return out


def profile_locations(employee_ids: Collection[str]) -> dict[str, str]:
    """The directory's current location of each person: one BatchGetItem (100 keys a request), projected."""
    from shared.config import get_settings
    from shared.directory.store import profile_pk
    from shared.dynamo import batch_get, dynamodb_client

    table = get_settings().DIRECTORY_TABLE
    keys = [(table, {'pk': {'S': profile_pk(employee_id)}, 'sk': {'S': 'PROFILE'}}) for employee_id in sorted(employee_ids)]
    options = {table: {'ProjectionExpression': 'pk, location_id'}}
    return {item['pk']['S'].removeprefix('EMP#'): item['location_id']['S']
            for _, item in batch_get(dynamodb_client(), keys, options) if 'location_id' in item}  # fmt: skip


def publish_issued(records: Iterable[Mapping[str, Any]],
                   locations_of: Callable[[Collection[str]], Mapping[str, str]] | None = None) -> int:
    """Emit PointsIssued by (stage) and, with `locations_of` (e.g. `profile_locations`), by (stage, location)."""
    from aws_lambda_powertools.metrics import MetricUnit

    per_employee = issued_by_employee(records)
    points = sum(per_employee.values())
    if not points:
        return 0
    by_location = issued_by_location(per_employee, locations_of(list(per_employee)) if locations_of is not None else {})
    for location, value in [(None, points), *sorted(by_location.items())]:
        emf = _emf(location)
        emf.add_metric(name='PointsIssued', unit=MetricUnit.Count, value=value)
        emf.flush_metrics()
    return points
