"""SLA policies as data (parity with Zendesk and Freshdesk SLA policies).

A policy has conditions and, per metric, a target for each priority, each in business or calendar
time. Policies are checked in order and the first match wins, so the most specific go first. Statuses
that pause the clock are configured per policy, as are the metrics they pause (Zendesk pauses
resolution on Pending and Hold; Freshdesk switches the SLA timer off per status).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Channel, Kind, Priority, Source, Status


class Metric(StrEnum):
    FIRST_RESPONSE = 'first_response'  # creation -> first agent reply
    NEXT_RESPONSE = 'next_response'  # customer's turn (back to open) -> next agent reply, every time
    RESOLUTION = 'resolution'  # creation -> solved, clock stopped while paused or solved
    TURNAROUND = 'turnaround'  # job card opened -> vehicle delivered, paused while awaiting approval


MIN_TARGET_MINUTES = 0.25  # Zendesk's minimum target is 15 seconds


class Target(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    minutes: float = Field(ge=MIN_TARGET_MINUTES, le=366 * 24 * 60)
    business_hours: bool = True


class PolicyMatch(BaseModel):
    """Conditions, all of which must hold; an empty list means "any"."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    kinds: list[Kind] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    priorities: list[Priority] = Field(default_factory=list)
    locations: list[str] = Field(default_factory=list)
    job_types: list[str] = Field(default_factory=list, description='job-card type (the DMS "type"), e.g. "service"')

    def matches(self, facts: PolicySubject) -> bool:
        checks: list[tuple[Sequence[object], object]] = [
            (self.kinds, facts.kind),
            (self.sources, facts.source),
            (self.channels, facts.channel),
            (self.priorities, facts.priority),
            (self.locations, facts.location_id),
            (self.job_types, facts.job_type),
        ]
        return all(not allowed or value in allowed for allowed, value in checks)


class PolicySubject(BaseModel):
    """What a policy's conditions look at."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    source: Source
    channel: Channel | None = None
    priority: Priority = Priority.NORMAL
    location_id: str | None = None
    job_type: str | None = None


class SlaPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    policy_id: str = Field(min_length=1, max_length=64)
    version: int = Field(default=1, ge=1)
    title: str = ''
    match: PolicyMatch = Field(default_factory=PolicyMatch)
    targets: dict[Metric, dict[Priority, Target]] = Field(description='metric -> priority -> target; a missing priority has no target')
    pause_statuses: list[Status] = Field(default_factory=lambda: [Status.PENDING, Status.ON_HOLD])
    paused_metrics: list[Metric] = Field(default_factory=lambda: [Metric.RESOLUTION, Metric.TURNAROUND])

    def target(self, metric: Metric, priority: Priority) -> Target | None:
        return self.targets.get(metric, {}).get(priority)


def first_matching(policies: Sequence[SlaPolicy], subject: PolicySubject) -> SlaPolicy | None:
    return next((policy for policy in policies if policy.match.matches(subject)), None)


def _per_priority(urgent: float, high: float, normal: float, low: float, business: bool = True) -> dict[Priority, Target]:
    values = {Priority.URGENT: urgent, Priority.HIGH: high, Priority.NORMAL: normal, Priority.LOW: low}
    return {priority: Target(minutes=minutes, business_hours=business) for priority, minutes in values.items()}


# Defaults from the brief's service levels ("above average": real-time channels answered within
# 5 minutes, e-mail and social within 4 hours); resolution targets per priority in business hours.
DEFAULT_POLICIES: tuple[SlaPolicy, ...] = (
    SlaPolicy(
        policy_id='workshop',
        title='Job cards: turnaround in business hours, paused while awaiting approval',
        match=PolicyMatch(kinds=[Kind.JOB_CARD]),
        targets={Metric.TURNAROUND: _per_priority(4 * 60, 8 * 60, 16 * 60, 24 * 60)},
    ),
    SlaPolicy(
        policy_id='realtime',
        title='Chat, phone, SMS and WhatsApp',
        match=PolicyMatch(kinds=[Kind.TICKET], channels=[Channel.CHAT, Channel.PHONE, Channel.SMS, Channel.WHATSAPP]),
        targets={
            Metric.FIRST_RESPONSE: _per_priority(1, 2, 5, 5),
            Metric.NEXT_RESPONSE: _per_priority(2, 5, 10, 10),
            Metric.RESOLUTION: _per_priority(2 * 60, 4 * 60, 8 * 60, 16 * 60),
        },
    ),
    SlaPolicy(
        policy_id='standard',
        title='E-mail, web, social and everything else',
        match=PolicyMatch(kinds=[Kind.TICKET]),
        targets={
            Metric.FIRST_RESPONSE: _per_priority(30, 60, 4 * 60, 8 * 60),
            Metric.NEXT_RESPONSE: _per_priority(60, 2 * 60, 8 * 60, 16 * 60),
            Metric.RESOLUTION: _per_priority(4 * 60, 8 * 60, 24 * 60, 48 * 60),
        },
    ),
)
