"""The read path: one scope's month as KPIs with their counts, significance and service levels.

Formulas are the brief's (section 3). Every ratio carries its numerator and denominator; a ratio
over fewer items than the configured minimum sample is reported with `significant: false` (and no
service level is judged from it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from shared.events import Channel
from shared.kpi.definitions import SLA_PREFIX, UPSELL_CATEGORY_PREFIX
from shared.kpi.settings import KpiSettings
from shared.kpi.store import KpiItem, KpiStore

LEVEL_NAMES = {1: 'unacceptable', 2: 'below average', 3: 'average', 4: 'above average', 5: 'stellar'}


@dataclass(frozen=True)
class KpiValue:
    name: str
    value: float | None
    numerator: float
    denominator: int
    unit: str
    significant: bool

    def as_dict(self) -> dict[str, object]:
        return {
            'value': None if self.value is None else round(self.value, 2),
            'numerator': round(self.numerator, 2),
            'count': self.denominator,
            'unit': self.unit,
            'significant': self.significant,
        }


@dataclass(frozen=True)
class ServiceLevel:
    channel: str
    level: int | None
    name: str | None
    response_level: int | None
    quality_level: int | None


@dataclass
class MonthReport:
    scope: str
    month: str
    counters: dict[str, int]
    kpis: dict[str, KpiValue]
    channels: dict[str, dict[str, KpiValue]] = field(default_factory=dict)
    service_levels: dict[str, ServiceLevel] = field(default_factory=dict)
    days: dict[str, dict[str, int]] = field(default_factory=dict)  # per day (organisation, locations) or the month
    upsell_revenue_by_category: dict[str, float] = field(default_factory=dict)
    late_changes: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            'scope': self.scope,
            'month': self.month,
            'kpis': {name: value.as_dict() for name, value in self.kpis.items()},
            'channels': {ch: {name: value.as_dict() for name, value in kpis.items()} for ch, kpis in self.channels.items()},
            'service_levels': {ch: level.__dict__ for ch, level in self.service_levels.items()},
            'upsell_revenue_by_category': self.upsell_revenue_by_category,
            'late_changes': self.late_changes,
            'counters': self.counters,
        }


def _sum(items: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for counters in items:
        for name, value in counters.items():
            out[name] = out.get(name, 0) + value
    return out


def compute_kpis(counters: Mapping[str, int], settings: KpiSettings) -> dict[str, KpiValue]:
    c = counters.get
    kpis: dict[str, KpiValue] = {}

    def ratio(name: str, numerator: float, denominator: int, unit: str = '%', scale: float = 100.0) -> None:
        value = numerator / denominator * scale if denominator else None
        base = name.removesuffix('_business').removesuffix('_average')  # csat_average is judged like csat
        kpis[name] = KpiValue(name, value, numerator, denominator, unit, denominator >= settings.minimum(base))

    ratio('first_response_time', c('fr_s', 0), c('fr_n', 0), 'min', 1 / 60)
    ratio('first_response_time_business', c('fr_bs', 0), c('fr_n', 0), 'min', 1 / 60)
    ratio('average_response_time', c('rp_s', 0), c('t', 0), 'min', 1 / 60)  # brief: sum of response times / tickets
    ratio('average_reply_wait', c('rp_s', 0), c('rp_n', 0), 'min', 1 / 60)
    ratio('average_resolution_time', c('rs_s', 0), c('rs_n', 0), 'h', 1 / 3600)
    ratio('average_resolution_time_business', c('rs_bs', 0), c('rs_n', 0), 'h', 1 / 3600)
    # The brief divides by all tickets; only tickets whose replies the source reports can be judged.
    ratio('one_touch_resolution_rate', c('ot', 0), c('rk', 0))
    ratio('first_contact_resolution', c('fcr', 0), c('rk', 0))
    ratio('abandonment_rate', c('ab', 0), c('t', 0))
    ratio('self_service_rate', c('ss', 0), c('t', 0))
    ratio('csat', c('cs_g', 0), c('cs_n', 0))
    ratio('csat_average', c('cs_sum', 0), c('cs_n', 0), 'score', 1.0)
    nps_n = c('np_n', 0)
    ratio('nps', c('np_p', 0) - c('np_d', 0), nps_n, 'score')
    for metric, prefix in SLA_PREFIX.items():
        met, breached = c(f'{prefix}_met', 0), c(f'{prefix}_br', 0)
        ratio(f'sla_{metric.value}', met, met + breached)
    met_all = sum(c(f'{prefix}_met', 0) for prefix in SLA_PREFIX.values())
    breached_all = sum(c(f'{prefix}_br', 0) for prefix in SLA_PREFIX.values())
    ratio('sla_compliance', met_all, met_all + breached_all)
    ratio('turnaround_time', c('ta_s', 0), c('ta_n', 0), 'h', 1 / 3600)
    ratio('turnaround_time_business', c('ta_bs', 0), c('ta_n', 0), 'h', 1 / 3600)
    ratio('on_time_delivery', c('pd_ok', 0), c('pd_n', 0))
    ratio('first_time_fix_rate', c('ftf_ok', 0), c('ftf_n', 0))
    ratio('repeat_complaint_rate', c('rc', 0), c('j', 0))
    ratio('zero_defect_rate', c('zd', 0), c('ta_n', 0))
    ratio('upsell_conversion', c('up_a', 0), c('up_n', 0))
    # People figures (LMS, QA scorecards, manager-entered safety reports).
    ratio('training_completion_rate', c('tr_c', 0), c('tr_n', 0))
    ratio('average_quality_score', c('qa_sum', 0), c('qa_n', 0), '%', 1.0)
    ratio('safety_pass_rate', c('sf_ok', 0), c('sf_n', 0))
    kpis['hazards_reported'] = KpiValue('hazards_reported', c('hz', 0), c('hz', 0), c('hz', 0), 'count', True)
    kpis['upsell_revenue'] = KpiValue('upsell_revenue', c('up_v', 0) / 100, c('up_v', 0) / 100, c('up_a', 0), 'currency', True)
    kpis['tickets'] = KpiValue('tickets', c('t', 0), c('t', 0), c('t', 0), 'count', True)
    kpis['job_cards'] = KpiValue('job_cards', c('j', 0), c('j', 0), c('j', 0), 'count', True)
    return kpis


def service_level(channel: str, kpis: Mapping[str, KpiValue], settings: KpiSettings) -> ServiceLevel:
    """The brief's five levels, judged per channel on response time and quality (CSAT); the lower
    of the two judged dimensions. A dimension without a significant sample is not judged."""
    known = {member.value for member in Channel}
    thresholds = settings.response_levels.get(Channel(channel) if channel in known else Channel.OTHER)
    frt = kpis['first_response_time']
    response = thresholds.level(frt.value) if thresholds and frt.significant and frt.value is not None else None
    csat = kpis['csat_average']
    quality = settings.quality_levels.level(csat.value) if csat.significant and csat.value is not None else None
    judged = [level for level in (response, quality) if level is not None]
    level = min(judged) if judged else None
    return ServiceLevel(channel, level, LEVEL_NAMES.get(level) if level else None, response, quality)


def build_report(scope: str, month: str, items: Iterable[KpiItem], settings: KpiSettings) -> MonthReport:
    items = list(items)
    whole = [item for item in items if item.channel is None]
    counters = _sum(item.counters for item in whole)
    report = MonthReport(scope=scope, month=month, counters=counters, kpis=compute_kpis(counters, settings))
    report.days = {item.day: dict(item.counters) for item in sorted(whole, key=lambda item: item.sk)}
    report.late_changes = sum(item.late for item in whole)
    by_channel: dict[str, list[Mapping[str, int]]] = {}
    for item in items:
        if item.channel is not None:
            by_channel.setdefault(item.channel, []).append(item.counters)
    for channel, parts in sorted(by_channel.items()):
        kpis = compute_kpis(_sum(parts), settings)
        report.channels[channel] = kpis
        report.service_levels[channel] = service_level(channel, kpis, settings)
    report.upsell_revenue_by_category = {
        name.removeprefix(UPSELL_CATEGORY_PREFIX): value / 100
        for name, value in sorted(counters.items())
        if name.startswith(UPSELL_CATEGORY_PREFIX)
    }
    return report


def read_month(
    store: KpiStore, scope: str, month: str, settings: KpiSettings, region_locations: Callable[[str], Iterable[str]] | None = None
) -> MonthReport:
    """One scope's month (scope: 'location#<id>', 'employee#<id>', 'team#<id>', 'region#<id>' or
    'all'; month: 'YYYY-MM'), read with one Query. A region's month is the sum of its locations' day items, read
    with ceil(locations x days / 100) BatchGetItem requests; `region_locations(region)` names its locations (by
    default the service configuration's, which is where the aggregator took each ticket's region from)."""
    if scope.startswith('region#'):
        region = scope.removeprefix('region#')
        locations = (region_locations or configured_locations)(region)
        return build_report(scope, month, region_days(scope, store.days([f'location#{loc}' for loc in locations], month)), settings)
    return build_report(scope, month, store.month(scope, month), settings)


def region_days(scope: str, items: Iterable[KpiItem]) -> list[KpiItem]:
    """Locations' day items summed per day into the region's day items (counters and late changes)."""
    days: dict[str, list[KpiItem]] = {}
    for item in items:
        if item.channel is None:
            days.setdefault(item.day, []).append(item)
    return [
        KpiItem(scope, day, _sum(item.counters for item in parts), sum(item.late for item in parts)) for day, parts in sorted(days.items())
    ]


def configured_locations(region: str) -> list[str]:
    """The locations the service configuration puts in `region` (as `shared.sla.config.ServiceConfig.location` does
    for each ticket the aggregator counts)."""
    from shared.sla.config import load_config

    return [location.location_id for location in load_config().locations if location.region == region]
