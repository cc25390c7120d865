"""Earnings counters: what each employee was paid per program, rule and period, kept as the ledger
releases awards. Pure (the store writes them in the release's transaction).

They serve two readers without reading the ledger: the rule caps (at most N points per employee per
rule per day, week or month, in the program's time zone) and the period rules (an accelerator pays
×factor on a month's points of some rules; `shared.programs.period`).

Items in the balances table:
- `EARN#<program>#<employee>#<YYYY-MM>`: `r_<rule>` points and `n_<rule>` awards released that month, and
  `d<DD>_<rule>` points of one day for rules with a day cap;
- `EARNW#<program>#<employee>#<YYYY>-W<ww>` (ISO week): `r_<rule>` for rules with a week cap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.ledger.entries import AwardRecord


def rule_attr(rule_id: str) -> str:
    return re.sub(r'[^A-Za-z0-9_]', '_', rule_id)


def month_key(program_id: str, employee_id: str, month: str) -> str:
    return f'EARN#{program_id}#{employee_id}#{month}'


def week_key(program_id: str, employee_id: str, week: str) -> str:
    return f'EARNW#{program_id}#{employee_id}#{week}'


@dataclass(frozen=True)
class Periods:
    day: str  # DD
    month: str  # YYYY-MM
    week: str  # YYYY-Www

    @classmethod
    def of(cls, record: AwardRecord) -> Periods:
        at = record.basis_at or datetime.min
        local = at.astimezone(ZoneInfo(record.time_zone)) if record.basis_at else at
        year, week, _ = local.isocalendar()
        return cls(day=f'{local:%d}', month=f'{local:%Y-%m}', week=f'{year}-W{week:02d}')


@dataclass
class CounterUpdate:
    """ADD some numbers to one counter item; `expect` holds the values the cap decision was based on
    (None = absent), so a concurrent release for the same person makes the transaction retry."""

    key: str
    adds: dict[str, int] = field(default_factory=dict)
    expect: dict[str, int | None] = field(default_factory=dict)

    def transact_item(self, table: str) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        parts = []
        for index, (name, value) in enumerate(sorted(self.adds.items())):
            names[f'#a{index}'] = name
            values[f':a{index}'] = {'N': str(value)}
            parts.append(f'#a{index} :a{index}')
        update: dict[str, Any] = {'TableName': table, 'Key': {'pk': {'S': self.key}}, 'UpdateExpression': 'ADD ' + ', '.join(parts)}
        conditions = []
        for index, (name, seen) in enumerate(sorted(self.expect.items())):
            names[f'#e{index}'] = name
            if seen is None:
                conditions.append(f'attribute_not_exists(#e{index})')
            else:
                values[f':e{index}'] = {'N': str(seen)}
                conditions.append(f'#e{index} = :e{index}')
        if conditions:
            update['ConditionExpression'] = ' AND '.join(conditions)
        update['ExpressionAttributeNames'] = names
        update['ExpressionAttributeValues'] = values
        return {'Update': update}


def cap_keys(records: Sequence[AwardRecord]) -> list[str]:
    """The counter items a release must read before deciding capped amounts (none without caps)."""
    keys: set[str] = set()
    for record in records:
        if not record.caps or record.points <= 0:
            continue
        periods = Periods.of(record)
        if 'day' in record.caps or 'month' in record.caps:
            keys.add(month_key(record.program_id, record.employee_id, periods.month))
        if 'week' in record.caps:
            keys.add(week_key(record.program_id, record.employee_id, periods.week))
    return sorted(keys)


def plan_counters(records: Sequence[AwardRecord], seen: Mapping[str, Mapping[str, int]]) -> tuple[dict[str, int], list[CounterUpdate]]:
    """Capped amounts (entry id -> points, only where a cap cut an award) and the counter updates for
    the awards being released, in basis order."""
    updates: dict[str, CounterUpdate] = {}
    amounts: dict[str, int] = {}
    running: dict[tuple[str, str], int] = {}

    def current(key: str, name: str) -> int:
        return running.get((key, name), seen.get(key, {}).get(name, 0))

    def update(key: str) -> CounterUpdate:
        return updates.setdefault(key, CounterUpdate(key))

    for record in sorted(records, key=lambda r: (r.basis_at or datetime.min, r.entry_id)):
        periods = Periods.of(record)
        rule = rule_attr(record.rule_id)
        month = month_key(record.program_id, record.employee_id, periods.month)
        week = week_key(record.program_id, record.employee_id, periods.week)
        checks = {'month': (month, f'r_{rule}'), 'day': (month, f'd{periods.day}_{rule}'), 'week': (week, f'r_{rule}')}
        amount = record.points
        if amount > 0:
            for period, cap in record.caps.items():
                key, name = checks[period]
                amount = max(0, min(amount, cap - current(key, name)))
                update(key).expect.setdefault(name, seen.get(key, {}).get(name))
        if amount != record.points:
            amounts[record.entry_id] = amount
        for period, (key, name) in checks.items():
            if period == 'month' or period in record.caps:
                update(key).adds[name] = update(key).adds.get(name, 0) + amount
                running[(key, name)] = current(key, name) + amount
        update(month).adds[f'n_{rule}'] = update(month).adds.get(f'n_{rule}', 0) + 1
    return amounts, [updates[key] for key in sorted(updates)]
