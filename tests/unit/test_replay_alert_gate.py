"""The replay's clock gate on the alert pipeline (infrastructure/local/replay.py, alert_gate.py): the simulated clock
never runs ahead of the planner, the scanner or the sender, so an alert is found in its own minute and expires only
when its event really came too late."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from infrastructure.local import moto_patches
from infrastructure.local.alert_gate import earliest_in_index, parse_moment, scanner_indexes
from infrastructure.local.replay import Replayer, ReplayResult, whole_minute_from

MAX_LATE = timedelta(minutes=360)  # the scanner's "found too long after its time" (shared/alerts/settings.py)
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@dataclass
class FakePipeline:
    """The alert pipeline as the gate sees it: events sent become alerts only once the planner has applied them
    (`settle`); a scan at a moment finds what is due by then, expiring what is older than MAX_LATE."""

    name: str = 'AlertScannerFunction'
    sent: list[tuple[str, datetime]] = field(default_factory=list)  # (alert, due) whose events were sent, not yet planned
    pending: dict[str, datetime] = field(default_factory=dict)  # planned, waiting to be found
    calls: list[str] = field(default_factory=list)
    found: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # alert -> (scan moment, queued | expired)

    def send(self, alert: str, due: datetime) -> None:
        self.sent.append((alert, due))

    def settle(self) -> None:
        self.calls.append('settle')
        self.pending.update(self.sent)
        self.sent.clear()

    def next_due(self) -> datetime | None:
        return min(self.pending.values(), default=None)

    def scan(self, moment: datetime) -> dict[str, int]:
        self.calls.append(f'scan {moment:%d %H:%M}')
        assert not self.sent, 'a scan fired before the planner had seen every event sent'
        due = {alert: at for alert, at in self.pending.items() if at <= moment}
        for alert, at in due.items():
            del self.pending[alert]
            self.found[alert] = (moment, 'expired' if at < moment - MAX_LATE else 'queued')
        return {'due': len(due), 'queued': sum(1 for a in due if self.found[a][1] == 'queued')}


def advance(replayer: Replayer, clock: datetime, result: ReplayResult) -> None:
    replayer._advance([], clock, result)


def test_a_scan_runs_in_the_minute_its_alert_falls_due_even_when_the_clock_jumps_hours() -> None:
    # Given events sent at 09:00 that plan alerts due at 10:05:30 and 13:40 (in the planner's stream, not yet applied)
    pipeline = FakePipeline()
    replayer = Replayer(port=0, gate=pipeline)
    result = ReplayResult()
    advance(replayer, T0, result)
    pipeline.send('first-response', T0 + timedelta(minutes=65, seconds=30))
    pipeline.send('resolution', T0 + timedelta(hours=4, minutes=40))

    # When the next delivery is sent only at 21:00 (a quiet evening: the clock jumps 12 hours)
    advance(replayer, T0 + timedelta(hours=12), result)

    # Then the planner settled before any scan, and each alert was found in the first minute at or after its time
    assert pipeline.calls[:2] == ['settle', 'settle']
    assert pipeline.found == {
        'first-response': (T0 + timedelta(minutes=66), 'queued'),
        'resolution': (T0 + timedelta(hours=4, minutes=40), 'queued'),
    }
    # And nothing was expired, and the scans are in the replay's schedule runs at those minutes
    assert [(name, moment) for name, moment, _ in result.schedule_runs] == [
        ('AlertScannerFunction', T0 + timedelta(minutes=66)),
        ('AlertScannerFunction', T0 + timedelta(hours=4, minutes=40)),
    ]


def test_no_scan_fires_past_the_clock_and_no_minute_is_scanned_twice() -> None:
    # Given an alert due at 10:00 and another due at 10:00 too, then one due after the next delivery
    pipeline = FakePipeline()
    replayer = Replayer(port=0, gate=pipeline)
    result = ReplayResult()
    advance(replayer, T0, result)
    pipeline.send('a', T0 + timedelta(hours=1))
    pipeline.send('b', T0 + timedelta(hours=1))
    pipeline.send('later', T0 + timedelta(hours=3))

    # When the clock moves to 10:30
    advance(replayer, T0 + timedelta(minutes=90), result)

    # Then one scan at 10:00 found both, and the later one waits for the clock
    assert [call for call in pipeline.calls if call.startswith('scan')] == ['scan 05 10:00']
    assert pipeline.pending == {'later': T0 + timedelta(hours=3)}

    # And when a late event then plans an alert due at 10:00 (before the minute already scanned)
    pipeline.send('late', T0 + timedelta(hours=1))
    advance(replayer, T0 + timedelta(minutes=95), result)

    # Then it is found at the clock's previous position (10:30, when its event could first have been planned), not
    # back in a minute already scanned, nor in the past
    assert pipeline.found['late'] == (T0 + timedelta(minutes=90), 'queued')


def test_an_alert_expires_only_when_its_event_was_sent_too_long_after_its_time() -> None:
    # Given a replay at 09:00
    pipeline = FakePipeline()
    replayer = Replayer(port=0, gate=pipeline)
    result = ReplayResult()
    advance(replayer, T0, result)

    # When an event sent at 09:00 plans an alert due 7 hours earlier (a backfill), and another due in a day's time,
    # and the clock then runs over two days with no delivery
    pipeline.send('backfill', T0 - timedelta(hours=7))
    pipeline.send('tomorrow', T0 + timedelta(days=1, minutes=1))
    advance(replayer, T0 + timedelta(days=2), result)

    # Then only the backfill expired: the clock running ahead expired nothing
    assert pipeline.found == {
        'backfill': (T0, 'expired'),
        'tomorrow': (T0 + timedelta(days=1, minutes=1), 'queued'),
    }


def test_without_a_gate_the_schedules_fire_as_before_once_at_the_latest_time_passed() -> None:
    # Given a schedule every 15 minutes and no gate (alerting off)
    fired: list[datetime] = []
    times = [T0 + timedelta(minutes=15 * n) for n in range(8)]
    replayer = Replayer(port=0)
    result = ReplayResult()

    # When the clock jumps 100 minutes
    replayer._advance([('HoldRelease', lambda moment: fired.append(moment), times)], T0 + timedelta(minutes=100), result)

    # Then it fired once, at the latest of its times the clock passed
    assert fired == [T0 + timedelta(minutes=90)]


def test_whole_minute_from_rounds_up_to_the_next_scan() -> None:
    # Given moments on and off the minute, then they round up to the scan that would find them
    assert whole_minute_from(T0) == T0
    assert whole_minute_from(T0 + timedelta(seconds=1)) == T0 + timedelta(minutes=1)


def test_the_gate_reads_the_indexes_the_scanner_may_query_from_its_policy_in_the_template() -> None:
    # Given template.yaml, then the scanner's Query permission names the alerts table's due index
    assert ('AlertsTable', 'due') in scanner_indexes()
    # And a function without such a permission has none
    assert scanner_indexes('functions.no_such.app.lambda_handler') == []


def test_earliest_in_index_is_the_smallest_due_time_of_the_items_in_a_sparse_index() -> None:
    assert moto_patches.apply()  # the local stack's patches (the log of changed keys among them)
    with mock_aws():
        # Given a table with a sparse index (due_shard, due_at): two items in it, one out of it with an earlier time
        client = boto3.client('dynamodb', region_name='us-east-1')
        client.create_table(
            TableName='alerts',
            KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
            AttributeDefinitions=[{'AttributeName': name, 'AttributeType': 'S'} for name in ('pk', 'sk', 'due_shard', 'due_at')],
            GlobalSecondaryIndexes=[{
                'IndexName': 'due',
                'KeySchema': [{'AttributeName': 'due_shard', 'KeyType': 'HASH'}, {'AttributeName': 'due_at', 'KeyType': 'RANGE'}],
                'Projection': {'ProjectionType': 'KEYS_ONLY'},
            }],
            BillingMode='PAY_PER_REQUEST',
        )  # fmt: skip
        items: list[dict[str, Any]] = [
            {'pk': {'S': 'ALERT#1'}, 'sk': {'S': 'A'}, 'due_shard': {'S': '0'}, 'due_at': {'S': '2026-10-05T12:00:00Z'}},
            {'pk': {'S': 'ALERT#2'}, 'sk': {'S': 'A'}, 'due_shard': {'S': '0'}, 'due_at': {'S': '2026-10-05T10:01:00Z'}},
            {'pk': {'S': 'ALERT#3'}, 'sk': {'S': 'A'}, 'due_at': {'S': '2026-10-05T09:00:00Z'}},  # sent: out of the index
        ]
        for item in items:
            client.put_item(TableName='alerts', Item=item)
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends['123456789012']['us-east-1'].get_table('alerts')

        # When the gate looks for the earliest due time
        earliest = earliest_in_index(table, 'due')

        # Then it is the earliest of the two in the index, as a moment
        assert parse_moment(earliest) == datetime(2026, 10, 5, 10, 1, tzinfo=UTC)
        # And an index the table does not have has nothing
        assert earliest_in_index(table, 'holds') is None

        # And when the earliest leaves the index (queued), an earlier one is put, and a later one is deleted, the next
        # look (reading only what changed since, with the local stack's moto patches) sees each change
        client.update_item(TableName='alerts', Key={'pk': {'S': 'ALERT#2'}, 'sk': {'S': 'A'}}, UpdateExpression='REMOVE due_shard')
        assert parse_moment(earliest_in_index(table, 'due')) == datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
        client.transact_write_items(TransactItems=[
            {'Put': {'TableName': 'alerts', 'Item': {'pk': {'S': 'ALERT#4'}, 'sk': {'S': 'A'}, 'due_shard': {'S': '0'},
                                                     'due_at': {'S': '2026-10-05T09:30:00Z'}}}},
            {'Delete': {'TableName': 'alerts', 'Key': {'pk': {'S': 'ALERT#1'}, 'sk': {'S': 'A'}}}},
        ])  # fmt: skip
        assert parse_moment(earliest_in_index(table, 'due')) == datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
        client.delete_item(TableName='alerts', Key={'pk': {'S': 'ALERT#4'}, 'sk': {'S': 'A'}})
        assert earliest_in_index(table, 'due') is None


def test_the_gate_drains_the_stream_readers_that_write_alerts_and_no_other() -> None:
    # Given template.yaml, when the gate asks who may write where the scanner reads
    from infrastructure.local.alert_gate import writers_of

    writers = writers_of({table_id for table_id, _ in scanner_indexes()})

    # Then the alert planner and the league scorer (its level-up and badge notices) are among them, the KPI aggregator not
    assert {'functions.alert_planner.app.lambda_handler', 'functions.league_scorer.app.lambda_handler'} <= writers
    assert 'functions.kpi_aggregator.app.lambda_handler' not in writers
