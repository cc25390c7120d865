"""Fidelity: our first-reply and resolution times, in calendar and business minutes, and our SLA due times are
the ones the helpdesk itself reports for the same ticket and the same calendar.

The samples in tests/fixtures/helpdesk_metrics are in the documented wire shapes (Zendesk Ticket Metrics, Freshdesk
tickets with stats) with values computed by hand from each helpdesk's own definitions (see each file's `_note`), never
by our code. The schedule each helpdesk measured with is in the file too and is turned into our BusinessCalendar here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays
import pytest

from shared.events import Channel, Priority, Source, Status, TicketEvent
from shared.kpi.definitions import contribution
from shared.kpi.settings import KpiSettings
from shared.sla.calendar import BusinessCalendar
from shared.sla.clock import ClockState, SlaReport, checkpoints, evaluate
from shared.sla.config import Location
from shared.sla.policy import Metric, SlaPolicy, Target
from shared.sources import freshdesk
from shared.sources.base import WebhookRequest
from shared.tickets.state import fold

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures'
METRICS = FIXTURES / 'helpdesk_metrics'
ZENDESK_SAMPLES = sorted(path.name for path in METRICS.glob('zendesk_metrics_*.json') if path.name != 'zendesk_metrics_unreplied.json')
FRESHDESK_SAMPLES = sorted(path.name for path in METRICS.glob('freshdesk_stats_*.json'))

# Both helpdesks name time zones the Rails way; these are the IANA zones they stand for.
RAILS_ZONES = {'Eastern Time (US & Canada)': 'America/New_York', 'London': 'Europe/London'}
ZENDESK_WEEKDAYS = ('sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat')  # Zendesk intervals count minutes from Sunday 00:00
YEAR = 2026


def load(name: str, folder: Path = METRICS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / name).read_text())
    return data


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def hhmm(minutes: int) -> str:
    return f'{minutes // 60:02d}:{minutes % 60:02d}'


def zendesk_calendar(schedule: Mapping[str, Any]) -> BusinessCalendar:
    """A Zendesk schedule as our calendar: its intervals as weekly hours, its (federal) holidays from the holidays package."""
    hours: dict[str, list[tuple[str, str]]] = {}
    for interval in schedule['intervals']:
        day, start = divmod(interval['start_time'], 24 * 60)
        hours.setdefault(ZENDESK_WEEKDAYS[day], []).append((hhmm(start), hhmm(interval['end_time'] - day * 24 * 60)))
    return BusinessCalendar(
        calendar_id=f'zendesk-{schedule["id"]}', timezone=RAILS_ZONES[schedule['time_zone']], hours=hours, holiday_country='US'
    )


def freshdesk_calendar(business_hours: Mapping[str, Any]) -> BusinessCalendar:
    """Freshdesk business hours ("9:00 am" - "6:00 pm" per weekday) with England's bank holidays."""

    def clock(text: str) -> str:
        return datetime.strptime(text, '%I:%M %p').strftime('%H:%M')

    hours = {day[:3]: [(clock(span['start_time']), clock(span['end_time']))] for day, span in business_hours['business_hours'].items()}
    return BusinessCalendar(
        calendar_id=f'freshdesk-{business_hours["id"]}',
        timezone=RAILS_ZONES[business_hours['time_zone']],
        hours=hours,
        holiday_country='GB',
        holiday_subdivision='ENG',
    )


def freshdesk_policy(sla_policy: Mapping[str, Any]) -> SlaPolicy:
    """A Freshdesk SLA policy (targets in seconds per priority_N) as ours."""
    respond: dict[Priority, Target] = {}
    resolve: dict[Priority, Target] = {}
    for key, target in sla_policy['sla_target'].items():
        priority = freshdesk.PRIORITY_CODES[int(key.removeprefix('priority_'))]
        respond[priority] = Target(minutes=target['respond_within'] / 60, business_hours=target['business_hours'])
        resolve[priority] = Target(minutes=target['resolve_within'] / 60, business_hours=target['business_hours'])
    return SlaPolicy(policy_id='freshdesk', targets={Metric.FIRST_RESPONSE: respond, Metric.RESOLUTION: resolve})


def event(source: Source, ticket_id: str, name: str, at: datetime, **fields: Any) -> TicketEvent:
    return TicketEvent(source=source, external_id=ticket_id, event_id=f'{source.value}:{ticket_id}:{name}', occurred_at=at, **fields)


def counters(events: list[TicketEvent], calendar: BusinessCalendar, location_id: str) -> Mapping[str, int]:
    """The KPI counters of one ticket, with its location bound to the helpdesk's calendar."""
    location = Location(location_id=location_id, calendar_id=calendar.calendar_id)
    changed_at = max(e.occurred_at for e in events)
    return contribution(fold(events), checkpoints(events), None, calendar, location, [], KpiSettings(), changed_at).counters


def report(events: list[TicketEvent], policy: SlaPolicy, calendar: BusinessCalendar) -> SlaReport:
    return evaluate(fold(events), events, policy, calendar)


# --- Zendesk: Ticket Metrics -------------------------------------------------------------------------------------------


def zendesk_first_reply_at(sample: Mapping[str, Any]) -> datetime:
    """When the first public agent reply was made: the reply_time metric's first fulfil event."""
    fulfils = [e for e in sample['_metric_events'] if (e['metric'], e['instance_id'], e['type']) == ('reply_time', 1, 'fulfill')]
    assert len(fulfils) == 1
    return instant(fulfils[0]['time'])


def zendesk_events(sample: Mapping[str, Any]) -> list[TicketEvent]:
    """The ticket's life as our canonical events: created (New), first public reply (Open), solved."""
    metric = sample['ticket_metric']
    ticket_id = str(metric['ticket_id'])
    created, replied, solved = instant(metric['created_at']), zendesk_first_reply_at(sample), instant(metric['solved_at'])
    return [
        event(
            Source.ZENDESK,
            ticket_id,
            'created',
            created,
            created_at=created,
            status=Status.NEW,
            priority=Priority.NORMAL,
            channel=Channel.EMAIL,
            location_id='new-york',
        ),
        event(Source.ZENDESK, ticket_id, 'replied', replied, status=Status.OPEN, reply_count=1, first_response_at=replied),
        event(
            Source.ZENDESK,
            ticket_id,
            'solved',
            solved,
            status=Status.SOLVED,
            resolved_at=solved,
            reply_count=metric['replies'],
            reopen_count=metric['reopens'],
        ),
    ]


NEW_YORK = zendesk_calendar(load(ZENDESK_SAMPLES[0])['_schedule'])


def test_every_zendesk_sample_was_measured_on_the_same_new_york_schedule() -> None:
    # Given the schedule written into each Zendesk sample
    schedules = [load(name)['_schedule'] for name in ZENDESK_SAMPLES]

    # When they are compared, and the first is read as our calendar
    calendar = NEW_YORK

    # Then they are one schedule: New York time, Monday to Friday 09:00-17:00, nothing at the weekend
    assert len(ZENDESK_SAMPLES) >= 4
    assert all(schedule == schedules[0] for schedule in schedules)
    assert calendar.timezone == 'America/New_York'
    assert calendar.hours == {day: [('09:00', '17:00')] for day in ('mon', 'tue', 'wed', 'thu', 'fri')}


def test_the_zendesk_schedules_holidays_are_exactly_the_days_our_calendar_closes() -> None:
    # Given the holidays listed on the Zendesk schedule (the 2026 US federal holidays)
    listed = {date.fromisoformat(h['start_date']) for h in load(ZENDESK_SAMPLES[0])['_schedule']['holidays']}

    # When every day of the year is checked against our calendar
    days = [date(YEAR, 1, 1) + timedelta(days=n) for n in range(365)]
    closed = {day for day in days if NEW_YORK.is_closed_day(day)}

    # Then our calendar closes on exactly those days, and the holiday the samples cross is one in New York too
    assert closed == listed
    assert holidays.country_holidays('US', subdiv='NY', years=YEAR).get(date(YEAR, 5, 25)) == 'Memorial Day'


@pytest.mark.parametrize('name', ZENDESK_SAMPLES)
def test_first_reply_and_resolution_minutes_equal_zendesk_ticket_metrics(name: str) -> None:
    # Given a Zendesk ticket's metrics, hand-computed on its schedule, and the ticket's life as our events
    sample = load(name)
    metric = sample['ticket_metric']
    events = zendesk_events(sample)

    # When the ticket's KPI contribution is computed at a location bound to that schedule's calendar
    result = counters(events, NEW_YORK, 'new-york')

    # Then first reply and full resolution, in calendar and business minutes, are what Zendesk reports
    assert result['fr_n'] == 1
    assert result['fr_s'] == metric['reply_time_in_seconds']['calendar']
    assert result['fr_s'] / 60 == metric['reply_time_in_minutes']['calendar']
    assert result['fr_bs'] / 60 == metric['reply_time_in_minutes']['business']
    assert result['rs_n'] == 1
    assert result['rs_s'] / 60 == metric['full_resolution_time_in_minutes']['calendar']
    assert result['rs_bs'] / 60 == metric['full_resolution_time_in_minutes']['business']
    # (never reopened, so the first resolution is the full one)
    assert metric['first_resolution_time_in_minutes'] == metric['full_resolution_time_in_minutes']


def test_an_unreplied_zendesk_ticket_has_no_first_reply_or_resolution_counters() -> None:
    # Given Zendesk's metrics for a ticket with no agent reply and no solve: null durations
    metric = load('zendesk_metrics_unreplied.json')['ticket_metric']
    assert metric['replies'] == 0
    assert metric['reply_time_in_minutes'] == {'calendar': None, 'business': None}
    assert metric['full_resolution_time_in_minutes'] == {'calendar': None, 'business': None}
    created = instant(metric['created_at'])
    events = [event(Source.ZENDESK, str(metric['ticket_id']), 'created', created, created_at=created, status=Status.NEW, reply_count=0)]

    # When its KPI contribution is computed
    result = counters(events, NEW_YORK, 'new-york')

    # Then it counts as a ticket, with no first-reply and no resolution counters at all
    assert result['t'] == 1
    assert not {'fr_n', 'fr_s', 'fr_bs', 'rs_n', 'rs_s', 'rs_bs', 'rp_n'} & set(result)


# --- Freshdesk: tickets with stats, business-hours SLA policy ----------------------------------------------------------


def freshdesk_creation(ticket: Mapping[str, Any]) -> TicketEvent:
    created = instant(ticket['created_at'])
    return event(
        Source.FRESHDESK,
        str(ticket['id']),
        'created',
        created,
        created_at=created,
        status=Status.OPEN,
        priority=freshdesk.PRIORITY_CODES[ticket['priority']],
        location_id='london',
    )


def freshdesk_events(ticket: Mapping[str, Any]) -> list[TicketEvent]:
    """Creation, then the API ticket object (with stats) as our Freshdesk adapter reads it."""
    request = WebhookRequest(body=json.dumps(ticket).encode(), headers={})
    parsed = freshdesk.adapter.parse(request, instant(ticket['updated_at'])).events
    return [freshdesk_creation(ticket), *parsed]


@pytest.mark.parametrize('name', FRESHDESK_SAMPLES)
def test_running_sla_clocks_are_due_at_freshdesks_fr_due_by_and_due_by(name: str) -> None:
    # Given a Freshdesk ticket just created, and our policy and calendar mirroring the Freshdesk account's
    sample = load(name)
    ticket = sample['ticket']
    calendar, policy = freshdesk_calendar(sample['_business_hours']), freshdesk_policy(sample['_sla_policy'])

    # When its SLA clocks are evaluated before any reply or resolution
    clocks = report([freshdesk_creation(ticket)], policy, calendar).clocks

    # Then both run, due exactly when Freshdesk says
    assert clocks[Metric.FIRST_RESPONSE].state is ClockState.RUNNING
    assert clocks[Metric.FIRST_RESPONSE].due_at == instant(ticket['fr_due_by'])
    assert clocks[Metric.RESOLUTION].state is ClockState.RUNNING
    assert clocks[Metric.RESOLUTION].due_at == instant(ticket['due_by'])


@pytest.mark.parametrize('name', FRESHDESK_SAMPLES)
def test_completed_sla_outcomes_match_freshdesks_escalation_flags(name: str) -> None:
    # Given a resolved Freshdesk ticket with stats
    sample = load(name)
    ticket = sample['ticket']
    expected = sample['_expected']
    calendar, policy = freshdesk_calendar(sample['_business_hours']), freshdesk_policy(sample['_sla_policy'])

    # When its SLA clocks are evaluated over its whole life
    clocks = report(freshdesk_events(ticket), policy, calendar).clocks
    first, resolution = clocks[Metric.FIRST_RESPONSE], clocks[Metric.RESOLUTION]

    # Then met/breached is what fr_escalated / is_escalated say, a breach falls at the Freshdesk due time,
    # and the business time consumed is the hand-computed one
    assert first.state is (ClockState.BREACHED if ticket['fr_escalated'] else ClockState.MET)
    assert resolution.state is (ClockState.BREACHED if ticket['is_escalated'] else ClockState.MET)
    assert first.completed_at == instant(ticket['stats']['first_responded_at'])
    assert resolution.completed_at == instant(ticket['stats']['resolved_at'])
    assert first.breached_at == (instant(ticket['fr_due_by']) if ticket['fr_escalated'] else None)
    assert resolution.breached_at == (instant(ticket['due_by']) if ticket['is_escalated'] else None)
    assert first.elapsed_s / 60 == expected['first_response_minutes']['business']
    assert resolution.elapsed_s / 60 == expected['resolution_minutes']['business']


@pytest.mark.parametrize('name', FRESHDESK_SAMPLES)
def test_first_response_and_resolution_minutes_of_a_freshdesk_ticket(name: str) -> None:
    # Given a resolved Freshdesk ticket with stats
    sample = load(name)
    expected = sample['_expected']
    calendar = freshdesk_calendar(sample['_business_hours'])

    # When its KPI contribution is computed at a location bound to the account's business hours
    result = counters(freshdesk_events(sample['ticket']), calendar, 'london')

    # Then first response and resolution, in calendar and business minutes, are the hand-computed ones
    assert result['fr_s'] / 60 == expected['first_response_minutes']['calendar']
    assert result['fr_bs'] / 60 == expected['first_response_minutes']['business']
    assert result['rs_s'] / 60 == expected['resolution_minutes']['calendar']
    assert result['rs_bs'] / 60 == expected['resolution_minutes']['business']


def test_the_freshdesk_business_hours_holidays_are_exactly_the_days_our_calendar_closes() -> None:
    # Given the England bank holidays listed with the Freshdesk samples
    sample = load(FRESHDESK_SAMPLES[0])
    listed = {date.fromisoformat(h['date']) for h in sample['_holidays']}
    calendar = freshdesk_calendar(sample['_business_hours'])

    # When every day of the year is checked against our calendar
    closed = {day for day in (date(YEAR, 1, 1) + timedelta(days=n) for n in range(365)) if calendar.is_closed_day(day)}

    # Then our calendar closes on exactly those days, and every sample shares the same hours, holidays and policy
    assert closed == listed
    for name in FRESHDESK_SAMPLES:
        other = load(name)
        assert (other['_business_hours'], other['_holidays'], other['_sla_policy']) == (
            sample['_business_hours'],
            sample['_holidays'],
            sample['_sla_policy'],
        )


def test_verbatim_freshdesk_ticket_due_times_follow_a_calendar_hours_policy() -> None:
    # Given the verbatim Freshdesk API ticket (Low priority): fr_due_by is created + 1 h, due_by created + 19 h,
    # i.e. a calendar-hours policy. (Its stats come from another ticket, years later, so only the due times and
    # is_escalated as of updated_at can be checked; fr_escalated cannot.)
    ticket = load('freshdesk_ticket_with_stats.json', FIXTURES / 'wire_samples')
    policy = SlaPolicy(
        policy_id='freshdesk-calendar',
        targets={
            Metric.FIRST_RESPONSE: {Priority.LOW: Target(minutes=60, business_hours=False)},
            Metric.RESOLUTION: {Priority.LOW: Target(minutes=19 * 60, business_hours=False)},
        },
    )
    creation = freshdesk_creation(ticket)
    assert creation.priority is Priority.LOW

    # When its clocks are evaluated right after creation (the calendar is irrelevant to calendar-hours targets)
    clocks = report([creation], policy, NEW_YORK).clocks

    # Then they are due exactly at fr_due_by and due_by, and the resolution deadline had passed by updated_at,
    # which is why Freshdesk shows the still-open ticket as escalated
    assert clocks[Metric.FIRST_RESPONSE].due_at == instant(ticket['fr_due_by'])
    resolution_due = clocks[Metric.RESOLUTION].due_at
    assert resolution_due is not None
    assert resolution_due == instant(ticket['due_by'])
    assert ticket['is_escalated'] is (resolution_due < instant(ticket['updated_at']))
