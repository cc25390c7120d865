"""The employee directory in DynamoDB: profiles, and one mapping item per helpdesk agent id.

Hot path: `lookup` resolves a ticket's agent keys with one BatchGetItem (of mapping items; for the sources that
name people by employee id, of profiles) and remembers positive answers for a few minutes per container.
Import path: `import_rows` upserts profiles and mappings idempotently and deactivates leavers (never deletes them).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from pynamodb.attributes import BooleanAttribute, MapAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.config import get_settings
from shared.directory.people import Employee
from shared.dynamo import meta_for
from shared.events import Source

if TYPE_CHECKING:  # the HR-export model is needed by the import path only, not by the hot path
    from shared.directory.employees import EmployeeRow

CACHE_TTL_S = 300.0
# Sources that name people by their employee id (the directory's own key), not by a helpdesk agent id.
EMPLOYEE_ID_SOURCES = frozenset({Source.LMS, Source.QUALITY, Source.SAFETY})


class EmployeesIndex(GlobalSecondaryIndex['ProfileRecord']):
    class Meta:
        index_name = 'employees'
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class PhoneIndex(GlobalSecondaryIndex['ProfileRecord']):
    """Profiles by phone number (sparse: only profiles have `phone`): who is writing to us on WhatsApp or SMS."""

    class Meta:
        index_name = 'by_phone'
        projection = AllProjection()

    phone = UnicodeAttribute(hash_key=True)


class LocationIndex(GlobalSecondaryIndex['ProfileRecord']):
    """Profiles by location (sparse: only profiles carry `loc_key`): a manager's people, one Query per page."""

    class Meta:
        index_name = 'by_location'
        projection = AllProjection()

    loc_key = UnicodeAttribute(hash_key=True)
    employee_id = UnicodeAttribute(range_key=True)


class DirectoryRecord(Model):
    class Meta:
        table_name = 'pitcrew-directory'

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    employee_id = UnicodeAttribute()
    role = UnicodeAttribute(null=True)
    job_grade = UnicodeAttribute(null=True)
    location_id = UnicodeAttribute(null=True)
    region = UnicodeAttribute(null=True)
    manager_id = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    updated_at = UnicodeAttribute(null=True)


class ProfileRecord(DirectoryRecord):
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    whatsapp_opt_in = BooleanAttribute(default=False)
    email = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    alert_channel = UnicodeAttribute(null=True)
    agent_ids = MapAttribute[str, str](null=True)
    row_hash = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    forgotten_at = UnicodeAttribute(null=True)  # set by `forget`: the HR import never restores this person's data
    loc_key = UnicodeAttribute(null=True)  # = location_id, on profiles only (the by_location index is sparse)
    employees_index = EmployeesIndex()
    phone_index = PhoneIndex()
    location_index = LocationIndex()


class LocationRecord(Model):
    """A location and its region (`LOC#<id>` / `LOCATION`), written by the HR import from its people's rows; listed per
    region through the `employees` index (`gsi1pk = REGION#<region>`): what a regional scope covers, without a Scan."""

    class Meta:
        table_name = 'pitcrew-directory'

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    location_id = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


class ErasureRecord(Model):
    """A forget's audit record (`EMP#<id>` / `ERASURE#<time>`): JSON texts of what was erased, counted; who asked."""

    class Meta:
        table_name = 'pitcrew-directory'

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    employee_id = UnicodeAttribute()
    pseudonym = UnicodeAttribute()
    erased_at = UnicodeAttribute()
    actor = UnicodeAttribute()  # the IAM principal or the Lambda request id (CloudTrail and the logs are searched by it)
    requested_by = UnicodeAttribute(null=True)  # a claimed label from the request, not an identity
    tables = UnicodeAttribute()  # JSON: {"directory": ..., "alerts": ..., "quarantine": ...}
    counts = UnicodeAttribute()  # JSON: the report's counts
    quarantine_ids = UnicodeAttribute()  # JSON list


@lru_cache(maxsize=4)
def erasure_model(table_name: str) -> type[ErasureRecord]:
    return type('BoundErasureRecord', (ErasureRecord,), {'Meta': meta_for(table_name)})


@lru_cache(maxsize=8)
def location_model(table_name: str) -> type[LocationRecord]:
    return type('Location', (LocationRecord,), {'Meta': meta_for(table_name)})


def location_pk(location_id: str) -> str:
    return f'LOC#{location_id}'


@lru_cache(maxsize=4)
def directory_models(table_name: str) -> tuple[type[DirectoryRecord], type[ProfileRecord]]:
    """The models bound to the table, once per container: each new class would open its own connection and client."""
    meta = meta_for(table_name)
    return (
        type('BoundDirectoryRecord', (DirectoryRecord,), {'Meta': meta}),
        type('BoundProfileRecord', (ProfileRecord,), {'Meta': meta, 'employees_index': EmployeesIndex(), 'phone_index': PhoneIndex(),
                                                      'location_index': LocationIndex()}),
    )


def agent_pk(source: Source | str, agent_key: str) -> str:
    return f'AGENT#{Source(source).value}#{agent_key.strip().lower()}'


def profile_pk(employee_id: str) -> str:
    return f'EMP#{employee_id}'


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    mappings_written: int = 0
    mappings_deactivated: int = 0
    forgotten_skipped: int = 0  # rows of people an admin made the directory forget: never re-imported
    newly_mapped: list[tuple[str, str]] = field(default_factory=list)  # (source, agent_key)
    changed_ids: list[str] = field(default_factory=list)  # created or updated profiles (their logins follow them)
    deactivated_ids: list[str] = field(default_factory=list)


class DirectoryStore:
    def __init__(self, table_name: str | None = None) -> None:
        self.table_name = table_name or get_settings().DIRECTORY_TABLE
        self.mapping, self.profile = directory_models(table_name or get_settings().DIRECTORY_TABLE)
        self._cache: dict[str, tuple[float, Employee]] = {}

    # --- hot path --------------------------------------------------------------------------------
    def lookup(self, source: Source, agent_keys: Iterable[str]) -> dict[str, Employee]:
        """Active employees behind these agent keys; unknown or inactive keys are absent.

        Helpdesk and DMS keys go through their mapping items (`AGENT#<source>#<key>`). The sources that name
        people by employee id (LMS, QA reviews, safety reports) are read from the profiles (`EMP#<id>`) with the
        same one BatchGetItem, so no mapping per source is needed."""
        if Source(source) in EMPLOYEE_ID_SOURCES:
            return self._lookup_profiles(Source(source), agent_keys)
        now = time.monotonic()
        found: dict[str, Employee] = {}
        missing: list[str] = []
        for key in dict.fromkeys(agent_keys):
            cached = self._cache.get(agent_pk(source, key))
            if cached and now - cached[0] < CACHE_TTL_S:
                found[key] = cached[1]
            else:
                missing.append(key)
        if missing:
            by_pk = {agent_pk(source, key): key for key in missing}
            for record in self.mapping.batch_get([(pk, 'MAP') for pk in by_pk]):
                if not record.active:
                    continue
                employee = Employee(
                    employee_id=record.employee_id,
                    role=record.role or 'agent',
                    job_grade=record.job_grade,
                    location_id=record.location_id,
                    team_id=record.manager_id,
                )
                found[by_pk[record.pk]] = employee
                self._cache[record.pk] = (now, employee)
        return found

    def _lookup_profiles(self, source: Source, agent_keys: Iterable[str]) -> dict[str, Employee]:
        """Agent keys that are employee ids. Keys arrive lower-cased (`Assignee` normalises them) while ids keep
        the directory's case, so each key is read as sent and upper-cased (`tech-104` finds `TECH-104`); the key
        as sent wins when both exist. A mixed-case id ('Emp7') is not found and stays unmapped."""
        now = time.monotonic()
        found: dict[str, Employee] = {}
        candidates: dict[str, list[str]] = {}
        for key in dict.fromkeys(agent_keys):
            cached = self._cache.get(agent_pk(source, key))
            if cached and now - cached[0] < CACHE_TTL_S:
                found[key] = cached[1]
            else:
                candidates[key] = list(dict.fromkeys((key, key.upper())))
        if candidates:
            wanted = {profile_pk(candidate) for options in candidates.values() for candidate in options}
            profiles = {record.pk: record for record in self.profile.batch_get([(pk, 'PROFILE') for pk in sorted(wanted)])}
            for key, options in candidates.items():
                record = next((profiles[profile_pk(option)] for option in options if profile_pk(option) in profiles), None)
                if record is None or not record.active:
                    continue
                employee = Employee(
                    employee_id=record.employee_id,
                    role=record.role or 'agent',
                    job_grade=record.job_grade,
                    location_id=record.location_id,
                    team_id=record.manager_id,
                )
                found[key] = employee
                self._cache[agent_pk(source, key)] = (now, employee)
        return found

    # --- import path -----------------------------------------------------------------------------
    def import_rows(self, rows: list[EmployeeRow], now: datetime, *, deactivate_missing: bool = True) -> ImportReport:
        report = ImportReport()
        existing = {record.employee_id: record for record in self.profile.employees_index.query('EMPLOYEE')}
        forgotten = {employee_id for employee_id, record in existing.items() if record.forgotten_at}
        report.forgotten_skipped = sum(1 for row in rows if row.employee_id in forgotten)
        rows = [row for row in rows if row.employee_id not in forgotten]
        imported_ids = {row.employee_id for row in rows} | forgotten
        stamp = now.isoformat()
        with self.profile.batch_write() as batch:
            for row in rows:
                digest = _row_hash(row)
                previous = existing.get(row.employee_id)
                if previous is not None and previous.row_hash == digest:
                    report.unchanged += 1
                    continue
                if previous is None:
                    report.created += 1
                else:
                    report.updated += 1
                report.changed_ids.append(row.employee_id)
                batch.save(self._profile(row, digest, stamp))
        self._write_locations(rows, existing, stamp)
        previous_keys = {
            employee_id: set(_keys_of(record)) for employee_id, record in existing.items()
        }
        claimed = {(source.value, key) for row in rows if row.active for source, key in row.agent_keys()}
        with self.mapping.batch_write() as batch:
            for row in rows:
                before = previous_keys.get(row.employee_id, set())
                prior = existing.get(row.employee_id)
                changed = prior is None or prior.row_hash != _row_hash(row)
                for source, key in row.agent_keys():
                    if changed:
                        batch.save(self._mapping(row, source, key, stamp))
                        report.mappings_written += 1
                    if row.active and (source.value, key) not in before:
                        report.newly_mapped.append((source.value, key))
                for source_value, key in sorted(before - {(s.value, k) for s, k in row.agent_keys()} - claimed):
                    batch.save(self._retired_mapping(row.employee_id, source_value, key, stamp))
                    report.mappings_deactivated += 1
            if deactivate_missing:
                for employee_id, record in sorted(existing.items()):
                    if employee_id in imported_ids or not record.active:
                        continue
                    report.deactivated += 1
                    for source_value, key in sorted(previous_keys[employee_id] - claimed):
                        batch.save(self._retired_mapping(employee_id, source_value, key, stamp))
                        report.mappings_deactivated += 1
        if deactivate_missing:
            for employee_id, record in existing.items():
                if employee_id not in imported_ids and record.active:
                    report.deactivated_ids.append(employee_id)
                    record.update(actions=[self.profile.active.set(False), self.profile.updated_at.set(stamp),
                                           self.profile.row_hash.set('inactive')])
        self._cache.clear()
        return report

    def _write_locations(self, rows: list[EmployeeRow], existing: dict[str, ProfileRecord], stamp: str) -> None:
        """The location items of the locations whose people changed (a location's region is its people's region)."""
        touched: dict[str, str | None] = {}
        for row in rows:
            prior = existing.get(row.employee_id)
            if prior is None or prior.row_hash != _row_hash(row) or prior.location_id != row.location_id:
                touched.setdefault(row.location_id, row.region)
        location = location_model(self.table_name)
        with location.batch_write() as batch:
            for location_id, region in sorted(touched.items()):
                batch.save(location(location_pk(location_id), 'LOCATION', location_id=location_id, region=region,
                                    gsi1pk=f'REGION#{region or "-"}', gsi1sk=location_id, updated_at=stamp))  # fmt: skip

    # --- scope reads (the people-facing API: shared/api/scope.py) -------------------------------------------------
    def location_region(self, location_id: str) -> tuple[bool, str | None]:
        """(known, region) of a location: one GetItem."""
        location = location_model(self.table_name)
        try:
            record = location.get(location_pk(location_id), 'LOCATION')
        except location.DoesNotExist:
            return False, None
        return True, record.region

    def locations_of_region(self, region: str) -> list[str]:
        """The region's locations: one Query of the `employees` index (a page holds ~10,000 location items)."""
        return [item['location_id'] for item in self._region_items(region)]

    def _region_items(self, region: str) -> Iterator[dict[str, str]]:
        from shared.dynamo import dynamodb_client

        client = dynamodb_client()
        start: dict[str, object] | None = None
        while True:
            page = client.query(TableName=self.table_name, IndexName='employees', KeyConditionExpression='gsi1pk = :r',
                                ExpressionAttributeValues={':r': {'S': f'REGION#{region}'}}, ProjectionExpression='location_id',
                                **({'ExclusiveStartKey': start} if start else {}))  # fmt: skip
            for item in page.get('Items', []):
                yield {'location_id': item['location_id']['S']}
            start = page.get('LastEvaluatedKey')
            if not start:
                return

    def people_at(self, location_id: str, *, after: str | None = None, limit: int = 20) -> tuple[list[ProfileRecord], str | None]:
        """One page of a location's profiles (by employee id) and the last id when more follow."""
        kwargs: dict[str, object] = {'limit': limit}
        if after:
            kwargs['last_evaluated_key'] = {'loc_key': {'S': location_id}, 'employee_id': {'S': after},
                                            'pk': {'S': profile_pk(after)}, 'sk': {'S': 'PROFILE'}}  # fmt: skip
        result = self.profile.location_index.query(location_id, **kwargs)  # type: ignore[arg-type]
        records = list(result)
        last = result.last_evaluated_key
        return records, (last['employee_id']['S'] if last else None)

    def profiles(self, employee_ids: Iterable[str]) -> dict[str, ProfileRecord]:
        """Several profiles with one BatchGetItem (100 per request)."""
        keys = [(profile_pk(e), 'PROFILE') for e in dict.fromkeys(employee_ids)]
        return {record.employee_id: record for record in self.profile.batch_get(keys)} if keys else {}

    def _profile(self, row: EmployeeRow, digest: str, stamp: str) -> ProfileRecord:
        return self.profile(
            profile_pk(row.employee_id),
            'PROFILE',
            employee_id=row.employee_id,
            name=row.name,
            role=row.role,
            job_grade=row.job_grade,
            location_id=row.location_id,
            region=row.region,
            manager_id=row.manager_id,
            phone=row.phone,
            whatsapp_opt_in=row.whatsapp_opt_in,
            email=row.email,
            time_zone=row.time_zone,
            language=row.language,
            alert_channel=row.alert_channel,
            active=row.active,
            agent_ids={f'{source.value}:{key}': source.value for source, key in row.agent_keys()} or None,
            row_hash=digest,
            gsi1pk='EMPLOYEE',
            gsi1sk=row.employee_id,
            loc_key=row.location_id,
            updated_at=stamp,
        )

    def _mapping(self, row: EmployeeRow, source: Source, key: str, stamp: str) -> DirectoryRecord:
        return self.mapping(
            agent_pk(source, key),
            'MAP',
            employee_id=row.employee_id,
            role=row.role,
            job_grade=row.job_grade,
            location_id=row.location_id,
            region=row.region,
            manager_id=row.manager_id,
            active=row.active,
            updated_at=stamp,
        )

    def _retired_mapping(self, employee_id: str, source: str, key: str, stamp: str) -> DirectoryRecord:
        return self.mapping(agent_pk(source, key), 'MAP', employee_id=employee_id, active=False, updated_at=stamp)

    def employee_ids(self) -> Iterator[str]:
        """Every employee with a profile, active or not, in id order: a Query on the `employees` index
        (never a Scan), fetching the ids only, page by page."""
        for record in self.profile.employees_index.query('EMPLOYEE', attributes_to_get=['employee_id']):
            yield record.employee_id

    # --- forgetting a person (shared.privacy.erase) -------------------------------------------------------
    def forget_profile(self, employee_id: str, pseudonym: str, now: datetime) -> None:
        """The profile keeps the id, role, location, region, grade and manager; the name becomes the pseudonym and the
        contact details and agent ids go (the `by_phone` index loses it). Inactive, and marked so the import skips it."""
        model = self.profile
        record = model(profile_pk(employee_id), 'PROFILE')
        record.update(
            actions=[
                model.name.set(pseudonym), model.active.set(False), model.row_hash.set('forgotten'),
                model.forgotten_at.set(now.isoformat()), model.updated_at.set(now.isoformat()),
                model.phone.remove(), model.email.remove(), model.whatsapp_opt_in.remove(), model.alert_channel.remove(),
                model.agent_ids.remove(),
            ],
            condition=model.pk.exists(),
        )  # fmt: skip
        self._cache.clear()

    def mapping_of(self, source: str, agent_key: str) -> DirectoryRecord | None:
        try:
            return self.mapping.get(agent_pk(source, agent_key), 'MAP', consistent_read=True)
        except self.mapping.DoesNotExist:
            return None

    def delete_mapping(self, source: str, agent_key: str, employee_id: str) -> bool:
        """Delete an agent-id mapping item if it still points at this employee (a reused id belongs to someone else)."""
        from pynamodb.exceptions import DeleteError

        try:
            self.mapping(agent_pk(source, agent_key), 'MAP').delete(condition=self.mapping.employee_id == employee_id)
        except DeleteError as exc:
            if exc.cause_response_code == 'ConditionalCheckFailedException':
                return False
            raise
        return True

    def record_erasure(self, employee_id: str, audit: dict[str, str | None], now: datetime) -> None:
        """The audit record of a forget (who, when, what, how many): `EMP#<id>` / `ERASURE#<time>`, no personal data."""
        model = erasure_model(self.profile.Meta.table_name)
        record = model(profile_pk(employee_id), f'ERASURE#{now.isoformat()}', employee_id=employee_id)
        for name, value in audit.items():
            setattr(record, name, value)
        record.save(condition=model.sk.does_not_exist())

    def erasures(self, employee_id: str) -> list[ErasureRecord]:
        """The audit records of every forget of this person (one Query of their partition)."""
        model = erasure_model(self.profile.Meta.table_name)
        return list(model.query(profile_pk(employee_id), model.sk.startswith('ERASURE#'), consistent_read=True))

    def profile_of(self, employee_id: str) -> ProfileRecord | None:
        try:
            return self.profile.get(profile_pk(employee_id), 'PROFILE')
        except self.profile.DoesNotExist:
            return None


def _keys_of(record: ProfileRecord) -> list[tuple[str, str]]:
    keys = []
    for compound in (record.agent_ids.as_dict() if record.agent_ids else {}):
        source, _, key = compound.partition(':')
        keys.append((source, key))
    return keys


def _row_hash(row: EmployeeRow) -> str:
    # `v2`: profiles carry `loc_key` since the by_location index; a new version rewrites every profile once.
    return hashlib.sha256(b'v2' + row.model_dump_json().encode()).hexdigest()[:24]
