"""Replaying a quarantined payload: the admin's redrive, through the same checks as a live webhook.

A payload rejected at the boundary runs through the webhook receiver again. Its signature is
re-verified without the freshness window (the timestamp is old by now); a payload that never
authenticated (bad signature, or a token source whose token is not stored) is replayed only when
the admin says `accept_unauthenticated`. An event that failed in processing is queued again;
duplicates are harmless because processing is idempotent. A request that never authenticated was
kept as metadata only (no body): it is not replayable, and the answer says so. Stream records a reader could not apply are re-run
through that reader's function, as one batch in stream order (shared/quarantine/stream.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.ingest.webhooks import WebhookReceiver
from shared.quarantine.store import QuarantineStatus, QuarantineStore, Stage
from shared.sources.base import WebhookRequest


def replay_item(
    store: QuarantineStore,
    receiver: WebhookReceiver,
    quarantine_id: str,
    *,
    now: datetime,
    corrected_body: bytes | None = None,
    accept_unauthenticated: bool = False,
    requeue: Callable[[str], None],
    rerun: Callable[[str, Sequence[Mapping[str, Any]], str], str | None] | None = None,
) -> dict[str, Any]:
    item = store.get(quarantine_id)
    if item is None:
        return {'ok': False, 'error': f'no quarantined item {quarantine_id}', 'field': 'quarantine_id'}
    if item.status is QuarantineStatus.REPLAYED:
        return {'ok': False, 'error': 'already replayed', 'field': 'quarantine_id'}

    if item.stage is Stage.STREAM:
        return _rerun_stream_records(store, item.source, quarantine_id, item.body, item.body_truncated, corrected_body, rerun, now)

    if item.stage is Stage.PROCESSING:
        if item.event is None:
            return {'ok': False, 'error': 'item holds no event', 'field': 'event'}
        requeue(item.event)
        store.mark_replayed(quarantine_id, 'requeued', now)
        return {'ok': True, 'result': 'requeued'}

    if item.metadata_only:
        return {'ok': False, 'replayable': False, 'field': 'quarantine_id',
                'error': 'not replayable: the request never authenticated, so only its metadata was kept (size, SHA-256, '
                         'first 2 KB); the sender must send it again'}
    if item.body_truncated and corrected_body is None:
        return {'ok': False, 'error': 'the stored body was truncated (too large); send a corrected_body', 'field': 'body'}
    body = corrected_body if corrected_body is not None else (item.body or b'')
    skip_auth = item.authenticated or accept_unauthenticated or corrected_body is not None
    request = WebhookRequest(body=body, headers=item.headers, query=item.query)
    answer = receiver.receive(item.source, request, now, correlation_id=quarantine_id, check_freshness=False,
                              skip_auth=skip_auth, keep_rejections=False)
    if answer.status_code != 200:
        store.note_failed_replay(quarantine_id, f'{answer.status_code} {answer.body}', now)
        return {'ok': False, 'status_code': answer.status_code, 'error': answer.body}
    store.mark_replayed(quarantine_id, f'accepted {answer.events} events', now)
    return {'ok': True, 'result': f'accepted {answer.events} events'}


def _rerun_stream_records(store: QuarantineStore, reader: str, quarantine_id: str, body: bytes | None, truncated: bool,
                          corrected_body: bytes | None, rerun: Callable[[str, Sequence[Mapping[str, Any]], str], str | None] | None,
                          now: datetime) -> dict[str, Any]:  # fmt: skip
    if rerun is None:
        return {'ok': False, 'error': 'stream records are replayed by the quarantine replay function', 'field': 'quarantine_id'}
    if truncated and corrected_body is None:
        return {'ok': False, 'error': 'the stored records were truncated (too large); send them as corrected_body', 'field': 'body'}
    try:
        records = json.loads(corrected_body if corrected_body is not None else (body or b'[]'))
    except ValueError:
        return {'ok': False, 'error': 'corrected_body is not a JSON list of stream records', 'field': 'corrected_body'}
    if not isinstance(records, list) or not records:
        return {'ok': False, 'error': 'the item holds no stream records (they were no longer in the stream)', 'field': 'body'}
    error = rerun(reader, records, quarantine_id)
    if error is not None:
        store.note_failed_replay(quarantine_id, error, now)
        return {'ok': False, 'error': error}
    result = f'{reader} applied {len(records)} record(s)'
    store.mark_replayed(quarantine_id, result, now)
    return {'ok': True, 'result': result}


def live_receiver(store: QuarantineStore) -> WebhookReceiver:
    """The receiver a replay goes through: the same secrets, events queue and size limit as the webhook route."""
    from shared.config import get_settings
    from shared.ingest.queue import SqsEventQueue
    from shared.ingest.secrets import SsmSecretProvider

    settings = get_settings()
    return WebhookReceiver(SsmSecretProvider(), SqsEventQueue(settings.EVENTS_QUEUE_URL), store, settings.MAX_BODY_BYTES)


def reader_functions() -> dict[str, str]:
    """The stream readers' function names (from the environment), for re-running a failed stream record."""
    import os

    from shared.quarantine.stream import READERS

    return {reader: os.environ.get(function_var, '') for reader, (function_var, _) in READERS.items()}
