"""Infrastructure tests for the alerts in template.yaml: the AlertsTable and its sparse `due` index, the alerts
queue and its dead-letter queue, the planner, the one-minute scanner, the sender, the Twilio webhooks, the daily
reminders, the directory's `by_phone` index and the Twilio parameter. Offline: no AWS, no SAM CLI.

The template is the one tests/template/test_template.py decodes with cfn-lint (`!Ref X` -> {'Ref': 'X'},
`!GetAtt A.B` -> {'Fn::GetAtt': ['A', 'B']}, `!Sub s` -> {'Fn::Sub': s}). What it must agree with is taken from
the code itself: the real AlertStore, ContactBook, scan(), AlertDispatcher and Conversations are driven against a
client that records every call (tables and queues are named after their logical ids, so a recorded call names
the resource it needs), and the recorded calls are compared with the grants, the index keys and the projections.

Each guard returns a list of problems and is run twice: the real template must give none, and a deliberately
broken copy must give some (so the guard can fail). Build targets and log groups / errors alarms of the new
functions are covered generically by test_template.py.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from shared.alerts.plan import AlertKind, Recipient, TicketAlerts
from shared.alerts.reminders import Person, plan_reminders
from shared.alerts.scan import scan
from shared.alerts.store import AlertStore, alert_pk, encode_plan, iso, plan_pk
from shared.alerts.sync import AlertChanges, Breach, PendingAlert
from shared.config import Settings
from shared.directory.contacts import ContactBook
from shared.directory.store import DirectoryStore
from shared.disputes.service import Disputes
from shared.disputes.store import DisputeStore
from shared.events import Kind
from shared.ingest.queue import SqsEventQueue
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.notify import EmailContent
from shared.notify.conversations import Conversations
from shared.notify.dispatch import AlertDispatcher
from shared.notify.messaging import INVALID_NUMBER, OPTED_OUT, Delivery, MessageChannel, OutboundMessage, SendFailed
from shared.notify.twilio_webhooks import Command, InboundMessage, StatusUpdate
from shared.sla.config import DEFAULT_CONFIG
from tests.template.test_kpi_template import _alarms_on_queue, _copy, _getatt, _sub_text
from tests.template.test_template import (
    FUNCTION,
    FUNCTIONS,
    GLOBAL_FUNCTION,
    RESOURCES,
    TEMPLATE,
    _action_allows,
    _as_list,
    _of_type,
    _referenced_ids,
    _unwrap_if,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
GLOBAL_ENV: dict[str, Any] = GLOBAL_FUNCTION['Environment']['Variables']
PARAMETERS: dict[str, Any] = TEMPLATE.get('Parameters', {})

PLANNER = 'AlertPlannerFunction'
SCANNER = 'AlertScannerFunction'
SENDER = 'AlertSenderFunction'
TWILIO = 'TwilioWebhooksFunction'
REMINDERS = 'DailyRemindersFunction'
QUEUE = 'AWS::SQS::Queue'
TABLE = 'AWS::DynamoDB::Table'

LAMBDA_DEFAULT_TIMEOUT_S = 3  # what Lambda uses when neither the function nor Globals set Timeout
SQS_DEFAULT_VISIBILITY_S = 30
SQS_DEFAULT_RETENTION_S = 345_600
SENDER_MAX_CONCURRENCY = 2  # the AlertMessagesPerSecond pace is per instance; two instances at most

PARAMETER_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter'
SERVICE_CONFIG_ARN = PARAMETER_ARN + '${ServiceConfigParameter}'
TWILIO_PATH = '/pitcrew/${Stage}/twilio'
SSM_VIA_SERVICE = {'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com'}

# Noon UTC: outside the default quiet hours (21:00-08:00) of a recipient in UTC.
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------------------
# Helpers: effective function properties, grants as (action, resource label)
# --------------------------------------------------------------------------------------------------
def _effective(resources: dict[str, Any], function: str, key: str) -> Any:
    """A function property as SAM resolves it: the function's own value, else the Globals one."""
    props = resources[function].get('Properties', {})
    return props[key] if key in props else GLOBAL_FUNCTION.get(key)


def _events(resources: dict[str, Any], function: str, type_: str) -> list[dict[str, Any]]:
    return [e.get('Properties', {}) for e in (_effective(resources, function, 'Events') or {}).values() if e.get('Type') == type_]


def _function_statements(function: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in _as_list(function.get('Properties', {}).get('Policies') or []):
        if isinstance(policy, dict) and 'Statement' in policy:
            for statement in _as_list(policy['Statement']):
                yield from _unwrap_if(statement)


def _label(resource: Any) -> str:
    """'X' for `!GetAtt X.Arn`, 'X/index/i' for `!Sub ${X.Arn}/index/i`; the raw text for anything else."""
    att = _getatt(resource)
    if att is not None and att[1] == 'Arn':
        return att[0]
    text = _sub_text(resource)
    if text is not None:
        match = re.fullmatch(r'\$\{(\w+)\.Arn\}(/index/[\w.-]+)', text)
        return f'{match.group(1)}{match.group(2)}' if match else text
    return resource if isinstance(resource, str) else repr(resource)


@dataclass(frozen=True)
class Grant:
    action: str
    label: str
    reaches: frozenset[str]  # logical ids the resource names ('*' for a literal wildcard)
    conditioned: bool


def grant_rows(function: dict[str, Any]) -> list[Grant]:
    rows = []
    for statement in _function_statements(function):
        if statement.get('Effect') != 'Allow':
            continue
        for action in _as_list(statement.get('Action', [])):
            for resource in _as_list(statement.get('Resource', [])):
                reaches = {'*'} if resource == '*' else _referenced_ids(resource)
                rows.append(Grant(str(action), _label(resource), frozenset(reaches), 'Condition' in statement))
    return rows


def grants_on(function: dict[str, Any], resources: set[str], prefix: str = '') -> set[tuple[str, str]]:
    """(action, label) the function may use on the given logical ids (a wildcard resource reaches all of them)."""
    return {
        (row.action, row.label)
        for row in grant_rows(function)
        if (row.reaches & (resources | {'*'})) and row.action.lower().startswith(prefix)
    }


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {'Statement': [{'Sid': 'Extra', 'Effect': 'Allow', 'Action': action, 'Resource': resource, **extra}]}


def _with_policy(function: str, policy: Any) -> dict[str, Any]:
    broken = _copy(RESOURCES[function])
    broken['Properties']['Policies'].append(policy)
    return dict(broken)


def _without_statement(function: str, sid: str) -> dict[str, Any]:
    broken = _copy(RESOURCES[function])
    for policy in broken['Properties']['Policies']:
        if isinstance(policy, dict) and 'Statement' in policy:
            policy['Statement'] = [s for s in policy['Statement'] if not (isinstance(s, dict) and s.get('Sid') == sid)]
    return dict(broken)


def _statement(function: dict[str, Any], sid: str) -> dict[str, Any]:
    [found] = [s for s in _function_statements(function) if s.get('Sid') == sid]
    return found


def _index(table_props: dict[str, Any], name: str) -> dict[str, Any] | None:
    found = [g for g in table_props.get('GlobalSecondaryIndexes') or [] if g.get('IndexName') == name]
    return found[0] if len(found) == 1 else None


def _attribute_types(table_props: dict[str, Any]) -> dict[str, str]:
    return {d['AttributeName']: d['AttributeType'] for d in table_props.get('AttributeDefinitions', [])}


def projected(item: dict[str, Any], table_props: dict[str, Any], index_name: str) -> dict[str, Any]:
    """What an index returns of `item`: its projection as the template declares it (table and index keys, plus any
    INCLUDE attributes; everything for ALL)."""
    index = _index(table_props, index_name)
    assert index is not None, f'no index {index_name}'
    projection = index.get('Projection', {})
    if projection.get('ProjectionType') == 'ALL':
        return dict(item)
    names = {k['AttributeName'] for k in table_props['KeySchema']} | {k['AttributeName'] for k in index['KeySchema']}
    if projection.get('ProjectionType') == 'INCLUDE':
        names |= set(projection.get('NonKeyAttributes', []))
    return {name: value for name, value in item.items() if name in names}


# --------------------------------------------------------------------------------------------------
# What the code does: a client that records every call; the calls mapped to (IAM action, resource)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    kwargs: dict[str, Any]


class RecordingClient:
    """A boto3 client stand-in: records every call into a shared list and answers with `answer(operation, kwargs)`."""

    def __init__(self, service: str, calls: list[Call], answer: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self._service = service
        self._calls = calls
        self._answer = answer or (lambda operation, kwargs: {})

    def __getattr__(self, operation: str) -> Callable[..., dict[str, Any]]:
        if operation.startswith('_'):
            raise AttributeError(operation)

        def call(**kwargs: Any) -> dict[str, Any]:
            self._calls.append(Call(self._service, operation, copy.deepcopy(kwargs)))
            return self._answer(operation, kwargs)

        return call


_ACTION_OVERRIDES = {('sqs', 'send_message_batch'): 'sqs:SendMessage'}


def iam_action(call: Call) -> str:
    override = _ACTION_OVERRIDES.get((call.service, call.operation))
    return override or f'{call.service}:{"".join(part.title() for part in call.operation.split("_"))}'


def needed(calls: list[Call]) -> set[tuple[str, str]]:
    """(IAM action, resource label) every recorded call needs; resources are named by logical id."""
    found = set()
    for call in calls:
        action = iam_action(call)
        if call.operation == 'batch_get_item' or call.operation == 'batch_write_item':
            found |= {(action, table) for table in call.kwargs['RequestItems']}
        elif call.service == 'sqs':
            found.add((action, call.kwargs['QueueUrl']))
        elif 'IndexName' in call.kwargs:
            found.add((action, f'{call.kwargs["TableName"]}/index/{call.kwargs["IndexName"]}'))
        else:
            found.add((action, call.kwargs['TableName']))
    return found


def _s(value: str) -> dict[str, str]:
    return {'S': value}


ALERTS_PROPS: dict[str, Any] = RESOURCES['AlertsTable']['Properties']
DIRECTORY_PROPS: dict[str, Any] = RESOURCES['DirectoryTable']['Properties']
SHARDS = int(GLOBAL_ENV['ALERT_DUE_SHARDS'])

PROFILE = {
    'pk': _s('EMP#e1'),
    'sk': _s('PROFILE'),
    'gsi1pk': _s('EMPLOYEE'),
    'gsi1sk': _s('e1'),
    'employee_id': _s('e1'),
    'name': _s('Asha Rao'),
    'active': {'BOOL': True},
    'phone': _s('+15550000001'),
    'email': _s('asha@example.com'),
    'time_zone': _s('UTC'),
    'language': _s('en'),
    'manager_id': _s('m1'),
}
WORK_ITEM = {'pk': _s('WORK#e1'), 'sk': _s('t1'), 'kind': _s('ticket'), 'ref': _s('R-1'), 'sla_due_at': _s(iso(NOW + timedelta(hours=2)))}


def alert_item(kind: str = 'sla_risk', **extra: str) -> dict[str, Any]:
    item = {
        'pk': _s(alert_pk(f't1|{kind}|first_response|80#assignee')),
        'sk': _s('A'),
        'status': _s('sending'),
        'kind': _s(kind),
        'role': _s('assignee'),
        'subject': _s('e1'),
        'ticket_key': _s('t1'),
        'ref': _s('R-1'),
        'metric': _s('first_response'),
        'threshold': _s('80'),
        'due_at': _s(iso(NOW - timedelta(minutes=1))),
        'threshold_at': _s(iso(NOW + timedelta(minutes=30))),
        'claim': _s('m-1'),
    }
    item.update({name: _s(value) for name, value in extra.items()})
    return item


def alert_id_of(item: dict[str, Any]) -> str:
    return str(item['pk']['S']).removeprefix('ALERT#')


class World:
    """Answers of the alerts and directory tables for one alert: the claim / status update returns the alert, the
    directory returns the profile (the `by_phone` index only what the template projects), a worklist query one item."""

    def __init__(self, alert: dict[str, Any]) -> None:
        self.alert = alert

    def __call__(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if operation == 'update_item' and kwargs.get('ReturnValues') == 'ALL_NEW':
            return {'Attributes': self.alert}
        if operation == 'get_item':
            return {'Item': self.alert}
        if operation == 'batch_get_item':
            return {'Responses': {table: [PROFILE] for table in kwargs['RequestItems']}}
        if operation == 'query':
            if kwargs.get('IndexName') == 'by_phone':
                return {'Items': [projected(PROFILE, DIRECTORY_PROPS, 'by_phone')], 'Count': 1}
            if kwargs.get('Select') == 'COUNT':
                return {'Count': 1}
            return {'Items': [WORK_ITEM], 'Count': 1}
        return {}


class FakeMessenger:
    """Twilio stand-in: accepts every message, or refuses with `failure`; remembers what it was asked to send."""

    def __init__(self, failure: SendFailed | None = None) -> None:
        self.failure = failure
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> Delivery:
        self.sent.append(message)
        if self.failure is not None:
            raise self.failure
        return Delivery(sid=f'SM{len(self.sent)}', channel=message.channel, status='queued', attempts=1)

    def send_with_fallback(self, whatsapp: OutboundMessage, sms_body: str | None) -> Delivery:
        return self.send(whatsapp)


class FakeLedger:
    def balance(self, employee_id: str) -> Any:
        return SimpleNamespace(available=120, pending=15)

    def points_between(self, employee_id: str, start: datetime, end: datetime) -> int:
        return 0


def _returning(messenger: FakeMessenger) -> Callable[[], FakeMessenger]:
    return lambda: messenger


def _email(to: str, content: EmailContent) -> str | None:
    return 'ses-message-1'


def _store(calls: list[Call], world: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None) -> AlertStore:
    return AlertStore(table_name='AlertsTable', client=RecordingClient('dynamodb', calls, world), shards=SHARDS)


def _sms_failure(code: int, status: int) -> SendFailed:
    return SendFailed(MessageChannel.SMS, code, status, 1, 'refused')


@dataclass
class SenderRun:
    calls: list[Call]
    messages: list[OutboundMessage]


def sender_run() -> SenderRun:
    """The sender's delivery paths, through the real AlertDispatcher: sent by SMS; an invalid number (recorded, then
    e-mail); an opt-out Twilio reports (recorded, then e-mail); Twilio rate-limiting (released for SQS to retry); a
    daily reminder (worklist, breaches, points); quiet hours (held); and the SMS fallback of a failed WhatsApp."""
    calls: list[Call] = []
    messages: list[OutboundMessage] = []
    scenarios: list[tuple[dict[str, Any], SendFailed | None, datetime, bool]] = [
        (alert_item(), None, NOW, False),
        (alert_item(), _sms_failure(INVALID_NUMBER, 400), NOW, False),
        (alert_item(), _sms_failure(OPTED_OUT, 400), NOW, False),
        (alert_item(), _sms_failure(429, 429), NOW, False),
        (alert_item(kind=AlertKind.DAILY_REMINDER.value), None, NOW, False),
        (alert_item(), None, NOW.replace(hour=23), False),
        (alert_item(status='sent', recipient='e1', message_sid='SM0', channel='whatsapp'), None, NOW, True),
    ]
    for item, failure, at, fallback in scenarios:
        world = World(item)
        messenger = FakeMessenger(failure)
        dispatcher = AlertDispatcher(
            alerts=_store(calls, world),
            contacts=ContactBook(table_name='DirectoryTable', client=RecordingClient('dynamodb', calls, world)),
            messenger=_returning(messenger),
            email=_email,
            config=lambda: DEFAULT_CONFIG,
            ledger=FakeLedger(),
            callback_base='https://hooks.example.com',
            wall=lambda: 0.0,
        )
        try:
            if fallback:
                dispatcher.deliver_fallback(alert_id_of(item))
            else:
                dispatcher.deliver(alert_id_of(item), at, 0.0, claim_id='m-1')
        except SendFailed as failed:
            assert failed.retryable, failed  # only a retryable failure is raised (for SQS to redeliver)
        messages.extend(messenger.sent)
    return SenderRun(calls, messages)


def twilio_calls() -> list[Call]:
    """The Twilio webhooks' paths, through the real Conversations: status callbacks (a WhatsApp failure that queues
    the SMS fallback, an opt-out, an invalid number) and inbound TODAY, POINTS, STOP and START."""
    calls: list[Call] = []
    item = alert_item(status='sent', recipient='e1', message_sid='SM1', channel='whatsapp')
    world = World(item)
    conversations = Conversations(
        alerts=_store(calls, world),
        contacts=ContactBook(table_name='DirectoryTable', client=RecordingClient('dynamodb', calls, world)),
        queue=SqsEventQueue('AlertsQueue', RecordingClient('sqs', calls)),
        ledger=FakeLedger(),
        wall=lambda: 0.0,
    )
    for code in (63016, OPTED_OUT, INVALID_NUMBER):
        update = StatusUpdate(message_sid='SM1', status='failed', to='+15550000001', channel='whatsapp', error_code=code)
        conversations.status(alert_id_of(item), update, NOW)
    for command in (Command.TODAY, Command.POINTS, Command.STOP, Command.START):
        message = InboundMessage(message_sid='SM9', sender='+15550000001', channel='whatsapp', body=command.value, command=command)
        conversations.inbound(message, NOW)
    conversations.disputes = _disputes(calls, world)
    body = f'DISPUTE {DISPUTED.entry_id[:8]} the customer reopened by mistake'
    conversations.inbound(InboundMessage(message_sid='SM10', sender='+15550000001', channel='whatsapp', body=body, command=Command.DISPUTE), NOW)
    # A manager's YES answering a nudge, then a YES that is START (recorded on moto: the spot award's profile reads)
    from tests.template.test_nudges_template import reply_calls_as

    return calls + reply_calls_as(Call, {'AlertsTable', 'DirectoryTable'})


DISPUTED = LedgerEntry(entry_id='E1234abcd' + '0' * 24, employee_id='e1', amount=-10, kind=EntryKind.REVERSAL, status=EntryStatus.AVAILABLE,
                       reason=EntryReason(ticket_key='t', source_event_id='s', basis_event_id='b', rule_id='r', rule_version=1),
                       occurred_at=NOW, recorded_at=NOW)  # fmt: skip


def _disputes(calls: list[Call], world: World) -> Disputes:
    """DISPUTE <code> <text>: the ledger finds the sender's entry, no dispute exists yet, the manager's message is an
    alert item (the ledger and balances calls are checked in test_disputes_template.py)."""

    def answer(operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {'Items': [{'entry': _s(DISPUTED.model_dump_json())}], 'Count': 1} if operation == 'query' else {}

    elsewhere: list[Call] = []  # ledger and balances: not this test's resources
    store = DisputeStore(table_name='BalancesTable', ledger_table='LedgerTable', client=RecordingClient('dynamodb', elsewhere, answer))
    return Disputes(disputes=store, directory=DirectoryStore(table_name='DirectoryTable'), alerts=_store(calls, world))


def _plan_item() -> dict[str, Any]:
    """A ticket's plan (as the planner writes it) whose one alert fell due a minute ago."""
    alert = replace(_pending(), due_at=NOW - timedelta(minutes=1))
    return {'pk': _s(plan_pk(alert.ticket_key)), 'sk': _s('P'), 'alerts': _s(encode_plan([alert])), 'version': {'N': '3'},
            'due_shard': _s('0'), 'due_at': _s(iso(alert.due_at))}  # fmt: skip


def _due_index_answer(max_late_minutes: float) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """The `due` index as the template projects it: shard 0 holds an alert due a minute ago, one found too late and a
    ticket's plan with an alert due (read in full, then written out)."""

    def answer(operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if operation == 'get_item':
            return {'Item': _plan_item()}
        if operation != 'query' or kwargs['ExpressionAttributeValues'][':shard']['S'] != '0':
            return {'Items': [], 'Count': 0}
        items = [projected(_plan_item(), ALERTS_PROPS, 'due')]
        for name, age in (('fresh', timedelta(minutes=1)), ('stale', timedelta(minutes=2 * max_late_minutes))):
            full = alert_item(status='pending') | {'pk': _s(alert_pk(name)), 'due_shard': _s('0'), 'due_at': _s(iso(NOW - age))}
            items.append(projected(full, ALERTS_PROPS, 'due'))
        return {'Items': items, 'Count': len(items), 'ScannedCount': len(items)}

    return answer


def scanner_calls() -> list[Call]:
    """One scan through the real scan(): a Query per shard of the `due` index, a plan written out (its alert queued), one
    alert queued, one expired."""
    calls: list[Call] = []
    max_late = DEFAULT_CONFIG.alerts.max_late_minutes
    queue = SqsEventQueue('AlertsQueue', RecordingClient('sqs', calls))
    result = scan(_store(calls, _due_index_answer(max_late)), queue, NOW, max_late, wall=lambda: 0.0)
    assert (result.due, result.queued, result.expired, result.queries, result.plans) == (3, 2, 1, SHARDS, 1)
    return calls


def _pending(kind: AlertKind = AlertKind.SLA_RISK) -> PendingAlert:
    return PendingAlert(
        alert_id='t1|sla_risk|first_response|80#assignee',
        ticket_key='t1',
        ref='R-1',
        kind=kind,
        metric='first_response',
        threshold='80',
        role=Recipient.ASSIGNEE,
        subject='e1',
        due_at=NOW + timedelta(minutes=20),
        location_id='blr',
    )


BREACH = Breach(employee_id='e1', ticket_key='t1', ref='R-1', metric='first_response', at=NOW)


def planner_calls() -> list[Call]:
    """One ticket change of every sort through the real AlertStore.apply(): the plan rewritten, an alert written out
    moved and one cancelled, a worklist entry put and one removed, a breach; and a ticket whose plan is emptied, which
    had no plan item (its alert items are looked up, and cancelled)."""
    calls: list[Call] = []
    cancelled = 't1|sla_breach|first_response|100#manager'

    def answer(operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if operation in ('update_item', 'delete_item') and kwargs.get('ReturnValues') == 'ALL_OLD':
            if kwargs['Key']['pk']['S'] == plan_pk('t2'):
                return {}  # t2 had no plan: its alerts were planned before plans existed
            return {'Attributes': {'version': {'N': '2'}, 'materialised': {'SS': [_pending().alert_id, cancelled]}}}
        if operation == 'batch_get_item':
            return {'Responses': {'AlertsTable': [{'pk': _s(alert_pk(_pending().alert_id))}]}}
        return {}

    changes = AlertChanges(
        upserts=[_pending()],
        cancels=[cancelled],
        worklist_put=[TicketAlerts(ticket_key='t1', kind=Kind.TICKET, ref='R-1', owner='e1', status='open')],
        worklist_remove=[('e1', 't0')],
        breaches=[BREACH],
        ticket_key='t1',
        planned={_pending().alert_id: _pending()},
    )
    _store(calls, answer).apply(changes, NOW)
    _store(calls, answer).apply(AlertChanges(cancels=[_pending().alert_id], ticket_key='t2', previous={_pending().alert_id: _pending()}), NOW)
    return calls


def reminder_calls() -> list[Call]:
    """The daily reminders' writes: plan_reminders() for one person, each reminder upserted as the handler does."""
    calls: list[Call] = []
    store = _store(calls)
    reminders = plan_reminders([Person('e1', None, 'UTC')], DEFAULT_CONFIG, NOW, timedelta(hours=24))
    assert reminders
    for reminder in reminders:
        store.upsert(reminder, NOW, only_new=True)
    return calls


# --------------------------------------------------------------------------------------------------
# 1. Nobody scans; the scanner only queries the `due` index
# --------------------------------------------------------------------------------------------------
SCAN = 'dynamodb:Scan'
SCANNING_POLICY_TEMPLATES = {'DynamoDBCrudPolicy', 'DynamoDBReadPolicy'}


def _statement_scans(statement: dict[str, Any]) -> str | None:
    if statement.get('Effect') != 'Allow':
        return None
    if 'NotAction' in statement:
        if not any(_action_allows(str(p), SCAN) for p in _as_list(statement['NotAction'])):
            return f'NotAction {statement["NotAction"]} allows {SCAN}'
        return None
    for pattern in _as_list(statement.get('Action', [])):
        if _action_allows(str(pattern), SCAN):
            return f'{pattern} allows {SCAN} on {statement.get("Resource")}'
    return None


def scan_grants(resources: dict[str, Any]) -> list[str]:
    """Every way a function (or an IAM role or policy of the template) may call dynamodb:Scan."""
    problems = []
    for name, res in resources.items():
        props = res.get('Properties', {})
        statements: list[dict[str, Any]] = []
        if res.get('Type') == FUNCTION:
            for policy in _as_list(props.get('Policies') or []):
                if isinstance(policy, str) and 'AmazonDynamoDB' in policy:
                    problems.append(f'{name}: managed policy {policy}')
                elif isinstance(policy, dict):
                    problems += [f'{name}: {template} includes {SCAN}' for template in sorted(SCANNING_POLICY_TEMPLATES & set(policy))]
            statements = list(_function_statements(res))
        elif res.get('Type') in {'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'}:
            statements = [s for raw in _as_list(props.get('PolicyDocument', {}).get('Statement', [])) for s in _unwrap_if(raw)]
        elif res.get('Type') == 'AWS::IAM::Role':
            documents = [p.get('PolicyDocument', {}) for p in props.get('Policies') or []]
            statements = [s for d in documents for raw in _as_list(d.get('Statement', [])) for s in _unwrap_if(raw)]
            problems += [f'{name}: managed policy {arn}' for arn in props.get('ManagedPolicyArns') or [] if 'AmazonDynamoDB' in str(arn)]
        for statement in statements:
            found = _statement_scans(statement)
            if found:
                problems.append(f'{name}: {found}')
    return problems


# The one Scan the template grants: the what-if preview's SQS worker reads the month's tickets (an admin job off the
# request path: shared/programs/preview_run.py). Exactly this statement of exactly this function, which has no HTTP route.
PREVIEW_WORKER = 'ProgramPreviewFunction'
ALLOWED_SCAN = f"{PREVIEW_WORKER}: dynamodb:Scan allows dynamodb:Scan on {{'Fn::GetAtt': ['TicketsTable', 'Arn']}}"


def test_no_function_is_granted_scan() -> None:
    # Given: every function's policies (and any IAM role or policy) in template.yaml
    assert {SCANNER, SENDER, PLANNER, TWILIO, REMINDERS} <= set(FUNCTIONS)
    # When: looking for statements, policy templates or managed policies that allow dynamodb:Scan
    problems = scan_grants(RESOURCES)
    # Then: none does, on any resource (the alerts are found through the `due` index, people through indexes), but the
    # preview worker on the tickets table; and that worker is fed by its queue only (no request path reaches the Scan)
    assert [p for p in problems if p != ALLOWED_SCAN] == []
    events = RESOURCES[PREVIEW_WORKER]['Properties']['Events'].values()
    assert [event['Type'] for event in events] == ['SQS']


def test_the_preview_worker_may_scan_no_other_table() -> None:
    # Given: a copy of the template where the preview worker may also Scan the ledger
    resources = _copy(RESOURCES)
    resources[PREVIEW_WORKER] = _with_policy(PREVIEW_WORKER, _allow('dynamodb:Scan', {'Fn::GetAtt': ['LedgerTable', 'Arn']}))
    # When / Then: the guard reports that grant
    assert [p for p in scan_grants(resources) if p != ALLOWED_SCAN]


@pytest.mark.parametrize(
    'policy',
    [
        _allow('dynamodb:Scan', {'Fn::GetAtt': ['AlertsTable', 'Arn']}),
        _allow(['dynamodb:Query', 'dynamodb:*'], {'Fn::Sub': '${AlertsTable.Arn}/index/due'}),
        _allow('dynamodb:Sc*', {'Fn::GetAtt': ['DirectoryTable', 'Arn']}),
        {'Statement': [{'Effect': 'Allow', 'NotAction': ['dynamodb:DeleteItem'], 'Resource': {'Fn::GetAtt': ['AlertsTable', 'Arn']}}]},
        {'DynamoDBReadPolicy': {'TableName': {'Ref': 'AlertsTable'}}},
        'AmazonDynamoDBReadOnlyAccess',
        {
            'Statement': [
                {'Fn::If': ['HasAlertEmailFrom', {'Effect': 'Allow', 'Action': 'dynamodb:Scan', 'Resource': '*'}, {'Ref': 'AWS::NoValue'}]}
            ]
        },
    ],
    ids=['scan', 'dynamodb-star', 'scan-prefix', 'not-action', 'read-policy-template', 'managed-read-only', 'hidden-in-a-condition'],
)
def test_scan_guard_catches_a_scan_grant(policy: Any) -> None:
    # Given: a copy of the template where the scanner may also Scan
    resources = _copy(RESOURCES)
    resources[SCANNER] = _with_policy(SCANNER, policy)
    # When / Then: the guard reports it
    assert scan_grants(resources), policy


def test_scan_guard_sees_iam_roles() -> None:
    # Given: a plain IAM role allowed to Scan
    role = {'Type': 'AWS::IAM::Role', 'Properties': {'Policies': [{'PolicyName': 'p', 'PolicyDocument': _allow('dynamodb:Scan', '*')}]}}
    # When / Then: the guard reports it
    assert scan_grants({'ScanningRole': role})


# Query the due index; mark alerts queued or expired; read a plan found due, write its alerts out (PutItem) and record
# them in the plan (UpdateItem).
SCANNER_DYNAMODB = {
    ('dynamodb:Query', 'AlertsTable/index/due'),
    ('dynamodb:UpdateItem', 'AlertsTable'),
    ('dynamodb:GetItem', 'AlertsTable'),
    ('dynamodb:PutItem', 'AlertsTable'),
}


def scanner_grant_problems(function: dict[str, Any]) -> list[str]:
    problems = []
    rows = grant_rows(function)
    for statement in _function_statements(function):
        if set(statement) & {'NotAction', 'NotResource'}:
            problems.append(f'{statement.get("Sid")}: NotAction/NotResource')
    granted = {(row.action, row.label) for row in rows if row.action.lower().startswith('dynamodb:') or row.action == '*'}
    problems += [f'unexpected grant: {action} on {label}' for action, label in sorted(granted - SCANNER_DYNAMODB)]
    problems += [f'missing grant: {action} on {label}' for action, label in sorted(SCANNER_DYNAMODB - granted)]
    for row in rows:
        if _action_allows(row.action, 'dynamodb:Query') and not row.label.endswith('/index/due'):
            problems.append(f'Query on {row.label}, not the due index')
    return problems


def test_scanner_only_queries_the_due_index_and_updates_alerts() -> None:
    # Given / When: the scanner's DynamoDB grants
    problems = scanner_grant_problems(RESOURCES[SCANNER])
    # Then: Query on ${AlertsTable.Arn}/index/due and GetItem, PutItem, UpdateItem on the table, nothing else
    assert problems == []


@pytest.mark.parametrize(
    'policy',
    [
        _allow('dynamodb:Query', {'Fn::GetAtt': ['AlertsTable', 'Arn']}),
        _allow('dynamodb:Query', {'Fn::Sub': '${AlertsTable.Arn}/index/*'}),
        _allow('dynamodb:DeleteItem', {'Fn::GetAtt': ['AlertsTable', 'Arn']}),
        _allow('dynamodb:UpdateItem', {'Fn::GetAtt': ['DirectoryTable', 'Arn']}),
        _allow('dynamodb:*', '*'),
    ],
    ids=['query-table', 'query-any-index', 'extra-delete', 'other-table', 'star'],
)
def test_scanner_guard_catches_extra_grants(policy: Any) -> None:
    # Given: the scanner with one more DynamoDB permission
    # When / Then: the guard reports it
    assert scanner_grant_problems(_with_policy(SCANNER, policy))


def test_scanner_guard_catches_a_missing_grant() -> None:
    # Given: the scanner without its UpdateItem statement
    # When / Then: the guard reports it
    assert scanner_grant_problems(_without_statement(SCANNER, 'MarkQueuedOrExpired')) == [
        'missing grant: dynamodb:UpdateItem on AlertsTable'
    ]


# --------------------------------------------------------------------------------------------------
# 2. Grants cover exactly the calls the code makes
# --------------------------------------------------------------------------------------------------
# function -> (the code path, the resources whose every call it records)
CODE_PATHS: dict[str, tuple[Callable[[], list[Call]], set[str]]] = {
    SCANNER: (scanner_calls, {'AlertsTable', 'AlertsQueue'}),
    SENDER: (lambda: sender_run().calls, {'AlertsTable', 'DirectoryTable'}),
    TWILIO: (twilio_calls, {'AlertsTable', 'DirectoryTable', 'AlertsQueue'}),
    PLANNER: (planner_calls, {'AlertsTable'}),
    REMINDERS: (reminder_calls, {'AlertsTable'}),
}


def coverage_problems(function: dict[str, Any], calls: list[Call], resources: set[str]) -> list[str]:
    need = needed(calls)
    granted = {
        (action, label) for action, label in grants_on(function, resources) if action.lower().split(':')[0] in {'dynamodb', 'sqs', '*'}
    }
    problems = [f'the code calls {action} on {label}, not granted' for action, label in sorted(need - granted)]
    problems += [f'granted {action} on {label}, never called' for action, label in sorted(granted - need)]
    return problems


@pytest.mark.parametrize('function', sorted(CODE_PATHS))
def test_grants_cover_exactly_the_calls_the_code_makes(function: str) -> None:
    # Given: the DynamoDB and SQS calls the function's code makes on its tables and queues (recorded)
    code_path, resources = CODE_PATHS[function]
    calls = code_path()
    # When: comparing them with what the function may do on those resources
    problems = coverage_problems(RESOURCES[function], calls, resources)
    # Then: every call is allowed, and every grant is used (nothing spare)
    assert problems == []


def test_the_sender_paths_reach_every_delivery_call() -> None:
    # Given / When: the calls of every delivery path of the sender
    need = needed(sender_run().calls)
    # Then: GetItem/UpdateItem/Query on AlertsTable, BatchGetItem/UpdateItem on DirectoryTable (the comparison above
    # is not vacuous)
    assert need == {
        ('dynamodb:GetItem', 'AlertsTable'),
        ('dynamodb:UpdateItem', 'AlertsTable'),
        ('dynamodb:Query', 'AlertsTable'),
        ('dynamodb:BatchGetItem', 'DirectoryTable'),
        ('dynamodb:UpdateItem', 'DirectoryTable'),
    }


@pytest.mark.parametrize(
    'broken',
    [
        lambda: _without_statement(SENDER, 'ReadContacts'),
        lambda: _without_statement(SENDER, 'RecordContactOutcomes'),
        lambda: _with_policy(SENDER, _allow('dynamodb:PutItem', {'Fn::GetAtt': ['AlertsTable', 'Arn']})),
        lambda: _with_policy(SENDER, _allow('dynamodb:Query', {'Fn::Sub': '${DirectoryTable.Arn}/index/by_phone'})),
        lambda: _with_policy(SENDER, _allow('dynamodb:*', {'Fn::GetAtt': ['AlertsTable', 'Arn']})),
    ],
    ids=['no-batch-get', 'no-contact-update', 'spare-put', 'spare-index-query', 'star'],
)
def test_coverage_check_catches_missing_and_spare_grants(broken: Callable[[], dict[str, Any]]) -> None:
    # Given: the sender with a grant removed or one added
    # When: comparing its grants with the sender's recorded calls
    problems = coverage_problems(broken(), sender_run().calls, {'AlertsTable', 'DirectoryTable'})
    # Then: the difference is reported
    assert problems


def leading_key_problems(function: dict[str, Any], calls: list[Call]) -> list[str]:
    """Calls on a (action, table) the function may use only under a dynamodb:LeadingKeys condition must use a key
    the condition allows (or IAM denies them)."""
    problems = []
    for call in calls:
        if call.service != 'dynamodb' or 'Key' not in call.kwargs:
            continue
        action, table = iam_action(call), call.kwargs['TableName']
        granting = [
            s
            for s in _function_statements(function)
            if s.get('Effect') == 'Allow'
            and any(_action_allows(str(a), action) for a in _as_list(s.get('Action', [])))
            and any(_label(r) == table for r in _as_list(s.get('Resource', [])))
        ]
        if not granting or not all('Condition' in s for s in granting):
            continue
        patterns = [
            str(p) for s in granting for p in _as_list(s['Condition'].get('ForAllValues:StringLike', {}).get('dynamodb:LeadingKeys', []))
        ]
        key = str(call.kwargs['Key']['pk']['S'])
        if not any(fnmatch.fnmatchcase(key, p) for p in patterns):
            problems.append(f'{action} on {table} with pk {key!r}: the condition allows only {patterns}')
    return problems


@pytest.mark.parametrize('function', [SENDER, TWILIO])
def test_contact_writes_match_the_leading_keys_condition(function: str) -> None:
    # Given: the directory writes the code makes (opt-outs, opt-ins, invalid numbers on EMP#<id> / CONTACT)
    calls = CODE_PATHS[function][0]()
    assert any(c.operation == 'update_item' and c.kwargs['TableName'] == 'DirectoryTable' for c in calls)
    # When: checking each against the statement's dynamodb:LeadingKeys condition
    problems = leading_key_problems(RESOURCES[function], calls)
    # Then: every key is one the condition allows
    assert problems == []


def test_leading_key_check_catches_a_condition_the_code_does_not_meet() -> None:
    # Given: the sender allowed to update only AGENT# partitions of the directory
    function = _copy(RESOURCES[SENDER])
    for statement in function['Properties']['Policies'][0]['Statement']:
        if isinstance(statement, dict) and statement.get('Sid') == 'RecordContactOutcomes':
            statement['Condition']['ForAllValues:StringLike']['dynamodb:LeadingKeys'] = ['AGENT#*']
    # When / Then: the check reports the contact writes
    assert leading_key_problems(function, sender_run().calls)


# --------------------------------------------------------------------------------------------------
# 3. The AlertsTable: the sparse `due` index the code writes and queries, and the TTL
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexUse:
    index: str
    hash_key: str
    range_key: str | None


def _key_condition(kwargs: dict[str, Any]) -> IndexUse:
    names = kwargs.get('ExpressionAttributeNames', {})
    pairs = re.findall(r'([#\w]+)\s*(=|<=|<|>=|>|BETWEEN)\s*:', kwargs['KeyConditionExpression'])
    hashes = [names.get(a, a) for a, op in pairs if op == '=']
    others = [names.get(a, a) for a, _ in pairs if names.get(a, a) != (hashes[0] if hashes else None)]
    return IndexUse(kwargs['IndexName'], hashes[0] if hashes else '', others[0] if others else None)


def index_uses(calls: list[Call]) -> set[IndexUse]:
    return {_key_condition(c.kwargs) for c in calls if c.operation == 'query' and 'IndexName' in c.kwargs}


def assignments(kwargs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """attribute -> value a write stores: a PutItem's Item, or what an UpdateExpression's SET clause assigns."""
    if 'Item' in kwargs:
        return dict(kwargs['Item'])
    match = re.search(r'\bSET\s+(.*?)(?:\s+REMOVE\s+.*)?$', kwargs['UpdateExpression'])
    names, values = kwargs.get('ExpressionAttributeNames', {}), kwargs.get('ExpressionAttributeValues', {})
    pairs = re.findall(r'([#\w]+)\s*=\s*(:\w+)', match.group(1)) if match else []
    return {names.get(name, name): values[placeholder] for name, placeholder in pairs}


def removals(kwargs: dict[str, Any]) -> set[str]:
    match = re.search(r'\bREMOVE\s+(.*)$', kwargs['UpdateExpression'])
    names = kwargs.get('ExpressionAttributeNames', {})
    return {names.get(part.strip(), part.strip()) for part in match.group(1).split(',')} if match else set()


def _upsert_kwargs() -> dict[str, Any]:
    calls: list[Call] = []
    _store(calls).upsert(_pending(), NOW)
    [call] = calls
    return call.kwargs


def _breach_item() -> dict[str, Any]:
    calls: list[Call] = []
    _store(calls).put_breach(BREACH)
    [call] = calls
    return dict(call.kwargs['Item'])


def alerts_table_problems(props: dict[str, Any], use: IndexUse, written: dict[str, dict[str, Any]], breach: dict[str, Any]) -> list[str]:
    problems = []
    index = _index(props, use.index)
    if index is None:
        return [f'no index named {use.index!r} (the one the scan queries)']
    expected_keys = [{'AttributeName': use.hash_key, 'KeyType': 'HASH'}, {'AttributeName': use.range_key, 'KeyType': 'RANGE'}]
    if index.get('KeySchema') != expected_keys:
        problems.append(f'{use.index} keys are {index.get("KeySchema")}, the scan queries {use.hash_key} = and {use.range_key} <=')
    if index.get('Projection', {}).get('ProjectionType') != 'KEYS_ONLY':
        problems.append(f'{use.index} projection is {index.get("Projection")}, not KEYS_ONLY')
    types = _attribute_types(props)
    for attribute in (use.hash_key, use.range_key):
        value = written.get(str(attribute))
        if value is None:
            problems.append(f'the store never writes {attribute} on a pending alert (it would never enter the index)')
        elif types.get(str(attribute)) not in value:
            problems.append(f'{attribute} is defined as {types.get(str(attribute))}, the store writes {sorted(value)}')
    ttl = props.get('TimeToLiveSpecification') or {}
    if ttl.get('Enabled') is not True:
        problems.append(f'TTL is not enabled: {ttl}')
    for where, item in (('pending alert', written), ('breach', breach)):
        value = item.get(str(ttl.get('AttributeName')))
        if value is None or 'N' not in value or int(value['N']) <= int(NOW.timestamp()):
            problems.append(f'a {where} carries {ttl.get("AttributeName")} = {value} (TTL needs epoch seconds ahead, a Number)')
    return problems


def _scan_use() -> IndexUse:
    [use] = index_uses(scanner_calls())
    return use


def test_due_index_is_keys_only_on_the_attributes_the_store_writes_and_queries() -> None:
    # Given: the index and key condition the scan queries, what a pending alert is written with, and a breach item
    use = _scan_use()
    # When: checking them against AlertsTable
    problems = alerts_table_problems(ALERTS_PROPS, use, assignments(_upsert_kwargs()), _breach_item())
    # Then: the `due` index is (due_shard HASH, due_at RANGE), keys only, defined with the types the store writes,
    # and TTL is on the attribute alerts and breaches carry (expires_at)
    assert problems == []
    assert use == IndexUse('due', 'due_shard', 'due_at')
    assert ALERTS_PROPS['TimeToLiveSpecification']['AttributeName'] == 'expires_at'


def test_alerts_leave_the_due_index_when_queued_expired_or_claimed() -> None:
    # Given: the index's hash key in the template, and the updates that take an alert out of the due state
    hash_key = _index(ALERTS_PROPS, 'due')['KeySchema'][0]['AttributeName']  # type: ignore[index]
    leaving = [c.kwargs for c in scanner_calls() if c.operation == 'update_item']
    leaving += [
        c.kwargs for c in sender_run().calls if c.operation == 'update_item' and ':sending' in c.kwargs['ExpressionAttributeValues']
    ]
    leaving += [c.kwargs for c in planner_calls() if c.operation == 'update_item' and ':cancelled' in c.kwargs['UpdateExpression']]
    assert len(leaving) >= 3
    # Then: each removes that attribute, so the index stays sparse (the scan reads what is due and nothing else)
    assert all(hash_key in removals(kwargs) for kwargs in leaving), [k['UpdateExpression'] for k in leaving]


_TABLE_BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    'all-projection': lambda p: _index(p, 'due').update(Projection={'ProjectionType': 'ALL'}),  # type: ignore[union-attr]
    'swapped-keys': lambda p: _index(p, 'due').update(  # type: ignore[union-attr]
        KeySchema=[{'AttributeName': 'due_at', 'KeyType': 'HASH'}, {'AttributeName': 'due_shard', 'KeyType': 'RANGE'}]
    ),
    'renamed-index': lambda p: _index(p, 'due').update(IndexName='by_due'),  # type: ignore[union-attr]
    'numeric-shard': lambda p: p['AttributeDefinitions'].__setitem__(2, {'AttributeName': 'due_shard', 'AttributeType': 'N'}),
    'ttl-attribute': lambda p: p['TimeToLiveSpecification'].update(AttributeName='ttl'),
    'ttl-disabled': lambda p: p['TimeToLiveSpecification'].update(Enabled=False),
}


@pytest.mark.parametrize('breakage', sorted(_TABLE_BREAKAGES))
def test_alerts_table_guard_catches_a_broken_table(breakage: str) -> None:
    # Given: a copy of AlertsTable with its index or TTL broken
    props = _copy(ALERTS_PROPS)
    _TABLE_BREAKAGES[breakage](props)
    # When / Then: the guard reports it
    assert alerts_table_problems(props, _scan_use(), assignments(_upsert_kwargs()), _breach_item()), breakage


# --------------------------------------------------------------------------------------------------
# 4. AlertsQueue and its dead-letter queue
# --------------------------------------------------------------------------------------------------
def alerts_queue_problems(resources: dict[str, Any], env: dict[str, Any]) -> list[str]:
    problems = []
    queue = resources['AlertsQueue']['Properties']
    redrive = queue.get('RedrivePolicy')
    if not isinstance(redrive, dict):
        return [f'AlertsQueue RedrivePolicy is {redrive!r}']
    target = _getatt(redrive.get('deadLetterTargetArn'))
    if target != ('AlertsDLQ', 'Arn') or resources.get('AlertsDLQ', {}).get('Type') != QUEUE:
        problems.append(f'AlertsQueue redrives to {redrive.get("deadLetterTargetArn")}, not AlertsDLQ')
    if str(redrive.get('maxReceiveCount')) != str(env.get('ALERTS_MAX_RECEIVE_COUNT')):
        problems.append(
            f'maxReceiveCount {redrive.get("maxReceiveCount")} != ALERTS_MAX_RECEIVE_COUNT {env.get("ALERTS_MAX_RECEIVE_COUNT")}'
        )
    dlq = resources.get('AlertsDLQ', {}).get('Properties', {})
    kept, source = (
        int(dlq.get('MessageRetentionPeriod', SQS_DEFAULT_RETENTION_S)),
        int(queue.get('MessageRetentionPeriod', SQS_DEFAULT_RETENTION_S)),
    )
    if not kept > source:
        problems.append(f'AlertsDLQ keeps messages {kept} s, not longer than AlertsQueue ({source} s; a DLQ keeps the enqueue time)')
    if not _alarms_on_queue(resources, 'AlertsDLQ'):
        problems.append('no alarm notifies AlarmTopic when AlertsDLQ holds a message (ApproximateNumberOfMessagesVisible)')
    return problems


def test_alerts_queue_redrives_to_an_alarmed_dlq_with_the_configured_count() -> None:
    # Given / When: AlertsQueue, AlertsDLQ, their alarm and Globals
    problems = alerts_queue_problems(RESOURCES, GLOBAL_ENV)
    # Then: after ALERTS_MAX_RECEIVE_COUNT receives a message goes to AlertsDLQ, which keeps it longer than the
    # queue and alarms as soon as it holds one
    assert problems == []
    assert int(GLOBAL_ENV['ALERTS_MAX_RECEIVE_COUNT']) >= 1


_QUEUE_BREAKAGES: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    'count-mismatch': lambda r, e: r['AlertsQueue']['Properties']['RedrivePolicy'].update(maxReceiveCount=3),
    'env-mismatch': lambda r, e: e.update(ALERTS_MAX_RECEIVE_COUNT='10'),
    'other-dlq': lambda r, e: r['AlertsQueue']['Properties']['RedrivePolicy'].update(
        deadLetterTargetArn={'Fn::GetAtt': ['EventsDLQ', 'Arn']}
    ),
    'no-redrive': lambda r, e: r['AlertsQueue']['Properties'].pop('RedrivePolicy'),
    'short-dlq': lambda r, e: r['AlertsDLQ']['Properties'].update(MessageRetentionPeriod=86400),
    'no-alarm': lambda r, e: r.pop('AlertsDLQMessagesAlarm'),
    'alarm-other-metric': lambda r, e: r['AlertsDLQMessagesAlarm']['Properties'].update(MetricName='NumberOfMessagesSent'),
}


@pytest.mark.parametrize('breakage', sorted(_QUEUE_BREAKAGES))
def test_queue_guard_catches_a_broken_redrive(breakage: str) -> None:
    # Given: a copy of the template with the redrive, the DLQ or its alarm broken
    resources, env = _copy(RESOURCES), _copy(GLOBAL_ENV)
    _QUEUE_BREAKAGES[breakage](resources, env)
    # When / Then: the guard reports it
    assert alerts_queue_problems(resources, env), breakage


# --------------------------------------------------------------------------------------------------
# 5. The sender's event source
# --------------------------------------------------------------------------------------------------
def sender_event_problems(resources: dict[str, Any]) -> list[str]:
    events = _events(resources, SENDER, 'SQS')
    if len(events) != 1 or len(_effective(resources, SENDER, 'Events') or {}) != 1:
        return [f'{SENDER} must have exactly one event, an SQS one']
    props = events[0]
    problems = []
    if _getatt(props.get('Queue')) != ('AlertsQueue', 'Arn'):
        problems.append(f'Queue is {props.get("Queue")}, not AlertsQueue')
    if props.get('FunctionResponseTypes') != ['ReportBatchItemFailures']:
        problems.append(f'FunctionResponseTypes {props.get("FunctionResponseTypes")} (one failure would redeliver the whole batch)')
    concurrency = (props.get('ScalingConfig') or {}).get('MaximumConcurrency')
    if concurrency != SENDER_MAX_CONCURRENCY:
        problems.append(f'MaximumConcurrency {concurrency}, not {SENDER_MAX_CONCURRENCY} (the send pace is per instance)')
    timeout = int(_effective(resources, SENDER, 'Timeout') or LAMBDA_DEFAULT_TIMEOUT_S)
    visibility = int(resources['AlertsQueue']['Properties'].get('VisibilityTimeout', SQS_DEFAULT_VISIBILITY_S))
    if visibility < timeout:
        problems.append(f'AlertsQueue VisibilityTimeout {visibility} s < the sender timeout {timeout} s')
    return problems


def test_sender_consumes_alerts_queue_with_partial_failures_and_two_instances_at_most() -> None:
    # Given / When: the sender's event source and the queue's visibility timeout
    problems = sender_event_problems(RESOURCES)
    # Then: it reads AlertsQueue, reports failed records alone, runs at most two instances, and a message stays
    # invisible for at least a whole invocation
    assert problems == []
    # And: the handler answers with a partial batch response
    assert 'process_partial_response' in (REPO_ROOT / 'functions' / 'alert_sender' / 'app.py').read_text()


def _sender_sqs(resources: dict[str, Any]) -> dict[str, Any]:
    [props] = _events(resources, SENDER, 'SQS')
    return props


_SENDER_BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    'no-partial-failures': lambda r: _sender_sqs(r).pop('FunctionResponseTypes'),
    'concurrency-5': lambda r: _sender_sqs(r)['ScalingConfig'].update(MaximumConcurrency=5),
    'no-scaling-config': lambda r: _sender_sqs(r).pop('ScalingConfig'),
    'other-queue': lambda r: _sender_sqs(r).update(Queue={'Fn::GetAtt': ['EventsQueue', 'Arn']}),
    'short-visibility': lambda r: r['AlertsQueue']['Properties'].update(VisibilityTimeout=30),
    'long-timeout': lambda r: r[SENDER]['Properties'].update(Timeout=300),
}


@pytest.mark.parametrize('breakage', sorted(_SENDER_BREAKAGES))
def test_sender_event_guard_catches_a_broken_event_source(breakage: str) -> None:
    # Given: a copy of the template with the sender's event source broken
    resources = _copy(RESOURCES)
    _SENDER_BREAKAGES[breakage](resources)
    # When / Then: the guard reports it
    assert sender_event_problems(resources), breakage


# --------------------------------------------------------------------------------------------------
# 6. The scanner's schedule
# --------------------------------------------------------------------------------------------------
MIN_SCAN_S = 5  # what the last scan of an invocation is given at least, before the function times out


def _scans_per_minute(resources: dict[str, Any], global_env: dict[str, Any]) -> int:
    """ALERT_SCANS_PER_MINUTE as the scanner sees it: its own environment, else Globals, else the Settings default."""
    own = resources[SCANNER].get('Properties', {}).get('Environment', {}).get('Variables', {})
    value = own.get('ALERT_SCANS_PER_MINUTE', global_env.get('ALERT_SCANS_PER_MINUTE'))
    return int(value) if value is not None else int(Settings.model_fields['ALERT_SCANS_PER_MINUTE'].default)


def scanner_schedule_problems(resources: dict[str, Any], global_env: dict[str, Any]) -> list[str]:
    events = list((_effective(resources, SCANNER, 'Events') or {}).values())
    if [e.get('Type') for e in events] != ['Schedule']:
        return [f'{SCANNER} events are {[e.get("Type") for e in events]}, not one Schedule']
    props = events[0].get('Properties', {})
    problems = []
    if props.get('Schedule') != 'rate(1 minute)':
        problems.append(f'Schedule is {props.get("Schedule")}, not rate(1 minute)')
    if props.get('Enabled', True) is not True:
        problems.append('the schedule is disabled')
    timeout = int(_effective(resources, SCANNER, 'Timeout') or LAMBDA_DEFAULT_TIMEOUT_S)
    if not timeout < 60:
        problems.append(f'Timeout {timeout} s: a scan may still run when the next one starts')
    # The handler scans ALERT_SCANS_PER_MINUTE times per invocation, evenly spaced over the minute.
    scans = _scans_per_minute(resources, global_env)
    last = 60 * (scans - 1) / scans
    if last + MIN_SCAN_S > timeout:
        problems.append(
            f'the last of {scans} scans starts {last:.0f} s in, leaving less than {MIN_SCAN_S} s before the {timeout} s timeout'
        )
    return problems


def test_scanner_runs_every_minute_and_finishes_within_it() -> None:
    # Given / When: the scanner's events, timeout and scans per invocation
    problems = scanner_schedule_problems(RESOURCES, GLOBAL_ENV)
    # Then: an enabled rate(1 minute) schedule, a timeout under 60 s (two invocations never overlap for long), and
    # time for the invocation's last scan before it times out
    assert problems == []
    assert 'ALERT_SCANS_PER_MINUTE' in (REPO_ROOT / 'functions' / 'alert_scanner' / 'app.py').read_text()


def _six_scans_in_50_s(resources: dict[str, Any], env: dict[str, Any]) -> None:
    resources[SCANNER]['Properties'].update(Timeout=50)
    env.update(ALERT_SCANS_PER_MINUTE='6')
    resources[SCANNER]['Properties'].setdefault('Environment', {}).setdefault('Variables', {})['ALERT_SCANS_PER_MINUTE'] = '6'


_SCHEDULE_BREAKAGES: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    'every-5-minutes': lambda r, e: r[SCANNER]['Properties']['Events']['EveryMinute']['Properties'].update(Schedule='rate(5 minutes)'),
    'disabled': lambda r, e: r[SCANNER]['Properties']['Events']['EveryMinute']['Properties'].update(Enabled=False),
    'timeout-60': lambda r, e: r[SCANNER]['Properties'].update(Timeout=60),
    'timeout-900': lambda r, e: r[SCANNER]['Properties'].update(Timeout=900),
    'no-schedule': lambda r, e: r[SCANNER]['Properties'].pop('Events'),
    'timeout-before-second-scan': lambda r, e: r[SCANNER]['Properties'].update(Timeout=30),
    'six-scans-in-50-s': _six_scans_in_50_s,
}


@pytest.mark.parametrize('breakage', sorted(_SCHEDULE_BREAKAGES))
def test_schedule_guard_catches_a_broken_schedule(breakage: str) -> None:
    # Given: a copy of the template with the scanner's schedule or timeout broken
    resources, env = _copy(RESOURCES), _copy(GLOBAL_ENV)
    _SCHEDULE_BREAKAGES[breakage](resources, env)
    # When / Then: the guard reports it
    assert scanner_schedule_problems(resources, env), breakage


# --------------------------------------------------------------------------------------------------
# 7. The planner's event source: the tickets table's stream
# --------------------------------------------------------------------------------------------------
def planner_stream_problems(resources: dict[str, Any]) -> list[str]:
    events = _events(resources, PLANNER, 'DynamoDB')
    if len(events) != 1:
        return [f'{PLANNER} must have exactly one DynamoDB event']
    props = events[0]
    problems = []
    if _getatt(props.get('Stream')) != ('TicketsTable', 'StreamArn'):
        problems.append(f'Stream is {props.get("Stream")}, not TicketsTable.StreamArn')
    view = resources['TicketsTable']['Properties'].get('StreamSpecification', {}).get('StreamViewType')
    if view != 'NEW_AND_OLD_IMAGES':
        problems.append(f'TicketsTable StreamViewType {view} (the planner compares the alerts before and after)')
    if props.get('FunctionResponseTypes') != ['ReportBatchItemFailures']:
        problems.append(f'FunctionResponseTypes {props.get("FunctionResponseTypes")}')
    on_failure = (props.get('DestinationConfig') or {}).get('OnFailure') or {}
    destination = _getatt(on_failure.get('Destination'))
    if on_failure.get('Type') != 'SQS' or destination is None or destination[1] != 'Arn':
        return [*problems, f'OnFailure is {on_failure}, not an SQS queue ARN']
    queue = destination[0]
    if resources.get(queue, {}).get('Type') != QUEUE:
        problems.append(f'OnFailure destination {queue} is not a queue of the template')
    if not _alarms_on_queue(resources, queue):
        problems.append(f'no alarm notifies AlarmTopic when {queue} holds a message')
    if ('sqs:SendMessage', queue) not in grants_on(resources[PLANNER], {queue}):
        problems.append(f'{PLANNER} may not send to its OnFailure destination {queue}')
    return problems


def test_planner_reads_the_tickets_stream_with_partial_failures_and_an_alarmed_destination() -> None:
    # Given / When: the planner's stream event, its OnFailure destination and the alarms
    problems = planner_stream_problems(RESOURCES)
    # Then: it reads both images of TicketsTable's changes, reports failed records alone, and a batch it gives up
    # on lands in a queue it may send to and that alarms
    assert problems == []
    assert 'process_partial_response' in (REPO_ROOT / 'functions' / 'alert_planner' / 'app.py').read_text()


def _planner_stream(resources: dict[str, Any]) -> dict[str, Any]:
    [props] = _events(resources, PLANNER, 'DynamoDB')
    return props


_PLANNER_BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    'other-stream': lambda r: _planner_stream(r).update(Stream={'Fn::GetAtt': ['LedgerTable', 'StreamArn']}),
    'no-partial-failures': lambda r: _planner_stream(r).pop('FunctionResponseTypes'),
    'no-destination': lambda r: _planner_stream(r).pop('DestinationConfig'),
    'sns-destination': lambda r: _planner_stream(r)['DestinationConfig']['OnFailure'].update(Type='SNS'),
    'dlq-without-alarm': lambda r: r.pop('AlertPlanDLQMessagesAlarm'),
    'alarm-without-topic': lambda r: r['AlertPlanDLQMessagesAlarm']['Properties'].update(AlarmActions=[]),
    'cannot-send': lambda r: r.__setitem__(PLANNER, _without_statement(PLANNER, 'StreamFailures')),
}


@pytest.mark.parametrize('breakage', sorted(_PLANNER_BREAKAGES))
def test_planner_guard_catches_a_broken_stream_set_up(breakage: str) -> None:
    # Given: a copy of the template with the planner's stream set-up broken
    resources = _copy(RESOURCES)
    _PLANNER_BREAKAGES[breakage](resources)
    # When / Then: the guard reports it
    assert planner_stream_problems(resources), breakage


# --------------------------------------------------------------------------------------------------
# 8. Twilio webhooks: routes, the Twilio parameter, the directory's by_phone index
# --------------------------------------------------------------------------------------------------
TWILIO_ROUTES = {('POST', '/twilio/status'), ('POST', '/twilio/inbound')}


def twilio_route_problems(resources: dict[str, Any]) -> list[str]:
    events = list((_effective(resources, TWILIO, 'Events') or {}).values())
    problems = [f'{TWILIO} has a {e.get("Type")} event' for e in events if e.get('Type') != 'HttpApi']
    routes = [(str(e['Properties'].get('Method')).upper(), e['Properties'].get('Path')) for e in events if e.get('Type') == 'HttpApi']
    if sorted(routes) != sorted(TWILIO_ROUTES):
        problems.append(f'routes are {routes}, not {sorted(TWILIO_ROUTES)}')
    for event in events:
        api = event.get('Properties', {}).get('ApiId')
        if api != {'Ref': 'WebhooksApi'}:
            problems.append(f'{event.get("Properties", {}).get("Path")} is on {api}, not WebhooksApi')
    if resources.get('WebhooksApi', {}).get('Type') != 'AWS::Serverless::HttpApi':
        problems.append('WebhooksApi is not an HTTP API')
    for name in _of_type(resources, FUNCTION):
        if name != TWILIO:
            for event in _events(resources, name, 'HttpApi'):
                if str(event.get('Path', '')).startswith('/twilio/'):
                    problems.append(f'{name} also answers {event.get("Path")}')
    return problems


def test_twilio_webhooks_answer_exactly_the_two_post_routes_on_the_webhooks_api() -> None:
    # Given / When: the events of the Twilio webhooks function (and the routes of every other function)
    problems = twilio_route_problems(RESOURCES)
    # Then: POST /twilio/status and POST /twilio/inbound on WebhooksApi, nothing else, and no one else answers them
    assert problems == []
    # And: the handler tells the two apart by the status path
    assert "route.endswith('/twilio/status')" in (REPO_ROOT / 'functions' / 'twilio_webhooks' / 'app.py').read_text()


_ROUTE_BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    'get-status': lambda r: r[TWILIO]['Properties']['Events']['Status']['Properties'].update(Method='GET'),
    'any-method': lambda r: r[TWILIO]['Properties']['Events']['Inbound']['Properties'].update(Method='ANY'),
    'other-api': lambda r: r[TWILIO]['Properties']['Events']['Status']['Properties'].update(ApiId={'Ref': 'OtherApi'}),
    'implicit-api': lambda r: r[TWILIO]['Properties']['Events']['Status']['Properties'].pop('ApiId'),
    'third-route': lambda r: r[TWILIO]['Properties']['Events'].update(
        Extra={'Type': 'HttpApi', 'Properties': {'ApiId': {'Ref': 'WebhooksApi'}, 'Path': '/twilio/{proxy+}', 'Method': 'POST'}}
    ),
    'missing-inbound': lambda r: r[TWILIO]['Properties']['Events'].pop('Inbound'),
    'stolen-route': lambda r: r['WebhookIngestFunction']['Properties']['Events'].update(
        Twilio={'Type': 'HttpApi', 'Properties': {'ApiId': {'Ref': 'WebhooksApi'}, 'Path': '/twilio/inbound', 'Method': 'POST'}}
    ),
}


@pytest.mark.parametrize('breakage', sorted(_ROUTE_BREAKAGES))
def test_route_guard_catches_broken_routes(breakage: str) -> None:
    # Given: a copy of the template with the Twilio routes broken
    resources = _copy(RESOURCES)
    _ROUTE_BREAKAGES[breakage](resources)
    # When / Then: the guard reports it
    assert twilio_route_problems(resources), breakage


def test_the_status_callback_the_sender_gives_twilio_is_a_twilio_webhooks_route() -> None:
    # Given: the status callback URLs the real dispatcher put on the messages it sent
    callbacks = {m.status_callback for m in sender_run().messages if m.status_callback}
    assert callbacks
    # Then: their path is the POST route of the Twilio webhooks function, and the base the sender uses when no public
    # URL is configured is the webhooks API itself
    routes = {(str(e.get('Method')).upper(), e.get('Path')) for e in _events(RESOURCES, TWILIO, 'HttpApi')}
    assert {('POST', urlsplit(str(url)).path) for url in callbacks} <= routes
    assert {urlsplit(str(url)).path for url in callbacks} == {'/twilio/status'}
    base = RESOURCES[SENDER]['Properties']['Environment']['Variables']['PUBLIC_API_BASE_URL']
    assert 'WebhooksApi' in _referenced_ids(base)


# The programs' documents (not secrets), read as every program reader reads them: listed by their path, their versions.
PROGRAM_READS = {('ssm:GetParametersByPath', PARAMETER_ARN + '/pitcrew/${Stage}/programs'),
                 ('ssm:GetParameterHistory', PARAMETER_ARN + '/pitcrew/${Stage}/programs/*')}  # fmt: skip


def _program_reads(statement: dict[str, Any]) -> bool:
    """Exactly one of PROGRAM_READS: one action on its one resource, allowed, no NotAction/NotResource."""
    actions = [str(a) for a in _as_list(statement.get('Action', []))]
    resources = [_sub_text(r) if isinstance(r, dict) else str(r) for r in _as_list(statement.get('Resource', []))]
    return (statement.get('Effect') == 'Allow' and not set(statement) & {'NotAction', 'NotResource'} and len(actions) == 1
            and len(resources) == 1 and (actions[0], resources[0]) in PROGRAM_READS)  # fmt: skip


def ssm_problems(function: dict[str, Any], allowed: set[str], required: str) -> list[str]:
    """ssm: only GetParameter, only on the allowed parameter ARNs (no wildcard), the required one among them, besides the
    programs' documents (PROGRAM_READS); kms: only Decrypt, only through SSM."""
    problems = []
    granted = set()
    for statement in _function_statements(function):
        if _program_reads(statement):
            continue
        actions = [str(a) for a in _as_list(statement.get('Action', statement.get('NotAction', [])))]
        touches_ssm = any(a == '*' or a.lower().startswith('ssm:') for a in actions)
        touches_kms = any(a.lower().startswith('kms:') for a in actions)
        if set(statement) & {'NotAction', 'NotResource'} and (touches_ssm or touches_kms):
            problems.append(f'{statement.get("Sid")}: NotAction/NotResource')
        if touches_ssm:
            if actions != ['ssm:GetParameter']:
                problems.append(f'{statement.get("Sid")}: actions {actions} (only ssm:GetParameter)')
            for resource in _as_list(statement.get('Resource', [])):
                text = _sub_text(resource) if isinstance(resource, dict) else str(resource)
                if text is None or text not in allowed or '*' in text:
                    problems.append(f'{statement.get("Sid")}: parameter {resource} is not one of {sorted(allowed)}')
                elif statement.get('Effect') == 'Allow':
                    granted.add(text)
        if touches_kms:
            via = (statement.get('Condition') or {}).get('StringEquals', {}).get('kms:ViaService')
            if actions != ['kms:Decrypt'] or via != SSM_VIA_SERVICE:
                problems.append(f'{statement.get("Sid")}: {actions} with kms:ViaService {via} (only kms:Decrypt, only through SSM)')
    if required not in granted:
        problems.append(f'{required} is not granted')
    return problems


def _twilio_arn() -> str:
    path = _sub_text(GLOBAL_ENV['TWILIO_PARAMETER'])
    assert path is not None
    return PARAMETER_ARN + path


# The webhooks also read the service configuration and the programs (RANK answers from the programs' leagues).
@pytest.mark.parametrize(('function', 'allowed'), [(TWILIO, {SERVICE_CONFIG_ARN}), (SENDER, {SERVICE_CONFIG_ARN})])
def test_twilio_account_is_read_from_exactly_its_parameter(function: str, allowed: set[str]) -> None:
    # Given: TWILIO_PARAMETER in Globals (the name load_account() reads), and the function's ssm and kms statements
    assert _sub_text(GLOBAL_ENV['TWILIO_PARAMETER']) == TWILIO_PATH
    # When: checking the statements
    problems = ssm_problems(RESOURCES[function], allowed | {_twilio_arn()}, _twilio_arn())
    # Then: GetParameter on exactly parameter/pitcrew/${Stage}/twilio (plus the service config), no wildcard besides the
    # programs' versions, and kms:Decrypt only through SSM (the SecureString)
    assert problems == []


_SSM_RESOURCE_BREAKAGES = {
    'stage-wildcard': {'Fn::Sub': PARAMETER_ARN + '/pitcrew/${Stage}/*'},
    'suffix-wildcard': {'Fn::Sub': PARAMETER_ARN + '/pitcrew/${Stage}/twilio*'},
    'all-pitcrew': {'Fn::Sub': PARAMETER_ARN + '/pitcrew/*'},
    'other-parameter': {'Fn::Sub': PARAMETER_ARN + '/pitcrew/${Stage}/sources/zendesk'},
    'star': '*',
}


@pytest.mark.parametrize('breakage', sorted(_SSM_RESOURCE_BREAKAGES))
def test_ssm_guard_catches_a_broad_parameter_grant(breakage: str) -> None:
    # Given: the Twilio webhooks allowed to read more than the Twilio parameter
    function = _copy(RESOURCES[TWILIO])
    function['Properties']['Policies'][0]['Statement'].append(
        {'Sid': 'Extra', 'Effect': 'Allow', 'Action': 'ssm:GetParameter', 'Resource': _SSM_RESOURCE_BREAKAGES[breakage]}
    )
    # When / Then: the guard reports it
    assert ssm_problems(function, {_twilio_arn()}, _twilio_arn()), breakage


def test_ssm_guard_catches_path_reads_missing_grants_and_unconditioned_decrypt() -> None:
    # Given: a GetParametersByPath on the Twilio path, the Twilio statement removed, kms:Decrypt without ViaService
    by_path = _with_policy(TWILIO, _allow('ssm:GetParametersByPath', {'Fn::Sub': PARAMETER_ARN + TWILIO_PATH}))
    missing = _without_statement(TWILIO, 'ReadTwilioAccount')
    decrypt = _copy(RESOURCES[TWILIO])
    for statement in decrypt['Properties']['Policies'][0]['Statement']:
        if statement.get('Sid') == 'DecryptTwilioAccountViaSsm':
            statement.pop('Condition')
    # When / Then: the guard reports each
    for function in (by_path, missing, decrypt):
        assert ssm_problems(function, {_twilio_arn()}, _twilio_arn())


def directory_query_problems(function: dict[str, Any]) -> list[str]:
    rows = [row for row in grant_rows(function) if _action_allows(row.action, 'dynamodb:Query') and row.reaches & {'DirectoryTable', '*'}]
    problems = [
        f'{row.action} on {row.label}: the directory may be queried only through by_phone'
        for row in rows
        if row.label != 'DirectoryTable/index/by_phone'
    ]
    if not any(row.label == 'DirectoryTable/index/by_phone' for row in rows):
        problems.append('no Query on DirectoryTable/index/by_phone')
    return problems


def test_twilio_webhooks_query_the_directory_only_through_by_phone() -> None:
    # Given / When: the Twilio webhooks' Query grants that reach DirectoryTable
    problems = directory_query_problems(RESOURCES[TWILIO])
    # Then: exactly ${DirectoryTable.Arn}/index/by_phone (not the table, not every index)
    assert problems == []


@pytest.mark.parametrize(
    'policy',
    [
        _allow('dynamodb:Query', {'Fn::GetAtt': ['DirectoryTable', 'Arn']}),
        _allow('dynamodb:Query', {'Fn::Sub': '${DirectoryTable.Arn}/index/*'}),
        _allow('dynamodb:Query', {'Fn::Sub': '${DirectoryTable.Arn}/index/employees'}),
        _allow('dynamodb:*', '*'),
    ],
    ids=['table', 'every-index', 'employees-index', 'star'],
)
def test_directory_query_guard_catches_other_queries(policy: Any) -> None:
    # Given: the Twilio webhooks allowed one more directory Query
    # When / Then: the guard reports it
    assert directory_query_problems(_with_policy(TWILIO, policy))


def test_directory_query_guard_catches_a_missing_by_phone_grant() -> None:
    # Given: the Twilio webhooks without their by_phone statement
    # When / Then: the guard reports it
    assert directory_query_problems(_without_statement(TWILIO, 'FindSenderByPhone')) == ['no Query on DirectoryTable/index/by_phone']


# --------------------------------------------------------------------------------------------------
# 9. The directory's by_phone index
# --------------------------------------------------------------------------------------------------
def _by_phone_use() -> IndexUse:
    calls: list[Call] = []
    ContactBook(table_name='DirectoryTable', client=RecordingClient('dynamodb', calls, World(alert_item()))).employees_with_phone(
        '+15550000001'
    )
    [use] = index_uses(calls)
    return use


def by_phone_problems(props: dict[str, Any], use: IndexUse) -> list[str]:
    index = _index(props, use.index)
    if index is None:
        return [f'DirectoryTable has no index {use.index!r}']
    problems = []
    if index.get('KeySchema') != [{'AttributeName': use.hash_key, 'KeyType': 'HASH'}]:
        problems.append(f'{use.index} keys are {index.get("KeySchema")}, the code queries {use.hash_key} =')
    if _attribute_types(props).get(use.hash_key) != 'S':
        problems.append(f'{use.hash_key} is not defined as a string (the code queries it with an S value)')
    return problems


def test_directory_has_the_by_phone_index_the_contact_book_queries() -> None:
    # Given: the index and key condition ContactBook.employees_with_phone() queries
    use = _by_phone_use()
    # When: checking DirectoryTable
    problems = by_phone_problems(DIRECTORY_PROPS, use)
    # Then: a by_phone index with `phone` (a string) as its hash key
    assert problems == []
    assert use == IndexUse('by_phone', 'phone', None)


def test_by_phone_projection_carries_what_the_contact_book_reads() -> None:
    # Given: a profile as the by_phone index projects it (the template's keys and INCLUDE attributes)
    item = projected(PROFILE, DIRECTORY_PROPS, 'by_phone')
    calls: list[Call] = []
    book = ContactBook(table_name='DirectoryTable', client=RecordingClient('dynamodb', calls, lambda op, kw: {'Items': [item]}))
    # When: the contact book reads it
    found = book.employees_with_phone('+15550000001')
    # Then: it finds the person (employee_id, active and sk are projected; a missing one would raise or drop them)
    assert found == ['e1']
    assert 'email' not in item  # the projection is not ALL: the check above is not vacuous


@pytest.mark.parametrize(
    'breakage',
    [
        lambda p: p['GlobalSecondaryIndexes'].remove(_index(p, 'by_phone')),
        lambda p: _index(p, 'by_phone').update(KeySchema=[{'AttributeName': 'mobile', 'KeyType': 'HASH'}]),  # type: ignore[union-attr]
        lambda p: _index(p, 'by_phone').update(  # type: ignore[union-attr]
            KeySchema=[{'AttributeName': 'phone', 'KeyType': 'HASH'}, {'AttributeName': 'pk', 'KeyType': 'RANGE'}]
        ),
        lambda p: p['AttributeDefinitions'].__setitem__(4, {'AttributeName': 'phone', 'AttributeType': 'N'}),
    ],
    ids=['no-index', 'other-key', 'range-key', 'numeric-phone'],
)
def test_by_phone_guard_catches_a_broken_index(breakage: Callable[[dict[str, Any]], None]) -> None:
    # Given: a copy of DirectoryTable with by_phone broken
    props = _copy(DIRECTORY_PROPS)
    breakage(props)
    # When / Then: the guard reports it
    assert by_phone_problems(props, _by_phone_use())


# --------------------------------------------------------------------------------------------------
# 10. The Twilio parameter and no token in any environment
# --------------------------------------------------------------------------------------------------
_TWILIO_TOKEN = re.compile(r'\b(?:AC|SK)?[0-9a-fA-F]{32}\b')  # auth token; account and API key SIDs
_SECRET_NAME = re.compile(r'AUTH|TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL', re.IGNORECASE)
_SECRET_RESOLVE = re.compile(r'\{\{resolve:(ssm-secure|secretsmanager):')


def _literals(value: Any) -> Iterator[str]:
    """Every literal string a value may become: plain strings, Fn::Sub texts and their maps, both Fn::If branches."""
    if isinstance(value, str | int | float | bool):
        yield str(value)
    elif isinstance(value, list):
        for item in value:
            yield from _literals(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key in {'Ref', 'Fn::GetAtt'}:
                continue
            if key == 'Fn::If':
                yield from _literals(inner[1:])
            else:
                yield from _literals(inner)


def token_env_problems(variables: dict[str, Any], where: str, parameters: dict[str, Any]) -> list[str]:
    problems = []
    for name, value in variables.items():
        for text in _literals(value):
            if _TWILIO_TOKEN.search(text):
                problems.append(f'{where}: {name} holds a value shaped like a Twilio token or SID')
            elif _SECRET_RESOLVE.search(text):
                problems.append(f'{where}: {name} resolves a secret into the environment')
            elif _SECRET_NAME.search(name) and text and not text.startswith('/'):
                problems.append(f'{where}: {name} looks like a secret and holds a literal')
        for ref in sorted(_referenced_ids(value)):
            if str(parameters.get(ref, {}).get('NoEcho', '')).lower() == 'true':
                problems.append(f'{where}: {name} takes the NoEcho parameter {ref}')
    return problems


def _environments(resources: dict[str, Any], global_env: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield 'Globals', global_env
    for name, res in _of_type(resources, FUNCTION).items():
        yield name, res.get('Properties', {}).get('Environment', {}).get('Variables', {})


def twilio_parameter_problems(global_env: dict[str, Any]) -> list[str]:
    value = global_env.get('TWILIO_PARAMETER')
    text = _sub_text(value) if isinstance(value, dict) else value
    if not isinstance(text, str):
        return [f'TWILIO_PARAMETER is {value!r}, not a literal path']
    problems = []
    if not text.startswith('/pitcrew/'):
        problems.append(f'TWILIO_PARAMETER {text!r} is not a path under /pitcrew/')
    if '*' in text or _TWILIO_TOKEN.search(text) or _SECRET_RESOLVE.search(text):
        problems.append(f'TWILIO_PARAMETER {text!r} is not a plain parameter name')
    return problems


def test_twilio_parameter_is_a_path_and_no_environment_holds_a_token() -> None:
    # Given: the environment of Globals and of every function
    assert 'TWILIO_PARAMETER' in GLOBAL_ENV
    # When: checking the Twilio parameter and every value (both branches of a condition included)
    problems = twilio_parameter_problems(GLOBAL_ENV)
    problems += [p for where, variables in _environments(RESOURCES, GLOBAL_ENV) for p in token_env_problems(variables, where, PARAMETERS)]
    # Then: TWILIO_PARAMETER names a parameter under /pitcrew/ and nothing holds (or resolves) a token
    assert problems == []


@pytest.mark.parametrize(
    'value',
    ['twilio', '/other/${Stage}/twilio', {'Ref': 'TwilioParameterName'}, '/pitcrew/${Stage}/*', '/pitcrew/{{resolve:ssm-secure:/x}}'],
    ids=['relative', 'outside-pitcrew', 'not-literal', 'wildcard', 'resolved'],
)
def test_twilio_parameter_guard_catches_a_bad_name(value: Any) -> None:
    # Given: Globals whose TWILIO_PARAMETER is not a plain path under /pitcrew/
    env = _copy(GLOBAL_ENV)
    env['TWILIO_PARAMETER'] = {'Fn::Sub': value} if isinstance(value, str) and '${' in value else value
    # When / Then: the guard reports it
    assert twilio_parameter_problems(env), value


@pytest.mark.parametrize(
    'variables',
    [
        {'TWILIO_AUTH_TOKEN': 'not-a-path'},
        {'TWILIO': '0123456789abcdef0123456789ABCDEF'},
        {'ACCOUNT': 'AC0123456789abcdef0123456789abcdef'},
        {'TWILIO_ACCOUNT': '{{resolve:ssm-secure:/pitcrew/prod/twilio}}'},
        {'PUBLIC_API_BASE_URL': {'Fn::If': ['HasPublicApiBaseUrl', 'x', {'Fn::Sub': 'https://u:0123456789abcdef0123456789abcdef@h'}]}},
        {'TOKEN_FROM_PARAMETER': {'Ref': 'TwilioAuthToken'}},
    ],
    ids=['token-name', 'hex-token', 'account-sid', 'resolve-secure', 'hidden-in-a-condition', 'no-echo-parameter'],
)
def test_token_guard_catches_a_token_in_the_environment(variables: dict[str, Any]) -> None:
    # Given: an environment holding a Twilio token (or a NoEcho parameter)
    parameters = {'TwilioAuthToken': {'Type': 'String', 'NoEcho': True}}
    # When / Then: the guard reports it
    assert token_env_problems(variables, 'test', parameters), variables
