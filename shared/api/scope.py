"""What a caller may see: THE one place the people-facing API decides object-level access (OWASP API1), from the
caller's verified claims (`Principal`) and the directory, never from ids or fields in the request alone.

- advisor (and a kiosk session): themselves only;
- manager: the people of their location;
- regional: the people and locations of their region (a location's region is the directory's `LOC#` item);
- hq, admin: everyone.
An object outside the scope is answered as an unknown one (404 `not found`): the caller learns nothing of its existence.
`Person.public()` is the only shape in which another person leaves the API: no phone, no e-mail (API3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.api.errors import Forbidden, NotFound
from shared.api.principal import PEOPLE_ROLES, Principal, Role


@dataclass(frozen=True)
class Person:
    employee_id: str
    name: str | None
    role: str | None
    location_id: str | None
    region: str | None
    manager_id: str | None
    job_grade: str | None = None
    language: str = 'en'
    time_zone: str = 'UTC'
    active: bool = True

    def public(self) -> dict[str, Any]:
        """What anyone in scope may read about this person (never contact details)."""
        return {'employee_id': self.employee_id, 'name': self.name, 'role': self.role, 'location_id': self.location_id,
                'region': self.region, 'active': self.active}  # fmt: skip

    def own(self) -> dict[str, Any]:
        """What the person reads about themselves."""
        return self.public() | {'manager_id': self.manager_id, 'job_grade': self.job_grade, 'language': self.language,
                                'time_zone': self.time_zone}  # fmt: skip


def person_from_profile(record: Any) -> Person:
    return Person(employee_id=record.employee_id, name=record.name, role=record.role, location_id=record.location_id,
                  region=record.region, manager_id=record.manager_id, job_grade=record.job_grade,
                  language=record.language or 'en', time_zone=record.time_zone or 'UTC', active=bool(record.active))  # fmt: skip


class People(Protocol):
    """The directory as the scope reads it (shared/directory/store.DirectoryStore satisfies it through DirectoryPeople)."""

    def person(self, employee_id: str) -> Person | None: ...
    def people(self, employee_ids: Iterable[str]) -> dict[str, Person]: ...
    def location_region(self, location_id: str) -> tuple[bool, str | None]: ...


class DirectoryPeople:
    """`People` over the directory table (one GetItem / one BatchGetItem per call, cached per request)."""

    def __init__(self, store: Any = None) -> None:
        if store is None:
            from shared.directory.store import DirectoryStore

            store = DirectoryStore()
        self.store = store
        self._people: dict[str, Person | None] = {}
        self._regions: dict[str, tuple[bool, str | None]] = {}

    def person(self, employee_id: str) -> Person | None:
        if employee_id not in self._people:
            record = self.store.profile_of(employee_id)
            self._people[employee_id] = person_from_profile(record) if record is not None and not record.forgotten_at else None
        return self._people[employee_id]

    def people(self, employee_ids: Iterable[str]) -> dict[str, Person]:
        wanted = [e for e in dict.fromkeys(employee_ids) if e not in self._people]
        if wanted:
            found = self.store.profiles(wanted)
            for employee_id in wanted:
                record = found.get(employee_id)
                self._people[employee_id] = person_from_profile(record) if record is not None and not record.forgotten_at else None
        return {e: p for e in employee_ids if (p := self._people.get(e)) is not None}

    def location_region(self, location_id: str) -> tuple[bool, str | None]:
        if location_id not in self._regions:
            self._regions[location_id] = self.store.location_region(location_id)
        return self._regions[location_id]


class Scope:
    """The caller's reach. Every route asks here before it reads or writes anything about someone or somewhere."""

    def __init__(self, principal: Principal, people: People) -> None:
        self.principal = principal
        self.people = people

    # --- roles --------------------------------------------------------------------------------------------------------
    def require_role(self, *roles: Role) -> None:
        if self.principal.role not in roles:
            raise Forbidden(f'this route is not for the {self.principal.role.value} role')

    def require_people_role(self) -> None:
        """Routes about other people (team views): manager, regional, hq, admin; never a kiosk session."""
        if self.principal.role not in PEOPLE_ROLES or self.principal.is_kiosk_session:
            raise Forbidden(f'this route is not for the {self.principal.role.value} role')

    # --- the decision -------------------------------------------------------------------------------------------------
    def covers(self, person: Person) -> bool:
        p = self.principal
        if p.is_kiosk_session or p.role in (Role.ADVISOR, Role.KIOSK):
            return p.employee_id is not None and person.employee_id == p.employee_id
        if p.role in (Role.HQ, Role.ADMIN):
            return True
        if p.role is Role.REGIONAL:
            return p.region is not None and person.region == p.region
        if p.role is Role.MANAGER:
            return p.location_id is not None and person.location_id == p.location_id
        return False

    def covers_location(self, location_id: str) -> bool:
        p = self.principal
        if p.is_kiosk_session or p.role in (Role.ADVISOR, Role.KIOSK):
            return False
        if p.role in (Role.HQ, Role.ADMIN):
            return True
        if p.role is Role.MANAGER:
            return location_id == p.location_id
        known, region = self.people.location_region(location_id)
        return known and p.region is not None and region == p.region

    def covers_region(self, region: str) -> bool:
        p = self.principal
        return p.role in (Role.HQ, Role.ADMIN) or (p.role is Role.REGIONAL and not p.is_kiosk_session and region == p.region)

    # --- object lookups that refuse what is out of scope --------------------------------------------------------------
    def me(self) -> Person:
        """The caller as a person (advisor, kiosk session, or a manager's own record)."""
        if not self.principal.employee_id:
            raise Forbidden('the token names no employee (custom:employee_id)', field='custom:employee_id')
        person = self.people.person(self.principal.employee_id)
        if person is None:
            raise NotFound('you are not in the directory', field='custom:employee_id')
        return person

    def person(self, employee_id: str, field: str = 'employee_id') -> Person:
        person = self.people.person(employee_id)
        if person is None or not self.covers(person):
            raise NotFound(field=field)
        return person

    def mine(self, employee_id: str | None, field: str = 'employee_id') -> Person:
        """The caller, when `employee_id` names them: a person's own routes (a redemption, a dispute, an entry) are theirs
        alone, whatever the role; anyone else's object is answered as unknown (404)."""
        me = self.me()
        if employee_id is None or employee_id != me.employee_id:
            raise NotFound(field=field)
        return me

    def my_place(self, kind: str, value: str | None, field: str) -> str:
        """The caller's own team (their manager's id) or location, for the person's own views (a feed): `value` None
        means theirs; any other team or location is answered as unknown (404)."""
        me = self.me()
        own = me.manager_id if kind == 'team' else me.location_id
        if own is None or (value is not None and value != own):
            raise NotFound(field=field)
        return own

    def location(self, location_id: str, field: str = 'location_id') -> str:
        if not self.covers_location(location_id):
            raise NotFound(field=field)
        return location_id

    def program(self, program_id: str, field: str = 'program_id') -> str:
        if not self.principal.in_program(program_id):
            raise NotFound(field=field)
        return program_id

    def visible(self, people: Iterable[Person]) -> list[Person]:
        return [person for person in people if self.covers(person)]
