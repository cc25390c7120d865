"""The EventBridge scheduled event every scheduled function receives; only `time` is used (absent: now).

{"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2024-05-20T02:15:00Z", ...}
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict


class ScheduledEvent(BaseModel):
    model_config = ConfigDict(extra='allow')

    time: AwareDatetime | None = None
