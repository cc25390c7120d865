"""Giving thanks, judged: is this recognition allowed, and what does it write? Pure (no storage).

A recognition names the receiver, the points, a message and a company value of the program. It is refused
(`RecognitionRefused`: a code, the request field it is about, a clear reason; nothing is written) when:
- the giver is unknown, no longer active, or not in the program's recognition (see `admits_giver`);
- the giver names themselves;
- the receiver is unknown, no longer active, or outside the program (`admits_receiver`: the program's scope, as every
  other part of Pitcrew decides "in the program": `shared.programs.period.in_program`);
- the message is empty or longer than 500 characters; the value is not one of the program's values;
- the points are below the program's `min_points` or above its `max_points`;
- the points are more than the giver's remaining allowance: `allowance_for(giver role)` minus what they gave this month
  (the month of the program's time zone: it resets on the 1st there; unused allowance simply expires, it is a counter
  per month);
- the points would take what this giver gave this receiver this month over the program's `pair_cap`.

Givers: everyone the program's scope admits, and also the people whose role the recognition section gives an
allowance of its own (`allowance_by_role`, e.g. `service_manager`) at a location (and region) of the program's scope: a
manager who is not scored by the program may still thank their people. Receivers: the program's scope only.

What a recognition writes (`GivePlan`, written by `shared.recognition.store` in ONE transaction): the recognition record
(its id derived from the program, the giver and the client's idempotency key: a retry is recognised), the feed items
(`shared.recognition.feed.feed_items`: the receiver's team = their manager_id, and the receiver's location), one
RECOGNITION ledger entry for the receiver (design14 "Ledger entries": id `G` + sha256(recognition|<id>)[:32], rule
`peer_recognition`, program `<program>@<version>`, inputs giver_id, value, message (200 characters), month), and the
receiver's notice (an alert of kind `recognition_received`, its line in the receiver's language).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.sync import PendingAlert, alert_id
from shared.errors import PitcrewError
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.programs.document import ProgramDocument
from shared.programs.period import Person, in_program
from shared.recognition.config import RecognitionConfig, ValueTag
from shared.recognition.feed import FeedEntry
from shared.recognition.texts import notice_line, refusal_text

MAX_MESSAGE = 500
LEDGER_MESSAGE = 200
RULE_ID = 'peer_recognition'
RULE_VERSION = 1


@dataclass(frozen=True)
class Member:
    """A directory profile as recognition reads it (`shared.directory.store.ProfileRecord`)."""

    employee_id: str
    name: str | None = None
    role: str | None = None
    job_grade: str | None = None
    location_id: str | None = None
    region: str | None = None
    manager_id: str | None = None
    active: bool = True
    language: str = 'en'

    @property
    def first_name(self) -> str:
        return (self.name or '').split(' ')[0] or self.employee_id

    def person(self, role: str | None = None) -> Person:
        return Person(employee_id=self.employee_id, role=role if role is not None else self.role, job_grade=self.job_grade,
                      location_id=self.location_id, region=self.region, team_id=self.manager_id, active=self.active)  # fmt: skip


class GiveRequest(BaseModel):
    """One recognition as the function, the THANKS command or (later) the HTTP API asks for it."""

    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    program_id: str | None = Field(default=None, min_length=1, max_length=64, description='needed only when several programs admit both')
    giver_id: str = Field(min_length=1, max_length=64)
    receiver_id: str = Field(min_length=1, max_length=64, description='the employee id (employee code), any case')
    points: int
    message: str = Field(default='', max_length=4000)
    value: str = Field(default='', max_length=64, description="one of the program's value tags, with or without #")
    idempotency_key: str = Field(min_length=1, max_length=128, description='the same key returns the first result, never gives twice')
    channel: str = Field(default='function', max_length=16)


class RecognitionRefused(PitcrewError):
    """Nothing was written. `code` for callers (and the reply in the giver's language), `field` the request field,
    `params` the values the reason is composed from; str(): `points: 80 is more than your remaining allowance ...`."""

    status_code = 400

    def __init__(self, code: str, field: str, **params: object) -> None:
        super().__init__(refusal_text('en', code, params), field)
        self.code = code
        self.params = dict(params)

    def __str__(self) -> str:
        return f'{self.field}: {self.reason}'


class Recognition(BaseModel):
    """The recognition record (`GIVE#<recognition_id>`)."""

    model_config = ConfigDict(frozen=True)

    recognition_id: str
    program_id: str
    program_version: int
    giver_id: str
    receiver_id: str
    points: int
    value: str
    value_name: str
    message: str
    month: str
    recorded_at: datetime
    channel: str = 'function'
    giver_location: str | None = None
    receiver_location: str | None = None
    giver_team: str | None = None
    receiver_team: str | None = None
    entry_id: str


class GiveResult(BaseModel):
    """What the giver is told: the recognition and the allowance left this month: what was left when it was read, minus
    these points (a recognition of the same giver written at the same moment is not subtracted; the counter's condition
    never lets the two together exceed the allowance)."""

    model_config = ConfigDict(frozen=True)

    recognition_id: str
    program_id: str
    giver_id: str
    receiver_id: str
    receiver_name: str | None = None
    points: int
    value: str
    value_name: str
    month: str
    entry_id: str
    recorded_at: datetime
    allowance: int
    remaining: int
    duplicate: bool = False  # True: this idempotency key had already given; this is the first result


@dataclass(frozen=True)
class Given:
    """What the giver has given this month in the program: in all (the ALLOW counter) and to this receiver (PAIR)."""

    total: int = 0
    to_receiver: int = 0


@dataclass(frozen=True)
class GivePlan:
    record: Recognition
    feed: FeedEntry
    entry: LedgerEntry
    notice: PendingAlert
    allowance: int
    pair_cap: int
    given: Given

    @property
    def remaining(self) -> int:
        return self.allowance - self.given.total - self.record.points

    def result(self, receiver_name: str | None = None) -> GiveResult:
        record = self.record
        return GiveResult(recognition_id=record.recognition_id, program_id=record.program_id, giver_id=record.giver_id,
                          receiver_id=record.receiver_id, receiver_name=receiver_name, points=record.points, value=record.value,
                          value_name=record.value_name, month=record.month, entry_id=record.entry_id,
                          recorded_at=record.recorded_at, allowance=self.allowance, remaining=self.remaining)  # fmt: skip


# --- ids and months -------------------------------------------------------------------------------------------------
def recognition_id_for(program_id: str, giver_id: str, idempotency_key: str) -> str:
    return hashlib.sha256(f'{program_id}|{giver_id}|{idempotency_key}'.encode()).hexdigest()[:32]


def entry_id_for(recognition_id: str) -> str:
    return 'G' + hashlib.sha256(f'recognition|{recognition_id}'.encode()).hexdigest()[:32]


def local_month(now: datetime, time_zone: str) -> str:
    """The month (yyyy-mm) `now` falls in, in the program's time zone: allowances reset on the 1st there."""
    return now.astimezone(ZoneInfo(time_zone)).strftime('%Y-%m')


# --- who takes part ---------------------------------------------------------------------------------------------------
def admits_receiver(document: ProgramDocument, member: Member, now: datetime) -> bool:
    return in_program(document, member.person(), local_month(now, document.time_zone))


def admits_giver(document: ProgramDocument, member: Member, now: datetime) -> bool:
    """In the program's scope; or, with a role the recognition section gives its own allowance, at its locations."""
    month = local_month(now, document.time_zone)
    if in_program(document, member.person(), month):
        return True
    config = document.recognition
    if config is None or not member.role or member.role not in config.allowance_by_role:
        return False
    as_member = member.person(role=document.scope.roles[0] if document.scope.roles else member.role)
    return in_program(document, as_member, month)


def running(document: ProgramDocument, now: datetime) -> bool:
    day = document.local_date(now)
    return document.starts_on <= day and (document.ends_on is None or day <= document.ends_on)


@dataclass(frozen=True)
class Candidate:
    """A program version that may carry the recognition (`shared.programs.loader.ProgramVersion`)."""

    version: int
    document: ProgramDocument


def choose_program(candidates: Sequence[Candidate], request_program: str | None, giver: Member | None, receiver: Member | None,
                   now: datetime, *, giver_first: bool = False) -> Candidate:  # fmt: skip
    """The program a recognition is judged in: the one named; else the first (by id) whose recognition admits both
    people; else the one that admits the giver when only one does, or the first that does when the receiver is unknown or
    inactive or with `giver_first` (the THANKS command, which names no program), so the refusal is about the receiver;
    else, for an unknown or inactive giver or a single program, the first program (the refusal is about the giver);
    else `no_program`."""
    with_recognition = [c for c in candidates if c.document.recognition is not None]
    if request_program is not None:
        named = next((c for c in with_recognition if c.document.program_id == request_program), None)
        if named is None:
            raise RecognitionRefused('program_unknown', 'program_id', program=request_program)
        return named
    ordered = sorted(with_recognition, key=lambda c: c.document.program_id)
    if giver is not None:
        giving = [c for c in ordered if admits_giver(c.document, giver, now)]
        both = [c for c in giving if receiver is not None and admits_receiver(c.document, receiver, now)]
        if both:
            return both[0]
        receiver_gone = receiver is None or not receiver.active
        if giving and (giver_first or len(giving) == 1 or receiver_gone):
            return giving[0]
    if ordered and (len(ordered) == 1 or giver is None or not giver.active):
        return ordered[0]
    raise RecognitionRefused('no_program', 'program_id', giver=giver.employee_id if giver else '-',
                             receiver=receiver.employee_id if receiver else '-')  # fmt: skip


# --- the judgement ----------------------------------------------------------------------------------------------------
def plan_give(request: GiveRequest, program: Candidate, giver: Member | None, receiver: Member | None, given: Given,
              now: datetime) -> GivePlan:  # fmt: skip
    """Judge the recognition in `program` against what the giver has `given` this month; the items to write."""
    document = program.document
    config = document.recognition
    if config is None:
        raise RecognitionRefused('program_unknown', 'program_id', program=document.program_id)
    if not running(document, now):
        raise RecognitionRefused('program_closed', 'program_id', program=document.program_id, day=str(document.local_date(now)))
    _check_people(document, request, giver, receiver, now)
    assert giver is not None and receiver is not None
    value = _check_text(config, document.program_id, request)
    allowance = config.allowance_for(giver.role)
    _check_points(config, request.points, allowance, given, receiver)
    return _plan(request, program, config, giver, receiver, value.tag, value.name, allowance, given, now)


def _check_people(document: ProgramDocument, request: GiveRequest, giver: Member | None, receiver: Member | None,
                  now: datetime) -> None:  # fmt: skip
    program_id = document.program_id
    if giver is None:
        raise RecognitionRefused('giver_unknown', 'giver_id', giver=request.giver_id)
    if not giver.active:
        raise RecognitionRefused('giver_inactive', 'giver_id', giver=giver.employee_id)
    if not admits_giver(document, giver, now):
        raise RecognitionRefused('giver_outside', 'giver_id', giver=giver.employee_id, program=program_id)
    if request.receiver_id.upper() == giver.employee_id.upper() or (receiver is not None and receiver.employee_id == giver.employee_id):
        raise RecognitionRefused('self', 'receiver_id')
    if receiver is None:
        raise RecognitionRefused('receiver_unknown', 'receiver_id', receiver=request.receiver_id)
    if not receiver.active:
        raise RecognitionRefused('receiver_inactive', 'receiver_id', receiver=receiver.employee_id)
    if not admits_receiver(document, receiver, now):
        raise RecognitionRefused('receiver_outside', 'receiver_id', receiver=receiver.employee_id, program=program_id)


def _check_text(config: RecognitionConfig, program_id: str, request: GiveRequest) -> ValueTag:
    if not request.message.strip():
        raise RecognitionRefused('message_empty', 'message')
    if len(request.message) > MAX_MESSAGE:
        raise RecognitionRefused('message_long', 'message', length=len(request.message), most=MAX_MESSAGE)
    value = config.value(request.value) if request.value.strip() else None
    if value is None:
        shown = '#' + request.value.strip().lstrip('#') if request.value.strip() else '(none)'
        raise RecognitionRefused('value_unknown', 'value', value=shown, program=program_id,
                                 values=', '.join(f'#{v.tag}' for v in config.values))  # fmt: skip
    return value


def _check_points(config: RecognitionConfig, points: int, allowance: int, given: Given, receiver: Member) -> None:
    if points < config.min_points:
        raise RecognitionRefused('points_min', 'points', points=points, least=config.min_points)
    if config.max_points is not None and points > config.max_points:
        raise RecognitionRefused('points_max', 'points', points=points, most=config.max_points)
    refuse_over_allowance(points, allowance, given.total)
    refuse_over_pair_cap(points, config.pair_cap, given.to_receiver, receiver.employee_id)


def refuse_over_allowance(points: int, allowance: int, given: int) -> None:
    remaining = max(allowance - given, 0)
    if points > remaining:
        raise RecognitionRefused('allowance', 'points', points=points, remaining=remaining, allowance=allowance)


def refuse_over_pair_cap(points: int, cap: int, given: int, receiver_id: str) -> None:
    if given + points > cap:
        raise RecognitionRefused('pair_cap', 'points', points=points, receiver=receiver_id, cap=cap, left=max(cap - given, 0))


def _plan(request: GiveRequest, program: Candidate, config: RecognitionConfig, giver: Member, receiver: Member, value: str,
          value_name: str, allowance: int, given: Given, now: datetime) -> GivePlan:  # fmt: skip
    document = program.document
    recognition_id = recognition_id_for(document.program_id, giver.employee_id, request.idempotency_key)
    month = local_month(now, document.time_zone)
    message = ' '.join(request.message.split())
    record = Recognition(recognition_id=recognition_id, program_id=document.program_id, program_version=program.version,
                         giver_id=giver.employee_id, receiver_id=receiver.employee_id, points=request.points, value=value,
                         value_name=value_name, message=message, month=month, recorded_at=now, channel=request.channel,
                         giver_location=giver.location_id, receiver_location=receiver.location_id, giver_team=giver.manager_id,
                         receiver_team=receiver.manager_id, entry_id=entry_id_for(recognition_id))  # fmt: skip
    return GivePlan(record=record, feed=feed_entry(record), entry=ledger_entry(record),
                    notice=notice(record, document.name, giver, receiver), allowance=allowance, pair_cap=config.pair_cap, given=given)


def feed_entry(record: Recognition) -> FeedEntry:
    return FeedEntry(program_id=record.program_id, recognition_id=record.recognition_id, kind='thanks', giver_id=record.giver_id,
                     receiver_id=record.receiver_id, points=record.points, value=record.value, message=record.message,
                     giver_location=record.giver_location, receiver_location=record.receiver_location, giver_team=record.giver_team,
                     receiver_team=record.receiver_team, month=record.month, recorded_at=record.recorded_at)  # fmt: skip


def ledger_entry(record: Recognition) -> LedgerEntry:
    """The receiver's RECOGNITION entry: spendable at once (available), never league points (`LEAGUE_KINDS`)."""
    event = f'recognition:{record.recognition_id}'
    reason = EntryReason(ticket_key=f'recognition#{record.recognition_id}', source_event_id=event, basis_event_id=event,
                         rule_id=RULE_ID, rule_version=RULE_VERSION, program_id=f'{record.program_id}@{record.program_version}',
                         inputs={'giver_id': record.giver_id, 'value': record.value, 'message': record.message[:LEDGER_MESSAGE],
                                 'month': record.month},
                         note=f'thanks from {record.giver_id} for #{record.value}')  # fmt: skip
    return LedgerEntry(entry_id=record.entry_id, employee_id=record.receiver_id, amount=record.points, kind=EntryKind.RECOGNITION,
                       status=EntryStatus.AVAILABLE, reason=reason, occurred_at=record.recorded_at,
                       recorded_at=record.recorded_at)  # fmt: skip


def notice(record: Recognition, program_name: str, giver: Member, receiver: Member) -> PendingAlert:
    """The receiver's notice, due at once, its line in the receiver's language (the alert sender adds their name)."""
    key = f'recognition#{record.recognition_id}'
    line = notice_line(receiver.language, giver=giver.first_name, points=record.points, value=record.value_name, message=record.message)
    return PendingAlert(alert_id=alert_id(key, Recipient.ASSIGNEE), ticket_key=key, ref=program_name, kind=AlertKind.RECOGNITION_RECEIVED,
                        metric='recognition', threshold=line, role=Recipient.ASSIGNEE, subject=record.receiver_id,
                        due_at=record.recorded_at, location_id=record.receiver_location)  # fmt: skip


def member_of(item: Mapping[str, Any]) -> Member:
    """A raw directory profile item (BatchGetItem) as a Member."""

    def text(name: str) -> str | None:
        return item[name]['S'] if name in item and 'S' in item[name] else None

    return Member(employee_id=item['employee_id']['S'], name=text('name'), role=text('role'), job_grade=text('job_grade'),
                  location_id=text('location_id'), region=text('region'), manager_id=text('manager_id'),
                  active=bool(item.get('active', {}).get('BOOL', True)), language=text('language') or 'en')  # fmt: skip
