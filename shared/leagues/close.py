"""Closing one division of a program's monthly league: from the people's month figures to frozen standings and
the prizes, trophies and challenge rewards they earn (pure: no storage; `shared.leagues.close_store` reads and
writes, `shared.leagues.close_run` runs a close).

Who is in a division. The people listed on the directory at the close, active and inside the program's scope
(`shared.programs.period.in_program`, pilot locations included), grouped by the league's `divisions.by`
attributes (`LeagueConfig.division_of`). They are the division's `eligible`; those with league points above 0
in the month are its `scored` (participation = scored / eligible). Someone who left the directory, or became
inactive, before the close is not in the closed league (their entries stay in the ledger).

What is counted (the pending-points rule). A person's month is their live score item (`S#<program>#<employee>`,
sk the month, kept by the league scorer) as it stands when the close marker is created: the marker stops the
scorer from changing that month. So the month counts the entries that reached the ledger and were scored before
the close, i.e. the points AVAILABLE by 00:05 on the 1st. Points still pending then (a hold running past the
month's end, a late survey) are not counted for the closed month: when they are released they score in the month
they reach the ledger, marked late on the statement, and never change a closed league. A program that wants
fewer late points holds for less; the rule is the same for everybody.

Ranking. Only qualified people are ranked (the scorer's `qualified`: at least the league's `min_items` of its
workload KPI; without a score item nobody is qualified). Their order is the league's score (points, points per
item or % of expected, as the scorer computed it), higher first, then the league's `tie_breaks` in the order the
program lists them:
- `csat`: the higher month CSAT (share of 4-5 ratings, the KPI report's `csat`) first; no CSAT after any CSAT;
- `fewer_breaches`: fewer SLA targets breached in the month first (the KPI report's `sla_compliance`
  denominator minus numerator, i.e. the sum of the `*_br` counters);
- `earliest`: who reached their final score earlier (`reached_at`, when their last counted entry was scored);
and finally the employee id (ascending), so ranks are 1..n with no ties and the same inputs always give the same
standings. The unqualified follow, unranked, by score then employee id.

Prizes: `prizes[r-1]` points to rank r, for r up to len(prizes), when that person's month points are above 0.
Trophies, one each per division: the MVP (`kpi` None) is rank 1; a KPI trophy goes to the qualified person
with the best value (highest, or lowest for times) among those with at least `min_count` items behind it
(the KPI's denominator), ties to the better rank. Challenges: every eligible person (qualified or not) whose
role and the month match the challenge (`roles`, `months`; empty = all) and whose month KPI meets it
(`Challenge.met`). A trophy of 0 points is listed on the row and pays nothing.

Payment. Each award is a ledger entry (kind award, status available, occurred at the month's last second in the
program's time zone) whose id derives from the program, month, award and person (`entry_id`): paying twice finds
the entry written. Ids are one letter and hex digits like every ledger id (the statement prints their first
characters as the DISPUTE code), hashed from `league|<program>|<month>|prize|<employee>`,
`league|<program>|<month>|trophy|<trophy_id>|<division>` and `league|<program>|<month>|challenge|<challenge_id>|
<employee>`. Reasons carry rule ids `league_prize`, `league_trophy`, `league_challenge` (which the scorer leaves
out of league points), `program@version`, the month, the division, the rank and score, and the KPI value.

Digest: sha256 over the division's score items, sorted by employee: `employee|entries|points|entry digest`
lines (the entry digest is the scorer's XOR of the ids of the entries behind the points), so the snapshot names
exactly which entries it was computed from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from shared.kpi.report import KpiValue, compute_kpis
from shared.kpi.settings import KpiSettings
from shared.leagues.config import LeagueConfig, Trophy
from shared.leagues.results import DivisionResult, Row
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.programs.awards import Scalar
from shared.programs.period import Person, ProgramLike, in_program, month_bounds

AwardKind = Literal['prize', 'trophy', 'challenge']
RULE_IDS: dict[str, str] = {'prize': 'league_prize', 'trophy': 'league_trophy', 'challenge': 'league_challenge'}


class ProfileLike(Protocol):
    """One person as the directory lists them at the close (`shared.leagues.roster.RosterPerson`)."""

    @property
    def employee_id(self) -> str: ...
    def attributes(self) -> dict[str, str | None]: ...
    def person(self) -> Person: ...


@dataclass(frozen=True)
class Member:
    """A person of a division at the close (what the roster keeps)."""

    employee_id: str
    role: str | None = None
    location_id: str | None = None


@dataclass(frozen=True)
class Figures:
    """A person's month in the live standings (the scorer's score item); absent item: all zero, not qualified."""

    points: int = 0
    items: int = 0
    score_x100: int = 0
    entries: int = 0
    digest: str = ''
    reached_at: str = ''
    qualified: bool = False


class Award(BaseModel):
    """One prize, trophy or challenge reward of a closed division, as it is paid."""

    model_config = ConfigDict(frozen=True)

    employee_id: str
    kind: AwardKind
    award_id: str  # 'rank<N>' for a prize, else the trophy or challenge id
    points: int
    inputs: dict[str, Scalar]
    note: str


class DivisionClose(BaseModel):
    """A division's frozen standings with the awards they pay: what the close writes once and reads back."""

    model_config = ConfigDict(frozen=True)

    result: DivisionResult
    awards: tuple[Award, ...] = ()


# --- divisions -------------------------------------------------------------------------------------------------
def plan_divisions(config: LeagueConfig, program: ProgramLike, profiles: Iterable[ProfileLike], month: str) -> dict[str, list[Member]]:
    """The eligible people of each division (key -> members sorted by employee id); divisions without anyone
    eligible do not exist."""
    divisions: dict[str, list[Member]] = {}
    for profile in profiles:
        if not in_program(program, profile.person(), month):
            continue
        attributes = profile.attributes()
        key = config.division_of(attributes)
        member = Member(profile.employee_id, attributes.get('role'), attributes.get('location_id'))
        divisions.setdefault(key, []).append(member)
    return {key: sorted(members, key=lambda m: m.employee_id) for key, members in sorted(divisions.items())}


# --- ranking ---------------------------------------------------------------------------------------------------
def division_digest(figures: Mapping[str, Figures]) -> str:
    lines = ''.join(f'{employee}|{f.entries}|{f.points}|{f.digest}\n' for employee, f in sorted(figures.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _breaches(kpis: Mapping[str, KpiValue]) -> int:
    sla = kpis['sla_compliance']
    return int(sla.denominator - round(sla.numerator))


def _csat(kpis: Mapping[str, KpiValue]) -> float | None:
    value = kpis['csat'].value
    return None if value is None else round(value, 2)


def _reached(row: Row) -> tuple[bool, datetime | str]:
    if not row.reached_at:
        return (True, '')
    try:
        return (False, datetime.fromisoformat(row.reached_at.replace('Z', '+00:00')))
    except ValueError:
        return (False, row.reached_at)


def rank_key(config: LeagueConfig, row: Row) -> tuple[object, ...]:
    """Sort key of a qualified row: score (higher first), the league's tie-breaks, then employee id."""
    parts: list[object] = [-round(row.score * 100)]
    for tie_break in config.tie_breaks:
        if tie_break == 'csat':
            parts += [row.csat is None, -(row.csat or 0.0)]
        elif tie_break == 'fewer_breaches':
            parts.append(row.breaches)
        else:
            parts.append(_reached(row))
    parts.append(row.employee_id)
    return tuple(parts)


def _figure(kpi: KpiValue) -> dict[str, Scalar]:
    return {'kpi': kpi.name, 'value': None if kpi.value is None else round(kpi.value, 2), 'count': kpi.denominator}


def _trophy_winner(trophy: Trophy, ranked: Sequence[Row], kpis: Mapping[str, Mapping[str, KpiValue]]) -> tuple[Row, KpiValue | None] | None:
    if trophy.kpi is None:
        return (ranked[0], None) if ranked else None
    candidates = []
    for row in ranked:
        value = kpis[row.employee_id][trophy.kpi]
        if value.value is not None and value.denominator >= trophy.min_count:
            candidates.append((value.value if trophy.lower_is_better else -value.value, row.rank or 0, row, value))
    if not candidates:
        return None
    _, _, row, value = min(candidates, key=lambda c: (c[0], c[1]))
    return row, value


def rank_division(config: LeagueConfig, *, program_id: str, version: int, month: str, division: str, members: Sequence[Member],
                  figures: Mapping[str, Figures], counters: Mapping[str, Mapping[str, int]], closed_at: str,
                  settings: KpiSettings | None = None) -> DivisionClose:
    """The division's standings and awards (see the module docstring for every rule)."""
    settings = settings or KpiSettings()
    name = config.division_name(division)
    kpis = {m.employee_id: compute_kpis(counters.get(m.employee_id, {}), settings) for m in members}
    base: list[Row] = []
    for member in members:
        f = figures.get(member.employee_id, Figures())
        person_kpis = kpis[member.employee_id]
        base.append(Row(rank=None, employee_id=member.employee_id, points=f.points, score=f.score_x100 / 100, items=f.items,
                        entries=f.entries, qualified=f.qualified, csat=_csat(person_kpis), breaches=_breaches(person_kpis),
                        reached_at=f.reached_at))
    qualified = sorted((row for row in base if row.qualified), key=lambda row: rank_key(config, row))
    ranked = [row.model_copy(update={'rank': rank}) for rank, row in enumerate(qualified, start=1)]
    others = sorted((row for row in base if not row.qualified), key=lambda row: (-round(row.score * 100), row.employee_id))

    common: dict[str, Scalar] = {'league': config.name, 'month': month, 'division': division, 'division_name': name}
    awards: list[Award] = []
    prizes: dict[str, int] = {}
    for row in ranked[: len(config.prizes)]:
        assert row.rank is not None
        if row.points <= 0:
            continue
        points = config.prizes[row.rank - 1]
        prizes[row.employee_id] = points
        inputs = common | {'rank': row.rank, 'of': len(ranked), 'score': row.score, 'points': row.points, 'scoring': config.scoring.score}
        note = f'{config.name} {month}: rank {row.rank} of {len(ranked)} in {name} with a score of {row.score:g} ({row.points} points)'
        awards.append(Award(employee_id=row.employee_id, kind='prize', award_id=f'rank{row.rank}', points=points, inputs=inputs, note=note))

    trophies: dict[str, list[str]] = {}
    for trophy in config.trophies:
        won = _trophy_winner(trophy, ranked, kpis)
        if won is None:
            continue
        row, value = won
        trophies.setdefault(row.employee_id, []).append(trophy.trophy_id)
        if not trophy.points:
            continue
        inputs = common | {'trophy_id': trophy.trophy_id, 'rank': row.rank, 'score': row.score, 'points': row.points}
        if value is None:
            note = f'{trophy.name}, {name} {month}: rank 1 with a score of {row.score:g}'
        else:
            inputs |= _figure(value) | {'min_count': trophy.min_count}
            note = f'{trophy.name}, {name} {month}: best {trophy.kpi} {value.value:.2f} over {value.denominator} (rank {row.rank})'
        awards.append(Award(employee_id=row.employee_id, kind='trophy', award_id=trophy.trophy_id, points=trophy.points, inputs=inputs,
                            note=note))

    challenges: dict[str, list[str]] = {}
    by_id = {row.employee_id: row for row in [*ranked, *others]}
    for member in members:
        row = by_id[member.employee_id]
        for challenge in config.challenges:
            if challenge.months and month not in challenge.months:
                continue
            if challenge.roles and member.role not in challenge.roles:
                continue
            value = kpis[member.employee_id][challenge.kpi]
            if not challenge.met(value.value, value.denominator):
                continue
            challenges.setdefault(member.employee_id, []).append(challenge.challenge_id)
            assert value.value is not None
            comparison = '<=' if challenge.lower_is_better else '>='
            inputs = common | _figure(value) | {'challenge_id': challenge.challenge_id, 'target': challenge.target,
                                                 'min_count': challenge.min_count, 'rank': row.rank, 'score': row.score}
            note = (f'{challenge.name} ({month}): {challenge.kpi} {value.value:.2f} {comparison} {challenge.target:g} '
                    f'over {value.denominator}')
            awards.append(Award(employee_id=member.employee_id, kind='challenge', award_id=challenge.challenge_id, points=challenge.points,
                                inputs=inputs, note=note))

    rows = tuple(
        row.model_copy(update={'prize': prizes.get(row.employee_id, 0), 'trophies': tuple(trophies.get(row.employee_id, ())),
                               'challenges': tuple(challenges.get(row.employee_id, ()))})
        for row in [*ranked, *others]
    )
    member_ids = {m.employee_id for m in members}
    counted = {employee: f for employee, f in figures.items() if employee in member_ids}
    result = DivisionResult(
        program_id=program_id, program_version=version, month=month, division=division, name=name, eligible=len(members),
        scored=sum(1 for row in rows if row.points > 0), rows=rows, digest=division_digest(counted), closed_at=closed_at,
    )
    awards.sort(key=lambda a: (a.employee_id, a.kind, a.award_id))
    return DivisionClose(result=result, awards=tuple(awards))


# --- payment ---------------------------------------------------------------------------------------------------
def entry_id(program_id: str, month: str, award: Award, division: str) -> str:
    if award.kind == 'trophy':
        key = f'league|{program_id}|{month}|trophy|{award.award_id}|{division}'
    elif award.kind == 'challenge':
        key = f'league|{program_id}|{month}|challenge|{award.award_id}|{award.employee_id}'
    else:
        key = f'league|{program_id}|{month}|prize|{award.employee_id}'
    return 'L' + hashlib.sha256(key.encode()).hexdigest()[:32]


def league_entries(close: DivisionClose, time_zone: str, now: datetime) -> dict[str, list[LedgerEntry]]:
    """The ledger entries of a closed division's awards, by employee (each person's are paid in one transaction)."""
    result = close.result
    occurred_at = month_bounds(result.month, time_zone)[1] - timedelta(seconds=1)  # the month's last second, its zone
    out: dict[str, list[LedgerEntry]] = {}
    for award in close.awards:
        reason = EntryReason(
            ticket_key=f'league#{result.program_id}#{result.month}',
            source_event_id=f'league_close#{result.program_id}#{result.month}',
            basis_event_id=f'{award.kind}#{award.award_id}#{result.division}',
            rule_id=RULE_IDS[award.kind],
            rule_version=result.program_version,
            program_id=f'{result.program_id}@{result.program_version}',
            inputs=dict(award.inputs),
            note=award.note,
        )
        entry = LedgerEntry(entry_id=entry_id(result.program_id, result.month, award, result.division), employee_id=award.employee_id,
                            amount=award.points, kind=EntryKind.AWARD, status=EntryStatus.AVAILABLE, reason=reason,
                            occurred_at=occurred_at, recorded_at=now)
        out.setdefault(award.employee_id, []).append(entry)
    return out
