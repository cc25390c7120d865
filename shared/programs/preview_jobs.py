"""What-if previews as asynchronous jobs: POST /v1/admin/programs/{program_id}/preview validates the candidate at once,
records a job (ApiTable `PREVIEW#<preview_id>`, status `queued`) and sends one message to PreviewsQueue; the worker
(functions/program_preview) claims the job (`running`), runs the preview (shared/programs/preview_run.py: a Scan of the
tickets table, which is why it never runs inside a request) and stores the result (`done`) or the reason (`failed`);
GET /v1/admin/previews/{preview_id} reads the job.

- The preview id is derived from the caller's scoped Idempotency-Key: a retried POST finds its job and queues nothing
  new (the same key with another candidate, program or month: refused, as `shared.api.idempotency.once` refuses it).
- A job answers its message once: the worker claims it with a conditional write (status `queued`, or `running` under
  this very message, which is SQS redelivering it after a run that died); a duplicate message finds it taken.
- A candidate that no longer validates when the worker runs it fails at once (running it again would not help). Any
  other error is retried by SQS (the record is reported failed) and on the last receive (`MAX_RECEIVES`, the queue's
  maxReceiveCount) the job is recorded `failed` with the reason and the message goes on to PreviewsDLQ. A run killed by
  the function's timeout cannot record anything: after its last attempt's time is up, the job reads `failed`.
- The result is the preview's `as_dict()` as JSON. A result larger than `MAX_RESULT_BYTES` (a DynamoDB item holds
  400 KB) is stored truncated: without the per location x role x rule rows, with the totals per location (the
  locations that move the cost most first, as many as fit), per role, per rule and overall, and `truncated: true`.
  The full table stays available from the admin command (`python -m infrastructure.preview --json`). Not S3: the
  stack's only private bucket is PayoutsBucket (payroll files, versioned and access-logged for audit); preview output
  there would give an admin job write access to payroll and mix week-long scratch data into its versions.

No boto3 here but the queue's lazily created SQS client; the store is `shared.api.store.ApiStore`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

TTL_S = 7 * 24 * 3600  # a job and its result are kept a week (ApiTable TTL `expires_at`)
MAX_RECEIVES = 3  # PreviewsQueue's RedrivePolicy.maxReceiveCount (checked by tests/template)
RUN_TIMEOUT_S = 900  # ProgramPreviewFunction's Timeout (checked by tests/template)
MAX_RESULT_BYTES = 350_000  # the result's JSON in the job item (DynamoDB items hold 400 KB with their other attributes)
MAX_DOCUMENT_BYTES = 64_000  # a candidate document (an SSM parameter holds 8 KB: a larger one could never be published)
MAX_REASON_CHARS = 500


class PreviewStatus(StrEnum):
    QUEUED = 'queued'
    RUNNING = 'running'
    DONE = 'done'
    FAILED = 'failed'


class PreviewKeyReused(Exception):
    """The Idempotency-Key of an earlier preview request, sent with another program, month or candidate."""


class PreviewJob(BaseModel):
    """One preview request and its outcome, as ApiTable keeps it."""

    model_config = ConfigDict(extra='forbid')

    preview_id: str
    program_id: str
    month: str
    status: PreviewStatus
    requested_by: str = Field(description="the caller's principal label (role and id, no personal data)")
    created_at: datetime
    expires_at: int
    digest: str = Field(description='SHA-256 of the request (program, month, candidate): a reused key is recognised')
    document: str | None = Field(default=None, description='the candidate (JSON text), until the job finishes')
    queued_at: datetime | None = None  # when its message was sent (a retried POST sends it if it never was)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    message_id: str | None = None  # the SQS message that holds the claim
    result: dict[str, Any] | None = None
    truncated: bool = False
    reason: str | None = None

    @classmethod
    def new(cls, preview_id: str, program_id: str, month: str, document: str, requested_by: str, now: datetime) -> PreviewJob:
        return cls(preview_id=preview_id, program_id=program_id, month=month, status=PreviewStatus.QUEUED, requested_by=requested_by,
                   created_at=now, expires_at=int(now.timestamp()) + TTL_S, digest=request_digest(program_id, month, document),
                   document=document)  # fmt: skip

    def effective_status(self, now: datetime) -> tuple[PreviewStatus, str | None]:
        """The status to show: a job still `running` after its last attempt's time ran out died with its function."""
        started = self.started_at
        timed_out = started is not None and now > started + timedelta(seconds=RUN_TIMEOUT_S + 60)
        if self.status is PreviewStatus.RUNNING and self.attempts >= MAX_RECEIVES and timed_out:
            return PreviewStatus.FAILED, f'the preview ran out of time ({RUN_TIMEOUT_S // 60} minutes) {self.attempts} times'
        return self.status, self.reason

    def answer(self, now: datetime) -> dict[str, Any]:
        """What GET /v1/admin/previews/{preview_id} answers."""
        status, reason = self.effective_status(now)
        out: dict[str, Any] = {
            'ok': True, 'preview_id': self.preview_id, 'program_id': self.program_id, 'month': self.month, 'status': status.value,
            'requested_by': self.requested_by, 'created_at': self.created_at.isoformat(), 'attempts': self.attempts,
        }  # fmt: skip
        for name in ('started_at', 'finished_at'):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        if status is PreviewStatus.DONE:
            out['truncated'] = self.truncated
            out['result'] = self.result
        elif reason:
            out['reason'] = reason
        return out


def preview_id_for(scoped_key: str) -> str:
    """The job's id from the caller's scoped Idempotency-Key (`shared.api.idempotency.scoped_key`): the same caller's
    same key is the same job; nothing of the key can be read back from the id."""
    return 'pv-' + hashlib.sha256(f'preview:{scoped_key}'.encode()).hexdigest()[:32]


def request_digest(program_id: str, month: str, document: str) -> str:
    return hashlib.sha256(json.dumps([program_id, month, document]).encode()).hexdigest()


def canonical_document(document: dict[str, Any]) -> str:
    """The candidate as stored and digested: the same JSON object always gives the same text."""
    return json.dumps(document, sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(',', ':'), ensure_ascii=False).encode())


def fit_result(result: dict[str, Any], limit: int = MAX_RESULT_BYTES) -> tuple[dict[str, Any], bool]:
    """(result, truncated): the preview's as_dict() when its JSON fits `limit` bytes; otherwise without its rows, with
    the per-location totals that move the cost (then the points) most, as many as fit, and what was left out counted."""
    if _size(result) <= limit:
        return result, False
    rows = list(result.get('rows') or [])

    def weight(row: dict[str, Any]) -> tuple[float, int, str]:
        return -abs(float(row.get('cost_difference', 0))), -abs(int(row.get('difference', 0))), str(row.get('location_id'))

    locations = sorted(result.get('by_location') or [], key=weight)
    out = {key: value for key, value in result.items() if key not in ('rows', 'by_location')}
    out |= {'truncated': True, 'rows_omitted': len(rows), 'locations_omitted': 0, 'by_location': []}
    room = limit - _size(out) - 16  # the omitted count's own digits
    kept: list[dict[str, Any]] = []
    for row in locations:
        cost = _size(row) + 1
        if cost > room:
            break
        kept.append(row)
        room -= cost
    out['by_location'] = sorted(kept, key=lambda r: str(r.get('location_id')))
    out['locations_omitted'] = len(locations) - len(kept)
    return out, True


def failure_reason(exc: BaseException) -> str:
    """A failure as an admin reads it: the error's type and message, masked, cut, never a stack trace."""
    from shared.observability import mask_pii
    from shared.programs.document import ProgramInvalid

    if isinstance(exc, ProgramInvalid):
        text = 'the candidate is not a valid program document: ' + '; '.join(exc.errors[:5])
    else:
        message = ' '.join(str(exc).split())
        text = f'{type(exc).__name__}: {message}' if message else type(exc).__name__
    text = mask_pii(text)
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + '...'


class JobStore(Protocol):
    """What the jobs need of ApiTable (`shared.api.store.ApiStore`)."""

    def create_preview(self, job: PreviewJob) -> bool: ...
    def preview(self, preview_id: str) -> PreviewJob | None: ...
    def mark_preview_queued(self, preview_id: str, now: datetime) -> None: ...
    def claim_preview(self, preview_id: str, message_id: str, now: datetime) -> bool: ...
    def release_preview(self, preview_id: str, message_id: str, reason: str) -> None: ...
    def finish_preview(self, preview_id: str, message_id: str, result_json: str, truncated: bool, now: datetime) -> bool: ...
    def fail_preview(self, preview_id: str, message_id: str, reason: str, now: datetime) -> bool: ...


class PreviewQueue:
    """PreviewsQueue (PREVIEWS_QUEUE_URL): one message `{"preview_id": ...}` per job."""

    def __init__(self, url: str | None = None, sqs: Any = None) -> None:
        from shared.config import get_settings

        self.url = url if url is not None else get_settings().PREVIEWS_QUEUE_URL
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            import boto3

            from shared.config import get_settings

            settings = get_settings()
            self._sqs = boto3.client('sqs', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
        return self._sqs

    def send(self, preview_id: str) -> None:
        if not self.url:
            raise RuntimeError('PREVIEWS_QUEUE_URL is not set: the preview cannot be queued')
        self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps({'preview_id': preview_id}))


class PreviewMessage(BaseModel):
    model_config = ConfigDict(extra='ignore')

    preview_id: str = Field(pattern=r'^pv-[0-9a-f]{32}$')


Runner = Callable[[str, str], Any]  # (candidate JSON text, month) -> a Preview (with as_dict())


class PreviewJobs:
    def __init__(self, store: JobStore, queue: PreviewQueue | None = None) -> None:
        self.store = store
        self._queue = queue

    @property
    def queue(self) -> PreviewQueue:
        if self._queue is None:
            self._queue = PreviewQueue()
        return self._queue

    def request(self, *, scoped_key: str, program_id: str, month: str, document: str, requested_by: str, now: datetime) -> PreviewJob:
        """The job of this key: recorded and queued the first time; found (and queued only if its message was never sent)
        on a retry. The same key with another request: PreviewKeyReused."""
        job = PreviewJob.new(preview_id_for(scoped_key), program_id, month, document, requested_by, now)
        if not self.store.create_preview(job):
            found = self.store.preview(job.preview_id)
            if found is None:  # it expired between the two reads: record it again
                self.store.create_preview(job)
                found = job
            if found.digest != job.digest:
                raise PreviewKeyReused(job.preview_id)
            job = found
        if job.status is PreviewStatus.QUEUED and job.queued_at is None:
            self.queue.send(job.preview_id)
            self.store.mark_preview_queued(job.preview_id, now)
            job = job.model_copy(update={'queued_at': now})
        return job

    def get(self, preview_id: str) -> PreviewJob | None:
        return self.store.preview(preview_id)

    def run(self, preview_id: str, message_id: str, receive_count: int, runner: Runner, clock: Callable[[], datetime]) -> str:
        """Run one job for one message; the outcome as a word for the log. Raises (the record fails, SQS retries it) on an
        unexpected error; on the last receive the job is recorded failed first."""
        job = self.store.preview(preview_id)
        if job is None:
            return 'unknown'  # expired (a week old) or never recorded: nothing to run
        if job.status in (PreviewStatus.DONE, PreviewStatus.FAILED):
            return f'already {job.status.value}'
        if job.document is None or not self.store.claim_preview(preview_id, message_id, clock()):
            return 'taken'  # another message holds it
        from shared.programs.document import ProgramInvalid

        try:
            preview = runner(job.document, job.month)
        except ProgramInvalid as exc:  # the candidate no longer validates (e.g. a location left the configuration)
            self.store.fail_preview(preview_id, message_id, failure_reason(exc), clock())
            return 'failed'
        except Exception as exc:
            if receive_count >= MAX_RECEIVES:
                self.store.fail_preview(preview_id, message_id, failure_reason(exc), clock())
            else:
                reason = f'attempt {receive_count} of {MAX_RECEIVES} failed: {failure_reason(exc)}'
                self.store.release_preview(preview_id, message_id, reason)
            raise
        result, truncated = fit_result(preview.as_dict())
        if not self.store.finish_preview(preview_id, message_id, json.dumps(result, separators=(',', ':')), truncated, clock()):
            return 'taken'
        return 'done (truncated)' if truncated else 'done'
