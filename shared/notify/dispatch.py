"""Where an alert is sent: claim it, find the recipient and their channel, respect quiet hours, compose it in their
language, send it through Twilio (WhatsApp template, SMS) or SES (e-mail), and record the outcome on the alert.

One queued alert is one `deliver()`. Exactly once: the claim (a conditional write) lets one delivery through however
many times the scan queued it or SQS delivered it. What happens on failure:
- Twilio 429/20429/5xx are retried inside the messenger; when they persist the alert is released and the error raised,
  so SQS delivers it again and finally moves it to the alerts dead-letter queue (redrive from the SQS console);
- 21211 (invalid number) is recorded on the person's contact record and the alert goes by e-mail if it can;
- 21610 (the number sent STOP to Twilio) records the opt-out and the next channel is used;
- WhatsApp refused for good falls back to SMS at once; WhatsApp failing after acceptance (63016 in a status callback)
  falls back through `deliver_fallback`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.quiet_hours import deliver_at
from shared.alerts.store import AlertItem, AlertStore
from shared.directory.contacts import Contact, ContactBook
from shared.notify import EmailContent
from shared.notify.email import EmailNotSent
from shared.notify.messages import AlertText, ReminderFigures, alert_text, email_content, reminder_text
from shared.notify.messaging import INVALID_NUMBER, OPTED_OUT, MessageChannel, OutboundMessage, SendFailed
from shared.notify.routing import channels, unreachable_reason
from shared.sla.config import ServiceConfig


class Outcome(StrEnum):
    SENT = 'sent'
    DUPLICATE = 'duplicate'  # already claimed, sent, cancelled or not due: nothing done
    HELD = 'held'  # quiet hours: back in the due index
    SKIPPED = 'skipped'  # nobody reachable
    FAILED = 'failed'  # refused for good


@dataclass(frozen=True)
class DispatchResult:
    outcome: Outcome
    alert_id: str
    channel: str | None = None
    lateness_s: float | None = None
    detail: str = ''


class Messenger(Protocol):
    def send(self, message: OutboundMessage) -> Any: ...
    def send_with_fallback(self, whatsapp: OutboundMessage, sms_body: str | None) -> Any: ...


class EmailPort(Protocol):
    def __call__(self, to: str, content: EmailContent) -> str | None: ...


class PointsPort(Protocol):
    def balance(self, employee_id: str) -> Any: ...
    def points_between(self, employee_id: str, start: datetime, end: datetime) -> int: ...


@dataclass
class AlertDispatcher:
    alerts: AlertStore
    contacts: ContactBook
    messenger: Callable[[], Messenger]
    email: EmailPort
    config: Callable[[], ServiceConfig]
    ledger: PointsPort | None = None
    callback_base: str = ''
    wall: Callable[[], float] = time.time
    _contacts: dict[str, Contact | None] = field(default_factory=dict)

    def deliver(self, alert_id: str, scanned_at: datetime, queued_wall: float, claim_id: str) -> DispatchResult:
        """`scanned_at`: the scan's time (its schedule's clock); the delay since it was queued is added to it."""
        now = scanned_at + timedelta(seconds=max(self.wall() - queued_wall, 0.0))
        item = self.alerts.claim(alert_id, claim_id, now)
        if item is None:
            return DispatchResult(Outcome.DUPLICATE, alert_id)
        self._contacts.clear()
        subject = self._contact(item.subject)
        recipient = subject
        if item.role == Recipient.MANAGER.value:
            recipient = self._contact(subject.manager_id) if subject is not None and subject.manager_id else None
        if recipient is None or not recipient.active:
            reason = ('no manager in the directory' if item.role == Recipient.MANAGER.value and subject is not None
                      else unreachable_reason(recipient))  # fmt: skip
            self.alerts.record_final(alert_id, claim_id, Outcome.SKIPPED.value, reason, now)
            return DispatchResult(Outcome.SKIPPED, alert_id, detail=reason)

        config = self.config()
        if item.kind != AlertKind.DAILY_REMINDER.value:
            shift = config.calendar_for(recipient.location_id) if item.shift_only else None
            release = deliver_at(now, recipient.time_zone, config.alerts.quiet_hours, shift)
            if release > now + timedelta(seconds=1):
                self.alerts.hold(alert_id, claim_id, release, 'quiet hours' if shift is None else 'outside shift hours')
                return DispatchResult(Outcome.HELD, alert_id, detail=release.isoformat())

        text = self._compose(item, recipient, subject, config, now)
        template = config.alerts.template(AlertKind(item.kind), recipient.language)
        usable = channels(recipient, manager=item.role == Recipient.MANAGER.value, has_template=template is not None)
        if not usable:
            reason = unreachable_reason(recipient)
            self.alerts.record_final(alert_id, claim_id, Outcome.SKIPPED.value, reason, now)
            return DispatchResult(Outcome.SKIPPED, alert_id, detail=reason)
        callback = self._callback(alert_id)
        errors: list[str] = []
        last_code: int | None = None
        remaining = list(usable)
        while remaining:
            channel = remaining.pop(0)
            try:
                sid, status, sent_channel, fell_back = self._send(channel, recipient, text, template, callback, 'sms' in remaining)
            except SendFailed as failed:
                if failed.retryable:
                    self.alerts.release(alert_id, claim_id, str(failed))
                    raise
                self._learn(recipient, failed, now)
                errors.append(str(failed))
                last_code = failed.code
                if channel == 'whatsapp':  # the messenger already fell back to SMS where it could (not for 21211)
                    remaining = [other for other in remaining if other != 'sms']
                continue
            except EmailNotSent as failed:
                errors.append(str(failed))
                continue
            sent_now = scanned_at + timedelta(seconds=max(self.wall() - queued_wall, 0.0))
            lateness = (sent_now - item.due_at).total_seconds()
            self.alerts.record_sent(alert_id, claim_id, channel=sent_channel, recipient=recipient.employee_id, sid=sid, status=status,
                                    sent_at=sent_now, lateness_s=lateness, fell_back_from=fell_back)  # fmt: skip
            return DispatchResult(Outcome.SENT, alert_id, sent_channel, lateness)
        reason = '; '.join(errors)
        self.alerts.record_final(alert_id, claim_id, Outcome.FAILED.value, reason, now, last_code)
        return DispatchResult(Outcome.FAILED, alert_id, detail=reason)

    def deliver_fallback(self, alert_id: str) -> DispatchResult:
        """WhatsApp failed after Twilio accepted it (a status callback): the same alert by SMS, once."""
        item = self.alerts.get(alert_id)
        if item is None or item.status != 'sent' or item.fallback_sid:
            return DispatchResult(Outcome.DUPLICATE, alert_id)
        self._contacts.clear()
        subject = self._contact(item.subject)
        recipient = self._contact(item.recipient) if item.recipient else subject
        if recipient is None or not recipient.phone or recipient.invalid_phone or 'sms' in recipient.opted_out:
            return DispatchResult(Outcome.SKIPPED, alert_id, detail='no SMS route')
        now = datetime.now(UTC)
        text = self._compose(item, recipient, subject, self.config(), now)
        try:
            sms = OutboundMessage(to=recipient.phone, channel=MessageChannel.SMS, body=text.body, status_callback=self._callback(alert_id))
            delivery = self.messenger().send(sms)
        except SendFailed as failed:
            if failed.retryable:
                raise
            self._learn(recipient, failed, now)
            return DispatchResult(Outcome.FAILED, alert_id, 'sms', detail=str(failed))
        self.alerts.record_fallback(alert_id, str(delivery.sid), 'sms')
        return DispatchResult(Outcome.SENT, alert_id, 'sms')

    # --- parts ------------------------------------------------------------------------------------------
    def _callback(self, alert_id: str) -> str | None:
        """Where Twilio reports this alert's messages (the alert id travels in the URL Twilio signs)."""
        return f'{self.callback_base.rstrip("/")}/twilio/status?alert={quote(alert_id, safe="")}' if self.callback_base else None

    def _contact(self, employee_id: str | None) -> Contact | None:
        if not employee_id:
            return None
        if employee_id not in self._contacts:
            self._contacts[employee_id] = self.contacts.contact(employee_id)
        return self._contacts[employee_id]

    def _compose(self, item: AlertItem, recipient: Contact, subject: Contact | None, config: ServiceConfig, now: datetime) -> AlertText:
        if item.kind == AlertKind.DAILY_REMINDER.value:
            return reminder_text(recipient.language, recipient.first_name, self.reminder_figures(recipient, config, now))
        owner_name = subject.name if subject is not None and recipient.employee_id != subject.employee_id else None
        return alert_text(kind=item.kind, language=recipient.language, name=recipient.first_name, ref=item.ref, metric=item.metric,
                          threshold=item.threshold, due_at=item.threshold_at, zone=recipient.time_zone, owner_name=owner_name,
                          target_due_at=item.target_due_at)  # fmt: skip

    def reminder_figures(self, person: Contact, config: ServiceConfig, now: datetime) -> ReminderFigures:
        """Today's work for the daily reminder: open items, approvals, what falls due today, yesterday's breaches and points."""
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(person.time_zone)
        today = now.astimezone(zone).date()
        start_today = datetime.combine(today, datetime.min.time(), tzinfo=zone)
        start_yesterday, end_today = start_today - timedelta(days=1), start_today + timedelta(days=1)
        work = self.alerts.worklist(person.employee_id)
        due_today = sum(1 for w in work if any(m is not None and m < end_today for m in (w.sla_due_at, w.promised_at)))
        breaches = self.alerts.breaches_between(person.employee_id, start_yesterday, start_today)
        points = balance = 0
        if self.ledger is not None:
            balance = int(self.ledger.balance(person.employee_id).available)
            points = self.ledger.points_between(person.employee_id, start_yesterday, start_today)
        return ReminderFigures(
            open=len(work),
            jobs=sum(1 for w in work if w.kind == 'job_card'),
            approvals=sum(1 for w in work if w.approval_since is not None),
            due_today=due_today,
            breaches=breaches,
            points=points,
            balance=balance,
            targets=config.alerts.reminders.targets.get(person.role, ''),
        )

    def _send(
        self, channel: str, recipient: Contact, text: AlertText, template: str | None, callback: str | None, sms_usable: bool
    ) -> tuple[str, str, str, int | None]:
        if channel == 'email':
            assert recipient.email is not None
            message_id = self.email(recipient.email, email_content(text))
            if message_id is None:
                raise EmailNotSent('no sender identity configured (ALERT_EMAIL_FROM)')
            return message_id, 'sent', 'email', None
        assert recipient.phone is not None
        if channel == 'whatsapp':
            message = OutboundMessage(to=recipient.phone, channel=MessageChannel.WHATSAPP, content_sid=template, variables=text.variables,
                                      status_callback=callback)  # fmt: skip
            delivery = self.messenger().send_with_fallback(message, text.body if sms_usable else None)
        else:
            delivery = self.messenger().send(OutboundMessage(to=recipient.phone, channel=MessageChannel.SMS, body=text.body,
                                                             status_callback=callback))  # fmt: skip
        return str(delivery.sid), str(delivery.status), delivery.channel.value, delivery.fell_back_from

    def _learn(self, recipient: Contact, failed: SendFailed, now: datetime) -> None:
        """What a refusal teaches about the person: an invalid number, or an opt-out Twilio knows of."""
        if recipient.phone is None:
            return
        if failed.code == INVALID_NUMBER:
            self.contacts.record_invalid_number(recipient.employee_id, recipient.phone, INVALID_NUMBER, now)
        elif failed.code == OPTED_OUT:
            self.contacts.record_opt_out(recipient.employee_id, failed.channel.value, recipient.phone, 'twilio 21610', now)
