"""The HTTP side of source verification: a token bucket per helpdesk and a small JSON GET client over urllib.

A 429 honours the vendor's Retry-After (the bucket is paused until then and the event goes back to the queue);
5xx, timeouts and connection errors also send the event back to the queue. Nothing here retries in a loop: the
queue's redelivery is the retry, so a failing helpdesk never holds a Lambda for long and nothing is dropped.
Credentials never appear in errors or logs.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from shared.verify.base import ApiResponse, SourceApiUnavailable

TIMEOUT_S = 10.0
MAX_WAIT_S = 2.0  # longer than this for a token: the event goes back to the queue instead of holding the Lambda
_LOCAL_HOSTS = ('127.0.0.1', 'localhost')


class TokenBucket:
    """`rate` tokens a second up to `capacity`; `pause(seconds)` empties it until then (a vendor's Retry-After)."""

    def __init__(self, rate: float, capacity: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.paused_until = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, max_wait: float = MAX_WAIT_S) -> None:
        """Take one token, waiting up to `max_wait` seconds; else raise SourceApiUnavailable with the wait needed."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            wait = max(self.paused_until - now, (1 - self.tokens) / self.rate if self.tokens < 1 else 0.0)
            if wait > max_wait:
                raise SourceApiUnavailable(f'rate limit: next request allowed in {wait:.1f} s', retry_after=wait)
            self.tokens -= 1  # may go below 0: the wait below pays it back
        if wait > 0:
            self.sleep(wait)

    def pause(self, seconds: float) -> None:
        with self._lock:
            now = self.clock()
            self._refill(now)
            self.paused_until = max(self.paused_until, now + seconds)
            self.tokens = min(self.tokens, 0.0)


def check_base_url(base_url: str) -> str:
    """https only (http is accepted for 127.0.0.1 / localhost: the local fakes)."""
    parts = urlsplit(base_url)
    if parts.scheme == 'https' or (parts.scheme == 'http' and parts.hostname in _LOCAL_HOSTS):
        return base_url.rstrip('/')
    raise ValueError('base_url must be an https URL')


def retry_after(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == 'retry-after':
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


class UrllibClient:
    """GET `<base_url><path>` as JSON with the adapter's auth headers, paced by the bucket.

    `headers` is called for every request, so a refreshed token is used at once; on 401 `on_unauthorized` (if any)
    is called once and the request retried (an expired Salesforce token)."""

    def __init__(self, base_url: str, headers: Callable[[], dict[str, str]], bucket: TokenBucket, *,
                 on_unauthorized: Callable[[], None] | None = None, timeout: float = TIMEOUT_S) -> None:
        self.base_url = check_base_url(base_url)
        self.headers = headers
        self.bucket = bucket
        self.on_unauthorized = on_unauthorized
        self.timeout = timeout
        self.requests = 0

    def get(self, path: str, params: Mapping[str, str] | None = None) -> ApiResponse:
        url = self.base_url + path + (f'?{urlencode(params)}' if params else '')
        response = self._send(url)
        if response.status == 401 and self.on_unauthorized is not None:
            self.on_unauthorized()
            response = self._send(url)
        if response.status == 429:
            wait = retry_after(response.headers)
            self.bucket.pause(wait if wait is not None else 60.0)
            raise SourceApiUnavailable(f'{urlsplit(url).path}: 429 too many requests', retry_after=wait)
        if response.status in (401, 403):
            raise SourceApiUnavailable(f'{urlsplit(url).path}: {response.status}: the API refused the stored credentials')
        if response.status >= 500:
            wait = retry_after(response.headers)
            raise SourceApiUnavailable(f'{urlsplit(url).path}: {response.status} from the helpdesk', retry_after=wait)
        return response

    def _send(self, url: str) -> ApiResponse:
        self.bucket.take()
        self.requests += 1
        request = urllib.request.Request(url, headers={'Accept': 'application/json', **self.headers()}, method='GET')
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (https checked above)
                return ApiResponse(answer.status, _json(answer.read()), dict(answer.headers.items()))
        except urllib.error.HTTPError as error:
            return ApiResponse(error.code, _json(error.read()), dict(error.headers.items()))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, 'reason', error)
            raise SourceApiUnavailable(f'{urlsplit(url).path}: could not reach the helpdesk ({type(reason).__name__})') from None


def post_form(url: str, fields: Mapping[str, str], timeout: float = TIMEOUT_S) -> Any:
    """POST a form and read JSON (the OAuth token endpoint). Failures are SourceApiUnavailable without the fields."""
    request = urllib.request.Request(check_base_url(url), data=urlencode(fields).encode(), method='POST',
                                     headers={'Content-Type': 'application/x-www-form-urlencoded', 'Accept': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return _json(answer.read())
    except urllib.error.HTTPError as error:
        raise SourceApiUnavailable(f'{urlsplit(url).path}: {error.code}: the token request was refused') from None
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        raise SourceApiUnavailable(f'{urlsplit(url).path}: could not reach the token endpoint') from None


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
