"""The generated sample month holds what the local stack's replay promises (and is the same for a seed)."""

from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from infrastructure.local.sample_month import Delivery, SampleMonth, generate
from shared.directory.employees import parse_export
from shared.sources import get_adapter
from shared.sources.base import WebhookRequest


@pytest.fixture(scope='module')
def month() -> SampleMonth:
    return generate()


def test_month_covers_both_customer_types_at_realistic_size(month: SampleMonth) -> None:
    # Given the default month, when its people and work are counted
    locations = {e.location_id for e in month.employees}
    zones = {e.time_zone for e in month.employees}
    roles = Counter(e.role for e in month.employees)
    sources = {d.source for d in month.deliveries}
    # Then it meets the brief's sample: >= 3 locations, >= 2 time zones, >= 40 people in every role, >= 2,000 tickets and job cards
    assert len(locations) >= 3 and len(zones) >= 2
    assert len(month.employees) >= 40
    assert {'agent', 'service_advisor', 'technician', 'support', 'manager'} <= set(roles)
    assert month.tickets + month.job_cards >= 2000
    assert sources == {'zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms', 'survey', 'lms', 'quality', 'safety'}


def test_month_holds_what_goes_wrong_in_life(month: SampleMonth) -> None:
    # Given the default month, when its deliveries are classified
    import json
    from datetime import datetime, timedelta

    labels = Counter(d.label for d in month.deliveries)
    zendesk = [d for d in month.deliveries if d.source == 'zendesk' and d.label == 'change' and d.expect == 'accepted']
    changed_at = [datetime.fromisoformat(json.loads(d.body)['ticket']['updated_at'].replace('Z', '+00:00')) for d in zendesk]
    late = [d for d, moment in zip(zendesk, changed_at, strict=True) if d.at - moment > timedelta(minutes=25)]
    # Then it has redeliveries, late surveys, malformed and mis-signed payloads, and batched Salesforce messages
    assert labels['redelivery'] > 50 and labels['late survey'] > 100
    assert labels['malformed'] >= 5 and labels['mis-signed'] >= 5
    assert any(d.events > 1 for d in month.deliveries if d.source == 'salesforce')
    # And the deliveries are in arrival order, while some changes arrive long after they happened (after newer ones)
    assert [d.at for d in month.deliveries] == sorted(d.at for d in month.deliveries)
    assert 0.005 < len(late) / len(zendesk) < 0.05


def test_tickets_open_in_each_sites_business_hours(month: SampleMonth) -> None:
    # Given Zendesk tickets (New York), when the local hour of their creation is read from the payloads
    import json
    from datetime import datetime

    hours: Counter[int] = Counter()
    for d in month.deliveries:
        if d.source == 'zendesk' and d.label == 'change' and b'"status":"Open"' in d.body:
            created = datetime.fromisoformat(json.loads(d.body)['ticket']['created_at'].replace('Z', '+00:00'))
            hours[created.astimezone(ZoneInfo('America/New_York')).hour] += 1
    # Then nearly all are between 8:00 and 19:00 local time
    inside = sum(n for hour, n in hours.items() if 8 <= hour < 19)
    assert inside / sum(hours.values()) > 0.95


def test_every_good_delivery_parses_with_its_adapter_and_the_directory_imports(month: SampleMonth) -> None:
    # Given the month's deliveries that its senders meant to be good (a sample of each source)
    from datetime import UTC, datetime

    good = [d for d in month.deliveries if d.expect == 'accepted']
    by_source: dict[str, list[Delivery]] = {}
    for d in good:
        by_source.setdefault(d.source, []).append(d)
    # When each is parsed by the source's adapter, and the directory CSV by the HR import
    for source, deliveries in by_source.items():
        for d in deliveries[:: max(1, len(deliveries) // 60)]:
            path, headers = d.request({s: {'secret': 'x', 'organization_id': '00D5g000000ABCDEAZ'} for s in by_source}, 0)
            result = get_adapter(source).parse(WebhookRequest(body=d.body, headers=headers, query={}), datetime.now(UTC))
            # Then it yields ticket events
            assert result.events, (source, d.label)
    rows = parse_export(month.directory_csv(), 'csv')
    assert len(rows) == len(month.employees)


def test_same_seed_same_month_and_the_clean_month_is_the_same_work_without_the_mistakes() -> None:
    # Given two generations with one seed, and the clean version
    first, second, clean = generate(seed=7, scale=0.1), generate(seed=7, scale=0.1), generate(seed=7, scale=0.1, clean=True)
    # Then the same seed gives the same bytes
    assert [d.body for d in first.deliveries] == [d.body for d in second.deliveries]
    # And the clean month has the same changes, once each, in order, and nothing bad
    messy_changes = {d.body for d in first.deliveries if d.label in ('change', 'late survey') and d.source != 'salesforce'}
    clean_changes = {d.body for d in clean.deliveries if d.source != 'salesforce'}
    assert messy_changes == clean_changes
    assert {d.label for d in clean.deliveries} <= {'change', 'late survey'}


def test_people_senders_cover_training_reviews_and_workshop_safety(month: SampleMonth) -> None:
    # Given the month's good LMS, QA and safety deliveries, parsed by their adapters
    from datetime import UTC, datetime

    people = {e.employee_id: e for e in month.employees}
    seen: Counter[tuple[str, str, str]] = Counter()
    for d in month.deliveries:
        if d.source in ('lms', 'quality', 'safety') and d.expect == 'accepted':
            event = get_adapter(d.source).parse(WebhookRequest(body=d.body, headers={}, query={}), datetime.now(UTC)).events[0]
            person = people[event.assignees[0].agent_key.upper()]  # named by employee id
            seen[(d.source, event.raw_status or 'review', person.role)] += 1
    by_role = Counter((source, role) for (source, _, role), n in seen.items() for _ in range(n))
    completions = sum(n for (source, status, _), n in seen.items() if source == 'lms' and status == 'completed')
    enrolments = sum(n for (source, status, _), n in seen.items() if source == 'lms' and status == 'enrolled')

    # Then every role trains and most enrolments are completed within the month, agents and support staff are
    # reviewed, and the workshops' safety reports are mostly about technicians: checks passed and failed, and hazards
    assert {role for source, role in by_role if source == 'lms'} == {'agent', 'support', 'service_advisor', 'technician'}
    assert 0.5 * enrolments <= completions < enrolments
    assert by_role[('quality', 'agent')] >= 80 and by_role[('quality', 'support')] >= 4
    assert by_role[('safety', 'technician')] > by_role[('safety', 'service_advisor')] + by_role[('safety', 'support')]
    assert {status for source, status, _ in seen if source == 'safety'} == {'passed', 'failed', 'reported'}


def test_the_clean_month_holds_the_same_people_work_and_only_the_messy_one_has_their_bad_requests() -> None:
    # Given the messy and the clean month of one seed
    messy, clean = generate(seed=11, scale=0.1), generate(seed=11, scale=0.1, clean=True)
    people = [d for d in messy.deliveries if d.source in ('lms', 'quality', 'safety')]

    # Then both carry the same trainings, reviews and safety reports; the messy month adds a mis-signed and a
    # malformed request per people sender, which must be rejected
    assert {d.body for d in people if d.label == 'change'} == {d.body for d in clean.deliveries if d.source in ('lms', 'quality', 'safety')}
    bad = Counter((d.source, d.label) for d in people if d.expect == 'rejected')
    assert bad == Counter({(source, label): 1 for source in ('lms', 'quality', 'safety') for label in ('mis-signed', 'malformed')})
