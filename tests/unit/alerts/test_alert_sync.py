"""What a change to a ticket means for its pending alerts, the owner's worklist and the breach log (pure), and the
`alerts` document the ticket item carries (TicketAlerts) both built by hand and derived from a real ticket's SLA clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.alerts.plan import AlertKind, AlertRules, Escalation, PlannedAlert, Recipient, TicketAlerts, ticket_alerts
from shared.alerts.sync import Breach, PendingAlert, alert_id, changes, pending_alerts
from shared.events import Assignee, AssigneeRole, Kind, Priority, Source, Status, TicketEvent, UpsellLine
from shared.sla.calendar import BusinessCalendar
from shared.sla.clock import checkpoints, evaluate
from shared.sla.policy import Metric, SlaPolicy, Target
from shared.tickets.state import fold
from tests.support.factories import ticket_history

KEY = 'zendesk#T-1'
DUE = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

RISK = PlannedAlert(
    key=f'{KEY}|sla_risk|first_response|75%',
    kind=AlertKind.SLA_RISK,
    metric='first_response',
    threshold='75%',
    due_at=DUE - timedelta(hours=1),
    notify=(Recipient.ASSIGNEE,),
)
BREACH = PlannedAlert(
    key=f'{KEY}|sla_breach|first_response|level-1',
    kind=AlertKind.SLA_BREACH,
    metric='first_response',
    threshold='level-1',
    due_at=DUE,
    notify=(Recipient.ASSIGNEE, Recipient.MANAGER),
)
RESOLUTION = PlannedAlert(
    key=f'{KEY}|sla_breach|resolution|level-1',
    kind=AlertKind.SLA_BREACH,
    metric='resolution',
    threshold='level-1',
    due_at=DUE + timedelta(days=2),
    notify=(Recipient.ASSIGNEE,),
)


def ticket(**fields: Any) -> TicketAlerts:
    """An open ticket owned by E1 with a first-response risk and breach checkpoint and a resolution breach."""
    base: dict[str, Any] = {
        'ticket_key': KEY,
        'kind': Kind.TICKET,
        'ref': 'T-1',
        'owner': 'E1',
        'location_id': 'US-NYC',
        'status': 'open',
        'priority': 'normal',
        'sla_due_at': DUE,
        'planned': (RISK, BREACH, RESOLUTION),
    }
    return TicketAlerts(**(base | fields))


ALL_IDS = [
    f'{KEY}|sla_breach|first_response|level-1#assignee',
    f'{KEY}|sla_breach|first_response|level-1#manager',
    f'{KEY}|sla_breach|resolution|level-1#assignee',
    f'{KEY}|sla_risk|first_response|75%#assignee',
]


def test_a_new_ticket_gets_one_pending_alert_per_checkpoint_and_role() -> None:
    # Given a ticket seen for the first time, owned by E1
    new = ticket()

    # When its changes are worked out
    result = changes(None, new)

    # Then each (checkpoint, role) is one pending alert, named '<checkpoint key>#<role>', about the owner
    assert sorted(alert.alert_id for alert in result.upserts) == ALL_IDS
    assert {alert.subject for alert in result.upserts} == {'E1'}
    assert result.cancels == []
    # And the manager's copy of the breach carries the checkpoint's details
    manager = next(alert for alert in result.upserts if alert.role is Recipient.MANAGER)
    assert manager == PendingAlert(
        alert_id=f'{KEY}|sla_breach|first_response|level-1#manager',
        ticket_key=KEY,
        ref='T-1',
        kind=AlertKind.SLA_BREACH,
        metric='first_response',
        threshold='level-1',
        role=Recipient.MANAGER,
        subject='E1',
        due_at=DUE,
        shift_only=False,
        location_id='US-NYC',
    )
    # And the ticket goes on the owner's worklist, with no breach to remember yet
    assert result.worklist_put == [new]
    assert result.worklist_remove == []
    assert result.breaches == []


def test_alert_ids_name_the_checkpoint_and_the_role() -> None:
    # When ids are built for both roles, then the role follows a '#'
    assert alert_id('k|sla_risk|m|75%', Recipient.ASSIGNEE) == 'k|sla_risk|m|75%#assignee'
    assert alert_id('k|sla_risk|m|75%', Recipient.MANAGER) == 'k|sla_risk|m|75%#manager'


def test_an_unchanged_ticket_changes_nothing() -> None:
    # Given the same alerts before and after (an unrelated event, e.g. a tag, rebuilt an equal document)
    old, new = ticket(), ticket()

    # When the changes are worked out
    result = changes(old, new)

    # Then there is nothing to write
    assert result.empty
    assert (result.upserts, result.cancels, result.worklist_put, result.worklist_remove, result.breaches) == ([], [], [], [], [])


def test_a_priority_change_moves_only_the_checkpoints_that_moved() -> None:
    # Given a ticket raised to urgent: its first-response checkpoints come earlier, its resolution breach stays put
    old = ticket()
    moved_risk = RISK.model_copy(update={'due_at': DUE - timedelta(hours=3)})
    moved_breach = BREACH.model_copy(update={'due_at': DUE - timedelta(hours=2)})
    new = ticket(priority='urgent', sla_due_at=DUE - timedelta(hours=2), planned=(moved_risk, moved_breach, RESOLUTION))

    # When the changes are worked out
    result = changes(old, new)

    # Then the moved checkpoints are upserted at their new times (for every role), and the resolution alert is left alone
    assert {alert.alert_id: alert.due_at for alert in result.upserts} == {
        f'{KEY}|sla_risk|first_response|75%#assignee': DUE - timedelta(hours=3),
        f'{KEY}|sla_breach|first_response|level-1#assignee': DUE - timedelta(hours=2),
        f'{KEY}|sla_breach|first_response|level-1#manager': DUE - timedelta(hours=2),
    }
    assert result.cancels == []
    # And the worklist entry is refreshed (priority and due time are shown there)
    assert result.worklist_put == [new]
    assert result.worklist_remove == []


def test_a_plan_change_names_the_ticket_and_carries_its_whole_new_plan() -> None:
    # Given a ticket raised to urgent (its first-response checkpoints move) and the same ticket resolved
    old = ticket()
    moved = ticket(priority='urgent', planned=(RISK.model_copy(update={'due_at': DUE - timedelta(hours=3)}), BREACH, RESOLUTION))

    # When the changes are worked out, and those of a change that touches the worklist only
    result, resolved, worklist_only = changes(old, moved), changes(old, ticket(open=False)), changes(old, ticket(status='pending'))

    # Then a plan change names the ticket and carries every alert it plans now (the store rewrites the plan whole), moved
    # or not; a resolve carries an empty plan; a change with no alert moved names no plan to write
    assert result.ticket_key == KEY and sorted(result.planned) == sorted(ALL_IDS)
    assert result.planned[ALL_IDS[3]].due_at == DUE - timedelta(hours=3) and result.planned[ALL_IDS[2]].due_at == RESOLUTION.due_at
    assert (resolved.ticket_key, resolved.planned) == (KEY, {})
    assert (worklist_only.ticket_key, worklist_only.planned) == (None, {}) and worklist_only.worklist_put


def test_a_checkpoint_that_disappears_is_cancelled() -> None:
    # Given a ticket whose first response went out: only the resolution checkpoint is left
    old = ticket()
    new = ticket(planned=(RESOLUTION,), sla_due_at=RESOLUTION.due_at)

    # When the changes are worked out
    result = changes(old, new)

    # Then the first-response alerts are cancelled for every role, and nothing is upserted
    assert result.cancels == [ALL_IDS[0], ALL_IDS[1], ALL_IDS[3]]
    assert result.upserts == []


def test_resolving_cancels_every_pending_alert_and_clears_the_worklist() -> None:
    # Given an open ticket that is then solved (even if the image still lists its checkpoints)
    old = ticket()
    new = ticket(open=False, status='solved')

    # When the changes are worked out
    result = changes(old, new)

    # Then every pending alert is cancelled, none is upserted, and the ticket leaves the owner's worklist
    assert result.cancels == ALL_IDS
    assert result.upserts == []
    assert result.worklist_remove == [('E1', KEY)]
    assert result.worklist_put == []


def test_a_closed_ticket_has_no_pending_alerts() -> None:
    # When the pending alerts of a closed ticket, of a ticket without owner, and of no ticket are listed, then there are none
    assert pending_alerts(ticket(open=False)) == {}
    assert pending_alerts(ticket(owner=None)) == {}
    assert pending_alerts(None) == {}


def test_a_reassignment_moves_the_alerts_and_the_worklist_entry_to_the_new_owner() -> None:
    # Given a ticket passed from E1 to E2
    old = ticket()
    new = ticket(owner='E2')

    # When the changes are worked out
    result = changes(old, new)

    # Then every alert is rewritten about E2 (same ids: the checkpoints did not move), none is cancelled
    assert sorted(alert.alert_id for alert in result.upserts) == ALL_IDS
    assert {alert.subject for alert in result.upserts} == {'E2'}
    assert result.cancels == []
    # And the ticket leaves E1's worklist and goes on E2's
    assert result.worklist_remove == [('E1', KEY)]
    assert result.worklist_put == [new]


def test_a_ticket_without_a_known_owner_plans_nothing() -> None:
    # Given a new ticket whose assignee is not in the directory, with a breach already
    new = ticket(owner=None, breaches=('first_response@2026-11-23T15:00:00Z',))

    # When the changes are worked out
    result = changes(None, new)

    # Then nobody is told, nothing goes on a worklist, and no breach is recorded against anyone
    assert result.empty


def test_an_owner_leaving_the_directory_cancels_the_alerts() -> None:
    # Given a ticket whose owner mapping disappears
    result = changes(ticket(), ticket(owner=None))

    # Then the pending alerts are cancelled and the old owner's worklist entry removed
    assert result.cancels == ALL_IDS
    assert result.upserts == []
    assert result.worklist_remove == [('E1', KEY)]
    assert result.worklist_put == []


def test_a_new_breach_is_recorded_once_for_the_owner() -> None:
    # Given a ticket that breached its first-response target at 15:00Z
    before = ticket()
    first = ticket(breaches=('first_response@2026-11-23T15:00:00Z',))

    # When the breach appears, then it is recorded against the owner at that instant
    assert changes(before, first).breaches == [Breach('E1', KEY, 'T-1', 'first_response', datetime(2026, 11, 23, 15, 0, tzinfo=UTC))]

    # And when a later change also breaches the resolution target, only the new breach is recorded
    second = ticket(breaches=('first_response@2026-11-23T15:00:00Z', 'resolution@2026-11-25T16:30:00Z'))
    assert changes(first, second).breaches == [Breach('E1', KEY, 'T-1', 'resolution', datetime(2026, 11, 25, 16, 30, tzinfo=UTC))]

    # And an unrelated later change repeats neither
    assert changes(second, second.model_copy(update={'status': 'pending'})).breaches == []


def test_a_change_outside_the_worklist_fields_does_not_rewrite_the_worklist() -> None:
    # Given a ticket whose only change is a new checkpoint (the worklist shows none of them)
    old = ticket()
    extra = PlannedAlert(
        key=f'{KEY}|sla_breach|first_response|level-2',
        kind=AlertKind.SLA_BREACH,
        metric='first_response',
        threshold='level-2',
        due_at=DUE + timedelta(hours=1),
        notify=(Recipient.MANAGER,),
    )
    new = ticket(planned=(RISK, BREACH, extra, RESOLUTION))

    # When the changes are worked out
    result = changes(old, new)

    # Then the new alert is upserted, and the worklist is left alone
    assert [alert.alert_id for alert in result.upserts] == [f'{KEY}|sla_breach|first_response|level-2#manager']
    assert result.worklist_put == []
    assert result.worklist_remove == []


@pytest.mark.parametrize(
    ('field', 'value'),
    [
        ('ref', 'T-1-renamed'),
        ('status', 'pending'),
        ('priority', 'high'),
        ('promised_at', DUE),
        ('approval_since', DUE - timedelta(hours=5)),
        ('sla_due_at', DUE + timedelta(hours=1)),
        ('location_id', 'US-BOS'),
    ],
)
def test_a_change_to_a_worklist_field_rewrites_the_worklist_entry(field: str, value: object) -> None:
    # Given a ticket whose worklist field `field` changes
    old = ticket()
    new = ticket(**{field: value})

    # When the changes are worked out
    result = changes(old, new)

    # Then the owner's entry is put again (and not removed: the owner is the same)
    assert result.worklist_put == [new]
    assert result.worklist_remove == []


def test_the_alerts_document_survives_a_json_round_trip() -> None:
    # Given an alerts document with every field set
    alerts = ticket(
        kind=Kind.JOB_CARD,
        promised_at=DUE + timedelta(hours=4),
        approval_since=DUE - timedelta(minutes=30),
        breaches=('turnaround@2026-11-23T15:00:00Z',),
        planned=(RISK, BREACH.model_copy(update={'shift_only': True}), RESOLUTION),
    )

    # When it is written as JSON and read back
    text = alerts.to_json()
    back = TicketAlerts.from_json(text)

    # Then it is the same document (times, enums, tuples and the shift-only flag included)
    assert back == alerts
    assert back is not None and back.planned[1].shift_only is True
    # And a minimal document round-trips too, and a missing one reads as None
    minimal = TicketAlerts(ticket_key=KEY, kind=Kind.TICKET, ref='T-1')
    assert TicketAlerts.from_json(minimal.to_json()) == minimal
    assert TicketAlerts.from_json(None) is None
    assert TicketAlerts.from_json('') is None


# --- From a real ticket: TicketState + SLA evaluation -> ticket_alerts() -> changes() ---------------------------------

NYC = BusinessCalendar(
    calendar_id='nyc', timezone='America/New_York', hours={d: [('09:00', '17:00')] for d in ('mon', 'tue', 'wed', 'thu', 'fri')}
)
POLICY = SlaPolicy(
    policy_id='p',
    targets={
        Metric.FIRST_RESPONSE: {Priority.NORMAL: Target(minutes=240)},
        Metric.RESOLUTION: {Priority.NORMAL: Target(minutes=16 * 60)},
        Metric.TURNAROUND: {Priority.NORMAL: Target(minutes=8 * 60)},
    },
)
RULES = AlertRules(risk_shares=[0.75], escalations=[Escalation(after_minutes=0)])


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall time in October 2026 (EDT, UTC-4) as UTC."""
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC) + timedelta(hours=4)


def alerts_of(events: list[TicketEvent], rules: AlertRules = RULES, owner: str | None = 'E3') -> TicketAlerts:
    state = fold(events)
    points = checkpoints(events)
    return ticket_alerts(state, points, evaluate(state, events, POLICY, NYC, points), NYC, rules, owner, 'IN-BLR-01')


def card(step: int, at: datetime, status: Status, **fields: Any) -> TicketEvent:
    """Job card JC-2, opened Tuesday 13 October 09:00 New York, promised for 15:00."""
    return TicketEvent(
        source=Source.DMS,
        kind=Kind.JOB_CARD,
        external_id='JC-2',
        event_id=f'dms:JC-2:{step}',
        occurred_at=at,
        created_at=ny(13, 9),
        status=status,
        priority=Priority.NORMAL,
        promised_at=ny(13, 15),
        assignees=(Assignee(role=AssigneeRole.ADVISOR, agent_key='adv-1'),),
        **fields,
    )


def test_a_repeat_visit_alerts_the_assignee_and_the_manager() -> None:
    # Given a job card the DMS reports as a repeat of JC-1
    alerts = alerts_of([card(0, ny(13, 9), Status.OPEN, tags=('repeat_of:JC-1',))])

    # When its alerts document is built
    repeat = [planned for planned in alerts.planned if planned.kind is AlertKind.REPEAT_VISIT]

    # Then it carries one repeat-visit checkpoint, naming the earlier card, at the card's creation, for both roles
    assert repeat == [
        PlannedAlert(
            key='dms#JC-2|repeat_visit|vehicle|JC-1',
            kind=AlertKind.REPEAT_VISIT,
            metric='vehicle',
            threshold='JC-1',
            due_at=ny(13, 9),
            notify=(Recipient.ASSIGNEE, Recipient.MANAGER),
        )
    ]
    # And the document describes the card for the worklist
    assert (alerts.ticket_key, alerts.kind, alerts.ref, alerts.owner, alerts.open) == ('dms#JC-2', Kind.JOB_CARD, 'JC-2', 'E3', True)
    assert alerts.promised_at == ny(13, 15)
    # And a first sight of it queues both pending alerts about the owner
    upserts = {alert.alert_id: alert for alert in changes(None, alerts).upserts}
    assert upserts['dms#JC-2|repeat_visit|vehicle|JC-1#assignee'].subject == 'E3'
    assert upserts['dms#JC-2|repeat_visit|vehicle|JC-1#manager'].role is Recipient.MANAGER


def test_a_card_without_repeat_of_has_no_repeat_visit_checkpoint() -> None:
    # Given an ordinary job card, then no repeat-visit checkpoint is planned
    alerts = alerts_of([card(0, ny(13, 9), Status.OPEN)])
    assert [planned for planned in alerts.planned if planned.kind is AlertKind.REPEAT_VISIT] == []


def test_an_upsell_not_yet_accepted_is_flagged_to_the_assignee() -> None:
    # Given a job card on which the bay flagged two upsells at 10:00: brakes (not accepted) and wipers (accepted)
    lines = (
        UpsellLine(line_id='U-BRAKES', category='brakes', amount=Decimal('180.00'), accepted=False),
        UpsellLine(line_id='U-WIPERS', category='wipers', amount=Decimal('25.00'), accepted=True),
    )
    alerts = alerts_of([card(0, ny(13, 9), Status.OPEN), card(1, ny(13, 10), Status.OPEN, upsell_lines=lines)])

    # When its upsell checkpoints are read
    upsells = [planned for planned in alerts.planned if planned.kind is AlertKind.UPSELL_FLAGGED]

    # Then only the unaccepted line is flagged, as of the event that reported it, to the assignee only
    assert [(planned.key, planned.due_at, planned.notify) for planned in upsells] == [
        ('dms#JC-2|upsell_flagged|upsell|U-BRAKES', ny(13, 10), (Recipient.ASSIGNEE,))
    ]
    assert alert_id(upsells[0].key, Recipient.ASSIGNEE) in {alert.alert_id for alert in changes(None, alerts).upserts}


def test_a_shift_hours_only_escalation_marks_its_pending_alert() -> None:
    # Given rules whose second escalation (an hour after the breach, to the manager) waits for shift hours
    rules = AlertRules(
        risk_shares=[0.75],
        escalations=[Escalation(after_minutes=0), Escalation(after_minutes=60, notify=[Recipient.MANAGER], shift_hours_only=True)],
    )

    # When a ticket opened Tuesday 09:00 New York is planned and queued
    alerts = alerts_of(ticket_history(ny(13, 9)), rules, owner='E1')
    upserts = {alert.alert_id: alert for alert in changes(None, alerts).upserts}

    # Then only the level-2 first-response escalation is shift-only (4 business hours + 1 h after 09:00: 14:00)
    level_2 = upserts['zendesk#T-1|sla_breach|first_response|level-2#manager']
    assert level_2.shift_only is True
    assert level_2.due_at == ny(13, 14)
    assert upserts['zendesk#T-1|sla_breach|first_response|level-1#manager'].shift_only is False
    assert upserts['zendesk#T-1|sla_breach|first_response|level-1#assignee'].shift_only is False
    assert 'zendesk#T-1|sla_breach|first_response|level-2#assignee' not in upserts
    # And the flag survives the trip through the ticket item
    assert TicketAlerts.from_json(alerts.to_json()) == alerts


def test_a_late_first_response_is_recorded_as_a_breach_at_the_due_time() -> None:
    # Given a ticket opened Tuesday 09:00 New York (first response: 4 business hours, so due 13:00 EDT = 17:00Z), answered at 14:00
    events = ticket_history(ny(13, 9), (ny(13, 14), {'reply_count': 1, 'first_response_at': ny(13, 14)}))

    # When its alerts document is built and compared with the one before the answer
    before = alerts_of(events[:1], owner='E1')
    after = alerts_of(events, owner='E1')
    result = changes(before, after)

    # Then the breach is written as 'metric@instant', and recorded once against the owner
    assert after.breaches == ('first_response@2026-10-13T17:00:00Z',)
    assert result.breaches == [Breach('E1', 'zendesk#T-1', 'T-1', 'first_response', datetime(2026, 10, 13, 17, 0, tzinfo=UTC))]
    # And the answered first response cancels its pending alerts
    assert result.cancels == [
        'zendesk#T-1|sla_breach|first_response|level-1#assignee',
        'zendesk#T-1|sla_breach|first_response|level-1#manager',
        'zendesk#T-1|sla_risk|first_response|75%#assignee',
    ]


def test_solving_a_real_ticket_cancels_its_alerts_and_clears_the_worklist() -> None:
    # Given a ticket that is answered and solved the same morning
    opened = ticket_history(ny(13, 9))
    solved = ticket_history(
        ny(13, 9), (ny(13, 10), {'reply_count': 1, 'first_response_at': ny(13, 10)}), (ny(13, 11), {'status': Status.SOLVED})
    )
    before, after = alerts_of(opened, owner='E1'), alerts_of(solved, owner='E1')

    # When the changes are worked out
    result = changes(before, after)

    # Then the solved document is closed with nothing planned, every pending alert is cancelled, and the worklist entry goes
    assert after.open is False and after.planned == ()
    assert result.cancels == sorted(pending_alerts(before))
    assert len(result.cancels) == 6  # per target (first response, resolution): 75% to the assignee, level-1 to both roles
    assert result.worklist_remove == [('E1', 'zendesk#T-1')]
    assert result.upserts == []


def test_a_breach_from_before_the_owner_was_mapped_is_recorded_once_they_are() -> None:
    # Given a ticket that breached while its assignee was not in the directory (nobody to record it against), then the
    # directory import maps the owner and the ticket is re-evaluated with the same breach
    unmapped = ticket(owner=None, breaches=('first_response@2026-11-23T15:00:00Z',))
    mapped = ticket(owner='E1', breaches=('first_response@2026-11-23T15:00:00Z',))

    # When the changes are worked out
    result = changes(unmapped, mapped)

    # Then, as its alerts and worklist entry now appear for E1, its breach is recorded against E1 (it was never recorded
    # for anyone, and the daily reminder counts breaches by their instant)
    assert sorted(alert.alert_id for alert in result.upserts) == ALL_IDS
    assert result.worklist_put == [mapped]
    assert result.breaches == [Breach('E1', KEY, 'T-1', 'first_response', datetime(2026, 11, 23, 15, 0, tzinfo=UTC))]
