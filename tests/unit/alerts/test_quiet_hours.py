"""Quiet hours in the recipient's own time zone, and shift-hours-only escalations (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.alerts.quiet_hours import QuietHours, deliver_at
from shared.sla.calendar import BusinessCalendar

NIGHT = QuietHours(start='21:00', end='08:00')


def test_the_same_instant_is_quiet_for_one_recipient_and_not_for_another() -> None:
    # Given an alert due at 17:00 UTC: 22:30 in Bengaluru, 13:00 in New York
    due = datetime(2026, 10, 14, 17, 0, tzinfo=UTC)

    # When each recipient's delivery time is worked out
    bengaluru = deliver_at(due, 'Asia/Kolkata', NIGHT)
    new_york = deliver_at(due, 'America/New_York', NIGHT)

    # Then Bengaluru gets it at 08:00 local the next morning (02:30 UTC), New York at once
    assert bengaluru == datetime(2026, 10, 15, 2, 30, tzinfo=UTC)
    assert new_york == due


def test_an_alert_due_before_dawn_waits_for_the_end_of_the_same_night() -> None:
    # Given an alert due at 03:00 in London (BST)
    due = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)

    # When it is released, then it goes at 08:00 London the same day
    assert NIGHT.release(due, 'Europe/London') == datetime(2026, 10, 14, 7, 0, tzinfo=UTC)


def test_quiet_hours_end_at_local_time_on_the_night_clocks_change() -> None:
    # Given an alert due at 01:00 EDT on 2026-11-01, the night New York falls back to EST
    due = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)

    # When it is released, then it goes at 08:00 EST (13:00 UTC), not 08:00 EDT
    assert NIGHT.release(due, 'America/New_York') == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_a_daytime_window_and_an_empty_window() -> None:
    # Given a lunchtime quiet window and a window that starts where it ends
    lunch, none = QuietHours(start='12:00', end='14:00'), QuietHours(start='00:00', end='00:00')
    due = datetime(2026, 10, 14, 7, 30, tzinfo=UTC)  # 13:00 in Bengaluru

    # When an alert due at 13:00 Bengaluru is released, then lunch holds it to 14:00 and the empty window not at all
    assert lunch.release(due, 'Asia/Kolkata') == datetime(2026, 10, 14, 8, 30, tzinfo=UTC)
    assert none.release(due, 'Asia/Kolkata') == due


def test_a_shift_hours_only_escalation_waits_for_the_next_shift() -> None:
    # Given a breach escalation due on Saturday 10:00 for a manager who works Monday to Friday 09:00-17:00 in New York
    shift = BusinessCalendar(
        calendar_id='nyc', timezone='America/New_York', hours={d: [('09:00', '17:00')] for d in ('mon', 'tue', 'wed', 'thu', 'fri')}
    )
    due = datetime(2026, 10, 17, 14, 0, tzinfo=UTC)

    # When its delivery time is worked out, then it waits for Monday 09:00 New York
    assert deliver_at(due, 'America/New_York', NIGHT, shift) == datetime(2026, 10, 19, 13, 0, tzinfo=UTC)
    # And an escalation due within the shift goes at once
    weekday = datetime(2026, 10, 14, 15, 0, tzinfo=UTC)
    assert deliver_at(weekday, 'America/New_York', NIGHT, shift) == weekday


def test_a_quiet_window_must_be_given_as_hours_and_minutes() -> None:
    # When a window is given as '9pm', then it is refused naming the field
    with pytest.raises(ValidationError) as refused:
        QuietHours(start='9pm')
    assert refused.value.errors()[0]['loc'] == ('start',)
