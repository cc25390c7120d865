"""Count AWS API requests as botocore sends them (pynamodb and boto3 both go through here)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

DDB_WRITES = {'PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem'}
DDB_READS = {'GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems'}


class RequestCounter:
    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()

    def dynamodb(self, operations: set[str]) -> int:
        return sum(n for (service, op), n in self.calls.items() if service == 'dynamodb' and op in operations)

    @property
    def ddb_writes(self) -> int:
        return self.dynamodb(DDB_WRITES)

    @property
    def ddb_reads(self) -> int:
        return self.dynamodb(DDB_READS)

    def reset(self) -> None:
        self.calls.clear()


@contextmanager
def count_requests() -> Iterator[RequestCounter]:
    counter = RequestCounter()
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def counting(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        counter.calls[(self.meta.service_model.service_name, operation_name)] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting  # type: ignore[attr-defined]
    try:
        yield counter
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]
