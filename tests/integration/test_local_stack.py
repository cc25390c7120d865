"""`make demo` end to end: the local stack serves the template's route, processes the queue, and keeps
every rejected payload; balances equal the sum of ledger entries."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


def test_demo_replays_the_samples_and_reconciles() -> None:
    # Given the local stack on free ports
    command = [sys.executable, '-m', 'infrastructure.local.run', '--demo', '--aws-port', str(free_port()), '--api-port', str(free_port())]

    # When the demo runs (signed samples from every source, redeliveries, a forged, a malformed, an unknown source)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    # Then it exits cleanly and its last line reports what happened
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures['queue_drained'] is True
    assert figures['balances_reconcile'] is True
    assert figures['rejected'] == figures['quarantined'] == 3
    assert figures['accepted'] == figures['events_sent'] - 3
    assert figures['ledger_entries'] > 0
    assert figures['tickets_with_unmapped_agents'] > 0
