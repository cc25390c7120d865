"""The port: what the ticket processor asks a helpdesk's REST API before it awards points, and what it gets back.

One adapter module per helpdesk (`freshdesk.py`, `gorgias.py`, `salesforce.py`), each exposing a module-level
`adapter` that fetches one ticket through an `ApiClient` and returns the helpdesk's own view of it as a
`HelpdeskTicket`. Adapters are pure request/response translation: no AWS, no credentials lookup, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Channel, Priority, Status, UtcDatetime


class HelpdeskTicket(BaseModel):
    """A ticket as the helpdesk's API reports it now: the truth a webhook's claim is checked against."""

    model_config = ConfigDict(frozen=True)

    external_id: str = Field(min_length=1, max_length=256)
    status: Status | None = None
    # Every key the helpdesk knows the assignee by (id and e-mail, lower case): a webhook may name either.
    assignee_keys: tuple[str, ...] = ()
    created_at: UtcDatetime | None = None
    first_response_at: UtcDatetime | None = None  # the first reply an agent sent to the customer
    resolved_at: UtcDatetime | None = None
    priority: Priority | None = None
    channel: Channel | None = None


class ApiCredentials(BaseModel):
    """One SecureString JSON per helpdesk (`<SOURCE_API_PREFIX>/<source>`). Which keys a helpdesk needs is in README."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    base_url: str = Field(min_length=8, max_length=512, description='https://<domain>.freshdesk.com, .gorgias.com, or the instance URL')
    api_key: str | None = Field(default=None, max_length=512)  # Freshdesk, Gorgias
    email: str | None = Field(default=None, max_length=320)  # Gorgias: the user the API key belongs to
    access_token: str | None = Field(default=None, max_length=4096)  # Salesforce: a ready bearer token
    client_id: str | None = Field(default=None, max_length=512)  # Salesforce: client-credentials flow
    client_secret: str | None = Field(default=None, max_length=512)
    api_version: str = Field(default='v60.0', pattern=r'^v[0-9]{2,3}\.[0-9]$')  # Salesforce REST version


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    headers: Mapping[str, str]


class ApiClient(Protocol):
    """HTTP GET against one helpdesk, authenticated and rate-limited; 404 comes back as a response, not an error."""

    def get(self, path: str, params: Mapping[str, str] | None = None) -> ApiResponse: ...


class SourceApiAdapter(Protocol):
    name: str
    # The vendor's documented limit this adapter's calls are paced to (per container): requests per second, burst.
    requests_per_second: float
    burst: int

    def auth_headers(self, credentials: ApiCredentials, token: str | None) -> dict[str, str]:
        """Authorization headers; `token` is a bearer token fetched by `fetch_token` (Salesforce), else None."""

    def fetch_token(self, credentials: ApiCredentials, post: Any) -> str | None:
        """An access token when the vendor needs one minted (OAuth client credentials), else None."""

    def fetch(self, external_id: str, api: ApiClient) -> HelpdeskTicket | None:
        """The ticket as the helpdesk reports it; None when the helpdesk does not know it (404)."""


class SourceApiUnavailable(Exception):
    """The helpdesk could not answer now (429, 5xx, timeout, refused credentials): the event goes back to the queue.

    `retry_after` is the vendor's Retry-After in seconds when it gave one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_api_datetime(value: Any) -> datetime | None:
    """An API date-time (ISO-8601, 'Z' or '+0000' offsets, naive = UTC) or None; anything unreadable is None."""
    from shared.errors import InvalidPayload
    from shared.sources.common import optional_datetime

    if not isinstance(value, str):
        return None
    try:
        return optional_datetime(value, 'api', naive_is_utc=True)
    except InvalidPayload:
        return None
