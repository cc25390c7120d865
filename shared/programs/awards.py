"""What a program says a ticket earned: the contract between the program engine (`shared.programs`),
the ledger (`shared.ledger`) and the hold release.

Pure. An `Award` is a *desired* award computed from a ticket's settled state. Its identity (`key`) is
stable whatever the arrival order of the ticket's events: program, rule, employee and a `basis_key`
the rule kind derives from the state itself ('resolution', 'survey:<response id>', 'upsell:<line id>'),
never from the id of whichever event happened to arrive last. That stability is what lets the ledger
write each award exactly once, however the events were shuffled or redelivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

Scalar = str | int | float | bool | None


class ClawbackPolicy(StrEnum):
    KEEP = 'keep'  # after the hold window, a later undoing event changes nothing
    REVERSE = 'reverse'  # after the hold window and within `clawback_days`, the award is reversed


@dataclass(frozen=True)
class Award:
    """Points a program rule says one employee deserves for one basis on one ticket, and why."""

    program_id: str
    program_version: int
    rule_id: str
    rule_version: int
    employee_id: str
    points: int  # after credit split, multipliers; negative for penalties; caps are applied at release
    basis_key: str  # stable within the ticket, e.g. 'resolution', 'survey:R1', 'upsell:L2'
    basis_at: datetime  # when the basis happened (UTC): picks the program version, the period, the hold anchor
    release_at: datetime  # basis_at + the rule's hold: pending until then, then available
    inputs: Mapping[str, Scalar] = field(default_factory=dict)  # the KPI inputs that justify it
    clawback: ClawbackPolicy = ClawbackPolicy.KEEP
    clawback_days: int = 0  # how long after release a reversal may still happen (REVERSE only)
    caps: Mapping[str, int] = field(default_factory=dict)  # 'day' | 'week' | 'month' -> max points per employee per rule
    time_zone: str = 'UTC'  # the program's: decides the day, week and month of the caps and the period

    @property
    def key(self) -> str:
        return f'{self.program_id}|{self.rule_id}|{self.employee_id}|{self.basis_key}'

    @property
    def program_ref(self) -> str:
        return f'{self.program_id}@{self.program_version}'

    @property
    def rule_ref(self) -> str:
        return f'{self.rule_id}@{self.rule_version}'
