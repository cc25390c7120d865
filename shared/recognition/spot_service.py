"""Managers' spot awards, the use case: award (at once, or requested for approval), decide (approve or reject), and
the daily run (remind approvers, expire what nobody decided). The console, the IAM-authorized HTTP routes
(functions/spot_award), a nudge's YES/amount reply (shared/recognition nudges) and later the people-facing API call
this same code.

    awards = SpotAwards.default()
    result = awards.award(SpotRequest(program_id=..., manager_id=..., employee_id=..., points=..., reason_id=...,
                                      message=..., idempotency_key=..., via='nudge'), actor=actor, now=now)
    result.status      # 'awarded' or 'requested'; result.remaining: the manager's budget left this month
    awards.decide(result.award_id, approve=True, reason=None, actor=checker, now=now)

A refusal raises `SpotRefused` (code, reason naming the field, values such as `remaining`); nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.ledger.approvals import Actor
from shared.recognition.spot import SpotAward, SpotDecision, SpotRefused, SpotRequest, SpotResult

__all__ = ['SpotAwards', 'SpotRequest', 'SpotResult', 'SpotRefused', 'SpotDecision', 'SpotAward', 'Actor']


@dataclass
class SpotAwards:
    def award(self, request: SpotRequest, actor: Actor, now: datetime) -> SpotResult:
        raise NotImplementedError

    def decide(self, award_id: str, approve: bool, reason: str | None, actor: Actor, now: datetime) -> SpotResult:
        raise NotImplementedError
