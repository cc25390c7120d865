"""What programs, rules and KPIs need to know about the person behind an assignee (read from the directory)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Employee:
    """What rules need to know about the person behind an assignee."""

    employee_id: str
    role: str = 'agent'
    job_grade: str | None = None
    location_id: str | None = None
    team_id: str | None = None
    active: bool = True
