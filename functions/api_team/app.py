"""The team routes of the people-facing API (managers, regionals, hq, admins), each scoped by geography in ONE place
(shared/api/scope.py): a person, location or object outside the caller's scope is answered as an unknown one (404).
Other people leave only as `Person.public()` (no phone, no e-mail). The handlers parse and delegate to the existing
use cases (KPI report, live standings, statement, collusion flags, disputes, spot awards); the points-moving POSTs
require `Idempotency-Key`.

  GET  /v1/team/people                      ?location_id=&region=&cursor=&limit=
  GET  /v1/team/kpis                        ?period=&location_id=&employee_id=   KPIs vs targets + a 6-month trend
  GET  /v1/team/service-levels              ?period=&location_id=               level 1..5 per channel
  GET  /v1/team/standings                   ?program_id=&division=&month=
  GET  /v1/people/{employee_id}/statement   ?month=&program_id=
  GET  /v1/team/flags                       ?program_id=&month=&cursor=
  GET  /v1/team/disputes                    ?status=open|decided&location_id=&region=&cursor=
  POST /v1/team/disputes/{dispute_id}/decide {decision, reason, points?}
  GET  /v1/team/approvals                   ?program_id=&cursor=
  POST /v1/team/approvals/{award_id}/approve|reject {reason?}
  POST /v1/team/spot-awards                 {program_id, employee_id, points, reason_id, message?}
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, ConfigDict, Field

from shared.api.cursor import decode_cursor, encode_cursor
from shared.api.errors import BadRequest, Forbidden, NotFound
from shared.api.http import DEFAULT_LIMIT, MAX_LIMIT, Call, body, current, handler, page, people_api, query
from shared.api.idempotency import once, read_key, scoped_key
from shared.api.principal import Role
from shared.api.refusals import answer_refusals
from shared.api.scope import person_from_profile

app = people_api()
answer_refusals(app)

MONTH = r'^\d{4}-(0[1-9]|1[0-2])$'
TREND_MONTHS = 6
ID = Field(default=None, min_length=1, max_length=100)


class _Query(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)


class PeopleQuery(_Query):
    location_id: str | None = ID
    region: str | None = ID
    cursor: str | None = None
    limit: int = Field(default=20, ge=1, le=100)


class DisputesQuery(_Query):
    status: Literal['open', 'decided'] = 'open'
    location_id: str | None = ID
    region: str | None = ID
    cursor: str | None = None
    limit: int = Field(default=20, ge=1, le=100)


class KpiQuery(_Query):
    period: str | None = Field(default=None, pattern=MONTH)
    location_id: str | None = ID
    employee_id: str | None = ID


class LevelQuery(_Query):
    period: str | None = Field(default=None, pattern=MONTH)
    location_id: str | None = ID


class StandingsQuery(_Query):
    program_id: str = Field(min_length=1, max_length=64)
    division: str = Field(min_length=1, max_length=200)
    month: str | None = Field(default=None, pattern=MONTH)
    limit: int = Field(default=20, ge=1, le=100)


class StatementQuery(_Query):
    month: str | None = Field(default=None, pattern=MONTH)
    program_id: str | None = Field(default=None, min_length=1, max_length=64)
    cursor: str | None = Field(default=None, max_length=4096)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class FlagsQuery(_Query):
    program_id: str | None = Field(default=None, min_length=1, max_length=64)
    month: str | None = Field(default=None, pattern=MONTH)
    cursor: str | None = None
    limit: int = Field(default=20, ge=1, le=100)


class ApprovalsQuery(_Query):
    program_id: str | None = Field(default=None, min_length=1, max_length=64)
    cursor: str | None = None
    limit: int = Field(default=20, ge=1, le=100)


class DisputeDecisionBody(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    decision: Literal['accept', 'reject']
    reason: str = Field(min_length=5, max_length=500)
    points: int | None = Field(default=None, ge=-1_000_000, le=1_000_000, description='the correction; default: undo a debit')


class SpotDecisionBody(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=1000)


class SpotAwardBody(BaseModel):
    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    program_id: str = Field(min_length=1, max_length=64)
    employee_id: str = Field(min_length=1, max_length=64)
    points: int = Field(ge=1, le=10_000_000)
    reason_id: str = Field(min_length=1, max_length=64)
    message: str = Field(default='', max_length=500)


# --- helpers ----------------------------------------------------------------------------------------------------------
def _team(app: APIGatewayHttpResolver) -> Call:
    call = current(app)
    call.scope.require_people_role()
    return call


def _month(value: str | None, now: datetime) -> str:
    return value or now.strftime('%Y-%m')


def _months_back(month: str, n: int) -> list[str]:
    """`n` months ending with `month`, oldest first."""
    year, mon = int(month[:4]), int(month[5:])
    out = []
    for _ in range(n):
        out.append(f'{year:04d}-{mon:02d}')
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return out[::-1]


def actor_of(call: Call) -> Any:
    """The use cases' Actor for a verified token: `cognito/<role>/<employee id or sub>` (its last part, `Actor.name`, is
    the employee id the manager checks compare against the directory); the HTTP API request id is the reference."""
    from shared.ledger.approvals import Actor

    p = call.principal
    request_id = str((app.current_event.raw_event.get('requestContext') or {}).get('requestId') or 'unknown')
    return Actor(via='iam', principal=f'cognito/{p.role.value}/{p.employee_id or p.subject}', reference=request_id)


def admin_principals(call: Call, actor: Any) -> str:
    """The configured admin principals, plus this caller when their verified role is admin."""
    from shared.config import get_settings

    configured = get_settings().ADMIN_PRINCIPALS
    return f'{configured},{actor.principal}' if call.principal.role is Role.ADMIN else configured


def use_case_key(call: Call, key: str) -> str:
    """The caller's Idempotency-Key as the use case stores it (its field holds 128 characters)."""
    scoped = scoped_key(call.principal, key)
    return scoped if len(scoped) <= 128 else 'k:' + hashlib.sha256(scoped.encode()).hexdigest()


def _program(call: Call, program_id: str | None) -> str:
    """The program asked for (in the caller's programs), or the only one there is; several: 400 naming program_id."""
    if program_id:
        return call.scope.program(program_id)
    if len(call.principal.programs) == 1:
        return call.principal.programs[0]
    from shared.programs.loader import load_programs

    programs = [p for p in load_programs().programs if call.principal.in_program(p)]
    if len(programs) != 1:
        raise BadRequest(f'say which program ({", ".join(programs) or "none"})', field='program_id')
    return programs[0]


def _visible_ids(call: Call, employee_ids: list[str]) -> dict[str, Any]:
    """The people of `employee_ids` the caller may see (one BatchGetItem), by id."""
    found = call.scope.people.people(employee_ids)
    return {e: person for e, person in found.items() if call.scope.covers(person)}


# --- people -----------------------------------------------------------------------------------------------------------
def _locations(call: Call, q: PeopleQuery | DisputesQuery) -> list[str]:
    """The locations a list walks, one after the other: the one asked for, a region's, or the caller's own (a manager's
    location, a regional's region); hq and admin name one (no request reads everyone)."""
    from shared.directory.store import DirectoryStore

    p = call.principal
    if q.location_id:
        return [call.scope.location(q.location_id)]
    if q.region:
        if not call.scope.covers_region(q.region):
            raise NotFound(field='region')
        return sorted(DirectoryStore().locations_of_region(q.region))
    if p.role is Role.MANAGER and p.location_id:
        return [p.location_id]
    if p.role is Role.REGIONAL and p.region:
        return sorted(DirectoryStore().locations_of_region(p.region))
    raise BadRequest('name a location_id or a region: a list of everyone is not served', field='location_id')


@app.get('/v1/team/programs')
def team_programs() -> dict[str, Any]:
    """The programs in force that reach the caller's geography (a manager's location, a regional's region, everything for
    hq and admin), with their league's divisions: what the other team routes take as `program_id` and `division`."""
    from shared.programs.loader import load_programs

    call = _team(app)
    book = load_programs()
    items = []
    for program_id in sorted(book.programs):
        version = book.for_basis(program_id, call.now) or book.latest(program_id)
        if version is None or not call.principal.in_program(program_id) or not _reaches(call, version.document.scope):
            continue
        document, league = version.document, version.document.league
        items.append({'program_id': program_id, 'name': document.name, 'time_zone': document.time_zone,
                      'league': None if league is None else {'name': league.name, 'divisions_by': list(league.divisions.by),
                                                             'labels': dict(league.divisions.labels)}})  # fmt: skip
    return page(items, None)


def _reaches(call: Call, scope: Any) -> bool:
    """A program's scope reaches the caller's geography: some of its locations (or regions) are the caller's."""
    principal = call.principal
    if principal.role in (Role.HQ, Role.ADMIN):
        return True
    if principal.role is Role.MANAGER:
        known, region = call.scope.people.location_region(principal.location_id or '')
        return (not scope.locations or principal.location_id in scope.locations) and (
            not scope.regions or (known and region in scope.regions))
    if scope.regions:
        return principal.region in scope.regions
    return not scope.locations or any(call.scope.covers_location(location) for location in scope.locations)


@app.get('/v1/team/people')
def team_people() -> dict[str, Any]:
    from shared.directory.store import DirectoryStore

    call = _team(app)
    q = query(app, PeopleQuery)
    filters = {'location_id': q.location_id, 'region': q.region}
    locations = _locations(call, q)
    position = decode_cursor('team/people', call.principal, filters, q.cursor)
    start_location, after = (position[0], position[1]) if isinstance(position, list) and len(position) == 2 else (None, None)
    index = locations.index(start_location) if start_location in locations else 0
    store = DirectoryStore()
    items: list[dict[str, Any]] = []
    next_position: list[Any] | None = None
    while index < len(locations):
        location_id = locations[index]
        records, last = store.people_at(location_id, after=after, limit=q.limit - len(items))
        people = [person_from_profile(r) for r in records if not r.forgotten_at]
        items.extend(person.public() for person in call.scope.visible(people))
        if last is not None:
            next_position = [location_id, last]
            break
        index, after = index + 1, None
        if len(items) >= q.limit:
            next_position = [locations[index], None] if index < len(locations) else None
            break
    return page(items, encode_cursor('team/people', call.principal, filters, next_position))


# --- KPIs and service levels --------------------------------------------------------------------------------------------
def _kpi_scope(call: Call, location_id: str | None, employee_id: str | None = None) -> str:
    p = call.principal
    if employee_id:
        return f'employee#{call.scope.person(employee_id).employee_id}'
    if location_id:
        return f'location#{call.scope.location(location_id)}'
    if p.role is Role.MANAGER and p.location_id:
        return f'location#{p.location_id}'
    if p.role is Role.REGIONAL and p.region:
        return f'region#{p.region}'
    return 'all'


def kpi_targets(settings: Any) -> dict[str, dict[str, Any]]:
    """Targets: the programs' team bonus rules (first response and resolution, the strictest of the programs in force),
    else the service-level settings (first response: the e-mail channel's 'above average' bound; CSAT: quality's)."""
    from shared.events import Channel
    from shared.programs.period_rules import TeamBonusRule

    targets: dict[str, dict[str, Any]] = {
        'first_response_time': {'target': settings.response_levels[Channel.EMAIL].above_average, 'better': 'lower',
                                'source': 'kpi settings: above average'},
        'csat_average': {'target': settings.quality_levels.above_average, 'better': 'higher', 'source': 'kpi settings: above average'},
    }  # fmt: skip
    try:
        from shared.programs.loader import load_programs

        book = load_programs()
    except Exception:  # noqa: BLE001 - the settings' targets beat no answer
        return targets
    for program_id in book.programs:
        version = book.latest(program_id)
        for rule in version.document.period_rules if version else []:
            if not isinstance(rule, TeamBonusRule):
                continue
            for name, value in (('first_response_time', rule.first_response_target_minutes),
                                ('average_resolution_time', rule.resolution_target_minutes / 60)):  # fmt: skip
                known = targets.get(name)
                if known is None or str(known['source']).startswith('kpi settings') or value < known['target']:
                    targets[name] = {'target': round(value, 2), 'better': 'lower', 'source': f'{program_id}: {rule.rule_id}'}
    return targets


TREND_KPIS = ('tickets', 'first_response_time', 'average_resolution_time', 'csat_average', 'sla_compliance', 'first_time_fix_rate')


@app.get('/v1/team/kpis')
def team_kpis() -> dict[str, Any]:
    from shared.kpi.report import read_month
    from shared.kpi.settings import KpiSettings
    from shared.kpi.store import KpiStore

    call = _team(app)
    q = query(app, KpiQuery)
    scope = _kpi_scope(call, q.location_id, q.employee_id)
    period = _month(q.period, call.now)
    settings, store = KpiSettings(), KpiStore()
    # 6 Queries (a region: its locations from the directory, one Query, then its locations' days by BatchGetItem)
    locations = _region_locations()
    reports = {month: read_month(store, scope, month, settings, locations) for month in _months_back(period, TREND_MONTHS)}
    current_report = reports[period]
    targets = kpi_targets(settings)
    kpis = {name: value.as_dict() | ({'target': targets[name]['target'], 'better': targets[name]['better']} if name in targets else {})
            for name, value in current_report.kpis.items()}  # fmt: skip
    trend = [{'period': month, **{name: report.kpis[name].as_dict()['value'] for name in TREND_KPIS if name in report.kpis}}
             for month, report in reports.items()]  # fmt: skip
    return {'scope': scope, 'period': period, 'kpis': kpis, 'targets': targets, 'trend': trend}


def _region_locations() -> Any:
    """A region's locations as the directory holds them (as for a regional's service levels), read once per request."""
    from functools import cache

    from shared.directory.store import DirectoryStore

    return cache(lambda region: sorted(DirectoryStore().locations_of_region(region)))


def _levels(report: Any) -> dict[str, Any]:
    out = {}
    for channel, level in report.service_levels.items():
        kpis = report.channels[channel]
        out[channel] = {'level': level.level, 'name': level.name, 'response_level': level.response_level,
                        'quality_level': level.quality_level, 'first_response_time': kpis['first_response_time'].as_dict(),
                        'csat_average': kpis['csat_average'].as_dict()}  # fmt: skip
    return out


@app.get('/v1/team/service-levels')
def team_service_levels() -> dict[str, Any]:
    """Levels are judged per channel where the aggregator keeps channel splits: the organisation and each location."""
    from shared.directory.store import DirectoryStore
    from shared.kpi.report import LEVEL_NAMES, read_month
    from shared.kpi.settings import KpiSettings
    from shared.kpi.store import KpiStore

    call = _team(app)
    q = query(app, LevelQuery)
    period = _month(q.period, call.now)
    p = call.principal
    if q.location_id:
        scopes = [f'location#{call.scope.location(q.location_id)}']
    elif p.role is Role.MANAGER and p.location_id:
        scopes = [f'location#{p.location_id}']
    elif p.role is Role.REGIONAL and p.region:
        scopes = [f'location#{loc}' for loc in sorted(DirectoryStore().locations_of_region(p.region))]  # one Query each
    else:
        scopes = ['all']
    settings, store = KpiSettings(), KpiStore()
    thresholds = {ch.value: t.model_dump() for ch, t in settings.response_levels.items()}
    scoped = [{'scope': scope, 'channels': _levels(read_month(store, scope, period, settings))} for scope in scopes]
    return {'period': period, 'scopes': scoped, 'level_names': LEVEL_NAMES, 'response_thresholds_minutes': thresholds,
            'quality_thresholds': settings.quality_levels.model_dump()}  # fmt: skip


# --- standings and statements -------------------------------------------------------------------------------------------
def _covers_region_board(call: Call, region: str) -> bool:
    """A region's board: the region's regional, hq and admin, and the managers of a location in it."""
    p = call.principal
    if call.scope.covers_region(region):
        return True
    if p.role is Role.MANAGER and p.location_id:
        known, location_region = call.scope.people.location_region(p.location_id)
        return known and location_region == region
    return False


@app.get('/v1/team/standings')
def team_standings() -> dict[str, Any]:
    from shared.leagues.live import local_month
    from shared.leagues.live_store import LiveStore
    from shared.leagues.scorer import leagues_in_force

    call = _team(app)
    q = query(app, StandingsQuery)
    program_id = call.scope.program(q.program_id)
    league = leagues_in_force().get(program_id)
    if league is None:
        raise NotFound('no league on this program', field='program_id')
    by = list(league.config.divisions.by)
    values = q.division.split('|')
    if len(values) != len(by):
        raise BadRequest(f'a division of this league is {"|".join(by)}', field='division')
    if 'location_id' in by:
        call.scope.location(values[by.index('location_id')], field='division')
    if 'region' in by and not _covers_region_board(call, values[by.index('region')]):
        raise NotFound(field='division')
    month = q.month or local_month(call.now, league.zone)
    rows = LiveStore().top(program_id, month, q.division, n=q.limit)
    people = _visible_ids(call, [row.employee_id for row in rows])  # people out of scope are left out
    items = [{'rank': r.rank, 'employee_id': r.employee_id, 'name': people[r.employee_id].name, 'points': r.points, 'score': r.score,
              'items': r.items} for r in rows if r.employee_id in people]  # fmt: skip
    return {'program_id': program_id, 'month': month, 'division': q.division, 'division_name': league.config.division_name(q.division),
            'items': items}  # fmt: skip


@app.get('/v1/people/<employee_id>/statement')
def person_statement(employee_id: str) -> dict[str, Any]:
    """A person in the caller's scope: their statement as they read it (explained lines, paged), in the READER's language
    (a manager reads their people's statements in their own language)."""
    from shared.api.statements import statement_page
    from shared.programs.loader import load_programs

    call = _team(app)
    q = query(app, StatementQuery)
    person = call.scope.person(employee_id)
    if q.program_id:
        call.scope.program(q.program_id)
    reader = call.scope.people.person(call.principal.employee_id) if call.principal.employee_id else None
    language = reader.language if reader else 'en'
    statement = statement_page(call, person, list_name='people/statement', month=_month(q.month, call.now), program_id=q.program_id,
                               cursor=q.cursor, limit=q.limit, language=language, book=load_programs())  # fmt: skip
    return {'employee': person.public()} | statement


# --- collusion flags ----------------------------------------------------------------------------------------------------
@app.get('/v1/team/flags')
def team_flags() -> dict[str, Any]:
    from shared.recognition.flag_store import FlagStore

    call = _team(app)
    q = query(app, FlagsQuery)
    program_id = _program(call, q.program_id)
    month = _month(q.month, call.now)
    store = FlagStore()
    p = call.principal
    flags = (store.flags_for_manager(program_id, p.employee_id, month) if p.role is Role.MANAGER and p.employee_id
             else store.flags_of_program(program_id, month))  # fmt: skip
    covered = _visible_ids(call, sorted({member for flag in flags for member in flag.members}))
    in_scope = [flag for flag in flags if any(member in covered for member in flag.members)]
    filters = {'program_id': program_id, 'month': month}
    offset = int(decode_cursor('team/flags', call.principal, filters, q.cursor) or 0)
    chunk = in_scope[offset : offset + q.limit]
    items = [flag.model_dump(mode='json') for flag in chunk]
    more = offset + q.limit if offset + q.limit < len(in_scope) else None
    return page(items, encode_cursor('team/flags', call.principal, filters, more))


# --- disputes -------------------------------------------------------------------------------------------------------------
@app.get('/v1/team/disputes')
def team_disputes() -> dict[str, Any]:
    """Open (or decided) disputes of the locations in scope, newest first per location: one index Query a page."""
    from shared.disputes.store import DisputeStore

    call = _team(app)
    q = query(app, DisputesQuery)
    filters = {'status': q.status, 'location_id': q.location_id, 'region': q.region}
    locations = _locations(call, q)
    position = decode_cursor('team/disputes', call.principal, filters, q.cursor)
    start_location, after = (position[0], position[1]) if isinstance(position, list) and len(position) == 2 else (None, None)
    index = locations.index(start_location) if start_location in locations else 0
    store = DisputeStore()
    found: list[Any] = []
    next_position: list[Any] | None = None
    while index < len(locations):
        location_id = locations[index]
        disputes, last = store.at_location(location_id, decided=q.status == 'decided', after=after, limit=q.limit - len(found))
        found.extend(disputes)
        if last is not None:
            next_position = [location_id, last]
            break
        index, after = index + 1, None
        if len(found) >= q.limit:
            next_position = [locations[index], None] if index < len(locations) else None
            break
    people = _visible_ids(call, [d.employee_id for d in found])  # a person who moved out of scope since is left out
    items = [_dispute_item(d, people[d.employee_id]) for d in found if d.employee_id in people]
    return page(items, encode_cursor('team/disputes', call.principal, filters, next_position))


def _dispute_item(d: Any, person: Any) -> dict[str, Any]:
    return {'dispute_id': d.dispute_id, 'status': d.status.value, 'employee': person.public(), 'location_id': d.location_id,
            'entry_code': d.entry_code, 'entry_amount': d.entry_amount, 'entry_rule': d.entry_rule, 'comment': d.comment,
            'channel': d.channel, 'filed_at': d.filed_at.isoformat(), 'decision_reason': d.decision_reason,
            'decided_at': d.decided_at.isoformat() if d.decided_at else None, 'adjustment_points': d.adjustment_points,
            'adjustment_status': d.adjustment_status}  # fmt: skip


@app.post('/v1/team/disputes/<dispute_id>/decide')
def decide_dispute(dispute_id: str) -> dict[str, Any]:
    from shared.alerts.store import AlertStore
    from shared.config import get_settings
    from shared.directory.store import DirectoryStore
    from shared.disputes.service import Disputes
    from shared.disputes.store import DisputeStore
    from shared.ledger.approval_store import ApprovalStore
    from shared.ledger.store import LedgerStore

    call = _team(app)
    key = read_key(app.current_event.headers)
    decision = body(app, DisputeDecisionBody)
    if decision.points == 0:
        raise BadRequest('a correction of 0 points changes nothing: reject the dispute instead', field='points')
    store = DisputeStore()
    dispute = store.get(dispute_id)
    if dispute is None:
        raise NotFound(field='dispute_id')
    call.scope.person(dispute.employee_id, field='dispute_id')
    actor = actor_of(call)

    def run() -> dict[str, Any]:
        disputes = Disputes(store, DirectoryStore(), AlertStore(), LedgerStore(), ApprovalStore())
        return disputes.decide(dispute_id, accept=decision.decision == 'accept', reason=decision.reason, points=decision.points,
                               actor=actor, admin_principals=admin_principals(call, actor),
                               approval_above=get_settings().ADJUSTMENT_APPROVAL_ABOVE, now=call.now)  # fmt: skip

    return once('dispute_decide', call.principal, key, {'dispute_id': dispute_id, **decision.model_dump()}, run)


# --- spot awards ------------------------------------------------------------------------------------------------------------
@app.get('/v1/team/approvals')
def team_approvals() -> dict[str, Any]:
    from shared.recognition.spot_store import SpotStore

    call = _team(app)
    q = query(app, ApprovalsQuery)
    program_id = _program(call, q.program_id)
    filters = {'program_id': program_id}
    position = decode_cursor('team/approvals', call.principal, filters, q.cursor)
    result = SpotStore().pending(program_id, cursor=position if isinstance(position, str) else None, limit=q.limit)
    people = _visible_ids(call, [item.employee_id for item in result.items])
    items = [{'award_id': item.award_id, 'program_id': program_id, 'employee_id': item.employee_id,
              'employee_name': people[item.employee_id].name, 'manager_id': item.manager_id, 'points': item.points,
              'deadline': item.deadline, 'requested_at': item.requested_at}
             for item in result.items if item.employee_id in people]  # fmt: skip
    return page(items, encode_cursor('team/approvals', call.principal, filters, result.cursor))


def _spot_awards(call: Call, actor: Any) -> Any:
    from shared.recognition.spot_service import SpotAwards

    awards = SpotAwards.default()
    awards.admin_principals = admin_principals(call, actor)
    return awards


def _decide_award(award_id: str, approve: bool) -> dict[str, Any]:
    from shared.recognition.spot_store import SpotStore

    call = _team(app)
    key = read_key(app.current_event.headers)
    decision = body(app, SpotDecisionBody)
    if not approve and (decision.reason is None or len(decision.reason) < 5):
        raise BadRequest('a rejection needs a reason (at least 5 characters)', field='reason')
    award = SpotStore().get(award_id)
    if award is None:
        raise NotFound(field='award_id')
    call.scope.person(award.employee_id, field='award_id')
    actor = actor_of(call)

    def run() -> dict[str, Any]:
        return dict(_spot_awards(call, actor).decide(award_id, approve, decision.reason, actor, call.now).body())

    action = 'spot_approve' if approve else 'spot_reject'
    return once(action, call.principal, key, {'award_id': award_id, 'reason': decision.reason}, run)


@app.post('/v1/team/approvals/<award_id>/approve')
def approve_award(award_id: str) -> dict[str, Any]:
    return _decide_award(award_id, approve=True)


@app.post('/v1/team/approvals/<award_id>/reject')
def reject_award(award_id: str) -> dict[str, Any]:
    return _decide_award(award_id, approve=False)


@app.post('/v1/team/spot-awards')
def give_spot_award() -> dict[str, Any]:
    from shared.recognition.spot import SpotRequest

    call = _team(app)
    key = read_key(app.current_event.headers)
    award = body(app, SpotAwardBody)
    call.scope.program(award.program_id)
    receiver = call.scope.person(award.employee_id)
    if not call.principal.employee_id:
        raise Forbidden('a spot award is given by a person: the token names no employee', field='custom:employee_id')
    actor = actor_of(call)
    request = SpotRequest(program_id=award.program_id, manager_id=call.principal.employee_id, employee_id=receiver.employee_id,
                          points=award.points, reason_id=award.reason_id, message=award.message,
                          idempotency_key=use_case_key(call, key), via='http')  # fmt: skip
    return dict(_spot_awards(call, actor).award(request, actor, datetime.now(UTC)).body())


lambda_handler = handler(app)
