"""Builders for canonical events and directory rows used across tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.sync import PendingAlert, alert_id
from shared.events import Assignee, AssigneeRole, Channel, Kind, Priority, Source, Status, Survey, TicketEvent

T0 = datetime(2024, 5, 14, 9, 0, tzinfo=UTC)


def ticket_event(
    ticket: str = '1001',
    n: int = 0,
    *,
    status: Status = Status.OPEN,
    minutes: float = 0,
    agent: str | None = 'agent1@example.com',
    source: Source = Source.ZENDESK,
    priority: Priority = Priority.NORMAL,
    channel: Channel = Channel.EMAIL,
    **extra: Any,
) -> TicketEvent:
    return TicketEvent(
        source=source,
        external_id=ticket,
        event_id=f'{source.value}:{ticket}:{n}',
        occurred_at=T0 + timedelta(minutes=minutes),
        created_at=T0,
        status=status,
        priority=priority,
        channel=channel,
        assignees=(Assignee(agent_key=agent),) if agent else (),
        **extra,
    )


def ticket_history(
    created: datetime, *changes: tuple[datetime, dict[str, Any]], priority: Priority = Priority.NORMAL, **common: Any
) -> list[TicketEvent]:
    """Zendesk ticket T-1 created at `created` (status new), then one event per (when, fields) change; `common`
    fields (channel, assignees, ...) go on every event."""
    common.setdefault('channel', Channel.EMAIL)
    steps = [(created, {'status': Status.NEW, 'priority': priority}), *changes]
    return [
        TicketEvent(source=Source.ZENDESK, external_id='T-1', event_id=f'zendesk:T-1:{n}', occurred_at=when, created_at=created,
                    **(common | fields))
        for n, (when, fields) in enumerate(steps)
    ]


def survey_event(ticket: str = '1001', csat: int | None = 5, *, minutes: float = 600, response: str = 'r1',
                 source: Source = Source.ZENDESK, at: datetime | None = None, nps: int | None = None) -> TicketEvent:
    """A survey response for `ticket`, submitted `minutes` after T0 (or at `at`)."""
    return TicketEvent(
        source=source,
        kind=Kind.SURVEY,
        external_id=ticket,
        event_id=f'survey:{response}',
        occurred_at=at or T0 + timedelta(minutes=minutes),
        survey=Survey(response_id=response, csat=csat, nps=nps),
    )


def job_card_event(card: str, n: int, status: Status, *, minutes: float, promised_minutes: float = 240,
                   advisor: str = 'adv-1', technician: str = 'tech-1', **extra: Any) -> TicketEvent:
    return TicketEvent(
        source=Source.DMS,
        kind=Kind.JOB_CARD,
        external_id=card,
        event_id=f'dms:{card}:{n}',
        occurred_at=T0 + timedelta(minutes=minutes),
        created_at=T0,
        status=status,
        channel=Channel.WALK_IN,
        promised_at=T0 + timedelta(minutes=promised_minutes),
        assignees=(Assignee(role=AssigneeRole.ADVISOR, agent_key=advisor), Assignee(role=AssigneeRole.TECHNICIAN, agent_key=technician)),
        **extra,
    )


DIRECTORY_CSV = """employee_id,name,role,job_grade,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone,zendesk_agent_id,freshdesk_agent_id,dms_agent_id
E1,Ana Agent,agent,L1,US-NYC,US-East,M1,+15558675310,yes,agent1@example.com,America/New_York,agent1@example.com,agent1@example.com,
E2,Bo Agent,agent,L2,US-NYC,US-East,M1,+15558675311,no,agent2@example.com,America/New_York,agent2@example.com,,
E3,Chandra Advisor,service_advisor,SA2,IN-BLR-01,IN-South,M2,+919812345678,yes,chandra@example.com,Asia/Kolkata,,,adv-1
E4,Dev Technician,technician,T1,IN-BLR-01,IN-South,M2,+919812345679,yes,dev@example.com,Asia/Kolkata,,,tech-1
M1,Maria Manager,manager,M,US-NYC,US-East,,+15558675300,no,maria@example.com,America/New_York,,,
"""


def risk_alert(subject: str, due_at: datetime, ticket: str = '1001', role: Recipient = Recipient.ASSIGNEE,
               target_due_at: datetime | None = None, ref: str | None = None) -> PendingAlert:  # fmt: skip
    """The 75% first-response alert of Zendesk ticket `ticket` for `subject` (as the alert planner writes it; without
    `target_due_at`, as it wrote it before it kept the target's due time). `ref`: the id people know, '#<ticket>'."""
    return PendingAlert(
        alert_id=alert_id(f'zendesk#{ticket}|sla_risk|first_response|75%', role),
        ticket_key=f'zendesk#{ticket}',
        ref=ref if ref is not None else f'#{ticket}',
        kind=AlertKind.SLA_RISK,
        metric='first_response',
        threshold='75%',
        role=role,
        subject=subject,
        due_at=due_at,
        location_id='L1',
        target_due_at=target_due_at,
    )
