"""Alert checkpoints from SLA clocks (pure): threshold timing in business time, cancellation, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.alerts.plan import AlertCheckpoint, AlertKind, AlertRules, Escalation, Recipient, plan
from shared.events import Assignee, AssigneeRole, Kind, Priority, Source, Status, TicketEvent
from shared.sla.calendar import BusinessCalendar
from shared.sla.clock import checkpoints, evaluate
from shared.sla.policy import Metric, SlaPolicy, Target
from shared.tickets.state import fold
from tests.support.factories import ticket_history

NYC = BusinessCalendar(
    calendar_id='nyc', timezone='America/New_York', hours={d: [('09:00', '17:00')] for d in ('mon', 'tue', 'wed', 'thu', 'fri')}
)
POLICY = SlaPolicy(
    policy_id='p',
    targets={
        Metric.FIRST_RESPONSE: {Priority.NORMAL: Target(minutes=240), Priority.URGENT: Target(minutes=60)},
        Metric.RESOLUTION: {Priority.NORMAL: Target(minutes=16 * 60)},
        Metric.TURNAROUND: {Priority.NORMAL: Target(minutes=8 * 60)},
    },
)
RULES = AlertRules(risk_shares=[0.75], escalations=[Escalation(after_minutes=0), Escalation(after_minutes=60, notify=[Recipient.MANAGER])])


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall time in October 2026 (EDT) as UTC."""
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC) + timedelta(hours=4)


def checkpoints_of(events: list[TicketEvent], rules: AlertRules = RULES) -> list[AlertCheckpoint]:
    state = fold(events)
    return plan(state, checkpoints(events), evaluate(state, events, POLICY, NYC), NYC, rules)


def by_key(found: list[AlertCheckpoint]) -> dict[tuple[str, str, str], datetime]:
    return {(c.kind.value, c.metric, c.threshold): c.due_at for c in found}


def test_the_risk_alert_falls_at_75_percent_of_the_target_in_business_time() -> None:
    # Given a normal ticket opened Friday 16:00 New York (first response: 4 business hours)
    events = ticket_history(ny(9, 16))

    # When its alert checkpoints are planned
    found = by_key(checkpoints_of(events))

    # Then 75% (3 business hours: Friday 16:00-17:00, then Monday 09:00-11:00) falls on Monday 11:00, the breach at
    # Monday 12:00, and the manager's escalation an hour later
    assert found[('sla_risk', 'first_response', '75%')] == ny(12, 11)
    assert found[('sla_breach', 'first_response', 'level-1')] == ny(12, 12)
    assert found[('sla_breach', 'first_response', 'level-2')] == ny(12, 13)


def test_the_breach_alert_goes_to_the_assignee_and_the_manager_and_the_risk_alert_to_the_assignee() -> None:
    # Given an open ticket
    found = checkpoints_of(ticket_history(ny(13, 9)))

    # When the recipients of its first-response checkpoints are read
    notify = {(c.kind, c.threshold): c.notify for c in found if c.metric == 'first_response'}

    # Then they follow the rules
    assert notify == {
        (AlertKind.SLA_RISK, '75%'): (Recipient.ASSIGNEE,),
        (AlertKind.SLA_BREACH, 'level-1'): (Recipient.ASSIGNEE, Recipient.MANAGER),
        (AlertKind.SLA_BREACH, 'level-2'): (Recipient.MANAGER,),
    }


def test_resolving_or_replying_cancels_the_pending_alerts() -> None:
    # Given an open ticket, then the same ticket answered, then solved
    opened = ticket_history(ny(13, 9))
    replied = ticket_history(ny(13, 9), (ny(13, 10), {'reply_count': 1, 'first_response_at': ny(13, 10)}))
    solved = ticket_history(
        ny(13, 9), (ny(13, 10), {'reply_count': 1, 'first_response_at': ny(13, 10)}), (ny(13, 11), {'status': Status.SOLVED})
    )

    # When their checkpoints are planned
    planned = [{c.metric for c in checkpoints_of(events)} for events in (opened, replied, solved)]

    # Then the reply removes the first-response alerts, and the solve removes every alert
    assert planned == [{'first_response', 'resolution'}, {'resolution'}, set()]


def test_a_pause_cancels_the_resolution_alerts_and_the_resume_moves_them() -> None:
    # Given a ticket answered at once, pending from Tuesday 10:00 to Wednesday 10:00 (16 business hours to resolve)
    created = ny(13, 9)
    base = [(ny(13, 9, 1), {'reply_count': 1, 'first_response_at': ny(13, 9, 1)})]
    pending = ticket_history(created, *base, (ny(13, 10), {'status': Status.PENDING}))
    resumed = ticket_history(created, *base, (ny(13, 10), {'status': Status.PENDING}), (ny(14, 10), {'status': Status.OPEN}))

    # When their checkpoints are planned
    while_pending = [c for c in checkpoints_of(pending) if c.metric == 'resolution']
    after = by_key(checkpoints_of(resumed))

    # Then nothing is planned while the clock is paused; after it, the breach falls 15 business hours after the resume
    # (1 h was used on Tuesday): Wednesday 10:00 + 7 h = 17:00, + 8 h Thursday = Thursday 17:00
    assert while_pending == []
    assert after[('sla_breach', 'resolution', 'level-1')] == ny(15, 17)
    # And 75% (12 h; 11 h after the resume) falls on Thursday 13:00
    assert after[('sla_risk', 'resolution', '75%')] == ny(15, 13)


def test_a_priority_change_moves_the_checkpoints() -> None:
    # Given a ticket opened Tuesday 09:00 at normal priority, raised to urgent at 09:10 (first response: 1 h)
    events = ticket_history(ny(13, 9), (ny(13, 9, 10), {'priority': Priority.URGENT}))

    # When its checkpoints are planned
    found = by_key(checkpoints_of(events))

    # Then the first-response breach is at 10:00, recalculated from creation with the urgent target
    assert found[('sla_breach', 'first_response', 'level-1')] == ny(13, 10)
    assert found[('sla_risk', 'first_response', '75%')] == ny(13, 9, 45)


def test_each_checkpoint_has_a_stable_key_per_item_kind_and_threshold() -> None:
    # Given the same open ticket planned after two unrelated later events
    first = checkpoints_of(ticket_history(ny(13, 9)))
    again = checkpoints_of(ticket_history(ny(13, 9), (ny(13, 9, 5), {'tags': ('vip',)})))

    # Then the keys are the same (an alert already sent for a key is not sent again)
    assert [c.key for c in first] == [c.key for c in again]
    assert first[0].key == 'zendesk#T-1|sla_risk|first_response|75%'


def card(step: int, at: datetime, status: Status, **fields: Any) -> TicketEvent:
    return TicketEvent(
        source=Source.DMS,
        kind=Kind.JOB_CARD,
        external_id='JC-1',
        event_id=f'dms:JC-1:{step}',
        occurred_at=at,
        created_at=ny(13, 9),
        status=status,
        promised_at=ny(13, 15),
        assignees=(Assignee(role=AssigneeRole.ADVISOR, agent_key='adv-1'),),
        **fields,
    )


def test_a_job_card_is_flagged_past_its_promise_and_when_approval_waits_too_long() -> None:
    # Given a job card opened Tuesday 09:00, promised for 15:00, waiting for the customer's approval since 10:00
    events = [card(0, ny(13, 9), Status.OPEN), card(1, ny(13, 10), Status.PENDING), card(2, ny(13, 11), Status.PENDING, tags=('note',))]

    # When its checkpoints are planned (approval wait: 120 business minutes)
    found = by_key(checkpoints_of(events))

    # Then it is flagged at the promised time, and when the approval has waited 2 business hours since 10:00 (not since
    # the later note at 11:00)
    assert found[('promise_missed', 'promise', 'promised')] == ny(13, 15)
    assert found[('approval_waiting', 'approval', '120m@20261013T1400')] == ny(13, 12)


def test_risk_shares_must_lie_between_zero_and_one() -> None:
    # When rules with a 100% share are built, then they are refused
    try:
        AlertRules(risk_shares=[1.0])
    except ValueError as exc:
        assert 'risk_shares' in str(exc)
    else:
        raise AssertionError('a 100% share was accepted')


def test_every_sla_checkpoint_carries_the_targets_own_due_time() -> None:
    # Given the ticket opened Friday 16:00 New York, whose first response is due Monday 12:00
    found = checkpoints_of(ticket_history(ny(9, 16)))

    # When the first-response checkpoints are read with the due time they carry
    carried = {(c.kind.value, c.threshold): (c.due_at, c.target_due_at) for c in found if c.metric == 'first_response'}

    # Then the 75% mark (Monday 11:00) and the escalation an hour after the breach (13:00) both name the target's
    # due time, Monday 12:00: what their messages say is due
    assert carried == {
        ('sla_risk', '75%'): (ny(12, 11), ny(12, 12)),
        ('sla_breach', 'level-1'): (ny(12, 12), ny(12, 12)),
        ('sla_breach', 'level-2'): (ny(12, 13), ny(12, 12)),
    }
