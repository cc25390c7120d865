"""The local replay's progress: a bar redrawn in place on a terminal, periodic lines otherwise, the same as data."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from infrastructure.local.replay import ReplayProgress

OCTOBER_1 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_terminal_a_line_every_few_seconds_with_count_date_rate_and_eta() -> None:
    # Given the replay of 200 deliveries, its progress written to a log file (not a terminal)
    clock, log = Clock(), io.StringIO()
    progress = ReplayProgress(log, lines_every_s=5, clock=clock)
    progress.begin(200)
    # When a delivery is sent every 0.1 s for 10 s (10 per second), the simulated clock an hour per delivery
    for done in range(1, 101):
        clock.now += 0.1
        progress.update(done, OCTOBER_1 + timedelta(hours=done), queue=3)
    # Then a line came at once and then after 5 s (not one per delivery), none of them redrawn in place
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and '\r' not in log.getvalue()
    # And the last says where the replay is: events, percent, simulated date, rate and the time left at that rate
    last = lines[-1]
    assert ' 51/200 events ( 25%)' in last and 'simulated 2026-10-03 11:00' in last
    assert '10.0/s' in last and 'ETA 0:15' in last and 'queue 3' in last and 'replaying' in last
    # And the same as data, for the health route: 100 of 200 done, 10 s left
    snapshot = progress.snapshot()
    assert (snapshot['done'], snapshot['total'], snapshot['percent'], snapshot['eta_s']) == (100, 200, 50, 10.0)
    assert snapshot['simulated'] == (OCTOBER_1 + timedelta(hours=100)).isoformat()


def test_on_a_terminal_one_bar_redrawn_in_place_until_the_phase_changes() -> None:
    # Given the replay's progress on a terminal
    clock, terminal = Clock(), Terminal()
    progress = ReplayProgress(terminal, tty_every_s=0.25, clock=clock)
    progress.begin(40)
    # When every delivery is sent, one each second
    for done in range(1, 41):
        clock.now += 1
        progress.update(done, OCTOBER_1 + timedelta(minutes=done))
    # Then the bar was redrawn in place each time, on one line, and is full
    shown = terminal.getvalue()
    assert shown.count('\r') == 40 and '\n' not in shown
    assert shown.rsplit('\r', 1)[1].startswith('replay [' + '#' * ReplayProgress.WIDTH + '] ')
    # And a new phase ends the bar's line, so that what is printed next (the summary) starts below it
    progress.set_phase('draining')
    assert terminal.getvalue().endswith('draining\x1b[K\n')
    assert progress.snapshot()['phase'] == 'draining' and progress.snapshot()['eta_s'] is None


def test_nothing_is_shown_before_the_replay_knows_its_month() -> None:
    # Given a progress whose month is still being generated
    log = io.StringIO()
    progress = ReplayProgress(log)
    # When its phase changes before the replay begins
    progress.set_phase('generating')
    # Then nothing is printed (there is no total to show yet), and the data says so
    assert log.getvalue() == ''
    assert progress.snapshot() == {'phase': 'generating', 'done': 0, 'total': 0, 'percent': 0, 'simulated': None, 'per_s': 0.0,
                                   'eta_s': None, 'queue': 0}
