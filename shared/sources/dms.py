"""Dealer-management-system job cards: a format we define (`events/schemas/dms_job_card.schema.json`), signed
with the Pitcrew scheme (`shared.sources.signing`). One request = one job-card stage change.

Stages map onto the canonical lifecycle (the stage itself is kept in `raw_status`):
opened / diagnosed / approved / reopened / repeat_visit -> open, awaiting_approval -> pending (the customer decides;
SLA clocks may pause), work_done -> solved, delivered -> closed (and resolved at the delivery time).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, ValidationInfo, field_validator

from shared.events import AssigneeRole, Channel, Kind, Source, Status, TicketEvent
from shared.sources import signing
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import IsoDatetime, build_event, load_json_object, validate

SCHEMA_ID = 'pitcrew.dms.job_card/v1'
# Lines one job-card event may carry: a card's awards beyond one transaction are written in steps (README: size
# limits), so this only refuses absurd payloads; 1,000 lines make a queue message of about 150 KB (SQS allows 256 KB).
MAX_UPSELL_LINES = 1000

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
EventType = Literal['opened', 'diagnosed', 'awaiting_approval', 'approved', 'work_done', 'delivered', 'reopened', 'repeat_visit']
UpsellCategory = Literal[
    'amc', 'extended_warranty', 'ceramic_coating', 'detailing', 'tyres', 'batteries', 'insurance_renewal', 'other'
]

STATUSES: dict[str, Status] = {
    'opened': Status.OPEN,
    'diagnosed': Status.OPEN,
    'awaiting_approval': Status.PENDING,
    'approved': Status.OPEN,
    'work_done': Status.SOLVED,
    'delivered': Status.CLOSED,
    'reopened': Status.OPEN,
    'repeat_visit': Status.OPEN,
}


class Vehicle(BaseModel):
    model_config = ConfigDict(extra='ignore')

    vin: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None = None  # VIN or chassis no.
    registration: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None = None


class UpsellLineIn(BaseModel):
    model_config = ConfigDict(extra='ignore')

    line_id: Id
    category: UpsellCategory
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2, description='A JSON number or a decimal string: "1499.00"')
    currency: Annotated[str, StringConstraints(pattern=r'^[A-Z]{3}$')]
    accepted: StrictBool
    margin: Decimal | None = Field(
        default=None, max_digits=14, decimal_places=2, description='Gross margin, same currency; may be negative, never above amount'
    )

    @field_validator('margin')
    @classmethod
    def _margin_within_amount(cls, margin: Decimal | None, info: ValidationInfo) -> Decimal | None:
        amount = info.data.get('amount')
        if margin is not None and amount is not None and margin > amount:
            raise ValueError('margin must not exceed amount')
        return margin


class JobCard(BaseModel):
    # Unknown keys inside the job card are ignored, so a connector may send more than we read.
    model_config = ConfigDict(extra='ignore')

    id: Id
    location_id: Id
    type: Text | None = None
    opened_at: IsoDatetime
    promised_at: IsoDatetime | None = None
    advisor_id: Id | None = None
    technician_ids: list[Id] = Field(default_factory=list, max_length=50)
    vehicle: Vehicle | None = None
    customer_id: Id | None = None
    complaint_code: Text | None = None
    upsell_lines: list[UpsellLineIn] = Field(default_factory=list, max_length=MAX_UPSELL_LINES)
    repeat_of: Id | None = None


class JobCardEvent(BaseModel):
    model_config = ConfigDict(extra='forbid')

    schema_: Literal['pitcrew.dms.job_card/v1'] = Field(alias='schema')
    event_id: Id
    event_type: EventType
    occurred_at: IsoDatetime
    job_card: JobCard


def _assignees(card: JobCard) -> tuple[dict[str, Any], ...]:
    people = [(AssigneeRole.ADVISOR, card.advisor_id)] if card.advisor_id else []
    people += [(AssigneeRole.TECHNICIAN, technician) for technician in card.technician_ids]
    unique = dict.fromkeys((role, key.lower()) for role, key in people)
    return tuple({'role': role, 'agent_key': key} for role, key in unique)


def to_event(body: JobCardEvent) -> TicketEvent:
    card = body.job_card
    vehicle_id = (card.vehicle.vin or card.vehicle.registration) if card.vehicle else None
    tags = ([f'job_type:{card.type}'] if card.type else []) + ([f'repeat_of:{card.repeat_of}'] if card.repeat_of else [])
    fields: dict[str, Any] = {
        'source': Source.DMS,
        'kind': Kind.JOB_CARD,
        'external_id': card.id,
        'occurred_at': body.occurred_at,
        'created_at': card.opened_at,
        'location_id': card.location_id,
        'channel': Channel.WALK_IN,
        'status': STATUSES[body.event_type],
        'raw_status': body.event_type,
        'assignees': _assignees(card),
        'resolved_at': body.occurred_at if body.event_type == 'delivered' else None,
        'promised_at': card.promised_at,
        'vehicle_id': vehicle_id,
        'customer_key': card.customer_id,
        'complaint_code': card.complaint_code,
        'upsell_lines': tuple(line.model_dump() for line in card.upsell_lines),
        'tags': tuple(tags),
    }
    names = {'event_id': 'event_id', 'external_id': 'job_card.id', 'upsell_lines': 'job_card.upsell_lines'}
    return build_event(fields, event_id=body.event_id, field_names=names)


class DmsAdapter:
    name: str = Source.DMS.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        signing.verify(request, secret, now, check_freshness=check_freshness)

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        data = load_json_object(request.body)
        body = validate(lambda: JobCardEvent.model_validate(data))
        return ParseResult(events=[to_event(body)])


adapter = DmsAdapter()
