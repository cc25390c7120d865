"""A local fake of Twilio's Messages REST API (2010-04-01) for the embedded local stack and the tests.

It speaks the wire format twilio-python uses (Basic auth, form-encoded create, Twilio's JSON resources and
error bodies), records every request and message in memory, injects failures (rate limits, 5xx, invalid or
unsubscribed numbers, asynchronous WhatsApp failures) and delivers signed status callbacks. Production code keeps
building `Client(sid, token)`; only the local stack passes `http_client=` (see `local_twilio_client`).
"""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
import threading
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

API_VERSION = '2010-04-01'
LOCAL_ACCOUNT_SID = 'AC' + '0' * 27 + '10ca1'
LOCAL_AUTH_TOKEN = 'local-twilio-auth-token'
E164 = re.compile(r'^\+[1-9]\d{1,14}$')
ERROR_MESSAGES = {
    20003: 'Authenticate',
    20404: 'The requested resource was not found',
    20429: 'Too Many Requests',
    20500: 'Internal Server Error',
    21211: "The 'To' number is not a valid phone number.",
    21602: 'Message body is required.',
    21604: "A 'To' phone number is required.",
    21610: 'Attempt to send to unsubscribed recipient',
    21656: 'The ContentVariables Parameter is invalid.',
    63016: 'Failed to send freeform message because you are outside the allowed window. Please use a Template.',
}
_MESSAGES_PATH = re.compile(rf'^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/]+))?\.json$')


def _now() -> str:
    return format_datetime(datetime.now(UTC))


def _bare(address: str) -> str:
    return address.removeprefix('whatsapp:')


def _segments(body: str) -> int:
    single, multi = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // multi)


def twilio_error(code: int, status: int, message: str | None = None) -> dict[str, Any]:
    """Twilio's (legacy) REST error body; twilio-python turns it into TwilioRestException(status, code, msg)."""
    text = message or ERROR_MESSAGES.get(code) or HTTPStatus(status).phrase
    return {'code': code, 'message': text, 'more_info': f'https://www.twilio.com/docs/errors/{code}', 'status': status}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops SYNs under concurrent senders
    fake: FakeTwilio


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _dispatch(self) -> None:
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8') if length else ''
        status, payload = self.server.fake.handle(self.command, self.path, dict(self.headers.items()), body)
        data = json.dumps(payload).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Twilio-Request-Id', 'RQ' + secrets.token_hex(16))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _dispatch


class FakeTwilio:
    """Twilio's Messages API on 127.0.0.1; `port=0` binds a free port (read `port` / `base_url` after `start()`)."""

    def __init__(
        self,
        port: int = 4010,
        account_sid: str = LOCAL_ACCOUNT_SID,
        auth_token: str = LOCAL_AUTH_TOKEN,
        auto_callbacks: bool = False,
        callback_interval: float = 0.1,
    ) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.auto_callbacks, self.callback_interval = auto_callbacks, callback_interval
        self._requested_port = port
        self._lock = threading.RLock()
        self._messages: list[dict[str, Any]] = []
        self._requests: list[dict[str, Any]] = []
        self._callbacks: list[dict[str, Any]] = []
        self._pending: dict[str, list[tuple[str, int | None]]] = {}  # sid -> status progression still to report
        self._fail_next: list[tuple[int, int]] = []
        self._fail_numbers: dict[str, tuple[int, int]] = {}
        self._async_failures: dict[str, tuple[int, str]] = {}
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # lifecycle
    def start(self) -> FakeTwilio:
        server = _Server(('127.0.0.1', self._requested_port), _Handler)
        server.fake = self
        self._server, self._stopping = server, threading.Event()
        self._threads = [threading.Thread(target=server.serve_forever, args=(0.05,), name='fake-twilio', daemon=True)]
        if self.auto_callbacks:
            self._threads.append(threading.Thread(target=self._callback_loop, name='fake-twilio-callbacks', daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError('FakeTwilio is not started')
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    # recorded state (snapshots, safe to read from any thread)
    def _snapshot(self, store: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(item) for item in store]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every create, accepted (sid, status) or rejected (sid None, status 'rejected', error_code)."""
        return self._snapshot(self._messages)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every HTTP request, rejected ones included, with its response status and body."""
        return self._snapshot(self._requests)

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        """Every status callback POSTed, with its params, signature and outcome."""
        return self._snapshot(self._callbacks)

    def reset(self) -> None:
        with self._lock:
            for store in (self._messages, self._requests, self._callbacks, self._fail_next):
                store.clear()
            for mapping in (self._pending, self._fail_numbers, self._async_failures):
                mapping.clear()

    # failure injection
    def fail_next(self, n: int = 1, status: int = 429, code: int = 20429) -> None:
        """The next `n` create calls fail with this HTTP status and Twilio error code (429/20429, 500/20500, 503...)."""
        with self._lock:
            self._fail_next.extend([(status, code)] * n)

    def fail_number(self, to: str, code: int, status: int = 400) -> None:
        """Every create to `to` fails (21211 invalid, 21610 unsubscribed). A bare +E164 also matches `whatsapp:` to it."""
        with self._lock:
            self._fail_numbers[to] = (status, code)

    def async_failure(self, to: str, code: int = 63016, status: str = 'failed') -> None:
        """Creates to `to` are accepted (queued); the status callback then reports `status` (failed/undelivered) + ErrorCode."""
        with self._lock:
            self._async_failures[to] = (code, status)

    # HTTP
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: str) -> tuple[int, dict[str, Any]]:
        """Answer one request (called by the HTTP handler threads); records it with the response status."""
        parts = urlsplit(raw_path)
        form = parse_qs(body, keep_blank_values=True) if method == 'POST' else parse_qs(parts.query, keep_blank_values=True)
        record = {'method': method, 'path': parts.path, 'query': parts.query, 'headers': headers, 'body': body, 'form': form}
        try:
            status, payload = self._route(method, parts.path, headers, form)
        except ValueError as error:  # e.g. a non-numeric PageSize
            status, payload = 400, twilio_error(20001, 400, str(error))
        with self._lock:
            self._requests.append({**record, 'status': status, 'response': payload})
        return status, payload

    def _route(self, method: str, path: str, headers: dict[str, str], form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        match = _MESSAGES_PATH.match(path)
        if not self._authorized(headers.get('Authorization', '')) or (match and match['account'] != self.account_sid):
            return 401, twilio_error(20003, 401)
        if match and method == 'POST' and match['sid'] is None:
            return self._create({name: values[-1] for name, values in form.items()}, form.get('MediaUrl', []))
        if match and method == 'GET' and match['sid'] is not None:
            with self._lock:
                found = next((m for m in self._messages if m['sid'] == match['sid']), None)
                if found is not None:
                    return 200, self._resource(found)
        if match and method == 'GET' and match['sid'] is None:
            return 200, self._page(path, form)
        return 404, twilio_error(20404, 404, f'The requested resource {path} was not found')

    def _authorized(self, header: str) -> bool:
        expected = 'Basic ' + base64.b64encode(f'{self.account_sid}:{self.auth_token}'.encode()).decode()
        return secrets.compare_digest(header.encode(), expected.encode())

    def _create(self, params: dict[str, str], media_urls: list[str]) -> tuple[int, dict[str, Any]]:
        to, sender = params.get('To', ''), params.get('From') or None
        message: dict[str, Any] = {
            'sid': None, 'to': to, 'from': sender, 'body': params.get('Body'), 'content_sid': params.get('ContentSid'),
            'content_variables': None, 'messaging_service_sid': params.get('MessagingServiceSid'), 'media_url': media_urls,
            'status_callback': params.get('StatusCallback'), 'status': 'rejected', 'error_code': None, 'error_message': None,
            'http_status': None, 'channel': 'whatsapp' if to.startswith('whatsapp:') else 'sms', 'date_created': _now(),
        }  # fmt: skip
        with self._lock:
            failure = self._fail_next.pop(0) if self._fail_next else None
            failure = failure or self._fail_numbers.get(to) or self._fail_numbers.get(_bare(to))
            async_failure = self._async_failures.get(to) or self._async_failures.get(_bare(to))
        try:
            if 'ContentVariables' in params:
                message['content_variables'] = json.loads(params['ContentVariables'])
        except json.JSONDecodeError:
            failure = failure or (400, 21656)
        if not to:
            failure = failure or (400, 21604)
        elif not E164.match(_bare(to)):
            failure = failure or (400, 21211)
        if not (message['body'] or message['content_sid'] or media_urls):
            failure = failure or (400, 21602)
        if failure is not None:
            status, code = failure
            error = twilio_error(code, status)
            message.update(http_status=status, error_code=code, error_message=error['message'])
            with self._lock:
                self._messages.append(message)
            return status, error
        sid = 'SM' + secrets.token_hex(16)
        message.update(sid=sid, status='queued', http_status=201, date_updated=message['date_created'], date_sent=None)
        if async_failure is not None:
            code, final = async_failure
            progression: list[tuple[str, int | None]] = [('failed', code)] if final == 'failed' else [('sent', None), (final, code)]
        else:
            progression = [('sent', None), ('delivered', None)]
        with self._lock:
            self._messages.append(message)
            self._pending[sid] = progression
            return 201, self._resource(message)

    def _resource(self, message: dict[str, Any]) -> dict[str, Any]:
        uri = f'/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message["sid"]}'
        return {
            'account_sid': self.account_sid, 'api_version': API_VERSION, 'body': message['body'] or '',
            'date_created': message['date_created'], 'date_sent': message.get('date_sent'), 'date_updated': message.get('date_updated'),
            'direction': 'outbound-api', 'error_code': message['error_code'], 'error_message': message['error_message'],
            'from': message['from'], 'messaging_service_sid': message['messaging_service_sid'],
            'num_media': str(len(message['media_url'])), 'num_segments': str(_segments(message['body'] or '')),
            'price': None, 'price_unit': 'USD', 'sid': message['sid'], 'status': message['status'], 'to': message['to'],
            'uri': f'{uri}.json', 'subresource_uris': {'media': f'{uri}/Media.json', 'feedback': f'{uri}/Feedback.json'},
        }  # fmt: skip

    def _page(self, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        flat = {name: values[-1] for name, values in query.items()}
        page, size, to, sender = int(flat.get('Page', 0)), int(flat.get('PageSize', 50)), flat.get('To'), flat.get('From')
        with self._lock:
            chosen = [m for m in reversed(self._messages) if m['sid'] and to in (None, m['to']) and sender in (None, m['from'])]
            rows = [self._resource(m) for m in chosen[page * size : (page + 1) * size]]
        filters = {k: v for k, v in (('To', to), ('From', sender)) if v}

        def uri(number: int) -> str:
            return f'{path}?{urlencode({**filters, "PageSize": size, "Page": number})}'

        more = (page + 1) * size < len(chosen)
        return {
            'messages': rows, 'page': page, 'page_size': size, 'start': page * size, 'end': page * size + max(len(rows) - 1, 0),
            'uri': uri(page), 'first_page_uri': uri(0), 'next_page_uri': uri(page + 1) if more else None,
            'previous_page_uri': uri(page - 1) if page > 0 else None,
        }  # fmt: skip

    # status callbacks
    def deliver_status_callbacks(self) -> list[dict[str, Any]]:
        """Advance every queued message to its final status, POSTing signed callbacks where StatusCallback was given."""
        with self._lock:
            pending, self._pending = self._pending, {}
            by_sid = {m['sid']: m for m in self._messages if m['sid'] in pending}
        delivered: list[dict[str, Any]] = []
        for sid, progression in pending.items():
            message = by_sid[sid]
            for status, code in progression:
                with self._lock:
                    now = _now()
                    message.update(status=status, date_updated=now, error_code=code, error_message=ERROR_MESSAGES.get(code or 0))
                    message['date_sent'] = message.get('date_sent') or (now if status != 'failed' else None)
                if message['status_callback']:
                    delivered.append(self._post_callback(message, status, code))
        return delivered

    def _post_callback(self, message: dict[str, Any], status: str, code: int | None) -> dict[str, Any]:
        url: str = message['status_callback']
        params = {
            'MessageSid': message['sid'], 'SmsSid': message['sid'], 'MessageStatus': status, 'SmsStatus': status,
            'AccountSid': self.account_sid, 'From': message['from'] or '', 'To': message['to'], 'ApiVersion': API_VERSION,
        }  # fmt: skip
        if message['messaging_service_sid']:
            params['MessagingServiceSid'] = message['messaging_service_sid']
        if code is not None:
            params['ErrorCode'] = str(code)
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        headers = {'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature, 'User-Agent': 'TwilioProxy/1.1'}
        request = urllib.request.Request(url, data=urlencode(params).encode(), headers=headers, method='POST')
        result: dict[str, Any] = {'message_sid': message['sid'], 'url': url, 'params': params, 'signature': signature}
        try:
            with _callback_opener().open(request, timeout=5) as response:
                result.update(response_status=response.status, error=None)
        except urllib.error.HTTPError as error:
            result.update(response_status=error.code, error=str(error))
        except (urllib.error.URLError, OSError) as error:
            result.update(response_status=None, error=str(error))
        with self._lock:
            self._callbacks.append(result)
        return result

    def _callback_loop(self) -> None:
        while not self._stopping.wait(self.callback_interval):
            self.deliver_status_callbacks()

    def summary(self) -> dict[str, Any]:
        """Counts per channel (whatsapp/sms), per status (incl. `rejected`) and of callbacks, for printing."""
        with self._lock:
            return {
                'messages': len(self._messages),
                'by_channel': dict(Counter(m['channel'] for m in self._messages)),
                'by_status': dict(Counter(m['status'] for m in self._messages)),
                'callbacks': len(self._callbacks),
                'callbacks_failed': sum(1 for c in self._callbacks if c['error'] is not None),
            }


@functools.cache
def _callback_opener() -> urllib.request.OpenerDirector:
    """One opener for every status callback, without proxies. Built per callback it cost more than the callback itself:
    urllib's default handlers include HTTPS, whose SSL context loads the system's CA certificates (about 20 ms each;
    a fifth of the month's replay with alerting on went there)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalTwilioHttpClient(TwilioHttpClient):
    """twilio-python's own HTTP client, with https://*.twilio.com rewritten to the fake's base URL."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = urlsplit(base_url)
        if self.session is not None:
            self.session.trust_env = False  # loopback: never route through HTTP(S)_PROXY from the environment

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ''
        if host != 'twilio.com' and not host.endswith('.twilio.com'):
            return url
        return urlunsplit((self.base_url.scheme, self.base_url.netloc, parts.path, parts.query, parts.fragment))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """TwilioHttpClient.request(method, url, params, data, headers, auth, timeout, allow_redirects), URL rewritten."""
        return super().request(method, self.rewrite(url), *args, **kwargs)


def local_twilio_client(fake: FakeTwilio, account_sid: str | None = None, auth_token: str | None = None) -> Client:
    """A real twilio-python Client talking to `fake` (credentials default to the fake's own)."""
    http_client = LocalTwilioHttpClient(fake.base_url)
    return Client(account_sid or fake.account_sid, auth_token or fake.auth_token, http_client=http_client)
