"""What one ticket or job card contributes to the KPIs (shared.kpi.definitions), from real event histories."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.directory.people import Employee
from shared.events import Assignee, AssigneeRole, Channel, Kind, Source, Status, TicketEvent, UpsellLine
from shared.kpi.definitions import COUNTERS, Contribution, category_key, contribution, month_end, scopes_for
from shared.kpi.settings import KpiSettings
from shared.sla.calendar import WEEKDAYS, BusinessCalendar
from shared.sla.clock import checkpoints, evaluate
from shared.sla.config import Location
from shared.sla.policy import DEFAULT_POLICIES
from shared.tickets.state import REPEAT_VISIT_TAG, fold
from tests.support.factories import survey_event, ticket_history

NEW_YORK = ZoneInfo('America/New_York')
CALENDAR = BusinessCalendar(
    calendar_id='nyc-office', timezone='America/New_York', hours={day: [('09:00', '17:00')] for day in WEEKDAYS[:5]}
)
LOCATION = Location(location_id='US-NYC', name='New York', region='US-East', calendar_id='nyc-office')
SETTINGS = KpiSettings()
STANDARD = next(
    policy for policy in DEFAULT_POLICIES if policy.policy_id == 'standard'
)  # normal: first reply 4 h, resolution 24 h (business)
AGENT = Employee('E1', team_id='T1')
HOUR = 3600


def ny(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def ticket(created: datetime, *steps: tuple[datetime, dict[str, Any]], channel: Channel = Channel.EMAIL) -> list[TicketEvent]:
    """A Zendesk ticket created at `created` (status new), then one event per step, owned by agent1."""
    return ticket_history(created, *steps, channel=channel, assignees=(Assignee(agent_key='agent1@example.com'),))


def survey(at: datetime, *, csat: int | None = None, nps: int | None = None, external_id: str = 'T-1') -> TicketEvent:
    return survey_event(external_id, csat, at=at, nps=nps, response=f'r-{at.isoformat()}')


def job_card(
    card: str, created: datetime, *steps: tuple[datetime, dict[str, Any]], promised_at: datetime | None = None, tags: tuple[str, ...] = ()
) -> list[TicketEvent]:
    """A DMS job card opened at `created`, then one event per step."""
    history = [(created, {'status': Status.OPEN, 'tags': tags}), *steps]
    return [
        TicketEvent(
            source=Source.DMS,
            kind=Kind.JOB_CARD,
            external_id=card,
            event_id=f'dms:{card}:{n}',
            occurred_at=when,
            created_at=created,
            channel=Channel.WALK_IN,
            promised_at=promised_at,
            assignees=(Assignee(role=AssigneeRole.ADVISOR, agent_key='adv-1'),),
            **fields,
        )
        for n, (when, fields) in enumerate(history)
    ]


def repeat_visit(card: str, by: str, at: datetime) -> TicketEvent:
    """What the processor sends an earlier job card when a later one repeats it."""
    return TicketEvent(
        source=Source.DMS,
        kind=Kind.JOB_CARD,
        external_id=card,
        event_id=f'repeat-visit:dms#{by}',
        occurred_at=at,
        tags=(f'{REPEAT_VISIT_TAG}dms#{by}',),
    )


def contribute(
    events: list[TicketEvent],
    *,
    settings: KpiSettings = SETTINGS,
    with_sla: bool = False,
    changed_at: datetime | None = None,
    employees: tuple[Employee, ...] = (AGENT,),
) -> Contribution:
    state = fold(events)
    sla = evaluate(state, events, STANDARD, CALENDAR) if with_sla else None
    at = changed_at or max(event.occurred_at for event in events)
    return contribution(state, checkpoints(events), sla, CALENDAR, LOCATION, employees, settings, at)


# -- tickets: response and resolution times ---------------------------------------------------------


def test_first_response_and_resolution_in_calendar_and_business_seconds() -> None:
    # Given an e-mail created Friday 16:00 New York, answered Monday 10:00 and solved Monday 12:00
    events = ticket(
        ny(2025, 5, 16, 16),
        (ny(2025, 5, 19, 10), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(2025, 5, 19, 12), {'status': Status.SOLVED, 'reply_count': 1}),
    )

    # When its contribution is derived
    c = contribute(events).counters

    # Then the first reply took 66 calendar hours but only 2 business hours (Fri 16-17, Mon 9-10)
    assert (c['t'], c['fr_n'], c['fr_s'], c['fr_bs']) == (1, 1, 66 * HOUR, 2 * HOUR)
    # And the resolution took 68 calendar hours, 4 business hours (Fri 16-17, Mon 9-12)
    assert (c['rs_n'], c['rs_s'], c['rs_bs']) == (1, 68 * HOUR, 4 * HOUR)
    # And the only reply wait measured is the first one
    assert (c['rp_n'], c['rp_s'], c['rp_bs']) == (1, 66 * HOUR, 2 * HOUR)


def test_unanswered_open_ticket_counts_only_as_created() -> None:
    # Given an e-mail that nobody has answered yet
    events = ticket(ny(2025, 5, 19, 10), (ny(2025, 5, 19, 11), {'status': Status.OPEN}))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is one ticket, with no reply, resolution or outcome counters
    assert counters == {'t': 1}


def test_one_reply_is_one_touch_and_two_replies_are_not() -> None:
    # Given a ticket solved after exactly one reply, and one where the customer wrote back and got a second reply
    one = ticket(
        ny(2025, 5, 19, 10),
        (ny(2025, 5, 19, 11), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(2025, 5, 19, 12), {'status': Status.SOLVED, 'reply_count': 1}),
    )
    two = ticket(
        ny(2025, 5, 19, 10),
        (ny(2025, 5, 19, 11), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(2025, 5, 19, 13), {'status': Status.OPEN, 'reply_count': 1}),
        (ny(2025, 5, 19, 14), {'status': Status.PENDING, 'reply_count': 2}),
        (ny(2025, 5, 19, 15), {'status': Status.SOLVED, 'reply_count': 2}),
    )

    # When their contributions are derived
    first, second = contribute(one).counters, contribute(two).counters

    # Then the first is one-touch and first-contact resolved
    assert (first.get('ot'), first.get('fcr'), first['rs_n']) == (1, 1, 1)
    # And the second is resolved but neither one-touch nor first-contact resolved
    assert (second.get('ot'), second.get('fcr'), second['rs_n']) == (None, None, 1)
    # And its second wait (customer's turn 13:00 -> reply 14:00) is measured as a reply wait
    assert (second['rp_n'], second['rp_s'], second['rp_bs']) == (2, 2 * HOUR, 2 * HOUR)


def _solved_then_reopened(reopen_after: timedelta) -> list[TicketEvent]:
    solved = ny(2025, 5, 19, 11)
    return ticket(
        ny(2025, 5, 19, 10),
        (solved, {'status': Status.SOLVED, 'reply_count': 1}),
        (solved + reopen_after, {'status': Status.OPEN, 'reply_count': 1}),
        (solved + reopen_after + timedelta(hours=1), {'status': Status.SOLVED, 'reply_count': 1}),
    )


def test_reopen_within_the_fcr_window_undoes_first_contact_resolution() -> None:
    # Given a one-reply ticket reopened 3 days after it was solved (window: 7 days), then solved again
    events = _solved_then_reopened(timedelta(days=3))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is still resolved and one-touch, but not first-contact resolved
    assert (counters['rs_n'], counters['ot']) == (1, 1)
    assert 'fcr' not in counters


def test_reopen_after_the_fcr_window_keeps_first_contact_resolution() -> None:
    # Given a one-reply ticket reopened 10 days after it was solved (window: 7 days), then solved again
    events = _solved_then_reopened(timedelta(days=10))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then first-contact resolution is kept
    assert counters['fcr'] == 1


def test_the_fcr_window_comes_from_the_settings() -> None:
    # Given a ticket reopened 3 days after its solve, and a program whose FCR window is 2 days
    events = _solved_then_reopened(timedelta(days=3))
    short_window = KpiSettings(fcr_reopen_window_days=2)

    # When its contribution is derived under the default and the short window
    default, short = contribute(events).counters, contribute(events, settings=short_window).counters

    # Then the reopen undoes FCR only under the default 7-day window
    assert 'fcr' not in default
    assert short['fcr'] == 1


def test_reopened_ticket_that_is_still_open_is_not_resolved() -> None:
    # Given a ticket solved, then reopened and still open
    events = ticket(
        ny(2025, 5, 19, 10),
        (ny(2025, 5, 19, 11), {'status': Status.SOLVED, 'reply_count': 1}),
        (ny(2025, 5, 20, 11), {'status': Status.OPEN, 'reply_count': 1}),
    )

    # When its contribution is derived
    counters = contribute(events).counters

    # Then no resolution, one-touch or FCR is counted (they come back when it is solved again)
    assert not {'rs_n', 'rs_s', 'ot', 'fcr'} & counters.keys()


# -- tickets: abandoned and self-service -------------------------------------------------------------


def test_abandoned_tag_counts_abandoned_even_when_not_resolved() -> None:
    # Given a chat the source tagged missed_chat, never answered
    events = ticket(ny(2025, 5, 19, 10), (ny(2025, 5, 19, 10, 5), {'status': Status.OPEN, 'tags': ('missed_chat',)}), channel=Channel.CHAT)

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is abandoned and nothing else beyond being created
    assert counters == {'t': 1, 'ab': 1}


def test_self_service_tag_counts_only_once_resolved() -> None:
    # Given a ticket tagged resolved_by_bot, first still open, then solved without any agent reply
    solved_events = ticket(
        ny(2025, 5, 19, 10),
        (ny(2025, 5, 19, 10, 5), {'status': Status.OPEN, 'tags': ('resolved_by_bot',)}),
        (ny(2025, 5, 19, 10, 10), {'status': Status.SOLVED}),
    )
    open_events = solved_events[:2]

    # When their contributions are derived
    while_open, once_solved = contribute(open_events).counters, contribute(solved_events).counters

    # Then self-service is counted only once the ticket is resolved, and is not abandoned
    assert 'ss' not in while_open
    assert once_solved['ss'] == 1
    assert 'ab' not in once_solved
    # And with no reply at all it is not one-touch
    assert 'ot' not in once_solved


def test_tags_outside_the_configured_lists_count_nothing() -> None:
    # Given a solved ticket tagged with something that is neither abandoned nor self-service
    events = ticket(ny(2025, 5, 19, 10), (ny(2025, 5, 19, 11), {'status': Status.SOLVED, 'reply_count': 1, 'tags': ('vip',)}))

    # When its contribution is derived under settings that make 'vip' the only self-service tag
    default = contribute(events).counters
    custom = contribute(events, settings=KpiSettings(self_service_tags=['vip'])).counters

    # Then only the custom settings count it as self-service
    assert 'ss' not in default and 'ab' not in default
    assert custom['ss'] == 1


# -- surveys -------------------------------------------------------------------------------------------


def _solved() -> list[TicketEvent]:
    return ticket(ny(2025, 5, 19, 10), (ny(2025, 5, 19, 11), {'status': Status.SOLVED, 'reply_count': 1}))


@pytest.mark.parametrize(('csat', 'good'), [(5, 1), (4, 1), (3, None), (1, None)])
def test_csat_four_and_five_are_good(csat: int, good: int | None) -> None:
    # Given a solved ticket rated `csat`
    events = [*_solved(), survey(ny(2025, 5, 20, 9), csat=csat)]

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is one response, good only for 4-5, with its score summed
    assert counters['cs_n'] == 1
    assert counters.get('cs_g') == good
    assert counters['cs_sum'] == csat
    assert 'np_n' not in counters


@pytest.mark.parametrize(
    ('nps', 'promoter', 'detractor'), [(10, 1, None), (9, 1, None), (8, None, None), (7, None, None), (6, None, 1), (0, None, 1)]
)
def test_nps_promoters_detractors_and_passives(nps: int, promoter: int | None, detractor: int | None) -> None:
    # Given a solved ticket with an NPS answer only
    events = [*_solved(), survey(ny(2025, 5, 20, 9), nps=nps)]

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is one NPS response: promoter for 9-10, detractor for 0-6, neither for 7-8; no CSAT
    assert counters['np_n'] == 1
    assert counters.get('np_p') == promoter
    assert counters.get('np_d') == detractor
    assert 'cs_n' not in counters


def test_a_later_survey_replaces_the_earlier_rating() -> None:
    # Given a ticket rated 2, then re-rated 5 by the same customer
    events = [*_solved(), survey(ny(2025, 5, 20, 9), csat=2), survey(ny(2025, 5, 20, 10), csat=5)]

    # When its contribution is derived
    counters = contribute(events).counters

    # Then only the latest rating counts (one response, good)
    assert (counters['cs_n'], counters['cs_g'], counters['cs_sum']) == (1, 1, 5)


# -- upsell --------------------------------------------------------------------------------------------


def test_upsell_lines_count_offers_acceptances_and_revenue_per_category() -> None:
    # Given a job card with two accepted lines (one category twice) and one declined line
    lines = (
        UpsellLine(line_id='L1', category='Extended Warranty', amount=Decimal('199.99')),
        UpsellLine(line_id='L2', category='Ceramic coating', amount=Decimal('450.00')),
        UpsellLine(line_id='L3', category='Ceramic coating', amount=Decimal('0.01')),
        UpsellLine(line_id='L4', category='Tyres & Batteries', amount=Decimal('300'), accepted=False),
    )
    events = job_card('JC-1', ny(2025, 5, 19, 9), (ny(2025, 5, 19, 12), {'upsell_lines': lines}))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then all four are offered, three accepted, and the accepted revenue is in cents, in total and per category
    assert (counters['up_n'], counters['up_a'], counters['up_v']) == (4, 3, 19999 + 45000 + 1)
    upsell_by_category = {name: value for name, value in counters.items() if name.startswith('uv_')}
    assert upsell_by_category == {'uv_extended_warranty': 19999, 'uv_ceramic_coating': 45001}


def test_declined_upsell_lines_are_only_offered() -> None:
    # Given a ticket whose only upsell line was declined
    line = UpsellLine(line_id='L1', category='Insurance renewal', amount=Decimal('120.50'), accepted=False)
    events = ticket(ny(2025, 5, 19, 10), (ny(2025, 5, 19, 11), {'status': Status.OPEN, 'upsell_lines': (line,)}))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is one offer, with no acceptance and no revenue
    assert counters['up_n'] == 1
    assert not {'up_a', 'up_v', 'uv_insurance_renewal'} & counters.keys()


# -- SLA -----------------------------------------------------------------------------------------------


def test_sla_targets_met_are_counted_per_metric() -> None:
    # Given an e-mail answered within an hour, back to the customer's turn and answered again, then solved the same day
    events = ticket(
        ny(2025, 5, 19, 10),
        (ny(2025, 5, 19, 11), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(2025, 5, 19, 13), {'status': Status.OPEN, 'reply_count': 1}),
        (ny(2025, 5, 19, 13, 30), {'status': Status.PENDING, 'reply_count': 2}),
        (ny(2025, 5, 19, 14), {'status': Status.SOLVED, 'reply_count': 2}),
    )

    # When its contribution is derived with the SLA report of the standard policy
    counters = contribute(events, with_sla=True).counters

    # Then first response, next response and resolution are each met once, and nothing is breached
    sla = {name: value for name, value in counters.items() if name[:3] in ('sfr', 'snr', 'srs', 'sta')}
    assert sla == {'sfr_met': 1, 'snr_met': 1, 'srs_met': 1}


def test_sla_targets_breached_are_counted_per_metric() -> None:
    # Given an e-mail created Monday 10:00 and first answered Friday 10:00 (32 business hours), then solved
    events = ticket(
        ny(2025, 5, 19, 10),
        (ny(2025, 5, 23, 10), {'status': Status.PENDING, 'reply_count': 1}),
        (ny(2025, 5, 23, 10, 30), {'status': Status.SOLVED, 'reply_count': 1}),
    )

    # When its contribution is derived with its SLA report (normal: first reply 4 h, resolution 24 h, business)
    counters = contribute(events, with_sla=True).counters

    # Then first response and resolution are breached, and nothing is met
    sla = {name: value for name, value in counters.items() if name[:3] in ('sfr', 'snr', 'srs', 'sta')}
    assert sla == {'sfr_br': 1, 'srs_br': 1}


def test_running_sla_clocks_count_nothing() -> None:
    # Given an e-mail not yet answered (its clocks are running)
    events = ticket(ny(2025, 5, 19, 10), (ny(2025, 5, 19, 11), {'status': Status.OPEN}))

    # When its contribution is derived with its SLA report
    counters = contribute(events, with_sla=True).counters

    # Then no SLA counter is present yet
    assert not [name for name in counters if name.endswith(('_met', '_br'))]


# -- late changes --------------------------------------------------------------------------------------


def test_day_and_late_use_the_local_month_when_utc_is_already_the_next_month() -> None:
    # Given an e-mail created Friday Oct 31 23:30 New York time, which is Nov 1 03:30 UTC
    created = ny(2025, 10, 31, 23, 30)
    assert created.date() == date(2025, 11, 1)
    events = ticket(created, (ny(2025, 10, 31, 23, 45), {'status': Status.OPEN}))

    # When its contribution is derived for a change on Oct 31 23:45 local (UTC Nov 1) and for a survey on Nov 1 local
    same_month = contribute(events)
    next_month = contribute([*events, survey(ny(2025, 11, 1, 9), csat=5)])

    # Then it belongs to Oct 31 (local), the change that same night is not late, the survey next month is
    assert same_month.day == next_month.day == '2025-10-31'
    assert same_month.late is False
    assert next_month.late is True


def test_a_change_on_the_last_local_evening_of_the_month_is_not_late() -> None:
    # Given a ticket created mid-October
    events = ticket(ny(2025, 10, 15, 10), (ny(2025, 10, 15, 11), {'status': Status.SOLVED, 'reply_count': 1}))

    # When contributions are derived for changes at 23:59 Oct 31 local (UTC Nov 1) and at 00:01 Nov 1 local
    evening = contribute(events, changed_at=ny(2025, 10, 31, 23, 59))
    after_midnight = contribute(events, changed_at=ny(2025, 11, 1, 0, 1))

    # Then only the change after local midnight is late
    assert ny(2025, 10, 31, 23, 59).date() == date(2025, 11, 1)
    assert evening.late is False
    assert after_midnight.late is True
    assert evening.day == after_midnight.day == '2025-10-15'


def test_a_change_within_the_month_is_not_late() -> None:
    # Given a ticket created Oct 1 and surveyed Oct 30
    events = [
        *ticket(ny(2025, 10, 1, 10), (ny(2025, 10, 1, 11), {'status': Status.SOLVED, 'reply_count': 1})),
        survey(ny(2025, 10, 30, 12), csat=4),
    ]

    # When its contribution is derived
    result = contribute(events)

    # Then it is not late
    assert result.late is False


# -- job cards -----------------------------------------------------------------------------------------


def test_job_card_turnaround_in_calendar_and_business_seconds_and_on_time() -> None:
    # Given a job card opened Monday 16:00, promised Tuesday 12:00 and delivered Tuesday 11:00
    events = job_card('JC-1', ny(2025, 5, 19, 16), (ny(2025, 5, 20, 11), {'status': Status.SOLVED}), promised_at=ny(2025, 5, 20, 12))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then turnaround is 19 calendar hours and 3 business hours, delivered on time, fixed first time, zero-defect
    assert counters == {
        'j': 1,
        'ta_n': 1,
        'ta_s': 19 * HOUR,
        'ta_bs': 3 * HOUR,
        'pd_n': 1,
        'pd_ok': 1,
        'ftf_n': 1,
        'ftf_ok': 1,
        'zd': 1,
    }


def test_job_card_delivered_after_the_promise_is_late_and_not_zero_defect() -> None:
    # Given a job card promised Tuesday 10:00 and delivered Tuesday 11:00
    events = job_card('JC-1', ny(2025, 5, 19, 16), (ny(2025, 5, 20, 11), {'status': Status.SOLVED}), promised_at=ny(2025, 5, 20, 10))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it has a promise it missed; it is still a first-time fix but not zero-defect
    assert counters['pd_n'] == 1
    assert 'pd_ok' not in counters
    assert counters['ftf_ok'] == 1
    assert 'zd' not in counters


def test_job_card_without_a_promise_is_not_judged_on_time() -> None:
    # Given a delivered job card that never had a promised time
    events = job_card('JC-1', ny(2025, 5, 19, 9), (ny(2025, 5, 19, 15), {'status': Status.SOLVED}))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is outside the on-time KPI but can be zero-defect
    assert not {'pd_n', 'pd_ok'} & counters.keys()
    assert counters['zd'] == 1


def test_job_card_not_yet_delivered_counts_only_as_opened() -> None:
    # Given an open job card
    events = job_card('JC-1', ny(2025, 5, 19, 9), (ny(2025, 5, 19, 10), {'status': Status.PENDING}), promised_at=ny(2025, 5, 19, 17))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is one card opened and nothing more
    assert counters == {'j': 1}


def _delivered_then_repeated(after_delivery: timedelta) -> list[TicketEvent]:
    delivered = ny(2025, 5, 20, 11)
    events = job_card('JC-1', ny(2025, 5, 19, 16), (delivered, {'status': Status.SOLVED}), promised_at=ny(2025, 5, 20, 12))
    return [*events, repeat_visit('JC-1', 'JC-2', delivered + after_delivery)]


def test_repeat_visit_within_the_window_undoes_first_time_fix_and_zero_defect() -> None:
    # Given a delivered job card that a later visit repeated 10 days after delivery (window: 30 days)
    events = _delivered_then_repeated(timedelta(days=10))
    assert fold(events).repeat_visits == (('dms#JC-2', ny(2025, 5, 30, 11)),)

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is judged for first-time fix and failed it, and is not zero-defect; it stays delivered on time
    assert counters['ftf_n'] == 1
    assert 'ftf_ok' not in counters
    assert 'zd' not in counters
    assert counters['pd_ok'] == 1


def test_repeat_visit_after_the_window_keeps_first_time_fix() -> None:
    # Given a delivered job card repeated 45 days after delivery (window: 30 days)
    events = _delivered_then_repeated(timedelta(days=45))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it keeps its first-time fix and zero-defect
    assert (counters['ftf_n'], counters['ftf_ok'], counters['zd']) == (1, 1, 1)


def test_the_repeat_window_comes_from_the_settings() -> None:
    # Given a job card repeated 10 days after delivery, under a 7-day repeat window
    events = _delivered_then_repeated(timedelta(days=10))

    # When its contribution is derived
    counters = contribute(events, settings=KpiSettings(repeat_window_days=7)).counters

    # Then the repeat is outside the window and the fix stands
    assert counters['ftf_ok'] == 1


def test_a_visit_that_repeats_an_earlier_card_is_a_repeat_complaint() -> None:
    # Given a job card the DMS tagged as repeating JC-1, still open
    events = job_card('JC-2', ny(2025, 5, 30, 11), tags=('repeat_of:JC-1',))

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is a card opened and a repeat complaint
    assert counters == {'j': 1, 'rc': 1}


def test_reopened_job_card_is_not_zero_defect() -> None:
    # Given a job card delivered on time, reopened, and delivered again (still before its promise)
    events = job_card(
        'JC-1',
        ny(2025, 5, 19, 9),
        (ny(2025, 5, 19, 11), {'status': Status.SOLVED}),
        (ny(2025, 5, 19, 12), {'status': Status.OPEN}),
        (ny(2025, 5, 19, 14), {'status': Status.SOLVED}),
        promised_at=ny(2025, 5, 19, 17),
    )

    # When its contribution is derived
    counters = contribute(events).counters

    # Then it is delivered on time and fixed first time, but not zero-defect
    assert (counters['pd_ok'], counters['ftf_ok']) == (1, 1)
    assert 'zd' not in counters


# -- scopes --------------------------------------------------------------------------------------------


def test_scopes_cover_organisation_location_channel_employees_and_teams_without_duplicates() -> None:
    # Given a chat at US-NYC worked by two employees of team T1, one without a team, and the first listed twice
    state = fold(ticket(ny(2025, 5, 19, 10), channel=Channel.CHAT))
    employees = [Employee('E1', team_id='T1'), Employee('E2', team_id='T1'), Employee('E3'), Employee('E1', team_id='T1')]

    # When its scopes are listed
    scopes = scopes_for(state, LOCATION, employees)

    # Then they are the organisation and location, the per-channel pairs, and each employee and team once; no region
    # (a region's month is read from its locations' days)
    assert scopes == (
        'all',
        'all|chat',
        'location#US-NYC',
        'location#US-NYC|chat',
        'employee#E1',
        'team#T1',
        'employee#E2',
        'employee#E3',
    )
    assert len(set(scopes)) == len(scopes)


def test_scopes_without_channel_or_employees() -> None:
    # Given a ticket with no channel and no mapped employee
    event = TicketEvent(source=Source.ZENDESK, external_id='T-9', event_id='zendesk:T-9:0', occurred_at=ny(2025, 5, 19, 10))

    # When its scopes are listed
    scopes = scopes_for(fold([event]), LOCATION, [])

    # Then the channel is 'other' and there is no employee or team scope
    assert scopes == ('all', 'all|other', 'location#US-NYC', 'location#US-NYC|other')


def test_contribution_carries_the_scopes_of_its_ticket() -> None:
    # Given a chat worked by E1 (team T1)
    events = ticket(ny(2025, 5, 19, 10), channel=Channel.CHAT)

    # When its contribution is derived
    result = contribute(events)

    # Then its scopes include the employee, the team and the per-channel pairs
    assert {'employee#E1', 'team#T1', 'all|chat', 'location#US-NYC|chat'} <= set(result.scopes)


# -- helpers -------------------------------------------------------------------------------------------


def test_contribution_json_round_trip() -> None:
    # Given a contribution with counters and the late flag
    original = Contribution(day='2025-10-31', scopes=('all', 'all|chat', 'employee#E1'), counters={'t': 1, 'fr_s': 42}, late=True)

    # When it is written to JSON and read back
    again = Contribution.from_json(original.to_json())

    # Then it is equal, and empty or missing text reads as no contribution
    assert again == original
    assert Contribution.from_json(Contribution(day='2025-10-01', scopes=()).to_json()) == Contribution(day='2025-10-01', scopes=())
    assert Contribution.from_json(None) is None
    assert Contribution.from_json('') is None


@pytest.mark.parametrize(
    ('day', 'end'),
    [
        (date(2025, 1, 1), date(2025, 1, 31)),
        (date(2024, 2, 10), date(2024, 2, 29)),
        (date(2025, 2, 28), date(2025, 2, 28)),
        (date(2025, 4, 30), date(2025, 4, 30)),
        (date(2025, 12, 31), date(2025, 12, 31)),
    ],
)
def test_month_end(day: date, end: date) -> None:
    # Given a day / When its month's last day is asked / Then it is the calendar's last day, leap years included
    assert month_end(day) == end


@pytest.mark.parametrize(
    ('category', 'key'),
    [('Extended Warranty', 'extended_warranty'), ('  Tyres & Batteries ', 'tyres___batteries'), ('   ', 'other'), ('x' * 60, 'x' * 40)],
)
def test_category_key(category: str, key: str) -> None:
    # Given a product category as the DMS spells it / When it is made a counter key / Then it is lower-case, safe and bounded
    assert category_key(category) == key


def test_every_counter_a_contribution_emits_is_documented() -> None:
    # Given a rich ticket and a rich job card
    ticket_events = [
        *ticket(
            ny(2025, 5, 19, 10),
            (ny(2025, 5, 19, 11), {'status': Status.SOLVED, 'reply_count': 1, 'tags': ('self_service', 'abandoned')}),
        ),
        survey(ny(2025, 5, 19, 12), csat=5, nps=10),
    ]
    card = job_card('JC-1', ny(2025, 5, 19, 9), (ny(2025, 5, 19, 11), {'status': Status.SOLVED}), promised_at=ny(2025, 5, 19, 17))

    # When their contributions are derived
    names = set(contribute(ticket_events, with_sla=True).counters) | set(contribute(card).counters)

    # Then every counter is in COUNTERS (the report and the README table are built from it)
    assert names <= COUNTERS.keys()


def test_a_source_that_reports_no_reply_counts_leaves_one_touch_and_fcr_unjudged() -> None:
    # Given the same solved ticket twice: once from a sender that reports its reply count, once from one that only
    # reports when the first reply went out
    created = ny(2025, 5, 19, 10)
    replied = ny(2025, 5, 19, 11)
    counted = ticket(created, (replied, {'first_response_at': replied, 'reply_count': 1}), (ny(2025, 5, 19, 12), {'status': Status.SOLVED}))
    silent = ticket(created, (replied, {'first_response_at': replied}), (ny(2025, 5, 19, 12), {'status': Status.SOLVED}))

    # When their contributions are derived
    known, unknown = contribute(counted).counters, contribute(silent).counters

    # Then only the first is judged for one-touch and first-contact resolution (and it is both)
    assert (known.get('rk'), known.get('ot'), known.get('fcr')) == (1, 1, 1)
    assert not {'rk', 'ot', 'fcr'} & unknown.keys()
    # And both still count their first reply and resolution
    assert known['fr_n'] == unknown['fr_n'] == 1 and known['rs_n'] == unknown['rs_n'] == 1
