"""The AlertsTable against DynamoDB (moto, tables from template.yaml): the sparse `due` index the one-minute scan reads,
the claims that make an alert go out once, Twilio's status callbacks, worklists and breaches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.alerts.plan import Recipient, TicketAlerts
from shared.alerts.scan import AlertMessage, scan
from shared.alerts.store import AlertStore
from shared.alerts.sync import AlertChanges, Breach, PendingAlert
from shared.events import Kind
from shared.ingest.queue import SqsEventQueue
from tests.support.factories import risk_alert
from tests.support.local_aws import LocalAws, local_aws

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as aws:
        yield aws


@pytest.fixture()
def store(aws: LocalAws) -> AlertStore:
    return AlertStore()


def pending(n: int, due_at: datetime, role: Recipient = Recipient.ASSIGNEE, subject: str = 'E1') -> PendingAlert:
    return risk_alert(subject, due_at, str(n), role)


def due_ids(store: AlertStore, now: datetime) -> list[str]:
    return sorted(due.alert_id for due in store.due(now).due)


def sent(store: AlertStore, alert: PendingAlert, sid: str = 'SM' + '1' * 32, claim: str = 'msg-1') -> None:
    """An alert that went out by WhatsApp (claimed and recorded as the sender does)."""
    store.upsert(alert, alert.due_at - timedelta(hours=1))
    assert store.claim(alert.alert_id, claim, alert.due_at) is not None
    assert store.record_sent(alert.alert_id, claim, channel='whatsapp', recipient=alert.subject, sid=sid, status='queued',
                             sent_at=alert.due_at, lateness_s=0.0)  # fmt: skip


def queue_bodies(aws: LocalAws) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    url = aws.queues['AlertsQueue']
    while batch := aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get('Messages', []):
        for message in batch:
            aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message['ReceiptHandle'])
            bodies.append(json.loads(message['Body']))
    return bodies


def work(ticket: str, ref: str, owner: str = 'E1', **fields: Any) -> TicketAlerts:
    return TicketAlerts(ticket_key=ticket, kind=fields.pop('kind', Kind.TICKET), ref=ref, owner=owner, **fields)


# --- the due index (what the one-minute scan reads) ---------------------------------------------------------


def test_the_due_query_reads_only_the_alerts_that_are_due(store: AlertStore) -> None:
    # Given 40 pending alerts of which 7 are due at NOW (one exactly at NOW), plus a sent one, a cancelled one and
    # worklist/breach items in the same table
    due_now = [pending(n, NOW - timedelta(minutes=n)) for n in range(7)]
    later = [pending(100 + n, NOW + timedelta(minutes=1 + n)) for n in range(33)]
    for alert in due_now + later:
        assert store.upsert(alert, NOW - timedelta(hours=2))
    sent(store, pending(500, NOW - timedelta(minutes=30)))
    store.upsert(pending(501, NOW - timedelta(minutes=5)), NOW - timedelta(hours=2))
    store.cancel(pending(501, NOW).alert_id, NOW - timedelta(minutes=10))
    store.put_worklist(work('zendesk#1', '#1'))
    store.put_breach(Breach('E1', 'zendesk#1', '#1', 'first_response', NOW - timedelta(hours=3)))

    # When the scan queries the due index
    stats = store.due(NOW)

    # Then it found exactly the 7 due alerts, and read 7 items (not 40, nor the table): one Query per shard
    assert sorted(d.alert_id for d in stats.due) == sorted(a.alert_id for a in due_now)
    assert stats.items_read == 7
    assert stats.queries == store.shards
    assert {d.shard for d in stats.due} <= {str(s) for s in range(store.shards)}
    assert all(d.shard == store.shard_of(d.alert_id) for d in stats.due)


def test_queued_alerts_leave_the_index(store: AlertStore) -> None:
    # Given 3 due alerts and one not yet due
    alerts = [pending(n, NOW - timedelta(minutes=1)) for n in range(3)]
    for alert in [*alerts, pending(9, NOW + timedelta(minutes=5))]:
        store.upsert(alert, NOW - timedelta(hours=1))

    # When each due one is marked queued
    marked = [store.mark_queued(due, NOW) for due in store.due(NOW).due]

    # Then all three were marked, and a second query finds none of them (and reads nothing)
    assert marked == [True, True, True]
    again = store.due(NOW)
    assert again.due == [] and again.items_read == 0
    assert {store.get(a.alert_id).status for a in alerts} == {'queued'}  # type: ignore[union-attr]


def test_two_scans_in_the_same_minute_queue_each_alert_once(aws: LocalAws, store: AlertStore) -> None:
    # Given two due alerts
    alerts = [pending(n, NOW - timedelta(minutes=2)) for n in range(2)]
    for alert in alerts:
        store.upsert(alert, NOW - timedelta(hours=1))
    queue = SqsEventQueue(aws.queues['AlertsQueue'], aws.sqs)

    # When the scan runs twice at the same minute
    first = scan(store, queue, NOW, max_late_minutes=360, wall=lambda: 1000.0)
    second = scan(store, queue, NOW, max_late_minutes=360, wall=lambda: 1000.0)

    # Then the first queued both and the second found and queued nothing: two messages on the alerts queue
    assert (first.due, first.queued, first.items_read) == (2, 2, 2)
    assert (second.due, second.queued, second.items_read) == (0, 0, 0)
    messages = [AlertMessage.model_validate(body) for body in queue_bodies(aws)]
    assert sorted(m.alert for m in messages) == sorted(a.alert_id for a in alerts)
    assert {(m.at, m.queued, m.fallback) for m in messages} == {(NOW, 1000.0, None)}


def test_two_scans_that_both_read_an_alert_mark_it_queued_once(store: AlertStore) -> None:
    # Given two overlapping scans that both found the same due alert
    store.upsert(pending(1, NOW - timedelta(minutes=1)), NOW - timedelta(hours=1))
    [seen_by_first] = store.due(NOW).due
    [seen_by_second] = store.due(NOW).due

    # When both mark it queued
    first = store.mark_queued(seen_by_first, NOW)
    second = store.mark_queued(seen_by_second, NOW)

    # Then only the first did
    assert (first, second) == (True, False)


def test_an_alert_found_too_late_is_expired_not_queued(aws: LocalAws, store: AlertStore) -> None:
    # Given an alert due 7 hours ago (the cut-off is 6 hours) and one due a minute ago
    stale, fresh = pending(1, NOW - timedelta(hours=7)), pending(2, NOW - timedelta(minutes=1))
    for alert in (stale, fresh):
        store.upsert(alert, NOW - timedelta(hours=8))

    # When the scan runs
    result = scan(store, SqsEventQueue(aws.queues['AlertsQueue'], aws.sqs), NOW, max_late_minutes=360, wall=lambda: 0.0)

    # Then the stale one is recorded expired with a reason and only the fresh one is queued
    assert (result.due, result.queued, result.expired) == (2, 1, 1)
    expired = store.get(stale.alert_id)
    assert expired is not None and expired.status == 'expired' and expired.reason
    assert [body['alert'] for body in queue_bodies(aws)] == [fresh.alert_id]
    assert store.due(NOW).due == []


# --- claims (the sender) ---------------------------------------------------------------------------------


def test_two_claims_with_different_claim_ids_let_one_through(store: AlertStore) -> None:
    # Given a queued alert
    alert = pending(1, NOW - timedelta(minutes=1))
    store.upsert(alert, NOW - timedelta(hours=1))
    [due] = store.due(NOW).due
    store.mark_queued(due, NOW)

    # When two queue messages for it are handled at once
    first = store.claim(alert.alert_id, 'msg-a', NOW)
    second = store.claim(alert.alert_id, 'msg-b', NOW)

    # Then only the first got the alert, now `sending` under its claim
    assert first is not None and first.status == 'sending' and first.claim == 'msg-a'
    assert second is None
    current = store.get(alert.alert_id)
    assert current is not None and current.claim == 'msg-a'


def test_the_same_message_delivered_again_may_take_its_own_claim_back(store: AlertStore) -> None:
    # Given an alert claimed by message msg-a (whose first delivery died mid-way)
    alert = pending(1, NOW - timedelta(minutes=1))
    store.upsert(alert, NOW - timedelta(hours=1))
    assert store.claim(alert.alert_id, 'msg-a', NOW) is not None

    # When msg-a is delivered again, then another message tries, then another after the lease ran out
    again = store.claim(alert.alert_id, 'msg-a', NOW + timedelta(seconds=30))
    other = store.claim(alert.alert_id, 'msg-b', NOW + timedelta(minutes=1))
    takeover = store.claim(alert.alert_id, 'msg-c', NOW + timedelta(minutes=6))

    # Then msg-a gets it back, msg-b does not, and msg-c takes it over after the 5-minute lease
    assert again is not None and again.claim == 'msg-a'
    assert other is None
    assert takeover is not None and takeover.claim == 'msg-c'


def test_an_alert_cannot_be_claimed_before_it_is_due(store: AlertStore) -> None:
    # Given an alert due in 10 minutes (moved by the planner after it was queued, for example)
    alert = pending(1, NOW + timedelta(minutes=10))
    store.upsert(alert, NOW)

    # When a sender tries to claim it now, and again once it is due
    early = store.claim(alert.alert_id, 'msg-a', NOW)
    on_time = store.claim(alert.alert_id, 'msg-a', NOW + timedelta(minutes=10))

    # Then the early claim gets nothing and leaves it pending in the index; the one on time gets it
    assert early is None
    assert on_time is not None and on_time.status == 'sending'


def test_a_cancelled_alert_cannot_be_claimed(store: AlertStore) -> None:
    # Given a queued alert whose ticket was resolved meanwhile
    alert = pending(1, NOW - timedelta(minutes=1))
    store.upsert(alert, NOW - timedelta(hours=1))
    [due] = store.due(NOW).due
    store.mark_queued(due, NOW)
    assert store.cancel(alert.alert_id, NOW, 'ticket resolved')

    # When its queue message arrives
    claimed = store.claim(alert.alert_id, 'msg-a', NOW)

    # Then nothing is claimed and the alert stays cancelled with the reason
    assert claimed is None
    current = store.get(alert.alert_id)
    assert current is not None and (current.status, current.reason) == ('cancelled', 'ticket resolved')


def test_an_alert_that_went_out_is_not_moved_by_the_planner(store: AlertStore) -> None:
    # Given an alert sent at its time
    alert = pending(1, NOW - timedelta(minutes=1))
    sent(store, alert)

    # When the planner upserts it again with a later time (a priority change after it went out)
    moved = store.upsert(pending(1, NOW + timedelta(hours=1)), NOW)

    # Then the upsert says so and the alert is unchanged, and not back in the due index
    assert moved is False
    current = store.get(alert.alert_id)
    assert current is not None and (current.status, current.due_at) == ('sent', alert.due_at)
    assert current.message_sid == 'SM' + '1' * 32
    assert due_ids(store, NOW + timedelta(days=1)) == []
    assert store.cancel(alert.alert_id, NOW) is False


def test_the_planner_moves_a_pending_alert(store: AlertStore) -> None:
    # Given a pending alert due in 10 minutes
    store.upsert(pending(1, NOW + timedelta(minutes=10)), NOW)

    # When the planner moves it to 30 minutes (a priority change)
    moved = store.upsert(pending(1, NOW + timedelta(minutes=30)), NOW)

    # Then it is pending at the new time, in the index only from then
    assert moved is True
    assert due_ids(store, NOW + timedelta(minutes=10)) == []
    assert due_ids(store, NOW + timedelta(minutes=30)) == [pending(1, NOW).alert_id]


def test_cancel_takes_a_pending_alert_out_of_the_index(store: AlertStore) -> None:
    # Given a pending alert that is due
    alert = pending(1, NOW - timedelta(minutes=1))
    store.upsert(alert, NOW - timedelta(hours=1))

    # When it is cancelled
    cancelled = store.cancel(alert.alert_id, NOW, 'ticket paused')

    # Then it is cancelled and the scan no longer finds it
    assert cancelled is True
    current = store.get(alert.alert_id)
    assert current is not None and (current.status, current.reason) == ('cancelled', 'ticket paused')
    assert store.due(NOW).due == []


def test_hold_puts_a_claimed_alert_back_in_the_index_at_the_new_time(store: AlertStore) -> None:
    # Given an alert claimed by a sender that finds the recipient in quiet hours
    alert = pending(1, NOW - timedelta(minutes=1))
    store.upsert(alert, NOW - timedelta(hours=1))
    assert store.claim(alert.alert_id, 'msg-a', NOW) is not None
    until = NOW + timedelta(hours=9)

    # When it is held until the quiet hours end
    held = store.hold(alert.alert_id, 'msg-a', until, 'quiet hours')

    # Then it is pending again with the new due time, found by the scan from that time only
    assert held is True
    current = store.get(alert.alert_id)
    assert current is not None and (current.status, current.due_at, current.reason) == ('pending', until, 'quiet hours')
    assert due_ids(store, until - timedelta(seconds=1)) == []
    assert due_ids(store, until) == [alert.alert_id]


def test_a_sender_that_lost_its_claim_cannot_record_anything(store: AlertStore) -> None:
    # Given an alert taken over by msg-b after msg-a's lease ran out
    alert = pending(1, NOW - timedelta(minutes=1))
    store.upsert(alert, NOW - timedelta(hours=1))
    store.claim(alert.alert_id, 'msg-a', NOW)
    store.claim(alert.alert_id, 'msg-b', NOW + timedelta(minutes=6))

    # When msg-a finally tries to record its outcome
    recorded = store.record_sent(alert.alert_id, 'msg-a', channel='sms', recipient='E1', sid='SMx', status='queued', sent_at=NOW,
                                 lateness_s=0.0)  # fmt: skip

    # Then nothing is written
    assert recorded is False
    current = store.get(alert.alert_id)
    assert current is not None and (current.status, current.claim, current.message_sid) == ('sending', 'msg-b', None)


# --- Twilio's status callbacks ---------------------------------------------------------------------------


def test_callbacks_out_of_order_keep_the_latest_status_and_the_whole_history(store: AlertStore) -> None:
    # Given an alert sent by WhatsApp
    alert = pending(1, NOW - timedelta(minutes=1))
    sid = 'SM' + 'a' * 32
    sent(store, alert, sid=sid)

    # When Twilio's `delivered` callback arrives before its `sent` callback
    delivered = store.record_status(alert.alert_id, sid, 'delivered', None, NOW + timedelta(seconds=5))
    late_sent = store.record_status(alert.alert_id, sid, 'sent', None, NOW + timedelta(seconds=6))

    # Then the status stays `delivered` and both callbacks are in the history, in arrival order
    assert delivered is not None and delivered.message_status == 'delivered'
    assert late_sent is not None and late_sent.message_status == 'delivered'
    current = store.get(alert.alert_id)
    assert current is not None and current.message_status == 'delivered'
    assert current.history[1:] == ('whatsapp:delivered@2024-05-20T12:00:05Z', 'whatsapp:sent@2024-05-20T12:00:06Z')


def test_a_failed_callback_records_the_error_code(store: AlertStore) -> None:
    # Given an alert sent by WhatsApp
    alert = pending(1, NOW - timedelta(minutes=1))
    sid = 'SM' + 'b' * 32
    sent(store, alert, sid=sid)

    # When Twilio reports it failed with 63016
    item = store.record_status(alert.alert_id, sid, 'failed', 63016, NOW)

    # Then the status and the code are on the alert and in its history
    assert item is not None and (item.message_status, item.error_code) == ('failed', 63016)
    assert item.history[-1] == 'whatsapp:failed 63016@2024-05-20T12:00:00Z'


def test_a_callback_for_an_unknown_message_is_ignored(store: AlertStore) -> None:
    # Given an alert sent with one SID
    alert = pending(1, NOW - timedelta(minutes=1))
    sent(store, alert, sid='SM' + 'c' * 32)

    # When callbacks arrive for another SID, and for an alert that does not exist
    other_sid = store.record_status(alert.alert_id, 'SM' + 'd' * 32, 'delivered', None, NOW)
    no_alert = store.record_status('zendesk#404|sla_risk|first_response|75%#assignee', 'SM' + 'c' * 32, 'delivered', None, NOW)

    # Then both are refused and the alert is unchanged
    assert other_sid is None and no_alert is None
    current = store.get(alert.alert_id)
    assert current is not None and current.message_status == 'queued' and len(current.history) == 1


def test_the_sms_fallbacks_status_is_kept_apart(store: AlertStore) -> None:
    # Given a WhatsApp alert that failed and whose SMS fallback went out
    alert = pending(1, NOW - timedelta(minutes=1))
    whatsapp_sid, sms_sid = 'SM' + 'e' * 32, 'SM' + 'f' * 32
    sent(store, alert, sid=whatsapp_sid)
    store.record_status(alert.alert_id, whatsapp_sid, 'failed', 63016, NOW)
    store.record_fallback(alert.alert_id, sms_sid, 'sms')

    # When the fallback's `delivered` callback arrives
    item = store.record_status(alert.alert_id, sms_sid, 'delivered', None, NOW + timedelta(seconds=3))

    # Then it goes to fallback_status; the WhatsApp message stays `failed`
    assert item is not None
    assert (item.message_status, item.fallback_sid, item.fallback_status) == ('failed', sms_sid, 'delivered')
    assert item.history[-1] == 'sms-fallback:delivered@2024-05-20T12:00:03Z'


def test_the_sms_fallback_is_claimed_once(store: AlertStore) -> None:
    # Given a sent alert and a pending one
    alert = pending(1, NOW - timedelta(minutes=1))
    sent(store, alert)
    not_sent = pending(2, NOW + timedelta(minutes=5))
    store.upsert(not_sent, NOW)

    # When the fallback is claimed twice (two failed callbacks), and for the alert that never went out
    first = store.claim_fallback(alert.alert_id, NOW)
    second = store.claim_fallback(alert.alert_id, NOW + timedelta(seconds=1))
    unsent = store.claim_fallback(not_sent.alert_id, NOW)

    # Then only the first claim succeeds
    assert (first, second, unsent) == (True, False, False)


# --- what the planner writes, worklists and breaches ------------------------------------------------------


def plan_change(ticket: str, *alerts: PendingAlert, previous: tuple[PendingAlert, ...] = ()) -> AlertChanges:
    """A ticket change as sync.changes() gives it: the ticket's whole new plan, what was added or moved, what left it."""
    planned = {alert.alert_id: alert for alert in alerts}
    before = {alert.alert_id: alert for alert in previous}
    return AlertChanges(
        upserts=[alert for key, alert in planned.items() if before.get(key) != alert],
        cancels=sorted(key for key in before if key not in planned),
        previous=before,
        ticket_key=ticket,
        planned=planned,
    )


def write_out(store: AlertStore, ticket: str, now: datetime) -> tuple[list[str], Any]:
    """The scan's writing out of a ticket's plan at `now` (alerts older than 15 minutes too late): what it queued."""
    sent: list[str] = []
    result = store.materialise(ticket, now, now - timedelta(minutes=15), sent.extend)
    return sent, result


def alert_items(aws: LocalAws, store: AlertStore) -> dict[str, str]:
    """Every alert item (a test may Scan): alert id -> status."""
    items = aws.dynamodb.scan(TableName=store.table)['Items']
    return {i['pk']['S'].removeprefix('ALERT#'): i['status']['S'] for i in items if i['pk']['S'].startswith('ALERT#')}


def test_apply_writes_the_plan_worklists_and_breaches_idempotently(aws: LocalAws, store: AlertStore) -> None:
    # Given a ticket change: a plan of two alerts, E1's worklist entries and a breach
    breach = Breach('E1', 'zendesk#1', '#1', 'first_response', NOW - timedelta(hours=2))
    ticket = work('zendesk#1', '#1', status='open', priority='high', sla_due_at=NOW + timedelta(hours=1))
    job = work('dms#JC-7', 'JC-7', kind=Kind.JOB_CARD, approval_since=NOW - timedelta(hours=3), promised_at=NOW + timedelta(hours=4))
    change = plan_change('zendesk#1', pending(1, NOW - timedelta(minutes=1)), pending(1, NOW + timedelta(minutes=5), role=Recipient.MANAGER))
    change.worklist_put, change.breaches = [ticket, job], [breach]

    # When it is applied twice (a retried stream batch)
    first = store.apply(change, NOW)
    second = store.apply(change, NOW)

    # Then one plan is written (no alert item: nothing was written out yet) and it is in the due index at its earliest
    # alert; the worklist holds both items with their fields, and the breach counts once
    assert first == second == {'planned': 1, 'upserted': 0, 'not_moved': 0, 'cancelled': 0, 'worklist': 2, 'breaches': 1}
    assert alert_items(aws, store) == {}
    assert store.due(NOW - timedelta(minutes=2)).plans == [] and store.due(NOW).plans == ['zendesk#1']
    entries = {w.ticket_key: w for w in store.worklist('E1')}
    assert set(entries) == {'zendesk#1', 'dms#JC-7'}
    assert (entries['zendesk#1'].ref, entries['zendesk#1'].kind, entries['zendesk#1'].priority) == ('#1', 'ticket', 'high')
    assert entries['zendesk#1'].sla_due_at == NOW + timedelta(hours=1)
    assert (entries['dms#JC-7'].kind, entries['dms#JC-7'].approval_since) == ('job_card', NOW - timedelta(hours=3))
    assert entries['dms#JC-7'].promised_at == NOW + timedelta(hours=4)
    assert store.breaches_between('E1', NOW - timedelta(days=1), NOW) == 1


def test_materialise_writes_out_only_the_due_alerts_and_moves_the_plan_to_the_next(aws: LocalAws, store: AlertStore) -> None:
    # Given a plan with one alert due a minute ago and one due in five minutes
    due, later = pending(1, NOW - timedelta(minutes=1)), pending(1, NOW + timedelta(minutes=5), role=Recipient.MANAGER)
    store.apply(plan_change('zendesk#1', due, later), NOW - timedelta(hours=1))

    # When the scan at NOW writes the plan out, twice (a second scan in the same minute)
    first, _ = write_out(store, 'zendesk#1', NOW)
    second, _ = write_out(store, 'zendesk#1', NOW)

    # Then the due alert is written once, queued (and sent to the queue) once; the other is not written, and the plan
    # waits in the index for it
    assert first == [due.alert_id] and second == []
    assert alert_items(aws, store) == {due.alert_id: 'queued'} and due_ids(store, NOW + timedelta(days=1)) == []
    assert store.due(NOW + timedelta(minutes=4)).plans == [] and store.due(NOW + timedelta(minutes=5)).plans == ['zendesk#1']


def test_apply_cancels_only_the_alerts_written_out_and_removes_worklist_entries(aws: LocalAws, store: AlertStore) -> None:
    # Given E1 has two open tickets, and the first's plan has one alert written out (due) and one not (later)
    due, later = pending(1, NOW - timedelta(minutes=1)), pending(1, NOW + timedelta(minutes=5), role=Recipient.MANAGER)
    change = plan_change('zendesk#1', due, later)
    change.worklist_put = [work('zendesk#1', '#1'), work('zendesk#2', '#2')]
    store.apply(change, NOW - timedelta(hours=1))
    write_out(store, 'zendesk#1', NOW)

    # When the first ticket is resolved
    resolved = plan_change('zendesk#1', previous=(due, later))
    resolved.worklist_remove = [('E1', 'zendesk#1')]
    counts = store.apply(resolved, NOW)

    # Then the alert written out is cancelled, the other never existed, the plan is gone, and only the second ticket is
    # left on E1's worklist
    assert (counts['cancelled'], counts['worklist']) == (1, 1)
    assert alert_items(aws, store) == {due.alert_id: 'cancelled'}
    assert due_ids(store, NOW + timedelta(days=1)) == [] and store.due(NOW + timedelta(days=1)).plans == []
    assert [w.ticket_key for w in store.worklist('E1')] == ['zendesk#2']
    assert store.worklist('E2') == []


def test_a_plan_that_moves_an_alert_written_out_moves_its_item_and_waits_for_the_next(aws: LocalAws, store: AlertStore) -> None:
    # Given a plan whose first alert was written out at NOW, the second due in five minutes
    due, later = pending(1, NOW - timedelta(minutes=1)), pending(1, NOW + timedelta(minutes=5), role=Recipient.MANAGER)
    store.apply(plan_change('zendesk#1', due, later), NOW - timedelta(hours=1))
    write_out(store, 'zendesk#1', NOW)

    # When a priority change moves both: the first to NOW + 2 min, the second to NOW + 10 min
    moved, moved_later = pending(1, NOW + timedelta(minutes=2)), pending(1, NOW + timedelta(minutes=10), role=Recipient.MANAGER)
    counts = store.apply(plan_change('zendesk#1', moved, moved_later, previous=(due, later)), NOW)

    # Then the written-out alert's item moves (due at NOW + 2 min); the plan waits in the index for the second only
    assert counts['upserted'] == 1
    assert due_ids(store, NOW + timedelta(minutes=1)) == [] and due_ids(store, NOW + timedelta(minutes=2)) == [due.alert_id]
    assert store.due(NOW + timedelta(minutes=9)).plans == [] and store.due(NOW + timedelta(minutes=10)).plans == ['zendesk#1']


def racing(store: AlertStore, change: AlertChanges) -> None:
    """The planner applies `change` right after the scan's first read of the ticket's plan."""
    get_item = store.client.get_item
    reads = {'plan': 0}

    def racing_get_item(**kwargs: Any) -> Any:
        answer = get_item(**kwargs)
        if kwargs['Key']['pk']['S'].startswith('PLAN#') and reads['plan'] == 0:
            reads['plan'] += 1
            AlertStore().apply(change, NOW)
        return answer

    store.client.get_item = racing_get_item


def test_an_alert_moved_while_the_scan_writes_it_out_follows_the_plan(aws: LocalAws, store: AlertStore) -> None:
    # Given a plan with an alert due, and a planner that moves it three hours later right after the scan read the plan
    due = pending(1, NOW - timedelta(minutes=1))
    store.apply(plan_change('zendesk#1', due), NOW - timedelta(hours=1))
    moved = pending(1, NOW + timedelta(hours=3))
    racing(store, plan_change('zendesk#1', moved, previous=(due,)))

    # When the scan writes the plan out (it queues the alert before it learns the plan changed)
    sent, result = write_out(store, 'zendesk#1', NOW)

    # Then the plan is read again and the alert follows it: pending at its new time, so the queued message cannot be
    # claimed now; the plan records it as written and leaves the index (the planner moves it from now on)
    assert sent == [due.alert_id] and result.reads == 2
    assert store.claim(due.alert_id, 'msg-1', NOW) is None
    assert alert_items(aws, store) == {due.alert_id: 'pending'} and due_ids(store, NOW + timedelta(hours=3)) == [due.alert_id]
    assert store.due(NOW + timedelta(days=1)).plans == []


def test_an_alert_dropped_while_the_scan_writes_it_out_is_cancelled(aws: LocalAws, store: AlertStore) -> None:
    # Given a plan with an alert due, and a planner that drops it (a first reply) right after the scan read the plan
    due = pending(1, NOW - timedelta(minutes=1))
    other = replace(due, alert_id=due.alert_id.replace('75%', '90%'), threshold='90%', due_at=NOW + timedelta(hours=3))
    store.apply(plan_change('zendesk#1', due), NOW - timedelta(hours=1))
    racing(store, plan_change('zendesk#1', other, previous=(due,)))

    # When the scan writes the plan out
    _, result = write_out(store, 'zendesk#1', NOW)

    # Then the alert it wrote is cancelled (its queued message cannot be claimed), and the plan waits for the other
    assert result.reads == 2 and alert_items(aws, store) == {due.alert_id: 'cancelled'}
    assert store.claim(due.alert_id, 'msg-1', NOW) is None
    assert store.due(NOW + timedelta(hours=3)).plans == ['zendesk#1']


def test_a_scan_that_died_before_recording_the_plan_writes_the_same_alert_again(aws: LocalAws, store: AlertStore) -> None:
    # Given a scan that wrote an alert out and queued it, then died before recording it in the plan
    due = pending(1, NOW - timedelta(minutes=1))
    store.apply(plan_change('zendesk#1', due), NOW - timedelta(hours=1))
    update_item = store.client.update_item

    def dying(**kwargs: Any) -> Any:
        if kwargs['Key']['pk']['S'].startswith('PLAN#'):
            raise RuntimeError('the scan died')
        return update_item(**kwargs)

    store.client.update_item = dying
    with pytest.raises(RuntimeError):
        write_out(store, 'zendesk#1', NOW)
    store.client.update_item = update_item

    # When the next scan finds the plan still due
    assert store.due(NOW + timedelta(seconds=30)).plans == ['zendesk#1']
    sent, _ = write_out(store, 'zendesk#1', NOW + timedelta(seconds=30))

    # Then it queues the alert again (the sender's claim lets one copy through), and records it this time
    assert sent == [due.alert_id]
    assert store.claim(due.alert_id, 'msg-1', NOW + timedelta(seconds=30)) is not None
    assert store.claim(due.alert_id, 'msg-2', NOW + timedelta(seconds=30)) is None
    assert store.due(NOW + timedelta(days=1)).plans == []


def test_an_alert_that_went_out_is_not_written_out_again_from_a_plan(aws: LocalAws, store: AlertStore) -> None:
    # Given an alert that went out, planned again (the ticket was reopened) under the same key
    alert = pending(1, NOW - timedelta(minutes=1))
    sent(store, alert)
    store.apply(plan_change('zendesk#1', alert), NOW)

    # When the scan finds the plan due
    sent_now, _ = write_out(store, 'zendesk#1', NOW)

    # Then nothing is written out or queued (a key goes out once), and the plan leaves the index
    assert sent_now == [] and alert_items(aws, store) == {alert.alert_id: 'sent'}
    assert store.due(NOW + timedelta(days=1)).plans == []


def test_a_cancelled_alert_planned_again_is_written_out_again(aws: LocalAws, store: AlertStore) -> None:
    # Given an alert written out and cancelled (a pause), then planned again (the ticket resumed)
    alert = pending(1, NOW - timedelta(minutes=1))
    store.apply(plan_change('zendesk#1', alert), NOW - timedelta(hours=1))
    write_out(store, 'zendesk#1', NOW - timedelta(seconds=30))
    store.apply(plan_change('zendesk#1', previous=(alert,)), NOW - timedelta(seconds=20))
    assert alert_items(aws, store) == {alert.alert_id: 'cancelled'}
    again = pending(1, NOW + timedelta(minutes=1))
    store.apply(plan_change('zendesk#1', again), NOW)

    # When the scan finds it due again
    sent_again, _ = write_out(store, 'zendesk#1', NOW + timedelta(minutes=1))

    # Then it is queued again, at its new time
    assert sent_again == [alert.alert_id] and alert_items(aws, store) == {alert.alert_id: 'queued'}
    item = store.get(alert.alert_id)
    assert item is not None and item.due_at == NOW + timedelta(minutes=1)


def test_an_alert_found_too_late_in_a_plan_is_written_out_as_expired(aws: LocalAws, store: AlertStore) -> None:
    # Given a plan whose alert fell due two hours ago (a backfill)
    alert = pending(1, NOW - timedelta(hours=2))
    store.apply(plan_change('zendesk#1', alert), NOW)

    # When the scan finds it, with alerts older than 15 minutes too late to send
    result = scan(store, SqsEventQueue(aws.queues['AlertsQueue'], aws.sqs), NOW, 15, wall=lambda: 0.0)

    # Then it is recorded as expired and nothing is queued
    assert (result.due, result.queued, result.expired, result.plans) == (1, 0, 1, 1)
    assert alert_items(aws, store) == {alert.alert_id: 'expired'} and queue_bodies(aws) == []


def test_breaches_are_counted_within_the_window_only(store: AlertStore) -> None:
    # Given E1's breaches before, inside and after a window, one of them written twice, and one of E2's
    start, end = datetime(2024, 5, 19, tzinfo=UTC), datetime(2024, 5, 20, tzinfo=UTC)
    inside = [Breach('E1', f'zendesk#{n}', f'#{n}', 'resolution', start + timedelta(hours=3 * n + 1)) for n in range(3)]
    for breach in [*inside, inside[0],
                   Breach('E1', 'zendesk#8', '#8', 'resolution', start - timedelta(minutes=1)),
                   Breach('E1', 'zendesk#9', '#9', 'resolution', end + timedelta(minutes=1)),
                   Breach('E2', 'zendesk#5', '#5', 'resolution', start + timedelta(hours=5))]:  # fmt: skip
        store.put_breach(breach)

    # When E1's breaches in the window are counted
    count = store.breaches_between('E1', start, end)

    # Then the three inside count, once each
    assert count == 3
    assert store.breaches_between('E2', start, end) == 1


def test_a_breach_at_midnight_is_counted_in_one_day_only(store: AlertStore) -> None:
    # Given a breach exactly at midnight, between two days (a 24x7 target falling due at 00:00)
    midnight = datetime(2024, 5, 20, tzinfo=UTC)
    store.put_breach(Breach('E1', 'zendesk#1', '#1', 'resolution', midnight))

    # When two consecutive daily reminders count "yesterday's breaches" ([start of yesterday, start of today))
    on_the_20th = store.breaches_between('E1', midnight - timedelta(days=1), midnight)
    on_the_21st = store.breaches_between('E1', midnight, midnight + timedelta(days=1))

    # Then the breach is reported once in all, not on both days
    assert on_the_20th + on_the_21st == 1


def test_a_reminder_planned_twice_is_written_once_and_never_reset(store: AlertStore) -> None:
    # Given a reminder planned (create only, as the twice-daily planner does), then queued by a scan
    reminder = pending(7, NOW)
    assert store.upsert(reminder, NOW - timedelta(hours=12), only_new=True) is True
    [due] = store.due(NOW).due
    assert store.mark_queued(due, NOW)

    # When the planner runs again and plans the same reminder
    again = store.upsert(reminder, NOW, only_new=True)

    # Then nothing is written: the reminder stays queued and out of the due index (a plain upsert would have reset it)
    item = store.get(reminder.alert_id)
    assert again is False
    assert item is not None and item.status == 'queued'
    assert due_ids(store, NOW + timedelta(hours=1)) == []


def test_alerts_planned_before_plans_existed_are_cancelled_and_moved_by_the_first_plan(aws: LocalAws, store: AlertStore) -> None:
    # Given two tickets whose alerts were written as alert items before plans existed (no plan item)
    first, second = pending(1, NOW + timedelta(minutes=5)), pending(2, NOW + timedelta(minutes=5))
    for alert in (first, second):
        assert store.upsert(alert, NOW - timedelta(hours=1))

    # When the first ticket is resolved, and the second's alert is moved an hour later
    store.apply(plan_change('zendesk#1', previous=(first,)), NOW)
    moved = replace(second, due_at=NOW + timedelta(hours=1))
    counts = store.apply(plan_change('zendesk#2', moved, previous=(second,)), NOW)

    # Then the first's alert is cancelled; the second's item moves, and its plan knows it is written out (it leaves
    # the index, so the scan never writes it again)
    assert counts['upserted'] == 1
    assert alert_items(aws, store) == {first.alert_id: 'cancelled', second.alert_id: 'pending'}
    assert due_ids(store, NOW + timedelta(minutes=5)) == [] and due_ids(store, NOW + timedelta(hours=1)) == [second.alert_id]
    assert store.due(NOW + timedelta(days=1)).plans == []


def test_a_plan_loaded_in_bulk_is_the_item_the_planner_writes(aws: LocalAws, store: AlertStore) -> None:
    # Given a ticket's first plan written by the planner
    alerts = [pending(1, NOW + timedelta(minutes=5)), pending(1, NOW + timedelta(minutes=9), role=Recipient.MANAGER)]
    store.put_plan('zendesk#1', alerts, NOW)

    # When the same plan is built for loading in bulk (the alerts drill)
    built = store.new_plan_item('zendesk#1', alerts, NOW)

    # Then it is the very item the planner wrote
    stored = aws.dynamodb.get_item(TableName=store.table, Key={'pk': built['pk'], 'sk': built['sk']})['Item']
    assert stored == built
