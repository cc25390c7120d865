"""The LMS, QA and safety sources name people by employee id: the directory resolves them from the profiles,
with no agent-id mapping per source, in one BatchGetItem."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from shared.directory.store import DirectoryStore
from shared.events import Assignee, Source
from tests.support.apigw import lambda_context
from tests.support.counting import count_requests
from tests.support.factories import DIRECTORY_CSV
from tests.support.local_aws import LocalAws, local_aws


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        yield aws


def run_import(content: str) -> dict:
    from functions.directory_import.app import lambda_handler

    return lambda_handler({'format': 'csv', 'content': content, 'deactivate_missing': True}, lambda_context())


@pytest.mark.parametrize('source', [Source.LMS, Source.QUALITY, Source.SAFETY])
def test_employee_id_sources_resolve_through_the_profile(aws: LocalAws, source: Source) -> None:
    # Given the sample directory (E1 an agent in US-NYC under M1, E4 a technician in IN-BLR-01), which maps
    # no LMS, QA or safety ids
    run_import(DIRECTORY_CSV)
    keys = [Assignee(agent_key='E1').agent_key, Assignee(agent_key='e4').agent_key, 'e404']

    # When the keys of an event of that source (lower-cased, as every Assignee key is) are looked up
    found = DirectoryStore().lookup(source, keys)

    # Then the employee ids are found with their directory facts; the unknown one is absent
    assert sorted(found) == ['e1', 'e4']
    assert (found['e1'].employee_id, found['e1'].role, found['e1'].location_id, found['e1'].team_id) == ('E1', 'agent', 'US-NYC', 'M1')
    assert (found['e4'].employee_id, found['e4'].role, found['e4'].job_grade) == ('E4', 'technician', 'T1')


def test_helpdesk_sources_still_need_their_mapping(aws: LocalAws) -> None:
    # Given the sample directory
    run_import(DIRECTORY_CSV)

    # When an employee id is sent as a Zendesk agent key
    # Then it is not an agent id there (only the profile sources read employee ids)
    assert DirectoryStore().lookup(Source.ZENDESK, ['e1']) == {}
    assert 'agent1@example.com' in DirectoryStore().lookup(Source.ZENDESK, ['agent1@example.com'])


def test_a_leaver_is_not_resolved_by_employee_id(aws: LocalAws) -> None:
    # Given E2 left (a later full export without E2)
    run_import(DIRECTORY_CSV)
    run_import('\n'.join(line for line in DIRECTORY_CSV.splitlines() if not line.startswith('E2,')) + '\n')

    # When / Then an LMS completion for E2 finds nobody, while E1 is still found
    assert DirectoryStore().lookup(Source.LMS, ['e2', 'e1']).keys() == {'e1'}


def test_lookup_is_one_batch_get(aws: LocalAws) -> None:
    # Given the sample directory
    run_import(DIRECTORY_CSV)
    store = DirectoryStore()

    # When three people are looked up for the safety source, twice, counting the DynamoDB requests
    with count_requests() as counter:
        first = store.lookup(Source.SAFETY, ['e1', 'e3', 'e4'])
        second = store.lookup(Source.SAFETY, ['e1', 'e3', 'e4'])

    # Then the first lookup is one BatchGetItem and the second is answered from the container's cache
    assert counter.calls == Counter({('dynamodb', 'BatchGetItem'): 1})
    assert first == second and len(second) == 3
