"""Trainings (LMS), quality reviews (QA scorecards) and safety reports as KPIs: what one item contributes, and the
month report's training completion rate, average quality score and safety pass rate."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shared.directory.people import Employee
from shared.events import Assignee, Kind, QualityReview, SafetyReport, Source, TicketEvent, Training
from shared.kpi.definitions import COUNTERS, Contribution, contribution
from shared.kpi.report import build_report, compute_kpis
from shared.kpi.settings import KpiSettings
from shared.kpi.store import KpiItem
from shared.sla.calendar import WEEKDAYS, BusinessCalendar
from shared.sla.clock import checkpoints
from shared.sla.config import Location
from shared.tickets.state import fold

KOLKATA = ZoneInfo('Asia/Kolkata')
CALENDAR = BusinessCalendar(calendar_id='blr', timezone='Asia/Kolkata', hours={day: [('09:00', '18:00')] for day in WEEKDAYS[:6]})
LOCATION = Location(location_id='IN-BLR-01', name='Bengaluru', region='IN-South', calendar_id='blr')
SETTINGS = KpiSettings()
TECHNICIAN = Employee('TECH-104', role='technician', location_id='IN-BLR-01', team_id='WM-BLR-01')


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2024, 5, day, hour, tzinfo=KOLKATA)


def training_event(status: str, day: int, *, enrolled_day: int = 2, enrolment: str = 'ENR-1') -> TicketEvent:
    completed = at(day) if status == 'completed' else None
    return TicketEvent(
        source=Source.LMS,
        kind=Kind.TRAINING,
        external_id=enrolment,
        event_id=f'{enrolment}:{status}',
        occurred_at=at(day),
        created_at=at(enrolled_day),
        assignees=(Assignee(agent_key='tech-104'),),
        training=Training(course_id='EV-HV-201', course_name='EV high voltage', status=status, completed_at=completed),
    )


def review_event(score: str, max_score: str, day: int = 14, review: str = 'QA-1', event: str = 'qa-1') -> TicketEvent:
    return TicketEvent(
        source=Source.QUALITY,
        kind=Kind.QUALITY_REVIEW,
        external_id=review,
        event_id=event,
        occurred_at=at(day),
        created_at=at(day),
        assignees=(Assignee(agent_key='tech-104'),),
        quality_review=QualityReview(
            review_id=review,
            scorecard='Case notes',
            score=Decimal(score),
            max_score=Decimal(max_score),
            reviewer_id='WM-BLR-01',
            reviewed_at=at(day),
        ),
    )


def safety_event(report_type: str, outcome: str, report: str = 'SR-1') -> TicketEvent:
    return TicketEvent(
        source=Source.SAFETY,
        kind=Kind.SAFETY_REPORT,
        external_id=report,
        event_id=f'{report}:{outcome}',
        occurred_at=at(14),
        assignees=(Assignee(agent_key='tech-104'),),
        safety_report=SafetyReport(
            report_id=report,
            report_type=report_type,
            outcome=outcome,
            severity='high' if report_type == 'hazard_report' else None,
            reported_by='WM-BLR-01',
        ),
    )


def contribute(events: list[TicketEvent]) -> Contribution:
    state = fold(events)
    changed_at = max(event.occurred_at for event in events)
    return contribution(state, checkpoints(events), None, CALENDAR, LOCATION, [TECHNICIAN], SETTINGS, changed_at)


# -- what one item contributes ----------------------------------------------------------------------------------


def test_an_enrolment_counts_once_and_its_completion_completes_it_on_the_enrolment_day() -> None:
    # Given an enrolment on 2 May, then its completion on 14 May
    enrolled = contribute([training_event('enrolled', 2)])
    completed = contribute([training_event('enrolled', 2), training_event('completed', 14)])

    # Then the enrolment counts one training, the completion adds the completion to the same day (not a second training)
    assert dict(enrolled.counters) == {'tr_n': 1}
    assert dict(completed.counters) == {'tr_n': 1, 'tr_c': 1}
    assert enrolled.day == completed.day == '2024-05-02'


def test_a_completion_arriving_first_or_alone_counts_the_same() -> None:
    # Given the completion delivered before the enrolment event, and a completion whose enrolment was never sent
    reversed_order = contribute([training_event('completed', 14), training_event('enrolled', 2)])
    alone = contribute([training_event('completed', 14)])

    # Then both count one completed training
    assert dict(reversed_order.counters) == dict(alone.counters) == {'tr_n': 1, 'tr_c': 1}


@pytest.mark.parametrize(('score', 'max_score', 'percent'), [('42.5', '50', 85), ('4', '5', 80), ('2', '3', 67), ('0', '10', 0)])
def test_a_quality_review_adds_its_score_as_a_whole_percentage(score: str, max_score: str, percent: int) -> None:
    # Given one review of the technician
    counters = dict(contribute([review_event(score, max_score)]).counters)

    # Then one review and its percentage of the scorecard's maximum are counted
    assert counters == ({'qa_n': 1, 'qa_sum': percent} if percent else {'qa_n': 1})


def test_a_corrected_review_replaces_the_first_score() -> None:
    # Given a review scored 30/50, then corrected to 45/50 the next day
    counters = dict(contribute([review_event('30', '50'), review_event('45', '50', day=15, event='qa-2')]).counters)

    # Then the item counts one review at the corrected 90 %
    assert counters == {'qa_n': 1, 'qa_sum': 90}


@pytest.mark.parametrize(
    ('report_type', 'outcome', 'expected'),
    [
        ('compliance_check', 'passed', {'sf_n': 1, 'sf_ok': 1}),
        ('compliance_check', 'failed', {'sf_n': 1}),
        ('hazard_report', 'reported', {'hz': 1}),
    ],
)
def test_safety_reports_count_checks_passes_and_hazards(report_type: str, outcome: str, expected: dict[str, int]) -> None:
    # Given one safety report / When it contributes / Then it counts as expected
    assert dict(contribute([safety_event(report_type, outcome)]).counters) == expected


def test_people_items_count_for_the_person_team_and_location_but_no_channel() -> None:
    # Given a QA review of the technician (no channel: it is not a customer contact)
    scopes = contribute([review_event('40', '50')]).scopes

    # Then it counts for the organisation, the location (and so its region, read from its locations' days), the
    # technician and their team, and no channel split
    assert scopes == ('all', 'location#IN-BLR-01', 'employee#TECH-104', 'team#WM-BLR-01')


def test_every_people_counter_is_documented() -> None:
    # Given the counters of all three kinds of item
    names = set()
    for events in (
        [training_event('completed', 14)],
        [review_event('40', '50')],
        [safety_event('compliance_check', 'passed')],
        [safety_event('hazard_report', 'reported')],
    ):
        names |= set(contribute(events).counters)

    # Then each is in COUNTERS (the report and the README table are built from it)
    assert names == {'tr_n', 'tr_c', 'qa_n', 'qa_sum', 'sf_n', 'sf_ok', 'hz'}
    assert names <= COUNTERS.keys()


# -- the month report -------------------------------------------------------------------------------------------


def test_training_completion_rate_average_quality_score_and_safety_pass_rate() -> None:
    # Given a month with 8 enrolments of which 6 completed, 5 reviews averaging 84 %, 10 checks of which 9 passed and
    # 3 hazards reported
    counters = {'tr_n': 8, 'tr_c': 6, 'qa_n': 5, 'qa_sum': 420, 'sf_n': 10, 'sf_ok': 9, 'hz': 3}

    # When the KPIs are computed
    kpis = compute_kpis(counters, SETTINGS)

    # Then each rate carries its numerator and count, and the hazard count is reported as is
    assert kpis['training_completion_rate'].as_dict() == {'value': 75.0, 'numerator': 6, 'count': 8, 'unit': '%', 'significant': True}
    assert kpis['average_quality_score'].as_dict() == {'value': 84.0, 'numerator': 420, 'count': 5, 'unit': '%', 'significant': True}
    assert kpis['safety_pass_rate'].as_dict() == {'value': 90.0, 'numerator': 9, 'count': 10, 'unit': '%', 'significant': True}
    assert (kpis['hazards_reported'].value, kpis['hazards_reported'].unit) == (3, 'count')


def test_people_rates_below_the_minimum_sample_are_not_significant() -> None:
    # Given 2 enrolments, 1 review and no safety checks, with a minimum sample of 5 (and 1 for the quality score)
    settings = KpiSettings(min_sample=5, min_sample_overrides={'average_quality_score': 1})
    kpis = compute_kpis({'tr_n': 2, 'tr_c': 1, 'qa_n': 1, 'qa_sum': 70}, settings)

    # Then the completion rate has its value but is not significant; the override makes one review enough
    assert (kpis['training_completion_rate'].value, kpis['training_completion_rate'].significant) == (50.0, False)
    assert (kpis['average_quality_score'].value, kpis['average_quality_score'].significant) == (70.0, True)
    assert (kpis['safety_pass_rate'].value, kpis['safety_pass_rate'].significant) == (None, False)


def test_a_persons_month_report_sums_their_people_counters() -> None:
    # Given the technician's month item, as the aggregator keeps it, after two reviews and two checks
    contributions = [
        contribute([review_event('45', '50', review='QA-1')]),
        contribute([review_event('35', '50', review='QA-2', event='qa-2')]),
        contribute([safety_event('compliance_check', 'passed', report='SC-1')]),
        contribute([safety_event('compliance_check', 'failed', report='SC-2')]),
    ]
    summed: dict[str, int] = {}
    for part in contributions:
        for name, value in part.counters.items():
            summed[name] = summed.get(name, 0) + value
    item = KpiItem(pk='employee#TECH-104', sk='2024-05', counters=summed)

    # When the month is read
    report = build_report('employee#TECH-104', '2024-05', [item], SETTINGS)

    # Then the average quality score is 80 % over 2 reviews and the pass rate 50 % over 2 checks; no channel appears
    assert (report.kpis['average_quality_score'].value, report.kpis['average_quality_score'].denominator) == (80.0, 2)
    assert (report.kpis['safety_pass_rate'].value, report.kpis['safety_pass_rate'].denominator) == (50.0, 2)
    assert report.channels == {}
    assert all(part.day == '2024-05-14' and not part.late for part in contributions)
