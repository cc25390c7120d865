"""Where alerts are kept: the AlertsTable (DynamoDB), one item per alert, and its `due` index.

Items (pk / sk):
- `PLAN#<ticket>` / `P`: the ticket's plan, every alert its checkpoints still call for (one item per ticket, written by
  the alert planner from the tickets table's stream when the plan changes; deleted when the ticket has none left). It
  sits in the `due` index at its earliest alert not yet written out (`due_at`), so the one-minute scan finds it when
  that alert falls due and only then writes the alert item(s) below, already `queued` (`materialised` names the
  alerts written out; `version` tells the scan the plan changed since it read it: `AlertStore.materialise`). An alert that never falls
  due (the ticket is answered, paused, resolved or moved first) is never written as an alert item, so a change to a
  ticket costs one plan write, not one write per alert and recipient; the planner moves or cancels only the alerts
  already written out (`materialised`), as it did every alert before.
- `ALERT#<ticket>|<kind>|<metric>|<threshold>#<role>` / `A`: one alert to one recipient role. While it waits to go
  out it carries `due_shard` and `due_at`, so it is in the sparse `due` index (keys only); when it is queued, sent,
  cancelled or expired the shard is removed and the item leaves the index. The one-minute scan therefore reads
  only what is due (a Query per shard with `due_at <= now`), never the table.
- `WORK#<employee>` / `<ticket>`: the employee's open tickets and job cards (the worklist behind TODAY and the
  daily reminder), kept by the alert planner from the tickets table's stream.
- `BREACH#<employee>` / `<instant>|<ticket>|<metric>`: SLA breaches of the employee's tickets, for "yesterday's
  breaches". Put, never added up, so a retried stream batch cannot count one twice.

Exactly once: a pending alert becomes `queued` (scan), then `sending` under a claim (sender, conditional on
`queued`/`pending` and due), then `sent` with Twilio's message SID. A second scan or a redelivered message finds
the alert already claimed or sent and does nothing. A claim whose sender died is taken over after its lease.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.alerts.plan import AlertKind, Recipient, TicketAlerts
from shared.alerts.sync import AlertChanges, Breach, PendingAlert
from shared.alerts.sync import alert_id as make_alert_id
from shared.config import get_settings
from shared.dynamo import LowLevelClient, conditional_check_failed, conditionally
from shared.observability import safe_reason

ALERT_SK = 'A'
PLAN_SK = 'P'
ALERT_TTL = timedelta(days=180)
BREACH_TTL = timedelta(days=35)
CLAIM_LEASE = timedelta(minutes=5)
OPEN_STATUSES = ('pending', 'queued')
# Twilio's message states in the order they can happen; a late callback for an earlier state never overwrites a later one.
STATUS_RANK = {'accepted': 0, 'scheduled': 0, 'queued': 1, 'sending': 2, 'sent': 3, 'delivered': 4, 'read': 5,
               'undelivered': 6, 'failed': 6, 'canceled': 6}  # fmt: skip


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace('Z', '+00:00'))


def alert_pk(alert_id: str) -> str:
    return f'ALERT#{alert_id}'


@dataclass(frozen=True)
class AlertItem:
    """An alert as stored (what the sender, the callbacks and an admin in the console see)."""

    alert_id: str
    status: str
    kind: str
    role: str
    subject: str
    ticket_key: str
    ref: str
    metric: str
    threshold: str
    due_at: datetime
    threshold_at: datetime
    shift_only: bool = False
    location_id: str | None = None
    claim: str | None = None
    channel: str | None = None
    message_sid: str | None = None
    message_status: str | None = None
    error_code: int | None = None
    recipient: str | None = None
    fallback_sid: str | None = None
    fallback_status: str | None = None
    lateness_s: float | None = None
    reason: str | None = None
    history: tuple[str, ...] = ()
    target_due_at: datetime | None = None  # an SLA alert: the target's due time (absent on alerts stored before it was kept)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> AlertItem:
        def text(name: str) -> str | None:
            value = item.get(name)
            return value['S'] if value and 'S' in value else None

        def number(name: str) -> float | None:
            value = item.get(name)
            return float(value['N']) if value and 'N' in value else None

        code = number('error_code')
        return cls(
            alert_id=item['pk']['S'].removeprefix('ALERT#'),
            status=item['status']['S'],
            kind=item['kind']['S'],
            role=item['role']['S'],
            subject=item['subject']['S'],
            ticket_key=item['ticket_key']['S'],
            ref=item['ref']['S'],
            metric=item['metric']['S'],
            threshold=item['threshold']['S'],
            due_at=parse_iso(item['due_at']['S']),
            threshold_at=parse_iso(item['threshold_at']['S']),
            shift_only=bool(item.get('shift_only', {}).get('BOOL', False)),
            location_id=text('location_id'),
            claim=text('claim'),
            channel=text('channel'),
            message_sid=text('message_sid'),
            message_status=text('message_status'),
            error_code=int(code) if code is not None else None,
            recipient=text('recipient'),
            fallback_sid=text('fallback_sid'),
            fallback_status=text('fallback_status'),
            lateness_s=number('lateness_s'),
            reason=text('reason'),
            history=tuple(entry['S'] for entry in item.get('history', {}).get('L', [])),
            target_due_at=parse_iso(target) if (target := text('target_due_at')) else None,
        )


@dataclass(frozen=True)
class WorkItem:
    ticket_key: str
    kind: str
    ref: str
    status: str | None
    priority: str | None
    promised_at: datetime | None
    approval_since: datetime | None
    sla_due_at: datetime | None


@dataclass(frozen=True)
class DueAlert:
    alert_id: str
    due_at: str
    shard: str


@dataclass
class ScanStats:
    queries: int = 0
    items_read: int = 0
    read_units: float = 0.0
    due: list[DueAlert] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)  # tickets whose plan has an alert falling due


@dataclass
class Materialised:
    """What the scan wrote out of one ticket's plan: alerts due (queued, or expired: found too late), plan reads."""

    found: int = 0
    queued: int = 0
    expired: int = 0
    reads: int = 0


def plan_pk(ticket_key: str) -> str:
    return f'PLAN#{ticket_key}'


def encode_plan(alerts: list[PendingAlert]) -> str:
    """The plan's alerts, compact: what they share once (they are one ticket's, about its owner), then one row each."""
    first = alerts[0]
    rows = [
        [a.kind.value, a.metric, a.threshold, a.role.value, iso(a.due_at), int(a.shift_only), a.target_due_at and iso(a.target_due_at)]
        for a in alerts
    ]
    return json.dumps({'t': first.ticket_key, 'r': first.ref, 's': first.subject, 'l': first.location_id, 'a': rows}, separators=(',', ':'))


def decode_plan(text: str) -> list[PendingAlert]:
    data = json.loads(text)
    found = []
    for kind, metric, threshold, role, due, shift, target in data['a']:
        key = f'{data["t"]}|{kind}|{metric}|{threshold}'
        found.append(
            PendingAlert(
                alert_id=make_alert_id(key, Recipient(role)), ticket_key=data['t'], ref=data['r'], kind=AlertKind(kind), metric=metric,
                threshold=threshold, role=Recipient(role), subject=data['s'], due_at=parse_iso(due), shift_only=bool(shift),
                location_id=data['l'], target_due_at=parse_iso(target) if target else None,
            )
        )  # fmt: skip
    return found


class AlertStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None, shards: int | None = None) -> None:
        settings = get_settings()
        self.table = table_name or settings.ALERTS_TABLE
        self.shards = shards or settings.ALERT_DUE_SHARDS
        self._client = client

    def _update_if(self, alert_id: str, **kwargs: Any) -> dict[str, Any] | None:
        """UpdateItem on one alert with a condition: the response, or None when the condition did not hold."""
        key = {'pk': {'S': alert_pk(alert_id)}, 'sk': {'S': ALERT_SK}}
        try:
            return dict(self.client.update_item(TableName=self.table, Key=key, **kwargs))
        except Exception as exc:
            if conditional_check_failed(exc):
                return None
            raise

    def shard_of(self, alert_id: str) -> str:
        return str(zlib.crc32(alert_id.encode()) % self.shards)

    # --- the planner (tickets stream) -----------------------------------------------------------------
    def _item(self, alert: PendingAlert, now: datetime) -> dict[str, Any]:
        """The whole item of a pending alert (in the due index)."""
        item: dict[str, Any] = {
            'pk': {'S': alert_pk(alert.alert_id)},
            'sk': {'S': ALERT_SK},
            'status': {'S': 'pending'},
            'due_shard': {'S': self.shard_of(alert.alert_id)},
            'due_at': {'S': iso(alert.due_at)},
            'threshold_at': {'S': iso(alert.due_at)},
            'kind': {'S': alert.kind.value},
            'role': {'S': alert.role.value},
            'subject': {'S': alert.subject},
            'ticket_key': {'S': alert.ticket_key},
            'ref': {'S': alert.ref},
            'metric': {'S': alert.metric},
            'threshold': {'S': alert.threshold},
            'shift_only': {'BOOL': alert.shift_only},
            'planned_at': {'S': iso(now)},
            'expires_at': {'N': str(int((alert.due_at + ALERT_TTL).timestamp()))},
        }
        if alert.location_id:
            item['location_id'] = {'S': alert.location_id}
        if alert.target_due_at is not None:
            item['target_due_at'] = {'S': iso(alert.target_due_at)}
        return item

    def new_alert_action(self, alert: PendingAlert, now: datetime) -> dict[str, Any]:
        """A TransactWriteItems `Put` of a new pending alert, refused when it exists: for a writer whose message must go
        out exactly once with its own change (the league scorer's level-up and badge notices)."""
        return {'Put': {'TableName': self.table, 'Item': self._item(alert, now), 'ConditionExpression': 'attribute_not_exists(pk)'}}

    def upsert(self, alert: PendingAlert, now: datetime, *, only_new: bool = False) -> bool:
        """Add a pending alert, or move one that has not gone out yet (a PutItem of the whole item: nothing of a pending,
        queued or cancelled alert is worth keeping). False when it already went out or is being sent, or, with
        `only_new`, when it exists at all (a reminder planned twice)."""
        item = self._item(alert, now)
        condition: dict[str, Any] = (
            {'ConditionExpression': 'attribute_not_exists(pk)'}
            if only_new
            else {
                'ConditionExpression': 'attribute_not_exists(pk) OR #s IN (:pending, :queued, :cancelled)',
                'ExpressionAttributeNames': {'#s': 'status'},
                'ExpressionAttributeValues': {':pending': {'S': 'pending'}, ':queued': {'S': 'queued'}, ':cancelled': {'S': 'cancelled'}},
            }
        )
        return conditionally(self.client.put_item, TableName=self.table, Item=item, **condition)

    def cancel(self, alert_id: str, now: datetime, reason: str = 'no longer pending', previous: PendingAlert | None = None) -> bool:
        """Resolved, paused, reassigned away or target completed: the alert will not go out (if it has not). With the
        alert as it was planned, one PutItem of the cancelled item; without, an update of the stored one."""
        guard = {'ConditionExpression': '#s IN (:pending, :queued)', 'ExpressionAttributeNames': {'#s': 'status'}}
        states = {':pending': {'S': 'pending'}, ':queued': {'S': 'queued'}}
        if previous is not None:
            item = self._item(previous, now)
            del item['due_shard']
            item.update(status={'S': 'cancelled'}, reason={'S': reason}, cancelled_at={'S': iso(now)})
            return conditionally(self.client.put_item, TableName=self.table, Item=item, ExpressionAttributeValues=states, **guard)
        return self._update_if(
            alert_id,
            UpdateExpression='SET #s = :cancelled, reason = :reason, cancelled_at = :now REMOVE due_shard',
            ExpressionAttributeValues={**states, ':cancelled': {'S': 'cancelled'}, ':reason': {'S': reason}, ':now': {'S': iso(now)}},
            **guard,
        ) is not None

    def put_worklist(self, alerts: TicketAlerts) -> None:
        assert alerts.owner is not None
        item: dict[str, Any] = {
            'pk': {'S': f'WORK#{alerts.owner}'},
            'sk': {'S': alerts.ticket_key},
            'kind': {'S': alerts.kind.value},
            'ref': {'S': alerts.ref},
        }
        for name in ('status', 'priority'):
            value = getattr(alerts, name)
            if value:
                item[name] = {'S': value}
        for name in ('promised_at', 'approval_since', 'sla_due_at'):
            moment = getattr(alerts, name)
            if moment is not None:
                item[name] = {'S': iso(moment)}
        self.client.put_item(TableName=self.table, Item=item)

    def remove_worklist(self, employee_id: str, ticket_key: str) -> None:
        """The worklist is a derived view (not a record of anything): an entry leaves it when the ticket closes."""
        self.client.delete_item(TableName=self.table, Key={'pk': {'S': f'WORK#{employee_id}'}, 'sk': {'S': ticket_key}})

    def put_breach(self, breach: Breach) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                'pk': {'S': f'BREACH#{breach.employee_id}'},
                'sk': {'S': f'{iso(breach.at)}|{breach.ticket_key}|{breach.metric}'},
                'ref': {'S': breach.ref},
                'expires_at': {'N': str(int((breach.at + BREACH_TTL).timestamp()))},
            },
        )

    def apply(self, changes: AlertChanges, now: datetime) -> dict[str, int]:
        """Write what a ticket change means for its alerts; every write is idempotent (stream retries are harmless).
        The ticket's plan is written whole; of the alerts that changed, only those the scan already wrote out are moved
        or cancelled (the others live in the plan alone)."""
        counts = {'planned': 0, 'upserted': 0, 'not_moved': 0, 'cancelled': 0, 'worklist': 0, 'breaches': 0}
        if changes.ticket_key is not None:
            written = self.put_plan(changes.ticket_key, list(changes.planned.values()), now, changes.previous)
            counts['planned'] += 1
            for alert in changes.upserts:
                if alert.alert_id in written:
                    counts['upserted' if self.upsert(alert, now) else 'not_moved'] += 1
            for cancelled in changes.cancels:
                if cancelled in written:
                    counts['cancelled'] += int(self.cancel(cancelled, now, previous=changes.previous.get(cancelled)))
        for employee_id, ticket_key in changes.worklist_remove:
            self.remove_worklist(employee_id, ticket_key)
            counts['worklist'] += 1
        for alerts in changes.worklist_put:
            self.put_worklist(alerts)
            counts['worklist'] += 1
        for breach in changes.breaches:
            self.put_breach(breach)
            counts['breaches'] += 1
        return counts

    # --- a ticket's plan (the planner writes it, the scan writes its alerts out as they fall due) ------------
    def _plan_key(self, ticket_key: str) -> dict[str, Any]:
        return {'pk': {'S': plan_pk(ticket_key)}, 'sk': {'S': PLAN_SK}}

    def put_plan(self, ticket_key: str, alerts: list[PendingAlert], now: datetime, previous: Collection[str] = ()) -> set[str]:
        """Replace the ticket's plan with `alerts` (none: delete it); the ids of its alerts already written out as alert
        items (the planner moves or cancels those itself). The plan waits in the due index at its earliest alert not
        written out yet. `previous`: the alerts the ticket had before this change; when it had no plan item (its alerts
        were planned before plans existed, each written as an alert item), those that exist as alert items are taken as
        written out."""
        key = self._plan_key(ticket_key)
        if not alerts:
            old = self.client.delete_item(TableName=self.table, Key=key, ReturnValues='ALL_OLD').get('Attributes') or {}
            return set(old.get('materialised', {}).get('SS', [])) if old else self._existing(previous)
        earliest = min(alert.due_at for alert in alerts)
        attributes = self._plan_attributes(ticket_key, alerts, now)
        old = self.client.update_item(
            TableName=self.table,
            Key=key,
            UpdateExpression='SET ' + ', '.join(f'{name} = :{name}' for name in attributes) + ' ADD version :one',
            ExpressionAttributeValues={**{f':{name}': value for name, value in attributes.items()}, ':one': {'N': '1'}},
            ReturnValues='ALL_OLD',
        ).get('Attributes') or {}
        written = set(old.get('materialised', {}).get('SS', []))
        found = set() if old else self._existing(previous)  # a first plan: alert items written before plans existed
        written |= found
        waiting = [alert.due_at for alert in alerts if alert.alert_id not in written]
        if found or min(waiting, default=None) != earliest:  # its earliest alert is already written out: wait for the next
            version = int(old.get('version', {}).get('N', '0')) + 1
            self._index_plan(key, version, min(waiting) if waiting else None, found)
        return written

    def _plan_attributes(self, ticket_key: str, alerts: list[PendingAlert], now: datetime) -> dict[str, Any]:
        """What a plan item carries besides its key and version: its alerts, and its place in the due index (its earliest)."""
        return {
            'alerts': {'S': encode_plan(alerts)},
            'due_shard': {'S': self.shard_of(plan_pk(ticket_key))},
            'due_at': {'S': iso(min(alert.due_at for alert in alerts))},
            'planned_at': {'S': iso(now)},
            'expires_at': {'N': str(int((max(alert.due_at for alert in alerts) + ALERT_TTL).timestamp()))},
        }

    def new_plan_item(self, ticket_key: str, alerts: list[PendingAlert], now: datetime) -> dict[str, Any]:
        """The item `put_plan` writes for a ticket that had no plan (for loading many at once: the alerts drill)."""
        return {**self._plan_key(ticket_key), **self._plan_attributes(ticket_key, alerts, now), 'version': {'N': '1'}}

    def _existing(self, alert_ids: Collection[str]) -> set[str]:
        """Those of these alerts that exist as alert items (one BatchGetItem per 100, keys only)."""
        found: set[str] = set()
        wanted = sorted(alert_ids)
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self.table: {'Keys': [{'pk': {'S': alert_pk(i)}, 'sk': {'S': ALERT_SK}} for i in wanted[start : start + 100]],
                             'ProjectionExpression': 'pk'}
            }  # fmt: skip
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                found |= {item['pk']['S'].removeprefix('ALERT#') for item in answer.get('Responses', {}).get(self.table, [])}
                request = answer.get('UnprocessedKeys') or {}
        return found

    def _index_plan(self, key: dict[str, Any], version: int, due: datetime | None, written: Collection[str] = ()) -> bool:
        """Put the plan in the due index at `due` (None: out of it) and record `written` alerts as written out, unless the
        plan changed since `version` was read."""
        values: dict[str, Any] = {':version': {'N': str(version)}}
        if due is None:
            expression = 'REMOVE due_shard, due_at'
        else:
            expression = 'SET due_shard = :shard, due_at = :due'
            values.update({':shard': {'S': self.shard_of(key['pk']['S'])}, ':due': {'S': iso(due)}})
        if written:
            expression += ' ADD materialised :ids'
            values[':ids'] = {'SS': sorted(written)}
        return conditionally(self.client.update_item, TableName=self.table, Key=key, UpdateExpression=expression,
                             ConditionExpression='version = :version', ExpressionAttributeValues=values)  # fmt: skip

    def materialise(self, ticket_key: str, now: datetime, oldest: datetime, send: Callable[[list[str]], None]) -> Materialised:
        """The scan found the ticket's plan due: write out its alerts due at `now` as `queued` alert items (`expired` if due
        before `oldest`), `send` the queued ones to the alerts queue, then record them as written in the plan and move
        the plan to its next alert, conditional on the plan read (its version).

        Crash-safe: until that last write the plan stays in the index at the same time, so the next scan writes the
        same alerts again (a `queued` item is rewritten, and queued again: the sender's claim makes the copy harmless).
        A plan changed by the planner between the read and that last write (the planner did not know of these alerts
        then) is read again and the alerts written here follow it: moved (pending at the new time) or cancelled. An
        alert item that exists otherwise (claimed, sent, expired, or written out before and kept by the planner) is
        recorded as written and not rewritten: a key goes out once."""
        result = Materialised()
        key = self._plan_key(ticket_key)
        here: dict[str, PendingAlert | None] = {}  # alerts this call wrote out, as written (None: cancelled since)
        known: set[str] = set()  # alert items found already there
        for _ in range(5):
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get('Item')
            result.reads += 1
            planned = {alert.alert_id: alert for alert in decode_plan(item['alerts']['S'])} if item and 'alerts' in item else {}
            for written_id, as_written in here.items():  # follow a plan changed since the last read
                if as_written is not None and planned.get(written_id) != as_written:
                    if written_id in planned:
                        self.upsert(planned[written_id], now)
                    else:
                        self.cancel(written_id, now, 'no longer planned', previous=as_written)
                    here[written_id] = planned.get(written_id)
            if item is None or 'alerts' not in item:
                return result  # the ticket has no plan any more (resolved): what was written here is cancelled
            version = int(item.get('version', {}).get('N', '0'))
            written = set(item.get('materialised', {}).get('SS', []))
            due = [a for a in planned.values() if a.due_at <= now and a.alert_id not in written | set(here) | known]
            queued: list[str] = []
            for alert in due:
                alert_item = self._item(alert, now)
                del alert_item['due_shard']
                late = alert.due_at < oldest
                alert_item.update(status={'S': 'expired' if late else 'queued'}, scanned_at={'S': iso(now)})
                if late:
                    alert_item['reason'] = {'S': 'found too long after its time; not sent'}
                wrote = conditionally(
                    self.client.put_item, TableName=self.table, Item=alert_item,
                    ConditionExpression='attribute_not_exists(pk) OR #s IN (:cancelled, :queued)',
                    ExpressionAttributeNames={'#s': 'status'},
                    ExpressionAttributeValues={':cancelled': {'S': 'cancelled'}, ':queued': {'S': 'queued'}},
                )  # fmt: skip
                if not wrote:
                    known.add(alert.alert_id)
                    continue
                here[alert.alert_id] = alert
                result.found += 1
                if late:
                    result.expired += 1
                else:
                    queued.append(alert.alert_id)
            if queued:
                send(queued)
                result.queued += len(queued)
            recorded = sorted((set(here) | known) - written)
            later = [a.due_at for a in planned.values() if a.alert_id not in written | set(here) | known]
            values: dict[str, Any] = {':version': {'N': str(version)}, ':one': {'N': '1'}}
            if later:
                expression = 'SET due_shard = :shard, due_at = :due'
                values.update({':shard': {'S': self.shard_of(key['pk']['S'])}, ':due': {'S': iso(min(later))}})
            else:
                expression = 'REMOVE due_shard, due_at'
            expression += ' ADD version :one'
            if recorded:
                expression += ', materialised :ids'
                values[':ids'] = {'SS': recorded}
            if conditionally(self.client.update_item, TableName=self.table, Key=key, UpdateExpression=expression,
                             ConditionExpression='version = :version', ExpressionAttributeValues=values):  # fmt: skip
                return result
        return result  # contended all along: the plan stays in the index and the next scan tries again

    # --- the one-minute scan --------------------------------------------------------------------------
    def due(self, now: datetime) -> ScanStats:
        """Every alert and plan due at `now` or before: one Query per shard of the `due` index (keys only)."""
        stats = ScanStats()
        for shard in range(self.shards):
            kwargs: dict[str, Any] = {
                'TableName': self.table,
                'IndexName': 'due',
                'KeyConditionExpression': 'due_shard = :shard AND due_at <= :now',
                'ExpressionAttributeValues': {':shard': {'S': str(shard)}, ':now': {'S': iso(now)}},
                'ReturnConsumedCapacity': 'TOTAL',
            }
            while True:
                page = self.client.query(**kwargs)
                stats.queries += 1
                stats.items_read += int(page.get('ScannedCount', page.get('Count', 0)))
                stats.read_units += float((page.get('ConsumedCapacity') or {}).get('CapacityUnits', 0) or 0)
                for item in page.get('Items', []):
                    if item['pk']['S'].startswith('PLAN#'):
                        stats.plans.append(item['pk']['S'].removeprefix('PLAN#'))
                    else:
                        stats.due.append(DueAlert(item['pk']['S'].removeprefix('ALERT#'), item['due_at']['S'], str(shard)))
                if 'LastEvaluatedKey' not in page:
                    break
                kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']
        return stats

    def _leave_index(self, due: DueAlert, status: str, now: datetime, extra: dict[str, str] | None = None) -> bool:
        sets = '#s = :status, scanned_at = :now' + ''.join(f', {name} = :{name}' for name in extra or {})
        values = {
            ':status': {'S': status},
            ':now': {'S': iso(now)},
            ':shard': {'S': due.shard},
            ':due': {'S': due.due_at},
            ':pending': {'S': 'pending'},
        }
        values.update({f':{name}': {'S': value} for name, value in (extra or {}).items()})
        return self._update_if(
            due.alert_id,
            UpdateExpression=f'SET {sets} REMOVE due_shard',
            ConditionExpression='due_shard = :shard AND due_at = :due AND #s = :pending',
            ExpressionAttributeNames={'#s': 'status'},
            ExpressionAttributeValues=values,
        ) is not None  # moved or cancelled since the Query

    def mark_queued(self, due: DueAlert, now: datetime) -> bool:
        return self._leave_index(due, 'queued', now)

    def expire(self, due: DueAlert, now: datetime) -> bool:
        return self._leave_index(due, 'expired', now, {'reason': 'found too long after its time; not sent'})

    # --- the sender -------------------------------------------------------------------------------------
    def get(self, alert_id: str) -> AlertItem | None:
        item = self.client.get_item(
            TableName=self.table, Key={'pk': {'S': alert_pk(alert_id)}, 'sk': {'S': ALERT_SK}}, ConsistentRead=True
        ).get('Item')
        return AlertItem.from_item(item) if item else None

    def claim(self, alert_id: str, claim_id: str, now: datetime) -> AlertItem | None:
        """Take the alert for sending: a queued (or still pending) alert that is due; or one being sent whose lease ran out
        or whose claimant is this same queue message delivered again (its first delivery died mid-way)."""
        response = self._update_if(
            alert_id,
            UpdateExpression='SET #s = :sending, claim = :claim, claimed_until = :until REMOVE due_shard',
            ConditionExpression=(
                '(#s IN (:queued, :pending) AND due_at <= :now) OR (#s = :sending AND (claimed_until < :now OR claim = :claim))'
            ),
            ExpressionAttributeNames={'#s': 'status'},
            ExpressionAttributeValues={
                ':sending': {'S': 'sending'}, ':queued': {'S': 'queued'}, ':pending': {'S': 'pending'},
                ':claim': {'S': claim_id}, ':now': {'S': iso(now)}, ':until': {'S': iso(now + CLAIM_LEASE)},
            },
            ReturnValues='ALL_NEW',
        )  # fmt: skip
        if response is None:
            return None
        return AlertItem.from_item(response['Attributes'])

    def _finish(self, alert_id: str, claim_id: str, sets: dict[str, Any], remove: str = '') -> bool:
        names = {'#s': 'status'}
        expression = 'SET ' + ', '.join(f'{"#s" if name == "status" else name} = :{name}' for name in sets)
        if remove:
            expression += f' REMOVE {remove}'
        values = {f':{name}': value for name, value in sets.items()}
        values[':claim'] = {'S': claim_id}
        return self._update_if(
            alert_id,
            UpdateExpression=expression,
            ConditionExpression='claim = :claim',
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        ) is not None

    def record_sent(
        self, alert_id: str, claim_id: str, *, channel: str, recipient: str, sid: str, status: str, sent_at: datetime,
        lateness_s: float, fell_back_from: int | None = None, email: bool = False,
    ) -> bool:  # fmt: skip
        sets: dict[str, Any] = {
            'status': {'S': 'sent'},
            'channel': {'S': channel},
            'recipient': {'S': recipient},
            'message_sid': {'S': sid},
            'message_status': {'S': status},
            'sent_at': {'S': iso(sent_at)},
            'lateness_s': {'N': f'{lateness_s:.3f}'},
            'history': {'L': [{'S': f'{status}@{iso(sent_at)}'}]},
        }
        if fell_back_from is not None:
            sets['fell_back_from'] = {'N': str(fell_back_from)}
        return self._finish(alert_id, claim_id, sets, remove='claimed_until')

    def record_final(self, alert_id: str, claim_id: str, status: str, reason: str, now: datetime, code: int | None = None) -> bool:
        """`skipped` (nobody reachable: opted out, no contact, invalid number) or `failed` (a send refused for good)."""
        sets: dict[str, Any] = {'status': {'S': status}, 'reason': {'S': safe_reason(reason)[:500]}, 'finished_at': {'S': iso(now)}}
        if code is not None:
            sets['error_code'] = {'N': str(code)}
        return self._finish(alert_id, claim_id, sets, remove='claimed_until')

    def release(self, alert_id: str, claim_id: str, reason: str) -> bool:
        """A retryable failure: back to queued, for the queue's next delivery (or the dead-letter queue's redrive)."""
        return self._finish(alert_id, claim_id, {'status': {'S': 'queued'}, 'reason': {'S': safe_reason(reason)[:500]}},
                            remove='claimed_until')

    def hold(self, alert_id: str, claim_id: str, until: datetime, reason: str) -> bool:
        """Quiet hours (or outside the shift): back in the due index at `until`."""
        sets = {'status': {'S': 'pending'}, 'due_at': {'S': iso(until)}, 'due_shard': {'S': self.shard_of(alert_id)},
                'reason': {'S': reason}}  # fmt: skip
        return self._finish(alert_id, claim_id, sets, remove='claimed_until')

    # --- Twilio's status callbacks ----------------------------------------------------------------------
    def record_status(self, alert_id: str, sid: str, status: str, error_code: int | None, at: datetime) -> AlertItem | None:
        """Append a status callback to the alert's history and move its current status forward (callbacks can arrive out
        of order: a late `sent` never overwrites `delivered`). The SID says which message: the alert's own or its SMS
        fallback (kept apart as `fallback_status`). None: this alert sent no such message."""
        entry_text = f'{status}{f" {error_code}" if error_code else ""}@{iso(at)}'
        for _ in range(3):  # a concurrent callback for the same alert: read again and decide again
            item = self.get(alert_id)
            if item is None or sid not in (item.message_sid, item.fallback_sid):
                return None
            own = sid == item.message_sid
            status_field, code_field = ('message_status', 'error_code') if own else ('fallback_status', 'fallback_error_code')
            current = item.message_status if own else item.fallback_status
            values: dict[str, Any] = {
                ':entry': {'L': [{'S': f'{(item.channel or "message") if own else "sms-fallback"}:{entry_text}'}]},
                ':empty': {'L': []},
            }
            expression = 'SET history = list_append(if_not_exists(history, :empty), :entry)'
            if current is None or STATUS_RANK.get(status, 0) >= STATUS_RANK.get(current, 0):
                expression += f', {status_field} = :status'
                values[':status'] = {'S': status}
                if error_code is not None:
                    expression += f', {code_field} = :code'
                    values[':code'] = {'N': str(error_code)}
            # the current status is still the one this decision was made on
            if current is None:
                condition = f'attribute_not_exists({status_field})'
            else:
                condition = f'{status_field} = :current'
                values[':current'] = {'S': current}
            response = self._update_if(
                alert_id, UpdateExpression=expression, ConditionExpression=condition, ExpressionAttributeValues=values,
                ReturnValues='ALL_NEW',
            )  # fmt: skip
            if response is not None:
                return AlertItem.from_item(response['Attributes'])
        return None

    def claim_fallback(self, alert_id: str, now: datetime) -> bool:
        """WhatsApp failed after it was accepted (63016 and the like, in a callback): the SMS fallback goes once."""
        return self._update_if(
            alert_id,
            UpdateExpression='SET fallback_at = :now',
            ConditionExpression='attribute_not_exists(fallback_at) AND #s = :sent',
            ExpressionAttributeNames={'#s': 'status'},
            ExpressionAttributeValues={':now': {'S': iso(now)}, ':sent': {'S': 'sent'}},
        ) is not None

    def record_fallback(self, alert_id: str, sid: str, channel: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={'pk': {'S': alert_pk(alert_id)}, 'sk': {'S': ALERT_SK}},
            UpdateExpression='SET fallback_sid = :sid, fallback_channel = :channel',
            ExpressionAttributeValues={':sid': {'S': sid}, ':channel': {'S': channel}},
        )

    # --- worklist and breaches (TODAY, the daily reminder) -------------------------------------------
    def worklist(self, employee_id: str) -> list[WorkItem]:
        items: list[WorkItem] = []
        kwargs: dict[str, Any] = {
            'TableName': self.table,
            'KeyConditionExpression': 'pk = :pk',
            'ExpressionAttributeValues': {':pk': {'S': f'WORK#{employee_id}'}},
        }
        for item in self._pages(kwargs):

            def moment(name: str, item: dict[str, Any] = item) -> datetime | None:
                return parse_iso(item[name]['S']) if name in item else None

            items.append(
                WorkItem(
                    ticket_key=item['sk']['S'],
                    kind=item['kind']['S'],
                    ref=item['ref']['S'],
                    status=item.get('status', {}).get('S'),
                    priority=item.get('priority', {}).get('S'),
                    promised_at=moment('promised_at'),
                    approval_since=moment('approval_since'),
                    sla_due_at=moment('sla_due_at'),
                )
            )
        return items

    def breaches_between(self, employee_id: str, start: datetime, end: datetime) -> int:
        kwargs: dict[str, Any] = {
            'TableName': self.table,
            'KeyConditionExpression': 'pk = :pk AND sk BETWEEN :lo AND :hi',
            'ExpressionAttributeValues': {':pk': {'S': f'BREACH#{employee_id}'}, ':lo': {'S': iso(start)}, ':hi': {'S': iso(end) + '|'}},
            'Select': 'COUNT',
        }
        total = 0
        while True:
            page = self.client.query(**kwargs)
            total += int(page.get('Count', 0))
            if 'LastEvaluatedKey' not in page:
                return total
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']

    def last_breach(self, employee_id: str, start: datetime, end: datetime) -> datetime | None:
        """The latest SLA breach of the employee's tickets in [start, end), or None: ONE Query, newest first, one item
        read (the streak badges' daily judgement, `shared.leagues.streak_run`)."""
        page = self.client.query(
            TableName=self.table,
            KeyConditionExpression='pk = :pk AND sk BETWEEN :lo AND :hi',
            ExpressionAttributeValues={':pk': {'S': f'BREACH#{employee_id}'}, ':lo': {'S': iso(start)}, ':hi': {'S': iso(end)}},
            ProjectionExpression='sk',
            ScanIndexForward=False,
            Limit=1,
        )
        items = page.get('Items', [])
        return parse_iso(items[0]['sk']['S'].split('|', 1)[0]) if items else None

    # --- forgetting a person (shared.privacy.erase) ---------------------------------------------------------
    def personal_keys(self, employee_id: str) -> dict[str, list[dict[str, Any]]]:
        """The keys of the person's worklist and SLA-breach items: one Query of each partition, keys only."""
        found: dict[str, list[dict[str, Any]]] = {}
        for prefix in ('WORK', 'BREACH'):
            kwargs: dict[str, Any] = {
                'TableName': self.table,
                'KeyConditionExpression': 'pk = :pk',
                'ExpressionAttributeValues': {':pk': {'S': f'{prefix}#{employee_id}'}},
                'ProjectionExpression': 'pk, sk',
                'ConsistentRead': True,
            }
            found[prefix] = [{'pk': item['pk'], 'sk': item['sk']} for item in self._pages(kwargs)]
        return found

    def delete_keys(self, keys: list[dict[str, Any]]) -> None:
        for key in keys:
            self.client.delete_item(TableName=self.table, Key=key)

    def _pages(self, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            page = self.client.query(**kwargs)
            yield from page.get('Items', [])
            if 'LastEvaluatedKey' not in page:
                return
            kwargs['ExclusiveStartKey'] = page['LastEvaluatedKey']
