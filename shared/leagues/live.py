"""Live league standings, kept as ledger entries are written: from a batch of the ledger's stream to each person's
month score, their place in their division's score histogram, their lifetime points, level and badges. Pure: no
storage here (`shared.leagues.live_store` reads and writes what this plans).

Which month an entry scores in (the product's rule):
- `counts: earned` (default): the month, in the program's time zone, of the entry's `occurred_at` (the event that made
  it due). Unless that month's league close has started, i.e. its close marker (`CLOSE#<program>#<month>` / `MARKER`
  in the leagues table, written by the close before it reads the standings) exists: then the entry scores in the
  month it was recorded in (`recorded_at`, program time zone), flagged late. The new month's item counts it in
  `points` and in `late_points_in`; the original month's item keeps it in `late_points` (points earned that month
  that arrived after its close and count elsewhere), so the statement can list it. A closed league never changes.
  An entry recorded after its earned month ended but before the close started scores in its earned month, and the
  write is conditioned on the marker still being absent (a close that starts meanwhile makes it late instead). The
  same holds for an entry recorded before its month ended but scored after it ended (the stream's lag across
  midnight): its write is conditioned on the marker too, and if the close has started it scores, late, in the month
  after its earned month.
- `counts: released`: the month of `recorded_at` (when the points became available), never late.
- Entries whose rule id starts with `league_` (prizes, trophies, challenge rewards paid by the close) never score in
  a league, but count towards lifetime points and levels.
- Adjustments (`program_id` 'admin') belong to no program and count nowhere here.

What ranks (`scoring.score`): `points`; `points_per_item` = points / max(1, items), where items = the person's month
count of `scoring.workload_kpi` from their KPI month item, read when the person is updated; `percent_of_expected` =
100 x points / expected_points[role] (a role without expected points is not ranked). Qualified = items >=
`scoring.min_items`. The ranking value is an int, `score_x100` (x100, floored).

Histograms (O(1) rank): per (program, month, division), a `TOP` item with `n` (qualified people) and `b<bucket>`
counts, bucket = score_x100 // 6400, and one item per bucket with `s<score_x100>` counts; negative numbers are
written `m<abs>` (`bm3`, `sm150`). A person's rank is 1 + the people above them (standard competition ranking: 1, 2,
2, 4): the buckets above theirs in `TOP` plus the higher scores in their bucket's item.

Idempotency: every item carries `seq`, the (zero-padded) stream sequence number of the last record applied to it; a
record at or below an item's `seq` is skipped for that item, so a redelivered batch counts nothing twice. `digest` is
the XOR of the first 16 hex digits of sha256(entry id) over the entries counted: order-independent, so the close can
check a month item against the ledger.

Levels and badges (per program, lifetime): the ladder's level of the lifetime points (`LeagueConfig.level_of`; never
down unless `demote`); a milestone badge on the `count`-th award entry of its rule whose `inputs[input] >= min`. Each
is reached once, with its reason (the entry, rule, inputs, when). The first rung (index 0) is where everyone starts:
no achievement for it. Streak badges are judged elsewhere (they need each working day, not entries).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.leagues.config import LeagueConfig, Scoring
from shared.ledger.entries import LEAGUE_KINDS, EntryKind, LedgerEntry

SEQ_WIDTH = 40  # DynamoDB stream sequence numbers are decimal strings of up to 40 digits
BUCKET_WIDTH = 6400  # score_x100 per histogram bucket (64 points)
BOARD_OFFSET = 10**13  # board_sk = score_x100 + offset, 14 digits: sorts negative scores below positive ones
EMPTY_DIGEST = '0' * 16
LEAGUE_PAYOUT_PREFIX = 'league_'
TOP_SK = 'TOP'


# --- keys and names ----------------------------------------------------------------------------------------------
def person_pk(program_id: str, employee_id: str) -> str:
    return f'S#{program_id}#{employee_id}'


def life_pk(program_id: str, employee_id: str) -> str:
    return f'ACH#{program_id}#{employee_id}'


def histogram_pk(program_id: str, month: str, division: str) -> str:
    return f'H#{program_id}#{month}#{division}'


def board_pk(program_id: str, month: str, division: str) -> str:
    return f'B#{program_id}#{month}#{division}'


def board_sk(score_x100: int, employee_id: str) -> str:
    return f'{score_x100 + BOARD_OFFSET:014d}#{employee_id}'


def close_marker_key(program_id: str, month: str) -> tuple[str, str]:
    """The close's marker in the leagues table: it exists once the close of that month has started."""
    return f'CLOSE#{program_id}#{month}', 'MARKER'


def _signed(value: int) -> str:
    return str(value) if value >= 0 else f'm{-value}'


def bucket_of(score_x100: int) -> int:
    return score_x100 // BUCKET_WIDTH


def bucket_attr(bucket: int) -> str:
    """The TOP item's count of a bucket: b12, bm3."""
    return f'b{_signed(bucket)}'


def bucket_sk(bucket: int) -> str:
    return f'B{_signed(bucket)}'


def score_attr(score_x100: int) -> str:
    """A bucket item's count of one score: s4500, sm150."""
    return f's{_signed(score_x100)}'


def _parse_signed(text: str) -> int:
    return -int(text[1:]) if text.startswith('m') else int(text)


def counts_by(item: Mapping[str, int], prefix: str) -> dict[int, int]:
    """{bucket or score: count} from a histogram item's attributes (b<..> or s<..>), zero counts dropped."""
    out: dict[int, int] = {}
    for name, count in item.items():
        if name.startswith(prefix) and count and name[len(prefix) :] and (name[len(prefix) :].lstrip('m').isdigit()):
            out[_parse_signed(name[len(prefix) :])] = int(count)
    return out


def padded_seq(sequence_number: str) -> str:
    return sequence_number.zfill(SEQ_WIDTH)


def entry_hash(entry_id: str) -> int:
    return int(hashlib.sha256(entry_id.encode()).hexdigest()[:16], 16)


def digest_of(entry_ids: Iterable[str], start: str = EMPTY_DIGEST) -> str:
    """The XOR of the entries' hash prefixes: the same set gives the same digest in any order."""
    value = int(start, 16)
    for entry_id in entry_ids:
        value ^= entry_hash(entry_id)
    return f'{value:016x}'


def local_month(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime('%Y-%m')


def following_month(month: str) -> str:
    year, number = (int(part) for part in month.split('-'))
    return f'{year + number // 12}-{number % 12 + 1:02d}'


def late_month(earned: str, recorded: str) -> str:
    """Where a late entry scores: the month it was recorded in, or, recorded inside its earned month but scored after
    that month's close started, the month after (deterministic: it depends on the entry alone)."""
    return recorded if recorded > earned else following_month(earned)


def program_of(entry: LedgerEntry) -> str:
    """The program an entry belongs to: its reason's `program_id@version` (or a bare id)."""
    return entry.reason.program_id.split('@', 1)[0]


# --- the league of a program -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class League:
    """A program's league as the scorer applies it (from the program's newest valid version)."""

    program_id: str
    config: LeagueConfig
    zone: ZoneInfo
    roles: frozenset[str] | None = None  # the program's scope roles (None: every role)
    locations: frozenset[str] | None = None  # the program's scope locations (None: every location)

    def admits(self, role: str | None, location_id: str | None) -> bool:
        """Whether a person of this role and location is in the program's scope (so in its league)."""
        return (self.roles is None or role in self.roles) and (self.locations is None or location_id in self.locations)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def scoring(self) -> Scoring:
        return self.config.scoring


# --- stream records ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamEntry:
    """A ledger INSERT read from the stream: the entry and its record's zero-padded sequence number."""

    seq: str
    sequence_number: str  # as the stream gave it (what a partial batch failure names)
    entry: LedgerEntry


def parse_record(record: Mapping[str, Any]) -> StreamEntry | None:
    """A ledger stream record (Lambda's DynamoDB event shape) as a StreamEntry; None when it is not a new entry
    (the ledger is append-only: MODIFY and REMOVE carry nothing to score)."""
    if record.get('eventName') != 'INSERT':
        return None
    body = record.get('dynamodb') or {}
    raw = ((body.get('NewImage') or {}).get('entry') or {}).get('S')
    if not raw:
        return None
    sequence_number = str(body['SequenceNumber'])
    entry = LedgerEntry.model_validate_json(raw)
    if entry.kind not in LEAGUE_KINDS:  # thanks, spot awards, spending, payouts: never league points
        return None
    return StreamEntry(padded_seq(sequence_number), sequence_number, entry)


# --- where an entry scores -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    month: str | None  # the month it scores in; None: it never scores in a league (a league payout)
    earned_month: str  # the local month of occurred_at
    late: bool = False  # scores in a later month because its earned month's close had started
    close_check: str | None = None  # the earned month whose close marker must still be absent when this is written


def place(entry: LedgerEntry, league: League, closed: Collection[str], now: datetime | None = None) -> Placement:
    """The month an entry scores in (module docstring); `closed`: the program's months whose close has started;
    `now`: when it is being scored (None: as if at `recorded_at`)."""
    earned = local_month(entry.occurred_at, league.zone)
    recorded = local_month(entry.recorded_at, league.zone)
    if entry.reason.rule_id.startswith(LEAGUE_PAYOUT_PREFIX):
        return Placement(None, earned)
    if league.config.counts == 'released':
        return Placement(recorded, earned)
    if earned < max(recorded, local_month(now, league.zone) if now is not None else recorded):  # its month has ended
        if earned in closed:
            return Placement(late_month(earned, recorded), earned, late=True)
        return Placement(earned, earned, close_check=earned)
    return Placement(earned, earned)


# --- scoring -----------------------------------------------------------------------------------------------------
def ranking_value(scoring: Scoring, points: int, items: int, role: str | None) -> tuple[int, bool]:
    """(ranking value x100, qualified)."""
    qualified = items >= scoring.min_items
    if scoring.score == 'points':
        return points * 100, qualified
    if scoring.score == 'points_per_item':
        return points * 100 // max(1, items), qualified
    expected = scoring.expected_points.get(role or '')
    if not expected:
        return 0, False
    return points * 100 * 100 // expected, qualified


def workload_items(scoring: Scoring, counters: Mapping[str, int] | None) -> int:
    """The person's month count of the workload KPI (0 without one, or without a KPI month item)."""
    if scoring.workload_kpi is None or not counters:
        return 0
    from shared.kpi.report import compute_kpis
    from shared.kpi.settings import KpiSettings

    value = compute_kpis(counters, KpiSettings())[scoring.workload_kpi].value
    return int(value or 0)


# --- stored state --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MonthScore:
    """A person's month item (`S#<program>#<employee>`, sk month)."""

    program_id: str
    employee_id: str
    month: str
    division: str = ''
    points: int = 0
    items: int = 0
    score_x100: int = 0
    entries: int = 0
    digest: str = EMPTY_DIGEST
    seq: str = ''
    reached_at: str = ''
    late_points: int = 0  # earned this month, arrived after its close: counted in a later month, not here
    late_points_in: int = 0  # counted here, earned in an earlier month whose close had started
    qualified: bool = False
    exists: bool = False  # read from the table (False: a new item)

    @property
    def ranked(self) -> bool:
        """In its division's histogram and board."""
        return self.exists and self.qualified and bool(self.division)


@dataclass(frozen=True)
class Lifetime:
    """A person's lifetime in one program (`ACH#<program>#<employee>`, sk LIFE)."""

    program_id: str
    employee_id: str
    points: int = 0
    level: int = 0  # the current rung of the ladder (index)
    best_level: int = 0  # the highest rung ever reached (achievements are written above it only)
    badge_counts: Mapping[str, int] = field(default_factory=dict)  # milestone badge id -> matching entries so far
    seq: str = ''
    exists: bool = False


@dataclass(frozen=True)
class Achievement:
    """A level or badge reached: written once (`ACH#<program>#<employee>`, sk LEVEL#<n> / BADGE#<id>), with its reason."""

    program_id: str
    employee_id: str
    kind: str  # 'level' | 'badge'
    key: str  # the level index, or the badge id
    name: str
    entry_id: str
    rule_id: str
    inputs: Mapping[str, Any]
    at: datetime  # the entry's recorded_at
    lifetime_points: int

    @property
    def sk(self) -> str:
        return f'LEVEL#{self.key}' if self.kind == 'level' else f'BADGE#{self.key}'


# --- one person's plan ---------------------------------------------------------------------------------------------
HistogramKey = tuple[str, str]


@dataclass
class PersonPlan:
    """Everything one person's records change, to be written in one transaction."""

    employee_id: str
    months: dict[tuple[str, str], tuple[MonthScore, MonthScore]] = field(default_factory=dict)  # (program, month) -> (before, after)
    lives: dict[str, tuple[Lifetime, Lifetime]] = field(default_factory=dict)  # program -> (before, after)
    achievements: list[Achievement] = field(default_factory=list)
    histograms: dict[HistogramKey, dict[str, int]] = field(default_factory=dict)
    close_checks: set[tuple[str, str]] = field(default_factory=set)  # (program, month) markers that must be absent
    late: int = 0  # entries placed in a later month because their month's close had started
    applied: int = 0  # records that changed something
    skipped: int = 0  # records already applied (at or below an item's seq) or outside every league

    @property
    def empty(self) -> bool:
        return not self.months and not self.lives


@dataclass(frozen=True)
class PersonInputs:
    """What the planner reads for one person: their stored items, profile and KPI months."""

    months: Mapping[tuple[str, str], MonthScore]  # (program, month) -> stored (absent: not read or new)
    lives: Mapping[str, Lifetime]
    profile: Mapping[str, str | None] | None  # directory attributes (None: not in the directory)
    kpi_months: Mapping[str, Mapping[str, int]]  # month -> the KPI month item's counters
    closed: Collection[tuple[str, str]]  # (program, month) whose close has started
    now: datetime | None = None  # when the batch is scored (a month that has ended by then needs its marker checked)


def plan_person(employee_id: str, records: Sequence[StreamEntry], leagues: Mapping[str, League], inputs: PersonInputs) -> PersonPlan:
    """Apply one person's records (in stream order) to their stored items; see the module docstring."""
    plan = PersonPlan(employee_id)
    months: dict[tuple[str, str], MonthScore] = {}
    lives: dict[str, Lifetime] = {}
    scored: set[tuple[str, str]] = set()  # month items whose points changed (rescored, histograms moved)

    def month_item(program_id: str, month: str) -> MonthScore:
        key = (program_id, month)
        if key not in months:
            months[key] = inputs.months.get(key) or MonthScore(program_id, employee_id, month)
        return months[key]

    for record in records:
        entry = record.entry
        program_id = program_of(entry)
        league = leagues.get(program_id)
        if league is None or entry.employee_id != employee_id:
            plan.skipped += 1
            continue
        closed = {month for program, month in inputs.closed if program == program_id}
        placement = place(entry, league, closed, inputs.now)
        changed = False
        life = lives.get(program_id) or inputs.lives.get(program_id) or Lifetime(program_id, employee_id)
        if record.seq > life.seq:
            lives[program_id] = _apply_lifetime(life, record, league, plan)
            changed = True
        if placement.month is not None:
            item = month_item(program_id, placement.month)
            if record.seq > item.seq:
                months[(program_id, placement.month)] = _count(item, record, placement.late)
                scored.add((program_id, placement.month))
                plan.late += int(placement.late)
                changed = True
                if placement.close_check:
                    plan.close_checks.add((program_id, placement.close_check))
            if placement.late:
                original = month_item(program_id, placement.earned_month)
                if record.seq > original.seq:
                    months[(program_id, placement.earned_month)] = replace(
                        original, late_points=original.late_points + entry.amount, seq=record.seq
                    )
                    changed = True
        if changed:
            plan.applied += 1
        else:
            plan.skipped += 1

    for key, after in months.items():
        before = inputs.months.get(key) or MonthScore(key[0], employee_id, key[1])
        if key in scored:
            after = _rescore(after, leagues[key[0]], inputs.profile, inputs.kpi_months.get(key[1]))
            _move_in_histograms(plan.histograms, before, after)
        if after != before:
            plan.months[key] = (before, replace(after, exists=True))
    for program_id, life_after in lives.items():
        life_before = inputs.lives.get(program_id) or Lifetime(program_id, employee_id)
        plan.lives[program_id] = (life_before, replace(life_after, exists=True))
    plan.histograms = {key: {name: delta for name, delta in deltas.items() if delta} for key, deltas in plan.histograms.items()}
    plan.histograms = {key: deltas for key, deltas in plan.histograms.items() if deltas}
    return plan


def _count(item: MonthScore, record: StreamEntry, late: bool) -> MonthScore:
    entry = record.entry
    reached = item.reached_at
    if entry.amount:
        reached = max(reached, entry.recorded_at.isoformat())
    return replace(
        item,
        points=item.points + entry.amount,
        entries=item.entries + 1,
        digest=digest_of([entry.entry_id], item.digest),
        seq=record.seq,
        reached_at=reached,
        late_points_in=item.late_points_in + (entry.amount if late else 0),
    )


def _rescore(item: MonthScore, league: League, profile: Mapping[str, str | None] | None, counters: Mapping[str, int] | None) -> MonthScore:
    division = league.config.division_of(dict(profile)) if profile is not None else (item.division or league.config.division_of({}))
    items = workload_items(league.scoring, counters)
    role = (profile or {}).get('role')
    value, qualified = ranking_value(league.scoring, item.points, items, role)
    return replace(item, division=division, items=items, score_x100=value, qualified=qualified)


def _move_in_histograms(histograms: dict[HistogramKey, dict[str, int]], before: MonthScore, after: MonthScore) -> None:
    """Take the person out of their old place (division, score) and put them in the new one."""

    def add(item: MonthScore, sign: int) -> None:
        pk = histogram_pk(item.program_id, item.month, item.division)
        top = histograms.setdefault((pk, TOP_SK), {})
        top['n'] = top.get('n', 0) + sign
        bucket = bucket_of(item.score_x100)
        top[bucket_attr(bucket)] = top.get(bucket_attr(bucket), 0) + sign
        scores = histograms.setdefault((pk, bucket_sk(bucket)), {})
        scores[score_attr(item.score_x100)] = scores.get(score_attr(item.score_x100), 0) + sign

    if before.ranked:
        add(before, -1)
    if after.qualified and after.division:
        add(after, +1)


def _apply_lifetime(life: Lifetime, record: StreamEntry, league: League, plan: PersonPlan) -> Lifetime:
    entry = record.entry
    points = life.points + entry.amount
    counts = dict(life.badge_counts)
    reached: list[Achievement] = []

    def achievement(kind: str, key: str, name: str) -> Achievement:
        return Achievement(life.program_id, life.employee_id, kind, key, name, entry.entry_id, entry.reason.rule_id,
                           dict(entry.reason.inputs), entry.recorded_at, points)  # fmt: skip

    for badge in league.config.badges:
        if badge.kind != 'milestone' or not _matches(badge.rule_id, badge.input, badge.min, entry):
            continue
        counts[badge.badge_id] = counts.get(badge.badge_id, 0) + 1
        if counts[badge.badge_id] == badge.count:
            reached.append(achievement('badge', badge.badge_id, badge.name))
    level, best = life.level, life.best_level
    if league.config.levels:
        rung = league.config.level_of(points)
        index = league.config.levels.index(rung) if rung is not None else 0
        for above in range(best + 1, index + 1):
            reached.append(achievement('level', str(above), league.config.levels[above].name))
        best = max(best, index)
        level = index if league.config.demote else max(level, index)
    plan.achievements.extend(reached)
    return replace(life, points=points, level=level, best_level=best, badge_counts=counts, seq=record.seq)


def _matches(rule_id: str | None, input_name: str | None, minimum: float | None, entry: LedgerEntry) -> bool:
    if entry.kind is not EntryKind.AWARD or entry.amount <= 0 or entry.reason.rule_id != rule_id:
        return False
    if input_name is None:
        return True
    value = entry.reason.inputs.get(input_name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return minimum is None or value >= minimum


# --- reading a rank ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RankCount:
    """A score's place in its division, from the histogram: people above it, how many share it, and the next better
    score with how many hold it (None when it is the best)."""

    above: int
    of: int
    tied: int
    next_score: int | None = None
    next_count: int = 0

    @property
    def rank(self) -> int:
        return self.above + 1

    @property
    def next_rank(self) -> int | None:
        return self.above - self.next_count + 1 if self.next_score is not None else None


def count_above(score: int, top: Mapping[str, int], bucket_item: Mapping[str, int]) -> tuple[int, int, int | None, int]:
    """(people above `score`, people on it, the next better score in its bucket or None, how many hold that one)."""
    bucket = bucket_of(score)
    above = sum(count for other, count in counts_by(top, 'b').items() if other > bucket)
    scores = counts_by(bucket_item, 's')
    above += sum(count for other, count in scores.items() if other > score)
    higher = [other for other in scores if other > score]
    nearest = min(higher) if higher else None
    return above, scores.get(score, 0), nearest, scores.get(nearest, 0) if nearest is not None else 0


def next_bucket_above(score: int, top: Mapping[str, int]) -> int | None:
    """The nearest non-empty bucket above the score's own (where the next better score is, when not in its own)."""
    bucket = bucket_of(score)
    higher = [other for other in counts_by(top, 'b') if other > bucket]
    return min(higher) if higher else None


def lowest_in(bucket_item: Mapping[str, int]) -> tuple[int, int] | None:
    scores = counts_by(bucket_item, 's')
    if not scores:
        return None
    lowest = min(scores)
    return lowest, scores[lowest]


def competition_ranks(scores: Sequence[int]) -> list[int]:
    """Standard competition ranks (1, 2, 2, 4) of scores listed best first."""
    ranks: list[int] = []
    for index, score in enumerate(scores):
        ranks.append(ranks[-1] if index and scores[index - 1] == score else index + 1)
    return ranks
