"""How to reach a person: the directory profile (phone, WhatsApp opt-in, e-mail, time zone, language, preferred
channel, manager) and the person's contact record (`EMP#<id>` / `CONTACT`), which Pitcrew writes itself:

- opt-outs per channel, from an inbound STOP or Twilio's 21610, for the number that opted out (START removes them);
- an invalid number (Twilio's 21211), reported on the person's record so an admin can fix the HR export.

The HR import never touches the contact record, so an opt-out survives every import; it applies only while the
profile's phone is the number that opted out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.config import get_settings
from shared.dynamo import LowLevelClient

CONTACT_SK = 'CONTACT'


@dataclass(frozen=True)
class Contact:
    employee_id: str
    name: str
    active: bool
    role: str = 'agent'
    location_id: str | None = None
    manager_id: str | None = None
    phone: str | None = None
    whatsapp_opt_in: bool = False
    email: str | None = None
    time_zone: str = 'UTC'
    language: str = 'en'
    alert_channel: str | None = None
    opted_out: frozenset[str] = field(default_factory=frozenset)  # channels opted out for the current phone
    invalid_phone: bool = False  # Twilio said the current phone is not a valid number

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.employee_id


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get('S') if value else None


def contact_from_items(profile: dict[str, Any], record: dict[str, Any] | None) -> Contact:
    phone = _text(profile, 'phone')
    record = record or {}
    opted_out = frozenset(channel for channel in ('whatsapp', 'sms') if phone and _text(record, f'opt_out_{channel}') == phone)
    return Contact(
        employee_id=profile['employee_id']['S'],
        name=_text(profile, 'name') or '',
        active=bool(profile.get('active', {}).get('BOOL', True)),
        role=_text(profile, 'role') or 'agent',
        location_id=_text(profile, 'location_id'),
        manager_id=_text(profile, 'manager_id'),
        phone=phone,
        whatsapp_opt_in=bool(profile.get('whatsapp_opt_in', {}).get('BOOL', False)),
        email=_text(profile, 'email'),
        time_zone=_text(profile, 'time_zone') or 'UTC',
        language=_text(profile, 'language') or 'en',
        alert_channel=_text(profile, 'alert_channel'),
        opted_out=opted_out,
        invalid_phone=bool(phone) and _text(record, 'invalid_phone') == phone,
    )


class ContactBook(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table = table_name or get_settings().DIRECTORY_TABLE
        self._client = client

    def contact(self, employee_id: str) -> Contact | None:
        """The profile and the contact record in one BatchGetItem; None for someone not in the directory."""
        keys = [{'pk': {'S': f'EMP#{employee_id}'}, 'sk': {'S': sk}} for sk in ('PROFILE', CONTACT_SK)]
        request: dict[str, Any] = {self.table: {'Keys': keys, 'ConsistentRead': True}}
        items: list[dict[str, Any]] = []
        while request:
            response = self.client.batch_get_item(RequestItems=request)
            items.extend(response.get('Responses', {}).get(self.table, []))
            request = response.get('UnprocessedKeys') or {}
        by_sk = {item['sk']['S']: item for item in items}
        profile = by_sk.get('PROFILE')
        return contact_from_items(profile, by_sk.get(CONTACT_SK)) if profile else None

    def employees_with_phone(self, phone: str) -> list[str]:
        """Active employees whose profile has this number (the `by_phone` index)."""
        response = self.client.query(
            TableName=self.table,
            IndexName='by_phone',
            KeyConditionExpression='phone = :phone',
            ExpressionAttributeValues={':phone': {'S': phone}},
        )
        return sorted(
            item['employee_id']['S']
            for item in response.get('Items', [])
            if item.get('active', {}).get('BOOL', True) and item['sk']['S'] == 'PROFILE'
        )

    def _update(self, employee_id: str, expression: str, values: dict[str, Any], names: dict[str, str] | None = None) -> None:
        kwargs: dict[str, Any] = {
            'TableName': self.table,
            'Key': {'pk': {'S': f'EMP#{employee_id}'}, 'sk': {'S': CONTACT_SK}},
            'UpdateExpression': expression,
            'ExpressionAttributeValues': values,
        }
        if names:
            kwargs['ExpressionAttributeNames'] = names
        self.client.update_item(**kwargs)

    def record_opt_out(self, employee_id: str, channel: str, phone: str, reason: str, now: datetime | None = None) -> None:
        stamp = (now or datetime.now(UTC)).isoformat()
        self._update(
            employee_id,
            f'SET opt_out_{channel} = :phone, opt_out_{channel}_at = :at, opt_out_{channel}_reason = :reason, employee_id = :id',
            {':phone': {'S': phone}, ':at': {'S': stamp}, ':reason': {'S': reason}, ':id': {'S': employee_id}},
        )

    def record_opt_in(self, employee_id: str, channel: str, now: datetime | None = None) -> None:
        stamp = (now or datetime.now(UTC)).isoformat()
        self._update(
            employee_id,
            f'SET opt_in_{channel}_at = :at, employee_id = :id REMOVE opt_out_{channel}, opt_out_{channel}_reason',
            {':at': {'S': stamp}, ':id': {'S': employee_id}},
        )

    def record_invalid_number(self, employee_id: str, phone: str, code: int, now: datetime | None = None) -> None:
        stamp = (now or datetime.now(UTC)).isoformat()
        self._update(
            employee_id,
            'SET invalid_phone = :phone, invalid_phone_code = :code, invalid_phone_at = :at, employee_id = :id',
            {':phone': {'S': phone}, ':code': {'N': str(code)}, ':at': {'S': stamp}, ':id': {'S': employee_id}},
        )

    def has_record(self, employee_id: str) -> bool:
        key = {'pk': {'S': f'EMP#{employee_id}'}, 'sk': {'S': CONTACT_SK}}
        return 'Item' in self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True, ProjectionExpression='pk')

    def forget(self, employee_id: str) -> int:
        """Delete the person's contact record (opt-outs and invalid-number reports hold the phone number): 1 if it
        existed, 0 if not (a second forget deletes nothing)."""
        key = {'pk': {'S': f'EMP#{employee_id}'}, 'sk': {'S': CONTACT_SK}}
        response = self.client.delete_item(TableName=self.table, Key=key, ReturnValues='ALL_OLD')
        return 1 if response.get('Attributes') else 0
