"""The person's own routes on PeopleApi (an advisor, an agent, a technician; any role for their own data; a kiosk session
where marked K). Every route takes the caller from the verified token (`current(app)`), reads only their own data
(`Scope.me()` / `Scope.mine()`), and calls the use case that the console functions call:

  GET  /v1/me                           K  profile + wallet per program (shared/wallet/wallet.read_wallet)
  GET  /v1/me/statement                 K  ?month=&program_id=&cursor=&limit= (shared/ledger/statement.read_statement, in the
                                           person's directory language)
  GET  /v1/me/rank                      K  ?program_id=&month= (LiveStore.rank, lifetime level, badges, points per day)
  GET  /v1/standings                    K  ?program_id=&month=&cursor=&limit= (my division's board, LiveStore.top)
  GET  /v1/feed                         K  ?program_id=&scope=team|location&cursor=&limit= (shared/recognition/feed)
  POST /v1/recognitions                    {program_id?, to_employee_id, points, message, value?} + Idempotency-Key
  GET  /v1/catalogue                    K  ?program_id=&cursor=&limit= (items offered at my location / city)
  POST /v1/redemptions                  K  {program_id?, item_id, quantity} + Idempotency-Key (Redemptions.request)
  GET  /v1/redemptions                  K  my redemptions, newest first (the rewards table's by_employee index)
  GET  /v1/redemptions/{redemption_id}  K  one of mine (anyone else's: 404)
  POST /v1/disputes                        {entry_id | code, reason} on an entry of MY ledger (Disputes.file)
  GET  /v1/disputes                        my disputes
  PUT  /v1/me/pin                          {pin}: my kiosk PIN (4-8 digits; not from a kiosk session)

program_id, when not given, is the person's programs (in force, their role and location in scope, and allowed by their
token's custom:programs); a program the token does not allow is answered as unknown (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, ConfigDict, Field

from shared.api.cursor import decode_cursor, encode_cursor
from shared.api.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from shared.api.http import DEFAULT_LIMIT, MAX_LIMIT, Call, body, current, handler, page, people_api, query
from shared.api.idempotency import read_key, scoped_key
from shared.api.scope import Person

app: APIGatewayHttpResolver = people_api()

MONTH = r'^\d{4}-(0[1-9]|1[0-2])$'
PROGRAM = r'^[a-z0-9][a-z0-9_\-]{0,63}$'


# --- query strings and bodies (extra='forbid': an unknown parameter is a 400 naming it) ----------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)


class NoQuery(_Strict):
    pass


class Paged(_Strict):
    cursor: str | None = Field(default=None, max_length=4096)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ProgramQuery(_Strict):
    program_id: str | None = Field(default=None, pattern=PROGRAM)


class StatementQuery(Paged):
    month: str | None = Field(default=None, pattern=MONTH)
    program_id: str | None = Field(default=None, pattern=PROGRAM)


class RankQuery(_Strict):
    month: str | None = Field(default=None, pattern=MONTH)
    program_id: str | None = Field(default=None, pattern=PROGRAM)


class StandingsQuery(RankQuery, Paged):
    pass


class FeedQuery(Paged):
    program_id: str | None = Field(default=None, pattern=PROGRAM)
    scope: Literal['team', 'location'] = 'team'
    team_id: str | None = Field(default=None, max_length=64)
    location_id: str | None = Field(default=None, max_length=64)


class CatalogueQuery(Paged):
    program_id: str | None = Field(default=None, pattern=PROGRAM)


class GiveBody(_Strict):
    program_id: str | None = Field(default=None, pattern=PROGRAM)
    to_employee_id: str = Field(min_length=1, max_length=64)
    points: int = Field(ge=1, le=100_000)
    message: str = Field(default='', max_length=1000)
    value: str = Field(default='', max_length=64)


class RedeemBody(_Strict):
    program_id: str | None = Field(default=None, pattern=PROGRAM)
    item_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=20)


class DisputeBody(_Strict):
    entry_id: str | None = Field(default=None, min_length=8, max_length=128)
    code: str | None = Field(default=None, min_length=8, max_length=64)
    reason: str = Field(min_length=3, max_length=500)


class PinBody(_Strict):
    pin: str = Field(pattern=r'^\d{4,8}$')


# --- the person's programs ---------------------------------------------------------------------------------------------
def _book() -> Any:
    from shared.programs.loader import load_programs

    return load_programs()


def my_programs(call: Call, person: Person, book: Any, asked: str | None) -> list[str]:
    """The programs the person is in now (in force, their role and location in its scope) that their token allows; an
    asked program must be one of them: any other (unknown, not theirs, not allowed) is answered as unknown (404)."""
    from shared.programs.period import Person as Member
    from shared.programs.period import in_program
    from shared.recognition.give import local_month

    if asked is not None:
        call.scope.program(asked)
    member = Member(employee_id=person.employee_id, role=person.role, job_grade=person.job_grade, location_id=person.location_id,
                    region=person.region, team_id=person.manager_id, active=person.active)  # fmt: skip
    mine = []
    for program_id in sorted(book.programs) if asked is None else [asked]:
        version = book.for_basis(program_id, call.now) or book.latest(program_id)
        if (version is not None and call.principal.in_program(program_id)
                and in_program(version.document, member, local_month(call.now, version.document.time_zone))):  # fmt: skip
            mine.append(program_id)
    if asked is not None and not mine:
        raise NotFound(field='program_id')
    return mine


def _month(asked: str | None, person: Person, now: datetime) -> str:
    from zoneinfo import ZoneInfo

    return asked or now.astimezone(ZoneInfo(person.time_zone or 'UTC')).strftime('%Y-%m')


def _not_from_kiosk(call: Call) -> None:
    if call.principal.is_kiosk_session:
        raise Forbidden('not from a kiosk: use your own login')


# --- profile and wallet ------------------------------------------------------------------------------------------------
@app.get('/v1/me')
def me() -> dict[str, Any]:
    from shared.ledger.store import LedgerStore
    from shared.wallet.wallet import read_wallet

    call = current(app)
    person = call.scope.me()
    query(app, NoQuery)
    book = _book()
    programs = my_programs(call, person, book, None)
    ledger = LedgerStore()
    wallets = [read_wallet(person.employee_id, book.latest(pid).document, ledger=ledger).as_dict() for pid in programs]
    return {'person': person.own(), 'programs': programs, 'wallets': wallets, 'kiosk': call.principal.is_kiosk_session}


# --- statement ---------------------------------------------------------------------------------------------------------
@app.get('/v1/me/statement')
def statement() -> dict[str, Any]:
    from shared.api.statements import statement_page

    call = current(app)
    person = call.scope.me()
    q = query(app, StatementQuery)
    book = _book()
    program_id = my_programs(call, person, book, q.program_id)[0] if q.program_id else None
    return statement_page(call, person, list_name='me/statement', month=_month(q.month, person, call.now), program_id=program_id,
                          cursor=q.cursor, limit=q.limit, language=person.language, book=book)  # fmt: skip


# --- rank and standings ------------------------------------------------------------------------------------------------
def _league(call: Call, person: Person, asked: str | None) -> tuple[str, Any]:
    from shared.leagues.scorer import leagues_of

    book = _book()
    leagues = leagues_of(book, call.now)
    for program_id in my_programs(call, person, book, asked):
        if program_id in leagues:
            return program_id, leagues[program_id]
    raise NotFound('no league for you in this program' if asked else 'you are in no league', field='program_id')


@app.get('/v1/me/rank')
def rank() -> dict[str, Any]:
    from shared.api.people_views import points_series
    from shared.leagues.live import local_month
    from shared.leagues.live_store import LiveStore
    from shared.ledger.store import LedgerStore

    call = current(app)
    person = call.scope.me()
    q = query(app, RankQuery)
    program_id, league = _league(call, person, q.program_id)
    month = q.month or local_month(call.now, league.zone)
    live = LiveStore()
    view = live.rank(program_id, person.employee_id, month, league.config)
    life = live.lifetime(program_id, person.employee_id)
    levels = league.config.levels
    level = None
    if life is not None and levels:
        rung = levels[min(life.level, len(levels) - 1)]
        level = {'index': life.level, 'name': rung.name, 'lifetime_points': life.points}
    badges = [{'kind': a.get('kind'), 'key': a.get('key'), 'name': a.get('name'), 'at': a.get('at')}
              for a in live.achievements(program_id, person.employee_id)]  # fmt: skip
    series = points_series(LedgerStore().entries_for(person.employee_id), program_id, month, str(league.zone), call.now)
    if series and view is not None:
        series[-1] = series[-1] | {'rank': view.rank}
    answer: dict[str, Any] = {'program_id': program_id, 'month': month, 'league': league.name, 'level': level, 'badges': badges,
                              'movement': series}  # fmt: skip
    if view is None:
        return answer | {'rank': None, 'of': None, 'points': 0, 'gap': None, 'qualified': False, 'division': None}
    return answer | {'division': view.division, 'division_name': view.division_name, 'rank': view.rank, 'of': view.of,
                     'points': view.points, 'score': view.score, 'gap': view.behind_next, 'next_rank': view.next_rank,
                     'qualified': view.qualified, 'items': view.items, 'min_items': view.min_items, 'tied': view.tied}  # fmt: skip


@app.get('/v1/standings')
def standings() -> dict[str, Any]:
    from shared.leagues.live import local_month
    from shared.leagues.live_store import LiveStore

    call = current(app)
    person = call.scope.me()
    q = query(app, StandingsQuery)
    program_id, league = _league(call, person, q.program_id)
    month = q.month or local_month(call.now, league.zone)
    filters = {'program_id': program_id, 'month': month}
    offset = int(decode_cursor('standings', call.principal, filters, q.cursor) or 0)
    live = LiveStore()
    mine = live.month_item(program_id, person.employee_id, month)
    if mine is None or not mine.division:
        return {'program_id': program_id, 'month': month, 'division': None} | page([], None)
    rows = live.top(program_id, month, mine.division, offset + q.limit + 1)
    shown, more = rows[offset : offset + q.limit], len(rows) > offset + q.limit
    names = call.scope.people.people([row.employee_id for row in shown])
    items = [{'rank': row.rank, 'employee_id': row.employee_id, 'name': names[row.employee_id].name if row.employee_id in names else None,
              'points': row.points, 'score': row.score, 'items': row.items, 'me': row.employee_id == person.employee_id}
             for row in shown]  # fmt: skip
    following = offset + q.limit if more else None
    division = {'division': mine.division, 'division_name': league.config.division_name(mine.division)}
    head = {'program_id': program_id, 'month': month} | division
    return head | page(items, encode_cursor('standings', call.principal, filters, following))


# --- recognition -------------------------------------------------------------------------------------------------------
@app.get('/v1/feed')
def feed() -> dict[str, Any]:
    from shared.config import get_settings
    from shared.dynamo import dynamodb_client
    from shared.errors import InvalidPayload
    from shared.recognition.feed import FeedReader, FeedRequest

    call = current(app)
    person = call.scope.me()
    q = query(app, FeedQuery)
    kind = 'location' if q.location_id is not None else 'team' if q.team_id is not None else q.scope
    field = {'team': 'team_id', 'location': 'location_id'}[kind] if (q.team_id or q.location_id) else 'scope'
    place = call.scope.my_place(kind, q.location_id if kind == 'location' else q.team_id, field)
    book = _book()
    programs = [pid for pid in my_programs(call, person, book, q.program_id) if book.latest(pid).document.recognition is not None]
    if not programs:
        raise NotFound('no recognition in your programs', field='program_id')
    filters = {'program_id': programs[0], 'kind': kind, 'place': place}
    inner = decode_cursor('feed', call.principal, filters, q.cursor)
    settings = get_settings()
    request = FeedRequest(program_id=programs[0], team_id=place if kind == 'team' else None,
                          location_id=place if kind == 'location' else None, cursor=inner, limit=min(q.limit, 50))  # fmt: skip
    try:
        got = FeedReader(dynamodb_client(), settings.RECOGNITION_TABLE, settings.DIRECTORY_TABLE).page(request)
    except InvalidPayload as refused:
        raise BadRequest(refused.reason, field='cursor' if refused.field == 'cursor' else refused.field) from refused
    items = [{'recognition_id': line.entry.recognition_id, 'kind': line.entry.kind, 'giver_id': line.entry.giver_id,
              'giver_name': line.giver_name, 'receiver_id': line.entry.receiver_id, 'receiver_name': line.receiver_name,
              'points': line.entry.points, 'value': line.entry.value, 'message': line.entry.message,
              'recorded_at': line.entry.recorded_at.isoformat()} for line in got.lines]  # fmt: skip
    return {'program_id': programs[0], 'scope': kind} | page(items, encode_cursor('feed', call.principal, filters, got.cursor))


@app.post('/v1/recognitions')
def give() -> dict[str, Any]:
    from shared.programs.loader import load_programs
    from shared.recognition.give import GiveRequest, RecognitionRefused
    from shared.recognition.service import Recognitions
    from shared.recognition.store import RecognitionStore

    call = current(app)
    _not_from_kiosk(call)
    person = call.scope.me()
    b = body(app, GiveBody)
    key = read_key(app.current_event.headers)
    if b.program_id is not None:
        my_programs(call, person, _book(), b.program_id)
    request = GiveRequest(program_id=b.program_id, giver_id=person.employee_id, receiver_id=b.to_employee_id, points=b.points,
                          message=b.message, value=b.value, idempotency_key=scoped_key(call.principal, key), channel='api')  # fmt: skip
    try:
        result = Recognitions(RecognitionStore(), load_programs).give(request, call.now)
    except RecognitionRefused as refused:
        field = {'receiver_id': 'to_employee_id', 'giver_id': 'custom:employee_id'}.get(refused.field or '', refused.field)
        error = NotFound(field='program_id') if refused.code == 'program_unknown' else ApiError(refused.reason, field, code=refused.code)
        raise error from refused
    return {'ok': True, **result.model_dump(mode='json')}


# --- catalogue and redemptions -----------------------------------------------------------------------------------------
def _catalogued(call: Call, person: Person, asked: str | None) -> tuple[list[str], Any]:
    from shared.wallet.catalogue_loader import load_catalogues

    catalogues = load_catalogues()
    return [pid for pid in my_programs(call, person, _book(), asked) if catalogues.get(pid) is not None], catalogues


@app.get('/v1/catalogue')
def catalogue() -> dict[str, Any]:
    from shared.api.people_views import window

    call = current(app)
    person = call.scope.me()
    q = query(app, CatalogueQuery)
    programs, catalogues = _catalogued(call, person, q.program_id)
    items = []
    for pid in programs:
        document = catalogues.get(pid).document
        city = document.city_of(person.location_id)
        hidden = {'locations', 'cities', 'provider', 'stock', 'active'}
        items += [item.model_dump(mode='json', exclude=hidden) | {'program_id': pid, 'city': city}
                  for item in document.offered(person.location_id, call.now)]  # fmt: skip
    filters = {'program_id': q.program_id}
    offset = decode_cursor('catalogue', call.principal, filters, q.cursor)
    shown, following = window(items, offset, q.limit)
    return page(shown, encode_cursor('catalogue', call.principal, filters, following))


REDEEM_STATUS = {'unknown_program': 404, 'insufficient': 409, 'out_of_stock': 409, 'over_limit': 409, 'in_debt': 409}


@app.post('/v1/redemptions')
def redeem() -> dict[str, Any]:
    from shared.wallet.redeem import RedeemRequest, Refused
    from shared.wallet.service import Redemptions

    call = current(app)
    person = call.scope.me()
    b = body(app, RedeemBody)
    key = read_key(app.current_event.headers)
    programs, _ = _catalogued(call, person, b.program_id)
    if len(programs) != 1:
        raise BadRequest('name the program_id: ' + (', '.join(programs) or 'you have no catalogue'), field='program_id')
    request = RedeemRequest(program_id=programs[0], employee_id=person.employee_id, item_id=b.item_id, quantity=b.quantity,
                            idempotency_key=scoped_key(call.principal, key))  # fmt: skip
    try:
        return Redemptions.from_settings().request(request, call.now)
    except Refused as refused:
        error = ApiError(refused.message, refused.field, code=refused.code)
        error.status = REDEEM_STATUS.get(refused.code, 400)
        raise error from refused


@app.get('/v1/redemptions')
def my_redemptions() -> dict[str, Any]:
    from shared.api.people_views import redemption_view
    from shared.wallet.store import RewardsStore

    call = current(app)
    person = call.scope.me()
    q = query(app, Paged)
    start = decode_cursor('redemptions', call.principal, {}, q.cursor)
    found, last = RewardsStore().redemptions_page(person.employee_id, q.limit, start)
    return page([redemption_view(r) for r in found], encode_cursor('redemptions', call.principal, {}, last))


@app.get('/v1/redemptions/<redemption_id>')
def one_redemption(redemption_id: str) -> dict[str, Any]:
    from shared.api.people_views import redemption_view
    from shared.wallet.store import RewardsStore

    call = current(app)
    call.scope.me()
    query(app, NoQuery)
    found = RewardsStore().get(redemption_id) if 0 < len(redemption_id) <= 128 else None
    call.scope.mine(found.employee_id if found is not None else None, field='redemption_id')
    assert found is not None
    return redemption_view(found)


# --- disputes ----------------------------------------------------------------------------------------------------------
@app.post('/v1/disputes')
def open_dispute() -> dict[str, Any]:
    from shared.alerts.store import AlertStore
    from shared.api.people_views import dispute_view
    from shared.directory.store import DirectoryStore
    from shared.disputes.model import DisputeRefused
    from shared.disputes.service import Disputes
    from shared.disputes.store import DisputeStore

    call = current(app)
    _not_from_kiosk(call)
    person = call.scope.me()
    b = body(app, DisputeBody)
    if (b.entry_id is None) == (b.code is None):
        raise BadRequest('name the entry: entry_id or its code (one of them)', field='entry_id')
    code = b.entry_id or b.code
    assert code is not None
    try:
        dispute = Disputes(DisputeStore(), DirectoryStore(), AlertStore()).file(person.employee_id, code, b.reason, 'api', call.now)
    except DisputeRefused as refused:
        field = 'reason' if refused.code == 'no_comment' else 'entry_id' if b.entry_id is not None else 'code'
        if refused.code in ('unknown_entry', 'not_yours'):
            raise NotFound(field=field) from refused  # another person's entry is answered as an unknown one
        if refused.code == 'already_disputed':
            raise Conflict(refused.reason, field, code=refused.code) from refused
        raise ApiError(refused.reason, field, code=refused.code) from refused
    return {'ok': True, 'dispute': dispute_view(dispute)}


@app.get('/v1/disputes')
def my_disputes() -> dict[str, Any]:
    from shared.api.people_views import dispute_view, window
    from shared.disputes.model import dispute_id_for
    from shared.disputes.store import DisputeStore
    from shared.ledger.store import LedgerStore

    call = current(app)
    _not_from_kiosk(call)
    person = call.scope.me()
    q = query(app, Paged)
    offset = decode_cursor('disputes', call.principal, {}, q.cursor)
    ids = [dispute_id_for(entry.entry_id) for entry in LedgerStore().entries_for(person.employee_id)]
    found = sorted(DisputeStore().many(ids), key=lambda d: (d.filed_at, d.dispute_id), reverse=True)
    shown, following = window(found, offset, q.limit)  # found from MY entries' ids: mine only
    return page([dispute_view(d) for d in shown], encode_cursor('disputes', call.principal, {}, following))


# --- kiosk PIN ---------------------------------------------------------------------------------------------------------
@app.put('/v1/me/pin')
def set_my_pin() -> dict[str, Any]:
    from shared.api.kiosk_pins import set_pin

    call = current(app)
    _not_from_kiosk(call)
    person = call.scope.me()
    b = body(app, PinBody)
    set_pin(person.employee_id, b.pin, call.now, call.api)
    return {'ok': True}


lambda_handler = handler(app)
