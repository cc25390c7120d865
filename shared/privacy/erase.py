"""The `forget` operation over the stores: find what names the person, erase it (or, dry, only list it), audit it.

Order matters for a crash: the quarantine, the alerts, the contact record and the mappings are erased first, the
profile last, because the profile holds the identifiers the earlier steps search with. A run that dies half-way is
simply run again; each step is idempotent (an erased item no longer matches, a deleted item is not found), and a
run that finds nothing left to erase writes nothing at all (not even an audit record).

The quarantine is searched without a Scan: one Query of the `by_day` index per day of the retention window (30 days
by default, the quarantine's TTL; `quarantine_days` reaches further back), keys only, then the items by
BatchGetItem. A person's name or address cannot be indexed at the boundary (a rejected payload was not understood),
and an admin's forget is rare, so reading the window once costs less than indexing every rejection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.alerts.store import AlertStore
from shared.directory.contacts import ContactBook
from shared.directory.store import DirectoryStore, ProfileRecord
from shared.privacy.forget import ERASED_REASON, ErasureReport, ForgetRequest, Identifiers, mentions, pseudonym
from shared.quarantine.store import QuarantineStore
from shared.recognition.nudge_store import NudgeStore
from shared.recognition.spot_store import SpotStore
from shared.recognition.store import RecognitionStore

PROFILE_FIELDS = ('phone', 'email', 'whatsapp_opt_in', 'alert_channel', 'agent_ids')


class ForgetRefused(Exception):
    """A forget that must not run: `code` for callers, `reason` for people, `field` the request field it is about."""

    def __init__(self, code: str, reason: str, field: str = 'employee_id') -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field


@dataclass
class Eraser:
    directory: DirectoryStore
    contacts: ContactBook
    alerts: AlertStore
    quarantine: QuarantineStore
    spot: SpotStore | None = None  # spot awards naming the person (receiver or giver): messages blanked, ids pseudonymised
    nudges: NudgeStore | None = None
    recognition: RecognitionStore | None = None
    rewards: Any = None  # shared.wallet.store.RewardsStore: redemptions' voucher codes and free text
    api: Any = None  # shared.api.store.ApiStore: the person's kiosk PIN hash and lockout
    logins: Any = None  # shared.directory.logins.CognitoLogins: the person's login (username = employee id)

    def forget(self, request: ForgetRequest, actor: str, now: datetime) -> ErasureReport:
        profile = self.directory.profile_of(request.employee_id)
        if profile is None:
            raise ForgetRefused('unknown_employee', 'no employee with this id in the directory')
        if profile.active and not profile.forgotten_at:
            raise ForgetRefused('still_active', 'the employee is still active in the directory: the HR export must mark them '
                                                'as left before their data is erased')  # fmt: skip
        report = ErasureReport(employee_id=request.employee_id, pseudonym=pseudonym(request.employee_id), dry_run=request.dry_run)
        identifiers = _identifiers(profile)
        self._quarantine(identifiers, request, report, now)
        self._alerts(request, report)
        if self.spot is not None:
            report.spot_awards = self.spot.erase_person(request.employee_id, report.pseudonym, dry_run=request.dry_run)
        self._nudges(request, report)
        self._recognitions(request, report, now)
        report.contact_record = int(self.contacts.has_record(request.employee_id))
        if report.contact_record and not request.dry_run:
            self.contacts.forget(request.employee_id)
        self._mappings(profile, request, report)
        self._redemptions(request, report, now)
        if self.api is not None:
            report.kiosk_pin = self.api.forget_pin(request.employee_id, dry_run=request.dry_run)
        if self.logins is not None:
            report.login = self.logins.exists(request.employee_id) if request.dry_run else self.logins.delete(request.employee_id)
        report.profile_fields = _profile_fields(profile, report.pseudonym)
        if report.profile_fields and not request.dry_run:
            self.directory.forget_profile(request.employee_id, report.pseudonym, now)
        if report.changes and not request.dry_run:
            self.directory.record_erasure(request.employee_id, _audit(report, actor, request, now), now)
        return report

    def _quarantine(self, identifiers: Identifiers, request: ForgetRequest, report: ErasureReport, now: datetime) -> None:
        report.days_searched = request.quarantine_days
        for offset in range(request.quarantine_days):
            ids = self.quarantine.day_ids(f'{now - timedelta(days=offset):%Y-%m-%d}')
            report.quarantine_searched += len(ids)
            for start in range(0, len(ids), 100):
                for quarantine_id, (sender_text, reason) in sorted(self.quarantine.texts(ids[start:start + 100]).items()):
                    in_payload, in_reason = mentions(sender_text, identifiers), mentions(reason, identifiers)
                    if not (in_payload or in_reason):
                        continue
                    report.quarantine_ids.append(quarantine_id)
                    if not request.dry_run:
                        self.quarantine.erase_payload(quarantine_id, now, erase_reason=in_reason, reason=ERASED_REASON)

    def _alerts(self, request: ForgetRequest, report: ErasureReport) -> None:
        keys = self.alerts.personal_keys(request.employee_id)
        report.worklist, report.breaches = len(keys['WORK']), len(keys['BREACH'])
        if not request.dry_run:
            self.alerts.delete_keys(keys['WORK'] + keys['BREACH'])

    def _nudges(self, request: ForgetRequest, report: ErasureReport) -> None:
        """Nudges are suggestions, not records: the person's (as the subject and as a manager) are deleted."""
        if self.nudges is None:
            return
        keys = self.nudges.personal_keys(request.employee_id)
        report.nudges = len(keys)
        if not request.dry_run:
            self.nudges.delete_keys(keys)

    def _recognitions(self, request: ForgetRequest, report: ErasureReport, now: datetime) -> None:
        """The recognitions the person gave or received (their `WHO#` index): messages blanked, index items deleted."""
        if self.recognition is None:
            return
        found = self.recognition.personal_items(request.employee_id)
        report.recognitions = len(found)
        if found and not request.dry_run:
            self.recognition.erase_messages(found, now)

    def _mappings(self, profile: ProfileRecord, request: ForgetRequest, report: ErasureReport) -> None:
        for source, key in _agent_keys(profile):
            mapping = self.directory.mapping_of(source, key)
            if mapping is None or mapping.employee_id != request.employee_id:
                continue
            report.mappings += 1
            if not request.dry_run:
                self.directory.delete_mapping(source, key, request.employee_id)


    def _redemptions(self, request: ForgetRequest, report: ErasureReport, now: datetime) -> None:
        if self.rewards is None:
            return
        for redemption in self.rewards.redemptions_of(request.employee_id):
            fulfilment = redemption.fulfilment
            personal = redemption.failure or (fulfilment is not None and (fulfilment.code or fulfilment.note))
            if redemption.erased_at is not None or not personal:
                continue
            report.redemptions += 1
            if not request.dry_run:
                self.rewards.erase(redemption, now)


def _agent_keys(profile: ProfileRecord) -> list[tuple[str, str]]:
    compounds = profile.agent_ids.as_dict() if profile.agent_ids else {}
    return sorted((compound.partition(':')[0], compound.partition(':')[2]) for compound in compounds)


def _identifiers(profile: ProfileRecord) -> Identifiers:
    name = profile.name if profile.name and not profile.forgotten_at else None
    return Identifiers(employee_id=profile.employee_id, name=name, phone=profile.phone, email=profile.email,
                       agent_keys=tuple(key for _, key in _agent_keys(profile)))  # fmt: skip


def _profile_fields(profile: ProfileRecord, alias: str) -> list[str]:
    present = [name for name in PROFILE_FIELDS if getattr(profile, name) not in (None, False, '')]
    if profile.name != alias:
        present.append('name')
    if profile.active or not profile.forgotten_at:
        present.append('active' if profile.active else 'forgotten_at')
    return present


def _audit(report: ErasureReport, actor: str, request: ForgetRequest, now: datetime) -> dict[str, str | None]:
    tables = {'directory': ['profile', 'mappings', 'contact record'], 'alerts': ['worklist', 'breaches'], 'quarantine': ['items'],
              'recognition': ['spot awards', 'nudges', 'record and feed messages']}  # fmt: skip
    return {
        'pseudonym': report.pseudonym,
        'erased_at': now.isoformat(),
        'actor': actor,
        'requested_by': request.requested_by,
        'tables': json.dumps(tables),
        'counts': json.dumps(report.counts(), sort_keys=True),
        'quarantine_ids': json.dumps(sorted(report.quarantine_ids)),
    }
