"""Collusion flags of peer recognition (pure): giving that looks arranged rather than earned, found in one month's
recognitions of one program and flagged to the manager(s) in scope with its evidence. A flag never blocks anything.

Three kinds (the thresholds are the program's `recognition.collusion`, `shared.recognition.config.CollusionRules`):
- reciprocal: A gave B and B gave A in the month, each direction above `reciprocal_share` of that giver's allowance;
- ring: a closed ring A->B->C->A of 3 to `ring_max_length` people, every link (a giver's month total to the next
  person) at least `ring_min_points`. Rings are elementary cycles found deterministically and reported once, in their
  canonical rotation (starting at the smallest employee id, then in giving order); A->B->C->A and A->C->B->A are two
  rings (the second direction is a ring of its own). A ring of two is a reciprocal pair, judged above;
- concentration: one person received more than `concentration_share` of what a team gave in the month, when that team
  gave at least `concentration_min_points`. A team is a manager's direct reports: the givers' own manager_id.

Only thanks count (kind `thanks`): a spot award is a manager's budget, not an allowance. A recognition seen twice (the
location feeds of the giver and of the receiver) counts once (by recognition id).

In scope: the managers of the people involved (each manager is told when they differ); for concentration, the team's
manager and the receiver's manager. A person without a manager has nobody to tell: the flag still exists for the admins
(`unmanaged` names them). `notices` pairs each manager with a subject, one of their own people in the flag, so the alert
sender (Recipient.MANAGER: the subject's manager) reaches them.

The flag's identity is its `key`, `<yyyy-mm>#<kind>#<members>`: members sorted and joined by `+` (a ring: its canonical
rotation, which tells the two directions apart; concentration: `<receiver>+team:<manager>`). The same key in a later run
is the same flag with more evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.recognition.config import CollusionRules

THANKS = 'thanks'
MAX_EVIDENCE = 100  # recognitions kept as evidence on one flag (the totals always count all of them)
MAX_RINGS = 500  # rings reported per program and month at most (a dense graph cannot make the run unbounded)
MAX_RING_STEPS = 2_000_000  # path extensions the ring search may try per program and month (the same bound, in time)


class FlagKind(StrEnum):
    RECIPROCAL = 'reciprocal'
    RING = 'ring'
    CONCENTRATION = 'concentration'


KIND_ORDER = {FlagKind.RECIPROCAL: 0, FlagKind.RING: 1, FlagKind.CONCENTRATION: 2}


@dataclass(frozen=True)
class Recognition:
    """One recognition as the feed carries it (the FEED item's attributes)."""

    recognition_id: str
    giver_id: str
    receiver_id: str
    points: int
    recorded_at: datetime
    kind: str = THANKS
    giver_team: str | None = None
    receiver_team: str | None = None
    giver_location: str | None = None
    receiver_location: str | None = None


@dataclass(frozen=True)
class Evidence:
    """A recognition behind a flag: who, how much, when, and its share of the giver's month allowance."""

    recognition_id: str
    giver_id: str
    receiver_id: str
    points: int
    recorded_at: datetime
    share: float  # points / the giver's allowance

    def as_dict(self) -> dict[str, object]:
        return {'recognition_id': self.recognition_id, 'giver_id': self.giver_id, 'receiver_id': self.receiver_id,
                'points': self.points, 'recorded_at': self.recorded_at.strftime('%Y-%m-%dT%H:%M:%SZ'),
                'share': round(self.share, 4)}  # fmt: skip


@dataclass(frozen=True)
class Link:
    """One direction of giving in the flag: a giver's month total to a receiver, and its share of the giver's allowance
    (for concentration: the receiver's total from the team, and its share of what the team gave)."""

    giver_id: str
    receiver_id: str
    points: int
    share: float
    count: int

    def as_dict(self) -> dict[str, object]:
        return {'giver_id': self.giver_id, 'receiver_id': self.receiver_id, 'points': self.points, 'share': round(self.share, 4),
                'count': self.count}  # fmt: skip


@dataclass(frozen=True)
class CollusionFlag:
    kind: FlagKind
    month: str
    members: tuple[str, ...]  # sorted; a ring in its canonical rotation; concentration: the receiver
    links: tuple[Link, ...]
    evidence: tuple[Evidence, ...]  # oldest first, at most MAX_EVIDENCE
    recognitions: int  # how many recognitions make the flag (evidence may hold fewer)
    managers: tuple[str, ...]  # sorted: who is told
    notices: tuple[tuple[str, str], ...]  # (manager, subject: one of the manager's own people in the flag)
    unmanaged: tuple[str, ...] = ()  # people in the flag without a manager (the admins see the flag)
    team_id: str | None = None  # concentration: the team (its manager) that gave
    team_points: int = 0  # concentration: what the team gave in the month

    @property
    def member_key(self) -> str:
        if self.kind is FlagKind.CONCENTRATION:
            return f'{self.members[0]}+team:{self.team_id}'
        return '+'.join(self.members)

    @property
    def key(self) -> str:
        return f'{self.month}#{self.kind.value}#{self.member_key}'

    @property
    def points(self) -> int:
        return sum(link.points for link in self.links)

    def summary(self) -> str:
        """A one-line, language-neutral description (the `make run` print, logs use ids only)."""
        if self.kind is FlagKind.CONCENTRATION:
            link = self.links[0]
            return f'{link.receiver_id} received {link.points} of {self.team_points} points team {self.team_id} gave ({link.share:.0%})'
        return ', '.join(f'{link.giver_id}->{link.receiver_id} {link.points} ({link.share:.0%})' for link in self.links)


@dataclass(frozen=True)
class Detection:
    flags: tuple[CollusionFlag, ...]
    recognitions: int  # thanks judged (after removing duplicates and spot awards)
    rings_truncated: bool = False

    def of_kind(self, kind: FlagKind) -> list[CollusionFlag]:
        return [flag for flag in self.flags if flag.kind is kind]


_Scope = tuple[tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...]]  # managers, notices, unmanaged


@dataclass
class _Pair:
    points: int = 0
    items: list[Recognition] = field(default_factory=list)


def _unique_thanks(recognitions: Iterable[Recognition]) -> list[Recognition]:
    seen: dict[str, Recognition] = {}
    for recognition in recognitions:
        if recognition.kind != THANKS or recognition.giver_id == recognition.receiver_id or recognition.points <= 0:
            continue
        seen.setdefault(recognition.recognition_id, recognition)
    return sorted(seen.values(), key=lambda r: (r.recorded_at, r.recognition_id))


def _share(points: int, of: int) -> float:
    return points / of if of > 0 else 1.0


def detect(
    recognitions: Iterable[Recognition],
    *,
    month: str,
    allowances: Mapping[str, int],
    managers: Mapping[str, str | None],
    rules: CollusionRules,
) -> Detection:
    """Every flag of the month, in a stable order (kind, then key) whatever the order of `recognitions`.

    `allowances`: each giver's allowance for the month (absent: the share counts as whole); `managers`: each person's
    manager id (absent or None: no manager; the recognition's own team fields are used for someone not listed)."""
    thanks = _unique_thanks(recognitions)
    manager_of: dict[str, str | None] = {}
    for recognition in thanks:
        manager_of.setdefault(recognition.giver_id, recognition.giver_team)
        manager_of.setdefault(recognition.receiver_id, recognition.receiver_team)
    manager_of.update({person: managers[person] for person in managers})

    pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)
    for recognition in thanks:
        pair = pairs[(recognition.giver_id, recognition.receiver_id)]
        pair.points += recognition.points
        pair.items.append(recognition)

    def allowance(giver: str) -> int:
        return allowances.get(giver, 0)

    def evidence(items: Iterable[Recognition]) -> tuple[tuple[Evidence, ...], int]:
        ordered = sorted(items, key=lambda r: (r.recorded_at, r.recognition_id))
        kept = tuple(Evidence(r.recognition_id, r.giver_id, r.receiver_id, r.points, r.recorded_at, _share(r.points, allowance(r.giver_id)))
                     for r in ordered[:MAX_EVIDENCE])  # fmt: skip
        return kept, len(ordered)

    def link(giver: str, receiver: str) -> Link:
        pair = pairs[(giver, receiver)]
        return Link(giver, receiver, pair.points, _share(pair.points, allowance(giver)), len(pair.items))

    def scope(people: Sequence[str], extra: Iterable[tuple[str, str]] = ()) -> _Scope:
        notices: dict[str, str] = dict(extra)
        for person in sorted(people):
            manager = manager_of.get(person)
            if manager:
                notices.setdefault(manager, person)
        unmanaged = tuple(sorted(person for person in set(people) if not manager_of.get(person)))
        return tuple(sorted(notices)), tuple(sorted(notices.items())), unmanaged

    flags: list[CollusionFlag] = []

    # reciprocal: both directions above the share of each giver's allowance
    for (giver, receiver), pair in pairs.items():
        if giver > receiver or (receiver, giver) not in pairs:
            continue
        there, back = link(giver, receiver), link(receiver, giver)
        if there.share > rules.reciprocal_share and back.share > rules.reciprocal_share:
            members = (giver, receiver)
            kept, count = evidence([*pair.items, *pairs[(receiver, giver)].items])
            managers_, notices, unmanaged = scope(members)
            flags.append(CollusionFlag(FlagKind.RECIPROCAL, month, members, (there, back), kept, count, managers_, notices, unmanaged))

    # rings: elementary cycles of 3..ring_max_length over links of at least ring_min_points
    graph: dict[str, list[str]] = defaultdict(list)
    for (giver, receiver), pair in sorted(pairs.items()):
        if pair.points >= rules.ring_min_points:
            graph[giver].append(receiver)
    rings, truncated = _rings(graph, rules.ring_max_length)
    for ring in rings:
        hops = list(zip(ring, (*ring[1:], ring[0]), strict=True))
        kept, count = evidence(item for hop in hops for item in pairs[hop].items)
        managers_, notices, unmanaged = scope(ring)
        links = tuple(link(*hop) for hop in hops)
        flags.append(CollusionFlag(FlagKind.RING, month, ring, links, kept, count, managers_, notices, unmanaged))

    # concentration: one receiver takes most of what a team (the givers' manager) gave
    team_points: dict[str, int] = defaultdict(int)
    team_received: dict[tuple[str, str], list[Recognition]] = defaultdict(list)
    for recognition in thanks:
        team = manager_of.get(recognition.giver_id)
        if not team:
            continue  # without a manager a giver is in no team
        team_points[team] += recognition.points
        team_received[(team, recognition.receiver_id)].append(recognition)
    for (team, receiver), items in sorted(team_received.items()):
        total = team_points[team]
        received = sum(item.points for item in items)
        if total < rules.concentration_min_points or received / total <= rules.concentration_share:
            continue
        kept, count = evidence(items)
        givers = {item.giver_id for item in items}
        # the team's manager is told about one of their givers (or the receiver, when the receiver is theirs)
        subject = receiver if manager_of.get(receiver) == team else min(g for g in givers if manager_of.get(g) == team)
        managers_, notices, unmanaged = scope([receiver], extra=[(team, subject)])
        share = Link(team, receiver, received, received / total, len(items))
        flags.append(CollusionFlag(FlagKind.CONCENTRATION, month, (receiver,), (share,), kept, count, managers_, notices, unmanaged,
                                   team_id=team, team_points=total))  # fmt: skip

    flags.sort(key=lambda flag: (KIND_ORDER[flag.kind], flag.key))
    return Detection(tuple(flags), len(thanks), truncated)


def _rings(graph: Mapping[str, Sequence[str]], max_length: int) -> tuple[list[tuple[str, ...]], bool]:
    """Elementary cycles of 3..max_length nodes, each once, in canonical rotation: a depth-first search from each start
    node in sorted order through larger nodes only, so a cycle is found only from its smallest member; neighbours in
    sorted order make the output order stable. The search is bounded (MAX_RINGS found, MAX_RING_STEPS tried): a giver's
    links of at least ring_min_points are at most allowance / ring_min_points, so real months stay far below; True when
    it stopped early (the rings found are reported, the run says it was truncated)."""
    found: list[tuple[str, ...]] = []
    steps = 0
    for start in sorted(graph):
        path = [start]
        on_path = {start}
        stack = [iter(sorted(n for n in graph.get(start, ()) if n > start))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
                on_path.discard(path.pop())
                continue
            steps += 1
            if steps > MAX_RING_STEPS:
                return found, True
            if len(path) < max_length and following not in on_path:
                if start in graph.get(following, ()) and len(path) >= 2:
                    found.append((*path, following))
                    if len(found) >= MAX_RINGS:
                        return found, True
                if len(path) + 1 < max_length:
                    path.append(following)
                    on_path.add(following)
                    stack.append(iter(sorted(n for n in graph.get(following, ()) if n > start)))
    return found, False
