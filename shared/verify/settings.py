"""Per-source verification settings, part of the service configuration (`sources` in the service-config JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SourceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    # off: the webhook's word is taken (the default); source_api: the processor confirms each event's ticket through
    # the helpdesk's REST API before it can earn points, and the API's data is the truth.
    verify: Literal['off', 'source_api'] = 'off'
    # Refuse events whose own time (the payload's updated / LastModified time) is older than this many seconds when
    # processed. None: no freshness check (a replay of old history, or a sender whose payload carries no time).
    max_event_age_s: int | None = Field(default=None, ge=60)
    # Pace of API calls per container; None = the vendor's documented limit (see shared/verify/<source>.py).
    requests_per_minute: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)
