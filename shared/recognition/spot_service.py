"""Managers' spot awards, the use case: award (at once, or requested for approval), decide (approve or reject), and
the daily run (remind approvers, expire what nobody decided). The console, the IAM-authorized HTTP routes
(functions/spot_award), a nudge's YES/amount reply and later the people-facing API call this same code.

    awards = SpotAwards.default()
    result = awards.award(SpotRequest(program_id=..., manager_id=..., employee_id=..., points=..., reason_id=...,
                                      message=..., idempotency_key=..., via='nudge'), actor=actor, now=now)
    result.status      # 'awarded' or 'requested'; result.remaining: the manager's budget left this month
    awards.decide(result.award_id, approve=True, reason=None, actor=checker, now=now)

A refusal raises `SpotRefused` (a stable code, a reason naming the field, values such as `remaining`); nothing is
written. `shared.recognition.spot_texts.refusal(refused, language)` says it to the requester in their language.

Who acts: `actor` is the platform's identity of the caller (`shared.ledger.approvals.Actor`). An IAM caller gives as
the manager its ARN names (the session or user name is the manager's employee id) unless it is an admin
(ADMIN_PRINCIPALS); a console invocation or a channel that authenticated the manager itself (a nudge reply from the
manager's phone) names the manager in the request. Either way the manager must manage the receiver (be in the
receiver's manager chain), unless an admin gives it. Approvals need an authenticated (IAM) identity: the maker's
manager (anywhere up the maker's chain) or an admin, never the maker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.sync import PendingAlert, alert_id
from shared.directory.store import DirectoryStore, ProfileRecord
from shared.ledger.approvals import Actor, Scalar
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.programs.document import ProgramDocument
from shared.programs.loader import ProgramVersion
from shared.programs.period import Person, in_program
from shared.recognition import spot_texts
from shared.recognition.config import SpotAwardConfig
from shared.recognition.spot import (
    MAX_CHAIN,
    SPOT_RULE_ID,
    SpotAward,
    SpotDecision,
    SpotRefused,
    SpotRequest,
    SpotResult,
    SpotStatus,
    award_id_for,
    check_budget,
    check_caller,
    check_decision,
    check_giver,
    check_points,
    decided,
    expires_at,
    is_admin,
    local_day,
    month_of,
    spot_entry_id,
)
from shared.recognition.spot_store import FeedPeople, OverBudget, SpotStore

__all__ = ['SpotAwards', 'SpotRequest', 'SpotResult', 'SpotRefused', 'SpotDecision', 'SpotAward', 'Actor', 'DailyReport']

ProgramLookup = Callable[[str, datetime], ProgramVersion | None]


def _program_of(program_id: str, at: datetime) -> ProgramVersion | None:
    from shared.programs.loader import load_programs

    book = load_programs()
    return book.for_basis(program_id, at) or book.latest(program_id)


@dataclass
class DailyReport:
    program_id: str
    open: int = 0
    expired: int = 0
    reminded: int = 0
    skipped: int = 0  # decided meanwhile, or asked today (the approver was told today already)
    expired_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {'program_id': self.program_id, 'open': self.open, 'expired': self.expired, 'reminded': self.reminded,
                'skipped': self.skipped, 'expired_ids': self.expired_ids}  # fmt: skip


@dataclass
class SpotAwards:
    store: SpotStore
    directory: DirectoryStore
    programs: ProgramLookup = _program_of
    admin_principals: str = ''

    @classmethod
    def default(cls) -> SpotAwards:
        from shared.config import get_settings

        return cls(SpotStore(), DirectoryStore(), admin_principals=get_settings().ADMIN_PRINCIPALS)

    # --- giving --------------------------------------------------------------------------------------------------
    def award(self, request: SpotRequest, actor: Actor, now: datetime) -> SpotResult:
        """Award at once (at or below the program's `approval_above`), or request it for approval with the points
        reserved on the budget. A retried idempotency key answers the first outcome (`duplicate`), writing nothing."""
        version, config = self._program(request.program_id, now)
        admin = is_admin(actor, self.admin_principals)
        check_caller(request, actor, admin=admin)
        award_id = award_id_for(request.program_id, request.manager_id, request.idempotency_key)
        existing = self.store.get(award_id)
        if existing is not None:
            return self._duplicate(existing, request)
        reason = config.reason(request.reason_id)
        if reason is None:
            known = ', '.join(r.reason_id for r in config.reasons)
            raise SpotRefused('unknown_reason', f'no spot award reason {request.reason_id!r} in {request.program_id} ({known})',
                              field='reason_id')  # fmt: skip
        check_points(request.points, config.max_points)
        if request.employee_id == request.manager_id:
            raise SpotRefused('self', 'nobody gives themselves a spot award', field='employee_id')
        people: dict[str, ProfileRecord | None] = {}
        receiver = self._receiver(request, version.document, now, people)
        giver = self._profile(request.manager_id, people)
        if giver is None or not giver.active:
            raise SpotRefused('unknown_giver', f'no active manager {request.manager_id} in the directory', field='manager_id')
        if config.givers and giver.role not in config.givers and not admin:
            raise SpotRefused('not_a_giver', f'{request.manager_id} ({giver.role}) may not give spot awards in {request.program_id} '
                              f'(roles: {", ".join(config.givers)})', field='manager_id')  # fmt: skip
        check_giver(request, actor, admin=admin, managers_of_receiver=self.managers_of(request.employee_id, people,
                                                                                                  until=request.manager_id))
        month = month_of(now, version.document.time_zone)
        budget = config.budget_for(request.manager_id, giver.role)
        check_budget(request.points, budget, self.store.used(request.program_id, request.manager_id, month), month)
        requested = request.points > config.approval_above
        award = SpotAward(
            award_id=award_id, program_id=request.program_id, program_ref=version.ref, manager_id=request.manager_id,
            employee_id=request.employee_id, points=request.points, reason_id=reason.reason_id, reason_name=reason.name,
            message=request.message, month=month, budget=budget,
            status=SpotStatus.REQUESTED if requested else SpotStatus.AWARDED, via=request.via, source_ref=request.source_ref,
            idempotency_key=request.idempotency_key, maker=actor, requested_at=now,
            expires_at=expires_at(now, config.approval_expires_days) if requested else None,
        )  # fmt: skip
        try:
            if requested:
                outcome = self.store.write_request(award, self._waiting_alerts(award, giver, receiver, now, people=people), now)
            else:
                award = self._placed(decided(award, SpotStatus.AWARDED, None, None, now), receiver, now)
                entry = self._entry(award, approver=None, now=now)
                outcome = self.store.write_award(award, entry, self._people(giver, receiver),
                                                 [self._received_alert(award, giver, receiver, now)], now)  # fmt: skip
        except OverBudget as over:
            check_budget(award.points, budget, over.used, month)
            raise
        if outcome == 'duplicate':  # the same key raced this call and won: its outcome is the answer
            stored = self.store.get(award_id)
            assert stored is not None
            return self._duplicate(stored, request)
        return self._result(award, approver_hint=self._approver_hint(award, people) if requested else None)

    # --- deciding ------------------------------------------------------------------------------------------------
    def decide(self, award_id: str, approve: bool, reason: str | None, actor: Actor, now: datetime) -> SpotResult:
        """Approve (the entry written once, with the request's status change, in one transaction) or reject with a reason
        (the reservation released). The maker is told either way."""
        if not approve and (reason is None or len(reason.strip()) < 5):
            raise SpotRefused('reason', 'a rejection needs a reason (at least 5 characters)', field='reason')
        award = self.store.get(award_id)
        people: dict[str, ProfileRecord | None] = {}
        managers = self.managers_of(award.manager_id, people) if award is not None else []
        award = check_decision(award, award_id, actor, approve=approve, admin=is_admin(actor, self.admin_principals),
                               managers_of_maker=managers, now=now)  # fmt: skip
        giver = self._profile(award.manager_id, people)
        receiver = self._profile(award.employee_id, people)
        if approve and (receiver is None or not receiver.active):
            raise SpotRefused('inactive_receiver', f'{award.employee_id} is no longer active in the directory: reject the request',
                              field='award_id')  # fmt: skip
        if not approve:
            closed = decided(award, SpotStatus.REJECTED, actor, reason.strip() if reason else None, now)
            if not self.store.write_close(closed, [self._decided_alert(closed, giver, receiver, now)], now):
                raise SpotRefused('decided', f'spot award {award_id} was decided meanwhile', field='award_id')
            return self._result(closed)
        approved = self._placed(decided(award, SpotStatus.APPROVED, actor, reason, now), receiver, now)
        entry = self._entry(approved, approver=actor, now=now)
        alerts = [self._received_alert(approved, giver, receiver, now), self._decided_alert(approved, giver, receiver, now)]
        outcome = self.store.write_approval(approved, entry, self._people(giver, receiver), alerts, now)
        if outcome != 'written':
            raise SpotRefused('decided', f'spot award {award_id} was decided meanwhile', field='award_id')
        return self._result(approved)

    # --- the daily run -------------------------------------------------------------------------------------------
    def run_daily(self, program_id: str, now: datetime) -> DailyReport:
        """Expire the requests whose deadline passed (the reservation released, the maker told), then remind the
        approver of every open request once a day (not on the day it was asked: the approver was told that day)."""
        report = DailyReport(program_id)
        version = self.programs(program_id, now)
        time_zone = version.document.time_zone if version is not None else 'UTC'
        for item in self.store.all_pending(program_id, due_by=now):
            award = self.store.get(item.award_id)
            if award is None or award.status is not SpotStatus.REQUESTED:
                report.skipped += 1
                continue
            days = (award.expires_at - award.requested_at).days if award.expires_at else 0
            closed = decided(award, SpotStatus.EXPIRED, None, f'no decision within {days} days', now)
            giver, receiver = self.directory.profile_of(award.manager_id), self.directory.profile_of(award.employee_id)
            if self.store.write_close(closed, [self._decided_alert(closed, giver, receiver, now)], now):
                report.expired += 1
                report.expired_ids.append(award.award_id)
            else:
                report.skipped += 1
        today = local_day(now, time_zone)
        for item in self.store.all_pending(program_id):
            report.open += 1
            if local_day(datetime.fromisoformat(item.requested_at.replace('Z', '+00:00')), time_zone) == today:
                report.skipped += 1
                continue
            award = self.store.get(item.award_id)
            if award is None or award.status is not SpotStatus.REQUESTED:
                report.skipped += 1
                continue
            giver, receiver = self.directory.profile_of(award.manager_id), self.directory.profile_of(award.employee_id)
            reminders = self._waiting_alerts(award, giver, receiver, now, reminder_day=today)
            if reminders and self.store.alerts.upsert(reminders[0], now, only_new=True):
                report.reminded += 1
            else:
                report.skipped += 1  # reminded already today, or nobody to remind (an admin decides)
        return report

    # --- reads -----------------------------------------------------------------------------------------------------
    def managers_of(self, employee_id: str, people: dict[str, ProfileRecord | None] | None = None, *,
                    until: str | None = None) -> list[str]:  # fmt: skip
        """The manager chain in the directory, nearest first (as shared/disputes/service.py); `people`: profiles read
        already in this call (each person is read once); `until`: stop once this manager is in it (who manages whom
        needs no more of the chain)."""
        people = {} if people is None else people
        chain: list[str] = []
        current = self._profile(employee_id, people)
        while current is not None and current.manager_id and current.manager_id not in chain and len(chain) < MAX_CHAIN:
            chain.append(current.manager_id)
            if current.manager_id == until:
                break
            current = self._profile(current.manager_id, people)
        return chain

    def _profile(self, employee_id: str, people: dict[str, ProfileRecord | None]) -> ProfileRecord | None:
        if employee_id not in people:
            people[employee_id] = self.directory.profile_of(employee_id)
        return people[employee_id]

    def _program(self, program_id: str, now: datetime) -> tuple[ProgramVersion, SpotAwardConfig]:
        version = self.programs(program_id, now)
        if version is None:
            raise SpotRefused('unknown_program', f'no program {program_id}', field='program_id')
        config = version.document.spot_awards
        if config is None:
            raise SpotRefused('no_spot_awards', f'program {program_id} has no spot awards', field='program_id')
        return version, config

    def _receiver(self, request: SpotRequest, document: ProgramDocument, now: datetime,
                  people: dict[str, ProfileRecord | None]) -> ProfileRecord:  # fmt: skip
        profile = self._profile(request.employee_id, people)
        if profile is None:
            raise SpotRefused('unknown_receiver', f'no employee {request.employee_id} in the directory', field='employee_id')
        if not profile.active:
            raise SpotRefused('inactive_receiver', f'{request.employee_id} is not active in the directory', field='employee_id')
        person = Person(employee_id=request.employee_id, role=profile.role, job_grade=profile.job_grade, location_id=profile.location_id,
                        region=profile.region, team_id=profile.manager_id, active=True)  # fmt: skip
        if not in_program(document, person, month_of(now, document.time_zone)):
            raise SpotRefused('outside_program', f'{request.employee_id} is not in program {request.program_id}', field='employee_id')
        return profile

    def _duplicate(self, stored: SpotAward, request: SpotRequest) -> SpotResult:
        if (stored.employee_id, stored.points, stored.reason_id) != (request.employee_id, request.points, request.reason_id):
            raise SpotRefused('key_reused', f'idempotency key {request.idempotency_key!r} was used for another spot award '
                              f'({stored.award_id})', field='idempotency_key')  # fmt: skip
        return self._result(stored, duplicate=True)

    def _result(self, award: SpotAward, *, duplicate: bool = False, approver_hint: str | None = None) -> SpotResult:
        used = self.store.used(award.program_id, award.manager_id, award.month)
        return SpotResult(status=award.status, award_id=award.award_id, program_id=award.program_id, manager_id=award.manager_id,
                          employee_id=award.employee_id, points=award.points, month=award.month, budget=award.budget, used=used,
                          remaining=max(award.budget - used, 0), entry_id=award.entry_id, duplicate=duplicate,
                          expires_at=award.expires_at if award.status is SpotStatus.REQUESTED else None,
                          approver_hint=approver_hint)  # fmt: skip

    def _approver_hint(self, award: SpotAward, people: dict[str, ProfileRecord | None]) -> str:
        managers = self.managers_of(award.manager_id, people)
        who = f'{managers[0]} (the maker\'s manager)' if managers else 'an admin'
        return f'{who} approves it: POST /admin/spot-awards/{award.award_id}/approve'

    # --- what is written -------------------------------------------------------------------------------------------
    @staticmethod
    def _placed(award: SpotAward, receiver: ProfileRecord | None, now: datetime) -> SpotAward:
        """Where the award shows in the feed: the receiver's team (their manager) and location, at `now`."""
        return award.model_copy(update={'feed_team': receiver.manager_id if receiver else None,
                                        'feed_location': receiver.location_id if receiver else None, 'feed_at': now})  # fmt: skip

    @staticmethod
    def _people(giver: ProfileRecord | None, receiver: ProfileRecord | None) -> FeedPeople:
        return FeedPeople(giver_location=giver.location_id if giver else None,
                          receiver_location=receiver.location_id if receiver else None,
                          giver_team=giver.manager_id if giver else None,
                          receiver_team=receiver.manager_id if receiver else None)  # fmt: skip

    @staticmethod
    def _entry(award: SpotAward, *, approver: Actor | None, now: datetime) -> LedgerEntry:
        inputs: dict[str, Scalar] = {'manager_id': award.manager_id, 'reason_id': award.reason_id, 'month': award.month,
                                     'budget': award.budget, 'via': award.via, **award.maker.inputs('maker')}  # fmt: skip
        if award.source_ref:
            inputs['source_ref'] = award.source_ref
        if approver is not None:
            inputs |= approver.inputs('approver') | {'approval_requested_at': award.requested_at.isoformat()}
        return LedgerEntry(
            entry_id=spot_entry_id(award.award_id), employee_id=award.employee_id, amount=award.points, kind=EntryKind.SPOT_AWARD,
            status=EntryStatus.AVAILABLE,
            reason=EntryReason(ticket_key=f'spot#{award.award_id}', source_event_id=f'spot:{award.award_id}',
                               basis_event_id=f'spot:{award.award_id}', rule_id=SPOT_RULE_ID, rule_version=1, program_id=award.program_ref,
                               inputs=inputs, note=f'Spot award: {award.reason_name}'),
            occurred_at=award.requested_at, recorded_at=now,
        )  # fmt: skip

    @staticmethod
    def _name(profile: ProfileRecord | None, fallback: str) -> str:
        return (profile.name if profile is not None and profile.name else None) or fallback

    def _received_alert(self, award: SpotAward, giver: ProfileRecord | None, receiver: ProfileRecord | None, now: datetime) -> PendingAlert:
        language = receiver.language if receiver else None
        return PendingAlert(alert_id=alert_id(f'spot#{award.award_id}|received', Recipient.ASSIGNEE), ticket_key=f'spot#{award.award_id}',
                            ref=spot_texts.ref('received', language), kind=AlertKind.SPOT_AWARD_RECEIVED, metric='spot_award',
                            threshold=spot_texts.received(award, self._name(giver, award.manager_id), language), role=Recipient.ASSIGNEE,
                            subject=award.employee_id, due_at=now, location_id=receiver.location_id if receiver else None)  # fmt: skip

    def _waiting_alerts(self, award: SpotAward, giver: ProfileRecord | None, receiver: ProfileRecord | None, now: datetime,
                        reminder_day: str | None = None,
                        people: dict[str, ProfileRecord | None] | None = None) -> list[PendingAlert]:  # fmt: skip
        """To the maker's own manager (Recipient.MANAGER of the maker), in that manager's language; nobody when the
        maker has no manager (an admin approves: the answer's `approver_hint` says so)."""
        if giver is None or not giver.manager_id:
            return []
        approver = self._profile(giver.manager_id, {} if people is None else people)
        language = approver.language if approver else None
        key = f'spot#{award.award_id}|waiting' + (f'|{reminder_day}' if reminder_day else '')
        text = spot_texts.waiting(award, self._name(giver, award.manager_id), self._name(receiver, award.employee_id), language,
                                  reminder=reminder_day is not None)  # fmt: skip
        return [PendingAlert(alert_id=alert_id(key, Recipient.MANAGER), ticket_key=f'spot#{award.award_id}',
                             ref=spot_texts.ref('waiting', language), kind=AlertKind.SPOT_APPROVAL_WAITING, metric='spot_award',
                             threshold=text, role=Recipient.MANAGER, subject=award.manager_id, due_at=now,
                             location_id=giver.location_id)]  # fmt: skip

    def _decided_alert(self, award: SpotAward, giver: ProfileRecord | None, receiver: ProfileRecord | None, now: datetime) -> PendingAlert:
        language = giver.language if giver else None
        return PendingAlert(alert_id=alert_id(f'spot#{award.award_id}|decided', Recipient.ASSIGNEE), ticket_key=f'spot#{award.award_id}',
                            ref=spot_texts.ref('decided', language), kind=AlertKind.SPOT_AWARD_DECIDED, metric='spot_award',
                            threshold=spot_texts.decided(award, self._name(receiver, award.employee_id), language),
                            role=Recipient.ASSIGNEE, subject=award.manager_id, due_at=now,
                            location_id=giver.location_id if giver else None)  # fmt: skip
