"""Receive one webhook: authenticate, parse into canonical events, hand them to the queue.

The order of checks decides the answer: unknown source 404, body too large 413, bad or missing
signature / stale timestamp 401, malformed or schema-invalid payload 400 (naming the field). Every
rejection is kept in quarantine with its reason before answering: whole when the request authenticated
(a stale timestamp under a valid signature counts as authentic, so it can be replayed), as a counter and
a metadata sample when it did not (see shared/quarantine/store.py). Accepted events are queued and
acknowledged in the form the sender expects (Salesforce: a SOAP Ack).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.errors import InvalidPayload, PayloadTooLarge, PitcrewError, ServiceUnavailable, StaleTimestamp
from shared.events import QueueMessage, TicketEvent
from shared.ingest.secrets import SecretProvider
from shared.observability import logger
from shared.sources import get_adapter
from shared.sources.base import WebhookRequest

if TYPE_CHECKING:
    from shared.quarantine.store import QuarantineStore


class EventQueue(Protocol):
    def send(self, messages: Sequence[QueueMessage]) -> None: ...


@dataclass(frozen=True)
class WebhookAnswer:
    status_code: int
    body: str
    content_type: str = 'application/json'
    events: int = 0
    quarantine_id: str | None = None


@dataclass
class WebhookReceiver:
    secrets: SecretProvider
    queue: EventQueue
    quarantine: QuarantineStore  # only touched when something is rejected
    max_body_bytes: int

    def receive(self, source: str, request: WebhookRequest, now: datetime, correlation_id: str | None = None,
                *, check_freshness: bool = True, skip_auth: bool = False, keep_rejections: bool = True) -> WebhookAnswer:
        """`check_freshness`, `skip_auth` and `keep_rejections` are relaxed only by an admin's replay."""
        authenticated = False
        try:
            adapter = get_adapter(source)
            if len(request.body) > self.max_body_bytes:
                raise PayloadTooLarge(f'body is {len(request.body)} bytes; the limit is {self.max_body_bytes}', field='body')
            if not skip_auth:
                adapter.authenticate(request, self.secrets.get(source), now, check_freshness=check_freshness)
            authenticated = True
            parsed = adapter.parse(request, now)
            if not parsed.events:
                raise InvalidPayload('the payload holds no ticket event', field='body')
        except PitcrewError as error:
            authenticated = authenticated or isinstance(error, StaleTimestamp)  # the signature matched; only late
            if not keep_rejections:
                return WebhookAnswer(error.status_code, json.dumps(error.to_body()))
            return self._reject(source, request, error, authenticated, correlation_id, now)
        try:
            self.enqueue(parsed.events, correlation_id)
        except Exception as exc:  # the queue is down: keep the payload, ask the sender to retry
            logger.exception('could not queue accepted events')
            unavailable = ServiceUnavailable(f'could not queue the events ({type(exc).__name__}); retry later')
            return self._reject(source, request, unavailable, True, correlation_id, now)
        logger.info('webhook accepted', extra={'source': source, 'events': len(parsed.events)})
        body = parsed.ack_body if parsed.ack_body is not None else json.dumps({'accepted': len(parsed.events)})
        return WebhookAnswer(200, body, parsed.ack_content_type, events=len(parsed.events))

    def enqueue(self, events: Sequence[TicketEvent], correlation_id: str | None) -> None:
        self.queue.send([QueueMessage(event=event, correlation_id=correlation_id) for event in events])

    def reject(self, source: str, request: WebhookRequest, error: PitcrewError, now: datetime,
               correlation_id: str | None = None) -> WebhookAnswer:  # fmt: skip
        """Refuse a request the handler could not even read (e.g. a body that is not the base64 it claims to be)."""
        return self._reject(source, request, error, False, correlation_id, now)

    def _reject(self, source: str, request: WebhookRequest, error: PitcrewError, authenticated: bool,
                correlation_id: str | None, now: datetime) -> WebhookAnswer:
        quarantine_id = self.quarantine.keep_rejected(
            source=source,
            body=request.body,
            headers=dict(request.headers),
            query=dict(request.query),
            reason=error.reason,
            field=error.field,
            status_code=error.status_code,
            authenticated=authenticated,
            correlation_id=correlation_id,
            now=now,
        )
        # Field names, codes and sizes only: never the body, its head or header values (they can carry personal data).
        logger.warning(
            'webhook rejected',
            extra={'source': source[:64], 'status_code': error.status_code, 'code': error.code, 'field': error.field,
                   'reason': error.reason, 'authenticated': authenticated, 'body_bytes': len(request.body),
                   'quarantine_id': quarantine_id},
        )
        body = error.to_body() | ({'quarantine_id': quarantine_id} if quarantine_id is not None else {})
        return WebhookAnswer(error.status_code, json.dumps(body), quarantine_id=quarantine_id)
