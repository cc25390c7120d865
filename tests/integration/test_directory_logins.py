"""The API logins follow the HR directory (shared/directory/logins.py): the people an import creates or changes get a
Cognito user in the group of their role with their scope claims; leavers are disabled; an unchanged import makes no call."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from shared.directory.importer import import_directory
from shared.directory.logins import group_for
from shared.directory.store import DirectoryStore
from shared.ingest.queue import SqsEventQueue
from shared.tickets.store import TicketStore
from tests.support.local_aws import LocalAws, local_aws

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
CSV = """employee_id,name,role,location_id,region,manager_id,email,time_zone,language
M1,Meera,workshop_manager,IN-BLR-01,South,,meera@example.com,Asia/Kolkata,en
T1,Tara,technician,IN-BLR-01,South,M1,,Asia/Kolkata,hi
R1,Ravi,regional_manager,IN-BLR-01,South,,ravi@example.com,Asia/Kolkata,en"""


@pytest.fixture
def pool() -> Iterator[tuple[LocalAws, str]]:
    with local_aws() as aws:
        cognito = boto3.client('cognito-idp')
        pool_id = cognito.create_user_pool(PoolName='people', Schema=[
            {'Name': name, 'AttributeDataType': 'String', 'Mutable': True} for name in ('employee_id', 'location', 'region', 'programs')
        ])['UserPool']['Id']  # fmt: skip
        for group in ('advisor', 'manager', 'regional', 'hq', 'admin', 'kiosk'):
            cognito.create_group(UserPoolId=pool_id, GroupName=group)
        os.environ['PEOPLE_USER_POOL_ID'] = pool_id
        from shared.config import get_settings

        get_settings.cache_clear()
        try:
            yield aws, pool_id
        finally:
            os.environ.pop('PEOPLE_USER_POOL_ID', None)
            get_settings.cache_clear()


def run_import(aws: LocalAws, content: str, now: datetime) -> dict[str, object]:
    return import_directory(content, 'csv', directory=DirectoryStore(), tickets=TicketStore(), queue=SqsEventQueue(aws.queue_url), now=now)


def user(pool_id: str, username: str) -> tuple[dict[str, str], list[str], bool]:
    cognito = boto3.client('cognito-idp')
    found = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    groups = [g['GroupName'] for g in cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)['Groups']]
    return {a['Name']: a['Value'] for a in found['UserAttributes']}, groups, found['Enabled']


def test_roles_map_to_api_groups_and_nobody_becomes_admin_from_hr_data() -> None:
    # Given / When / Then: managers, regional heads, leadership; anyone else (and 'admin' in an HR row) is an advisor
    assert [group_for(r) for r in ('Workshop_Manager', 'regional_manager', 'national_head', 'technician', 'admin', None)] == [
        'manager', 'regional', 'hq', 'advisor', 'advisor', 'advisor']


def test_an_import_creates_each_persons_login_with_their_scope_and_disables_leavers(pool: tuple[LocalAws, str]) -> None:
    aws, pool_id = pool
    # Given: a first import of three people
    first = run_import(aws, CSV, NOW)
    # Then: three logins, each in its role's group, with the scope claims the API reads
    assert first['logins'] == {'created': 3, 'updated': 0, 'disabled': 0, 'failed': []}
    attributes, groups, enabled = user(pool_id, 'M1')
    assert groups == ['manager'] and enabled
    assert {k: attributes[k] for k in ('custom:employee_id', 'custom:location', 'custom:region', 'email')} == {
        'custom:employee_id': 'M1', 'custom:location': 'IN-BLR-01', 'custom:region': 'South', 'email': 'meera@example.com'}
    assert user(pool_id, 'R1')[1] == ['regional'] and user(pool_id, 'T1')[1] == ['advisor']
    # When: the same export again
    again = run_import(aws, CSV, NOW + timedelta(days=1))
    # Then: nothing to do
    assert again['logins'] == {'created': 0, 'updated': 0, 'disabled': 0, 'failed': []}
    # When: T1 moves to another workshop and is promoted, and R1 leaves
    moved = CSV.replace('T1,Tara,technician,IN-BLR-01', 'T1,Tara,workshop_manager,IN-BLR-02').replace(
        '\nR1,Ravi,regional_manager,IN-BLR-01,South,,ravi@example.com,Asia/Kolkata,en', '')
    third = run_import(aws, moved, NOW + timedelta(days=2))
    # Then: T1's login follows (new location, manager group only) and R1's is disabled
    assert third['logins'] == {'created': 0, 'updated': 1, 'disabled': 1, 'failed': []}
    attributes, groups, _ = user(pool_id, 'T1')
    assert attributes['custom:location'] == 'IN-BLR-02' and groups == ['manager']
    assert user(pool_id, 'R1')[2] is False


def test_forgetting_a_leaver_deletes_their_login(pool: tuple[LocalAws, str]) -> None:
    aws, pool_id = pool
    # Given: R1 imported (a login), then left
    run_import(aws, CSV, NOW)
    run_import(aws, CSV.rsplit('\n', 1)[0], NOW + timedelta(days=1))
    from functions.forget.app import lambda_handler
    from tests.support.apigw import lambda_context

    # When: a dry run, then the forget
    dry = lambda_handler({'employee_id': 'R1', 'dry_run': True}, lambda_context())
    done = lambda_handler({'employee_id': 'R1'}, lambda_context())
    # Then: the dry run counts the login and keeps it; the forget deletes it (Cognito held their e-mail)
    assert dry['counts']['cognito_login'] == 1 and done['counts']['cognito_login'] == 1
    with pytest.raises(boto3.client('cognito-idp').exceptions.UserNotFoundException):
        boto3.client('cognito-idp').admin_get_user(UserPoolId=pool_id, Username='R1')
