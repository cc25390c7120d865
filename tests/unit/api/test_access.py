"""Who is asking and what they may see: the claims -> principal rules and the one scope decision (shared/api)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from shared.api.cursor import decode_cursor, encode_cursor
from shared.api.errors import BadRequest, Forbidden, NotFound, Unauthorized
from shared.api.kiosk_session import open_session, read_session, refreshed, session_principal
from shared.api.principal import Principal, Role, principal_from_claims
from shared.api.scope import Person, Scope
from shared.api.signing import seal, unseal

KEY = b'k' * 32
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PEOPLE = {
    'A1': Person('A1', 'Asha', 'service_advisor', 'IN-BLR-01', 'South', 'M1'),
    'A2': Person('A2', 'Bala', 'technician', 'IN-BLR-02', 'South', 'M2'),
    'W1': Person('W1', 'Wasim', 'technician', 'IN-MUM-01', 'West', 'M3'),
}
REGIONS = {'IN-BLR-01': 'South', 'IN-BLR-02': 'South', 'IN-MUM-01': 'West'}


class FakePeople:
    def person(self, employee_id: str) -> Person | None:
        return PEOPLE.get(employee_id)

    def people(self, employee_ids: Iterable[str]) -> dict[str, Person]:
        return {e: PEOPLE[e] for e in employee_ids if e in PEOPLE}

    def location_region(self, location_id: str) -> tuple[bool, str | None]:
        return (location_id in REGIONS, REGIONS.get(location_id))


def principal(role: Role, **scope: str) -> Principal:
    return Principal(subject=f'sub-{role.value}', role=role, **scope)


def test_the_highest_group_is_the_role_and_groups_arrive_as_the_authorizers_string() -> None:
    # Given: claims as API Gateway's JWT authorizer passes them (every claim a string)
    claims = {'sub': 'u1', 'cognito:groups': '[advisor manager]', 'custom:employee_id': 'M1', 'custom:location': 'IN-BLR-01'}
    # When: the principal is read
    found = principal_from_claims(claims)
    # Then: manager (the higher of the two) with the location scope
    assert (found.role, found.location_id, found.employee_id) == (Role.MANAGER, 'IN-BLR-01', 'M1')
    assert principal_from_claims(claims | {'cognito:groups': ['advisor']}).role is Role.ADVISOR  # a list is read too


@pytest.mark.parametrize(
    ('claims', 'error', 'field'),
    [
        (None, Unauthorized, None),
        ({'cognito:groups': '[advisor]'}, Unauthorized, None),
        ({'sub': 'u1'}, Forbidden, 'cognito:groups'),
        ({'sub': 'u1', 'cognito:groups': '[superuser]'}, Forbidden, 'cognito:groups'),
        ({'sub': 'u1', 'cognito:groups': '[advisor]'}, Forbidden, 'custom:employee_id'),
        ({'sub': 'u1', 'cognito:groups': '[manager]', 'custom:employee_id': 'M1'}, Forbidden, 'custom:location'),
        ({'sub': 'u1', 'cognito:groups': '[regional]', 'custom:location': 'X'}, Forbidden, 'custom:region'),
        ({'sub': 'u1', 'cognito:groups': '[kiosk]'}, Forbidden, 'custom:location'),
    ],
    ids=['no-claims', 'no-sub', 'no-groups', 'unknown-group', 'advisor-without-id', 'manager-without-location',
         'regional-without-region', 'kiosk-without-location'],
)
def test_a_token_without_its_role_or_scope_claim_is_refused(claims: dict[str, str] | None, error: type[Exception], field: str | None) -> None:
    # Given: claims missing what the role needs / When: read / Then: 401 or 403 naming the claim
    with pytest.raises(error) as refused:
        principal_from_claims(claims)
    assert getattr(refused.value, 'field', None) == field


@pytest.mark.parametrize(
    ('caller', 'visible'),
    [
        (principal(Role.ADVISOR, employee_id='A1'), {'A1'}),
        (principal(Role.MANAGER, employee_id='M1', location_id='IN-BLR-01'), {'A1'}),
        (principal(Role.REGIONAL, region='South'), {'A1', 'A2'}),
        (principal(Role.HQ), {'A1', 'A2', 'W1'}),
        (principal(Role.ADMIN), {'A1', 'A2', 'W1'}),
        (principal(Role.KIOSK, location_id='IN-BLR-01'), set()),
    ],
    ids=['advisor', 'manager', 'regional', 'hq', 'admin', 'kiosk-device'],
)
def test_each_role_sees_exactly_its_geography(caller: Principal, visible: set[str]) -> None:
    # Given: three people in two regions / When: the caller asks for each
    scope = Scope(caller, FakePeople())
    seen = set()
    for employee_id in PEOPLE:
        with contextlib.suppress(NotFound):
            seen.add(scope.person(employee_id).employee_id)
    # Then: exactly the people of the caller's scope; the others answer like an unknown id
    assert seen == visible
    with pytest.raises(NotFound):
        scope.person('NOBODY')


def test_locations_follow_the_directorys_region_not_the_request() -> None:
    # Given: a regional manager of South and a manager of IN-BLR-01
    regional = Scope(principal(Role.REGIONAL, region='South'), FakePeople())
    manager = Scope(principal(Role.MANAGER, location_id='IN-BLR-01'), FakePeople())
    # When / Then: the region's locations by the directory; an unknown location is out of scope
    assert [regional.covers_location(loc) for loc in ('IN-BLR-01', 'IN-BLR-02', 'IN-MUM-01', 'XX')] == [True, True, False, False]
    assert [manager.covers_location(loc) for loc in ('IN-BLR-01', 'IN-BLR-02')] == [True, False]
    with pytest.raises(NotFound):
        regional.location('IN-MUM-01')


def test_another_persons_public_view_carries_no_contact_details() -> None:
    # Given: a person / When: shown to someone in scope / Then: no phone, no e-mail, nothing beyond the public fields
    assert set(PEOPLE['A1'].public()) == {'employee_id', 'name', 'role', 'location_id', 'region', 'active'}


def test_a_cursor_only_pages_its_own_list_for_its_own_caller() -> None:
    # Given: a cursor for one caller's statement of November
    me = principal(Role.ADVISOR, employee_id='A1')
    cursor = encode_cursor('statement', me, {'month': '2026-11'}, {'after': 'E#20'}, KEY)
    assert cursor is not None
    # When / Then: it reads back on its list; another list, filter, caller or an edit is a 400 naming `cursor`
    assert decode_cursor('statement', me, {'month': '2026-11'}, cursor, KEY) == {'after': 'E#20'}
    other = principal(Role.ADVISOR, employee_id='A2')
    for args in (('feed', me, {'month': '2026-11'}), ('statement', me, {'month': '2026-10'}), ('statement', other, {'month': '2026-11'})):
        with pytest.raises(BadRequest) as refused:
            decode_cursor(*args, cursor, KEY)
        assert refused.value.field == 'cursor'
    with pytest.raises(BadRequest):
        decode_cursor('statement', me, {'month': '2026-11'}, cursor[:-2] + 'xx', KEY)


def test_a_sealed_token_of_one_purpose_does_not_open_as_another() -> None:
    # Given: a kiosk session sealed for its purpose / When: read as a cursor / Then: refused
    token = seal('kiosk-session', {'emp': 'A1'}, KEY)
    assert unseal('kiosk-session', token, KEY) == {'emp': 'A1'}
    assert unseal('cursor', token, KEY) is None


def test_a_kiosk_session_is_one_person_on_one_kiosk_for_sixty_idle_seconds() -> None:
    # Given: a kiosk at IN-BLR-01 opening a session for A1
    kiosk = principal(Role.KIOSK, location_id='IN-BLR-01')
    token, _ = open_session(kiosk, 'A1', NOW, KEY)
    # When: read within a minute / Then: an advisor scope for A1 only, bound to the kiosk
    payload = read_session(kiosk, token, NOW + timedelta(seconds=59), KEY)
    person = session_principal(kiosk, payload)
    assert (person.role, person.employee_id, person.kiosk_device) == (Role.ADVISOR, 'A1', kiosk.subject)
    assert Scope(person, FakePeople()).covers(PEOPLE['A1']) and not Scope(person, FakePeople()).covers(PEOPLE['A2'])
    # Then: a refreshed token extends the idle window; idle 60 s, another kiosk, or a non-kiosk caller: 401
    later = refreshed(kiosk, payload, NOW + timedelta(seconds=50), KEY)
    assert read_session(kiosk, later, NOW + timedelta(seconds=100), KEY)['emp'] == 'A1'
    with pytest.raises(Unauthorized):
        read_session(kiosk, token, NOW + timedelta(seconds=60), KEY)
    with pytest.raises(Unauthorized):
        read_session(principal(Role.KIOSK, location_id='IN-BLR-01').model_copy(update={'subject': 'other-kiosk'}), token, NOW, KEY)
    with pytest.raises(Unauthorized):
        read_session(principal(Role.ADVISOR, employee_id='A2'), token, NOW, KEY)
