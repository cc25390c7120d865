"""The recognition feed: per team and per location, newest first, paginated by an opaque cursor (never a Scan).

Items (RecognitionTable, design14 "Storage layout"; a contract with the collusion and spot-award parts):
- `FEED#<program>#T#<team_id>` (team_id = the receiver's manager_id: a team is a manager's direct reports) and
  `FEED#<program>#L#<location_id>` (the receiver's location);
- sk `<recorded_at ISO UTC>#<recognition_id>`, so a descending Query reads newest first;
- attributes: recognition_id, giver_id, receiver_id, points, value, message, kind (`thanks` | `spot`),
  giver_location, receiver_location, giver_team, receiver_team, month (yyyy-mm in the program's zone).

`feed_items(entry)` builds both items (low-level DynamoDB attribute values, ready for a TransactWriteItems Put): the
thanks writer (`shared.recognition.store`) and the spot-award writer use it, so every feed item has the same shape.

Reading (`FeedReader.page`): ONE Query per page (descending, Limit = page size <= 50), and at most ONE BatchGetItem of the
directory for the names of the people on the page. The cursor is base64 (URL-safe) of the page's LastEvaluatedKey; a
cursor that belongs to another feed (another partition) or is not one of ours is refused (InvalidPayload, field
`cursor`: a 400), so a page can never read someone else's feed by a forged cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import InvalidPayload

MAX_PAGE = 50
FeedKind = Literal['thanks', 'spot']
FEED_ATTRIBUTES = ('recognition_id', 'giver_id', 'receiver_id', 'points', 'value', 'message', 'kind', 'giver_location',
                   'receiver_location', 'giver_team', 'receiver_team', 'month')  # fmt: skip


class FeedEntry(BaseModel):
    """What one feed line says. For a spot award: recognition_id = the award id, giver = the manager, value = the
    reason id, kind `spot`."""

    model_config = ConfigDict(frozen=True)

    program_id: str
    recognition_id: str
    kind: FeedKind = 'thanks'
    giver_id: str
    receiver_id: str
    points: int
    value: str
    message: str
    giver_location: str | None = None
    receiver_location: str | None = None
    giver_team: str | None = None  # the giver's manager_id
    receiver_team: str | None = None  # the receiver's manager_id: the team feed the line appears in
    month: str = Field(pattern=r'^\d{4}-\d{2}$')
    recorded_at: datetime


def team_feed_pk(program_id: str, team_id: str) -> str:
    return f'FEED#{program_id}#T#{team_id}'


def location_feed_pk(program_id: str, location_id: str) -> str:
    return f'FEED#{program_id}#L#{location_id}'


def feed_sk(recorded_at: datetime, recognition_id: str) -> str:
    return f'{recorded_at.astimezone(UTC).isoformat()}#{recognition_id}'


def feed_keys(entry: FeedEntry) -> list[dict[str, Any]]:
    """The keys of the entry's feed items: its receiver's team feed (when they have a manager) and location feed."""
    sk = feed_sk(entry.recorded_at, entry.recognition_id)
    pks = []
    if entry.receiver_team:
        pks.append(team_feed_pk(entry.program_id, entry.receiver_team))
    if entry.receiver_location:
        pks.append(location_feed_pk(entry.program_id, entry.receiver_location))
    return [{'pk': {'S': pk}, 'sk': {'S': sk}} for pk in pks]


def feed_items(entry: FeedEntry) -> list[dict[str, Any]]:
    """The entry's feed items (pk, sk and FEED_ATTRIBUTES; absent locations and teams are left out), as low-level
    DynamoDB items; a writer puts each in its transaction as
    `{'Put': {'TableName': table, 'Item': item, 'ConditionExpression': 'attribute_not_exists(pk)'}}`."""
    values: dict[str, Any] = {
        'recognition_id': {'S': entry.recognition_id},
        'giver_id': {'S': entry.giver_id},
        'receiver_id': {'S': entry.receiver_id},
        'points': {'N': str(entry.points)},
        'value': {'S': entry.value},
        'message': {'S': entry.message},
        'kind': {'S': entry.kind},
        'month': {'S': entry.month},
    }
    for name in ('giver_location', 'receiver_location', 'giver_team', 'receiver_team'):
        if getattr(entry, name):
            values[name] = {'S': getattr(entry, name)}
    return [key | values for key in feed_keys(entry)]


def entry_of(item: Mapping[str, Any], program_id: str) -> FeedEntry:
    """A stored feed item back as a FeedEntry (the reader and the collusion scan)."""

    def text(name: str) -> str | None:
        return item[name]['S'] if name in item else None

    return FeedEntry(
        program_id=program_id,
        recognition_id=item['recognition_id']['S'],
        kind='spot' if text('kind') == 'spot' else 'thanks',
        giver_id=item['giver_id']['S'],
        receiver_id=item['receiver_id']['S'],
        points=int(item['points']['N']),
        value=text('value') or '',
        message=text('message') or '',
        giver_location=text('giver_location'),
        receiver_location=text('receiver_location'),
        giver_team=text('giver_team'),
        receiver_team=text('receiver_team'),
        month=item['month']['S'],
        recorded_at=datetime.fromisoformat(item['sk']['S'].rsplit('#', 1)[0]),
    )


# --- reading ------------------------------------------------------------------------------------------------------
class FeedRequest(BaseModel):
    """One page of a team's or a location's feed (`team_id` or `location_id`, exactly one)."""

    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    program_id: str = Field(min_length=1, max_length=64)
    team_id: str | None = Field(default=None, min_length=1, max_length=64)
    location_id: str | None = Field(default=None, min_length=1, max_length=64)
    cursor: str | None = Field(default=None, max_length=2048)
    limit: int = Field(default=20, ge=1, le=MAX_PAGE)

    def feed_pk(self) -> str:
        if (self.team_id is None) == (self.location_id is None):
            raise InvalidPayload('name exactly one of team_id and location_id', field='team_id')
        if self.team_id is not None:
            return team_feed_pk(self.program_id, self.team_id)
        assert self.location_id is not None
        return location_feed_pk(self.program_id, self.location_id)


class FeedLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry: FeedEntry
    giver_name: str | None = None
    receiver_name: str | None = None


class FeedPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    feed: str
    lines: list[FeedLine]
    cursor: str | None = None  # the next page's cursor; None: this was the last page


def encode_cursor(last_key: Mapping[str, Any]) -> str:
    plain = {'pk': last_key['pk']['S'], 'sk': last_key['sk']['S']}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(',', ':')).encode()).decode().rstrip('=')


def decode_cursor(cursor: str, feed_pk: str) -> dict[str, Any]:
    """The ExclusiveStartKey a cursor stands for; refused (400, field `cursor`) unless it is a key of this feed."""
    try:
        padded = cursor + '=' * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
        pk, sk = plain['pk'], plain['sk']
        if not (isinstance(pk, str) and isinstance(sk, str)) or set(plain) != {'pk', 'sk'}:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidPayload('not a cursor of the recognition feed', field='cursor') from None
    if pk != feed_pk:
        raise InvalidPayload('this cursor belongs to another feed: start again without a cursor', field='cursor')
    return {'pk': {'S': pk}, 'sk': {'S': sk}}


@dataclass
class FeedReader:
    """`client`: a low-level DynamoDB client; names come from the directory table (None: no names)."""

    client: Any
    table: str
    directory_table: str | None = None

    def page(self, request: FeedRequest) -> FeedPage:
        pk = request.feed_pk()
        query: dict[str, Any] = {
            'TableName': self.table,
            'KeyConditionExpression': 'pk = :pk',
            'ExpressionAttributeValues': {':pk': {'S': pk}},
            'ScanIndexForward': False,
            'Limit': request.limit,
        }
        if request.cursor:
            query['ExclusiveStartKey'] = decode_cursor(request.cursor, pk)
        response = self.client.query(**query)
        entries = [entry_of(item, request.program_id) for item in response.get('Items', [])]
        names = self._names({person for entry in entries for person in (entry.giver_id, entry.receiver_id)})
        last = response.get('LastEvaluatedKey')
        lines = [FeedLine(entry=entry, giver_name=names.get(entry.giver_id), receiver_name=names.get(entry.receiver_id))
                 for entry in entries]  # fmt: skip
        return FeedPage(feed=pk, lines=lines, cursor=encode_cursor(last) if last else None)

    def _names(self, people: set[str]) -> dict[str, str]:
        """One BatchGetItem of the profiles (a page names at most 100 people: 50 lines, two each), names only."""
        if not people or self.directory_table is None:
            return {}
        from shared.directory.store import profile_pk

        keys = [{'pk': {'S': profile_pk(person)}, 'sk': {'S': 'PROFILE'}} for person in sorted(people)]
        request: dict[str, Any] = {self.directory_table: {'Keys': keys, 'ProjectionExpression': 'employee_id, #n',
                                                          'ExpressionAttributeNames': {'#n': 'name'}}}  # fmt: skip
        names: dict[str, str] = {}
        for _ in range(3):  # unprocessed keys (throttling) are asked once or twice more; the rest stay unnamed
            response = self.client.batch_get_item(RequestItems=request)
            for item in response.get('Responses', {}).get(self.directory_table, []):
                if 'name' in item:
                    names[item['employee_id']['S']] = item['name']['S']
            request = response.get('UnprocessedKeys') or {}
            if not request:
                break
        return names


def lines_text(lines: Sequence[FeedLine], limit: int = 5) -> list[str]:
    """A feed head as short lines (the local run prints it): `Asha -> Ravi +20 #teamwork: message`."""
    out = []
    for line in lines[:limit]:
        entry = line.entry
        giver = line.giver_name or entry.giver_id
        receiver = line.receiver_name or entry.receiver_id
        out.append(f'{giver} -> {receiver} +{entry.points} #{entry.value}: {entry.message[:80]}')
    return out
