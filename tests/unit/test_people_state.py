"""TicketState of the items the LMS, QA and safety sources send: the latest training, review or report by
(occurred_at, event_id), whatever the order and number of deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.events import Kind, QualityReview, SafetyReport, Training, UpsellLine
from shared.sources.lms import adapter as lms
from shared.sources.quality import adapter as quality
from shared.sources.safety import adapter as safety
from shared.tickets.state import fold
from tests.unit.sources._support import parse_one, sample_json, with_value

T0 = datetime(2024, 5, 2, 4, 30, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace('+00:00', 'Z')


def training_history() -> list:
    """One enrolment: enrolled, completed with 72, then the LMS re-scored it to 88 (a later completion event)."""
    sample = sample_json('lms_training_completed.json')
    enrolled = {**sample, 'event_id': 'lms-1', 'event_type': 'enrolled', 'occurred_at': _iso(T0)}
    enrolled['enrolment'] = {k: v for k, v in sample['enrolment'].items() if k not in ('completed_at', 'score')}
    completed = with_value({**sample, 'event_id': 'lms-2', 'occurred_at': _iso(T0 + timedelta(days=3))}, 'enrolment.score', 72)
    completed = with_value(completed, 'enrolment.completed_at', _iso(T0 + timedelta(days=3)))
    rescored = with_value({**sample, 'event_id': 'lms-3', 'occurred_at': _iso(T0 + timedelta(days=4))}, 'enrolment.score', 88)
    rescored = with_value(rescored, 'enrolment.completed_at', _iso(T0 + timedelta(days=3)))
    return [parse_one(lms, body) for body in (enrolled, completed, rescored)]


def review_history() -> list:
    """One review scored 30/50, corrected to 45/50; a second correction at the same instant breaks the tie by event id."""
    sample = sample_json('quality_review.json')
    first = with_value({**sample, 'event_id': 'qa-a', 'occurred_at': _iso(T0)}, 'review.score', 30)
    second = with_value({**sample, 'event_id': 'qa-b', 'occurred_at': _iso(T0 + timedelta(hours=2))}, 'review.score', 45)
    tie = with_value({**sample, 'event_id': 'qa-c', 'occurred_at': _iso(T0 + timedelta(hours=2))}, 'review.score', 46)
    return [parse_one(quality, body) for body in (first, second, tie)]


def safety_history() -> list:
    """A compliance check entered as failed, then corrected to passed."""
    sample = sample_json('safety_hazard_report.json')
    check = {**sample['report'], 'id': 'SC-1', 'type': 'compliance_check', 'outcome': 'failed', 'severity': None}
    failed = {**sample, 'event_id': 'sf-a', 'occurred_at': _iso(T0), 'report': check}
    passed = {**sample, 'event_id': 'sf-b', 'occurred_at': _iso(T0 + timedelta(minutes=5)), 'report': {**check, 'outcome': 'passed'}}
    return [parse_one(safety, body) for body in (failed, passed)]


HISTORIES = {'training': training_history(), 'review': review_history(), 'safety': safety_history()}


def test_the_latest_event_of_each_item_is_its_state() -> None:
    # Given each item's events in order
    training, review, report = (fold(HISTORIES[name]) for name in ('training', 'review', 'safety'))

    # Then the state holds the latest: the re-scored completion, the tie-winning correction, the corrected check
    assert training.kind is Kind.TRAINING and training.training is not None
    assert (training.training.status, training.training.score) == ('completed', 88)
    assert training.created_at == T0  # the enrolment's start, whichever event came first
    assert review.quality_review is not None and review.quality_review.score == 46  # 'qa-c' > 'qa-b' at the same instant
    assert report.safety_report is not None and report.safety_report.outcome == 'passed'
    # And the item is keyed and owned as the source sent it
    assert (training.ticket_key, [a.agent_key for a in training.assignees]) == ('lms#ENR-88213', ['tech-104'])
    assert (training.quality_review, training.safety_report, review.training) == (None, None, None)


@settings(deadline=None, max_examples=60)
@given(name=st.sampled_from(sorted(HISTORIES)), data=st.data())
def test_any_order_and_any_duplicates_give_the_same_state(name: str, data: st.DataObject) -> None:
    # Given an item's events delivered in any order, some of them several times
    history = HISTORIES[name]
    delivered = data.draw(st.permutations(history + data.draw(st.lists(st.sampled_from(history), max_size=4))))

    # When folded / Then the state is the in-order state
    assert fold(delivered) == fold(history)


@pytest.mark.parametrize(
    ('model', 'fields', 'message'),
    [
        (Training, {'course_id': 'C', 'course_name': 'N', 'status': 'completed'}, 'completed_at is required'),
        (Training, {'course_id': 'C', 'course_name': 'N', 'status': 'enrolled', 'completed_at': T0}, 'completed_at is required'),
        (Training, {'course_id': 'C', 'course_name': 'N', 'status': 'enrolled', 'score': 101}, 'less than or equal to 100'),
        (QualityReview, {'review_id': 'R', 'scorecard': 'S', 'score': 6, 'max_score': 5, 'reviewer_id': 'M', 'reviewed_at': T0}, 'exceed'),
        (
            QualityReview,
            {'review_id': 'R', 'scorecard': 'S', 'score': 0, 'max_score': 0, 'reviewer_id': 'M', 'reviewed_at': T0},
            'greater than 0',
        ),
        (SafetyReport, {'report_id': 'S', 'report_type': 'hazard_report', 'outcome': 'passed', 'reported_by': 'M'}, 'must be reported'),
        (
            SafetyReport,
            {'report_id': 'S', 'report_type': 'compliance_check', 'outcome': 'reported', 'reported_by': 'M'},
            'passed or failed',
        ),
        (UpsellLine, {'line_id': 'L', 'category': 'amc', 'amount': Decimal('10'), 'margin': Decimal('10.01')}, 'exceed amount'),
    ],
)
def test_canonical_models_refuse_inconsistent_values(model: type[BaseModel], fields: dict[str, Any], message: str) -> None:
    # Given values an adapter should never produce (each adapter names the payload field before this point)
    # When / Then the canonical model refuses them too
    with pytest.raises(ValidationError, match=message):
        model(**fields)
