"""Local-stack-only fixes for two costs of moto that grow with the data (a month of events makes them quadratic).

1. DynamoDB TransactWriteItems.

moto 5.2.x snapshots every table a transaction touches with `copy.deepcopy(table)` before applying
it, so each transaction costs time proportional to the size of the tables (measured here: 16 ms per
transaction at 100 items, 161 ms at 3,000). A month of events makes that quadratic.

This patch keeps moto's semantics (all-or-nothing, conditions evaluated per action, cancellation
reasons in order, ALL_OLD items on condition failure, one action per item) but snapshots only the
items the transaction touches, and restores exactly those on rollback. It is applied only by the
local stack and the tests, only to the moto version it was written against; any other version keeps
moto's own implementation (slow but correct).

2. SQS ReceiveMessage. For every message it looks at, moto 5.2.x checks the retention period by building
the queue's full attribute dictionary, which counts every message in the queue: a receive is O(n^2) in the
queue's depth (measured here: 30 ms per receive at 200 messages, 545 ms at 3,000). The patch reads the
queue's retention period directly; the rule (drop a message older than MessageRetentionPeriod) is unchanged.

3. Concurrency. DynamoDB applies each request atomically; moto's backend is plain Python, so two threads
updating one item (two `ADD available :n` on a balance) can lose an update, and a transaction's rollback can
undo another thread's write. The local stack runs handlers on several threads, so every DynamoDB backend
operation runs under one lock. SQS likewise: moto's DeleteMessage rebuilds the queue's message list without
holding the queue's lock, so a message sent (or deleted) by another thread meanwhile can be lost (or come back);
the patch takes the queue's own lock, the one SendMessage already holds. Two receivers at once could also
crash ReceiveMessage while it listed the in-flight message groups; it now lists a copy.

4. DynamoDB Query on a table (not an index). moto 5.2.x walks and sorts every item of the table to find one
partition, so each Query costs time proportional to the whole table (the weekly audit queries each
employee's ledger partition). The patch hands moto's query the one partition it asked for; conditions,
order, limits and pagination are still moto's own. On an index, the partition's items come from a map of the
table's items by the index's hash key, kept up to date from the log of changed keys (patch 9).

6. DynamoDB responses. moto 5.2.x renders every DynamoDB answer through its generic, model-driven serializer, which
visits each attribute value of each item through botocore's shape model (about a millisecond per item: a Query of 60
ledger entries cost 60 ms, where DynamoDB takes a few). DynamoDB speaks JSON and moto's result is already the wire
document (attribute values as {"S": ...}), so the data-plane answers (`_FAST_DYNAMODB_ACTIONS`) are written with
json.dumps; any result json.dumps cannot write (bytes, dates) still goes through moto's serializer, as do errors and
every control-plane call.

7. DynamoDB expressions. moto 5.2.x parses an UpdateItem's UpdateExpression twice per request (the responses layer,
then the backend) and lexes every ConditionExpression character by character with regular expressions: a tenth of the
replay's CPU went to parsing the same few dozen expression strings again. Both depend on the string alone, so the patch
keeps each result per string: the update expression's tree (moto's validator works on a deep copy of it, never on the
tree itself) and the condition's tokens (immutable tuples; moto parses a fresh copy of the list). Names and values are
bound per request as before, so every condition and update is evaluated exactly as moto does.

8. Every request. To dispatch a request, moto 5.2.x lists the methods of the service's response class with
`inspect.getmembers` (about 250 microseconds for DynamoDB's, on every call of every service: a quarter of an empty
Query's cost). The methods of a class do not change while the process runs (the patches here replace methods under
their own names), so the list is kept per class.

9. A log of changed keys per table (`changes(table)`), for the replay's clock gate (alert_gate.py): it asks for the
earliest due time in the scanner's index before every step of the clock, and walking a month's alerts table for it
took about 80 ms. Every write of an item (PutItem, UpdateItem, DeleteItem, and so the batch and transaction writes
made of them) appends the item's key; a reader keeps its own position in the log and re-reads only those items.

5. Server mode only (`apply_server`): to route each request, moto's server lists its own package directory
(about 150 `isdir` calls) under a global lock. The list of moto's modules cannot change while it runs, so
it is computed once.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

PINNED_MOTO_VERSIONS = ('5.2.5',)
_applied = False
_server_applied = False


def apply() -> bool:
    """Install the patch if the installed moto is a pinned version. Returns whether it is active."""
    global _applied
    if _applied:
        return True
    import moto
    from moto.dynamodb.models import DynamoDBBackend
    from moto.sqs.models import Queue, SQSBackend

    if moto.__version__ not in PINNED_MOTO_VERSIONS:
        return False
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    for name in _DYNAMODB_OPERATIONS:
        setattr(DynamoDBBackend, name, _serialized(getattr(DynamoDBBackend, name)))
    _serialize_dynamodb_responses()
    _write_dynamodb_json_directly()
    Queue.delete_message = _under_queue_lock(Queue.delete_message)  # type: ignore[method-assign]
    Queue.pending_message_groups = property(_pending_message_groups)  # type: ignore[method-assign,assignment]
    Queue.attributes = property(_LazyQueueAttributes)  # type: ignore[method-assign,assignment]
    _patch_partition_queries()
    _cache_expression_parsing()
    _cache_method_names()
    _log_item_changes()
    SQSBackend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    _applied = True
    return True


_DYNAMODB_LOCK = threading.RLock()
# The batch operations are implemented in moto's responses layer on top of these; each item is then atomic,
# as in DynamoDB.
_DYNAMODB_OPERATIONS = ('get_item', 'put_item', 'update_item', 'delete_item', 'query', 'scan', 'transact_write_items')


def _serialize_dynamodb_responses() -> None:
    """moto's responses layer reads the live item a backend call returned after the call has let go of the lock
    (`update_item` deep-copies the item before updating and renders it after; `get_item` renders it): a concurrent
    UpdateItem adding attributes then fails with 'dictionary changed size during iteration' (seen in the alerts drill,
    where Twilio's callbacks and the sender update the same alert). DynamoDB serialises writes per item; here every
    DynamoDB request, its rendering included, holds the same reentrant lock as the backend operations."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, '_pitcrew_serialized', False):
        return
    serialized = _serialized(DynamoHandler.call_action)
    serialized._pitcrew_serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = serialized  # type: ignore[method-assign]


_FAST_DYNAMODB_ACTIONS = frozenset({'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem',
                                    'BatchWriteItem', 'TransactWriteItems', 'TransactGetItems'})  # fmt: skip


def _write_dynamodb_json_directly() -> None:
    import base64

    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    original = DynamoHandler.serialized

    def binary(value: Any) -> str:
        if isinstance(value, bytes):  # B and BS values: base64 on the wire, as the serializer writes them
            return base64.b64encode(value).decode()
        raise TypeError(type(value).__name__)

    if getattr(original, '_pitcrew_json', False):
        return

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        plain = type(action_result) in (ActionResult, DynamoResult) and isinstance(result, dict)
        if plain and self._get_action() in _FAST_DYNAMODB_ACTIONS:
            try:
                body = json.dumps(result, separators=(',', ':'), default=binary)
            except (TypeError, ValueError):
                return original(self, action_result)
            headers = {'Content-Type': 'application/x-amz-json-1.0', **self.response_headers}
            return 200, headers, body
        return original(self, action_result)

    serialized._pitcrew_json = True  # type: ignore[attr-defined]
    DynamoHandler.serialized = serialized  # type: ignore[method-assign]


def _serialized(operation: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(operation)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_LOCK:
            return operation(*args, **kwargs)

    return locked


def changes(table: Any) -> list[tuple[Any, Any]] | None:
    """The (hash, range) keys written in `table` so far, in order (None without the patch)."""
    log: list[tuple[Any, Any]] | None = table.__dict__.get('_pitcrew_changes')
    if log is None and _applied:
        log = table.__dict__.setdefault('_pitcrew_changes', [])
    return log


def _log_item_changes() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(Table.put_item, '_pitcrew_logged', False):
        return
    put, delete, update = Table.put_item, Table.delete_item, DynamoDBBackend.update_item

    def log(table: Any, hash_value: Any, range_value: Any) -> None:
        table.__dict__.setdefault('_pitcrew_changes', []).append((hash_value, range_value))

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put(self, *args, **kwargs)
        log(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return delete(self, hash_key, range_key)
        finally:
            log(self, hash_key, range_key)

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return update(self, table_name, key, *args, **kwargs)
        finally:
            table = self.get_table(table_name)
            log(table, *self.get_keys_value(table, key))

    put_item._pitcrew_logged = True  # type: ignore[attr-defined]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]


def _cache_method_names() -> None:
    from moto.core import responses

    if getattr(responses.method_names_from_class, '_pitcrew_cached', False):
        return
    listed = responses.method_names_from_class

    @functools.cache
    def names(clazz: type) -> tuple[str, ...]:
        return tuple(listed(clazz))

    def method_names_from_class(clazz: Any) -> list[str]:
        return list(names(clazz))

    method_names_from_class._pitcrew_cached = True  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names_from_class


def _cache_expression_parsing() -> None:
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    if getattr(UpdateExpressionParser.make, '_pitcrew_cached', False):
        return
    make = UpdateExpressionParser.make.__func__

    @functools.lru_cache(maxsize=4096)
    def parsed(expression: str) -> Any:
        return make(UpdateExpressionParser, expression)

    def cached_make(cls: Any, expression: str) -> Any:
        return parsed(expression) if cls is UpdateExpressionParser else make(cls, expression)

    cached_make._pitcrew_cached = True  # type: ignore[attr-defined]
    UpdateExpressionParser.make = classmethod(cached_make)
    lex = ConditionExpressionParser._lex_condition_expression

    @functools.lru_cache(maxsize=4096)
    def tokens(expression: str) -> tuple[Any, ...]:
        return tuple(lex(ConditionExpressionParser(expression, None, None)))

    def cached_lex(self: Any) -> Any:
        return deque(tokens(self.condition_expression))

    ConditionExpressionParser._lex_condition_expression = cached_lex  # type: ignore[method-assign]


def _index_partition(table: Any, name: str) -> dict[Any, dict[tuple[Any, Any], Any]]:
    """The table's items by their value of `name` (an index's hash key), kept up to date from the log of changed keys
    (patch 9): a query of an index partition reads that partition, not the table (the hold release's Query of the
    tickets table's `holds` index every 15 minutes walked a month's tickets). Without the log: built anew each time."""
    log = changes(table)
    kept: dict[str, Any] = table.__dict__.setdefault('_pitcrew_partitions', {})
    state = kept.get(name)
    if state is None or log is None:
        by_value: dict[Any, dict[tuple[Any, Any], Any]] = {}
        of_key: dict[tuple[Any, Any], Any] = {}
        for group in table.items.values():
            for item in group.values() if table.range_key_attr else [group]:
                found = item.attrs.get(name)
                if found is not None:
                    by_value.setdefault(found, {})[(item.hash_key, item.range_key)] = item
                    of_key[(item.hash_key, item.range_key)] = found
        state = kept[name] = [by_value, of_key, len(log) if log is not None else 0]
        return by_value
    by_value, of_key, position = state
    end = len(log)
    for key in log[position:end]:
        hash_value, range_value = key
        previous = of_key.pop(key, None)
        if previous is not None:
            bucket = by_value.get(previous, {})
            bucket.pop(key, None)
            if not bucket:
                by_value.pop(previous, None)
        item = table.get_item(hash_value, range_value) if (range_value is not None or not table.range_key_attr) else None
        found = item.attrs.get(name) if item is not None else None
        if found is not None:
            by_value.setdefault(found, {})[key] = item
            of_key[key] = found
    state[2] = end
    return by_value


def _patch_partition_queries() -> None:
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get('index_name')
        if index_name is not None and hash_key is not None:
            # A query on an index reads one index partition in DynamoDB; moto sorts the whole table first. Hand it
            # only the items of that partition (moto filters and sorts them as before).
            from moto.dynamodb.comparisons import get_comparison_func

            index = next((i for i in self.all_indexes() if i.name == index_name), None)
            hash_keys = [key['AttributeName'] for key in (index.schema if index else []) if key['KeyType'] == 'HASH']
            range_keys = [key['AttributeName'] for key in (index.schema if index else []) if key['KeyType'] == 'RANGE']
            comparison = args[0] if args else kwargs.get('range_comparison')
            objects = args[1] if len(args) > 1 else kwargs.get('range_objs') or []
            if len(hash_keys) == 1:
                # the key condition on the index's range key too (moto applies it again on what is left)
                within = None
                if comparison and len(range_keys) == 1 and get_comparison_func(comparison) is not None:
                    within = (range_keys[0], get_comparison_func(comparison), [obj.cast_value for obj in objects])
                self._pitcrew_index_partition = (hash_keys[0], hash_key, within)
                try:
                    return original_query(self, hash_key, *args, **kwargs)
                finally:
                    self._pitcrew_index_partition = None
        if index_name is not None or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        self._pitcrew_partition = hash_key  # read by all_items below; queries run under the DynamoDB lock
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            self._pitcrew_partition = None

    def all_items(self: Any) -> Any:
        index_partition = getattr(self, '_pitcrew_index_partition', None)
        if index_partition is not None:
            name, value, within = index_partition
            mine = list(_index_partition(self, name).get(value, {}).values())
            if within is None:
                return mine
            range_name, compare, bounds = within
            return [item for item in mine if (key := item.attrs.get(range_name)) is not None and compare(key.cast_value, *bounds)]
        partition = getattr(self, '_pitcrew_partition', None)
        if partition is None:
            return original_all_items(self)
        found = self.items.get(partition)
        if found is None:
            return []
        items = list(found.values()) if self.range_key_attr else [found]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


class _LazyQueueAttributes(Mapping[str, Any]):
    """moto's Queue.attributes, computed per key on access. SendMessage reads one attribute
    (ContentBasedDeduplication) through the property, which computed them all, counting every message on the
    queue three times: each send was O(queue length)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def _names(self) -> list[str]:
        queue = self._queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        if queue.policy:
            names.append('Policy')
        if queue.redrive_policy:
            names.append('RedrivePolicy')
        return names

    def __getitem__(self, name: str) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._names():
            raise KeyError(name)
        if name == 'Policy':
            return self._queue.policy
        if name == 'RedrivePolicy':
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _pending_message_groups(self: Any) -> set[str]:
    # moto iterates the live set of in-flight messages while another receiver changes it ("Set changed
    # size during iteration"); list() copies it in one step under the interpreter lock.
    return {message.group_id for message in list(self._pending_messages) if message.group_id is not None}


def _under_queue_lock(operation: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(operation)
    def locked(queue: Any, *args: Any, **kwargs: Any) -> Any:
        with queue._messages_lock:
            return operation(queue, *args, **kwargs)

    return locked


def apply_server() -> bool:
    """`apply()` plus the server-mode routing cache, for the local AWS process."""
    global _server_applied
    if not apply():
        return False
    if not _server_applied:
        from moto import backends

        modules = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = lambda: modules
        _server_applied = True
    return True


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(transact_items) > 100:
        raise TooManyTransactionsException()

    snapshots: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, deep copy of the item or None)

    def snapshot(table: Any, key: dict[str, Any]) -> None:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        current = table.get_item(hash_value, range_value)
        snapshots.append((table, hash_value, range_value, copy.deepcopy(current)))

    def rollback() -> None:
        for table, hash_value, range_value, original in reversed(snapshots):
            if range_value is not None:
                if original is None:
                    table.items[hash_value].pop(range_value, None)
                    if not table.items[hash_value]:
                        table.items.pop(hash_value, None)
                else:
                    table.items[hash_value][range_value] = original
            elif original is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = original

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {'ConditionCheck', 'Put', 'Delete', 'Update'}:
                raise ValueError('Unsupported transaction operation')
            table_name = op['TableName']
            condition_expression = op.get('ConditionExpression')
            names = op.get('ExpressionAttributeNames')
            values = op.get('ExpressionAttributeValues')
            return_old = op.get('ReturnValuesOnConditionCheckFailure')
            table = self.get_table(table_name)
            if op_type == 'Put':
                attrs = op['Item']
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op['Key']
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if return_old == 'ALL_OLD' and current:
                        original_item = current.to_json()['Attributes']
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != 'ConditionCheck':
                snapshot(table, key)
            if op_type == 'Put':
                self.put_item(
                    table_name,
                    op['Item'],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == 'Delete':
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == 'Update':
                self.update_item(
                    table_name,
                    key,
                    update_expression=op['UpdateExpression'],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(('ConditionalCheckFailed', str(e.message), original_item))
        except Exception as e:  # noqa: BLE001 - mirrors moto: other failures become cancellation reasons
            errors.append((type(e).__name__, str(e), original_item))

    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


def _is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    from moto.core.utils import unix_time

    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())
