"""Each rule kind, through the engine: what a settled state earns, to whom, under which stable basis, when."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.events import Channel, Kind, QualityReview, SafetyReport, Source, Status, Survey, Training
from shared.programs.engine import evaluate
from shared.programs.kinds.base import earliest
from shared.sla.clock import ClockState
from shared.sla.policy import Metric
from shared.tickets.state import TicketState, fold
from tests.unit.programs.builders import (
    ADVISOR,
    AGENT,
    EMPLOYEES,
    MET_BOTH,
    SUPPORT,
    T0,
    TECH_1,
    TECH_2,
    book,
    clock,
    document,
    event,
    job_card,
    rule,
    sla,
    solved_ticket,
)


def run(state: TicketState, *rules: dict, report=None, **fields) -> list[tuple[str, str, int, str]]:
    awards = evaluate(book(document(list(rules), **fields)), state, EMPLOYEES, report, None)
    for award in awards:  # every basis time comes from the state, never before what the engine may skip
        floor = earliest(state)
        assert floor is not None and award.basis_at >= floor
    return [(a.rule_id, a.employee_id, a.points, a.basis_key) for a in awards]


def test_resolution_within_sla_pays_the_owner_at_the_resolution_unless_reopened() -> None:
    # Given a ticket solved within its resolution target
    state = solved_ticket()

    # When the rule is evaluated with the met clock
    awards = evaluate(book(document([rule('resolution_within_sla', hold_hours=72)])), state, EMPLOYEES, MET_BOTH, None)

    # Then the owner earns once, at the solve, held 72 h; a reopened ticket earns nothing
    (award,) = awards
    assert (award.employee_id, award.points, award.basis_key) == ('E1', 10, 'resolution')
    assert award.basis_at == T0 + timedelta(hours=2) and award.release_at == T0 + timedelta(hours=74)
    assert award.inputs['sla_used_pct'] == 25.0
    assert run(solved_ticket(reopened=True), rule('resolution_within_sla'), report=MET_BOTH) == []
    assert run(state, rule('resolution_within_sla'), report=None) == []


def test_first_response_within_sla_is_based_on_the_first_reply() -> None:
    breached = sla(clock(Metric.FIRST_RESPONSE, ClockState.BREACHED, 90, completed_min=20, breached_min=60))
    assert run(solved_ticket(), rule('first_response_within_sla', 5), report=MET_BOTH) == [('first_response_within_sla', 'E1', 5, 'first_response')]
    assert run(solved_ticket(), rule('first_response_within_sla', 5), report=breached) == []


def test_fcr_needs_one_interaction_reported_by_the_sender_and_no_reopen() -> None:
    assert run(solved_ticket(replies=1, touches=1), rule('fcr', 15)) == [('fcr', 'E1', 15, 'fcr')]
    assert run(solved_ticket(replies=1, touches=2), rule('fcr', 15)) == []
    assert run(solved_ticket(reopened=True), rule('fcr', 15)) == []
    # A sender that reports no reply counts: not known, so not paid
    unreported = fold([event(1, 0, status=Status.OPEN, assignees=(AGENT,)), event(2, 60, status=Status.SOLVED)])
    assert run(unreported, rule('fcr', 15)) == []


def test_one_touch_is_exactly_one_reply() -> None:
    assert run(solved_ticket(replies=1), rule('one_touch', 5)) == [('one_touch', 'E1', 5, 'one_touch')]
    assert run(solved_ticket(replies=2), rule('one_touch', 5)) == []
    assert run(solved_ticket(reopened=True), rule('one_touch', 5, params={'require_no_reopen': True})) == []


def test_on_time_delivery_is_paid_at_delivery_never_at_work_done() -> None:
    # Given a card whose work is done (solved) but not yet delivered, and one delivered before its promise
    done_only = job_card(delivered=False)
    delivered = job_card(delivered_h=4, promised_h=6)

    # Then only delivery earns, to the advisor, with how early it was
    assert run(done_only, rule('on_time_delivery', 40)) == []
    awards = evaluate(book(document([rule('on_time_delivery', 40)])), delivered, EMPLOYEES, None, None)
    assert [(a.employee_id, a.points, a.basis_key, a.basis_at) for a in awards] == [('E2', 40, 'on_time_delivery', T0 + timedelta(hours=4))]
    assert awards[0].inputs['minutes_before_promise'] == 120.0
    # A late delivery, and a repeat visit, earn nothing
    assert run(job_card(delivered_h=7, promised_h=6), rule('on_time_delivery', 40)) == []
    assert run(job_card(tags=('repeat_of:dms#JC-0',)), rule('on_time_delivery', 40)) == []


def test_on_time_delivery_with_a_repeat_window_is_undone_by_a_repeat_visit_within_it() -> None:
    # Given on-time deliveries, one repeated 10 days later, one 40 days later; the rule looks 30 days ahead
    ruled = rule('on_time_delivery', 40, params={'repeat_window_days': 30})
    soon = event(9, 60 * 24 * 10, kind=Kind.JOB_CARD, source=Source.DMS, external_id='JC-1', tags=('repeat_visit:dms#JC-9',))
    late = event(9, 60 * 24 * 40, kind=Kind.JOB_CARD, source=Source.DMS, external_id='JC-1', tags=('repeat_visit:dms#JC-9',))
    # When each is evaluated
    # Then the one repeated within the window earns nothing; the other still earns (and so would both without the window)
    assert run(job_card(extra_events=(soon,)), ruled) == []
    assert [points for _, _, points, _ in run(job_card(extra_events=(late,)), ruled)] == [40]
    assert [points for _, _, points, _ in run(job_card(extra_events=(soon,)), rule('on_time_delivery', 40))] == [40]


def test_first_time_fix_pays_technicians_unless_a_repeat_visit_comes_within_the_window() -> None:
    both = (ADVISOR, TECH_1, TECH_2)
    assert run(job_card(assignees=both), rule('first_time_fix', 20)) == [
        ('first_time_fix', 'E3', 20, 'first_time_fix'), ('first_time_fix', 'E4', 20, 'first_time_fix')]
    repeat = event(9, 60 * 24 * 10, kind=Kind.JOB_CARD, source=Source.DMS, external_id='JC-1', tags=('repeat_visit:dms#JC-9',))
    assert run(job_card(assignees=both, extra_events=(repeat,)), rule('first_time_fix', 20)) == []
    late_repeat = event(9, 60 * 24 * 40, kind=Kind.JOB_CARD, source=Source.DMS, external_id='JC-1', tags=('repeat_visit:dms#JC-9',))
    assert len(run(job_card(assignees=both, extra_events=(late_repeat,)), rule('first_time_fix', 20))) == 2
    assert run(job_card(tags=('repeat_of:dms#JC-0',)), rule('first_time_fix', 20)) == []


def test_zero_defect_splits_credit_between_advisor_and_technicians() -> None:
    # Given a clean card with one advisor and two technicians, and a 40/60 split of 30 points
    state = job_card(assignees=(ADVISOR, TECH_1, TECH_2))

    # When evaluated
    awards = evaluate(book(document([rule('zero_defect', 30, credit={'advisor': 40, 'technician': 60})])), state, EMPLOYEES, None, None)

    # Then the advisor gets 12 and each technician 9 (their 60 % shared equally), each with its share recorded
    assert [(a.employee_id, a.points, a.inputs['share_pct']) for a in awards] == [('E2', 12, 40), ('E3', 9, 30), ('E4', 9, 30)]
    # A late card is not zero-defect
    assert run(job_card(delivered_h=8, promised_h=6), rule('zero_defect', 30)) == []


def test_csat_and_nps_pay_per_response_at_submission() -> None:
    state = solved_ticket(extra_events=(event(9, 600, kind=Kind.SURVEY, survey=Survey(response_id='R1', csat=5, nps=9)),))
    found = run(state, rule('csat_positive', 10), rule('nps_promoter', 10))
    assert found == [('csat_positive', 'E1', 10, 'survey:R1'), ('nps_promoter', 'E1', 10, 'survey:R1')]
    awards = evaluate(book(document([rule('csat_positive', 10)])), state, EMPLOYEES, None, None)
    assert awards[0].basis_at == T0 + timedelta(minutes=600)
    low = solved_ticket(extra_events=(event(9, 600, kind=Kind.SURVEY, survey=Survey(response_id='R1', csat=3, nps=6)),))
    assert run(low, rule('csat_positive', 10), rule('nps_promoter', 10)) == []


def test_positive_review_needs_a_written_comment_and_a_good_score() -> None:
    def surveyed(comment: str) -> TicketState:
        return solved_ticket(extra_events=(event(9, 600, kind=Kind.SURVEY, survey=Survey(response_id='R2', csat=5, comment=comment)),))

    review, terse = surveyed('Ana sorted my refund in minutes!'), surveyed('ok')
    assert run(review, rule('positive_review', 15)) == [('positive_review', 'E1', 15, 'review:R2')]
    assert run(terse, rule('positive_review', 15)) == []


def test_upsell_is_due_only_once_delivered_and_only_for_accepted_lines() -> None:
    lines = ({'line_id': 'UL-1', 'category': 'Extended Warranty', 'amount': '10000.00', 'currency': 'INR', 'margin': '3000.00'},
             {'line_id': 'UL-2', 'category': 'tyres', 'amount': '8000.00', 'currency': 'INR', 'accepted': False})
    params = {'mode': 'per_category', 'categories': {'extended_warranty': 200}, 'other_category_points': 30}
    fields = {'currency': 'INR', 'points_per_currency_unit': 1}
    # Not delivered yet: nothing (a line declined at a later stage is never paid, never reversed)
    assert run(job_card(delivered=False, upsell=lines), rule('upsell', 0, params=params), **fields) == []
    # Delivered: per category, accepted lines only, one stable basis per line
    assert run(job_card(upsell=lines), rule('upsell', 0, params=params), **fields) == [('upsell', 'E2', 200, 'upsell:UL-1')]
    # Revenue- and margin-linked: 2 % of 10,000 and 5 % of 3,000 at 1 point per rupee
    revenue = rule('upsell', 0, params={'mode': 'percent_of_revenue', 'percent': 2}, rule_id='rev')
    margin = rule('upsell', 0, params={'mode': 'percent_of_margin', 'percent': 5}, rule_id='mar')
    assert run(job_card(upsell=lines), revenue, margin, **fields) == [('mar', 'E2', 150, 'upsell:UL-1'), ('rev', 'E2', 200, 'upsell:UL-1')]
    # A line in another currency earns nothing by revenue (no guessed conversion); flat pays per line
    assert run(job_card(upsell=lines), revenue) == []
    assert run(job_card(upsell=lines), rule('upsell', 5)) == [('upsell', 'E2', 5, 'upsell:UL-1')]


def test_training_completion_pays_milestones_and_certification() -> None:
    def training(milestone: str | None, certification: bool = False, score: int = 90) -> TicketState:
        lms = Training(course_id='C-101', course_name='Returns', status='completed', completed_at=T0, score=score,
                       certification=certification, milestone=milestone)
        return fold([event(1, 30, kind=Kind.TRAINING, source=Source.LMS, external_id='E1:C-101', assignees=(AGENT,), training=lms)])

    params = {'milestones': {'level_2': 200}, 'certification_bonus': 100, 'min_score': 70}
    assert run(training('level_2'), rule('training_completion', 50, params=params)) == [('training_completion', 'E1', 200, 'training:C-101:level_2')]
    assert run(training(None, certification=True), rule('training_completion', 50, params=params)) == [
        ('training_completion', 'E1', 150, 'training:C-101:course')]
    assert run(training(None, score=50), rule('training_completion', 50, params=params)) == []
    enrolled = fold([event(1, 0, kind=Kind.TRAINING, source=Source.LMS, external_id='E1:C-101', assignees=(AGENT,),
                           training=Training(course_id='C-101', course_name='Returns', status='enrolled'))])
    assert run(enrolled, rule('training_completion', 50)) == []


def test_support_sla_pays_only_support_staff_when_every_target_is_met() -> None:
    state = solved_ticket(assignee=SUPPORT)
    assert run(state, rule('support_sla', 10), report=MET_BOTH) == [('support_sla', 'E5', 10, 'support_sla')]
    assert run(solved_ticket(), rule('support_sla', 10), report=MET_BOTH) == []  # an agent, not support staff
    half = sla(clock(Metric.FIRST_RESPONSE, ClockState.MET, 20, completed_min=20),
               clock(Metric.RESOLUTION, ClockState.BREACHED, 600, target_min=480, completed_min=120, breached_min=100))
    assert run(state, rule('support_sla', 10), report=half) == []


def test_callback_within_counts_phone_contacts_answered_in_time() -> None:
    params = {'within_minutes': 30}
    assert run(solved_ticket(channel=Channel.PHONE), rule('callback_within', 8, params=params)) == [('callback_within', 'E1', 8, 'callback')]
    assert run(solved_ticket(channel=Channel.EMAIL), rule('callback_within', 8, params=params)) == []
    assert run(solved_ticket(channel=Channel.PHONE), rule('callback_within', 8, params={'within_minutes': 10})) == []


def test_case_note_quality_reads_the_review_score_as_a_percentage() -> None:
    def reviewed(score: str) -> TicketState:
        review = QualityReview(review_id='QA-7', ticket_ref='zendesk#1', scorecard='case_notes', score=Decimal(score),
                               max_score=Decimal('40'), reviewer_id='M1', reviewed_at=T0)
        return fold([event(1, 10, kind=Kind.QUALITY_REVIEW, source=Source.QUALITY, external_id='QA-7', assignees=(AGENT,), quality_review=review)])

    quality = rule('case_note_quality', 20, params={'min_score_pct': 90}, multipliers=[{'name': 'exemplary', 'factor': 1.5, 'input': 'score_pct', 'min': 98}])
    assert run(reviewed('37'), quality) == [('case_note_quality', 'E1', 20, 'qa:QA-7')]  # 92.5 %
    assert run(reviewed('40'), quality) == [('case_note_quality', 'E1', 30, 'qa:QA-7')]  # 100 %: x1.5
    assert run(reviewed('30'), quality) == []  # 75 %


def test_safety_compliance_and_hazard_reports() -> None:
    def report(kind: str, outcome: str, severity: str | None = None) -> TicketState:
        entered = SafetyReport(report_id='S-1', report_type=kind, outcome=outcome, severity=severity, reported_by='M4')
        return fold([event(1, 0, kind=Kind.SAFETY_REPORT, source=Source.SAFETY, external_id='S-1', assignees=(TECH_1,), safety_report=entered,
                           created_at=T0)])

    assert run(report('compliance_check', 'passed'), rule('safety_compliance', 50)) == [('safety_compliance', 'E3', 50, 'safety:S-1')]
    assert run(report('compliance_check', 'failed'), rule('safety_compliance', 50)) == []
    hazard = rule('hazard_report', 40, params={'severity_points': {'high': 150}})
    assert run(report('hazard_report', 'reported', 'high'), hazard) == [('hazard_report', 'E3', 150, 'hazard:S-1')]
    assert run(report('hazard_report', 'reported', 'low'), hazard) == [('hazard_report', 'E3', 40, 'hazard:S-1')]


def test_penalties_are_negative_one_per_breached_target_and_per_reopen() -> None:
    breached = sla(clock(Metric.FIRST_RESPONSE, ClockState.BREACHED, 90, completed_min=90, breached_min=60),
                   clock(Metric.RESOLUTION, ClockState.MET, 120, target_min=480, completed_min=120))
    awards = evaluate(book(document([rule('sla_breach', 5)])), solved_ticket(), EMPLOYEES, breached, None)
    assert [(a.points, a.basis_key, a.basis_at) for a in awards] == [(-5, 'sla_breach:first_response', T0 + timedelta(minutes=60))]
    assert run(solved_ticket(reopened=True), rule('reopen', 5)) == [('reopen', 'E1', -5, 'reopen:1')]
    assert run(solved_ticket(), rule('reopen', 5)) == []


def test_repeat_complaint_lands_on_the_card_that_was_not_fixed() -> None:
    repeat = event(9, 60 * 24 * 3, kind=Kind.JOB_CARD, source=Source.DMS, external_id='JC-1', tags=('repeat_visit:dms#JC-9',))
    state = job_card(assignees=(ADVISOR, TECH_1), extra_events=(repeat,))
    found = run(state, rule('repeat_complaint', 60, credit={'advisor': 30, 'technician': 70}))
    assert found == [('repeat_complaint', 'E2', -18, 'repeat:dms#JC-9'), ('repeat_complaint', 'E3', -42, 'repeat:dms#JC-9')]

