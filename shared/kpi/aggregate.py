"""From ticket changes to KPI deltas (pure).

Each change of a ticket item carries its previous and its new KPI contribution. The delta of a change
is "new minus old" on every aggregate item either touches: the (scope, day) and (scope, day, channel)
items of the ticket's scopes. Reassigning a ticket moves its counters from one employee to the other;
a late survey adds to the day the ticket was created; a change that alters no counter adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.kpi.definitions import Contribution

ItemKey = tuple[str, str]  # (pk: scope, sk: day or day#channel)


@dataclass(frozen=True)
class TicketChange:
    """One stream record: the change's unique id, and the contributions before and after."""

    change_id: str
    old: Contribution | None
    new: Contribution | None


@dataclass
class ItemDelta:
    counters: dict[str, int] = field(default_factory=dict)
    late: int = 0
    changes: int = 0

    def add(self, counters: dict[str, int], sign: int) -> None:
        for name, value in counters.items():
            total = self.counters.get(name, 0) + sign * value
            if total:
                self.counters[name] = total
            else:
                self.counters.pop(name, None)

    def merge(self, other: ItemDelta) -> None:
        self.add(other.counters, 1)
        self.late += other.late
        self.changes += other.changes

    @property
    def is_empty(self) -> bool:
        return not self.counters and not self.late


def item_keys(contribution: Contribution) -> list[ItemKey]:
    """Scopes are 'pk' or 'pk|channel'. The organisation and each location keep a day item ('2026-10-05');
    every other aggregate, and every channel split, keeps one month item ('2026-10', '2026-10#email'). Per-person
    and per-channel figures are read by month, and a batch of changes spanning several days then still writes
    each person's item once."""
    keys = []
    month = contribution.day[:7]
    for scope in contribution.scopes:
        pk, _, channel = scope.partition('|')
        if channel:
            keys.append((pk, f'{month}#{channel}'))
        elif pk == 'all' or pk.startswith('location#'):
            keys.append((pk, contribution.day))
        else:
            keys.append((pk, month))
    return keys


def change_deltas(change: TicketChange) -> dict[ItemKey, ItemDelta]:
    deltas: dict[ItemKey, ItemDelta] = {}
    if change.old is not None:
        for key in item_keys(change.old):
            deltas.setdefault(key, ItemDelta()).add(dict(change.old.counters), -1)
    if change.new is not None:
        for key in item_keys(change.new):
            deltas.setdefault(key, ItemDelta()).add(dict(change.new.counters), 1)
    late = change.new is not None and change.new.late
    out = {}
    for key, delta in deltas.items():
        if delta.counters:
            delta.late = int(late)
            delta.changes = 1
            out[key] = delta
    return out


def total(deltas: Iterable[dict[ItemKey, ItemDelta]]) -> dict[ItemKey, ItemDelta]:
    summed: dict[ItemKey, ItemDelta] = {}
    for per_change in deltas:
        for key, delta in per_change.items():
            summed.setdefault(key, ItemDelta()).merge(delta)
    return {key: delta for key, delta in summed.items() if not delta.is_empty}


# -- CloudWatch samples ---------------------------------------------------------------------------
# The dashboard plots averages of 0/100 samples (a share) and of durations. A sample is taken when a
# ticket first reaches an outcome (its first rating, its SLA outcome, its delivery); the exact,
# correctable figures are the aggregates above.
@dataclass(frozen=True)
class Sample:
    metric: str
    unit: str  # Powertools MetricUnit value
    value: float


def _new(name: str, old: Contribution | None, new: Contribution) -> bool:
    return new.counters.get(name, 0) > (old.counters.get(name, 0) if old else 0)


def samples(change: TicketChange) -> tuple[str, str, list[Sample]] | None:
    """(location, channel, samples) for one change; None when it reached no new outcome."""
    new, old = change.new, change.old
    if new is None:
        return None
    location = next((scope.split('#', 1)[1] for scope in new.scopes if scope.startswith('location#') and '|' not in scope), 'unassigned')
    channel = next((scope.split('|', 1)[1] for scope in new.scopes if scope.startswith('all|')), 'other')
    c = new.counters.get
    out: list[Sample] = []
    if _new('t', old, new):
        out.append(Sample('TicketsCreated', 'Count', 1))
    if _new('j', old, new):
        out.append(Sample('JobCardsOpened', 'Count', 1))
        out.append(Sample('RepeatComplaint', 'Percent', 100.0 if c('rc') else 0.0))
    if _new('cs_n', old, new):
        out.append(Sample('Csat', 'Percent', 100.0 if c('cs_g') else 0.0))
    if _new('fr_n', old, new):
        out.append(Sample('FirstResponseMinutes', 'None', c('fr_s', 0) / 60))
    if _new('ta_n', old, new):
        out.append(Sample('TurnaroundHours', 'None', c('ta_s', 0) / 3600))
        out.append(Sample('FirstTimeFix', 'Percent', 100.0 if c('ftf_ok') else 0.0))
        out.append(Sample('ZeroDefect', 'Percent', 100.0 if c('zd') else 0.0))
    for prefix in ('sfr', 'srs', 'sta'):
        if _new(f'{prefix}_met', old, new) or _new(f'{prefix}_br', old, new):
            out.append(Sample('SlaCompliance', 'Percent', 100.0 if c(f'{prefix}_met') else 0.0))
    revenue = c('up_v', 0) - (old.counters.get('up_v', 0) if old else 0)
    if revenue > 0:
        out.append(Sample('UpsellRevenue', 'None', revenue / 100))
    return (location, channel, out) if out else None
