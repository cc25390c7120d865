"""`make run` answers at once: the local stack serves its routes while the month replays in the background, prints the
summary when the replay ends, keeps serving, and stops on Ctrl-C with the replay's figures."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.test_local_stack import free_port

ROOT = Path(__file__).resolve().parents[2]
TINY = 0.01  # share of the month's tickets: about 20 tickets and job cards, 130 deliveries in all
PATIENCE_S = 900  # a safety net for a loaded machine, not a figure: nothing here is timed


class Run:
    """`python -m infrastructure.local.run` (what `make run` starts) in a subprocess, its output read as it comes."""

    def __init__(self, *flags: str) -> None:
        self.api_port = free_port()
        ports = ['--aws-port', str(free_port()), '--api-port', str(self.api_port), '--twilio-port', str(free_port())]
        self.process = subprocess.Popen([sys.executable, '-m', 'infrastructure.local.run', *ports, *flags], cwd=ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=lambda s=stream, out=lines: out.extend(iter(s.readline, '')), daemon=True).start()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(f'http://127.0.0.1:{self.api_port}{path}', data=body, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b'null')
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b'null')

    def health_when_serving(self) -> dict[str, Any]:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            assert self.process.poll() is None, ''.join(self.stderr)[-3000:]
            try:
                return dict(self.request('GET', '/_local/health')[1])
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, 'the local API never answered'
                time.sleep(0.1)

    def wait_for(self, text: str) -> int:
        deadline = time.monotonic() + PATIENCE_S
        while not any(text in line for line in self.stdout):
            assert self.process.poll() is None and time.monotonic() < deadline, ''.join(self.stderr)[-3000:]
            time.sleep(0.2)
        return next(i for i, line in enumerate(self.stdout) if text in line)


def freshdesk_ticket(ticket_id: str) -> tuple[bytes, dict[str, str]]:
    body = {'source': 'freshdesk', 'ticket': {'id': ticket_id, 'status': 'Open', 'priority': 'High', 'source': 'Chat'}}
    return json.dumps(body).encode(), {'Content-Type': 'application/json', 'X-Pitcrew-Token': 'local-freshdesk-token'}


def test_make_run_answers_while_the_month_replays_then_prints_the_summary_and_keeps_serving() -> None:
    # Given `make run` started on a tiny month
    run = Run('--scale', str(TINY), '--no-alerts')
    try:
        # When a client waits for the local API and sends a webhook as soon as it answers
        run.health_when_serving()
        status, answer = run.request('POST', '/webhooks/freshdesk', *freshdesk_ticket('newcomer-1'))
        during = run.health_when_serving()['replay']

        # Then the webhook was accepted, and the replay had not finished when it was (progress below 100%)
        assert status == 200, answer
        assert during['phase'] in ('generating', 'replaying') and during['percent'] < 100, during
        # And the run said how long it took to answer, before the replay's summary
        first_answer = run.wait_for('first answer on the API')
        finished = run.wait_for('replay finished')
        summary = run.wait_for('points per employee')
        assert first_answer < summary < finished
        # And after the replay the stack still serves, its progress complete
        after = run.health_when_serving()['replay']
        assert after['phase'] == 'done' and after['done'] == after['total'] > 0
        # And the progress went to stderr, with the month's deliveries as its total
        assert any(f'/{after["total"]} events' in line for line in run.stderr)
        assert run.request('POST', '/webhooks/freshdesk', *freshdesk_ticket('newcomer-2'))[0] == 200

        # When the newcomer presses Ctrl-C
        run.process.send_signal(signal.SIGINT)
        run.process.wait(timeout=120)
    finally:
        if run.process.poll() is None:
            run.process.kill()
    # Then the run ends cleanly with the replay's figures and its time to the first answer, as its last line
    time.sleep(0.5)  # the reader threads take the last lines
    assert run.process.returncode == 0, ''.join(run.stderr)[-3000:]
    figures = json.loads(run.stdout[-1])
    assert figures['events_sent'] == after['total'] and figures['unexpected_answers'] == 0 and figures['queue_drained'] is True
    assert figures['balances_reconcile'] is True and figures['first_answer_s'] > 0
