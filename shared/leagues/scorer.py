"""The league scorer: a batch of the ledger's stream applied to the live standings (`shared.leagues.live` plans,
`shared.leagues.live_store` reads and writes), with the level-up and badge notices.

Per batch: ONE BatchGetItem round for everyone in it (their month items and lifetimes, profiles, KPI month items and
the close markers of the months their entries may fall in), then per person ONE transaction. A transaction refused
because a close started meanwhile re-plans that person's entries as late; one refused because an item changed (another
writer) reads that person again; a conflict on a shared histogram item is retried with backoff. A person whose write
still fails is reported (the lowest sequence number of their records), so the stream retries from there; every item's
`seq` makes what was already written a no-op.

Notices: every level reached and badge earned is an alert item (kinds `level_up`, `badge_earned`) written in the same
transaction as the achievement, so it exists exactly once; the one-minute alert scan queues it and the alert sender
delivers it like any alert (WhatsApp template when one is configured for the kind and language, else SMS; quiet hours,
opt-outs and the person's language respected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from shared.leagues.live import (
    LEAGUE_PAYOUT_PREFIX,
    Achievement,
    League,
    PersonInputs,
    PersonPlan,
    StreamEntry,
    late_month,
    local_month,
    plan_person,
    program_of,
)
from shared.leagues.live_store import (
    MAX_TRANSACTION_ITEMS,
    AchievementsExist,
    CloseStarted,
    LiveStore,
    Snapshot,
    StaleItems,
    Wants,
)

if TYPE_CHECKING:
    from shared.alerts.store import AlertStore
    from shared.programs.loader import ProgramBook

MAX_ATTEMPTS = 6


def leagues_of(book: ProgramBook, now: datetime | None = None) -> dict[str, League]:
    """Each program's league, from the version in force at `now` (the newest valid one whose effective_from has come;
    the newest valid one when `now` is not given or none has come yet); programs without a league are absent."""
    found: dict[str, League] = {}
    for program_id, versions in book.programs.items():
        version = (book.for_basis(program_id, now) if now is not None else None) or versions[0]
        document = version.document
        if document.league is not None:
            roles, locations = frozenset(document.scope.roles) or None, frozenset(document.scope.locations) or None
            found[program_id] = League(program_id, document.league, ZoneInfo(document.time_zone), roles, locations)
    return found


def leagues_in_force() -> dict[str, League]:
    from datetime import UTC

    from shared.programs.loader import load_programs

    return leagues_of(load_programs(), datetime.now(UTC))


@dataclass
class ScoreResult:
    records: int = 0
    people: int = 0
    applied: int = 0  # records that changed a month item or a lifetime
    skipped: int = 0  # already applied, or outside every league
    late: int = 0
    transactions: int = 0
    achievements: list[Achievement] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # stream sequence numbers of the people who could not be written

    @property
    def first_failure(self) -> str | None:
        """What to report as the batch item failure: Lambda retries the stream from the lowest one."""
        return min(self.failed, key=lambda seq: seq.zfill(40)) if self.failed else None


@dataclass
class LeagueScorer:
    store: LiveStore
    alerts: AlertStore | None = None
    leagues: Callable[[], Mapping[str, League]] = leagues_in_force

    def apply(self, records: Sequence[StreamEntry], now: datetime) -> ScoreResult:
        result = ScoreResult(records=len(records))
        leagues = self.leagues()
        by_person: dict[str, list[StreamEntry]] = {}
        for record in sorted(records, key=lambda r: r.seq):
            if program_of(record.entry) in leagues:
                by_person.setdefault(record.entry.employee_id, []).append(record)
            else:
                result.skipped += 1
        if not by_person:
            return result
        snapshot = self.store.read(wants_of(by_person, leagues, now))
        for employee_id, person_records in by_person.items():
            result.people += 1
            try:
                self._person(employee_id, person_records, leagues, snapshot, now, result)
            except Exception:
                from shared.observability import logger

                logger.exception('league scores of a person could not be written; the stream retries from their first record',
                                 extra={'employee_id': employee_id, 'records': len(person_records)})  # fmt: skip
                result.failed.append(person_records[0].sequence_number)
        return result

    def _person(self, employee_id: str, records: list[StreamEntry], leagues: Mapping[str, League], snapshot: Snapshot,
                now: datetime, result: ScoreResult) -> None:  # fmt: skip
        skip: set[tuple[str, str]] = set()
        for _ in range(MAX_ATTEMPTS):
            plan = plan_person(employee_id, records, leagues, inputs_of(snapshot, employee_id, now))
            if plan.empty:
                result.skipped += plan.skipped
                return
            notices = self._notices(plan, leagues, now)
            if len(self.store.actions(plan, now, notices, skip)) > MAX_TRANSACTION_ITEMS and len(records) > 1:
                half = len(records) // 2  # in stream order: each half builds on what the first one wrote
                self._person(employee_id, records[:half], leagues, snapshot, now, result)
                self._person(employee_id, records[half:], leagues, snapshot, now, result)
                return
            try:
                self.store.commit(plan, now, notices, skip)
            except CloseStarted as started:
                snapshot.closed |= started.months
                continue
            except StaleItems:
                snapshot.update(self.store.read(wants_of({employee_id: records}, leagues, now)))
                continue
            except AchievementsExist as exist:
                skip |= exist.keys
                continue
            snapshot.absorb(plan)
            result.transactions += 1
            result.applied += plan.applied
            result.skipped += plan.skipped
            result.late += plan.late
            result.achievements.extend(a for a in plan.achievements if (_achievement_key(a)) not in skip)
            return
        raise RuntimeError(f'the league scores of {employee_id} were refused {MAX_ATTEMPTS} times')

    def _notices(self, plan: PersonPlan, leagues: Mapping[str, League], now: datetime) -> dict[tuple[str, str], dict[str, Any]]:
        if self.alerts is None:
            return {}
        return {_achievement_key(a): self.alerts.new_alert_action(notice_of(a, leagues[a.program_id].name), now) for a in plan.achievements}


def _achievement_key(achievement: Achievement) -> tuple[str, str]:
    from shared.leagues.live import life_pk

    return life_pk(achievement.program_id, achievement.employee_id), achievement.sk


def notice_of(achievement: Achievement, league_name: str) -> Any:
    """The alert that tells the person (the alert sender composes it in their language: messages.ALERT_TEXTS)."""
    from shared.alerts.plan import AlertKind, Recipient
    from shared.alerts.sync import PendingAlert, alert_id

    kind = AlertKind.LEVEL_UP if achievement.kind == 'level' else AlertKind.BADGE_EARNED
    key = f'league#{achievement.program_id}#{achievement.employee_id}|{achievement.sk}'
    return PendingAlert(alert_id=alert_id(key, Recipient.ASSIGNEE), ticket_key=f'league#{achievement.program_id}', ref=league_name,
                        kind=kind, metric='league', threshold=achievement.name, role=Recipient.ASSIGNEE,
                        subject=achievement.employee_id, due_at=achievement.at)  # fmt: skip


def wants_of(by_person: Mapping[str, Sequence[StreamEntry]], leagues: Mapping[str, League], now: datetime | None = None) -> Wants:
    """The keys a batch reads: for each entry its earned month, and when that month had ended when it was recorded
    or has ended by `now`, the month where it goes if late and the earned month's close marker."""
    wants = Wants()
    for employee_id, records in by_person.items():
        wants.profiles.add(employee_id)
        for record in records:
            entry = record.entry
            program_id = program_of(entry)
            league = leagues.get(program_id)
            if league is None:
                continue
            wants.lives.add((program_id, employee_id))
            if entry.reason.rule_id.startswith(LEAGUE_PAYOUT_PREFIX):
                continue
            earned, recorded = local_month(entry.occurred_at, league.zone), local_month(entry.recorded_at, league.zone)
            ended = earned < max(recorded, local_month(now, league.zone) if now is not None else recorded)
            months = {recorded} if league.config.counts == 'released' else {earned} | ({late_month(earned, recorded)} if ended else set())
            if league.config.counts == 'earned' and ended:
                wants.markers.add((program_id, earned))
            for month in months:
                wants.months.add((program_id, employee_id, month))
                wants.kpi_months.add((employee_id, month))
    return wants


def inputs_of(snapshot: Snapshot, employee_id: str, now: datetime | None = None) -> PersonInputs:
    return PersonInputs(
        months={(program_id, month): score for (program_id, who, month), score in snapshot.months.items() if who == employee_id},
        lives={program_id: life for (program_id, who), life in snapshot.lives.items() if who == employee_id},
        profile=snapshot.profiles.get(employee_id),
        kpi_months={month: counters for (who, month), counters in snapshot.kpi_months.items() if who == employee_id},
        closed=snapshot.closed,
        now=now,
    )
