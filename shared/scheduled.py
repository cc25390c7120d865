"""The EventBridge scheduled event every scheduled function receives; only `time` is used (absent: now).

{"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2024-05-20T02:15:00Z", ...}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError


class ScheduledEvent(BaseModel):
    model_config = ConfigDict(extra='allow')

    time: AwareDatetime | None = None


def scheduled_time(event: dict[str, Any] | None) -> datetime | dict[str, Any]:
    """The event's `time` in UTC (now when absent), or the answer for an event that does not validate
    ({"ok": false, "field": ..., "error": ...})."""
    try:
        scheduled = ScheduledEvent.model_validate(event or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        return {'ok': False, 'field': '.'.join(map(str, first['loc'])), 'error': first['msg']}
    return (scheduled.time or datetime.now(UTC)).astimezone(UTC)
