"""Wiring of source verification for the ticket processor: settings from the service configuration, credentials
from SSM Parameter Store (SecureString JSON at `<SOURCE_API_PREFIX>/<source>`, cached per container), one HTTP
client and token bucket per helpdesk, and the pure verdict of `check.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.events import TicketEvent
from shared.verify import VERIFIER_NAMES, get_api_adapter
from shared.verify.base import ApiCredentials, SourceApiUnavailable
from shared.verify.check import Verdict, judge, stale
from shared.verify.http import TokenBucket, UrllibClient, post_form
from shared.verify.settings import SourceSettings


class CredentialsProvider(Protocol):
    def get(self, source: str) -> ApiCredentials: ...


class SsmCredentialsProvider:
    """`<SOURCE_API_PREFIX>/<source>` = {"base_url": ..., "api_key": ..., ...} (SecureString), via Powertools' cache."""

    def __init__(self, prefix: str | None = None, max_age_s: int | None = None) -> None:
        from shared.config import get_settings

        settings = get_settings()
        self.prefix = (prefix or settings.SOURCE_API_PREFIX).rstrip('/')
        self.max_age_s = settings.SECRETS_MAX_AGE_S if max_age_s is None else max_age_s

    def get(self, source: str) -> ApiCredentials:
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
        from pydantic import ValidationError

        name = f'{self.prefix}/{source}'
        try:
            value: Any = parameters.get_parameter(name, decrypt=True, transform='json', max_age=self.max_age_s)
            return ApiCredentials.model_validate(value)
        except GetParameterError as exc:
            missing = 'ParameterNotFound' in str(exc)
            raise SourceApiUnavailable(f'{name}: ' + ('no such parameter' if missing else 'could not be read')) from None
        except TransformParameterError:
            raise SourceApiUnavailable(f'{name}: not valid JSON') from None
        except ValidationError as exc:  # field names only, never values
            fields = ', '.join('.'.join(str(p) for p in error['loc']) for error in exc.errors())
            raise SourceApiUnavailable(f'{name}: invalid fields {fields}') from None


class EventVerifier(Protocol):
    def applies(self, source: str) -> bool: ...

    def verify(self, event: TicketEvent, now: datetime, *, check_freshness: bool = True) -> Verdict: ...


@dataclass
class SourceVerification:
    credentials: CredentialsProvider
    settings: Callable[[], Mapping[str, SourceSettings]]
    post: Callable[[str, Mapping[str, str]], Any] = post_form
    _clients: dict[str, tuple[ApiCredentials, UrllibClient]] = field(default_factory=dict)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _tokens: dict[str, str | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def applies(self, source: str) -> bool:
        settings = self.settings().get(source)
        return settings is not None and (settings.verify != 'off' or settings.max_event_age_s is not None)

    def verify(self, event: TicketEvent, now: datetime, *, check_freshness: bool = True) -> Verdict:
        """`check_freshness=False` only for an admin's replay from the quarantine (the source is still asked)."""
        source = event.source.value
        settings = self.settings().get(source) or SourceSettings()
        too_old = stale(event, settings, now) if check_freshness else None
        if too_old is not None:
            return too_old
        if settings.verify == 'off' or source not in VERIFIER_NAMES:
            return Verdict(event)
        adapter = get_api_adapter(source)
        return judge(event, adapter.fetch(event.external_id, self.client(source, settings)))

    def requests(self, source: str) -> int:
        """API requests sent for a source by this container (for the bench and the logs)."""
        entry = self._clients.get(source)
        return entry[1].requests if entry else 0

    def client(self, source: str, settings: SourceSettings) -> UrllibClient:
        credentials = self.credentials.get(source)
        with self._lock:
            cached = self._clients.get(source)
            if cached is not None and cached[0] == credentials:
                return cached[1]
            adapter = get_api_adapter(source)
            rate = settings.requests_per_minute / 60 if settings.requests_per_minute else adapter.requests_per_second
            bucket = self._buckets.get(source)
            if bucket is None or bucket.rate != rate:
                bucket = self._buckets[source] = TokenBucket(rate, settings.burst or adapter.burst)

            def headers() -> dict[str, str]:
                if source not in self._tokens:
                    self._tokens[source] = adapter.fetch_token(credentials, self.post)
                return adapter.auth_headers(credentials, self._tokens[source])

            def unauthorized() -> None:
                self._tokens.pop(source, None)  # mint a new token on the next request

            try:
                client = UrllibClient(credentials.base_url, headers, bucket,
                                      on_unauthorized=unauthorized if credentials.client_id else None)
            except ValueError as exc:
                raise SourceApiUnavailable(f'{source}: {exc}') from None
            self._tokens.pop(source, None)
            self._clients[source] = (credentials, client)
            return client
