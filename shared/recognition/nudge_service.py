"""Nudges end to end: planning a nudge for an achievement, and a manager's YES or amount reply turned into a spot award.

Where nudges are planned (chosen by cost: no new stream reader, no new write on the hot paths that have nothing to
nudge):
- levels and milestone badges: in the league scorer's invocation (functions/league_scorer), after its transactions,
  from the achievements it reports as written (`ScoreResult.achievements`: only the ones this call wrote, so a
  redelivered batch reports none again). A separate reader of the leagues table would need a stream on that table
  and one more Lambda reading every standings write (histograms included) to find the few achievements;
- CSAT runs: in the same invocation, from the batch's ledger entries the scorer already parsed: one BatchGetItem of
  the runs of the people with CSAT awards in the batch, and one conditional PutItem per such person;
- streak badges: in the daily streak judgement (functions/league_streaks), right after each badge's transaction.
The price: a nudge is planned after the achievement's own transaction, not in it; an invocation that dies between the
two loses that nudge (the achievement and the person's own notice are safe, and a suggestion is not money). Everything
else is exactly once: the nudge item's key is the achievement's (attribute_not_exists), so a retried call never plans
it twice.

Where the daily limit is applied: when planning, in the nudge's own transaction (a counter per manager, program and
local day, incremented only while below `per_manager_per_day`). The decision is then atomic with the nudge and its
alert, and the alert pipeline stays generic. A nudge planned in the manager's quiet hours is held by the sender until
they end (shared/notify/dispatch.py, `deliver_at`) and counts on the day it was planned.

Replies (shared/notify/conversations.py calls `NudgeReplies.answer`): a YES or a bare amount from a manager with an open
nudge becomes a spot award charged to their budget (`SpotAwards.award`, idempotency key = the nudge id: one award per
nudge, however often the reply is delivered), answered in their language: awarded (with the budget left), waiting
for approval, or refused (over budget: the nudge stays open for a smaller amount; points out of range; expired).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.sync import PendingAlert, alert_id
from shared.recognition.nudge_store import NudgePlan, NudgeStore
from shared.recognition.nudge_texts import nudge_line, reply_text
from shared.recognition.nudges import (
    CsatRun,
    Milestone,
    MilestoneKind,
    OpenNudge,
    Outcome,
    advance,
    badge_key,
    csat_key,
    csat_rule_ids,
    day_of,
    level_key,
    parse_reply,
    streak_key,
)

if TYPE_CHECKING:
    from shared.alerts.store import AlertStore
    from shared.directory.contacts import Contact
    from shared.leagues.live import Achievement, StreamEntry
    from shared.leagues.streak_store import StreakBadgeAward
    from shared.programs.document import ProgramDocument
    from shared.programs.loader import ProgramBook
    from shared.recognition.spot import SpotRequest, SpotResult


class ContactsPort(Protocol):
    def contact(self, employee_id: str) -> Contact | None: ...


class SpotPort(Protocol):
    def award(self, request: SpotRequest, actor: Any, now: datetime) -> SpotResult: ...


def _book() -> ProgramBook:
    from shared.programs.loader import load_programs

    return load_programs()


def _document(book: ProgramBook, program_id: str, now: datetime) -> ProgramDocument | None:
    version = book.for_basis(program_id, now) or book.latest(program_id)
    return version.document if version is not None else None


def _nudging(document: ProgramDocument | None) -> bool:
    """The program nudges: its nudges are enabled and it has spot awards (what a YES gives)."""
    return document is not None and document.recognition is not None and document.recognition.nudges.enabled and (
        document.spot_awards is not None)  # fmt: skip


def _league_name(document: ProgramDocument) -> str:
    return document.league.name if document.league is not None else document.name


@dataclass
class NudgeReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    runs_saved: int = 0
    runs_moved: int = 0  # a run changed since it was read (a concurrent invocation): left for the next batch

    def add(self, outcome: Outcome) -> None:
        self.outcomes[outcome.value] += 1

    def as_dict(self) -> dict[str, Any]:
        return {'nudges': dict(self.outcomes), 'csat_runs_saved': self.runs_saved, 'csat_runs_moved': self.runs_moved}


@dataclass
class Nudger:
    """Plans nudges (one transaction each, shared/recognition/nudge_store.py)."""

    store: NudgeStore
    contacts: ContactsPort
    alerts: AlertStore
    programs: Callable[[], ProgramBook] = _book

    def nudge(self, milestone: Milestone, now: datetime, book: ProgramBook | None = None) -> Outcome:
        document = _document(book or self.programs(), milestone.program_id, now)
        if document is None or not _nudging(document):
            return Outcome.DISABLED
        assert document.recognition is not None
        rules = document.recognition.nudges
        subject = self.contacts.contact(milestone.employee_id)
        if subject is None or not subject.active:
            return Outcome.INACTIVE
        manager = self.contacts.contact(subject.manager_id) if subject.manager_id else None
        if manager is None or not manager.active:
            return Outcome.NO_MANAGER
        assert document.spot_awards is not None
        if document.spot_awards.givers and manager.role not in document.spot_awards.givers:
            return Outcome.NOT_A_GIVER
        league = milestone.league or _league_name(document)
        line = nudge_line(manager.language, milestone.kind.value, person=subject.first_name, name=milestone.name, league=league,
                          points=milestone.points, suggested=rules.suggested_points, days=milestone.days, count=milestone.count,
                          top=rules.csat_top)  # fmt: skip
        alert = PendingAlert(alert_id=alert_id(f'nudge#{milestone.nudge_id}', Recipient.MANAGER),
                             ticket_key=f'nudge#{milestone.program_id}', ref=league, kind=AlertKind.NUDGE, metric='league',
                             threshold=line, role=Recipient.MANAGER, subject=milestone.employee_id, due_at=now,
                             location_id=subject.location_id)  # fmt: skip
        plan = NudgePlan(milestone=milestone, manager_id=manager.employee_id, suggested_points=rules.suggested_points,
                         day=day_of(now, ZoneInfo(manager.time_zone)), limit=rules.per_manager_per_day,
                         reply_by=now + timedelta(hours=rules.reply_hours), alert_id=alert.alert_id,
                         alert_action=self.alerts.new_alert_action(alert, now))  # fmt: skip
        return self.store.plan(plan, now)

    # --- the league scorer's achievements and its batch's CSAT awards ------------------------------------------------
    def after_scoring(self, entries: Sequence[StreamEntry], achievements: Iterable[Achievement], now: datetime) -> NudgeReport:
        """Nudge the levels and milestone badges the scorer just wrote, and the CSAT runs the batch's entries complete."""
        report = NudgeReport()
        book = self.programs()
        for achievement in achievements:
            if not _nudging(_document(book, achievement.program_id, now)):
                report.add(Outcome.DISABLED)
                continue
            level = achievement.kind == 'level'
            milestone = Milestone(program_id=achievement.program_id, employee_id=achievement.employee_id,
                                  kind=MilestoneKind.LEVEL if level else MilestoneKind.BADGE,
                                  key=level_key(achievement.key) if level else badge_key(achievement.key), name=achievement.name,
                                  at=achievement.at, points=achievement.lifetime_points, entry_id=achievement.entry_id)  # fmt: skip
            report.add(self.nudge(milestone, now, book))
        self.csat_runs(entries, now, book, report)
        return report

    def csat_runs(self, entries: Sequence[StreamEntry], now: datetime, book: ProgramBook, report: NudgeReport) -> None:
        """Apply the batch's CSAT awards to each person's run and nudge the runs that became outstanding. The nudge is
        planned before the run is saved: an invocation that dies between the two is retried by the stream and plans the
        same nudge again, which its key refuses (never twice, never lost)."""
        from shared.leagues.live import program_of

        rules: dict[str, tuple[frozenset[str], int, int, str]] = {}
        by_person: dict[tuple[str, str], list[StreamEntry]] = {}
        for record in entries:
            program_id = program_of(record.entry)
            if program_id not in rules:
                document = _document(book, program_id, now)
                if document is None or not _nudging(document):
                    rules[program_id] = (frozenset(), 0, 0, '')
                else:
                    assert document.recognition is not None
                    nudges = document.recognition.nudges
                    rules[program_id] = (csat_rule_ids(document.rules), nudges.csat_top, nudges.csat_run, _league_name(document))
            if record.entry.reason.rule_id in rules[program_id][0]:
                by_person.setdefault((program_id, record.entry.employee_id), []).append(record)
        if not by_person:
            return
        stored = self.store.runs(list(by_person))
        for (program_id, employee_id), records in by_person.items():
            csat_rules, top, length, league = rules[program_id]
            before = stored.get((program_id, employee_id)) or CsatRun(program_id, employee_id)
            run = before
            for record in sorted(records, key=lambda r: r.seq):
                run, outstanding = advance(run, record.seq, record.entry, csat_rules, top, length)
                if outstanding:
                    milestone = Milestone(program_id=program_id, employee_id=employee_id, kind=MilestoneKind.CSAT_RUN,
                                          key=csat_key(run.start), name=league, league=league, at=record.entry.recorded_at,
                                          count=run.count, entry_id=record.entry.entry_id)  # fmt: skip
                    report.add(self.nudge(milestone, now, book))
            if run == before:
                continue
            if self.store.save_run(before, run, now):
                report.runs_saved += 1
            else:
                report.runs_moved += 1

    # --- the daily streak judgement -------------------------------------------------------------------------------
    def streak_badge(self, award: StreakBadgeAward, now: datetime) -> Outcome:
        milestone = Milestone(program_id=award.program_id, employee_id=award.employee_id, kind=MilestoneKind.STREAK,
                              key=streak_key(award.badge_id, award.run_start.isoformat()), name=award.name, at=now,
                              days=award.days)  # fmt: skip
        return self.nudge(milestone, now)


# --- replies ------------------------------------------------------------------------------------------------------
@dataclass
class NudgeReplies:
    """A manager's YES or amount, answered (shared/notify/conversations.py's NudgePort)."""

    store: NudgeStore
    contacts: ContactsPort
    spot: SpotPort
    programs: Callable[[], ProgramBook] = _book

    def answer(self, manager: Contact, body: str, channel: str, message_id: str, now: datetime) -> str | None:
        """The reply text, or None when this is no answer to a nudge (not YES or an amount, or no open nudge): the message
        then keeps its usual meaning (YES is Twilio's START)."""
        parsed = parse_reply(body)
        if parsed is None:
            return None
        nudge = self.store.open_nudge(manager.employee_id)
        if nudge is None:
            return None
        language = manager.language
        if nudge.expired(now):
            self.store.close(nudge, 'expired', now)
            return reply_text(language, 'expired')
        points = parsed.points if parsed.points is not None else nudge.suggested_points
        subject = self.contacts.contact(nudge.employee_id)
        person = subject.first_name if subject is not None else nudge.employee_id
        if points < 1:
            return reply_text(language, 'amount', points=nudge.suggested_points)
        return self._award(nudge, manager, person, points, channel, message_id, now)

    def _award(self, nudge: OpenNudge, manager: Contact, person: str, points: int, channel: str, message_id: str, now: datetime) -> str:
        from shared.ledger.approvals import Actor
        from shared.recognition.spot import SpotRefused, SpotRequest

        language = manager.language
        document = _document(self.programs(), nudge.program_id, now)
        if document is None or not _nudging(document):
            self.store.close(nudge, 'expired', now, outcome='nudges_disabled')
            return reply_text(language, 'expired')
        assert document.recognition is not None and document.spot_awards is not None
        reason_id = document.recognition.nudges.reason_id or document.spot_awards.reasons[0].reason_id
        request = SpotRequest(program_id=nudge.program_id, manager_id=manager.employee_id, employee_id=nudge.employee_id, points=points,
                              reason_id=reason_id, message=_message(nudge), idempotency_key=f'nudge:{nudge.nudge_id}', via='nudge',
                              source_ref=nudge.nudge_id)  # fmt: skip
        # The manager is who the directory says owns the number Twilio's signed request came from (one person only).
        actor = Actor(via='console', reference=message_id, claimed=f'{channel}:{manager.employee_id}')
        try:
            result = self.spot.award(request, actor, now)
        except SpotRefused as refused:
            if refused.code == 'over_budget':
                remaining = refused.values.get('remaining')
                left = int(remaining) if isinstance(remaining, int | float) else 0
                return reply_text(language, 'over_budget', points=points, left=left)
            if refused.code == 'points':
                most = refused.values.get('max_points')
                return reply_text(language, 'too_many', points=int(most) if isinstance(most, int | float) else 0)
            from shared.recognition.spot_texts import refusal

            return refusal(refused, language)
        status = str(result.status)
        self.store.close(nudge, 'requested' if status == 'requested' else 'awarded', now, points=result.points, award_id=result.award_id,
                         outcome=status)  # fmt: skip
        if status == 'requested':
            return reply_text(language, 'approval', person=person, points=result.points)
        return reply_text(language, 'awarded_left', person=person, points=result.points, left=result.remaining)


def _message(nudge: OpenNudge) -> str:
    return f'Nudge {nudge.nudge_id}: {nudge.nudge_key}'
