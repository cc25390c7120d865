"""Bench figures of `make run`'s start (issue 13: a local stack that answers at once); wired in tests/bench/run.py
(EXTRA_FIGURE_MODULES).

`python -m infrastructure.local.run` (what `make run` starts: the whole month, alerts on) in a process of its own, asked
as a newcomer would from the moment the process is launched (the interpreter's start and imports included):
- local_first_answer_s: until the local API's first answer (`GET /_local/health`, 200); goal <= 15.
- local_first_webhook_s: until a Freshdesk webhook sent right after it is accepted (200) by the real handler.
- local_webhook_during_replay: the month's replay had not finished when that webhook was accepted (its progress,
  read from the health route after the answer, below 100 %): the replay runs in the background.
- local_run_reported_first_answer_s: what the run printed as its own time to the first answer (from its start).
The run is stopped with SIGINT right after (its replay is measured by `make demo`: replay_wall_s).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method='POST' if body is not None else 'GET')
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, json.loads(response.read() or b'null')


def figures() -> dict[str, Any]:
    api = _free_port()
    ports = ['--aws-port', str(_free_port()), '--api-port', str(api), '--twilio-port', str(_free_port())]
    env = {k: v for k, v in os.environ.items() if not k.startswith(('AWS_', 'POWERTOOLS_', 'PITCREW_'))}
    launched = time.perf_counter()
    run = subprocess.Popen([sys.executable, '-m', 'infrastructure.local.run', *ports], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        while True:
            if run.poll() is not None or time.perf_counter() - launched > 300:
                raise RuntimeError('the local stack did not answer')
            try:
                status, _ = _request(f'http://127.0.0.1:{api}/_local/health')
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        first_answer_s = time.perf_counter() - launched
        ticket = {'source': 'freshdesk', 'ticket': {'id': 'bench-newcomer', 'status': 'Open', 'priority': 'High', 'source': 'Chat'}}
        status, _ = _request(f'http://127.0.0.1:{api}/webhooks/freshdesk', json.dumps(ticket).encode(),
                             {'Content-Type': 'application/json', 'X-Pitcrew-Token': 'local-freshdesk-token'})  # fmt: skip
        first_webhook_s = time.perf_counter() - launched
        progress = _request(f'http://127.0.0.1:{api}/_local/health')[1]['replay']
    finally:
        run.send_signal(signal.SIGINT)
        try:
            output, _ = run.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            run.kill()
            output, _ = run.communicate()
    reported = re.search(r'first answer on the API ([\d.]+) s after start', output or '')
    return {
        'local_first_answer_s': round(first_answer_s, 2),
        'local_first_webhook_s': round(first_webhook_s, 2) if status == 200 else None,
        'local_webhook_during_replay': status == 200 and progress['phase'] != 'done' and progress['percent'] < 100,
        'local_run_reported_first_answer_s': float(reported.group(1)) if reported else None,
    }


if __name__ == '__main__':
    print(json.dumps(figures()))
