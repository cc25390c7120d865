"""Bounded tickets and stepped ledger changes (issue 13, finding 3), pure: tag normalisation, the compacted history's
equivalence with the whole fold, and the split of a plan too large for one transaction."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from shared.events import MAX_EVENT_TAGS, MAX_TAG_LENGTH, Status, TicketEvent, normalise_tags
from shared.ledger.entries import AwardState, plan_awards, split_plan
from shared.programs.awards import Award, ClawbackPolicy
from shared.tickets.history import TicketHistory
from shared.tickets.state import fold
from tests.support.factories import ticket_event

NOW = datetime(2024, 5, 20, tzinfo=UTC)


def test_tags_are_trimmed_lower_cased_cut_and_capped_and_the_cut_is_counted() -> None:
    # Given tags with spaces, capitals, one too long, a duplicate, structured ones, and more than an event keeps
    raw = ['  VIP  Customer ', 'vip customer', 'x' * 100, 'repeat_of:JC-Mixed-Case', *[f'tag-{n}' for n in range(60)]]

    # When they are normalised
    tags, cut = normalise_tags(raw)

    # Then structured tags keep their case and come first, free ones are normalised, at most MAX_EVENT_TAGS are kept
    assert tags[0] == 'repeat_of:JC-Mixed-Case'
    assert tags[1] == 'vip customer' and tags[2] == 'x' * MAX_TAG_LENGTH
    assert len(tags) == MAX_EVENT_TAGS
    # and the count says one tag was cut and the rest beyond the cap dropped (62 distinct + 1 structured - 50)
    assert cut == 1 + (2 + 60 + 1 - MAX_EVENT_TAGS)
    assert ticket_event(tags=tuple(raw)).tags_truncated == cut


def varied_events(count: int, seed: int) -> list[TicketEvent]:
    rng = random.Random(seed)
    statuses = [Status.OPEN, Status.PENDING, Status.SOLVED, Status.OPEN, Status.CLOSED]
    events = []
    for n in range(count):
        replies = rng.randint(0, n) if rng.random() < 0.5 else None
        tags = tuple(f't{rng.randint(0, 150)}' for _ in range(rng.randint(0, 3)))
        events.append(ticket_event('9001', n, status=rng.choice(statuses), minutes=rng.randint(0, 5000), tags=tags, reply_count=replies))
    return events


def test_a_compacted_history_folds_to_the_same_state_as_every_event_whatever_the_arrival_order() -> None:
    for seed in range(5):
        # Given 400 events with random statuses, replies and tags, delivered in a random order
        events = varied_events(400, seed)
        arrival = events[:]
        random.Random(seed + 100).shuffle(arrival)

        # When a history keeping 200 events whole is built in one go, and another event by event in order of time
        at_once = TicketHistory.of(arrival)
        one_by_one = TicketHistory.of([])
        for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
            added = one_by_one.with_event(event)
            assert added is not None
            one_by_one = added

        # Then both keep 200 events and fold to exactly the state of the whole set (tags capped the same way)
        assert len(at_once.events) == 200 and at_once.base is not None
        assert at_once.state() == fold(events) == one_by_one.state()
        assert len(fold(events).tags) <= 100


def test_a_late_event_is_absorbed_once() -> None:
    # Given a history whose oldest events were compacted
    events = varied_events(300, 7)
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    late = ordered.pop(10).model_copy(update={'tags': ('a-late-tag',)})
    history = TicketHistory.of(ordered)

    # When the missing event arrives after its place was compacted, then again
    first = history.with_event(late)
    assert first is not None
    second = first.with_event(late)

    # Then it counts once (its tag kept, the event counted) and its redelivery adds nothing
    assert 'a-late-tag' in first.state().tags and first.state().event_count == 300
    assert second is None


def award(n: int, employee: str = 'E3') -> Award:
    return Award(program_id='default', program_version=1, employee_id=employee, points=5, rule_id='upsell_accepted', rule_version=2,
                 basis_key=f'upsell:L{n:04d}', basis_at=NOW, release_at=NOW + timedelta(hours=72),
                 clawback=ClawbackPolicy.REVERSE, clawback_days=30)


def test_a_plan_too_large_for_one_transaction_is_split_into_steps_that_resume_where_they_stopped() -> None:
    # Given 250 released awards for E3 that the ticket no longer deserves and 250 new ones for E5 (a reassignment)
    released = plan_awards(ticket_key='dms#JC', current={}, desired=[award(n) for n in range(250)], trigger_event_id='e1',
                           trigger_at=NOW, facts={}, now=NOW).awards
    current = {key: record.model_copy(update={'state': AwardState.RELEASED}) for key, record in released.items()}
    desired = [award(n, 'E5') for n in range(250)]
    plan = plan_awards(ticket_key='dms#JC', current=current, desired=desired, trigger_event_id='e2', trigger_at=NOW, facts={}, now=NOW)

    # When it is split
    steps = split_plan(current, plan)

    # Then every step fits a transaction (ticket + items + one balance update per employee with an entry)
    for step in steps:
        employees = len({entry.employee_id for entry in step.entries})
        assert 1 + len(step.pending_put) + len(step.pending_delete) + len(step.entries) + employees <= 100
    # and together they hold each change of the plan once, ending with the plan's awards
    assert sorted(r.entry_id for s in steps for r in s.pending_put) == sorted(r.entry_id for r in plan.pending_put)
    assert sorted(e.entry_id for s in steps for e in s.entries) == sorted(e.entry_id for e in plan.entries)
    assert steps[-1].awards == plan.awards and len(steps) >= 5
    # and planning again from the awards any step left (a crash, then a redelivery) yields exactly the remaining changes
    for done in range(len(steps)):
        again = plan_awards(ticket_key='dms#JC', current=steps[done].awards, desired=desired, trigger_event_id='e2',
                            trigger_at=NOW, facts={}, now=NOW)
        remaining = steps[done + 1 :]
        assert {r.entry_id for r in again.pending_put} == {r.entry_id for s in remaining for r in s.pending_put}
        assert {e.entry_id for e in again.entries} == {e.entry_id for s in remaining for e in s.entries}
