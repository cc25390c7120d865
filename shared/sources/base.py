"""The contract every source adapter fulfils.

An adapter authenticates a raw webhook request and turns the sender's real payload into one or more
canonical `TicketEvent`s. It never touches AWS: secrets are handed in, so adapters stay pure and
testable against the wire samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.events import TicketEvent


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as received: raw body bytes (exactly as signed), headers, query parameters."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    received_at: datetime | None = None

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup (API Gateway HTTP APIs lower-case header names)."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class SourceSecret:
    """What the admin stored for a source in SSM Parameter Store (one SecureString JSON per source).

    `secret` is the HMAC signing secret or the shared token; `organization_id` is checked where the
    sender reports one (Salesforce).
    """

    secret: str
    organization_id: str | None = None
    previous_secret: str | None = None  # accepted during a rotation


@dataclass(frozen=True)
class ParseResult:
    events: list[TicketEvent]
    # What the sender expects as a successful answer (Salesforce needs a SOAP Ack, others take JSON).
    ack_content_type: str = 'application/json'
    ack_body: str | None = None


class SourceAdapter(Protocol):
    name: str

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        """Raise AuthenticationFailed / StaleTimestamp; return None when the request is authentic."""

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        """Raise InvalidPayload(field=..., reason=...) on malformed or schema-invalid payloads."""
