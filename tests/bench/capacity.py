"""What AWS would bill for the requests the code really makes: DynamoDB read/write request units and SQS
billed requests, metered at botocore (boto3 and pynamodb clients alike) against the in-process moto backend.

DynamoDB. Every DynamoDB request gets `ReturnConsumedCapacity='TOTAL'` (where the operation accepts it)
and the `ConsumedCapacity` moto returns is recorded, but moto 5.2.5 does not size anything
(moto/dynamodb/responses.py): PutItem, Query, Scan and DeleteItem report a constant 1.0, GetItem 0.5,
UpdateItem 0.5 (always, even unasked), BatchGetItem one unit per requested key whatever its size or
consistency, BatchWriteItem 1.0 per table, TransactGetItems 2.0 per item, and TransactWriteItems an empty
list. So the units used here are SIZED, for every operation, from the actual items: the stored item as
moto holds it, read in the hook right before and after the call, with AWS's documented rules:

- item size (developerguide/CapacityUnitCalculations.html): attribute names + values; strings UTF-8
  bytes, binary raw bytes, numbers 1 byte per 2 significant digits + 1, bool/null 1 byte, list/map 3
  bytes + 1 byte per element + the elements, sets the sum of their elements;
- writes (developerguide/read-write-operations.html): 1 WRU per started 1 KB of the larger of the item
  before and after (PutItem, UpdateItem, DeleteItem, each item of BatchWriteItem), at least 1; 2x for
  each item of TransactWriteItems (a ConditionCheck is sized like a write of the checked item); a
  failed conditional write still consumes units; a global secondary index adds a write of its entry
  (projected attributes + keys + 100 bytes): one to put, one to delete, two when the index key changes,
  one when only projected attributes change (counted at 1x, also inside transactions);
- reads: 1 RRU per started 4 KB strongly consistent, half eventually consistent, 2x transactional;
  a missing item still costs the minimum; BatchGetItem sizes each key as its own GetItem; Query and
  Scan round the sum of the returned items once (approximate: items removed by a filter are not seen).

SQS. Each 64 KB chunk of a request's payload is billed as one request (sqs/pricing); a receive that
returns nothing is kept apart (Lambda's pollers make those whether or not events arrive).
"""

from __future__ import annotations

import base64
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.support.counting import ApiCall, intercept_api_calls

KB = 1024
READ_BLOCK = 4 * KB
SQS_CHUNK = 64 * KB
INDEX_ENTRY_OVERHEAD = 100
WRITE_OPS = {'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'}
READ_OPS = {'GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems'}
# Ops whose units moto reports as a constant (or not at all): all of them in moto 5.2.5, see above.
MOTO_UNSIZED = WRITE_OPS | READ_OPS


# --- item sizes --------------------------------------------------------------------------------------
def _raw_binary(value: Any) -> bytes:
    return bytes(value) if isinstance(value, (bytes, bytearray)) else base64.b64decode(value)


def _number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """Size of one attribute value in the wire format ({'S': ...}, {'M': {...}}, ...)."""
    (kind, inner), = value.items()
    if kind == 'S':
        return len(inner.encode())
    if kind == 'N':
        return _number_size(inner)
    if kind == 'B':
        return len(_raw_binary(inner))
    if kind in ('BOOL', 'NULL'):
        return 1
    if kind == 'SS':
        return sum(len(v.encode()) for v in inner)
    if kind == 'NS':
        return sum(_number_size(v) for v in inner)
    if kind == 'BS':
        return sum(len(_raw_binary(v)) for v in inner)
    if kind == 'L':
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == 'M':
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    raise ValueError(f'unknown attribute type {kind}')


def item_size(item: dict[str, dict[str, Any]] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, factor: float) -> float:
    return max(1, math.ceil(size / READ_BLOCK)) * factor


def _wire(value: Any) -> dict[str, Any]:
    """A moto DynamoType (possibly nested) as a wire-format attribute value."""
    kind, inner = value.type, value.value
    if kind == 'L':
        return {'L': [_wire(v) for v in inner]}
    if kind == 'M':
        return {'M': {k: _wire(v) for k, v in inner.items()}}
    return {kind: inner}


# --- the moto backend ------------------------------------------------------------------------------
class _Backend:
    def __init__(self, region: str) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self.backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]

    def table(self, name: str) -> Any:
        return self.backend.get_table(name)

    def key_of(self, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
        table = self.table(table_name)
        return {name: item[name] for name in (table.hash_key_attr, table.range_key_attr) if name is not None and name in item}

    def stored(self, table_name: str, key: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
        try:
            found = self.backend.get_item(table_name, key)
        except Exception:  # a key the table rejects: the call itself will fail
            return None
        return None if found is None else {name: _wire(value) for name, value in found.attrs.items()}


def _index_entry(index: Any, item: dict[str, Any]) -> dict[str, Any]:
    projection = index.projection or {}
    kind = projection.get('ProjectionType', 'ALL')
    if kind == 'ALL':
        return item
    wanted = set(index.table_key_attrs) | set(index.schema_key_attrs)
    if kind == 'INCLUDE':
        wanted |= set(projection.get('NonKeyAttributes', []))
    return {name: value for name, value in item.items() if name in wanted}


def index_write_units(table: Any, before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    units = 0
    for index in [*getattr(table, 'global_indexes', []), *getattr(table, 'indexes', [])]:
        keys = index.schema_key_attrs
        was = before is not None and all(k in before for k in keys)
        now = after is not None and all(k in after for k in keys)
        old = _index_entry(index, before) if was and before is not None else None
        new = _index_entry(index, after) if now and after is not None else None
        if old is not None and new is not None:
            if any(old[k] != new[k] for k in keys):
                units += write_units(item_size(old) + INDEX_ENTRY_OVERHEAD) + write_units(item_size(new) + INDEX_ENTRY_OVERHEAD)
            elif old != new:
                units += write_units(max(item_size(old), item_size(new)) + INDEX_ENTRY_OVERHEAD)
        elif new is not None:
            units += write_units(item_size(new) + INDEX_ENTRY_OVERHEAD)
        elif old is not None:
            units += write_units(item_size(old) + INDEX_ENTRY_OVERHEAD)
    return units


# --- the meter -------------------------------------------------------------------------------------
@dataclass
class OpUnits:
    calls: int = 0
    failed: int = 0
    items: int = 0
    read_units: float = 0.0
    write_units: float = 0.0
    moto_reported: float = 0.0


@dataclass
class _Target:
    table: str
    key: dict[str, Any]
    multiplier: int
    requested: dict[str, Any] | None  # the item a Put writes
    before: dict[str, Any] | None = None


def _moto_units(response: dict[str, Any]) -> float:
    consumed = response.get('ConsumedCapacity')
    if consumed is None:
        return float(response.get('ConsumedCapacityUnits', 0.0))
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(entry.get('CapacityUnits', 0.0) for entry in entries))


class BillingMeter:
    def __init__(self) -> None:
        self.dynamodb: dict[str, OpUnits] = defaultdict(OpUnits)
        self.sqs_requests: Counter[str] = Counter()  # billed requests (64 KB chunks) per operation
        self.sqs_empty_receives = 0
        self.sqs_messages_received = 0
        self.overhead_s = 0.0  # time spent sizing, to be taken out of measured handler durations
        self._backends: dict[str, _Backend] = {}
        self.table_write_units: Counter[str] = Counter()  # per table
        # Counterfactual: the same writes had these attributes not been stored (what a feature adds).
        self.excluded_attributes: frozenset[str] = frozenset()
        self.table_write_units_without: Counter[str] = Counter()
        # More counterfactuals, by name (e.g. {'alerts': frozenset({'alerts'})}): units per table without those attributes.
        self.counterfactuals: dict[str, frozenset[str]] = {}
        self.table_write_units_without_set: dict[str, Counter[str]] = defaultdict(Counter)

    @property
    def read_units(self) -> float:
        return sum(op.read_units for op in self.dynamodb.values())

    @property
    def write_units(self) -> float:
        return sum(op.write_units for op in self.dynamodb.values())

    @property
    def sqs_billed_requests(self) -> int:
        return sum(self.sqs_requests.values())

    def _backend(self, region: str) -> _Backend:
        if region not in self._backends:
            self._backends[region] = _Backend(region)
        return self._backends[region]

    # DynamoDB -------------------------------------------------------------------------------------
    def _write_targets(self, backend: _Backend, op: str, params: dict[str, Any]) -> list[_Target]:
        if op == 'PutItem':
            return [_Target(params['TableName'], backend.key_of(params['TableName'], params['Item']), 1, params['Item'])]
        if op in ('UpdateItem', 'DeleteItem'):
            return [_Target(params['TableName'], params['Key'], 1, None)]
        targets: list[_Target] = []
        if op == 'BatchWriteItem':
            for table, requests in params['RequestItems'].items():
                for request in requests:
                    if 'PutRequest' in request:
                        item = request['PutRequest']['Item']
                        targets.append(_Target(table, backend.key_of(table, item), 1, item))
                    else:
                        targets.append(_Target(table, request['DeleteRequest']['Key'], 1, None))
        if op == 'TransactWriteItems':
            for entry in params['TransactItems']:
                (kind, action), = entry.items()
                if kind == 'Put':
                    targets.append(_Target(action['TableName'], backend.key_of(action['TableName'], action['Item']), 2, action['Item']))
                else:
                    targets.append(_Target(action['TableName'], action['Key'], 2, None))
        return targets

    def _size_writes(self, backend: _Backend, record: OpUnits, targets: list[_Target], failed: bool) -> None:
        def without(item: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if item is None else {k: v for k, v in item.items() if k not in self.excluded_attributes}

        for target in targets:
            after = target.before if failed else backend.stored(target.table, target.key)
            largest = max(item_size(target.before), item_size(after), item_size(target.requested) if failed else 0)
            units = target.multiplier * write_units(largest)
            largest_without = max(item_size(without(target.before)), item_size(without(after)),
                                  item_size(without(target.requested)) if failed else 0)
            units_without = target.multiplier * write_units(largest_without)
            if not failed:
                index_units = index_write_units(backend.table(target.table), target.before, after)
                units += index_units
                units_without += index_units
            record.write_units += units
            self.table_write_units[target.table] += units
            self.table_write_units_without[target.table] += units_without
            for name, attributes in self.counterfactuals.items():
                def minus(item: dict[str, Any] | None, attributes: frozenset[str] = attributes) -> dict[str, Any] | None:
                    return None if item is None else {k: v for k, v in item.items() if k not in attributes}

                largest_minus = max(item_size(minus(target.before)), item_size(minus(after)),
                                    item_size(minus(target.requested)) if failed else 0)  # fmt: skip
                units_minus = target.multiplier * write_units(largest_minus)
                if not failed:
                    units_minus += index_write_units(backend.table(target.table), target.before, after)
                self.table_write_units_without_set[name][target.table] += units_minus
            record.items += 1

    def _size_reads(self, backend: _Backend, op: str, params: dict[str, Any], response: dict[str, Any], record: OpUnits) -> None:
        def factor(consistent: Any) -> float:
            return 1.0 if consistent else 0.5

        if op == 'GetItem':
            record.read_units += read_units(item_size(backend.stored(params['TableName'], params['Key'])), factor(params.get('ConsistentRead')))
            record.items += 1
        elif op == 'BatchGetItem':
            unprocessed = response.get('UnprocessedKeys') or {}
            for table, request in params['RequestItems'].items():
                skipped = unprocessed.get(table, {}).get('Keys', [])
                for key in request['Keys']:
                    if key in skipped:
                        continue
                    record.read_units += read_units(item_size(backend.stored(table, key)), factor(request.get('ConsistentRead')))
                    record.items += 1
        elif op == 'TransactGetItems':
            for entry in params['TransactItems']:
                get = entry['Get']
                record.read_units += 2 * read_units(item_size(backend.stored(get['TableName'], get['Key'])), 1.0)
                record.items += 1
        elif op in ('Query', 'Scan'):
            total = 0
            for item in response.get('Items', []):
                stored = None if params.get('IndexName') else backend.stored(params['TableName'], backend.key_of(params['TableName'], item))
                total += item_size(stored or item)
                record.items += 1
            record.read_units += read_units(total, factor(params.get('ConsistentRead')))

    def _dynamodb_call(self, original: Any, client: BaseClient, op: str, params: dict[str, Any]) -> Any:
        started = time.perf_counter()
        record = self.dynamodb[op]
        record.calls += 1
        shape = client.meta.service_model.operation_model(op).input_shape
        if shape is not None and 'ReturnConsumedCapacity' in shape.members and 'ReturnConsumedCapacity' not in params:
            params = dict(params, ReturnConsumedCapacity='TOTAL')
        backend = self._backend(client.meta.region_name)
        targets = self._write_targets(backend, op, params) if op in WRITE_OPS else []
        for target in targets:
            target.before = backend.stored(target.table, target.key)
        self.overhead_s += time.perf_counter() - started
        try:
            response = original(client, op, params)
        except ClientError:
            started = time.perf_counter()
            record.failed += 1
            self._size_writes(backend, record, targets, failed=True)  # a rejected read is not billed
            self.overhead_s += time.perf_counter() - started
            raise
        started = time.perf_counter()
        record.moto_reported += _moto_units(response)
        if op in WRITE_OPS:
            self._size_writes(backend, record, targets, failed=False)
        else:
            self._size_reads(backend, op, params, response, record)
        self.overhead_s += time.perf_counter() - started
        return response

    # SQS ------------------------------------------------------------------------------------------
    def _sqs_call(self, original: Any, client: BaseClient, op: str, params: dict[str, Any]) -> Any:
        response = original(client, op, params)
        started = time.perf_counter()
        if op == 'SendMessage':
            payload = len(params['MessageBody'].encode()) + _attributes_size(params.get('MessageAttributes'))
        elif op == 'SendMessageBatch':
            payload = sum(len(e['MessageBody'].encode()) + _attributes_size(e.get('MessageAttributes')) for e in params['Entries'])
        elif op == 'ReceiveMessage':
            messages = response.get('Messages', [])
            self.sqs_messages_received += len(messages)
            if not messages:
                self.sqs_empty_receives += 1
                self.overhead_s += time.perf_counter() - started
                return response
            payload = sum(len(m['Body'].encode()) + _attributes_size(m.get('MessageAttributes')) for m in messages)
        else:
            payload = 0
        self.sqs_requests[op] += max(1, math.ceil(payload / SQS_CHUNK))
        self.overhead_s += time.perf_counter() - started
        return response


def _attributes_size(attributes: dict[str, Any] | None) -> int:
    total = 0
    for name, attribute in (attributes or {}).items():
        total += len(name.encode()) + len(attribute.get('DataType', '').encode())
        if 'StringValue' in attribute:
            total += len(attribute['StringValue'].encode())
        if 'BinaryValue' in attribute:
            total += len(_raw_binary(attribute['BinaryValue']))
    return total


@contextmanager
def metered() -> Iterator[BillingMeter]:
    """Meter every DynamoDB and SQS request made while inside (wraps `BaseClient._make_api_call`, through
    which boto3 and pynamodb clients, whenever created, all pass)."""
    meter = BillingMeter()

    def metering(call: ApiCall, client: BaseClient, operation_name: str, api_params: Any) -> Any:
        service = client.meta.service_model.service_name
        if service == 'dynamodb' and operation_name in WRITE_OPS | READ_OPS:
            return meter._dynamodb_call(call, client, operation_name, api_params)
        if service == 'sqs':
            return meter._sqs_call(call, client, operation_name, api_params)
        return call(client, operation_name, api_params)

    with intercept_api_calls(metering):
        yield meter
