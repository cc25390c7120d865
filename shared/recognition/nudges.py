"""Nudges: a suggestion to a manager to recognise someone in time, with the evidence, answered with one reply. Pure.

What makes a nudge (a `Milestone`), each with a key that names the achievement, so it is nudged once at most:
- a level reached or a milestone badge earned in a program's league (the league scorer's achievements:
  `level#<n>`, `badge#<badge_id>`);
- a streak badge (the daily streak judgement: `streak#<badge_id>#<run's first day>`);
- an outstanding CSAT run: `RecognitionConfig.nudges.csat_run` top CSAT scores in a row for the person
  (`csat#<first entry id of the run>`). Where the scores are seen: the ledger's stream, which the league scorer
  already reads, carries an award of the program's `csat_positive` rules for every response rated 4 or 5, with the
  score in `inputs.csat`. A score of `nudges.csat_top` (5) extends the person's run; a 4, or a reversal of such an
  award (the response was answered again, worse), ends it. Responses rated 1-3 earn no entry, so they are not seen and
  do not end a run here; and the awards reach the ledger when their hold ends (a week for CSAT in the shipped programs),
  so a run is seen in release order, a hold after the responses. Both are the price of reading no extra stream: the
  tickets table's stream (every response, at once) would need a reader of its own (README, "Nudges").
  The run is a small counter per person and program (`NUDGERUN#<employee>` / `<program>#CSAT`), nudged once per run.

Rules (shared/recognition/nudge_service.py applies them): only when the program's nudges are enabled and the program
has spot awards; only for people who have a manager in the directory; never for the same achievement twice (the
nudge item's key is the achievement's, written with attribute_not_exists); at most `per_manager_per_day` nudges planned
per manager and program on a day of the manager's time zone (beyond it the nudge is recorded as `skipped`, not sent);
quiet hours are the alert sender's (a nudge is an alert item: held until the manager's quiet hours end).

A reply: `YES` (or the manager's own language's yes: SI, SÍ, HAAN, हाँ, YA) gives the suggested points; a bare whole number
gives that many. Only when the manager has an open nudge: otherwise YES keeps its Twilio meaning (START).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.ledger.entries import EntryKind, LedgerEntry


class MilestoneKind(StrEnum):
    LEVEL = 'level'
    BADGE = 'badge'
    STREAK = 'streak'
    CSAT_RUN = 'csat_run'


@dataclass(frozen=True)
class Milestone:
    """Something worth recognising, with its evidence."""

    program_id: str
    employee_id: str
    kind: MilestoneKind
    key: str  # names the achievement within the person's program: the nudge's sort key
    name: str  # the level's or badge's name; for a CSAT run, the program's league or program name
    at: datetime
    league: str = ''  # the league's (or program's) name, as the line says it
    points: int = 0  # lifetime points (a level)
    days: int = 0  # a streak's working days
    count: int = 0  # a CSAT run's top scores in a row
    entry_id: str | None = None  # the ledger entry that made it (level, badge, CSAT run's last)

    @property
    def nudge_id(self) -> str:
        """Deterministic per achievement: the same achievement reported again names the same nudge."""
        digest = hashlib.sha256(f'nudge|{self.program_id}|{self.employee_id}|{self.key}'.encode()).hexdigest()
        return f'N{digest[:24]}'

    def evidence(self) -> dict[str, Any]:
        return {'kind': self.kind.value, 'name': self.name, 'points': self.points, 'days': self.days, 'count': self.count,
                'entry_id': self.entry_id, 'at': self.at.isoformat()}  # fmt: skip


def level_key(level: str) -> str:
    return f'level#{level}'


def badge_key(badge_id: str) -> str:
    return f'badge#{badge_id}'


def streak_key(badge_id: str, run_start: str) -> str:
    return f'streak#{badge_id}#{run_start}'


def csat_key(first_entry_id: str) -> str:
    return f'csat#{first_entry_id}'


class Outcome(StrEnum):
    """What planning a nudge did."""

    PLANNED = 'planned'  # the nudge item, its alert and the manager's open nudge written
    SKIPPED = 'skipped'  # over the manager's daily limit: recorded, not sent
    DUPLICATE = 'duplicate'  # this achievement was nudged (or skipped) before
    DISABLED = 'disabled'  # the program's nudges are off, or it has no spot awards
    NO_MANAGER = 'no_manager'  # the person has no (active) manager in the directory
    INACTIVE = 'inactive'  # the person is not (or no longer) active in the directory
    NOT_A_GIVER = 'not_a_giver'  # the manager's role may not give spot awards in the program (a YES could not award)


# --- CSAT runs -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CsatRun:
    """A person's current run of top CSAT scores in a program (`NUDGERUN#<employee>` / `<program>#CSAT`)."""

    program_id: str
    employee_id: str
    count: int = 0
    start: str = ''  # the entry id of the run's first top score ('' when no run)
    nudged: bool = False  # this run has been nudged
    seq: str = ''  # the stream sequence number (zero-padded) of the last record applied
    exists: bool = False


def csat_score(entry: LedgerEntry) -> float | None:
    value = entry.reason.inputs.get('csat')
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def advance(run: CsatRun, seq: str, entry: LedgerEntry, csat_rules: Collection[str], top: int, length: int) -> tuple[CsatRun, bool]:
    """Apply one ledger entry of the person to their run: (the run after it, whether it just became outstanding)."""
    if seq <= run.seq or entry.reason.rule_id not in csat_rules:
        return run, False
    if entry.kind is EntryKind.REVERSAL:
        return replace(run, count=0, start='', nudged=False, seq=seq), False
    score = csat_score(entry)
    if entry.kind is not EntryKind.AWARD or entry.amount <= 0 or score is None:
        return replace(run, seq=seq), False
    if score < top:
        return replace(run, count=0, start='', nudged=False, seq=seq), False
    count = run.count + 1
    after = replace(run, count=count, start=run.start or entry.entry_id, seq=seq)
    if count >= length and not run.nudged:
        return replace(after, nudged=True), True
    return after, False


def csat_rule_ids(rules: Collection[Any]) -> frozenset[str]:
    """The rule ids of a program's `csat_positive` rules (the only awards that carry a response's score)."""
    return frozenset(rule.rule_id for rule in rules if getattr(rule, 'kind', None) == 'csat_positive')


# --- replies ---------------------------------------------------------------------------------------------------------
YES_WORDS = frozenset({'YES', 'Y', 'SI', 'SÍ', 'HAAN', 'HAN', 'हाँ', 'हां', 'YA', 'IYA'})
_NUMBER = re.compile(r'^\+?(\d{1,7})$')
MAX_REPLY_POINTS = 1_000_000


@dataclass(frozen=True)
class NudgeReply:
    """A manager's answer to a nudge: YES (`points` None: the suggested points) or an amount."""

    points: int | None


def parse_reply(body: str) -> NudgeReply | None:
    """YES (any language's yes) or a bare whole number (`150`, `+150`), alone or with punctuation; else None."""
    words = body.strip().strip('.!').split()
    if len(words) != 1:
        return None
    word = words[0].strip('.!?').upper()
    if word in YES_WORDS or word.lower() in YES_WORDS:
        return NudgeReply(None)
    match = _NUMBER.match(word)
    if match is None:
        return None
    return NudgeReply(min(int(match.group(1)), MAX_REPLY_POINTS))


@dataclass(frozen=True)
class OpenNudge:
    """The manager's latest open nudge (`NUDGEOPEN#<manager>`): what a YES or an amount answers."""

    manager_id: str
    program_id: str
    employee_id: str
    nudge_key: str  # the nudge item's sort key (the achievement's key)
    nudge_id: str
    suggested_points: int
    reply_by: datetime

    def expired(self, now: datetime) -> bool:
        return now > self.reply_by


def day_of(moment: datetime, zone: Any) -> str:
    """The manager's local day (yyyy-mm-dd) of an instant: the day a nudge counts against their daily limit."""
    return moment.astimezone(zone).strftime('%Y-%m-%d')
