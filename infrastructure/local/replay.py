"""Replay a sample month against the local stack over HTTP, on a simulated clock that runs fast.

The senders run in their own process (`senders.py`) and post the month in arrival order. The simulated clock is
the send time of the next delivery: whenever it passes a fire time of one of the template's schedules, the
scheduled function is invoked with that time (the fast-forward). The senders are held while the events queue is
deeper than `max_backlog` (moto's SQS costs grow with the depth of the queue; real senders spread a month out).
With alerting on, the clock is gated on the alert pipeline (`AlertGate`, infrastructure/local/alert_gate.py): before
it moves on, the planner has seen every event sent, and every one-minute scan that finds something has run at its own
minute and its alerts have been sent, held or cancelled.
Progress (`ReplayProgress`): a bar redrawn in place on a terminal, a line every few seconds otherwise; the local stack
also answers it on `GET /_local/health`.
"""

from __future__ import annotations

import bisect
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO

from infrastructure.local.sample_month import Delivery

ROOT = Path(__file__).resolve().parents[2]
Schedule = tuple[str, Callable[[datetime], Any], Sequence[datetime]]
MINUTE = timedelta(minutes=1)


class AlertGate(Protocol):
    """What the replay needs of the alert pipeline to keep its clock behind it (LocalAlertGate implements it)."""

    name: str  # the scanner's schedule, as named in the replay's schedule runs

    def settle(self) -> None:
        """Return once every event sent so far is processed and the alert planner has applied it."""

    def next_due(self) -> datetime | None:
        """The earliest due time of an alert waiting to be found by a scan (None: nothing waits)."""

    def scan(self, moment: datetime) -> Any:
        """Fire the scan at `moment`; return once the alerts it queued are sent, held or cancelled."""


def whole_minute_from(moment: datetime) -> datetime:
    """The first whole minute at or after `moment` (when a one-minute schedule next fires)."""
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


class ReplayCancelled(RuntimeError):
    pass


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


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f'{minutes // 60}:{minutes % 60:02d}:{secs:02d}' if minutes >= 60 else f'{minutes}:{secs:02d}'


class ReplayProgress:
    """Where the replay is: its phase (generating, replaying, draining, summarising, done, failed), deliveries sent of
    the month's total, the simulated clock, the rate since the first delivery, the ETA at that rate, and the queue.

    Shown on `stream`: on a terminal one bar redrawn in place (at most every `tty_every_s`), otherwise one line every
    `lines_every_s`. `snapshot()` is the same as data (the local stack's `GET /_local/health`); safe across threads."""

    WIDTH = 30

    def __init__(self, stream: TextIO | None = None, *, tty_every_s: float = 0.25, lines_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.stream = stream if stream is not None else sys.stderr
        self.in_place = bool(getattr(self.stream, 'isatty', lambda: False)())
        self.every_s = tty_every_s if self.in_place else lines_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self.phase, self.total, self.done, self.queue = 'starting', 0, 0, 0
        self.simulated: datetime | None = None
        self._started: float | None = None
        self._shown_at: float | None = None
        self._drawn = False  # a bar is on the terminal's current line

    def begin(self, total: int) -> None:
        with self._lock:
            self.phase, self.total, self.done, self._started = 'replaying', total, 0, self._clock()

    def set_phase(self, phase: str) -> None:
        """A new phase is shown at once (and ends the bar's line on a terminal: what follows is printed below it)."""
        with self._lock:
            self.phase = phase
            self._show(force=True)
            if self.in_place and self._drawn:
                self.stream.write('\n')
                self.stream.flush()
                self._drawn = False

    def update(self, done: int, simulated: datetime, queue: int = 0) -> None:
        with self._lock:
            self.done, self.simulated, self.queue = done, simulated, queue
            self._show(force=False)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            rate = self._rate()
            return {
                'phase': self.phase,
                'done': self.done,
                'total': self.total,
                'percent': self._percent(),
                'simulated': self.simulated.isoformat() if self.simulated else None,
                'per_s': round(rate, 1),
                'eta_s': round((self.total - self.done) / rate, 1) if rate and self.phase == 'replaying' else None,
                'queue': self.queue,
            }

    def _percent(self) -> int:
        return self.done * 100 // self.total if self.total else 0

    def _rate(self) -> float:
        elapsed = self._clock() - self._started if self._started is not None else 0.0
        return self.done / elapsed if elapsed > 0 else 0.0

    def render(self) -> str:
        """One line: bar (on a terminal), sent/total, percent, simulated time, rate, ETA, queue, phase."""
        rate = self._rate()
        eta = _duration((self.total - self.done) / rate) if rate else '-'
        simulated = f'{self.simulated:%Y-%m-%d %H:%M}' if self.simulated else '-'
        filled = self.WIDTH * self.done // self.total if self.total else 0
        bar = f'[{"#" * filled}{"." * (self.WIDTH - filled)}] ' if self.in_place else ''
        return (f'replay {bar}{self.done:>5}/{self.total} events ({self._percent():>3}%)  simulated {simulated}  {rate:6.1f}/s  '
                f'ETA {eta}  queue {self.queue}  {self.phase}')  # fmt: skip

    def _show(self, *, force: bool) -> None:
        now = self._clock()
        if self.total == 0 or (not force and self._shown_at is not None and now - self._shown_at < self.every_s):
            return
        self._shown_at = now
        if self.in_place:
            self.stream.write('\r' + self.render() + '\x1b[K')
            self._drawn = True
        else:
            self.stream.write(self.render() + '\n')
        self.stream.flush()


@dataclass
class Replayer:
    port: int
    schedules: list[Schedule] = field(default_factory=list)
    backlog: Callable[[], int] | None = None
    senders: int = 3
    max_backlog: int = 300
    progress: ReplayProgress = field(default_factory=ReplayProgress)
    cancelled: threading.Event = field(default_factory=threading.Event)  # set: stop sending (the stack is stopping)
    gate: AlertGate | None = None  # alerting on: the one-minute scan runs through it, never from `schedules`
    _senders: subprocess.Popen[str] | None = None
    _scanned_until: datetime | None = None  # the last minute the gate scanned
    _previous_clock: datetime | None = None  # where the clock stood before its last move

    def cancel(self) -> None:
        """Stop sending (the stack is stopping): the senders' process ends, `run` raises ReplayCancelled."""
        self.cancelled.set()
        if self._senders is not None and self._senders.poll() is None:
            self._senders.terminate()

    def run(self, deliveries: list[Delivery], *, seed: int, scale: float, clean: bool = False) -> ReplayResult:
        result = ReplayResult()
        due = [(name, fire, sorted(times)) for name, fire, times in self.schedules]
        started = time.perf_counter()
        self.progress.begin(len(deliveries))
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
            self._senders = senders
            if self.cancelled.is_set():
                senders.terminate()
            for line in senders.stdout:
                if self.cancelled.is_set():
                    break
                message = json.loads(line)
                if 'outcomes' in message:
                    self.progress.update(len(deliveries), deliveries[-1].at, self.progress.queue)
                    result.outcomes = [Outcome(d, status, body) for d, (status, body) in zip(deliveries, message['outcomes'], strict=True)]
                    break
                clock = datetime.fromisoformat(message['clock'])
                self._advance(due, clock, result)
                depth = self._hold()
                self.progress.update(message['done'], clock, depth)
                senders.stdin.write('go\n')
                senders.stdin.flush()
        if self.cancelled.is_set():
            raise ReplayCancelled('the replay was stopped')
        if senders.returncode:
            raise RuntimeError(f'the senders failed (exit {senders.returncode})')
        end_of_month = deliveries[-1].at.replace(hour=23, minute=59)
        self._advance(due, end_of_month, result)
        result.wall_s = time.perf_counter() - started
        return result

    def _advance(self, due: list[tuple[str, Callable[[datetime], Any], list[datetime]]], clock: datetime, result: ReplayResult) -> None:
        """Move the simulated clock to `clock` (the next delivery's send time): the schedules it passed, then the gate."""
        self._fire(due, clock, result)
        if self.gate is not None:
            self._gated_scans(clock, result)
        self._previous_clock = clock

    def _gated_scans(self, clock: datetime, result: ReplayResult) -> None:
        """Every scan up to `clock` that finds something, each at its own minute, once the planner has seen every event
        sent: the first minute at or after the earliest due alert, but not before the clock's previous position (an
        alert planned late, from a late event, could not have been found before its event was sent) nor at a minute
        already scanned. Each scan returns once its alerts are sent, held (quiet hours: due again later, found by a
        later round of this loop) or cancelled."""
        assert self.gate is not None
        self.gate.settle()
        lower = whole_minute_from(self._previous_clock or clock)
        if self._scanned_until is not None:
            lower = max(lower, self._scanned_until + MINUTE)
        while not self.cancelled.is_set():
            earliest = self.gate.next_due()
            if earliest is None:
                return
            moment = max(whole_minute_from(earliest), lower)
            if moment > clock:
                return
            result.schedule_runs.append((self.gate.name, moment, self.gate.scan(moment)))
            self._scanned_until, lower = moment, moment + MINUTE

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
        while depth > self.max_backlog and not self.cancelled.is_set():
            time.sleep(0.05)
            depth = self.backlog()
        return depth
