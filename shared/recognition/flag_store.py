"""Where collusion flags are read from and kept: the RecognitionTable (design14, "Storage layout").

Reading a month's recognitions, never with a Scan: one Query per location feed `FEED#<program>#L#<location>` with the
sort key between the month's first instant and the next month's (the sort key is `<recorded_at ISO UTC>#<id>`, so the
range is a key condition, not a filter), projected to the attributes detection needs (the message is not read). A
recognition is in the feed of its receiver's location, so the location feeds of a program hold every one of its
recognitions once (`shared.recognition.collusion` drops a duplicate by id all the same).

Flags (one flag, several items, all written in ONE TransactWriteItems with the managers' notices):
- `FLAG#<program>` sk `<yyyy-mm>#<kind>#<members>`: every flag of the program (what admins read, and the only place a
  flag whose people have no manager is seen). Its `attribute_not_exists` condition is what makes a flag raised once per
  month, kind and members: a later run with more evidence updates the evidence (only when it changed: a `digest`
  condition) and does not notify again;
- `FLAG#<program>#<manager_id>` sk the same: the flag in each manager's list (a manager's month is one Query);
- the notice to each manager in scope: an alert item (AlertKind.COLLUSION_FLAG, Recipient.MANAGER, its subject one of
  the manager's own people in the flag), delivered by the alert pipeline. A manager who comes into scope later (a
  person's manager changed) gets the flag in their list and one notice then.
Flags hold employee ids and the recognitions' ids, points and dates (no names, no messages); they expire with the TTL
after about 13 months, like the month's allowance counters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.alerts.store import AlertStore
from shared.alerts.sync import PendingAlert
from shared.config import get_settings
from shared.dynamo import LowLevelClient, conditional_check_failed
from shared.recognition.collusion import CollusionFlag, Recognition

FLAG_TTL = timedelta(days=400)
_FEED_FIELDS = ('sk', 'recognition_id', 'giver_id', 'receiver_id', 'points', 'kind', 'giver_team', 'receiver_team',
                'giver_location', 'receiver_location', 'month')  # fmt: skip


def location_feed_pk(program_id: str, location_id: str) -> str:
    return f'FEED#{program_id}#L#{location_id}'


def program_flags_pk(program_id: str) -> str:
    return f'FLAG#{program_id}'


def manager_flags_pk(program_id: str, manager_id: str) -> str:
    return f'FLAG#{program_id}#{manager_id}'


def _sk_instant(moment: datetime) -> str:
    """The start of a feed sort key at `moment` (seconds precision, no zone suffix): every key recorded at or after
    `moment` sorts after it, whatever fraction or suffix (`Z`, `+00:00`) the writer put."""
    return moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')


def _recorded_at(sort_key: str) -> datetime:
    moment = datetime.fromisoformat(sort_key.split('#', 1)[0].replace('Z', '+00:00'))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class FlagLink(BaseModel):
    model_config = ConfigDict(frozen=True)

    giver_id: str  # for concentration: the team (its manager's id)
    receiver_id: str
    points: int
    share: float
    count: int


class FlagEvidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    recognition_id: str
    giver_id: str
    receiver_id: str
    points: int
    recorded_at: datetime
    share: float


class StoredFlag(BaseModel):
    """A flag as kept (what a manager's list, the admins' list and `make run` show)."""

    model_config = ConfigDict(frozen=True)

    program_id: str
    month: str
    kind: str
    key: str
    members: tuple[str, ...]
    managers: tuple[str, ...]
    unmanaged: tuple[str, ...] = ()
    team_id: str | None = None
    team_points: int = 0
    points: int
    recognitions: int
    links: tuple[FlagLink, ...]
    evidence: tuple[FlagEvidence, ...]
    summary: str
    raised_at: datetime
    updated_at: datetime

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> StoredFlag:
        def strings(name: str) -> tuple[str, ...]:
            return tuple(value['S'] for value in item.get(name, {}).get('L', []))

        return cls(
            program_id=item['program_id']['S'],
            month=item['month']['S'],
            kind=item['kind']['S'],
            key=item['sk']['S'],
            members=strings('members'),
            managers=strings('managers'),
            unmanaged=strings('unmanaged'),
            team_id=item['team_id']['S'] if 'team_id' in item else None,
            team_points=int(item.get('team_points', {}).get('N', 0)),
            points=int(item['points']['N']),
            recognitions=int(item['recognitions']['N']),
            links=tuple(FlagLink.model_validate(link) for link in json.loads(item['links']['S'])),
            evidence=tuple(FlagEvidence.model_validate(entry) for entry in json.loads(item['evidence']['S'])),
            summary=item['summary']['S'],
            raised_at=datetime.fromisoformat(item['raised_at']['S']),
            updated_at=datetime.fromisoformat(item['updated_at']['S']),
        )


def _value(value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {'BOOL': value}
    if isinstance(value, int):
        return {'N': str(value)}
    if isinstance(value, (list, tuple)):
        return {'L': [{'S': str(element)} for element in value]}
    return {'S': str(value)}


def flag_body(program_id: str, flag: CollusionFlag) -> dict[str, object]:
    """The attributes every item of the flag carries (its digest says whether a later run changed anything)."""
    links = [link.as_dict() for link in flag.links]
    evidence = [entry.as_dict() for entry in flag.evidence]
    body: dict[str, object] = {
        'program_id': program_id,
        'month': flag.month,
        'kind': flag.kind.value,
        'members': list(flag.members),
        'managers': list(flag.managers),
        'unmanaged': list(flag.unmanaged),
        'team_points': flag.team_points,
        'points': flag.points,
        'recognitions': flag.recognitions,
        'links': json.dumps(links, separators=(',', ':')),
        'evidence': json.dumps(evidence, separators=(',', ':')),
        'summary': flag.summary(),
    }
    if flag.team_id:
        body['team_id'] = flag.team_id
    body['digest'] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    return body


class FlagStore(LowLevelClient):
    def __init__(self, table_name: str | None = None, client: Any = None, alerts: AlertStore | None = None) -> None:
        self.table = table_name or get_settings().RECOGNITION_TABLE
        self._client = client
        self.alerts = alerts if alerts is not None else AlertStore(client=client)
        self.requests = 0  # DynamoDB requests this store made (the run reports them)

    # --- reading a month of recognitions ---------------------------------------------------------------------------
    def month_recognitions(self, program_id: str, locations: Iterable[str], start: datetime, end: datetime,
                           month: str) -> tuple[list[Recognition], int]:  # fmt: skip
        """The recognitions recorded in [start, end) in the location feeds, and the number of Query requests made."""
        found: list[Recognition] = []
        queries = 0
        names = {f'#f{index}': name for index, name in enumerate(_FEED_FIELDS)}
        for location in sorted(set(locations)):
            params: dict[str, Any] = {
                'TableName': self.table,
                'KeyConditionExpression': 'pk = :pk AND sk BETWEEN :lo AND :hi',
                'ExpressionAttributeValues': {
                    ':pk': {'S': location_feed_pk(program_id, location)},
                    ':lo': {'S': _sk_instant(start)},
                    ':hi': {'S': _sk_instant(end)},
                },  # fmt: skip
                'ProjectionExpression': ', '.join(names),
                'ExpressionAttributeNames': names,
            }
            for item in self._pages(params):
                if item is None:
                    queries += 1
                    continue
                if 'month' in item and item['month']['S'] != month:
                    continue
                found.append(_recognition(item))
        return found, queries

    # --- raising a flag --------------------------------------------------------------------------------------------
    def known_digests(self, program_id: str, month: str) -> dict[str, str]:
        """The month's flags already raised (key -> digest): one Query of the program's list, keys and digests only, so
        a run that finds nothing new writes nothing."""
        params: dict[str, Any] = {
            'TableName': self.table,
            'KeyConditionExpression': 'pk = :pk AND begins_with(sk, :month)',
            'ExpressionAttributeValues': {':pk': {'S': program_flags_pk(program_id)}, ':month': {'S': f'{month}#'}},
            'ProjectionExpression': 'sk, #digest',
            'ExpressionAttributeNames': {'#digest': 'digest'},
        }
        return {item['sk']['S']: item.get('digest', {}).get('S', '') for item in self._pages(params) if item is not None}

    def raise_flag(self, program_id: str, flag: CollusionFlag, notices: Mapping[str, PendingAlert], now: datetime,
                   known: Mapping[str, str] | None = None) -> str:  # fmt: skip
        """`raised` (new: its items and a notice per manager in scope, in one transaction), `updated` (known: its evidence
        changed; a manager new to its scope gets it and a notice) or `unchanged`. `notices`: manager id -> the alert;
        `known`: what `known_digests` read (a known flag with the same digest is not written at all)."""
        body = flag_body(program_id, flag)
        if known is not None and known.get(flag.key) == body['digest']:
            return 'unchanged'
        stamp = now.astimezone(UTC).isoformat()
        item = {name: _value(value) for name, value in body.items()}
        item |= {'sk': {'S': flag.key}, 'raised_at': {'S': stamp}, 'updated_at': {'S': stamp},
                 'expires_at': {'N': str(int((now + FLAG_TTL).timestamp()))}}  # fmt: skip
        if known is None or flag.key not in known:
            actions = [self._put(program_flags_pk(program_id), item)]
            actions += [self._put(manager_flags_pk(program_id, manager), item) for manager in flag.managers]
            alerts = [self.alerts.new_alert_action(notices[manager], now) for manager in flag.managers if manager in notices]
            try:
                self._transact(actions + alerts)
                return 'raised'
            except self.client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get('Code') for reason in exc.response.get('CancellationReasons') or []]
                if codes[:1] != ['ConditionalCheckFailed']:  # not known after all: only a notice exists (told before)
                    if any(code not in (None, 'None', 'ConditionalCheckFailed') for code in codes):
                        raise
                    self._transact(actions)
                    return 'raised'
        return self._refresh(program_id, flag, body, notices, item, now)

    def _put(self, pk: str, item: Mapping[str, Any]) -> dict[str, Any]:
        return {'Put': {'TableName': self.table, 'Item': {'pk': {'S': pk}, **item}, 'ConditionExpression': 'attribute_not_exists(pk)'}}

    def _refresh(self, program_id: str, flag: CollusionFlag, body: Mapping[str, object], notices: Mapping[str, PendingAlert],
                 item: Mapping[str, Any], now: datetime) -> str:  # fmt: skip
        """A known flag: its evidence in the program's list, unless unchanged (the digest condition); then in the list of
        each manager told before, and for a manager new to its scope (a person's manager changed) the flag and a notice."""
        names = {f'#a{index}': name for index, name in enumerate((*body, 'updated_at'))}
        values = {f':a{index}': _value(value) for index, value in enumerate((*body.values(), now.astimezone(UTC).isoformat()))}
        sets = [f'{name} = :{name[1:]}' for name in names]
        # an item missing (deleted by hand) is made whole again
        sets += ['raised_at = if_not_exists(raised_at, :raised)', 'expires_at = if_not_exists(expires_at, :expires)']
        values |= {':raised': item['raised_at'], ':expires': item['expires_at']}
        update = {'TableName': self.table, 'UpdateExpression': 'SET ' + ', '.join(sets), 'ExpressionAttributeNames': names,
                  'ExpressionAttributeValues': values}  # fmt: skip
        try:
            self.requests += 1
            old = self.client.update_item(
                Key={'pk': {'S': program_flags_pk(program_id)}, 'sk': {'S': flag.key}},
                ConditionExpression='attribute_exists(pk) AND #digest <> :digest',
                ReturnValues='ALL_OLD',
                **(update | {'ExpressionAttributeNames': names | {'#digest': 'digest'},
                             'ExpressionAttributeValues': values | {':digest': {'S': str(body['digest'])}}}),
            )['Attributes']  # fmt: skip
        except Exception as exc:
            if conditional_check_failed(exc):
                return 'unchanged'
            raise
        told = {value['S'] for value in old.get('managers', {}).get('L', [])}
        raised = {'raised_at': old['raised_at']} if 'raised_at' in old else {}  # the manager's list shows when it was raised
        for manager in flag.managers:
            key = {'pk': {'S': manager_flags_pk(program_id, manager)}, 'sk': {'S': flag.key}}
            if manager not in told:
                actions = [self._put(manager_flags_pk(program_id, manager), {**item, **raised})]
                if manager in notices:
                    actions.append(self.alerts.new_alert_action(notices[manager], now))
                try:
                    self._transact(actions)
                    continue
                except self.client.exceptions.TransactionCanceledException:
                    pass  # in their list already (in scope before), or told already: only the evidence
            self.requests += 1
            self.client.update_item(Key=key, **update)
        return 'updated'

    def _transact(self, actions: Sequence[dict[str, Any]]) -> None:
        self.requests += 1
        self.client.transact_write_items(TransactItems=list(actions))

    # --- reading flags ---------------------------------------------------------------------------------------------
    def flags_for_manager(self, program_id: str, manager_id: str, month: str) -> list[StoredFlag]:
        """A manager's flags of a month: one Query (a page holds 1 MB: more flags than a month has for one manager)."""
        return self._month(manager_flags_pk(program_id, manager_id), month)

    def flags_of_program(self, program_id: str, month: str) -> list[StoredFlag]:
        """Every flag of a program's month (the admins' list, `make run`): one Query."""
        return self._month(program_flags_pk(program_id), month)

    def _month(self, pk: str, month: str) -> list[StoredFlag]:
        params: dict[str, Any] = {
            'TableName': self.table,
            'KeyConditionExpression': 'pk = :pk AND begins_with(sk, :month)',
            'ExpressionAttributeValues': {':pk': {'S': pk}, ':month': {'S': f'{month}#'}},
        }
        return [StoredFlag.from_item(item) for item in self._pages(params) if item is not None]

    def _pages(self, params: dict[str, Any]) -> Iterator[dict[str, Any] | None]:
        """Every item of a Query, page by page; None before each page (a request made)."""
        while True:
            self.requests += 1
            page = self.client.query(**params)
            yield None
            yield from page.get('Items', [])
            if 'LastEvaluatedKey' not in page:
                return
            params['ExclusiveStartKey'] = page['LastEvaluatedKey']


def _recognition(item: Mapping[str, Any]) -> Recognition:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value['S'] if value and 'S' in value else None

    return Recognition(
        recognition_id=item['recognition_id']['S'],
        giver_id=item['giver_id']['S'],
        receiver_id=item['receiver_id']['S'],
        points=int(item['points']['N']),
        recorded_at=_recorded_at(item['sk']['S']),
        kind=text('kind') or 'thanks',
        giver_team=text('giver_team'),
        receiver_team=text('receiver_team'),
        giver_location=text('giver_location'),
        receiver_location=text('receiver_location'),
    )
