"""Count AWS API requests as botocore sends them (pynamodb and boto3 both go through here)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
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


ApiCall = Callable[[BaseClient, str, Any], Any]


@contextmanager
def intercept_api_calls(wrapper: Callable[[ApiCall, BaseClient, str, Any], Any]) -> Iterator[None]:
    """Route every AWS request botocore makes while inside through `wrapper(call, client, operation, params)`,
    where `call` sends it on. boto3 and pynamodb clients, whenever created, all pass through here."""
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def intercepted(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        return wrapper(original, self, operation_name, api_params)

    BaseClient._make_api_call = intercepted  # type: ignore[attr-defined]
    try:
        yield
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]


@contextmanager
def record_requests() -> Iterator[list[tuple[str, str, dict[str, Any], Any]]]:
    """Every request sent while inside: (service, operation, request params, response)."""
    sent: list[tuple[str, str, dict[str, Any], Any]] = []

    def recording(call: ApiCall, client: BaseClient, operation_name: str, api_params: Any) -> Any:
        response = call(client, operation_name, api_params)
        sent.append((client.meta.service_model.service_name, operation_name, dict(api_params), response))
        return response

    with intercept_api_calls(recording):
        yield sent


@contextmanager
def count_requests() -> Iterator[RequestCounter]:
    counter = RequestCounter()

    def counting(call: ApiCall, client: BaseClient, operation_name: str, api_params: Any) -> Any:
        counter.calls[(client.meta.service_model.service_name, operation_name)] += 1
        return call(client, operation_name, api_params)

    with intercept_api_calls(counting):
        yield counter
