"""Disputes end to end: filing from an inbound message, deciding from the dispute_decide function or its IAM route,
and the messages back, through the stores and the alert sender.

Messages: the filing is answered at once in the conversation (the TwiML reply, inside WhatsApp's 24-hour window); the
manager is told of a new dispute, and the employee of the outcome, by an alert item (kinds dispute_filed,
dispute_accepted, dispute_rejected) that the one-minute scan queues and the alert sender delivers like every alert:
WhatsApp template, SMS or e-mail, quiet hours, opt-outs, retries, exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.store import AlertStore
from shared.alerts.sync import PendingAlert, alert_id
from shared.directory.store import DirectoryStore
from shared.disputes.model import Dispute, DisputeRefused, dispute_id_for
from shared.disputes.store import DisputeStore
from shared.disputes.workflow import MAX_CHAIN, check_decision, check_filing, decided, is_admin, new_dispute
from shared.ledger.adjustments import AdjustmentRequest, submit_adjustment
from shared.ledger.approval_store import ApprovalStore
from shared.ledger.approvals import Actor
from shared.ledger.store import LedgerStore


@dataclass
class Disputes:
    disputes: DisputeStore
    directory: DirectoryStore
    alerts: AlertStore | None = None
    ledger: LedgerStore | None = None
    approvals: ApprovalStore | None = None

    # --- filing (an inbound DISPUTE message) -------------------------------------------------------------------
    def file(self, employee_id: str, code: str, comment: str, channel: str, now: datetime, location_id: str | None = None) -> Dispute:
        """Record the dispute and tell the manager; DisputeRefused (nothing written) when it must not be filed. `location_id`:
        the filer's location when the caller has read it ('' : read, none; None: one directory read here): the team list
        finds the dispute there."""
        candidates = self.disputes.entries_by_code(employee_id, code) if len(code) >= 8 and code.isalnum() else []
        existing = self.disputes.get(dispute_id_for(candidates[0].entry_id)) if len(candidates) == 1 else None
        entry = check_filing(employee_id, code, candidates, existing, comment)
        dispute = new_dispute(entry, comment, channel, now)
        if location_id is None:
            profile = self.directory.profile_of(employee_id)
            location_id = profile.location_id if profile is not None else None
        if location_id:
            dispute = dispute.model_copy(update={'location_id': location_id})  # where the team list finds it
        if not self.disputes.put_new(dispute):
            stored = self.disputes.get(dispute.dispute_id)
            raise DisputeRefused('already_disputed', f'entry {dispute.entry_code} is already disputed ({dispute.dispute_id})',
                                 entry_code=dispute.entry_code, dispute=dispute.dispute_id,
                                 status=stored.status.value if stored else 'open')  # fmt: skip
        self._message(dispute, AlertKind.DISPUTE_FILED, Recipient.MANAGER, dispute.dispute_id, now)
        return dispute

    # --- deciding (a manager in scope, or an admin) ------------------------------------------------------------
    def managers_of(self, employee_id: str) -> list[str]:
        chain: list[str] = []
        current = self.directory.profile_of(employee_id)
        while current is not None and current.manager_id and current.manager_id not in chain and len(chain) < MAX_CHAIN:
            chain.append(current.manager_id)
            current = self.directory.profile_of(current.manager_id)
        return chain

    def decide(self, dispute_id: str, *, accept: bool, reason: str, points: int | None, actor: Actor, admin_principals: str,
               approval_above: int, now: datetime) -> dict[str, Any]:  # fmt: skip
        dispute = self.disputes.get(dispute_id)
        managers = self.managers_of(dispute.employee_id) if dispute is not None else []
        dispute = check_decision(dispute, dispute_id, actor, managers, is_admin(actor, admin_principals))
        if not accept:
            result = decided(dispute, accept=False, actor=actor, reason=reason, now=now)
            if not self.disputes.save_decision(result):
                raise DisputeRefused('decided', f'dispute {dispute_id} was decided meanwhile')
            self._message(result, AlertKind.DISPUTE_REJECTED, Recipient.ASSIGNEE, reason, now)
            return {'ok': True, 'dispute_id': dispute_id, 'status': result.status.value, 'reason': reason}
        amount = points if points is not None else (-dispute.entry_amount if dispute.entry_amount < 0 else None)
        if not amount:
            was = f'{dispute.entry_amount:+d}'
            raise DisputeRefused('points', f'say how many points the correction is (entry {dispute.entry_code} was {was})')
        assert self.ledger is not None and self.approvals is not None
        adjustment_id = f'dispute-{dispute.dispute_id}'
        request = AdjustmentRequest(adjustment_id=adjustment_id, employee_id=dispute.employee_id, points=amount,
                                    reason=f'Dispute {dispute.dispute_id} of entry {dispute.entry_code} accepted: {reason}',
                                    ticket_key=None)  # fmt: skip
        adjusted = submit_adjustment(request, maker=actor, ledger=self.ledger, directory=self.directory, approvals=self.approvals,
                                     approval_above=approval_above, now=now,
                                     links={'dispute_id': dispute.dispute_id, 'disputed_entry': dispute.entry_id})  # fmt: skip
        status = str(adjusted['status'])
        result = decided(dispute, accept=True, actor=actor, reason=reason, now=now, adjustment_id=adjustment_id, points=amount,
                         adjustment_status=status)  # fmt: skip
        if not self.disputes.save_decision(result):
            raise DisputeRefused('decided', f'dispute {dispute_id} was decided meanwhile (adjustment {adjustment_id} is {status})')
        self._message(result, AlertKind.DISPUTE_ACCEPTED, Recipient.ASSIGNEE, f'{amount:+d}', now)
        return {'ok': True, 'dispute_id': dispute_id, 'status': result.status.value, 'adjustment_id': adjustment_id,
                'adjustment_status': status, 'points': amount}  # fmt: skip

    # --- messages ----------------------------------------------------------------------------------------------
    def _message(self, dispute: Dispute, kind: AlertKind, role: Recipient, detail: str, now: datetime) -> None:
        """An alert item the scan queues at once and the sender delivers (to the employee, or to their manager)."""
        if self.alerts is None:
            return
        key = f'dispute#{dispute.dispute_id}|{kind.value}'
        alert = PendingAlert(alert_id=alert_id(key, role), ticket_key=f'dispute#{dispute.dispute_id}', ref=dispute.entry_code, kind=kind,
                             metric='dispute', threshold=' '.join(detail.split())[:300], role=role, subject=dispute.employee_id,
                             due_at=now)  # fmt: skip
        self.alerts.upsert(alert, now, only_new=True)
