"""The replay's clock gate for alerting: the simulated clock never runs ahead of the alert pipeline.

In AWS the alert scanner runs every minute on real time, the alert planner follows the tickets stream within seconds
and the sender empties the alerts queue within the minute. The replay fast-forwards a month, so it must keep that
order itself (as the alerts drill does, tests/bench/alerts.py: scan, then wait until the queue is empty, then move
the clock). Before the replay's clock passes a moment:

1. `settle()`: the processor has taken every event already sent (the events queue is empty) and every alerting reader
   of a stream (the alert planner) has applied every record, at once, without its batching window;
2. every scan the real one-minute schedule would have fired up to that moment and that finds something is fired, at
   its own whole minute (`next_due()`: the earliest due time in the indexes the scanner queries), and
3. after each scan the sender has sent, held or cancelled every alert it queued (the alerts queue is empty).

A scan that finds nothing does nothing, so skipping the empty minutes changes nothing but the replay's wall time (a
month is 44,640 one-minute scans). An alert is then found in the minute it falls due, or, when it was planned after
that minute (its ticket's event arrived late), in the first minute after the events that planned it: its lateness is
the system's, and the scanner's "found too long after its time" means a really late event, never a replay running ahead.

Generic on purpose: the gate reads queue depths and stream positions of the local stack, invokes the template's
scanner on its schedule, and finds the indexes to look at in the scanner's own IAM policy (`Query` on
`${Table.Arn}/index/<name>`), reading them in moto's in-process store.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infrastructure.local.template_resources import TABLE_ENV, template_document

if TYPE_CHECKING:
    from infrastructure.local.stack import LocalStack

ALERT_SCANNER = 'functions.alert_scanner.app.lambda_handler'
_INDEX_RESOURCE = re.compile(r'^\$\{(\w+)\.Arn\}/index/([\w.-]+)$')


def scanner_indexes(handler: str = ALERT_SCANNER) -> list[tuple[str, str]]:
    """(table logical id, index name) of every index the function may Query, from its policies in the template."""
    found: list[tuple[str, str]] = []
    for resource in template_document()['Resources'].values():
        properties = resource.get('Properties', {})
        if resource.get('Type') != 'AWS::Serverless::Function' or properties.get('Handler') != handler:
            continue
        for policy in properties.get('Policies') or []:
            for statement in policy.get('Statement', []) if isinstance(policy, dict) else []:
                actions = statement.get('Action', [])
                if 'dynamodb:Query' not in (actions if isinstance(actions, list) else [actions]):
                    continue
                resources = statement.get('Resource', [])
                for entry in resources if isinstance(resources, list) else [resources]:
                    text = entry.get('Fn::Sub') if isinstance(entry, dict) else None
                    match = _INDEX_RESOURCE.match(text) if isinstance(text, str) else None
                    if match and match.group(1) in TABLE_ENV:
                        found.append((match.group(1), match.group(2)))
    return found


_WRITES = frozenset({'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'})


def writers_of(tables: set[str]) -> set[str]:
    """The handlers whose policies in the template may write an item of one of `tables` (logical ids)."""
    found: set[str] = set()
    for resource in template_document()['Resources'].values():
        properties = resource.get('Properties', {})
        if resource.get('Type') != 'AWS::Serverless::Function':
            continue
        for policy in properties.get('Policies') or []:
            for statement in policy.get('Statement', []) if isinstance(policy, dict) else []:
                actions = statement.get('Action', [])
                if not _WRITES & set(actions if isinstance(actions, list) else [actions]):
                    continue
                resources = statement.get('Resource', [])
                for entry in resources if isinstance(resources, list) else [resources]:
                    target = entry.get('Fn::GetAtt') if isinstance(entry, dict) else None
                    if isinstance(target, list) and target[0] in tables:
                        found.add(properties['Handler'])
    return found


def earliest_in_index(table: Any, index_name: str) -> Any:
    """The smallest range-key value among the items in a table's index (moto's in-process table), or None. With the
    local stack's log of changed keys (moto_patches, patch 9) only the items written since the last call are read."""
    from infrastructure.local.moto_patches import _DYNAMODB_LOCK

    with _DYNAMODB_LOCK:  # the local stack's DynamoDB writes hold it (moto_patches, patch 3)
        return _earliest(table, index_name)


def _earliest(table: Any, index_name: str) -> Any:
    from infrastructure.local.moto_patches import changes

    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None
    hash_name = next(key['AttributeName'] for key in index.schema if key['KeyType'] == 'HASH')
    range_name = next((key['AttributeName'] for key in index.schema if key['KeyType'] == 'RANGE'), None)
    if range_name is None:
        return None

    def value(item: Any) -> Any:
        attrs = item.attrs if item is not None else {}
        found = attrs.get(range_name) if hash_name in attrs else None
        return found.cast_value if found is not None else None

    log = changes(table)
    kept: dict[str, Any] = table.__dict__.setdefault('_pitcrew_index_values', {})
    state = kept.get(index_name)
    if state is None or log is None:  # the first look (or no log): every item
        values = {}
        for group in list(table.items.values()):
            for item in list(group.values()) if table.range_key_attr else [group]:
                if (found := value(item)) is not None:
                    values[(item.hash_key, item.range_key)] = found
        state = kept[index_name] = [values, len(log) if log is not None else 0]
    else:
        values, position = state
        end = len(log)
        for hash_value, range_value in log[position:end]:
            found = value(table.get_item(hash_value, range_value) if range_value is not None or not table.range_key_attr else None)
            if found is None:
                values.pop((hash_value, range_value), None)
            else:
                values[(hash_value, range_value)] = found
        state[1] = end
    return min(state[0].values(), default=None)


def parse_moment(value: Any) -> datetime | None:
    """An index's range key as a moment (ISO-8601 text, or epoch seconds); None if it is neither."""
    try:
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace('Z', '+00:00'))
        from datetime import UTC

        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError):
        return None


class LocalAlertGate:
    """The gate over a started LocalStack with its alerting functions (see the module's docstring)."""

    def __init__(self, stack: LocalStack, name: str, scanner: Callable[[datetime], Any], *, settle_timeout_s: float = 300) -> None:
        self.stack = stack
        self.name = name
        self.scanner = scanner
        self.settle_timeout_s = settle_timeout_s
        self.indexes = scanner_indexes()
        # the stream readers that may write where the scanner reads (the alert planner; the league scorer's notices)
        writers = writers_of({table_id for table_id, _ in self.indexes})
        self.readers = [f[0] for f in stack._stream_functions if f[0] in writers]
        self.waited_s = 0.0  # wall time spent waiting for the pipeline (the gate's cost, in the summary)

    def _queue_depth(self, logical_id: str) -> int:
        from moto.sqs.models import sqs_backends

        from infrastructure.local.stack import REGION

        url = self.stack.queue_urls[logical_id]
        return len(sqs_backends['123456789012'][REGION].queues[url.rsplit('/', 1)[-1]]._messages)

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        began = time.monotonic()
        deadline = began + self.settle_timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f'the alert pipeline did not settle within {self.settle_timeout_s:.0f} s: {what}')
            time.sleep(0.002)
        self.waited_s += time.monotonic() - began

    def settle(self) -> None:
        """Every event sent so far is processed and every stream reader that writes alerts has applied every record
        (again until none had anything left: one reader's writes can be another's stream)."""
        while True:
            self._wait(lambda: self._queue_depth('EventsQueue') == 0, 'the events queue is not empty')
            behind = [reader for reader in self.readers if self.stack.stream_behind(reader)]
            if not behind:
                return
            for reader in behind:
                if not self.stack.drain_stream(reader, timeout_s=self.settle_timeout_s):
                    raise TimeoutError(f'{reader} did not apply its stream within {self.settle_timeout_s:.0f} s')

    def next_due(self) -> datetime | None:
        """The earliest due time waiting in the indexes the scanner reads (None: nothing waits)."""
        from moto.dynamodb.models import dynamodb_backends

        from infrastructure.local.stack import REGION

        backend = dynamodb_backends['123456789012'][REGION]
        moments = []
        for table_id, index_name in self.indexes:
            table = backend.get_table(os.environ[TABLE_ENV[table_id][0]])
            moment = parse_moment(earliest_in_index(table, index_name))
            if moment is not None:
                moments.append(moment)
        return min(moments, default=None)

    def scan(self, moment: datetime) -> Any:
        """Fire the scanner at `moment`, then wait until the sender has finished every message it queued."""
        outcome = self.scanner(moment)
        self._wait(lambda: self._queue_depth('AlertsQueue') == 0, 'the alerts queue is not empty')
        return outcome

