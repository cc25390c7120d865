"""What the person's own routes answer, shaped from the use cases' results (pure: no storage). Only the person's own
data goes in; another person appears by employee id and name at most (a board row, a feed line), never with a phone
number or an e-mail address."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.ledger.entries import LEAGUE_KINDS, LedgerEntry
from shared.ledger.statement import Statement, month_bounds, program_of


def window[T](items: Sequence[T], offset: int | None, limit: int) -> tuple[list[T], int | None]:
    """One page of an in-memory list: (the page, the next page's offset or None at the end)."""
    start = max(0, int(offset or 0))
    end = start + limit
    return list(items[start:end]), (end if end < len(items) else None)


# --- statement ---------------------------------------------------------------------------------------------------------
def _in(program_ref: str, program_id: str | None) -> bool:
    return program_id is None or program_of(program_ref) == program_id


def statement_lines(statement: Statement, program_id: str | None) -> list[dict[str, Any]]:
    """Every line of the month (oldest first), each with its rule's title: what the cursor pages over."""
    lines = [line.model_dump(mode='json') | {'rule_title': group.title}
             for group in statement.groups if _in(group.program_id, program_id) for line in group.lines]  # fmt: skip
    return sorted(lines, key=lambda line: (line['occurred_at'], line['entry_id']))


def by_rule(statement: Statement, program_id: str | None) -> list[dict[str, Any]]:
    """Points by rule for the month (the points-by-rule chart): biggest first."""
    rows = [{'program_id': program_of(group.program_id), 'rule_id': group.rule_id, 'title': group.title, 'points': group.points,
             'entries': group.entries} for group in statement.groups if _in(group.program_id, program_id)]  # fmt: skip
    return sorted(rows, key=lambda row: (-abs(row['points']), row['rule_id']))


def statement_head(statement: Statement, program_id: str | None) -> dict[str, Any]:
    pending = [line.model_dump(mode='json') for line in statement.pending if _in(line.program, program_id)]
    return {'employee_id': statement.employee_id, 'month': statement.month, 'program_id': program_id,
            'totals': statement.totals.model_dump(mode='json'), 'by_rule': by_rule(statement, program_id), 'pending': pending,
            'late_entries': statement.late_entries, 'reconciles': statement.reconciliation.reconciles,
            'time_zones': statement.time_zones, 'language': statement.language}  # fmt: skip


# --- rank movement -----------------------------------------------------------------------------------------------------
def points_series(entries: Iterable[LedgerEntry], program_id: str, month: str, time_zone: str, until: datetime) -> list[dict[str, Any]]:
    """The month's league points day by day (cumulative, the kinds a league scores, by the day the basis happened in the
    program's zone), from the 1st to `until` (or the month's end): the line of the rank-movement chart."""
    zone = ZoneInfo(time_zone)
    start, end = month_bounds(month, time_zone)
    by_day: dict[str, int] = {}
    for entry in entries:
        if entry.kind not in LEAGUE_KINDS or program_of(entry.reason.program_id) != program_id:
            continue
        at = entry.occurred_at.astimezone(zone)
        if start <= at < end:
            key = at.date().isoformat()
            by_day[key] = by_day.get(key, 0) + entry.amount
    last = min(end - timedelta(days=1), max(start, until.astimezone(zone))).date()
    series, total, day = [], 0, start.date()
    while day <= last:
        total += by_day.get(day.isoformat(), 0)
        series.append({'date': day.isoformat(), 'points': total})
        day += timedelta(days=1)
    return series


# --- one-line views ----------------------------------------------------------------------------------------------------
def redemption_view(redemption: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        'redemption_id': redemption.redemption_id, 'program_id': redemption.program_id, 'item_id': redemption.item_id,
        'item_name': redemption.item_name, 'kind': redemption.kind.value, 'quantity': redemption.quantity, 'points': redemption.points,
        'status': redemption.status.value, 'requested_at': redemption.requested_at.isoformat(), 'entry_id': redemption.entry_id,
        'finished_at': redemption.finished_at.isoformat() if redemption.finished_at else None, 'failure': redemption.failure,
    }  # fmt: skip
    if redemption.fulfilment is not None:
        out['fulfilment'] = redemption.fulfilment.model_dump(mode='json', exclude_none=True)
    return out


def dispute_view(dispute: Any) -> dict[str, Any]:
    """A person's own dispute (the decider shown by role only: no other person's details)."""
    return {'dispute_id': dispute.dispute_id, 'entry_id': dispute.entry_id, 'entry_code': dispute.entry_code,
            'entry_amount': dispute.entry_amount, 'entry_rule': dispute.entry_rule, 'comment': dispute.comment,
            'status': dispute.status.value, 'filed_at': dispute.filed_at.isoformat(),
            'decided_at': dispute.decided_at.isoformat() if dispute.decided_at else None, 'decision_reason': dispute.decision_reason,
            'adjustment_points': dispute.adjustment_points, 'adjustment_status': dispute.adjustment_status}  # fmt: skip
