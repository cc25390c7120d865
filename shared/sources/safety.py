"""Safety reports entered by managers (a form, an EHS tool or a relay): a format we define
(`events/schemas/safety_report.schema.json`), signed with the Pitcrew scheme (`shared.sources.signing`).
One request = one report, or a correction of it.

Two kinds of report, each its own item (`safety#<report id>`):

* `compliance_check`: a manager checks an employee (PPE, lockout/tagout, lift procedure...): `passed` or `failed`;
* `hazard_report`: an employee raised a hazard, and the manager records it: outcome `reported`, with a severity.

The subject (`employee_id`) and the manager (`reported_by`) are employee ids; the subject is resolved through the
directory's profile. A manager cannot file a report about themselves. A correction is resent with a new `event_id`
and a later `occurred_at`; the latest counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.errors import InvalidPayload
from shared.events import AssigneeRole, Kind, Source, TicketEvent
from shared.sources import signing
from shared.sources.base import ParseResult, SourceSecret, WebhookRequest
from shared.sources.common import IsoDatetime, build_event, load_json_object, validate

SCHEMA_ID = 'pitcrew.safety.report/v1'
MAX_DESCRIPTION = 2000
OUTCOMES = {'compliance_check': ('passed', 'failed'), 'hazard_report': ('reported',)}

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
EmployeeId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class Report(BaseModel):
    # Unknown keys inside the report (checklist answers, photos) are ignored.
    model_config = ConfigDict(extra='ignore')

    id: Id
    type: Literal['compliance_check', 'hazard_report']
    employee_id: EmployeeId
    reported_by: EmployeeId
    outcome: Literal['passed', 'failed', 'reported']
    severity: Literal['low', 'medium', 'high'] | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION)] | None = None
    location_id: Id | None = None


class ReportEvent(BaseModel):
    model_config = ConfigDict(extra='forbid')

    schema_: Literal['pitcrew.safety.report/v1'] = Field(alias='schema')
    event_id: Id
    occurred_at: IsoDatetime
    report: Report


def to_event(body: ReportEvent) -> TicketEvent:
    report = body.report
    if report.outcome not in OUTCOMES[report.type]:
        raise InvalidPayload(f'the outcome of a {report.type} is {" or ".join(OUTCOMES[report.type])}', field='report.outcome')
    if report.type == 'hazard_report' and report.severity is None:
        raise InvalidPayload('a hazard report needs a severity', field='report.severity')
    if report.reported_by.lower() == report.employee_id.lower():
        raise InvalidPayload('a manager cannot file a report about themselves', field='report.reported_by')
    fields: dict[str, Any] = {
        'source': Source.SAFETY,
        'kind': Kind.SAFETY_REPORT,
        'external_id': report.id,
        'occurred_at': body.occurred_at,
        'location_id': report.location_id,
        'raw_status': report.outcome,
        'assignees': ({'role': AssigneeRole.AGENT, 'agent_key': report.employee_id},),
        'safety_report': {
            'report_id': report.id,
            'report_type': report.type,
            'outcome': report.outcome,
            'severity': report.severity,
            'reported_by': report.reported_by,
            'description': report.description or None,
        },
    }
    names = {'event_id': 'event_id', 'external_id': 'report.id', 'assignees': 'report.employee_id', 'safety_report': 'report'}
    return build_event(fields, event_id=body.event_id, field_names=names)


class SafetyAdapter:
    name: str = Source.SAFETY.value

    def authenticate(self, request: WebhookRequest, secret: SourceSecret, now: datetime, *, check_freshness: bool = True) -> None:
        signing.verify(request, secret, now, check_freshness=check_freshness)

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        data = load_json_object(request.body)
        body = validate(lambda: ReportEvent.model_validate(data))
        return ParseResult(events=[to_event(body)])


adapter = SafetyAdapter()
