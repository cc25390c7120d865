"""Lambda event filtering (an event source mapping's FilterCriteria), for the local stack's stream poller.

Lambda delivers a record when ANY filter's pattern matches it; a pattern matches when every key it names matches
(nested objects are walked); a leaf is a list of alternatives, any of which may match the value:
- a plain value (string, number, bool, null): equality (`"INSERT"`);
- `{"numeric": [">", 0, "<=", 10]}`: every comparison holds; DynamoDB's `N` strings are compared as numbers;
- `{"exists": true | false}`: the key is there (false: it is absent);
- `{"prefix": "EMP#"}`, `{"anything-but": [...]}`: as Lambda documents them.
A pattern that names a key absent from the record does not match (except `exists: false`). Enough of the grammar for
the patterns this template uses; an operator it does not know raises (so a new pattern is noticed, not ignored).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_MISSING = object()
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    '>': operator.gt, '>=': operator.ge, '<': operator.lt, '<=': operator.le, '=': operator.eq,
}


def parse_filters(criteria: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The patterns of a FilterCriteria ({"Filters": [{"Pattern": "<json>"}]}); none: deliver everything."""
    return [json.loads(f['Pattern']) if isinstance(f['Pattern'], str) else dict(f['Pattern']) for f in (criteria or {}).get('Filters', [])]


def delivers(patterns: Sequence[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """Whether Lambda would deliver the record: no filters, or any pattern matching."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def matches(pattern: Mapping[str, Any], value: Any) -> bool:
    for key, expected in pattern.items():
        actual = value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if actual is _MISSING or not matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if not any(_leaf(rule, actual) for rule in expected):
                return False
        else:
            raise ValueError(f'a filter pattern leaf must be a list or an object (at {key!r})')
    return True


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _leaf(rule: Any, actual: Any) -> bool:
    if not isinstance(rule, Mapping):
        return actual is not _MISSING and actual == rule
    [(name, argument)] = rule.items()
    if name == 'exists':
        return (actual is not _MISSING) is bool(argument)
    if actual is _MISSING:
        return False
    if name == 'numeric':
        number = _number(actual)
        if number is None:
            return False
        pairs = list(zip(argument[::2], argument[1::2], strict=True))
        return all(_COMPARE[op](number, float(bound)) for op, bound in pairs)
    if name == 'prefix':
        return isinstance(actual, str) and actual.startswith(str(argument))
    if name == 'anything-but':
        excluded = argument if isinstance(argument, list) else [argument]
        return actual not in excluded
    raise ValueError(f'filter operator {name!r} is not emulated locally')
