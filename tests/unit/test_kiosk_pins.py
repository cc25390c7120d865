"""The kiosk PIN's pure decision (shared/api/kiosk_pins.decide): scrypt hash check, more than 5 wrong PINs in the window
lock for 15 minutes, nothing checked or written while locked, an old window or an ended lock starts the count again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.api.errors import BadRequest
from shared.api.kiosk_pins import LOCK_S, check_pin_format, decide, hash_pin

NOW = datetime(2026, 10, 20, 6, 0, tzinfo=UTC)
AT = int(NOW.timestamp())
SALT = '00112233445566778899aabbccddeeff'


def record(fails: int = 0, locked_until: int = 0, window_ends: int = 0) -> dict[str, Any]:
    return {'hash': hash_pin('2468', SALT), 'salt': SALT, 'n': 16384, 'r': 8, 'p': 1, 'fails': fails, 'locked_until': locked_until,
            'window_ends': window_ends}  # fmt: skip


def test_the_right_pin_passes_and_clears_earlier_failures() -> None:
    # Given: two wrong PINs in the window / When: the right one / Then: ok, the failures cleared
    decision = decide(record(fails=2, window_ends=AT + 600), '2468', NOW)
    assert decision.ok and decision.clear_failures and decision.write_failures is None


def test_the_fifth_wrong_pin_counts_and_the_sixth_locks_for_15_minutes() -> None:
    # Given: four, then five wrong PINs in the window
    fifth = decide(record(fails=4, window_ends=AT + 600), '1111', NOW)
    sixth = decide(record(fails=5, window_ends=AT + 600), '1111', NOW)
    # Then: the fifth is counted (window kept), the sixth locks with Retry-After 900
    assert not fifth.ok and not fifth.locked and fifth.write_failures == (5, 0, AT + 600)
    assert sixth.locked and sixth.retry_after_s == LOCK_S and sixth.write_failures == (6, AT + LOCK_S, AT + 2 * LOCK_S)


def test_while_locked_even_the_right_pin_is_not_checked_and_nothing_is_written() -> None:
    # Given: locked until 5 minutes from now / When: the right PIN / Then: locked, 300 s to wait, nothing to write
    decision = decide(record(fails=6, locked_until=AT + 300, window_ends=AT + 1200), '2468', NOW)
    assert decision.locked and not decision.ok and decision.retry_after_s == 300
    assert decision.write_failures is None and not decision.clear_failures


@pytest.mark.parametrize('state', [record(fails=5, window_ends=AT - 1), record(fails=6, locked_until=AT - 1, window_ends=AT + 900)])
def test_an_old_window_or_an_ended_lock_starts_counting_again(state: dict[str, Any]) -> None:
    # Given: five failures whose window has passed, or a lock that has ended / When: a wrong PIN / Then: the first of a new window
    decision = decide(state, '1111', NOW)
    assert not decision.locked and decision.write_failures == (1, 0, AT + LOCK_S)


def test_no_pin_set_is_refused_without_a_write() -> None:
    assert decide(None, '2468', NOW).ok is False and decide(None, '2468', NOW).write_failures is None


@pytest.mark.parametrize('pin', ['123', '123456789', '12a4', '', ' 1234'])
def test_a_pin_is_4_to_8_digits(pin: str) -> None:
    with pytest.raises(BadRequest) as refused:
        check_pin_format(pin)
    assert refused.value.field == 'pin'


def test_the_hash_is_scrypt_hex_and_never_the_pin() -> None:
    hashed = hash_pin('2468', SALT)
    assert len(hashed) == 64 and '2468' not in hashed and hashed != hash_pin('2468', 'ff' * 16)
