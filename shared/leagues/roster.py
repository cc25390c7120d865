"""Who the streak judgement and the close announcements are about: everyone on the directory, read with ONE paged
Query of the directory's `employees` index (about 2,500 profiles a page; never a Scan), projected to what they need:
the attributes a division or a program scope is made of, the location whose calendar counts a person's days, their
time zone and language, and, for a manager's summary, their name and e-mail.

Names and e-mail addresses are personal data: they are never logged (the Powertools formatter masks addresses
anyway). Phone numbers are not read here: a notice to a person goes through the alert sender, which reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient
from shared.leagues.config import DIRECTORY_ATTRIBUTES
from shared.programs.period import Person

_TEXT = ('employee_id', 'name', 'role', 'job_grade', 'location_id', 'region', 'manager_id', 'time_zone', 'language', 'email')


@dataclass(frozen=True)
class RosterPerson:
    employee_id: str
    name: str = ''
    role: str | None = None
    job_grade: str | None = None
    location_id: str | None = None
    region: str | None = None
    manager_id: str | None = None
    time_zone: str = 'UTC'
    language: str = 'en'
    email: str | None = None
    active: bool = True

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.employee_id

    @property
    def display_name(self) -> str:
        return self.name.strip() or self.employee_id

    def attributes(self) -> dict[str, str | None]:
        """The directory attributes a league division can be made of (`LeagueConfig.division_of`)."""
        return {name: getattr(self, name) for name in DIRECTORY_ATTRIBUTES}

    def person(self) -> Person:
        """As a program's scope sees them (`shared.programs.period.in_program`)."""
        return Person(employee_id=self.employee_id, role=self.role, job_grade=self.job_grade, location_id=self.location_id,
                      region=self.region, team_id=self.manager_id, active=self.active)  # fmt: skip


class Roster(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table = table_name or get_settings().DIRECTORY_TABLE
        self._client = client

    def people(self) -> list[RosterPerson]:
        """Everyone with a profile, active or not."""
        names = {f'#p{i}': name for i, name in enumerate((*_TEXT, 'active'))}
        params: dict[str, Any] = {
            'TableName': self.table,
            'IndexName': 'employees',
            'KeyConditionExpression': 'gsi1pk = :employee',
            'ExpressionAttributeValues': {':employee': {'S': 'EMPLOYEE'}},
            'ProjectionExpression': ', '.join(names),
            'ExpressionAttributeNames': names,
        }
        people: list[RosterPerson] = []
        while True:
            response = self.client.query(**params)
            for item in response.get('Items', []):
                text = {name: value['S'] for name, value in item.items() if 'S' in value}
                people.append(
                    RosterPerson(
                        employee_id=text['employee_id'],
                        name=text.get('name', ''),
                        role=text.get('role'),
                        job_grade=text.get('job_grade'),
                        location_id=text.get('location_id'),
                        region=text.get('region'),
                        manager_id=text.get('manager_id'),
                        time_zone=text.get('time_zone') or 'UTC',
                        language=text.get('language') or 'en',
                        email=text.get('email'),
                        active=bool(item.get('active', {}).get('BOOL', True)),
                    )
                )
            if 'LastEvaluatedKey' not in response:
                return people
            params['ExclusiveStartKey'] = response['LastEvaluatedKey']
