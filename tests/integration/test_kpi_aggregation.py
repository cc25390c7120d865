"""KPIs end to end on DynamoDB (moto): the processor writes each ticket's contribution, the tickets
table's stream feeds the KPI aggregator, and a scope's month is read back with one Query."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Assignee, AssigneeRole, Channel, Kind, Priority, QueueMessage, Source, Status, TicketEvent
from shared.kpi.aggregate import TicketChange
from shared.kpi.definitions import Contribution
from shared.kpi.report import MonthReport, build_report, read_month
from shared.kpi.store import KpiStore
from shared.ledger.store import LedgerStore
from shared.sla.config import ServiceConfig
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.counting import count_requests
from tests.support.factories import DIRECTORY_CSV, survey_event
from tests.support.local_aws import LocalAws, local_aws

NOW = datetime(2026, 11, 1, tzinfo=UTC)
WEEKDAYS = ('mon', 'tue', 'wed', 'thu', 'fri')
CONFIG = ServiceConfig.model_validate(
    {
        'calendars': [
            {'calendar_id': 'nyc', 'timezone': 'America/New_York', 'hours': {d: [('09:00', '17:00')] for d in WEEKDAYS}},
            {'calendar_id': 'blr', 'timezone': 'Asia/Kolkata', 'hours': {d: [('09:00', '18:00')] for d in (*WEEKDAYS, 'sat')}},
            {'calendar_id': '24x7', 'timezone': 'UTC', 'hours': {d: [('00:00', '24:00')] for d in (*WEEKDAYS, 'sat', 'sun')}},
        ],
        'locations': [
            {'location_id': 'US-NYC', 'region': 'US-East', 'calendar_id': 'nyc'},
            {'location_id': 'IN-BLR-01', 'region': 'IN-South', 'calendar_id': 'blr'},
        ],
        'default_calendar_id': '24x7',
        'kpi': {'min_sample': 2},
    }
)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall time in October 2026 (EDT, UTC-4) as UTC."""
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC) + timedelta(hours=4)


class Queue:
    def __init__(self) -> None:
        self.sent: list[QueueMessage] = []

    def send(self, messages: Any) -> None:
        self.sent.extend(messages)


@dataclass
class World:
    aws: LocalAws
    processor: TicketProcessor
    queue: Queue
    kpis: KpiStore

    def apply(self, *events: TicketEvent) -> None:
        for event in events:
            self.processor.apply(event, NOW)
        while self.queue.sent:  # repeat-visit events, as the queue would deliver them
            message = self.queue.sent.pop(0)
            assert message.event is not None
            self.processor.apply(message.event, NOW)
        self.aws.aggregate_kpis()

    def month(self, scope: str, month: str = '2026-10') -> MonthReport:
        return read_month(self.kpis, scope, month, CONFIG.kpi, configured)


def configured(region: str) -> list[str]:
    """A region's locations as CONFIG places them (where the processor took each ticket's region from)."""
    return [location.location_id for location in CONFIG.locations if location.region == region]


@pytest.fixture()
def world() -> Iterator[World]:
    with local_aws() as aws:
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW)
        queue = Queue()
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore(), config=lambda: CONFIG, queue=queue)
        yield World(aws, processor, queue, KpiStore())


def ticket(n: str, step: int, at: datetime, *, created: datetime, agent: str = 'agent1@example.com', **fields: Any) -> TicketEvent:
    fields.setdefault('status', Status.OPEN)
    return TicketEvent(
        source=Source.ZENDESK,
        external_id=n,
        event_id=f'zd:{n}:{step}',
        occurred_at=at,
        created_at=created,
        location_id='US-NYC',
        channel=Channel.EMAIL,
        priority=Priority.NORMAL,
        assignees=(Assignee(agent_key=agent),),
        **fields,
    )


def solved_ticket(n: str, created: datetime, replied: datetime, solved: datetime, agent: str = 'agent1@example.com') -> list[TicketEvent]:
    return [
        ticket(n, 0, created, created=created, agent=agent),
        ticket(n, 1, replied, created=created, agent=agent, reply_count=1, first_response_at=replied),
        ticket(n, 2, solved, created=created, agent=agent, status=Status.SOLVED, reply_count=1, resolved_at=solved),
    ]


def test_a_locations_month_shows_exact_kpis_with_counts_in_calendar_and_business_time(world: World) -> None:
    # Given two tickets at US-NYC: one created Friday 16:30 and answered Monday 09:30 (30 business minutes,
    # 65 calendar hours), one answered within the hour on Monday; both solved; ratings 5 and 2
    world.apply(*solved_ticket('1', ny(9, 16, 30), ny(12, 9, 30), ny(12, 11)))
    world.apply(*solved_ticket('2', ny(12, 10), ny(12, 10, 30), ny(12, 12)))
    world.apply(survey_event('1', 5, at=ny(13, 9), response='r1'), survey_event('2', 2, at=ny(13, 9), response='r2'))

    # When the location's month is read
    report = world.month('location#US-NYC')

    # Then counts, averages and ratios are exact, in calendar and business minutes
    kpis = report.kpis
    assert kpis['tickets'].value == 2
    assert kpis['first_response_time'].denominator == 2
    assert kpis['first_response_time'].value == pytest.approx(((65 * 60) + 30) / 2)
    assert kpis['first_response_time_business'].value == pytest.approx((60 + 30) / 2)  # Fri 16:30-17:00 + Mon 09:00-09:30
    assert (kpis['csat'].value, kpis['csat'].numerator, kpis['csat'].denominator) == (50.0, 1, 2)
    assert kpis['one_touch_resolution_rate'].value == 100.0
    # and the default 'standard' policy (4 business hours at normal priority) was met by both first replies
    assert (kpis['sla_first_response'].numerator, kpis['sla_first_response'].denominator) == (2, 2)
    # and the figures are on the ticket's creation day in New York, by channel too
    assert set(report.days) == {'2026-10-09', '2026-10-12'}
    assert report.channels['email']['tickets'].value == 2


def test_every_scope_of_a_ticket_counts_it_and_a_reassignment_moves_it(world: World) -> None:
    # Given a ticket worked by E1, then reassigned to E2 before it is solved
    created = ny(14, 10)
    world.apply(ticket('3', 0, created, created=created))
    world.apply(ticket('3', 1, ny(14, 11), created=created, agent='agent2@example.com', reply_count=1, first_response_at=ny(14, 11)))

    # When each scope's month is read
    counts = {
        scope: world.month(scope).kpis['tickets'].value
        for scope in ('all', 'location#US-NYC', 'region#US-East', 'team#M1', 'employee#E1', 'employee#E2')
    }

    # Then the ticket counts once in every scope it belongs to, and only for its current assignee
    assert counts == {'all': 1, 'location#US-NYC': 1, 'region#US-East': 1, 'team#M1': 1, 'employee#E1': 0, 'employee#E2': 1}


def test_a_late_survey_updates_the_month_the_ticket_belongs_to_and_shows_as_a_late_change(world: World) -> None:
    # Given an October ticket, solved in October
    world.apply(*solved_ticket('4', ny(20, 10), ny(20, 11), ny(20, 12)))
    assert world.month('location#US-NYC').kpis['csat'].denominator == 0

    # When its survey arrives two weeks later, in November
    world.apply(survey_event('4', 4, at=ny(20, 12) + timedelta(days=14), response='r4'))

    # Then October's CSAT counts it, November has nothing, and October shows one late change
    october = world.month('location#US-NYC', '2026-10')
    assert october.kpis['csat'].denominator == 1
    assert october.late_changes == 1
    assert world.month('location#US-NYC', '2026-11').kpis['tickets'].value == 0


def test_a_repeat_visit_undoes_the_earlier_cards_first_time_fix_and_counts_a_repeat_complaint(world: World) -> None:
    # Given a job card delivered at Bengaluru, and a second visit for the same vehicle 10 days later that the DMS
    # marks as a repeat of the first
    def card(n: str, step: int, at: datetime, status: Status, **fields: Any) -> TicketEvent:
        return TicketEvent(
            source=Source.DMS,
            kind=Kind.JOB_CARD,
            external_id=n,
            event_id=f'dms:{n}:{step}',
            occurred_at=at,
            created_at=fields.pop('created'),
            status=status,
            location_id='IN-BLR-01',
            channel=Channel.WALK_IN,
            assignees=(Assignee(role=AssigneeRole.ADVISOR, agent_key='adv-1'), Assignee(role=AssigneeRole.TECHNICIAN, agent_key='tech-1')),
            **fields,
        )

    first = datetime(2026, 10, 5, 4, 0, tzinfo=UTC)
    world.apply(
        card('JC-1', 0, first, Status.OPEN, created=first), card('JC-1', 1, first + timedelta(hours=6), Status.SOLVED, created=first)
    )
    before = world.month('employee#E4').kpis['first_time_fix_rate']
    again = first + timedelta(days=10)

    # When the repeat visit opens
    world.apply(card('JC-2', 0, again, Status.OPEN, created=again, tags=('repeat_of:JC-1',)))

    # Then the first card is no longer a first-time fix (for the technician too), and the repeat is counted
    after = world.month('employee#E4').kpis
    assert (before.numerator, before.denominator) == (1, 1)
    assert (after['first_time_fix_rate'].numerator, after['first_time_fix_rate'].denominator) == (0, 1)
    assert after['repeat_complaint_rate'].numerator == 1
    assert after['job_cards'].value == 2


def test_a_retried_batch_is_counted_once_even_when_the_retry_is_longer(world: World) -> None:
    # Given the stream's records for three tickets, of which the first two were applied by an attempt that then failed
    for n in ('5', '6', '7'):
        for event in solved_ticket(n, ny(21, 10), ny(21, 10, 30), ny(21, 11)):
            world.processor.apply(event, NOW)
    from functions.kpi_aggregator.app import to_change

    changes = [change for change in map(to_change, world.aws.ticket_changes()) if change is not None]
    store = world.kpis
    store.apply(changes[:6], NOW)

    # When Lambda retries from the same record with a longer batch, and then again with the same batch
    first = store.apply(changes, NOW)
    second = store.apply(changes, NOW)

    # Then every ticket counts once, in its location and in its region (read from its locations' days)
    assert world.month('location#US-NYC').kpis['tickets'].value == 3
    assert world.month('region#US-East').kpis['tickets'].value == 3
    assert world.month('location#US-NYC').kpis['average_resolution_time'].denominator == 3
    assert first.already_applied == 1 and second.already_applied >= 1
    assert second.items_written == 0


def test_reading_a_month_is_one_query_whatever_the_number_of_tickets(world: World) -> None:
    # Given a location with 5 tickets and another with 300 (contributions written straight to the aggregates)
    def contributions(location: str, count: int) -> list[TicketChange]:
        return [
            TicketChange(
                f'{location}-{i}',
                None,
                Contribution(
                    day=f'2026-10-{1 + i % 28:02d}',
                    scopes=(f'location#{location}', f'location#{location}|email'),
                    counters={'t': 1, 'fr_n': 1, 'fr_s': 60 * (i % 7)},
                ),
            )
            for i in range(count)
        ]

    world.kpis.apply(contributions('SMALL', 5), NOW)
    world.kpis.apply(contributions('LARGE', 300), NOW)

    # When each month is read
    reads = {}
    for location in ('SMALL', 'LARGE'):
        with count_requests() as counter:
            report = world.month(f'location#{location}')
        reads[location] = (sum(counter.calls.values()), report.kpis['tickets'].value)

    # Then both cost one request, and each counts its own tickets
    assert reads == {'SMALL': (1, 5), 'LARGE': (1, 300)}


def test_an_unreadable_contribution_is_quarantined_and_the_rest_of_the_batch_is_applied(world: World) -> None:
    # Given a batch where one ticket change carries a corrupt KPI attribute
    world.apply(*solved_ticket('8', ny(22, 10), ny(22, 10, 30), ny(22, 11)))
    good = {
        'eventID': 'good-1',
        'dynamodb': {'NewImage': {'kpi': {'S': Contribution('2026-10-22', ('location#US-NYC',), {'t': 1}).to_json()}}},
    }
    bad = {'eventID': 'bad-1', 'dynamodb': {'NewImage': {'kpi': {'S': '{not json'}}}}
    from functions.kpi_aggregator import app
    from tests.support.apigw import lambda_context

    app._store = None

    # When the aggregator handles it
    summary = app.lambda_handler({'Records': [bad, good]}, lambda_context())

    # Then the good change is applied and the bad one is kept with its reason for an admin
    assert summary['changes'] == 1
    assert world.month('location#US-NYC').kpis['tickets'].value == 2
    from shared.quarantine.store import QuarantineStore

    kept = QuarantineStore().list_day(datetime.now(UTC).date().isoformat())
    assert [item['source'] for item in kept] == ['kpi_aggregator']
    assert 'JSONDecodeError' in str(kept[0]['reason'])
    stored = QuarantineStore().get(str(kept[0]['quarantine_id']))
    assert stored is not None and [record['eventID'] for record in json.loads(stored.body or b'[]')] == ['bad-1']


# -- a region's month, read from its locations' days ---------------------------------------------------------------------
def _spread(count: int, *, with_region_scope: bool) -> list[TicketChange]:
    """`count` ticket changes over two locations of region R (and one elsewhere), several days, a late one among them,
    and updates that move counters between days; written the old way (with a 'region#R' scope) when asked."""
    changes: list[TicketChange] = []
    places = (('L1', 'R'), ('L2', 'R'), ('L3', 'S'))
    for i in range(count):
        location, region = places[i % 3]
        scopes: tuple[str, ...] = ('all', 'all|email', f'location#{location}', f'location#{location}|email', f'employee#E{i % 4}')
        if with_region_scope:
            scopes = (*scopes, f'region#{region}')
        counters = {'t': 1, 'fr_n': 1, 'fr_s': 60 * (1 + i % 9), 'cs_n': i % 2, 'cs_g': i % 4 == 0}
        new = Contribution(day=f'2026-10-{1 + i % 30:02d}', scopes=scopes, counters={k: int(v) for k, v in counters.items() if v},
                           late=i % 7 == 0)  # fmt: skip
        changes.append(TicketChange(f'c-{i}', None, new))
        if i % 5 == 0:  # a later change of the same ticket: solved, and its survey counted
            solved = Contribution(day=new.day, scopes=scopes, counters={**new.counters, 'rs_n': 1, 'rs_s': 3600 * (1 + i % 5)})
            changes.append(TicketChange(f'c-{i}-solved', new, solved))
    return changes


def test_a_regions_month_read_from_its_locations_days_equals_the_region_item_written_the_old_way(world: World) -> None:
    # Given the same ticket changes applied the old way (a region scope on each) in one table and without it in another
    old = KpiStore('old-kpis', client=world.aws.dynamodb)
    props = {'KeySchema': [{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
             'AttributeDefinitions': [{'AttributeName': 'pk', 'AttributeType': 'S'}, {'AttributeName': 'sk', 'AttributeType': 'S'}]}  # fmt: skip
    world.aws.dynamodb.create_table(TableName='old-kpis', BillingMode='PAY_PER_REQUEST', **props)
    old.apply(_spread(90, with_region_scope=True), NOW)
    world.kpis.apply(_spread(90, with_region_scope=False), NOW)

    # When region R's month is read from its locations' days, and the old region item is read as it was
    derived = read_month(world.kpis, 'region#R', '2026-10', CONFIG.kpi, lambda region: {'R': ['L1', 'L2'], 'S': ['L3']}[region])
    written = build_report('region#R', '2026-10', old.month('region#R', '2026-10'), CONFIG.kpi)

    # Then the counters, every KPI with its count, and the late changes are the same
    assert derived.counters == written.counters and derived.counters['t'] == 60
    assert {name: kpi.as_dict() for name, kpi in derived.kpis.items()} == {name: kpi.as_dict() for name, kpi in written.kpis.items()}
    assert derived.late_changes == written.late_changes > 0
    assert sum(day['t'] for day in derived.days.values()) == 60  # and, unlike the old month item, per day


def test_reading_a_regions_month_costs_the_same_requests_whatever_the_number_of_tickets(world: World) -> None:
    # Given region R with 12 tickets and region S with 600 (each over its locations' days)
    small, large = KpiStore('small', client=world.aws.dynamodb), world.kpis
    world.aws.dynamodb.create_table(
        TableName='small', BillingMode='PAY_PER_REQUEST', KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
        AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}, {'AttributeName': 'sk', 'AttributeType': 'S'}],
    )  # fmt: skip
    small.apply(_spread(18, with_region_scope=False), NOW)
    large.apply(_spread(900, with_region_scope=False), NOW)

    # When each region's month is read
    reads = {}
    for label, store in (('small', small), ('large', large)):
        with count_requests() as counter:
            report = read_month(store, 'region#R', '2026-10', CONFIG.kpi, lambda region: ['L1', 'L2'])
        reads[label] = (sum(counter.calls.values()), report.kpis['tickets'].value)

    # Then both cost one BatchGetItem (2 locations x 31 days = 62 keys), and each counts its own tickets
    assert reads == {'small': (1, 12), 'large': (1, 600)}
