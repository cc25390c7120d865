"""The admin routes of the people-facing API (role admin only: 403 for anyone else, hq included). Thin handlers over the
existing use cases: the program book (shared/programs/loader.py), the what-if preview (a job: queued here, run by
functions/program_preview over shared/programs/preview_run.py; shared/programs/preview_jobs.py), the quarantine
(functions/quarantine_replay's list and replay), adjustments (shared/ledger/adjustments.py as functions/ledger_adjust)
and a kiosk PIN reset (shared/api/kiosk_pins.set_pin).

  GET  /v1/admin/programs
  GET  /v1/admin/programs/{program_id}
  POST /v1/admin/programs/{program_id}/preview       {document: {...}, month: YYYY-MM}  Idempotency-Key  -> 202 {preview_id, poll}
  GET  /v1/admin/previews/{preview_id}               queued | running | done (the preview) | failed (the reason)
  GET  /v1/admin/quarantine                          ?day=YYYY-MM-DD&cursor=&limit=
  POST /v1/admin/quarantine/{quarantine_id}/replay   {corrected_body?, accept_unauthenticated?}
  POST /v1/admin/adjustments                         {adjustment_id, employee_id, points, reason, ticket_key?}  Idempotency-Key
  POST /v1/admin/adjustments/{adjustment_id}/approve                                                      Idempotency-Key
  POST /v1/admin/adjustments/{adjustment_id}/reject  {reason}                                             Idempotency-Key
  POST /v1/admin/people/{employee_id}/pin            {pin: 4-8 digits}: a new PIN, the lockout lifted
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from pydantic import BaseModel, ConfigDict, Field

from shared.api.cursor import decode_cursor, encode_cursor
from shared.api.errors import BadRequest, Conflict, NotFound
from shared.api.http import Call, body, handler, page, people_api, query, require_role
from shared.api.idempotency import HEADER, once, read_key
from shared.api.principal import Role
from shared.api.refusals import answer_refusals
from shared.observability import logger

app = people_api()
answer_refusals(app)
PREVIEW_ID = re.compile(r'^pv-[0-9a-f]{32}$')


def _admin(app: APIGatewayHttpResolver) -> Call:
    call = require_role(app, Role.ADMIN)
    if call.principal.is_kiosk_session:  # a kiosk session is a person, never an admin
        call.scope.require_people_role()
    return call


def _actor(call: Call) -> Any:
    from shared.ledger.approvals import Actor

    request_id = str((app.current_event.raw_event.get('requestContext') or {}).get('requestId') or 'unknown')
    return Actor(via='iam', principal=f'cognito/admin/{call.principal.employee_id or call.principal.subject}', reference=request_id)


# --- programs ---------------------------------------------------------------------------------------------------------------
def _summary(program_id: str, versions: Any) -> dict[str, Any]:
    latest = versions[0].document
    return {'program_id': program_id, 'name': latest.name, 'version': versions[0].version, 'versions': [v.version for v in versions],
            'effective_from': latest.effective_from, 'time_zone': latest.time_zone, 'rules': len(latest.rules)}  # fmt: skip


@app.get('/v1/admin/programs')
def programs() -> dict[str, Any]:
    from shared.programs.loader import load_programs

    _admin(app)
    book = load_programs()
    return page([_summary(program_id, versions) for program_id, versions in book.programs.items()], None)


@app.get('/v1/admin/programs/<program_id>')
def program(program_id: str) -> dict[str, Any]:
    from shared.programs.loader import load_programs

    _admin(app)
    versions = load_programs().programs.get(program_id)
    if not versions:
        raise NotFound(field='program_id')
    return _summary(program_id, versions) | {'document': versions[0].document.model_dump(mode='json')}


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra='forbid')

    document: dict[str, Any] = Field(description='the candidate program document')
    month: str = Field(pattern=r'^\d{4}-(0[1-9]|1[0-2])$')


@app.post('/v1/admin/programs/<program_id>/preview')
def program_preview(program_id: str) -> Response:
    """The candidate priced over the stored month beside the programs in force, as a job: validated at once (an invalid
    candidate: 400 naming the field), recorded in ApiTable and queued on PreviewsQueue (functions/program_preview runs it
    off the request path: it Scans the tickets table); 202 with the job's id and where to poll. Idempotency-Key required:
    a retry answers the same job and queues nothing new (the key with another request: 409)."""
    from shared.api.idempotency import scoped_key
    from shared.programs.document import ProgramInvalid, parse_program
    from shared.programs.loader import _validation_context
    from shared.programs.preview_jobs import MAX_DOCUMENT_BYTES, PreviewJobs, PreviewKeyReused, canonical_document

    call = _admin(app)
    key = read_key(app.current_event.headers)
    request = body(app, PreviewBody)
    if request.document.get('program_id') != program_id:
        raise BadRequest('the candidate document is of another program', field='document.program_id')
    document = canonical_document(request.document)
    if len(document.encode()) > MAX_DOCUMENT_BYTES:
        raise BadRequest(f'the candidate document is larger than {MAX_DOCUMENT_BYTES // 1000} KB', field='document')
    try:
        parse_program(document, _validation_context(None))  # as the run will parse it: nothing is queued for an invalid one
    except ProgramInvalid as exc:  # 'field.path: reason' lines: the first one names the field
        first = exc.errors[0] if exc.errors else 'document: invalid'
        path, _, reason = first.partition(': ')
        raise BadRequest(reason or first, field=f'document.{path}' if reason else 'document') from exc
    try:
        job = PreviewJobs(call.api).request(scoped_key=scoped_key(call.principal, key), program_id=program_id, month=request.month,
                                            document=document, requested_by=call.principal.label(), now=call.now)  # fmt: skip
    except PreviewKeyReused as exc:
        raise Conflict('this Idempotency-Key was used for a different request', field=HEADER, code='key_reused') from exc
    logger.info('preview queued', extra={'preview_id': job.preview_id, 'program_id': program_id, 'month': request.month})
    answer = {'ok': True, 'preview_id': job.preview_id, 'status': job.status.value, 'poll': f'/v1/admin/previews/{job.preview_id}'}
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=answer)


@app.get('/v1/admin/previews/<preview_id>')
def preview_status(preview_id: str) -> dict[str, Any]:
    """A preview job: queued | running | done (with the preview) | failed (with the reason). Unknown or expired: 404."""
    from shared.programs.preview_jobs import PreviewJobs

    call = _admin(app)
    job = PreviewJobs(call.api).get(preview_id) if PREVIEW_ID.match(preview_id) else None
    if job is None:
        raise NotFound(field='preview_id')
    return job.answer(call.now)


# --- quarantine ---------------------------------------------------------------------------------------------------------------
class QuarantineQuery(BaseModel):
    model_config = ConfigDict(extra='forbid')

    day: str = Field(pattern=r'^\d{4}-\d{2}-\d{2}$')
    cursor: str | None = None
    limit: int = Field(default=20, ge=1, le=100)


class ReplayBody(BaseModel):
    model_config = ConfigDict(extra='forbid')

    corrected_body: str | None = Field(default=None, max_length=1_000_000)
    accept_unauthenticated: bool = False


@app.get('/v1/admin/quarantine')
def quarantine() -> dict[str, Any]:
    from shared.quarantine.store import QuarantineStore

    call = _admin(app)
    q = query(app, QuarantineQuery)
    filters = {'day': q.day}
    after = decode_cursor('admin/quarantine', call.principal, filters, q.cursor)
    items = QuarantineStore().list_day(q.day)  # one index Query + BatchGetItem of the listed attributes
    start = next((i + 1 for i, item in enumerate(items) if item['quarantine_id'] == after), 0) if after else 0
    chunk = items[start : start + q.limit]
    more = chunk[-1]['quarantine_id'] if chunk and start + q.limit < len(items) else None
    return page(chunk, encode_cursor('admin/quarantine', call.principal, filters, more))


@app.post('/v1/admin/quarantine/<quarantine_id>/replay')
def replay(quarantine_id: str) -> dict[str, Any]:
    """The quarantine replay of one item, as functions/quarantine_replay does it (its receiver, requeue and stream re-run)."""
    from datetime import UTC, datetime

    from shared.events import QueueMessage
    from shared.quarantine.replay import live_receiver, reader_functions, replay_item
    from shared.quarantine.store import QuarantineStore
    from shared.quarantine.stream import ReaderInvoker

    _admin(app)
    request = body(app, ReplayBody)
    store = QuarantineStore()
    if store.get(quarantine_id) is None:
        raise NotFound(field='quarantine_id')
    receiver = live_receiver(store)
    outcome = replay_item(store, receiver, quarantine_id, now=datetime.now(UTC),
                          corrected_body=request.corrected_body.encode() if request.corrected_body is not None else None,
                          accept_unauthenticated=request.accept_unauthenticated,
                          requeue=lambda message: receiver.queue.send([QueueMessage.model_validate_json(message)]),
                          rerun=ReaderInvoker(reader_functions()))  # fmt: skip
    logger.info('replay finished', extra={'quarantine_id': quarantine_id, 'ok': outcome['ok']})
    return dict(outcome)


# --- adjustments --------------------------------------------------------------------------------------------------------------
class AdjustmentBody(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    adjustment_id: str = Field(min_length=3, max_length=128)
    employee_id: str = Field(min_length=1, max_length=64)
    points: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=5, max_length=1000)
    ticket_key: str | None = Field(default=None, max_length=300)


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=1000)


def _stores() -> dict[str, Any]:
    from shared.directory.store import DirectoryStore
    from shared.ledger.approval_store import ApprovalStore
    from shared.ledger.store import LedgerStore

    return {'ledger': LedgerStore(), 'directory': DirectoryStore(), 'approvals': ApprovalStore()}


@app.post('/v1/admin/adjustments')
def adjustment() -> dict[str, Any]:
    from shared.config import get_settings
    from shared.ledger.adjustments import AdjustmentRequest, submit_adjustment

    call = _admin(app)
    key = read_key(app.current_event.headers)
    request = body(app, AdjustmentBody)
    if request.points == 0:
        raise BadRequest('an adjustment of 0 points changes nothing', field='points')
    call.scope.person(request.employee_id)
    actor = _actor(call)

    def run() -> dict[str, Any]:
        adjustment = AdjustmentRequest(**request.model_dump())
        return dict(submit_adjustment(adjustment, maker=actor, approval_above=get_settings().ADJUSTMENT_APPROVAL_ABOVE, now=call.now,
                                      **_stores()))  # fmt: skip

    return once('adjustment', call.principal, key, request.model_dump(), run)


def _decide(adjustment_id: str, approve: bool) -> dict[str, Any]:
    from shared.ledger.adjustments import AdjustmentDecision, decide_adjustment

    call = _admin(app)
    key = read_key(app.current_event.headers)
    request = body(app, DecisionBody)
    if not approve and (request.reason is None or len(request.reason) < 5):
        raise BadRequest('a rejection needs a reason (at least 5 characters)', field='reason')
    decision = AdjustmentDecision(adjustment_id=adjustment_id, approve=approve, reason=request.reason)
    actor = _actor(call)

    def run() -> dict[str, Any]:
        return dict(decide_adjustment(decision, checker=actor, now=call.now, **_stores()))

    action = 'adjustment_approve' if approve else 'adjustment_reject'
    return once(action, call.principal, key, {'adjustment_id': adjustment_id, 'reason': request.reason}, run)


@app.post('/v1/admin/adjustments/<adjustment_id>/approve')
def approve(adjustment_id: str) -> dict[str, Any]:
    return _decide(adjustment_id, approve=True)


@app.post('/v1/admin/adjustments/<adjustment_id>/reject')
def reject(adjustment_id: str) -> dict[str, Any]:
    return _decide(adjustment_id, approve=False)


# --- kiosk PINs ---------------------------------------------------------------------------------------------------------------
class PinBody(BaseModel):
    model_config = ConfigDict(extra='forbid')

    pin: str = Field(pattern=r'^\d{4,8}$', description='4 to 8 digits')


@app.post('/v1/admin/people/<employee_id>/pin')
def reset_pin(employee_id: str) -> dict[str, Any]:
    """A new PIN for a person (the hash replaced, the lockout lifted): never logged, never answered."""
    call = _admin(app)
    request = body(app, PinBody)
    person = call.scope.person(employee_id)
    from shared.api.kiosk_pins import set_pin  # type: ignore[import-not-found,unused-ignore]  # written on the kiosk branch

    set_pin(person.employee_id, request.pin, call.now)
    logger.info('kiosk PIN reset by an admin', extra={'employee_id': person.employee_id})
    return {'ok': True, 'employee_id': person.employee_id, 'locked': False}


lambda_handler = handler(app)
