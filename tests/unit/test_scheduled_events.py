"""shared/scheduled.py: what a scheduled function with a console re-run was asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from shared.scheduled import rerun_or_scheduled


class Rerun(BaseModel):
    program_id: str = Field(min_length=1)
    month: str = Field(pattern=r'^\d{4}-\d{2}$')


def test_an_event_naming_a_rerun_key_is_a_console_rerun_at_now() -> None:
    # Given a console event naming a program and a month
    before = datetime.now(UTC)
    # When it is read
    asked = rerun_or_scheduled({'program_id': 'pitstop', 'month': '2026-10'}, Rerun, ('program_id', 'month'))
    # Then it is the validated re-run, at the wall clock
    assert not isinstance(asked, dict)
    request, now = asked
    assert request == Rerun(program_id='pitstop', month='2026-10')
    assert before <= now <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_scheduled_event_is_a_run_at_its_own_time() -> None:
    # Given EventBridge's scheduled event (no re-run key)
    event = {'detail-type': 'Scheduled Event', 'source': 'aws.events', 'time': '2026-10-31T18:45:00Z'}
    # When it is read
    asked = rerun_or_scheduled(event, Rerun, ('program_id', 'month'))
    # Then there is no re-run request and the run is at the event's time, in UTC
    assert asked == (None, datetime(2026, 10, 31, 18, 45, tzinfo=UTC))


def test_a_bad_rerun_or_a_bad_time_is_answered_with_the_field_named() -> None:
    # Given a re-run with a malformed month, and a scheduled event whose time is not a time
    bad_rerun = rerun_or_scheduled({'program_id': 'pitstop', 'month': 'October'}, Rerun, ('program_id', 'month'))
    bad_time = rerun_or_scheduled({'time': 'yesterday'}, Rerun, ('program_id', 'month'))
    # Then each is refused with its field, nothing run
    assert isinstance(bad_rerun, dict) and bad_rerun['ok'] is False and bad_rerun['field'] == 'month'
    assert isinstance(bad_time, dict) and bad_time['ok'] is False and bad_time['field'] == 'time'
