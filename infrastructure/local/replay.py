"""Replay a sample month against the local stack over HTTP, on a simulated clock that runs fast.

The senders run in their own process (`senders.py`) and post the month in arrival order. The simulated clock is
the send time of the next delivery: whenever it passes a fire time of one of the template's schedules, the
scheduled function is invoked with that time (the fast-forward). The senders are held while the events queue is
deeper than `max_backlog` (moto's SQS costs grow with the depth of the queue; real senders spread a month out).
Progress is printed every couple of seconds.
"""

from __future__ import annotations

import bisect
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from infrastructure.local.sample_month import Delivery

ROOT = Path(__file__).resolve().parents[2]
Schedule = tuple[str, Callable[[datetime], Any], Sequence[datetime]]


@dataclass
class Outcome:
    delivery: Delivery
    status: int
    body: str

    @property
    def reason(self) -> str:
        try:
            error = json.loads(self.body).get('error', {})
        except ValueError:
            return self.body[:120]
        return f'{error.get("field") or "-"}: {error.get("reason", "")}'


@dataclass
class ReplayResult:
    outcomes: list[Outcome] = field(default_factory=list)
    schedule_runs: list[tuple[str, datetime, Any]] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def statuses(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes)

    @property
    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == 200]

    @property
    def rejected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != 200]


@dataclass
class Replayer:
    port: int
    schedules: list[Schedule] = field(default_factory=list)
    backlog: Callable[[], int] | None = None
    senders: int = 3
    max_backlog: int = 300
    progress: Callable[[str], None] = print

    def run(self, deliveries: list[Delivery], *, seed: int, scale: float, clean: bool = False) -> ReplayResult:
        result = ReplayResult()
        due = [(name, fire, sorted(times)) for name, fire, times in self.schedules]
        started = last_report = time.perf_counter()
        command = [
            sys.executable,
            '-m',
            'infrastructure.local.senders',
            '--port',
            str(self.port),
            '--seed',
            str(seed),
            '--scale',
            str(scale),
            '--senders',
            str(self.senders),
            *(['--clean'] if clean else []),
        ]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env) as senders:
            assert senders.stdin is not None and senders.stdout is not None
            for line in senders.stdout:
                message = json.loads(line)
                if 'outcomes' in message:
                    result.outcomes = [Outcome(d, status, body) for d, (status, body) in zip(deliveries, message['outcomes'], strict=True)]
                    break
                clock = datetime.fromisoformat(message['clock'])
                self._fire(due, clock, result)
                depth = self._hold()
                now = time.perf_counter()
                if now - last_report >= 2:
                    last_report = now
                    done = message['done']
                    self.progress(
                        f'  sent {done:>5}/{len(deliveries)} ({done * 100 // len(deliveries):>3}%)  simulated {clock:%Y-%m-%d %H:%M}'
                        f'  {done / (now - started):6.1f}/s  queue {depth}'
                    )
                senders.stdin.write('go\n')
                senders.stdin.flush()
        if senders.returncode:
            raise RuntimeError(f'the senders failed (exit {senders.returncode})')
        end_of_month = deliveries[-1].at.replace(hour=23, minute=59)
        self._fire(due, end_of_month, result)
        result.wall_s = time.perf_counter() - started
        return result

    def _fire(self, due: list[tuple[str, Callable[[datetime], Any], list[datetime]]], clock: datetime, result: ReplayResult) -> None:
        """Fire each schedule once at the latest of its times the clock has passed: when the simulated clock jumps over
        several minutes, the one-minute alert scan runs once for all of them (it catches up on everything due by then)."""
        for name, fire, times in due:
            passed = bisect.bisect_right(times, clock)
            if passed:
                moment = times[passed - 1]
                del times[:passed]
                result.schedule_runs.append((name, moment, fire(moment)))

    def _hold(self) -> int:
        if self.backlog is None:
            return 0
        depth = self.backlog()
        while depth > self.max_backlog:
            time.sleep(0.05)
            depth = self.backlog()
        return depth
