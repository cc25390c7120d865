"""Connection settings shared by every pynamodb model (region, and a local endpoint when one is set)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from shared.config import get_settings


def meta_for(table_name: str) -> type:
    """A pynamodb `Meta` class bound to a table name read from the environment at run time."""
    settings = get_settings()
    attrs: dict[str, Any] = {'table_name': table_name, 'region': settings.AWS_REGION}
    if settings.AWS_ENDPOINT_URL:
        attrs['host'] = settings.AWS_ENDPOINT_URL
    return type('Meta', (), attrs)


def connection_kwargs() -> dict[str, Any]:
    settings = get_settings()
    kwargs: dict[str, Any] = {'region': settings.AWS_REGION}
    if settings.AWS_ENDPOINT_URL:
        kwargs['host'] = settings.AWS_ENDPOINT_URL
    return kwargs


_CLIENTS: dict[tuple[str, str | None], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def dynamodb_client() -> Any:
    """The container's low-level DynamoDB client, for the stores whose expressions pynamodb does not model. One per region
    and endpoint, made on first use and shared (botocore clients are thread-safe; making one costs tens of milliseconds,
    which a store built per request, as the people-facing API's are, paid on every request)."""
    settings = get_settings()
    key = (settings.AWS_REGION, settings.AWS_ENDPOINT_URL)
    client = _CLIENTS.get(key)
    if client is None:
        with _CLIENTS_LOCK:  # creating clients from boto3's default session is not thread-safe
            client = _CLIENTS.get(key)
            if client is None:
                import boto3

                client = _CLIENTS[key] = boto3.client('dynamodb', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
    return client


class LowLevelClient:
    """Mixin for the stores that talk to DynamoDB through the low-level client: `client`, created on first use (so a
    cold import stays cheap) unless the store was given one (tests inject theirs as `_client`)."""

    _client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = dynamodb_client()
        return self._client


def conditional_check_failed(exc: Exception) -> bool:
    """Whether a low-level client error is DynamoDB's refusal of a condition (ConditionalCheckFailedException)."""
    response = getattr(exc, 'response', None) or {}
    return bool(response.get('Error', {}).get('Code') == 'ConditionalCheckFailedException')


def conditionally(write: Callable[..., Any], **request: Any) -> bool:
    """Make a conditional write (`client.put_item`, `client.update_item`): True when written, False when DynamoDB
    refused its condition; any other error is raised."""
    try:
        write(**request)
    except Exception as exc:
        if conditional_check_failed(exc):
            return False
        raise
    return True


BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
BATCH_GET_ATTEMPTS = 8


def batch_get(client: Any, keys: Sequence[tuple[str, dict[str, Any]]], options: Mapping[str, Mapping[str, Any]] | None = None,
              attempts: int = BATCH_GET_ATTEMPTS) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, item) for every key found, 100 keys a request across tables; `options` per table (ConsistentRead,
    ProjectionExpression, ExpressionAttributeNames). Unprocessed keys are asked again with jittered backoff; after
    `attempts` retries it raises rather than report keys as absent."""
    for start in range(0, len(keys), BATCH_GET_KEYS):
        request: dict[str, Any] = {}
        for table, key in keys[start : start + BATCH_GET_KEYS]:
            request.setdefault(table, {'Keys': [], **(options or {}).get(table, {})})['Keys'].append(key)
        attempt = 0
        while request:
            response = client.batch_get_item(RequestItems=request)
            for table, items in response.get('Responses', {}).items():
                for item in items:
                    yield table, item
            request = response.get('UnprocessedKeys') or {}
            if request:
                if attempt >= attempts:
                    raise RuntimeError(f'BatchGetItem left keys unprocessed after {attempts} retries')
                time.sleep(min(0.05 * 2**attempt, 1.0) * random.random())  # noqa: S311 - jitter
                attempt += 1
