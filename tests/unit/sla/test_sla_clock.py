"""SLA clocks: first/next response, resolution and turnaround over a ticket's whole timeline, and policy matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import Channel, Kind, Priority, Source, Status, Survey, TicketEvent
from shared.sla.calendar import ALWAYS_OPEN, WEEKDAYS, BusinessCalendar
from shared.sla.clock import ClockState, SlaReport, checkpoints, evaluate, reply_cycles
from shared.sla.policy import DEFAULT_POLICIES, Metric, PolicyMatch, PolicySubject, SlaPolicy, Target, first_matching
from shared.tickets.state import fold
from tests.support.factories import ticket_history

US_EAST = ZoneInfo('America/New_York')
NEW_YORK = BusinessCalendar(
    calendar_id='us-nyc',
    timezone='America/New_York',
    hours={day: [('09:00', '17:00')] for day in WEEKDAYS[:5]},
    holiday_country='US',
    holiday_subdivision='NY',
)
POLICIES = {policy.policy_id: policy for policy in DEFAULT_POLICIES}
STANDARD = POLICIES['standard']  # first response 30/60/240/480, next 60/120/480/960, resolution 240/480/1440/2880 business minutes
HOUR = 3600.0


def ny(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A New York wall-clock time in 2026, as a UTC instant."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=US_EAST).astimezone(UTC)


history = ticket_history


def report(events: list[TicketEvent], policy: SlaPolicy = STANDARD, calendar: BusinessCalendar = NEW_YORK) -> SlaReport:
    return evaluate(fold(events), events, policy, calendar)


CALENDAR_TIME = SlaPolicy(
    policy_id='calendar-time',
    targets={Metric.FIRST_RESPONSE: {Priority.NORMAL: Target(minutes=240, business_hours=False)}},
)


# First response


def test_first_response_counts_business_time_across_a_weekend_and_a_dst_change() -> None:
    # Given a ticket created on Friday evening after closing (EST), answered on Monday 10:30 (EDT: clocks went forward on Sunday)
    created, replied = ny(3, 6, 18, 30), ny(3, 9, 10, 30)
    waiting = history(created)
    answered = history(created, (replied, {'status': Status.PENDING, 'reply_count': 1, 'first_response_at': replied}))

    # When the clocks are evaluated before and after the reply
    before, after = report(waiting).clocks[Metric.FIRST_RESPONSE], report(answered).clocks[Metric.FIRST_RESPONSE]

    # Then the 4 business hours are due Monday 13:00 local, and the reply after 1.5 business hours meets the target
    assert before.state is ClockState.RUNNING and before.due_at == ny(3, 9, 13)
    assert report(waiting).next_due_at == ny(3, 9, 13)
    assert after.state is ClockState.MET
    assert after.elapsed_s == 1.5 * HOUR
    assert after.completed_at == replied
    assert after.due_at is None and after.breached_at is None


def test_first_response_breaches_a_calendar_time_target_over_the_weekend() -> None:
    # Given the same Friday-evening ticket under a 4-hour calendar-time target
    created, replied = ny(3, 6, 18, 30), ny(3, 9, 10, 30)
    waiting = history(created)
    answered = history(created, (replied, {'status': Status.PENDING, 'reply_count': 1}))

    # When the clocks are evaluated
    before = report(waiting, CALENDAR_TIME).clocks[Metric.FIRST_RESPONSE]
    after = report(answered, CALENDAR_TIME).clocks[Metric.FIRST_RESPONSE]

    # Then every second counts: due at 22:30 on Friday, breached then, with the whole weekend elapsed
    assert not before.business_hours and before.due_at == created + timedelta(hours=4)
    assert after.state is ClockState.BREACHED
    assert after.breached_at == ny(3, 6, 22, 30)
    assert after.elapsed_s == (replied - created).total_seconds()
    assert after.completed_at == replied  # derived from the first event that shows a reply


def test_a_ticket_solved_without_a_reply_has_no_first_response_outcome() -> None:
    # Given a ticket solved (spam, self-service) without an agent reply
    events = history(ny(6, 1, 9), (ny(6, 1, 9, 5), {'status': Status.SOLVED}))

    # When the clocks are evaluated
    clocks = report(events).clocks

    # Then there is no first-response clock (neither met nor breached), and resolution is met
    assert Metric.FIRST_RESPONSE not in clocks
    assert clocks[Metric.RESOLUTION].state is ClockState.MET


def test_a_policy_can_pause_first_response_too() -> None:
    # Given a Freshdesk-style policy whose timer is off while pending, and a ticket pending 10:00-12:00 before the first reply
    policy = SlaPolicy(
        policy_id='timer-off',
        targets={Metric.FIRST_RESPONSE: {Priority.NORMAL: Target(minutes=120)}},
        paused_metrics=[Metric.FIRST_RESPONSE],
    )
    created = ny(6, 1, 9)
    events = history(
        created,
        (ny(6, 1, 10), {'status': Status.PENDING}),
        (ny(6, 1, 12), {'status': Status.OPEN}),
        (ny(6, 1, 12, 30), {'status': Status.OPEN, 'reply_count': 1}),
    )

    # When the clocks are evaluated while pending, and after the reply
    paused = report(events[:2], policy).clocks[Metric.FIRST_RESPONSE]
    clock = report(events, policy).clocks[Metric.FIRST_RESPONSE]

    # Then it is paused without a due time, and the pending two hours do not count: 1.5 h, met (3.5 h would breach)
    assert paused.state is ClockState.PAUSED and paused.due_at is None and paused.elapsed_s == HOUR
    assert clock.state is ClockState.MET
    assert clock.elapsed_s == 1.5 * HOUR


# Resolution: pauses, priority changes, reopens


def test_resolution_pauses_while_pending_or_on_hold_and_the_due_time_moves_by_the_paused_business_time() -> None:
    # Given a normal ticket (24 business hours to resolve) created Monday 09:00,
    # pending from 10:00 Monday to 10:00 Tuesday, on hold Wednesday 09:00-13:00
    created = ny(3, 9, 9)
    events = history(
        created,
        (ny(3, 9, 10), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(3, 10, 10), {'status': Status.OPEN}),
        (ny(3, 11, 9), {'status': Status.ON_HOLD}),
        (ny(3, 11, 13), {'status': Status.OPEN}),
    )
    unpaused_due = ny(3, 11, 17)
    assert report(events[:1]).clocks[Metric.RESOLUTION].due_at == unpaused_due

    # When the clocks are evaluated after each event
    pending, resumed, on_hold, resumed_again = (report(events[: n + 1]).clocks[Metric.RESOLUTION] for n in range(1, 5))

    # Then while paused there is no due time and the time before the pause is kept
    assert pending.state is ClockState.PAUSED and pending.due_at is None and pending.elapsed_s == HOUR
    assert report(events[:2]).next_due_at is None  # first response met, nothing else running
    assert on_hold.state is ClockState.PAUSED and on_hold.due_at is None and on_hold.elapsed_s == 8 * HOUR
    # and on resuming the due time has moved by exactly the business time spent paused
    paused_first = NEW_YORK.elapsed(ny(3, 9, 10), ny(3, 10, 10))
    assert paused_first == 8 * HOUR
    assert resumed.state is ClockState.RUNNING
    assert resumed.due_at == NEW_YORK.add(unpaused_due, paused_first) == ny(3, 12, 17)
    assert resumed_again.state is ClockState.RUNNING
    assert resumed_again.due_at == NEW_YORK.add(unpaused_due, paused_first + 4 * HOUR) == ny(3, 13, 13)


def test_resolution_runs_through_pending_when_the_policy_pauses_nothing() -> None:
    # Given the same pending ticket under a policy with no pause statuses
    policy = STANDARD.model_copy(update={'pause_statuses': []})
    events = history(ny(3, 9, 9), (ny(3, 9, 10), {'status': Status.PENDING, 'reply_count': 1}), (ny(3, 10, 10), {'status': Status.OPEN}))

    # When the clocks are evaluated
    clock = report(events, policy).clocks[Metric.RESOLUTION]

    # Then the due time is as if the ticket had never been pending
    assert clock.state is ClockState.RUNNING
    assert clock.due_at == ny(3, 11, 17)
    assert clock.elapsed_s == 9 * HOUR


def test_a_priority_change_recalculates_every_target_from_creation() -> None:
    # Given a normal ticket created Monday 09:00, made urgent at 10:00, then low at 11:00
    created = ny(3, 9, 9)
    events = history(created, (ny(3, 9, 10), {'priority': Priority.URGENT}), (ny(3, 9, 11), {'priority': Priority.LOW}))

    # When the clocks are evaluated after each change
    normal, urgent, low = (report(events[: n + 1]) for n in range(3))

    # Then the due times are the new priority's targets counted from creation, not from the change
    assert normal.clocks[Metric.RESOLUTION].due_at == ny(3, 11, 17)  # 24 business hours
    assert urgent.priority is Priority.URGENT
    assert urgent.clocks[Metric.RESOLUTION].target_minutes == 240
    assert urgent.clocks[Metric.RESOLUTION].due_at == ny(3, 9, 13)  # not 14:00
    assert urgent.clocks[Metric.FIRST_RESPONSE].state is ClockState.RUNNING
    assert urgent.clocks[Metric.FIRST_RESPONSE].due_at == ny(3, 9, 9, 30)  # already past when it became urgent
    assert low.clocks[Metric.FIRST_RESPONSE].due_at == ny(3, 9, 17)  # 8 business hours
    assert low.clocks[Metric.RESOLUTION].due_at == ny(3, 16, 17)  # 48 business hours: six working days


@pytest.mark.parametrize(('priority', 'state'), [(Priority.LOW, ClockState.MET), (Priority.URGENT, ClockState.BREACHED)])
def test_a_completed_target_is_judged_with_the_final_priority(priority: Priority, state: ClockState) -> None:
    # Given a ticket whose priority is changed at 11:00 and first answered at 11:30 (2.5 business hours)
    created = ny(3, 9, 9)
    events = history(created, (ny(3, 9, 11), {'priority': priority}), (ny(3, 9, 11, 30), {'reply_count': 1}))

    # When the first response is evaluated
    clock = report(events).clocks[Metric.FIRST_RESPONSE]

    # Then it is met against the low target (8 h) and breached against the urgent one (30 min), at 09:30
    assert clock.state is state
    assert clock.elapsed_s == 2.5 * HOUR
    assert clock.breached_at == (ny(3, 9, 9, 30) if state is ClockState.BREACHED else None)


@pytest.mark.parametrize(
    ('final_solve', 'state', 'elapsed_hours', 'breached_at'),
    [
        (ny(3, 10, 10, 30), ClockState.MET, 3.5, None),
        (ny(3, 10, 12), ClockState.BREACHED, 5, ny(3, 10, 11)),
    ],
)
def test_a_reopen_resumes_resolution_until_the_final_solve(
    final_solve: datetime, state: ClockState, elapsed_hours: float, breached_at: datetime | None
) -> None:
    # Given an urgent ticket (4 business hours) created Monday 09:00, solved at 11:00, reopened by the customer Tuesday 09:00,
    # and solved again; the final solve's event arrives 20 s after the solved_at it reports
    created = ny(3, 9, 9)
    events = history(
        created,
        (ny(3, 9, 11), {'status': Status.SOLVED, 'reply_count': 1, 'resolved_at': ny(3, 9, 11)}),
        (ny(3, 10, 9), {'status': Status.OPEN}),
        (final_solve + timedelta(seconds=20), {'status': Status.SOLVED, 'resolved_at': final_solve}),
        priority=Priority.URGENT,
    )

    # When the clocks are evaluated after the first solve, the reopen and the final solve
    solved, reopened, final = (report(events[: n + 1]).clocks[Metric.RESOLUTION] for n in (1, 2, 3))

    # Then the first solve met the target with 2 h, the reopen resumed it with 2 h left (the solved night does not count),
    # and the final solve decides, with the total time since creation outside the solved period
    assert solved.state is ClockState.MET and solved.elapsed_s == 2 * HOUR and solved.completed_at == ny(3, 9, 11)
    assert fold(events[:3]).reopen_count == 1
    assert reopened.state is ClockState.RUNNING
    assert reopened.completed_at is None
    assert reopened.elapsed_s == 2 * HOUR
    assert reopened.due_at == ny(3, 10, 11)
    assert final.state is state
    assert final.completed_at == final_solve
    assert final.elapsed_s == elapsed_hours * HOUR
    assert final.breached_at == breached_at


def test_the_breach_instant_is_the_first_one_even_when_work_goes_on_after_a_pause() -> None:
    # Given an urgent ticket (4 business hours) created Monday 09:00, open until 14:00, pending 14:00-15:00, solved at 16:00
    events = history(
        ny(6, 1, 9),
        (ny(6, 1, 14), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(6, 1, 15), {'status': Status.OPEN}),
        (ny(6, 1, 16), {'status': Status.SOLVED}),
        priority=Priority.URGENT,
    )

    # When resolution is evaluated while overdue and running again, and after the solve
    overdue, solved = report(events[:3]).clocks[Metric.RESOLUTION], report(events).clocks[Metric.RESOLUTION]

    # Then the running clock's due time is the past breach instant, and the solve keeps it: 13:00, with 6 h counted
    assert (overdue.state, overdue.due_at, overdue.breached_at) == (ClockState.RUNNING, ny(6, 1, 13), ny(6, 1, 13))
    assert overdue.elapsed_s == 5 * HOUR
    assert (solved.state, solved.breached_at, solved.elapsed_s) == (ClockState.BREACHED, ny(6, 1, 13), 6 * HOUR)


def test_a_solve_after_a_reopen_is_not_dated_by_the_solve_before_it() -> None:
    # Given an urgent ticket solved Monday 11:00 (solved_at reported), reopened Tuesday 09:00 and solved again at
    # Tuesday 12:00 by an event that carries no solved_at
    events = history(
        ny(3, 9, 9),
        (ny(3, 9, 11), {'status': Status.SOLVED, 'reply_count': 1, 'resolved_at': ny(3, 9, 11)}),
        (ny(3, 10, 9), {'status': Status.OPEN}),
        (ny(3, 10, 12), {'status': Status.SOLVED}),
        priority=Priority.URGENT,
    )

    # When resolution is evaluated
    clock = report(events).clocks[Metric.RESOLUTION]

    # Then it completes at the final solve, 5 business hours in: breached at Tuesday 11:00
    assert clock.completed_at == ny(3, 10, 12)
    assert clock.state is ClockState.BREACHED
    assert clock.breached_at == ny(3, 10, 11)


def test_a_reopen_does_not_change_the_time_counted_before_it() -> None:
    # Given a ticket solved at Monday 11:00 (solved_at reported) by an event that arrives 20 s later
    events = history(
        ny(3, 9, 9),
        (ny(3, 9, 11, 0, 20), {'status': Status.SOLVED, 'reply_count': 1, 'resolved_at': ny(3, 9, 11)}),
        (ny(3, 10, 9), {'status': Status.OPEN}),
        priority=Priority.URGENT,
    )

    # When resolution is evaluated while solved, and after the customer reopens it on Tuesday
    solved, reopened = report(events[:2]).clocks[Metric.RESOLUTION], report(events).clocks[Metric.RESOLUTION]

    # Then the 2 business hours before the solve are the same in both, and so is the due time they imply
    assert solved.elapsed_s == 2 * HOUR
    assert reopened.elapsed_s == solved.elapsed_s
    assert reopened.due_at == ny(3, 10, 11)


def test_a_job_card_has_a_turnaround_clock_paused_while_awaiting_approval_and_a_ticket_does_not() -> None:
    # Given a policy with resolution and turnaround targets, and a job card opened Monday 09:00 (a 4 h urgent target),
    # awaiting approval (pending) 10:00-14:00, delivered at 16:00
    policy = SlaPolicy(
        policy_id='both',
        targets={
            Metric.RESOLUTION: {Priority.URGENT: Target(minutes=60)},
            Metric.TURNAROUND: {Priority.URGENT: Target(minutes=240)},
        },
    )
    created = ny(6, 1, 9)
    card = history(
        created,
        (ny(6, 1, 10), {'status': Status.PENDING}),
        (ny(6, 1, 14), {'status': Status.OPEN}),
        (ny(6, 1, 16), {'status': Status.CLOSED}),
        priority=Priority.URGENT,
        kind=Kind.JOB_CARD,
    )
    ticket = history(created, priority=Priority.URGENT)

    # When both are evaluated
    card_clocks, ticket_clocks = report(card, policy).clocks, report(ticket, policy).clocks

    # Then the job card has only turnaround, met after 3 h of work; the ticket has only resolution
    assert set(card_clocks) == {Metric.TURNAROUND}
    assert card_clocks[Metric.TURNAROUND].state is ClockState.MET
    assert card_clocks[Metric.TURNAROUND].elapsed_s == 3 * HOUR
    assert set(ticket_clocks) == {Metric.RESOLUTION}


def test_a_priority_without_a_target_has_no_clock() -> None:
    # Given a policy with urgent targets only, and a normal ticket
    policy = SlaPolicy(policy_id='urgent-only', targets={Metric.FIRST_RESPONSE: {Priority.URGENT: Target(minutes=15)}})

    # When it is evaluated
    result = report(history(ny(6, 1, 9)), policy)

    # Then no clock runs, and the report says which policy and calendar were applied
    assert result.clocks == {}
    assert result.next_due_at is None
    assert (result.policy_id, result.policy_version, result.calendar_id) == ('urgent-only', 1, 'us-nyc')


# Next response


def test_next_response_counts_each_customer_turn_as_a_cycle() -> None:
    # Given an urgent ticket (next response within 1 business hour) created Monday 09:00:
    # first reply 09:10; customer turn 10:00, reply 10:40 (met); customer turn 16:30, reply Tuesday 10:00 (breached);
    # customer turn Tuesday 11:00 that ends in a solve without a reply
    events = history(
        ny(3, 9, 9),
        (ny(3, 9, 9, 10), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(3, 9, 10), {'status': Status.OPEN}),
        (ny(3, 9, 10, 40), {'status': Status.PENDING, 'reply_count': 2}),
        (ny(3, 9, 16, 30), {'status': Status.OPEN}),
        (ny(3, 10, 10), {'status': Status.PENDING, 'reply_count': 3}),
        (ny(3, 10, 11), {'status': Status.OPEN}),
        (ny(3, 10, 11, 30), {'status': Status.SOLVED}),
        priority=Priority.URGENT,
    )

    def clock_after(n: int) -> Any:
        return report(events[: n + 1]).clocks.get(Metric.NEXT_RESPONSE)

    # When the clocks are evaluated after each event
    # Then there is no cycle before the customer's first turn
    assert clock_after(1) is None
    # and each turn starts a running cycle due 1 business hour later
    first_turn = clock_after(2)
    assert (first_turn.state, first_turn.started_at, first_turn.due_at) == (ClockState.RUNNING, ny(3, 9, 10), ny(3, 9, 11))
    assert (first_turn.cycles_met, first_turn.cycles_breached) == (0, 0)
    met = clock_after(3)
    assert (met.state, met.elapsed_s, met.completed_at, met.cycles_met, met.cycles_breached) == (
        ClockState.MET,
        2400.0,
        ny(3, 9, 10, 40),
        1,
        0,
    )
    second_turn = clock_after(4)
    assert (second_turn.state, second_turn.due_at) == (ClockState.RUNNING, ny(3, 10, 9, 30))  # 30 min Monday + 30 min Tuesday
    assert (second_turn.cycles_met, second_turn.cycles_breached) == (1, 0)
    breached = clock_after(5)
    assert (breached.state, breached.breached_at, breached.elapsed_s) == (ClockState.BREACHED, ny(3, 10, 9, 30), 5400.0)
    assert (breached.cycles_met, breached.cycles_breached) == (1, 1)
    assert clock_after(6).state is ClockState.RUNNING
    # and a turn that ends in a solve without a reply is no cycle: the last one is shown, the counts are unchanged
    assert clock_after(7) == breached


def test_an_agent_reply_that_reopens_a_pending_ticket_is_not_a_customer_turn() -> None:
    # Given a ticket answered and set pending, then an agent reply that also sets it open (reply count goes up)
    created = ny(6, 1, 9)
    events = history(
        created,
        (ny(6, 1, 9, 30), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(6, 1, 11), {'status': Status.OPEN, 'reply_count': 2}),
    )
    points = checkpoints(events)

    # When the reply cycles are derived
    cycles = reply_cycles(points, created, fold(events).first_response_at)

    # Then the only wait is creation to the first reply, and there is no next-response clock
    assert cycles == [(created, ny(6, 1, 9, 30))]
    assert Metric.NEXT_RESPONSE not in report(events).clocks


def test_checkpoints_fold_each_event_onto_the_one_before() -> None:
    # Given events out of order, a duplicate, a survey and an event that changes only the priority
    created = ny(6, 1, 9)
    events = history(
        created,
        (ny(6, 1, 10), {'status': Status.PENDING, 'reply_count': 2}),
        (ny(6, 1, 11), {'priority': Priority.HIGH, 'reply_count': 1}),
    )
    survey = TicketEvent(
        source=Source.ZENDESK,
        kind=Kind.SURVEY,
        external_id='T-1',
        event_id='survey:1',
        occurred_at=ny(6, 1, 10, 30),
        survey=Survey(response_id='1', csat=5),
    )

    # When the checkpoints are taken
    points = checkpoints([events[2], survey, events[0], events[1], events[2]])

    # Then there is one per ticket event in time order, status and priority carry forward and replies never go down
    assert [(p.at, p.status, p.priority, p.replies) for p in points] == [
        (created, Status.NEW, Priority.NORMAL, 0),
        (ny(6, 1, 10), Status.PENDING, Priority.NORMAL, 2),
        (ny(6, 1, 11), Status.PENDING, Priority.HIGH, 2),
    ]


# Order independence and consistency


def rich_history() -> list[TicketEvent]:
    return history(
        ny(3, 6, 15),
        (ny(3, 6, 15, 20), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(3, 9, 9, 30), {'status': Status.OPEN}),
        (ny(3, 9, 9, 30), {'priority': Priority.HIGH}),  # same instant: the event id breaks the tie
        (ny(3, 9, 12), {'status': Status.ON_HOLD, 'reply_count': 2}),
        (ny(3, 10, 10), {'status': Status.OPEN}),
        (ny(3, 10, 11), {'status': Status.SOLVED, 'reply_count': 3, 'resolved_at': ny(3, 10, 11)}),
        (ny(3, 11, 9), {'status': Status.OPEN}),
        (ny(3, 11, 10), {'status': Status.OPEN, 'reply_count': 4}),
        (ny(3, 11, 16), {'status': Status.SOLVED, 'resolved_at': ny(3, 11, 16)}),
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_same_events_in_any_order_with_duplicates_give_the_same_report(data: st.DataObject) -> None:
    # Given a ticket with pauses, a priority change, several customer turns and a reopen, delivered shuffled with redeliveries
    events = rich_history()
    cut = data.draw(st.integers(min_value=1, max_value=len(events)), label='events so far')
    received = events[:cut]
    delivered = data.draw(st.permutations(received + data.draw(st.lists(st.sampled_from(received), max_size=5))))
    policy = data.draw(st.sampled_from([STANDARD, CALENDAR_TIME]))

    # When both deliveries are evaluated
    expected, actual = report(received, policy), report(delivered, policy)

    # Then the reports are identical
    assert actual == expected


def test_the_rich_history_report() -> None:
    # Given the whole rich history: created Friday 15:00 (EST), high priority from Monday 09:30 (EDT)
    # When it is evaluated
    clocks = report(rich_history()).clocks

    # Then first response was met in 20 min; of the three customer turns (2.5 h, 1 h, 1 h; target 2 h) two were met;
    # resolution ran 20 min Friday + 2.5 h Monday + 1 h Tuesday + 7 h Wednesday (target 8 h), breached Wednesday 13:10
    assert clocks[Metric.FIRST_RESPONSE].state is ClockState.MET
    assert clocks[Metric.FIRST_RESPONSE].elapsed_s == 20 * 60
    next_response = clocks[Metric.NEXT_RESPONSE]
    assert (next_response.state, next_response.started_at, next_response.cycles_met, next_response.cycles_breached) == (
        ClockState.MET,
        ny(3, 11, 9),
        2,
        1,
    )
    resolution = clocks[Metric.RESOLUTION]
    assert resolution.state is ClockState.BREACHED
    assert resolution.elapsed_s == 10 * HOUR + 50 * 60
    assert resolution.breached_at == ny(3, 11, 13, 10)
    assert resolution.completed_at == ny(3, 11, 16)


@st.composite
def random_histories(draw: st.DrawFn) -> list[TicketEvent]:
    created = ny(3, 6, 14)  # the Friday before the US DST change
    changes = []
    for _ in range(draw(st.integers(min_value=0, max_value=9))):
        fields: dict[str, Any] = {}
        if draw(st.booleans()):
            fields['status'] = draw(st.sampled_from(list(Status)))
        if draw(st.integers(0, 3)) == 0:
            fields['priority'] = draw(st.sampled_from(list(Priority)))
        if draw(st.booleans()):
            fields['reply_count'] = draw(st.integers(min_value=0, max_value=4))
        when = created + timedelta(minutes=draw(st.integers(min_value=0, max_value=8 * 24 * 60)))
        changes.append((when, fields))
    return history(created, *changes, kind=draw(st.sampled_from([Kind.TICKET, Kind.JOB_CARD])))


@settings(max_examples=150, deadline=None)
@given(events=random_histories(), data=st.data())
def test_any_history_gives_consistent_clocks_whatever_the_delivery_order(events: list[TicketEvent], data: st.DataObject) -> None:
    # Given any ticket or job-card history, and a shuffled delivery with redeliveries
    delivered = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=3))))
    policy = data.draw(st.sampled_from(DEFAULT_POLICIES))
    calendar = data.draw(st.sampled_from([NEW_YORK, ALWAYS_OPEN]))

    # When it is evaluated
    result = report(events, policy, calendar)

    # Then the delivery order does not matter, and every clock is consistent with its state
    assert report(delivered, policy, calendar) == result
    for clock in result.clocks.values():
        target_s = clock.target_minutes * 60
        assert clock.elapsed_s >= 0
        if clock.state is ClockState.RUNNING:
            assert clock.due_at is not None and clock.completed_at is None
        if clock.state is ClockState.PAUSED:
            assert clock.due_at is None and clock.completed_at is None
        if clock.state is ClockState.MET:
            assert clock.elapsed_s <= target_s and clock.breached_at is None and clock.completed_at is not None
        if clock.state is ClockState.BREACHED:
            assert clock.elapsed_s > target_s
            assert clock.breached_at is not None and clock.completed_at is not None
            assert clock.started_at <= clock.breached_at <= clock.completed_at


# Policy matching


def subject(**facts: Any) -> PolicySubject:
    return PolicySubject(**({'kind': Kind.TICKET, 'source': Source.ZENDESK} | facts))


@pytest.mark.parametrize(
    ('facts', 'policy_id'),
    [
        ({'channel': Channel.CHAT}, 'realtime'),
        ({'channel': Channel.WHATSAPP, 'priority': Priority.URGENT}, 'realtime'),
        ({'channel': Channel.EMAIL}, 'standard'),
        ({'channel': None}, 'standard'),
        ({'kind': Kind.JOB_CARD, 'source': Source.DMS, 'channel': Channel.CHAT}, 'workshop'),  # kind before channel
        ({'kind': Kind.SURVEY, 'source': Source.SURVEY}, None),
    ],
)
def test_default_policies(facts: dict[str, Any], policy_id: str | None) -> None:
    # Given the built-in policies
    # When a ticket, job card or survey is matched
    found = first_matching(DEFAULT_POLICIES, subject(**facts))

    # Then the first policy whose conditions all hold applies (or none)
    assert (found.policy_id if found else None) == policy_id


CUSTOM = [
    SlaPolicy(
        policy_id='vip-nyc',
        match=PolicyMatch(locations=['US-NYC'], priorities=[Priority.URGENT, Priority.HIGH]),
        targets={Metric.FIRST_RESPONSE: {Priority.URGENT: Target(minutes=5)}},
    ),
    SlaPolicy(
        policy_id='service-jobs',
        match=PolicyMatch(kinds=[Kind.JOB_CARD], job_types=['service']),
        targets={Metric.TURNAROUND: {Priority.NORMAL: Target(minutes=240)}},
    ),
    SlaPolicy(
        policy_id='chat', match=PolicyMatch(channels=[Channel.CHAT]), targets={Metric.FIRST_RESPONSE: {Priority.NORMAL: Target(minutes=1)}}
    ),
    SlaPolicy(policy_id='fallback', targets={Metric.RESOLUTION: {Priority.NORMAL: Target(minutes=60)}}),
]


@pytest.mark.parametrize(
    ('facts', 'policy_id'),
    [
        ({'location_id': 'US-NYC', 'priority': Priority.URGENT, 'channel': Channel.CHAT}, 'vip-nyc'),  # first match wins over chat
        ({'location_id': 'US-NYC', 'priority': Priority.NORMAL, 'channel': Channel.CHAT}, 'chat'),  # priority condition fails
        ({'location_id': 'UK-LON', 'priority': Priority.URGENT, 'channel': Channel.CHAT}, 'chat'),  # location condition fails
        ({'location_id': None, 'priority': Priority.HIGH}, 'fallback'),  # no location never matches a location list
        ({'kind': Kind.JOB_CARD, 'source': Source.DMS, 'job_type': 'service'}, 'service-jobs'),
        ({'kind': Kind.JOB_CARD, 'source': Source.DMS, 'job_type': 'bodywork'}, 'fallback'),
        ({'kind': Kind.JOB_CARD, 'source': Source.DMS}, 'fallback'),  # job type unknown
        ({'kind': Kind.TICKET, 'job_type': 'service'}, 'fallback'),  # kind condition fails
    ],
)
def test_first_matching_policy_wins_and_every_condition_must_hold(facts: dict[str, Any], policy_id: str) -> None:
    # Given policies ordered most specific first, each condition list meaning "one of", an empty list meaning "any"
    # When a subject is matched
    found = first_matching(CUSTOM, subject(**facts))

    # Then the first policy all of whose conditions hold applies
    assert found is not None and found.policy_id == policy_id


def test_no_policy_matches_when_none_applies() -> None:
    # Given only the specific policies (no fallback), and a policy's missing target
    # When an e-mail ticket is matched
    # Then nothing applies, and a priority without a target has none
    assert first_matching(CUSTOM[:3], subject(channel=Channel.EMAIL)) is None
    assert first_matching([], subject()) is None
    assert CUSTOM[0].target(Metric.FIRST_RESPONSE, Priority.HIGH) is None
    assert CUSTOM[0].target(Metric.FIRST_RESPONSE, Priority.URGENT) == Target(minutes=5)
