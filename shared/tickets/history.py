"""A ticket's events as its item keeps them: the most recent events whole, the older ones compacted.

Pure (no storage). A ticket item that kept every event would grow without bound (20,000 events do not fit
DynamoDB's 400 KB item, and every write is paid per KB of the whole item). So the item keeps:

- `events`: the KEEP_EVENTS most recent events in fold order ((occurred_at, event_id)), whole;
- `base`: the fold of every older event (`shared.tickets.state.Fold`: the running state the fold had reached),
  and their SLA checkpoints, consecutive ones that change nothing merged (at most MAX_HISTORY_POINTS: the first
  64 and the latest, the middle of a very long history dropped).

Folding the base and then the kept events gives exactly the state folding every event gives, whatever the
arrival order, as long as events arrive after their place was compacted never (their place is older than the
oldest of the KEEP_EVENTS most recent ones: the "compaction horizon"). An event that does arrive that late is
absorbed (`Fold.absorb`): its order-independent facts count exactly; a field a later event had set is kept.

Duplicates: a redelivered event among the kept ones is known by its id. A redelivery of a compacted event is
older than the horizon, so it is absorbed, and absorbing an event the base already holds changes nothing: it is
recognised as a duplicate by its content, without keeping its id. Either way nothing is written and no point is
counted twice (and ledger entry ids are deterministic, so even a write could not count one twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from shared.events import TicketEvent
from shared.sla.clock import Checkpoint, checkpoints
from shared.tickets.state import Fold, TicketState, fold, fold_into

KEEP_EVENTS = 200
MAX_HISTORY_POINTS = 256
KEEP_FIRST_POINTS = 64


class CompactedHistory(BaseModel):
    """What a ticket keeps of its compacted (oldest) events."""

    model_config = ConfigDict(frozen=False)

    fold: Fold
    points: list[Checkpoint] = []
    points_dropped: int = 0  # checkpoints cut from the middle of a very long history


def _order(event: TicketEvent) -> tuple[object, str]:
    return (event.occurred_at, event.event_id)


def _merge_points(points: list[Checkpoint]) -> tuple[list[Checkpoint], int]:
    merged: list[Checkpoint] = []
    for point in points:
        last = merged[-1] if merged else None
        if last is not None and point.resolved_at is None and (point.status, point.priority, point.replies) == (
            last.status, last.priority, last.replies
        ):
            continue  # the ticket did not change: the earlier checkpoint already says all of it
        merged.append(point)
    if len(merged) <= MAX_HISTORY_POINTS:
        return merged, 0
    dropped = len(merged) - MAX_HISTORY_POINTS
    return merged[:KEEP_FIRST_POINTS] + merged[KEEP_FIRST_POINTS + dropped :], dropped


@dataclass
class TicketHistory:
    events: list[TicketEvent]  # kept whole, every one later than the base's horizon, in fold order
    base: CompactedHistory | None = None
    _state: TicketState | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, events: Iterable[TicketEvent], base: CompactedHistory | None = None) -> TicketHistory:
        unique = {event.event_id: event for event in events}
        return cls(sorted(unique.values(), key=_order), base).compacted()

    def has_event(self, event_id: str) -> bool:
        return any(event.event_id == event_id for event in self.events)

    def is_late(self, event: TicketEvent) -> bool:
        """Whether the event's place in the fold order was already compacted."""
        horizon = self.base.fold.order_key if self.base is not None else None
        return horizon is not None and _order(event) <= horizon

    def with_event(self, event: TicketEvent) -> TicketHistory | None:
        """The history with the event added, or None when it adds nothing (a duplicate, by id or by content)."""
        if self.has_event(event.event_id):
            return None
        if self.is_late(event):
            assert self.base is not None
            base = self.base.model_copy(deep=True)
            if not base.fold.absorb(event):
                return None
            return TicketHistory(list(self.events), base)
        return TicketHistory(sorted([*self.events, event], key=_order), self.base).compacted()

    def compacted(self, keep: int = KEEP_EVENTS) -> TicketHistory:
        """The same history keeping at most `keep` events whole (the oldest folded into the base)."""
        if len(self.events) <= keep:
            return self
        old, recent = self.events[: len(self.events) - keep], self.events[len(self.events) - keep :]
        before = self.base.points if self.base is not None else []
        points, dropped = _merge_points(checkpoints(old, before))
        base = CompactedHistory(
            fold=fold_into(self.base.fold if self.base is not None else None, old),
            points=points,
            points_dropped=(self.base.points_dropped if self.base is not None else 0) + dropped,
        )
        return TicketHistory(recent, base)

    def state(self) -> TicketState:
        if self._state is None:
            self._state = fold(self.events, self.base.fold if self.base is not None else None)
        return self._state

    def checkpoints(self) -> list[Checkpoint]:
        return checkpoints(self.events, self.base.points if self.base is not None else ())

    def tags(self) -> set[str]:
        """Every tag the history holds (the kept events' and the base's)."""
        return set(self.base.fold.tags if self.base is not None else ()) | {tag for event in self.events for tag in event.tags}

    @property
    def latest(self) -> TicketEvent:
        return self.events[-1]
