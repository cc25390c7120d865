"""The ticket state fold: order independence, duplicates, reopen counting, derived times."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.directory.people import Employee
from shared.events import Status
from shared.programs.engine import evaluate
from shared.programs.loader import builtin_book
from shared.tickets.state import fold
from tests.support.factories import T0, survey_event, ticket_event

STATUSES = list(Status)


@st.composite
def ticket_histories(draw: st.DrawFn) -> list:
    count = draw(st.integers(min_value=1, max_value=12))
    events = []
    for n in range(count):
        events.append(
            ticket_event(
                'P1',
                n,
                status=draw(st.sampled_from(STATUSES)),
                minutes=draw(st.integers(min_value=0, max_value=3000)),
                agent=draw(st.sampled_from(['agent1@example.com', 'agent2@example.com', None])),
                reply_count=draw(st.none() | st.integers(min_value=0, max_value=5)),
            )
        )
    for n in range(draw(st.integers(min_value=0, max_value=3))):
        events.append(survey_event('P1', draw(st.integers(min_value=1, max_value=5)), minutes=draw(st.integers(0, 4000)),
                                   response=f'r{n}'))
    return events


PEOPLE = {'agent1@example.com': Employee('E1'), 'agent2@example.com': Employee('E2')}
BOOK = builtin_book()


@settings(max_examples=200, deadline=None)
@given(history=ticket_histories(), data=st.data())
def test_any_order_and_any_duplicates_give_the_same_state_and_awards(history: list, data: st.DataObject) -> None:
    # Given a ticket's events, and a shuffled copy with some events delivered several times
    delivered = data.draw(st.permutations(history + data.draw(st.lists(st.sampled_from(history), max_size=6))))

    # When both are folded
    expected, actual = fold(history), fold(delivered)

    # Then the state and the awards it deserves are identical
    assert actual == expected
    assert evaluate(BOOK, actual, PEOPLE, None, None) == evaluate(BOOK, expected, PEOPLE, None, None)


def test_reopen_is_counted_from_status_transitions() -> None:
    # Given open -> solved -> open -> solved
    events = [
        ticket_event('R', 0, status=Status.OPEN),
        ticket_event('R', 1, status=Status.SOLVED, minutes=10),
        ticket_event('R', 2, status=Status.OPEN, minutes=20),
        ticket_event('R', 3, status=Status.SOLVED, minutes=30),
    ]

    # When folded
    state = fold(events)

    # Then one reopen is counted and the resolution time is the last time it became solved
    assert state.reopen_count == 1
    assert state.resolved_at == T0 + timedelta(minutes=30)
    assert state.resolved_by_event == events[3].event_id


def test_reported_reopens_win_when_larger() -> None:
    # Given a sender that reports 3 reopens on a single solved event
    state = fold([ticket_event('R2', 0, status=Status.SOLVED, minutes=5, reopen_count=3)])

    # Then the count is the sender's
    assert state.reopen_count == 3


def test_first_response_comes_from_the_first_event_showing_a_reply() -> None:
    # Given replies seen at 12 and 30 minutes and no reported first-response time
    events = [
        ticket_event('F', 0, status=Status.OPEN),
        ticket_event('F', 2, status=Status.PENDING, minutes=30, reply_count=2),
        ticket_event('F', 1, status=Status.PENDING, minutes=12, reply_count=1),
    ]

    # When folded
    state = fold(events)

    # Then the first response is bounded by the earliest event that shows a reply
    assert state.first_response_at == T0 + timedelta(minutes=12)
    assert state.reply_count == 2


def test_a_survey_does_not_change_the_ticket_lifecycle() -> None:
    # Given a solved ticket and a survey that arrives later
    state = fold([ticket_event('S', 0, status=Status.SOLVED, minutes=5), survey_event('S', 2, minutes=900)])

    # Then the status stays solved and the survey is attached
    assert state.status is Status.SOLVED
    assert state.survey is not None and state.survey.survey.csat == 2
