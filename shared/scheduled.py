"""The EventBridge scheduled event every scheduled function receives; only `time` is used (absent: now).

{"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2024-05-20T02:15:00Z", ...}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from shared.errors import first_validation_error


class ScheduledEvent(BaseModel):
    model_config = ConfigDict(extra='allow')

    time: AwareDatetime | None = None


def scheduled_time(event: dict[str, Any] | None) -> datetime | dict[str, Any]:
    """The event's `time` in UTC (now when absent), or the answer for an event that does not validate
    ({"ok": false, "field": ..., "error": ...})."""
    try:
        scheduled = ScheduledEvent.model_validate(event or {})
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='event')
        return {'ok': False, 'field': field, 'error': reason}
    return (scheduled.time or datetime.now(UTC)).astimezone(UTC)


def rerun_or_scheduled[Rerun: BaseModel](event: dict[str, Any] | None, model: type[Rerun],
                                          keys: tuple[str, ...]) -> tuple[Rerun | None, datetime] | dict[str, Any]:
    """What a scheduled function with a console re-run was asked: an event naming any of `keys` is a re-run from the
    console (validated as `model`, at now), any other a scheduled run (None, at the event's `time`); or the answer for
    an event that does not validate ({"ok": false, "field": ..., "error": ...})."""
    event = event or {}
    if any(key in event for key in keys):
        try:
            return model.model_validate(event), datetime.now(UTC)
        except ValidationError as exc:
            field, reason = first_validation_error(exc, default_field='event')
            return {'ok': False, 'field': field, 'error': reason}
    moment = scheduled_time(event)
    if isinstance(moment, dict):
        return moment
    return None, moment
