"""The month report (shared.kpi.report): the brief's formulas, significance, service levels, assembly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.events import Channel
from shared.kpi.report import KpiValue, build_report, compute_kpis, service_level
from shared.kpi.settings import KpiSettings, LevelThresholds, QualityThresholds
from shared.kpi.store import KpiItem

SETTINGS = KpiSettings()  # min_sample 5


def test_csat_is_the_share_of_four_and_five_ratings() -> None:
    # Given 8 ratings of which 6 are 4 or 5, summing to 34
    kpis = compute_kpis({'cs_n': 8, 'cs_g': 6, 'cs_sum': 34}, SETTINGS)

    # Then CSAT is 75 % over 8 responses and the average rating is 4.25
    assert (kpis['csat'].value, kpis['csat'].numerator, kpis['csat'].denominator, kpis['csat'].unit) == (75.0, 6, 8, '%')
    assert kpis['csat_average'].value == pytest.approx(4.25)


@pytest.mark.parametrize(('promoters', 'detractors', 'nps'), [(5, 2, 30.0), (1, 4, -30.0), (0, 0, 0.0), (10, 0, 100.0)])
def test_nps_is_percent_promoters_minus_percent_detractors(promoters: int, detractors: int, nps: float) -> None:
    # Given 10 NPS responses with the given promoters and detractors
    kpis = compute_kpis({'np_n': 10, 'np_p': promoters, 'np_d': detractors}, SETTINGS)

    # Then NPS is the difference of the two percentages, on a -100..100 score over 10 responses
    assert kpis['nps'].value == pytest.approx(nps)
    assert (kpis['nps'].denominator, kpis['nps'].unit) == (10, 'score')


def test_one_touch_and_fcr_are_over_tickets_with_known_replies_and_resolution_over_resolved() -> None:
    # Given 14 tickets, 12 of them from sources that report replies; 4 resolved in 36,000 s in total, 3 one-touch
    # and 2 first-contact resolved
    kpis = compute_kpis({'t': 14, 'rk': 12, 'rs_n': 4, 'rs_s': 36_000, 'rs_bs': 14_400, 'ot': 3, 'fcr': 2}, SETTINGS)

    # Then one-touch and FCR divide by the 12 tickets whose replies are known (the brief's "all tickets", less
    # those no source says anything about)
    assert kpis['one_touch_resolution_rate'].value == pytest.approx(25.0)
    assert kpis['one_touch_resolution_rate'].denominator == 12
    assert kpis['first_contact_resolution'].value == pytest.approx(100 * 2 / 12)
    # And the average resolution time divides by the 4 resolved tickets, in hours (calendar and business)
    assert kpis['average_resolution_time'].value == pytest.approx(2.5)
    assert (kpis['average_resolution_time'].denominator, kpis['average_resolution_time'].unit) == (4, 'h')
    assert kpis['average_resolution_time_business'].value == pytest.approx(1.0)


def test_response_time_averages() -> None:
    # Given 6 tickets, 5 answered in 3,000 s in total, and 8 reply waits totalling 9,600 s
    kpis = compute_kpis({'t': 6, 'fr_n': 5, 'fr_s': 3000, 'fr_bs': 1500, 'rp_n': 8, 'rp_s': 9600}, SETTINGS)

    # Then first response averages over answered tickets, in minutes
    assert kpis['first_response_time'].value == pytest.approx(10.0)
    assert kpis['first_response_time_business'].value == pytest.approx(5.0)
    # And the brief's average response time is the sum of response times over the number of tickets
    assert kpis['average_response_time'].value == pytest.approx(9600 / 6 / 60)
    assert kpis['average_reply_wait'].value == pytest.approx(20.0)


def test_sla_compliance_is_met_over_met_plus_breached() -> None:
    # Given first-response targets 3 met / 1 breached and resolution targets 2 met / 2 breached
    kpis = compute_kpis({'sfr_met': 3, 'sfr_br': 1, 'srs_met': 2, 'srs_br': 2}, SETTINGS)

    # Then each metric and the overall compliance are met / (met + breached)
    assert kpis['sla_first_response'].value == pytest.approx(75.0)
    assert kpis['sla_resolution'].value == pytest.approx(50.0)
    assert (kpis['sla_compliance'].value, kpis['sla_compliance'].denominator) == (pytest.approx(62.5), 8)
    assert kpis['sla_turnaround'].value is None


def test_after_sales_kpis() -> None:
    # Given 10 job cards, 8 delivered in 8 x 5 h, 6 with a promise (5 kept), 7 first-time fixes, 2 repeats, 4 zero-defect
    counters = {'j': 10, 'ta_n': 8, 'ta_s': 8 * 5 * 3600, 'pd_n': 6, 'pd_ok': 5, 'ftf_n': 8, 'ftf_ok': 7, 'rc': 2, 'zd': 4}
    counters |= {'up_n': 4, 'up_a': 3, 'up_v': 64_999}

    # When its KPIs are computed
    kpis = compute_kpis(counters, SETTINGS)

    # Then each KPI has its own denominator
    assert kpis['turnaround_time'].value == pytest.approx(5.0)
    assert kpis['on_time_delivery'].value == pytest.approx(100 * 5 / 6)
    assert kpis['first_time_fix_rate'].value == pytest.approx(87.5)
    assert kpis['repeat_complaint_rate'].value == pytest.approx(20.0)
    assert kpis['zero_defect_rate'].value == pytest.approx(50.0)
    assert kpis['upsell_conversion'].value == pytest.approx(75.0)
    # And upsell revenue is reported in currency units, always significant
    assert (kpis['upsell_revenue'].value, kpis['upsell_revenue'].significant) == (pytest.approx(649.99), True)
    assert kpis['job_cards'].value == 10


def test_a_ratio_with_no_items_has_no_value_and_is_not_significant() -> None:
    # Given no counters at all
    kpis = compute_kpis({}, SETTINGS)

    # Then every ratio has value None and is not significant, and the counts are zero
    ratios = [kpi for name, kpi in kpis.items() if name not in ('upsell_revenue', 'tickets', 'job_cards', 'hazards_reported')]
    assert ratios and all(kpi.value is None and kpi.denominator == 0 and not kpi.significant for kpi in ratios)
    assert kpis['csat'].as_dict() == {'value': None, 'numerator': 0, 'count': 0, 'unit': '%', 'significant': False}
    assert kpis['tickets'].value == 0


def test_significance_follows_min_sample_and_its_overrides() -> None:
    # Given 4 NPS answers, 5 tickets and 8 ratings, with a minimum sample of 5 and of 10 for CSAT
    settings = KpiSettings(min_sample=5, min_sample_overrides={'csat': 10})
    kpis = compute_kpis({'np_n': 4, 'np_p': 4, 't': 5, 'rk': 5, 'ot': 1, 'cs_n': 8, 'cs_g': 8, 'cs_sum': 40}, settings)

    # Then NPS (4 < 5) is not significant but still has its value; one-touch (5 >= 5) is
    assert (kpis['nps'].value, kpis['nps'].significant) == (pytest.approx(100.0), False)
    assert kpis['one_touch_resolution_rate'].significant is True
    # And CSAT needs 10 (its override), and so does the CSAT average it shares its ratings with (the service
    # level's quality is judged from it)
    assert kpis['csat'].significant is False
    assert kpis['csat_average'].significant is False
    assert compute_kpis({'cs_n': 10, 'cs_g': 8, 'cs_sum': 45}, settings)['csat_average'].significant is True


# -- service levels ------------------------------------------------------------------------------------


def _kpis(
    first_response_minutes: float | None, answered: int = 10, csat_average: float | None = None, ratings: int = 10
) -> dict[str, KpiValue]:
    counters: dict[str, int] = {'t': answered}
    if first_response_minutes is not None:
        counters |= {'fr_n': answered, 'fr_s': round(first_response_minutes * 60 * answered)}
    if csat_average is not None:
        counters |= {'cs_n': ratings, 'cs_sum': round(csat_average * ratings)}
    return compute_kpis(counters, SETTINGS)


@pytest.mark.parametrize(
    ('channel', 'minutes', 'level', 'name'),
    [
        ('chat', 3, 4, 'above average'),
        ('chat', 0.5, 5, 'stellar'),
        ('chat', 10, 3, 'average'),
        ('chat', 45, 2, 'below average'),
        ('chat', 90, 1, 'unacceptable'),
        ('email', 30, 5, 'stellar'),
        ('email', 3 * 60, 4, 'above average'),
        ('email', 20 * 60, 3, 'average'),
        ('email', 2 * 24 * 60, 2, 'below average'),
        ('email', 5 * 24 * 60, 1, 'unacceptable'),
        ('social', 10, 5, 'stellar'),
        ('social', 30, 4, 'above average'),
    ],
)
def test_response_level_per_channel_follows_the_brief(channel: str, minutes: float, level: int, name: str) -> None:
    # Given a channel's average first response (10 answered tickets) and no ratings
    kpis = _kpis(minutes)

    # When its service level is judged
    result = service_level(channel, kpis, SETTINGS)

    # Then the level is the brief's for that channel, judged on response time alone
    assert (result.level, result.name, result.response_level, result.quality_level) == (level, name, level, None)


def test_service_level_is_the_lower_of_response_and_quality() -> None:
    # Given e-mail answered in 30 min (stellar) with an average rating of 4.0 (average),
    # and chat answered in 3 min (above average) with an average of 5.0 (stellar)
    email = service_level('email', _kpis(30, csat_average=4.0), SETTINGS)
    chat = service_level('chat', _kpis(3, csat_average=5.0), SETTINGS)

    # Then each channel gets the lower of its two levels
    assert (email.response_level, email.quality_level, email.level, email.name) == (5, 3, 3, 'average')
    assert (chat.response_level, chat.quality_level, chat.level, chat.name) == (4, 5, 4, 'above average')


def test_a_dimension_without_a_significant_sample_is_not_judged() -> None:
    # Given e-mail answered in 30 min over 3 tickets only, with 10 ratings averaging 3.0
    only_quality = service_level('email', _kpis(30, answered=3, csat_average=3.0), SETTINGS)
    # And chat answered in 3 min over 10 tickets, with 2 ratings of 1
    only_response = service_level('chat', _kpis(3, csat_average=1.0, ratings=2), SETTINGS)
    # And a channel with neither sample significant
    neither = service_level('phone', _kpis(3, answered=2, csat_average=5.0, ratings=2), SETTINGS)

    # Then only the significant dimension is judged, and with none there is no level
    assert (only_quality.response_level, only_quality.quality_level, only_quality.level) == (None, 2, 2)
    assert (only_response.response_level, only_response.quality_level, only_response.level) == (4, None, 4)
    assert (neither.level, neither.name, neither.response_level, neither.quality_level) == (None, None, None, None)


def test_an_unknown_channel_is_judged_as_other() -> None:
    # Given a channel name the program does not know, answered in 30 min
    result = service_level('fax', _kpis(30), SETTINGS)

    # Then it is judged with the 'other' thresholds (asynchronous: under an hour is stellar)
    assert result.channel == 'fax'
    assert result.level == 5


@pytest.mark.parametrize(('average', 'level'), [(5.0, 5), (4.95, 5), (4.8, 4), (4.5, 3), (4.0, 3), (3.0, 2), (2.9, 1)])
def test_quality_levels_from_average_csat(average: float, level: int) -> None:
    # Given an average CSAT / When its quality level is judged / Then it follows the brief's table
    assert QualityThresholds().level(average) == level


def test_level_thresholds_must_grow() -> None:
    # Given thresholds where "average" is faster than "above average" / When validated / Then it is refused
    with pytest.raises(ValidationError, match='thresholds must grow'):
        LevelThresholds(stellar=1, above_average=10, average=5, below_average=60)


def test_custom_response_levels_replace_the_channel_thresholds() -> None:
    # Given a program where chat is stellar under 5 minutes
    strict = LevelThresholds(stellar=5, above_average=10, average=20, below_average=60)
    settings = KpiSettings(response_levels={Channel.CHAT: strict})

    # When chat answered in 3 minutes is judged
    result = service_level('chat', compute_kpis({'fr_n': 10, 'fr_s': 1800}, settings), settings)

    # Then it is stellar
    assert result.level == 5


# -- build_report --------------------------------------------------------------------------------------

SCOPE = 'location#US-NYC'


def test_build_report_sums_whole_days_and_keeps_channels_apart() -> None:
    # Given two whole-day items and their per-channel items for one location's month
    items = [
        KpiItem(
            SCOPE, '2025-05-19', {'t': 3, 'fr_n': 3, 'fr_s': 3 * 180, 'up_a': 1, 'up_v': 19_999, 'uv_extended_warranty': 19_999}, late=1
        ),
        KpiItem(SCOPE, '2025-05-19#chat', {'t': 2, 'fr_n': 2, 'fr_s': 2 * 180}, late=1),
        KpiItem(SCOPE, '2025-05-19#email', {'t': 1, 'fr_n': 1, 'fr_s': 180, 'up_a': 1, 'up_v': 19_999, 'uv_extended_warranty': 19_999}),
        KpiItem(SCOPE, '2025-05-20', {'t': 4, 'fr_n': 4, 'fr_s': 4 * 180, 'up_a': 1, 'up_v': 45_000, 'uv_ceramic_coating': 45_000}, late=2),
        KpiItem(
            SCOPE, '2025-05-20#chat', {'t': 4, 'fr_n': 4, 'fr_s': 4 * 180, 'up_a': 1, 'up_v': 45_000, 'uv_ceramic_coating': 45_000}, late=2
        ),
    ]

    # When the month is built
    report = build_report(SCOPE, '2025-05', items, KpiSettings(min_sample=2))

    # Then the month's counters are the sum of the whole-day items only (channel items are not double counted)
    assert report.counters == {
        't': 7,
        'fr_n': 7,
        'fr_s': 7 * 180,
        'up_a': 2,
        'up_v': 64_999,
        'uv_extended_warranty': 19_999,
        'uv_ceramic_coating': 45_000,
    }
    assert report.kpis['tickets'].value == 7
    assert report.kpis['first_response_time'].value == pytest.approx(3.0)
    # And each day is listed by its date, in order
    assert list(report.days) == ['2025-05-19', '2025-05-20']
    assert report.days['2025-05-20']['t'] == 4
    # And each channel sums its own items across the days, with its service level
    assert report.channels['chat']['tickets'].value == 6
    assert report.channels['email']['tickets'].value == 1
    assert set(report.service_levels) == {'chat', 'email'}
    assert report.service_levels['chat'].level == 4  # 3 min on chat: above average
    assert report.service_levels['email'].level is None  # 1 answered e-mail: below the minimum sample
    # And upsell revenue is collected by category in currency units
    assert report.upsell_revenue_by_category == {'ceramic_coating': 450.0, 'extended_warranty': 199.99}
    # And late changes are counted once each, from the whole-day items
    assert report.late_changes == 3


def test_build_report_of_an_empty_month() -> None:
    # Given a scope with no items in the month
    report = build_report('employee#E9', '2025-05', [], SETTINGS)

    # Then it has zero counters, no days, channels or levels, and its ratios have no value
    assert (report.counters, report.days, report.channels, report.service_levels, report.late_changes) == ({}, {}, {}, {}, 0)
    assert report.kpis['csat'].value is None
    assert report.kpis['tickets'].as_dict() == {'value': 0, 'numerator': 0, 'count': 0, 'unit': 'count', 'significant': True}


def test_kpi_item_day_and_channel_come_from_the_sort_key() -> None:
    # Given a whole-day item and a day-channel item
    whole, per_channel = KpiItem(SCOPE, '2025-05-19'), KpiItem(SCOPE, '2025-05-19#walk_in')

    # Then the day is the date and only the per-channel item has a channel
    assert (whole.day, whole.channel) == ('2025-05-19', None)
    assert (per_channel.day, per_channel.channel) == ('2025-05-19', 'walk_in')
