"""The employee directory as an HR system exports it (CSV or JSON), validated.

One row per person: identity, role, job grade, location, region, manager, contact details, time zone,
and the person's agent id in each helpdesk. Pure parsing; storage lives in `store.py`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import InvalidPayload, invalid_from_validation
from shared.events import Source
from shared.notify.languages import LANGUAGES

AGENT_ID_SOURCES = (Source.ZENDESK, Source.FRESHDESK, Source.SALESFORCE, Source.GORGIAS, Source.DMS)
ALERT_CHANNELS = ('whatsapp', 'sms', 'email')
_E164 = re.compile(r'^\+[1-9]\d{6,14}$')
_TRUE = {'true', 'yes', 'y', '1'}
_FALSE = {'false', 'no', 'n', '0', ''}


class EmployeeRow(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    employee_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=64)
    job_grade: str | None = Field(default=None, max_length=32)
    location_id: str = Field(min_length=1, max_length=64)
    region: str | None = Field(default=None, max_length=64)
    manager_id: str | None = Field(default=None, max_length=64)
    phone: str | None = None
    whatsapp_opt_in: bool = False
    email: str | None = Field(default=None, max_length=254)
    time_zone: str = 'UTC'
    language: str = Field(default='en', description='alerts and replies: en, es, hi or id')
    # whatsapp, sms or email; empty: WhatsApp when opted in, else SMS, else e-mail
    alert_channel: str | None = None
    active: bool = True
    agent_ids: dict[Source, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator('phone')
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value in (None, ''):
            return None
        assert value is not None
        compact = re.sub(r'[\s().-]', '', value)
        if not _E164.match(compact):
            raise ValueError('phone must be in E.164 form, e.g. +15558675310')
        return compact

    @field_validator('email')
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value in (None, ''):
            return None
        assert value is not None
        if '@' not in value or value.startswith('@') or value.endswith('@'):
            raise ValueError('not an e-mail address')
        return value.lower()

    @field_validator('time_zone')
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError('unknown IANA time zone') from exc
        return value

    @field_validator('language')
    @classmethod
    def _language(cls, value: str) -> str:
        value = (value or 'en').strip().lower()
        if value not in LANGUAGES:
            raise ValueError(f'language must be one of {", ".join(LANGUAGES)}')
        return value

    @field_validator('alert_channel')
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        value = (value or '').strip().lower() or None
        if value is not None and value not in ALERT_CHANNELS:
            raise ValueError(f'alert_channel must be one of {", ".join(ALERT_CHANNELS)} (or empty)')
        return value

    @field_validator('manager_id', 'region', 'job_grade')
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    def agent_keys(self) -> list[tuple[Source, str]]:
        keys: list[tuple[Source, str]] = []
        for source, values in sorted(self.agent_ids.items()):
            keys.extend((source, value.strip().lower()) for value in values if value.strip())
        return keys


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else '').strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidPayload('expected yes/no', field=field)


def _row_to_model(raw: dict[str, Any], index: int) -> EmployeeRow:
    data = {key.strip().lower(): value for key, value in raw.items() if key}
    agent_ids: dict[Source, tuple[str, ...]] = {}
    for source in AGENT_ID_SOURCES:
        value = data.pop(f'{source.value}_agent_id', None)
        if isinstance(value, list):
            values = tuple(str(v) for v in value if str(v).strip())
        else:
            values = tuple(v for v in re.split(r'[;|]', str(value or '')) if v.strip())
        if values:
            agent_ids[source] = values
    status = str(data.pop('status', '') or '').strip().lower()
    active = status not in ('inactive', 'terminated', 'left', 'leaver')
    if 'active' in data:
        active = _bool(data.pop('active'), f'rows[{index}].active')
    fields = {key: data.get(key) for key in EmployeeRow.model_fields if key in data}
    if 'whatsapp_opt_in' in fields:
        fields['whatsapp_opt_in'] = _bool(fields['whatsapp_opt_in'], f'rows[{index}].whatsapp_opt_in')
    for optional in ('time_zone', 'language'):
        if fields.get(optional) in (None, ''):
            fields.pop(optional, None)
    try:
        return EmployeeRow(**fields, active=active, agent_ids=agent_ids)
    except ValidationError as exc:
        raise invalid_from_validation(exc, prefix=f'rows[{index}]') from None


def parse_export(content: str, fmt: str) -> list[EmployeeRow]:
    """Rows of a CSV (header row required) or JSON (list, or {"employees": [...]}) HR export."""
    if fmt == 'csv':
        rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(content)))
    elif fmt == 'json':
        try:
            loaded = json.loads(content)
        except json.JSONDecodeError as exc:
            raise InvalidPayload(f'not valid JSON: {exc.msg}', field='content') from exc
        loaded = loaded.get('employees') if isinstance(loaded, dict) else loaded
        if not isinstance(loaded, list) or not all(isinstance(row, dict) for row in loaded):
            raise InvalidPayload('expected a list of employee objects', field='content')
        rows = loaded
    else:
        raise InvalidPayload('format must be csv or json', field='format')
    parsed = [_row_to_model(row, index) for index, row in enumerate(rows)]
    seen: dict[str, int] = {}
    owners: dict[tuple[Source, str], str] = {}
    for index, row in enumerate(parsed):
        if row.employee_id in seen:
            raise InvalidPayload(f'employee_id {row.employee_id} appears twice (rows {seen[row.employee_id]} and {index})',
                                 field=f'rows[{index}].employee_id')
        seen[row.employee_id] = index
        for key in row.agent_keys():
            if row.active and key in owners and owners[key] != row.employee_id:
                raise InvalidPayload(f'{key[0].value} agent id is also used by employee {owners[key]}',
                                     field=f'rows[{index}].{key[0].value}_agent_id')
            if row.active:
                owners[key] = row.employee_id
    return parsed
