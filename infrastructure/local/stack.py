"""The embedded local stack: moto in server mode as the local AWS, resources created from
template.yaml, the template's HTTP routes served on 127.0.0.1 as API Gateway (HTTP API 2.0) events
for the real handlers, and the SQS-triggered function fed from the local queue with Lambda's batch
and partial-failure semantics. No Docker, no network, no AWS account.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from infrastructure.local import moto_patches
from infrastructure.local.cognito import LocalLogin, LocalPool, create_local_users, create_people_pool, create_signing_secret
from infrastructure.local.event_filter import delivers
from infrastructure.local.local_auth import (
    UNAUTHORIZED,
    ApiGate,
    Unauthorized,
    api_gate,
    authorizer_context,
    moto_jwks,
    page_headers,
    static_file,
)
from infrastructure.local.replay import Schedule
from infrastructure.local.sample_month import service_config
from infrastructure.local.schedule import RealTimeSchedules, fire_times, scheduled_event, scheduler_input
from infrastructure.local.template_resources import (
    BUCKET_ENV,
    TABLE_ENV,
    create_buckets,
    create_queues,
    create_tables,
    stream_filters,
    template_document,
)

ROOT = Path(__file__).resolve().parents[2]
REGION = 'us-east-1'
LOCAL_SECRETS = {
    'zendesk': {'secret': 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=='},  # Zendesk's documented test secret
    'freshdesk': {'secret': 'local-freshdesk-token'},
    'salesforce': {'secret': 'local-salesforce-token', 'organization_id': '00D5g000000ABCDEAZ'},
    'gorgias': {'secret': 'local-gorgias-token'},
    'dms': {'secret': 'local-dms-signing-secret'},
    'survey': {'secret': 'local-survey-signing-secret'},
    'lms': {'secret': 'local-lms-signing-secret'},
    'quality': {'secret': 'local-quality-signing-secret'},
    'safety': {'secret': 'local-safety-signing-secret'},
}
SECRETS_PREFIX = '/pitcrew/local/sources'
SERVICE_CONFIG_PARAMETER = '/pitcrew/local/service-config'
SOURCE_API_PREFIX = '/pitcrew/local/source-api'
# The helpdesks verify mode can ask (shared/verify): with `--verify-sources` the processor confirms every event of
# these through the local fake helpdesk APIs (infrastructure/local/fake_helpdesks.py) before it can earn points.
VERIFIED_SOURCES = ('freshdesk', 'gorgias', 'salesforce')
PROGRAMS_PATH = '/pitcrew/local/programs'
PROGRAM_DOCUMENTS = tuple(
    Path(__file__).resolve().parents[2] / 'events' / name for name in ('program_support.json', 'program_workshop.json')
)
CATALOGUES_PATH = '/pitcrew/local/catalogues'
CATALOGUE_DOCUMENTS = tuple(
    Path(__file__).resolve().parents[2] / 'events' / name for name in ('catalogue_support.json', 'catalogue_workshop.json')
)
TWILIO_PARAMETER = '/pitcrew/local/twilio'
LOCAL_WHATSAPP_FROM = 'whatsapp:+14155238886'  # Twilio's sandbox sender, as in Twilio's docs
LOCAL_SMS_FROM = '+15005550006'  # Twilio's magic test number
STREAM_WINDOW_CAP_S = 5.0
HEALTH_PATH = '/_local/health'  # the local API's own route (not in the template): serving, and the replay's progress
LOCAL_AUDIT_EMAIL_FROM = 'pitcrew-audit@example.com'  # verified in the local SES at start
LOCAL_AUDIT_EMAIL_TO = 'service-admin@example.com'


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    path: str
    handler: str
    # The HTTP API it is on (ApiId's logical id) and the event's own Auth, if any (the API's gate applies them).
    api: str = ''
    auth: dict[str, Any] | None = None

    def match(self, method: str, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found and method == self.method else None


def http_routes() -> list[Route]:
    """Every HttpApi event of every function in the template."""
    routes = []
    for resource in template_document()['Resources'].values():
        if resource.get('Type') != 'AWS::Serverless::Function':
            continue
        for event in (resource['Properties'].get('Events') or {}).values():
            if event.get('Type') != 'HttpApi':
                continue
            path = event['Properties']['Path']
            regex = re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)', path)
            api = event['Properties'].get('ApiId', {})
            routes.append(Route(event['Properties']['Method'].upper(), re.compile(regex), path, resource['Properties']['Handler'],
                                api.get('Ref', '') if isinstance(api, dict) else '', event['Properties'].get('Auth')))  # fmt: skip
    return routes


def _skip_signing_for_in_process_aws() -> None:
    """In this process every AWS call goes to moto in-process, which does not check signatures; SigV4 signing was
    about a tenth of the handlers' CPU in the replay (measured: 83 -> 91 events/s at scale 0.4). Only this process,
    only the local stack: other processes (the AWS CLI, the tests' clients) sign as usual. S3 requests still sign: moto
    serves an unsigned S3 request as anonymous, and a private bucket refuses it (403), as S3 would."""
    from botocore.signers import RequestSigner

    signed = RequestSigner.sign

    def sign(self: RequestSigner, *args: Any, **kwargs: Any) -> None:
        if self.signing_name == 's3':
            signed(self, *args, **kwargs)

    RequestSigner.sign = sign  # type: ignore[method-assign]


ALERT_HANDLERS = ('functions.alert_', 'functions.daily_reminders.')


def is_alerting(handler: str) -> bool:
    return handler.startswith(ALERT_HANDLERS)


class Scheduled(NamedTuple):
    """A scheduled invocation of a function: `time_zone` reads the cron fields (EventBridge Scheduler's
    ScheduleExpressionTimezone; rules are UTC); `input`: the Scheduler target's Input (sent as-is, its scheduled
    time filled in), None for an EventBridge rule (which sends its Scheduled Event)."""

    name: str
    handler: str
    expression: str
    time_zone: str = 'UTC'
    input: str | None = None


def scheduled_functions() -> list[Scheduled]:
    """Every Schedule / ScheduleV2 event of a function, and every AWS::Scheduler::Schedule whose target is one."""
    found = []
    resources = template_document()['Resources']
    for logical_id, resource in resources.items():
        if resource.get('Type') != 'AWS::Serverless::Function':
            continue
        for event in (resource['Properties'].get('Events') or {}).values():
            properties = event.get('Properties', {})
            if event.get('Type') == 'Schedule' and properties.get('Enabled', True) is not False:
                found.append(Scheduled(logical_id, resource['Properties']['Handler'], properties['Schedule']))
            elif event.get('Type') == 'ScheduleV2' and properties.get('State', 'ENABLED') == 'ENABLED':
                found.append(Scheduled(logical_id, resource['Properties']['Handler'], properties['ScheduleExpression'],
                                       properties.get('ScheduleExpressionTimezone', 'UTC')))
    for logical_id, resource in resources.items():
        properties = resource.get('Properties', {})
        if resource.get('Type') != 'AWS::Scheduler::Schedule' or properties.get('State', 'ENABLED') != 'ENABLED':
            continue
        target = properties['Target']
        function = target['Arn'].get('Fn::GetAtt', [None])[0] if isinstance(target['Arn'], dict) else None
        if function in resources and resources[function].get('Type') == 'AWS::Serverless::Function':
            found.append(Scheduled(logical_id, resources[function]['Properties']['Handler'], properties['ScheduleExpression'],
                                   properties.get('ScheduleExpressionTimezone', 'UTC'), target.get('Input', '{}')))
    return found


_ENVIRONMENTS: dict[str, threading.Lock] = {}
_ENVIRONMENTS_LOCK = threading.Lock()


def invoke(dotted: str, event: dict[str, Any]) -> Any:
    """Invoke a handler as Lambda does: one invocation at a time per execution environment.

    This process is one warm environment per function, so invocations of a function are serialized. The handlers
    rightly keep per-environment state (Powertools' batch processor, logger keys, caches); two threads inside one
    handler at once mixed the batch processor's records and lost events.
    """
    with _ENVIRONMENTS_LOCK:
        environment = _ENVIRONMENTS.setdefault(dotted, threading.Lock())
    with environment:
        try:
            return load_handler(dotted)(event, _Context())
        finally:
            _drop_metrics()


def _drop_metrics() -> None:
    """With POWERTOOLS_METRICS_DISABLED, Powertools skips the flush but keeps the values: in one long-lived process they
    pile up (every handler shares the one Metrics) until add_metric's own overflow flush prints them. Drop them."""
    from shared.observability import metrics

    metrics.clear_metrics()


def load_handler(dotted: str) -> Callable[[dict[str, Any], Any], Any]:
    module, _, name = dotted.rpartition('.')
    return getattr(importlib.import_module(module), name)


def lambda_context() -> Any:
    return _Context()


class _Context:
    function_name = 'pitcrew-local'
    memory_limit_in_mb = 512
    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:pitcrew-local'

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_event(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, route: Route, params: dict[str, str]
) -> dict[str, Any]:
    import base64

    try:
        text, encoded = body.decode('utf-8'), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        'version': '2.0',
        'routeKey': f'{method} {route.path}',
        'rawPath': path,
        'rawQueryString': query,
        'headers': {k.lower(): v for k, v in headers.items()},
        'requestContext': {
            'accountId': '123456789012',
            'apiId': 'local',
            'domainName': '127.0.0.1',
            'stage': '$default',
            'http': {
                'method': method,
                'path': path,
                'protocol': 'HTTP/1.1',
                'sourceIp': '127.0.0.1',
                'userAgent': headers.get('User-Agent', ''),
            },
            'requestId': str(uuid.uuid4()),
            'routeKey': f'{method} {route.path}',
            'timeEpoch': int(time.time() * 1000),
        },
        'pathParameters': params,
        'body': text,
        'isBase64Encoded': encoded,
    }
    if query:
        event['queryStringParameters'] = dict(parse_qsl(query, keep_blank_values=True))
    return event


@dataclass
class LocalStack:
    aws_port: int = 5001
    api_port: int = 3000
    twilio_port: int = 4010
    routes: list[Route] = field(default_factory=list)
    queue_url: str = ''
    dlq_url: str = ''
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    # Concurrent batches (Lambda's SQS poller runs at least 5 in AWS). Locally every thread shares one interpreter
    # lock: measured on two cores, 2 pollers and 3 senders replay faster than 4 and 4.
    pollers: int = 2
    alert_messages_per_second: float = 50.0
    twilio_callbacks: bool = True
    # False: the stack without its alerting functions (planner, scan, sender, reminders), to measure the rest alone.
    alerts: bool = True
    # What `GET /_local/health` says besides "serving" (`make run`: the background replay's progress).
    health_detail: Callable[[], dict[str, Any]] | None = None
    # True: verify mode on for the helpdesks that do not sign (the fakes answer from the month's genuine tickets).
    verify_sources: bool = False
    # The people API (issue 15): its user pool on moto Cognito, and what API Gateway applies before its functions
    # (infrastructure/local/local_auth.py), per HTTP API of the template.
    people_pool: LocalPool | None = None
    gates: dict[str, ApiGate] = field(default_factory=dict)
    page_headers: dict[str, str] = field(default_factory=dict)
    _stream_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def health(self) -> dict[str, Any]:
        return {'status': 'serving', 'replay': self.health_detail() if self.health_detail else None}

    @property
    def aws_endpoint(self) -> str:
        return f'http://127.0.0.1:{self.aws_port}'

    def start(self) -> None:
        from moto import mock_aws
        from moto.server import ThreadedMotoServer

        moto_patches.apply_server()
        logging.getLogger('werkzeug').setLevel(logging.ERROR)
        # The handlers reach the emulated AWS in-process (moto's mock, no socket); the same state is served on
        # aws_port for everyone else (AWS CLI, boto3, the tests). Through a socket, every AWS call cost about 3x
        # the CPU (HTTP client, werkzeug, flask), which made the month's replay too slow on two cores.
        self._mock = mock_aws()
        self._mock.start()
        _skip_signing_for_in_process_aws()
        self._moto = ThreadedMotoServer(ip_address='127.0.0.1', port=self.aws_port, verbose=False)
        self._moto.start()
        os.environ.update(
            {
                'AWS_ACCESS_KEY_ID': 'local',
                'AWS_SECRET_ACCESS_KEY': 'local',
                'AWS_DEFAULT_REGION': REGION,
                'AWS_REGION': REGION,
                'SECRETS_PREFIX': SECRETS_PREFIX,
                'SOURCE_API_PREFIX': SOURCE_API_PREFIX,
                'STAGE': 'local',
                'POWERTOOLS_SERVICE_NAME': 'pitcrew-local',
                'POWERTOOLS_METRICS_NAMESPACE': 'PitcrewLocal',
                'POWERTOOLS_METRICS_DISABLED': 'true',
                'AUDIT_EMAIL_FROM': LOCAL_AUDIT_EMAIL_FROM,
                'AUDIT_EMAIL_TO': LOCAL_AUDIT_EMAIL_TO,
                'POWERTOOLS_LOG_LEVEL': os.environ.get('POWERTOOLS_LOG_LEVEL', 'WARNING'),
            }
        )
        os.environ.pop('AWS_PROFILE', None)
        os.environ.pop('AWS_ENDPOINT_URL', None)
        import boto3

        tables = create_tables(boto3.client('dynamodb', region_name=REGION))
        for logical_id, name in tables.items():
            os.environ[TABLE_ENV[logical_id][0]] = name
        for logical_id, name in create_buckets(boto3.client('s3', region_name=REGION)).items():
            os.environ[BUCKET_ENV[logical_id][0]] = name
        sqs = boto3.client('sqs', region_name=REGION)
        queues = create_queues(sqs)
        self.queue_url, self.dlq_url = queues['EventsQueue'], queues['EventsDLQ']
        self.queue_urls = queues
        os.environ['EVENTS_QUEUE_URL'] = self.queue_url
        os.environ['ALERTS_QUEUE_URL'] = queues['AlertsQueue']
        os.environ['LEAGUE_CLOSE_QUEUE_URL'] = queues['LeagueCloseQueue']
        os.environ['REDEMPTIONS_QUEUE_URL'] = queues['RedemptionsQueue']
        os.environ['PREVIEWS_QUEUE_URL'] = queues['PreviewsQueue']
        ssm = boto3.client('ssm', region_name=REGION)
        for source, value in LOCAL_SECRETS.items():
            ssm.put_parameter(Name=f'{SECRETS_PREFIX}/{source}', Value=json.dumps(value), Type='SecureString', Overwrite=True)
        # The helpdesks' REST APIs (verify mode), faked locally; their credentials where the template's processor reads them.
        from infrastructure.local.fake_helpdesks import FakeHelpdesks

        self.helpdesks = FakeHelpdesks().start()
        for source, credentials in self.helpdesks.credentials().items():
            ssm.put_parameter(Name=f'{SOURCE_API_PREFIX}/{source}', Value=json.dumps(credentials), Type='SecureString', Overwrite=True)
        config = service_config()
        if self.verify_sources:  # the local fakes take any pace; a replay's events are old by design (no freshness check)
            config['sources'] = {source: {'verify': 'source_api', 'requests_per_minute': 60_000, 'burst': 1_000}
                                 for source in VERIFIED_SOURCES}  # fmt: skip
        ssm.put_parameter(Name=SERVICE_CONFIG_PARAMETER, Value=json.dumps(config), Type='String', Overwrite=True)
        os.environ['SERVICE_CONFIG_PARAMETER'] = SERVICE_CONFIG_PARAMETER
        # The two incentive programs of the brief, as shipped in events/ (one parameter each, versioned by SSM).
        for document in PROGRAM_DOCUMENTS:
            program = json.loads(document.read_text())
            ssm.put_parameter(Name=f'{PROGRAMS_PATH}/{program["program_id"]}', Value=json.dumps(program), Type='String',
                              Tier='Intelligent-Tiering', Overwrite=True)
        os.environ['PROGRAMS_PATH'] = PROGRAMS_PATH
        # Their reward catalogues (shared/wallet/catalogue.py), versioned the same way.
        for document in CATALOGUE_DOCUMENTS:
            catalogue = json.loads(document.read_text())
            ssm.put_parameter(Name=f'{CATALOGUES_PATH}/{catalogue["program_id"]}', Value=json.dumps(catalogue), Type='String',
                              Tier='Intelligent-Tiering', Overwrite=True)
        os.environ['CATALOGUES_PATH'] = CATALOGUES_PATH
        boto3.client('sesv2', region_name=REGION).create_email_identity(EmailIdentity=LOCAL_AUDIT_EMAIL_FROM)
        from infrastructure.local.fake_twilio import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN

        twilio_account = {'account_sid': LOCAL_ACCOUNT_SID, 'auth_token': LOCAL_AUTH_TOKEN, 'whatsapp_from': LOCAL_WHATSAPP_FROM,
                          'sms_from': LOCAL_SMS_FROM}  # fmt: skip
        ssm.put_parameter(Name=TWILIO_PARAMETER, Value=json.dumps(twilio_account), Type='SecureString', Overwrite=True)
        os.environ.update(
            {
                'TWILIO_PARAMETER': TWILIO_PARAMETER,
                'TWILIO_API_BASE_URL': f'http://127.0.0.1:{self.twilio_port}',
                'PUBLIC_API_BASE_URL': f'http://127.0.0.1:{self.api_port}',
                'ALERT_MESSAGES_PER_SECOND': str(self.alert_messages_per_second),
                # The replay's clock is simulated: one scan per invocation (the 30 s wait between scans is wall time).
                'ALERT_SCANS_PER_MINUTE': '1',
                # One partition of the due index: moto reads a whole table per index query (DynamoDB reads the partition).
                'ALERT_DUE_SHARDS': '1',
                # Likewise one partition of the tickets table's holds index (the hold release's Query).
                'HOLD_SHARDS': '1',
            }
        )
        self._start_people_api()
        from shared.config import get_settings

        get_settings.cache_clear()
        self.sqs = sqs
        self.routes = http_routes()
        # Import every handler here, once, before any thread runs (imports are not thread-safe to race).
        for route in self.routes:
            load_handler(route.handler)
        self._sqs_functions = [f for f in self._sqs_handlers() if self.alerts or not is_alerting(f[0])]
        self._stream_functions = [f for f in self._stream_handlers() if self.alerts or not is_alerting(f[0])]
        for handler_path in [f[0] for f in self._sqs_functions] + [f[0] for f in self._stream_functions]:
            load_handler(handler_path)
        for scheduled in scheduled_functions():
            load_handler(scheduled.handler)
        self.stream_applied = {handler_path: 0 for handler_path, *_ in self._stream_functions}
        from infrastructure.local.fake_twilio import FakeTwilio

        self.twilio = FakeTwilio(port=self.twilio_port, auto_callbacks=self.twilio_callbacks).start()
        self.started_at = datetime.now(UTC)
        self._api = ThreadingHTTPServer(('127.0.0.1', self.api_port), self._request_handler())
        self._spawn(self._api.serve_forever)
        for handler_path, batch_size, queue_id in self._sqs_functions:
            for _ in range(self.pollers if queue_id == 'EventsQueue' else 1):
                self._spawn(functools.partial(self._poll_queue, handler_path, batch_size, self.queue_urls[queue_id]))
        for handler_path, batch_size, window_s, table_id in self._stream_functions:
            self._spawn(functools.partial(self._poll_stream, handler_path, batch_size, window_s, table_id))

    # --- the people API (issue 15) -------------------------------------------------------------
    @property
    def web_origin(self) -> str:
        """The page's origin locally: the API port serves the page too."""
        return f'http://127.0.0.1:{self.api_port}'

    def _start_people_api(self) -> None:
        """The template's user pool, client and groups on moto Cognito, the signing key in moto Secrets Manager, and the
        gates of the template's HTTP APIs (JWT authorizers against moto's JWKS, CORS for the local page's origin)."""
        import boto3

        self.people_pool = pool = create_people_pool(boto3.client('cognito-idp', region_name=REGION), REGION)
        signing_secret = create_signing_secret(boto3.client('secretsmanager', region_name=REGION))
        os.environ.update(
            {
                'API_SIGNING_SECRET': signing_secret,  # the secret's ARN, never its value (as in AWS)
                'WEB_ORIGIN': self.web_origin,
                'COGNITO_USER_POOL_ID': pool.pool_id,
                # The directory import keeps each person's login in step with the pool (shared/directory/logins.py).
                'PEOPLE_USER_POOL_ID': pool.pool_id,
                'COGNITO_CLIENT_ID': pool.client_id,
                'COGNITO_ISSUER': pool.issuer,
                'COGNITO_ENDPOINT': self.aws_endpoint,
            }
        )
        self.page_headers = page_headers(self.aws_endpoint, REGION)  # CloudFront's security headers, for the local page
        known = {'AWS::Region': REGION, 'PeopleUserPool': pool.pool_id, 'PeopleUserPoolClient': pool.client_id}
        jwks = moto_jwks()
        for logical_id, resource in template_document()['Resources'].items():
            if resource.get('Type') == 'AWS::Serverless::HttpApi':
                self.gates[logical_id] = api_gate(logical_id, known, jwks, cors_origins=(self.web_origin,))

    def create_people_users(self, rows: Any) -> list[LocalLogin]:
        """One local user per role from directory rows (infrastructure/local/cognito.py), with the kiosks' PINs."""
        import boto3

        if self.people_pool is None:
            raise RuntimeError('the stack has not started')
        session = boto3.session.Session(region_name=REGION)  # its own session: `make run` calls this beside the replay's thread
        self.people_logins = create_local_users(session.client('cognito-idp'), self.people_pool, rows, session.client('dynamodb'),
                                                os.environ[TABLE_ENV['ApiTable'][0]])  # fmt: skip
        return self.people_logins

    def page_config(self) -> dict[str, str]:
        """The page's config.json locally (in AWS, infrastructure/web_publish.py writes it from the stack's outputs)."""
        pool = self.people_pool
        return {'api': f'http://127.0.0.1:{self.api_port}', 'region': REGION, 'user_pool_id': pool.pool_id if pool else '',
                'client_id': pool.client_id if pool else '', 'cognito_endpoint': self.aws_endpoint}  # fmt: skip

    def _spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._api.shutdown()
        self.twilio.stop()
        self.helpdesks.stop()
        self._moto.stop()
        self._mock.stop()

    # --- API Gateway ----------------------------------------------------------------------------
    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        stack = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'  # keep connections alive, as API Gateway does (every answer has a Content-Length)
            disable_nagle_algorithm = True  # headers and body are two writes: without this, each answer waits for a delayed ACK

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                if self.command == 'GET' and url.path == HEALTH_PATH:  # local only: not a route of the template
                    self._answer(200, json.dumps(stack.health()).encode(), {'Content-Type': 'application/json'})
                    return
                headers = dict(self.headers.items())
                if self.command == 'OPTIONS':  # a CORS preflight: answered by the API's CORS configuration, no function
                    gate = next((stack.gates.get(r.api) for r in stack.routes if r.pattern.fullmatch(url.path)), None)
                    if gate is not None and gate.cors is not None:
                        self._answer(204, b'', gate.cors.preflight(headers))
                        return
                for route in stack.routes:
                    params = route.match(self.command, url.path)
                    if params is not None:
                        gate = stack.gates.get(route.api)
                        cors = gate.cors.answer_headers(headers.get('Origin')) if gate and gate.cors else {}
                        authorizer = gate.authorizer_for(route.auth) if gate else None
                        event = api_event(self.command, url.path, url.query, headers, body, route, params)
                        if authorizer is not None:
                            try:
                                event['requestContext']['authorizer'] = authorizer_context(authorizer.claims(headers))
                            except Unauthorized:
                                self._answer(401, UNAUTHORIZED, {'Content-Type': 'application/json', **cors})
                                return
                        result = invoke(route.handler, event)
                        payload = str(result.get('body', '')).encode()
                        self._answer(int(result.get('statusCode', 200)), payload, {**(result.get('headers') or {}), **cors})
                        return
                if self.command == 'GET' and url.path == '/config.json':  # the page's configuration (local values)
                    config = json.dumps(stack.page_config()).encode()
                    self._answer(200, config, {'Content-Type': 'application/json', 'Cache-Control': 'no-cache'})
                    return
                page = static_file(url.path) if self.command == 'GET' else None
                if page is not None:  # the people page's files (infrastructure/web/), as CloudFront serves them in AWS
                    self._answer(200, page[0], {'Content-Type': page[1], **stack.page_headers})
                    return
                self._answer(404, b'{"message":"Not Found"}', {'Content-Type': 'application/json'})

            def _answer(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET = do_PUT = do_DELETE = do_OPTIONS = _serve  # noqa: N815

        return Handler

    # --- SQS event source -----------------------------------------------------------------------
    def _sqs_handlers(self) -> list[tuple[str, int, str]]:
        """(handler, batch size, queue logical id) of every SQS-triggered function."""
        found = []
        for resource in template_document()['Resources'].values():
            for event in (resource.get('Properties', {}).get('Events') or {}).values():
                if resource.get('Type') == 'AWS::Serverless::Function' and event.get('Type') == 'SQS':
                    queue = event['Properties']['Queue']['Fn::GetAtt'][0]
                    found.append((resource['Properties']['Handler'], int(event['Properties'].get('BatchSize', 10)), queue))
        if not found:
            raise RuntimeError('no SQS-triggered function in template.yaml')
        return found

    def _stream_handlers(self) -> list[tuple[str, int, float, str]]:
        """(handler, batch size, batching window, table logical id) of every DynamoDB-stream-triggered function: the
        tickets table's readers (KPI aggregator, alert planner) and the ledger's (league scorer), each from the table its
        event names (`Stream: !GetAtt <Table>.StreamArn`)."""
        found = []
        for resource in template_document()['Resources'].values():
            for event in (resource.get('Properties', {}).get('Events') or {}).values():
                if resource.get('Type') == 'AWS::Serverless::Function' and event.get('Type') == 'DynamoDB':
                    props = event['Properties']
                    # The template's batching window, capped at 5 s so that a local run shows KPIs promptly.
                    window = min(float(props.get('MaximumBatchingWindowInSeconds', 0)), STREAM_WINDOW_CAP_S)
                    table_id = props['Stream']['Fn::GetAtt'][0]
                    found.append((resource['Properties']['Handler'], int(props.get('BatchSize', 100)), window, table_id))
        if not found:
            raise RuntimeError('no DynamoDB-stream-triggered function in template.yaml')
        return found

    def _stream_shard(self, table_id: str = 'TicketsTable') -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends['123456789012'][REGION].get_table(os.environ[TABLE_ENV[table_id][0]]).stream_shard

    def _poll_stream(self, handler_path: str, batch_size: int, window_s: float, table_id: str) -> None:
        """Lambda's DynamoDB-stream poller: batches in order from the table's one local shard (read from moto's
        in-process store); a failed batch is retried from the same record until it succeeds (MaximumRetryAttempts
        -1). Records are the Lambda event's shape: eventID, eventName, dynamodb {Keys, NewImage, OldImage, ...}."""
        shard = self._stream_shard(table_id)
        waiting_since: float | None = None
        while not self._stop.is_set():
            available = len(shard.items) - self.stream_applied[handler_path]
            if not available:
                waiting_since = None
                self._stop.wait(0.1)
                continue
            # Lambda's batching window: invoke when the batch is full or the oldest record has waited long enough.
            waiting_since = waiting_since or time.monotonic()
            if available < batch_size and time.monotonic() - waiting_since < window_s:
                self._stop.wait(0.1)
                continue
            waiting_since = None
            if not self._stream_batch(handler_path, batch_size, table_id):
                if self._stop.is_set():
                    return
                self._stop.wait(1)

    def _stream_batch(self, handler_path: str, batch_size: int, table_id: str) -> bool:
        """One batch of the reader from where it stands (under the reader's own lock: the poller's thread and the
        replay's `drain_stream` may both drive it). False: the batch failed (in part) and is to be retried."""
        with self._stream_locks.setdefault(handler_path, threading.Lock()):
            shard = self._stream_shard(table_id)
            arn = f'arn:aws:dynamodb:{REGION}:123456789012:table/{os.environ[TABLE_ENV[table_id][0]]}/stream/local'
            patterns = stream_filters(handler_path)  # the event source's FilterCriteria: other records are never delivered
            applied = self.stream_applied[handler_path]
            records = [item.to_json() for item in shard.items[applied : applied + batch_size]]
            delivered = [record for record in records if delivers(patterns, record)]
            if not delivered:  # filtered out (or nothing new): consumed without an invocation, as Lambda does
                self.stream_applied[handler_path] += len(records)
                return True
            event = {'Records': [{**record, 'eventSourceARN': arn} for record in delivered]}
            try:
                result = invoke(handler_path, event)
            except Exception:
                if not self._stop.is_set():
                    logging.getLogger(__name__).exception('%s failed a batch; retrying it', handler_path)
                return False
            if isinstance(result, dict) and result.get('batchItemFailures'):  # partial failure: retry from the first failed record
                first = result['batchItemFailures'][0]['itemIdentifier']
                done = next((i for i, r in enumerate(records) if r['dynamodb'].get('SequenceNumber') == first), 0)
                self.stream_applied[handler_path] += done
                return False
            self.stream_applied[handler_path] += len(records)
            return True

    def stream_behind(self, handler_path: str) -> int:
        """Records of its stream the reader has not yet applied."""
        table_id = next(f[3] for f in self._stream_functions if f[0] == handler_path)
        return len(self._stream_shard(table_id).items) - self.stream_applied[handler_path]

    def drain_stream(self, handler_path: str, timeout_s: float = 120) -> bool:
        """Apply every record the reader has not yet applied, now, without its batching window (the replay's clock gate:
        infrastructure/local/alert_gate.py). False if it could not within `timeout_s` (a batch kept failing)."""
        handler, batch_size, _, table_id = next(f for f in self._stream_functions if f[0] == handler_path)
        shard = self._stream_shard(table_id)
        deadline = time.monotonic() + timeout_s
        while len(shard.items) > self.stream_applied[handler]:
            if not self._stream_batch(handler, batch_size, table_id):
                if time.monotonic() > deadline or self._stop.is_set():
                    return False
                time.sleep(0.05)
        return True

    def stream_backlog(self) -> int:
        """Stream records some reader has not yet applied: the most any reader (KPI aggregator, alert planner, league
        scorer) is behind on its own table's stream."""
        return max((len(self._stream_shard(table_id).items) - self.stream_applied[handler_path]
                    for handler_path, _, _, table_id in self._stream_functions), default=0)  # fmt: skip

    def _poll_queue(self, handler_path: str, batch_size: int, queue_url: str) -> None:
        arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=batch_size, WaitTimeSeconds=1, AttributeNames=['All']
                ).get('Messages', [])
            except Exception:
                if self._stop.is_set():  # the stack is stopping
                    return
                # Lambda's poller keeps polling after a failed receive; so does this one (a dead poller would
                # leave the queue to the others and slow the replay without saying why).
                logging.getLogger(__name__).exception('receiving from the events queue failed; polling on')
                time.sleep(0.5)
                continue
            if not messages:
                continue
            event = {
                'Records': [
                    {
                        'messageId': m['MessageId'],
                        'receiptHandle': m['ReceiptHandle'],
                        'body': m['Body'],
                        'attributes': {k: str(v) for k, v in m.get('Attributes', {}).items()},
                        'messageAttributes': {},
                        'md5OfBody': m.get('MD5OfBody', ''),
                        'eventSource': 'aws:sqs',
                        'eventSourceARN': arn,
                        'awsRegion': REGION,
                    }
                    for m in messages
                ]
            }
            try:
                result = invoke(handler_path, event) or {}
                failed = {item['itemIdentifier'] for item in result.get('batchItemFailures', [])}
            except Exception:  # the whole batch failed: Lambda retries every record
                failed = {m['MessageId'] for m in messages}
            retry = [m for m in messages if m['MessageId'] in failed]
            done = [m for m in messages if m['MessageId'] not in failed]
            if retry:  # locally, retry after 1 s instead of the queue's visibility timeout
                self.sqs.change_message_visibility_batch(
                    QueueUrl=queue_url,
                    Entries=[{'Id': str(i), 'ReceiptHandle': m['ReceiptHandle'], 'VisibilityTimeout': 1} for i, m in enumerate(retry)],
                )
            if done:  # as Lambda's poller does: one batch delete for the records that succeeded
                self.sqs.delete_message_batch(
                    QueueUrl=queue_url, Entries=[{'Id': str(i), 'ReceiptHandle': m['ReceiptHandle']} for i, m in enumerate(done)]
                )

    def backlog(self) -> int:
        """Messages on the events and alerts queues, visible or in flight (what ApproximateNumberOfMessages plus ...NotVisible
        report), read from moto's in-process store: GetQueueAttributes walks every message, and the replayer asks
        before every chunk it sends."""
        from moto.sqs.models import sqs_backends

        queues = sqs_backends['123456789012'][REGION].queues
        return sum(len(queues[url.rsplit('/', 1)[-1]]._messages) for url in (self.queue_url, self.queue_urls['AlertsQueue']))

    def quarantine_days(self) -> list[str]:
        """The days (UTC) since the stack started: the keys of the quarantine's by_day index it may have written."""
        day, today, days = self.started_at.date(), datetime.now(UTC).date(), []
        while day <= today:
            days.append(day.isoformat())
            day += timedelta(days=1)
        return days

    def schedules(self, start: datetime, end: datetime) -> list[Schedule]:
        """Every scheduled function of the template with its fire times in [start, end] (see schedule.py)."""
        found: list[Schedule] = []
        for scheduled in scheduled_functions():
            if self.alerts or not is_alerting(scheduled.handler):
                # From the whole minute of `start` (a rate counts from there, as it always has in the replay)
                times = list(fire_times(scheduled.expression, start.replace(second=0, microsecond=0), end, scheduled.time_zone))
                found.append((scheduled.name, self._scheduled_invoker(scheduled.name, scheduled.handler, scheduled.input), times))
        return found

    def _scheduled_invoker(self, name: str, handler_path: str, payload: str | None = None) -> Callable[[datetime], Any]:
        def fire(moment: datetime) -> Any:
            if payload is not None:  # EventBridge Scheduler: the target's Input
                event = scheduler_input(payload, moment)
            else:
                event = scheduled_event(moment, f'arn:aws:events:{REGION}:123456789012:rule/pitcrew-local-{name}')
            try:
                return invoke(handler_path, event)
            except Exception as error:  # EventBridge would retry; locally the failure is reported in the summary
                logging.getLogger(__name__).exception('scheduled function %s failed', name)
                return {'error': f'{type(error).__name__}: {error}'}

        return fire

    def alert_gate(self) -> Any:
        """The replay's clock gate on the alert pipeline (infrastructure/local/alert_gate.py), with the template's alert
        scanner as its scan; None without the alerting functions."""
        from infrastructure.local.alert_gate import ALERT_SCANNER, LocalAlertGate

        scanner = next((s for s in scheduled_functions() if s.handler == ALERT_SCANNER), None)
        if not self.alerts or scanner is None:
            return None
        return LocalAlertGate(self, scanner.name, self._scheduled_invoker(scanner.name, scanner.handler, scanner.input))

    def keep_schedules_on_real_time(self, tick_s: float = 15) -> None:
        """After the replay (`make run` keeps serving): fire the schedules as real time reaches them, each once per fire
        time of its expression (rates counted from now), looking every `tick_s` seconds."""
        schedules = [s for s in scheduled_functions() if self.alerts or not is_alerting(s.handler)]
        invokers = {s.name: self._scheduled_invoker(s.name, s.handler, s.input) for s in schedules}
        clock = RealTimeSchedules([(s.name, s.expression, s.time_zone) for s in schedules], since=datetime.now(UTC))

        def tick() -> None:
            while not self._stop.wait(tick_s):
                for name, moment in clock.due(datetime.now(UTC)):
                    answer = invokers[name](moment)
                    print(f'schedule {name} at {moment:%Y-%m-%d %H:%M} UTC: {answer}', flush=True)

        self._spawn(tick)

    def sent_emails(self) -> list[dict[str, str]]:
        """What the functions sent through SES (moto keeps the messages; SES v2 sends through the same store)."""
        from moto.ses.models import ses_backends

        messages = getattr(ses_backends['123456789012'][REGION], 'sent_messages', [])
        return [
            {'to': ', '.join(getattr(m, 'destinations', {}).get('ToAddresses', [])), 'subject': str(getattr(m, 'subject', ''))}
            for m in messages
        ]

    def wait_until_idle(self, timeout_s: float = 120) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.backlog() == 0 and self.stream_backlog() == 0:
                return True
            time.sleep(0.2)
        return False
