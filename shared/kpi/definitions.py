"""Where each service KPI is defined: what one ticket or job card contributes to it.

A ticket's contribution is a set of integer counters (sums and counts, never ratios) attached to the
local day it was created at its location and to every scope it belongs to (its assignees, their
teams, its location, region and channel). Ratios and averages are computed when a month is read
(`shared.kpi.report`), from summed counters, so they are exact and come with their counts.

The contribution is re-derived from the whole ticket after every event; the aggregator adds the
difference from the previous one. A late survey or a reopen after the month ended therefore changes
the month the ticket belongs to, and is counted there as a late change.

Counter names are short: they are stored on every ticket and every aggregate item.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared.directory.people import Employee
from shared.events import Kind
from shared.kpi.settings import KpiSettings
from shared.sla.calendar import BusinessCalendar
from shared.sla.clock import WALL_CLOCK, Checkpoint, ClockState, SlaReport, reply_cycles
from shared.sla.config import Location
from shared.sla.policy import Metric
from shared.tickets.state import TicketState

# Counters: name -> what it counts (the report and the README table are built from this list).
COUNTERS: dict[str, str] = {
    't': 'tickets created',
    'fr_n': 'tickets with a first reply',
    'fr_s': 'first-reply time, calendar seconds (sum)',
    'fr_bs': 'first-reply time, business seconds (sum)',
    'rp_n': 'agent replies measured (first and every next reply)',
    'rp_s': 'reply waits, calendar seconds (sum)',
    'rp_bs': 'reply waits, business seconds (sum)',
    'rs_n': 'tickets resolved',
    'rs_s': 'resolution time (creation to solved), calendar seconds (sum)',
    'rs_bs': 'resolution time, business seconds (sum)',
    'rk': 'tickets whose source reports reply counts or agent touches (one-touch and FCR are judged over these)',
    'ot': 'resolved with exactly one agent reply (one-touch)',
    'fcr': 'resolved in one interaction and not reopened within the window',
    'ab': 'abandoned (the source tagged it)',
    'ss': 'resolved by self-service (the source tagged it)',
    'cs_n': 'CSAT responses',
    'cs_g': 'CSAT 4 or 5',
    'cs_sum': 'CSAT scores (sum)',
    'np_n': 'NPS responses',
    'np_p': 'NPS promoters (9-10)',
    'np_d': 'NPS detractors (0-6)',
    'j': 'job cards opened',
    'ta_n': 'job cards delivered',
    'ta_s': 'turnaround (open to delivered), calendar seconds (sum)',
    'ta_bs': 'turnaround, business seconds (sum)',
    'pd_n': 'delivered job cards with a promised time',
    'pd_ok': 'delivered by the promised time',
    'ftf_n': 'delivered job cards judged for first-time fix',
    'ftf_ok': 'no repeat visit within the window',
    'rc': 'repeat complaints (visits that repeat an earlier job card)',
    'zd': 'zero-defect job cards (on time, not reopened, not repeated)',
    'up_n': 'upsell lines offered',
    'up_a': 'upsell lines accepted',
    'up_v': 'accepted upsell revenue, cents (sum)',
    'tr_n': 'training enrolments (enrolled or assigned)',
    'tr_c': 'trainings completed',
    'qa_n': 'quality reviews',
    'qa_sum': "quality review scores, percent of the scorecard's maximum (sum)",
    'sf_n': 'safety compliance checks',
    'sf_ok': 'safety compliance checks passed',
    'hz': 'hazards reported',
}

# SLA counters: '<metric>_met' / '<metric>_br' per target (next_response counts each customer turn).
SLA_PREFIX = {Metric.FIRST_RESPONSE: 'sfr', Metric.NEXT_RESPONSE: 'snr', Metric.RESOLUTION: 'srs', Metric.TURNAROUND: 'sta'}
for _metric, _prefix in SLA_PREFIX.items():
    COUNTERS[f'{_prefix}_met'] = f'{_metric.value} targets met'
    COUNTERS[f'{_prefix}_br'] = f'{_metric.value} targets breached'
UPSELL_CATEGORY_PREFIX = 'uv_'  # uv_<category>: accepted upsell revenue in cents per product category


@dataclass(frozen=True)
class Contribution:
    """What one ticket adds to the KPIs of its scopes on its day."""

    day: str  # local date (YYYY-MM-DD) of creation at the ticket's location
    scopes: tuple[str, ...]
    counters: Mapping[str, int] = field(default_factory=dict)
    late: bool = False  # the change that produced it happened after the ticket's month had ended

    def to_json(self) -> str:
        """Compact: it is stored on every ticket item, where each byte counts towards write units."""
        data: dict[str, object] = {'d': self.day, 's': [_pack_scope(scope) for scope in self.scopes], 'c': dict(self.counters)}
        if self.late:
            data['l'] = 1
        return json.dumps(data, separators=(',', ':'))

    @classmethod
    def from_json(cls, text: str | None) -> Contribution | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(day=data['d'], scopes=tuple(_unpack_scope(scope) for scope in data['s']), counters=data['c'], late=bool(data.get('l')))


_SCOPE_CODES = {'location#': 'L:', 'employee#': 'E:', 'team#': 'T:', 'region#': 'R:'}


def _pack_scope(scope: str) -> str:
    for prefix, code in _SCOPE_CODES.items():
        if scope.startswith(prefix):
            return code + scope.removeprefix(prefix)
    return scope


def _unpack_scope(packed: str) -> str:
    for prefix, code in _SCOPE_CODES.items():
        if packed.startswith(code):
            return prefix + packed.removeprefix(code)
    return packed


def scopes_for(state: TicketState, location: Location, employees: Sequence[Employee]) -> tuple[str, ...]:
    """The aggregates a ticket counts in: 'pk' for a scope's own figures, 'pk|channel' for its figures
    on one channel (kept for the organisation and each location, where service levels are judged; trainings,
    quality reviews and safety reports have no channel and count in no channel split).

    No region scope: a region's month is the sum of its locations' day items, read at once
    (`shared.kpi.report.read_month`), so a change writes one aggregate item fewer (tests/bench/cost_model.py)."""
    channel = state.channel.value if state.channel else 'other'
    at_location = f'location#{location.location_id}'
    # no channel (a person's training, review or safety report): no channel split
    scopes = ['all', at_location] if state.kind.is_about_a_person else ['all', f'all|{channel}', at_location, f'{at_location}|{channel}']
    for employee in employees:
        scopes.append(f'employee#{_safe(employee.employee_id)}')
        if employee.team_id:
            scopes.append(f'team#{_safe(employee.team_id)}')
    return tuple(dict.fromkeys(scopes))


def _safe(identifier: str) -> str:
    """Directory ids go into scope keys, where '|' separates the channel."""
    return identifier.replace('|', '/')


def _add(counters: dict[str, int], name: str, value: float | int = 1) -> None:
    if value:
        counters[name] = counters.get(name, 0) + round(value)


def _reopened_within(points: Sequence[Checkpoint], window: timedelta) -> bool:
    solved_at: datetime | None = None
    for point in points:
        if point.status.is_resolved:
            solved_at = solved_at or point.at
        elif solved_at is not None:
            if point.at - solved_at <= window:
                return True
            solved_at = None
    return False


def _reopens_seen(points: Sequence[Checkpoint]) -> int:
    return sum(1 for before, after in zip(points, points[1:], strict=False) if before.status.is_resolved and not after.status.is_resolved)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def contribution(
    state: TicketState,
    points: Sequence[Checkpoint],
    sla: SlaReport | None,
    calendar: BusinessCalendar,
    location: Location,
    employees: Sequence[Employee],
    settings: KpiSettings,
    changed_at: datetime,
) -> Contribution:
    """The counters of one ticket or job card as of its latest event (`changed_at` is that event's time)."""
    created = state.created_at or (points[0].at if points else changed_at)
    local_created = created.astimezone(calendar.zone)
    counters: dict[str, int] = {}
    tags = set(state.tags)

    if state.kind is Kind.TICKET:
        _add(counters, 't')
        # One-touch and FCR are judged only where the sender says how many replies there were: a ticket
        # from a source that reports none is not a failure, it is not known.
        _add(counters, 'rk', state.replies_reported)
        if state.first_response_at is not None:
            _add(counters, 'fr_n')
            _add(counters, 'fr_s', WALL_CLOCK.elapsed(created, state.first_response_at))
            _add(counters, 'fr_bs', calendar.elapsed(created, state.first_response_at))
        for start, end in reply_cycles(points, created, state.first_response_at):
            if end is not None:
                _add(counters, 'rp_n')
                _add(counters, 'rp_s', WALL_CLOCK.elapsed(start, end))
                _add(counters, 'rp_bs', calendar.elapsed(start, end))
        if state.is_resolved and state.resolved_at is not None:
            _add(counters, 'rs_n')
            _add(counters, 'rs_s', WALL_CLOCK.elapsed(created, state.resolved_at))
            _add(counters, 'rs_bs', calendar.elapsed(created, state.resolved_at))
            _add(counters, 'ot', state.replies_reported and state.reply_count == 1)
            # One interaction: one agent touch (or else one reply) as the sender reports it.
            one_interaction = state.replies_reported and (state.agent_touches or state.reply_count) == 1
            window = timedelta(days=settings.fcr_reopen_window_days)
            # A reopen the sender counted but the timeline does not show has no known time: it counts.
            unplaced_reopens = state.reopen_count > _reopens_seen(points)
            _add(counters, 'fcr', one_interaction and not unplaced_reopens and not _reopened_within(points, window))
            _add(counters, 'ss', bool(tags & set(settings.self_service_tags)))
        _add(counters, 'ab', bool(tags & set(settings.abandoned_tags)))
    elif state.kind is Kind.JOB_CARD:
        _add(counters, 'j')
        _add(counters, 'rc', state.repeat_of is not None)
        if state.is_resolved and state.resolved_at is not None:
            delivered = state.resolved_at
            _add(counters, 'ta_n')
            _add(counters, 'ta_s', WALL_CLOCK.elapsed(created, delivered))
            _add(counters, 'ta_bs', calendar.elapsed(created, delivered))
            on_time = state.promised_at is None or delivered <= state.promised_at
            if state.promised_at is not None:
                _add(counters, 'pd_n')
                _add(counters, 'pd_ok', on_time)
            window = timedelta(days=settings.repeat_window_days)
            repeated = any(at - delivered <= window for _, at in state.repeat_visits)
            _add(counters, 'ftf_n')
            _add(counters, 'ftf_ok', not repeated)
            _add(counters, 'zd', on_time and not repeated and state.reopen_count == 0)
    elif state.kind is Kind.TRAINING and state.training is not None:
        # An enrolment counts on the day it began; its completion, whenever it comes, completes that enrolment.
        _add(counters, 'tr_n')
        _add(counters, 'tr_c', state.training.status == 'completed')
    elif state.kind is Kind.QUALITY_REVIEW and state.quality_review is not None:
        _add(counters, 'qa_n')
        _add(counters, 'qa_sum', round(state.quality_review.percent))  # whole percent points
    elif state.kind is Kind.SAFETY_REPORT and state.safety_report is not None:
        report = state.safety_report
        if report.report_type == 'compliance_check':
            _add(counters, 'sf_n')
            _add(counters, 'sf_ok', report.outcome == 'passed')
        else:
            _add(counters, 'hz')

    if state.survey is not None:
        survey = state.survey.survey
        if survey.csat is not None:
            _add(counters, 'cs_n')
            _add(counters, 'cs_g', survey.csat >= 4)
            _add(counters, 'cs_sum', survey.csat)
        if survey.nps is not None:
            _add(counters, 'np_n')
            _add(counters, 'np_p', survey.nps >= 9)
            _add(counters, 'np_d', survey.nps <= 6)
    for line in state.upsell_lines:
        _add(counters, 'up_n')
        if line.accepted:
            _add(counters, 'up_a')
            _add(counters, 'up_v', _cents(line.amount))
            _add(counters, UPSELL_CATEGORY_PREFIX + category_key(line.category), _cents(line.amount))
    if sla is not None:
        for metric, clock in sla.clocks.items():
            prefix = SLA_PREFIX[metric]
            if metric is Metric.NEXT_RESPONSE:
                _add(counters, f'{prefix}_met', clock.cycles_met)
                _add(counters, f'{prefix}_br', clock.cycles_breached)
            elif clock.state is ClockState.MET:
                _add(counters, f'{prefix}_met')
            elif clock.state is ClockState.BREACHED:
                _add(counters, f'{prefix}_br')

    day = local_created.date()
    return Contribution(
        day=day.isoformat(),
        scopes=scopes_for(state, location, employees),
        counters=counters,
        late=changed_at.astimezone(calendar.zone).date() > month_end(day),
    )


def category_key(category: str) -> str:
    cleaned = ''.join(ch if ch.isalnum() else '_' for ch in category.strip().lower())
    return cleaned[:40] or 'other'


def month_end(day: date) -> date:
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next - timedelta(days=1)
