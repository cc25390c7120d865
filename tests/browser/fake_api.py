"""A fake of the people API and of Cognito's InitiateAuth, for driving the page in a real browser without the stack.

It serves infrastructure/web/ and a config.json on one origin, answers the routes the page calls with canned data in
the shapes the real routes answer (functions/api_people, api_team, api_kiosk: their field names, nesting and required
query parameters, e.g. a manager's team routes refuse a missing program_id with a 400 listing the programs), and records every request (headers included) so tests can assert what the page sent.
It keeps just enough state to be honest about what matters to the page: tokens it issued (revocable, to force a
401), Idempotency-Key replay (the same key answers the first outcome, one redemption), and kiosk session tokens that
rotate on every answer (each stays valid until the session ends, like the API's signed tokens before their exp)."""

from __future__ import annotations

import base64
import json
import mimetypes
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

WEB = Path(__file__).resolve().parents[2] / 'infrastructure' / 'web'
CLIENT_ID = 'fake-client-id'
PASSWORD = 'Pitcrew-local-1'
KIOSK_PIN = '2468'

USERS: dict[str, dict[str, Any]] = {
    'advisor': {'groups': ['advisor'], 'employee_id': 'E3', 'name': 'Chandra Advisor', 'location': 'IN-BLR-01'},
    'manager': {'groups': ['manager'], 'employee_id': 'M2', 'name': 'Maria Manager', 'location': 'IN-BLR-01'},
    'kiosk-in-blr-01': {'groups': ['kiosk'], 'employee_id': '', 'name': 'Kiosk IN-BLR-01', 'location': 'IN-BLR-01'},
}
PEOPLE = {'E3': 'Chandra Advisor', 'E4': 'Dev Technician'}
ROLES = {'E3': 'service_advisor', 'E4': 'technician', 'M2': 'manager'}
TEAM = [('E3', 'Chandra Advisor', 'service_advisor'), ('E5', 'Asha Advisor', 'service_advisor'), ('E4', 'Dev Technician', 'technician'),
        ('M2', 'Maria Manager', 'manager')]  # fmt: skip
PROGRAMS = ('ecommerce_support', 'pitstop')  # the manager's token allows both; only pitstop's league is by role|region
REGION = 'IN-South'


def which_program(query: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
    """The team routes' answer to a missing or unknown program_id (api_team._program), else None."""
    if not query.get('program_id'):
        return 400, {'ok': False, 'error': f'say which program ({", ".join(PROGRAMS)})', 'field': 'program_id'}
    if query['program_id'] not in PROGRAMS:
        return 404, {'ok': False, 'error': 'not found', 'field': 'program_id'}
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def fake_jwt(claims: dict[str, Any]) -> str:
    """A well-formed JWT (header.payload.signature) whose signature is random bytes: the page does not verify it."""
    header = {'alg': 'RS256', 'kid': 'fake-kid', 'typ': 'JWT'}
    return '.'.join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(secrets.token_bytes(32))))


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any


@dataclass
class FakeApi:
    url: str = ''
    kiosk_idle_s: int = 3
    me_language: str = ''
    requests: list[Recorded] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # id token -> user
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    # route key ('POST /v1/redemptions') -> statuses to answer first, in order (then the route answers normally)
    failures: dict[str, list[int]] = field(default_factory=dict)
    idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    redemptions: list[dict[str, Any]] = field(default_factory=list)
    recognitions: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    disputes: list[dict[str, Any]] = field(default_factory=list)
    kiosk_token: str | None = None  # the newest kiosk session token (a new one in every answer)
    kiosk_tokens: set[str] = field(default_factory=set)  # every token of the current session (all refused once it ends)
    kiosk_issued: list[str] = field(default_factory=list)  # every kiosk token answered, in order
    kiosk_deleted: list[str] = field(default_factory=list)
    available: int = 1250
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests use -------------------------------------------------------------------------------------------
    def calls(self, method: str, path: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def revoke_all(self) -> None:
        """Every token issued so far is refused from now on (ID and refresh): the next call gets a 401."""
        with self.lock:
            self.tokens.clear()
            self.refresh_tokens.clear()

    def fail(self, route: str, *statuses: int) -> None:
        with self.lock:
            self.failures.setdefault(route, []).extend(statuses)

    # --- Cognito ----------------------------------------------------------------------------------------------------
    def issue(self, user: str) -> dict[str, Any]:
        u = USERS[user]
        now = int(time.time())
        claims = {'sub': f'sub-{user}', 'cognito:username': user, 'cognito:groups': u['groups'], 'token_use': 'id', 'aud': CLIENT_ID,
                  'iss': 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_fake', 'iat': now, 'exp': now + 3600, 'name': u['name'],
                  'custom:employee_id': u['employee_id'], 'custom:location': u['location']}  # fmt: skip
        id_token, refresh = fake_jwt(claims), secrets.token_urlsafe(24)
        self.tokens[id_token] = user
        self.refresh_tokens[refresh] = user
        return {'IdToken': id_token, 'RefreshToken': refresh, 'AccessToken': fake_jwt({'sub': claims['sub']}), 'ExpiresIn': 3600,
                'TokenType': 'Bearer'}  # fmt: skip

    def cognito(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if (
            headers.get('x-amz-target') != 'AWSCognitoIdentityProviderService.InitiateAuth'
            or headers.get('content-type') != 'application/x-amz-json-1.1'
        ):
            return 400, {'__type': 'UnknownOperationException', 'message': 'bad target or content type'}
        if body.get('ClientId') != CLIENT_ID:
            return 400, {'__type': 'ResourceNotFoundException', 'message': 'User pool client does not exist.'}
        params = body.get('AuthParameters') or {}
        if body.get('AuthFlow') == 'USER_PASSWORD_AUTH':
            user = params.get('USERNAME', '')
            if user not in USERS or params.get('PASSWORD') != PASSWORD:
                return 400, {'__type': 'NotAuthorizedException', 'message': 'Incorrect username or password.'}
            return 200, {'AuthenticationResult': self.issue(user), 'ChallengeParameters': {}}
        if body.get('AuthFlow') == 'REFRESH_TOKEN_AUTH':
            user = self.refresh_tokens.get(params.get('REFRESH_TOKEN', ''), '')
            if not user:
                return 400, {'__type': 'NotAuthorizedException', 'message': 'Invalid Refresh Token'}
            result = self.issue(user)
            del result['RefreshToken']
            return 200, {'AuthenticationResult': result, 'ChallengeParameters': {}}
        return 400, {'__type': 'InvalidParameterException', 'message': 'unsupported AuthFlow'}

    # --- the API ----------------------------------------------------------------------------------------------------
    def answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        route = f'{method} {path}'
        auth = headers.get('authorization', '')
        user = self.tokens.get(auth.removeprefix('Bearer ')) if auth.startswith('Bearer ') else None
        if user is None:
            return 401, {'message': 'Unauthorized'}, {}
        if self.failures.get(route):
            status = self.failures[route].pop(0)
            extra = {'Retry-After': '7'} if status == 429 else {}
            return status, {'ok': False, 'error': 'too many requests' if status == 429 else 'service unavailable'}, extra
        out: dict[str, str] = {}
        person = USERS[user]['employee_id']
        if 'kiosk' in USERS[user]['groups'] and route != 'POST /v1/kiosk/sessions':
            session = headers.get('x-kiosk-session')
            if not session or session not in self.kiosk_tokens:
                return 401, {'ok': False, 'error': 'kiosk session expired'}, {}
            if route == 'DELETE /v1/kiosk/sessions':
                self.kiosk_deleted.append(session)
                self.kiosk_token = None
                self.kiosk_tokens.clear()
                return 204, {}, {}
            self.kiosk_token = f'ks.{secrets.token_hex(6)}'
            self.kiosk_tokens.add(self.kiosk_token)
            self.kiosk_issued.append(self.kiosk_token)
            out['X-Kiosk-Session'] = self.kiosk_token
            person = 'E4'
        key = headers.get('idempotency-key', '')
        if method == 'POST' and path != '/v1/kiosk/sessions':
            if not key:
                return 400, {'ok': False, 'error': 'Idempotency-Key header is required', 'field': 'Idempotency-Key'}, out
            if (user, key) in self.idempotent:
                status, answer = self.idempotent[(user, key)]
                return status, answer, out
        status, answer = self.route(method, path, query, body or {}, person, user)
        if method == 'POST' and key:
            self.idempotent[(user, key)] = (status, answer)
        return status, answer, out

    def route(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], person: str, user: str
    ) -> tuple[int, dict[str, Any]]:
        if (method, path) == ('GET', '/v1/me'):
            manager = 'manager' in USERS[user]['groups']
            own = {'employee_id': person, 'name': PEOPLE.get(person, USERS[user]['name']), 'role': ROLES.get(person, 'manager'),
                   'location_id': 'IN-BLR-01', 'region': REGION, 'active': True, 'manager_id': None if manager else 'M2', 'job_grade': None,
                   'language': self.me_language or 'en', 'time_zone': 'Asia/Kolkata'}  # fmt: skip
            wallets = [] if manager else [{'employee_id': person, 'program_id': 'pitstop', 'available': self.available, 'pending': 80, 'debt': 0,
                                           'currency': 'USD', 'points_per_currency_unit': 100.0, 'value': self.available / 100,
                                           'pending_value': 0.8, 'spendable': self.available}]  # fmt: skip
            return 200, {'person': own, 'programs': [] if manager else ['pitstop'], 'wallets': wallets,
                         'kiosk': 'kiosk' in USERS[user]['groups']}  # fmt: skip
        if (method, path) == ('GET', '/v1/me/rank'):
            # cumulative points per day; only today's point carries the rank
            movement = [{'date': f'2026-11-{d:02d}', 'points': p} for d, p in ((1, 0), (5, 80), (10, 150), (15, 260), (20, 340))]
            movement[-1]['rank'] = 3
            return 200, {'program_id': 'pitstop', 'month': '2026-11', 'league': 'Pitstop League',
                         'level': {'index': 1, 'name': 'Silver', 'lifetime_points': 1200},
                         'badges': [{'kind': 'milestone', 'key': 'first_five_star', 'name': 'First 5-star', 'at': '2026-11-12'}],
                         'movement': movement, 'division': f'service_advisor|{REGION}', 'division_name': 'Service advisors · South',
                         'rank': 3, 'of': 12, 'points': 340, 'score': 340.0, 'gap': 25, 'next_rank': 2, 'qualified': True, 'items': 9,
                         'min_items': 3, 'tied': False}  # fmt: skip
        if (method, path) == ('GET', '/v1/me/statement'):
            return 200, statement_page(query.get('cursor'))
        if (method, path) == ('GET', '/v1/feed'):
            return 200, {'items': [{'recognition_id': 'R1', 'giver_name': 'Dev Technician', 'receiver_name': 'Chandra Advisor', 'points': 20,
                                    'value': 'teamwork', 'message': 'Thanks for covering my shift', 'recorded_at': '2026-11-20T10:15:00Z'}],
                         'next_cursor': None}  # fmt: skip
        if (method, path) == ('GET', '/v1/catalogue'):
            return 200, {'items': [{'item_id': 'amazon-500', 'name': 'Amazon voucher 500', 'price_points': 500, 'description': 'Same-day e-voucher'},
                                   {'item_id': 'cap', 'name': 'Team cap', 'price_points': 300, 'stock': 4}], 'next_cursor': None}  # fmt: skip
        if (method, path) == ('POST', '/v1/redemptions'):
            if body.get('item_id') != 'amazon-500' or body.get('quantity') != 1:
                return 400, {'ok': False, 'error': 'unknown item', 'field': 'item_id'}
            redemption = {'redemption_id': f'RD{len(self.redemptions) + 1}', 'status': 'completed', 'points': 500, **body}
            self.redemptions.append(redemption)
            self.available -= 500
            return 201, redemption
        if (method, path) == ('POST', '/v1/recognitions'):
            if int(body.get('points') or 0) > 50:
                return 400, {'ok': False, 'error': 'points must be at most 50', 'field': 'points'}
            self.recognitions.append(body)
            return 201, {'recognition_id': f'RC{len(self.recognitions)}', **body}
        if (method, path) == ('POST', '/v1/disputes'):
            if not str(body.get('reason') or '').strip():
                return 400, {'ok': False, 'error': 'a reason is required', 'field': 'reason'}
            self.disputes.append(body)
            return 200, {'ok': True, 'dispute': {'dispute_id': f'D{len(self.disputes) + 10}', 'status': 'open'}}
        if (method, path) == ('POST', '/v1/kiosk/sessions'):
            if 'kiosk' not in USERS[user]['groups']:
                return 403, {'ok': False, 'error': 'not a kiosk device'}
            if body.get('employee_code') != 'E4' or body.get('pin') != KIOSK_PIN:
                return 401, {'ok': False, 'error': 'wrong employee code or PIN'}
            self.kiosk_token = f'ks.{secrets.token_hex(6)}'
            self.kiosk_tokens = {self.kiosk_token}
            self.kiosk_issued.append(self.kiosk_token)
            return 201, {
                'session': self.kiosk_token,
                'expires_in': 60,
                'person': {'employee_id': 'E4', 'name': 'Dev Technician', 'language': ''},
            }
        if (method, path) == ('GET', '/v1/standings'):
            board = [
                ('E5', 'Asha Advisor', 420),
                ('E6', 'Ravi Advisor', 365),
                (person, PEOPLE.get(person, ''), 340),
                ('E7', 'Meena Advisor', 300),
            ]
            items = [{'rank': i, 'employee_id': e, 'name': n, 'points': p, 'score': float(p), 'items': 5, 'me': e == person}
                     for i, (e, n, p) in enumerate(board, 1)]  # fmt: skip
            return 200, {'program_id': 'pitstop', 'month': '2026-11', 'division': f'service_advisor|{REGION}',
                         'division_name': 'Service advisors · South', 'items': items, 'next_cursor': None}  # fmt: skip
        if path.startswith('/v1/team/'):
            if 'manager' not in USERS[user]['groups']:
                return 403, {'ok': False, 'error': 'forbidden'}
            return self.team(method, path, query, body)
        return 404, {'ok': False, 'error': 'not found'}

    def team(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path == '/v1/team/programs':
            leagues = {'pitstop': {'name': 'Pitstop League', 'divisions_by': ['role', 'region'], 'labels': {}},
                       'ecommerce_support': {'name': 'Support League', 'divisions_by': ['role'], 'labels': {}}}  # fmt: skip
            return 200, {'items': [{'program_id': p, 'name': p, 'time_zone': 'Asia/Kolkata', 'league': leagues[p]} for p in PROGRAMS],
                         'next_cursor': None}  # fmt: skip
        if path == '/v1/team/people':
            return 200, {'items': [{'employee_id': e, 'name': n, 'role': r, 'location_id': 'IN-BLR-01', 'region': REGION, 'active': True}
                                   for e, n, r in TEAM], 'next_cursor': None}  # fmt: skip
        if path == '/v1/team/kpis':
            months = ['2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11']
            frt, csat, tickets = (95, 80, 72, 66, 58, 52), (4.5, 4.6, 4.7, 4.75, 4.85, 4.9), (120, 131, 118, 140, 152, 149)
            kpi = {'numerator': 0, 'count': 40, 'significant': True}
            return 200, {'scope': 'location#IN-BLR-01', 'period': query.get('period') or months[-1], 'kpis': {
                'tickets': {**kpi, 'value': 149, 'unit': 'count'},
                'first_response_time': {**kpi, 'value': 52, 'unit': 'min', 'target': 60.0, 'better': 'lower'},
                'csat_average': {**kpi, 'value': 4.9, 'unit': 'score', 'target': 4.8, 'better': 'higher'},
                'abandonment_rate': {**kpi, 'value': None, 'unit': '%', 'significant': False}},
                'targets': {'first_response_time': {'target': 60.0, 'better': 'lower', 'source': 'pitstop: team_bonus'},
                            'csat_average': {'target': 4.8, 'better': 'higher', 'source': 'kpi settings: above average'}},
                'trend': [{'period': m, 'tickets': t, 'first_response_time': f, 'csat_average': c}
                          for m, t, f, c in zip(months, tickets, frt, csat, strict=True)]}  # fmt: skip
        if path == '/v1/team/service-levels':

            def level(n: int, name: str) -> dict[str, Any]:
                return {'level': n, 'name': name, 'response_level': n, 'quality_level': n,
                        'first_response_time': {'value': 4.0, 'unit': 'min'}, 'csat_average': {'value': 4.6, 'unit': 'score'}}  # fmt: skip

            return 200, {'period': '2026-11', 'scopes': [{'scope': 'location#IN-BLR-01', 'channels': {
                'chat': level(4, 'above average'), 'email': level(2, 'below average')}}],
                'level_names': {'1': 'unacceptable', '2': 'below average', '3': 'average', '4': 'above average', '5': 'stellar'}}  # fmt: skip
        if path == '/v1/team/standings':
            if not query.get('program_id'):
                return 400, {'ok': False, 'error': 'Field required', 'field': 'program_id'}
            if not query.get('division'):
                return 400, {'ok': False, 'error': 'Field required', 'field': 'division'}
            if query['program_id'] == 'ecommerce_support':
                return 400, {'ok': False, 'error': 'a division of this league is role', 'field': 'division'}
            board = {f'service_advisor|{REGION}': [('E3', 'Chandra Advisor', 420), ('E5', 'Asha Advisor', 390)],
                     f'technician|{REGION}': [('E4', 'Dev Technician', 310)]}.get(query['division'], [])  # fmt: skip
            return 200, {'program_id': query['program_id'], 'month': query.get('month') or '2026-11', 'division': query['division'],
                         'division_name': 'Service advisors · South',
                         'items': [{'rank': i, 'employee_id': e, 'name': n, 'points': p, 'score': float(p), 'items': 5}
                                   for i, (e, n, p) in enumerate(board, 1)]}  # fmt: skip
        if path == '/v1/team/flags':
            refused = which_program(query)
            if refused:
                return refused
            return 200, {'items': [{'program_id': query['program_id'], 'month': '2026-11', 'kind': 'reciprocal', 'key': '2026-11#reciprocal#E3+E4',
                                    'members': ['E3', 'E4'], 'managers': ['M2'], 'unmanaged': [], 'team_id': None, 'team_points': 0,
                                    'points': 120, 'recognitions': 6}], 'next_cursor': None}  # fmt: skip
        if path == '/v1/team/disputes':
            return 200, {'items': [{'dispute_id': 'D1', 'status': 'open', 'employee': {'employee_id': 'E4', 'name': 'Dev Technician', 'role': 'technician',
                                                                                        'location_id': 'IN-BLR-01', 'region': REGION, 'active': True},
                                    'location_id': 'IN-BLR-01', 'entry_code': 'K7Q2', 'entry_amount': -20, 'entry_rule': 'csat@2',
                                    'comment': 'The survey was for another ticket', 'channel': 'api', 'filed_at': '2026-11-18T09:00:00+00:00',
                                    'decision_reason': None, 'decided_at': None, 'adjustment_points': None, 'adjustment_status': None}],
                         'next_cursor': None}  # fmt: skip
        if path == '/v1/team/approvals' and method == 'GET':
            refused = which_program(query)
            if refused:
                return refused
            return 200, {'items': [{'award_id': 'SA1', 'program_id': query['program_id'], 'employee_id': 'E3', 'employee_name': 'Chandra Advisor',
                                    'manager_id': 'M2', 'points': 150, 'deadline': '2026-11-28T12:00:00+00:00',
                                    'requested_at': '2026-11-21T12:00:00+00:00'}], 'next_cursor': None}  # fmt: skip
        if method == 'POST' and path.startswith(('/v1/team/disputes/', '/v1/team/approvals/')):
            if path.endswith('/reject') and len(str(body.get('reason') or '')) < 5:
                return 400, {'ok': False, 'error': 'a rejection needs a reason (at least 5 characters)', 'field': 'reason'}
            self.decisions.append({'path': path, 'body': body})
            return 200, {'ok': True, 'path': path}
        return 404, {'ok': False, 'error': 'not found'}


def statement_page(cursor: str | None) -> dict[str, Any]:
    """Two pages of November's statement: the second page answers cursor 'p2'."""
    first = [
        {'entry_id': 'EN1', 'code': 'K7Q2', 'date': '2026-11-12', 'amount': 20, 'kind': 'award', 'program': 'pitstop@3', 'rule': 'csat@2',
         'ticket_key': 'zendesk:1001', 'basis': 'survey R1', 'explanation': '+20 for "5-star CSAT" on zendesk:1001 (survey R1)',
         'inputs': {'rating': 5, 'channel': 'chat'}, 'notes': []},
        {'entry_id': 'EN2', 'code': 'P3M8', 'date': '2026-11-14', 'amount': -10, 'kind': 'reversal', 'program': 'pitstop@3', 'rule': 'fcr@1',
         'ticket_key': 'zendesk:1002', 'basis': 'resolution', 'explanation': '-10 reversed: ticket zendesk:1002 was reopened',
         'inputs': {'reopened': True}, 'notes': ['reopened within 7 days']},
    ]  # fmt: skip
    second = [
        {'entry_id': 'EN3', 'code': 'Z9X1', 'date': '2026-11-20', 'amount': 35, 'kind': 'award', 'program': 'pitstop@3', 'rule': 'upsell@1',
         'ticket_key': 'dms:JC-77', 'basis': 'upsell L2', 'explanation': '+35 for "Upsell" on dms:JC-77 (upsell L2)',
         'inputs': {'revenue': 140.0}, 'notes': []},
    ]  # fmt: skip
    for line in (*first, *second):
        line['rule_title'] = {'csat@2': '5-star CSAT', 'fcr@1': 'First-contact resolution', 'upsell@1': 'Upsell'}[str(line['rule'])]
        line['inputs_text'] = ''
        line['late'] = False
    if cursor == 'p2':
        return {'items': second, 'next_cursor': None}
    return {'employee_id': 'E3', 'month': '2026-11', 'program_id': None, 'language': 'en', 'late_entries': 0, 'reconciles': True, 'pending': [], 'totals': {'opening_available': 1200, 'earned': 55, 'penalties': 0, 'reversed': -10, 'adjusted': 0,
                                           'closing_available': 1245, 'pending': 80},
            'by_rule': [{'rule_id': 'csat', 'title': '5-star CSAT', 'points': 20}, {'rule_id': 'upsell', 'title': 'Upsell', 'points': 35},
                        {'rule_id': 'fcr', 'title': 'First-contact resolution', 'points': -10}],
            'items': first, 'next_cursor': 'p2'}  # fmt: skip


def serve(fake: FakeApi) -> ThreadingHTTPServer:
    """Start the fake on a free port of 127.0.0.1 in a daemon thread; fake.url is set. Stop with server.shutdown()."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(payload)))
            self.send_header('Cache-Control', 'no-store')
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if status != 204:
                self.wfile.write(payload)

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get('Content-Length') or 0)
            raw = self.rfile.read(length) if length else b''
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            if parts.path == '/cognito/' and method == 'POST':
                with fake.lock:
                    status, answer = fake.cognito(headers, body or {})
                self._send(status, json.dumps(answer).encode(), 'application/x-amz-json-1.1')
                return
            if parts.path.startswith('/v1/'):
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                with fake.lock:
                    fake.requests.append(Recorded(method, parts.path, query, headers, body))
                    status, answer, extra = fake.answer(method, parts.path, query, headers, body)
                self._send(status, json.dumps(answer).encode(), 'application/json', extra)
                return
            if method != 'GET':
                self._send(405, b'{}', 'application/json')
                return
            if parts.path == '/config.json':
                config = {'api': fake.url, 'region': 'us-east-1', 'user_pool_id': 'us-east-1_fake', 'client_id': CLIENT_ID,
                          'cognito_endpoint': f'{fake.url}/cognito/', 'kiosk_idle_s': fake.kiosk_idle_s}  # fmt: skip
                self._send(200, json.dumps(config).encode(), 'application/json')
                return
            file = (WEB / (parts.path.lstrip('/') or 'index.html')).resolve()
            if not file.is_file() or WEB not in file.parents:
                self._send(404, b'not found', 'text/plain')
                return
            kind = 'application/json' if file.suffix == '.json' else mimetypes.guess_type(file.name)[0] or 'application/octet-stream'
            self._send(200, file.read_bytes(), f'{kind}; charset=utf-8' if kind.startswith(('text/', 'application/j')) else kind)

        def do_GET(self) -> None:  # noqa: N802
            self._handle('GET')

        def do_POST(self) -> None:  # noqa: N802
            self._handle('POST')

        def do_DELETE(self) -> None:  # noqa: N802
            self._handle('DELETE')

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    fake.url = f'http://127.0.0.1:{server.server_address[1]}'
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
