"""What Pitcrew does with what Twilio tells it (after the signature is verified):

- a delivery status callback is stored on its alert (history, and the current status moving only forward); a WhatsApp
  message that fails after Twilio accepted it (63016: outside the 24-hour window without a template, and the like)
  queues the SMS fallback once; 21610 records an opt-out and 21211 an invalid number on the person's record;
- an inbound message from a number in the directory gets an answer in the person's language: POINTS (balance and
  pending), RANK (their live place in each league they are in: shared/leagues/standings.py), TODAY (open items),
  DISPUTE <entry code> <text> (shared/disputes), HELP, STOP/START (recorded per channel). A number not in the directory,
  or shared by several people, gets one fixed polite reply and nothing else: no data reaches an unknown phone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from xml.sax.saxutils import escape

from shared.alerts.scan import AlertMessage, BodyQueue
from shared.alerts.store import AlertStore, WorkItem
from shared.directory.contacts import Contact, ContactBook
from shared.notify.dispatch import PointsPort
from shared.notify.languages import grouped
from shared.notify.messages import RankLine, TodayItem, dispute_status, rank_text, reply, today_text
from shared.notify.messaging import INVALID_NUMBER, OPTED_OUT
from shared.notify.safe_text import ours
from shared.notify.twilio_webhooks import Command, InboundMessage, StatusUpdate

FAILED = ('failed', 'undelivered')
TODAY_ITEMS = 5
# A refusal's reply; someone else's entry is answered as an unknown one (a code never tells whose entry it is).
DISPUTE_REPLIES = {'usage': 'dispute_usage', 'no_comment': 'dispute_no_comment', 'unknown_entry': 'dispute_unknown_entry',
                   'not_yours': 'dispute_unknown_entry', 'ambiguous': 'dispute_ambiguous',
                   'already_disputed': 'dispute_already_disputed'}  # fmt: skip


class DisputesPort(Protocol):
    def file(self, employee_id: str, code: str, comment: str, channel: str, now: datetime, location_id: str | None = None) -> Any: ...


class NudgePort(Protocol):
    """A manager's YES or amount answering their open nudge (shared/recognition/nudge_service.py): the reply, or None when
    the message is no such answer (then YES keeps its Twilio meaning, START)."""

    def answer(self, manager: Contact, body: str, channel: str, message_id: str, now: datetime) -> str | None: ...


class RecognitionPort(Protocol):
    """THANKS <employee code> <points> <message> #value: the reply in the giver's language (shared.recognition.service)."""

    def command(self, giver_id: str, language: str, body: str, message_sid: str, channel: str, now: datetime) -> str: ...


class LeaguesPort(Protocol):
    def rank_lines(self, employee_id: str, role: str | None, location_id: str | None, now: datetime) -> list[RankLine]: ...


def twiml(text: str | None) -> str:
    """A TwiML answer: one reply message, or none."""
    inner = f'<Message>{escape(text)}</Message>' if text else ''
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'


@dataclass
class Conversations:
    alerts: AlertStore
    contacts: ContactBook
    queue: BodyQueue
    ledger: PointsPort | None = None
    disputes: DisputesPort | None = None
    leagues: LeaguesPort | None = None
    nudges: NudgePort | None = None
    recognition: RecognitionPort | None = None
    wall: Callable[[], float] = time.time

    def status(self, alert_id: str, update: StatusUpdate, now: datetime) -> str:
        item = self.alerts.record_status(alert_id, update.message_sid, update.status, update.error_code, now)
        if item is None:
            return 'unknown message'
        if item.recipient and update.error_code == OPTED_OUT:
            self.contacts.record_opt_out(item.recipient, update.channel, update.to, 'twilio 21610 (status callback)', now)
        elif item.recipient and update.error_code == INVALID_NUMBER:
            self.contacts.record_invalid_number(item.recipient, update.to, INVALID_NUMBER, now)
        whatsapp_failed = update.status in FAILED and update.message_sid == item.message_sid and item.channel == 'whatsapp'
        if whatsapp_failed and update.error_code != INVALID_NUMBER and self.alerts.claim_fallback(alert_id, now):
            self.queue.send_bodies([AlertMessage(alert=alert_id, at=now, queued=self.wall(), fallback='sms').model_dump_json()])
            return 'sms fallback queued'
        return 'recorded'

    def inbound(self, message: InboundMessage, now: datetime) -> str | None:
        """The reply text (None: no reply, e.g. an SMS STOP, which Twilio itself confirms)."""
        people = self.contacts.employees_with_phone(message.sender)
        person = self.contacts.contact(people[0]) if len(people) == 1 else None
        if person is None or not person.active:
            return reply('en', 'unknown_sender')
        channel = 'whatsapp' if message.channel == 'whatsapp' else 'sms'
        language = person.language
        if message.command is Command.STOP:
            self.contacts.record_opt_out(person.employee_id, channel, message.sender, f'inbound {message.body[:20]!r}', now)
            return None if channel == 'sms' else reply(language, 'stop', channel='WhatsApp')
        if self.nudges is not None and message.command in (Command.START, Command.UNKNOWN):  # YES, or a bare amount
            answered = self.nudges.answer(person, message.body, channel, message.message_sid, now)
            if answered is not None:
                return answered
        if message.command is Command.START:
            self.contacts.record_opt_in(person.employee_id, channel, now)
            return None if channel == 'sms' else reply(language, 'start', channel='WhatsApp')
        if message.command is Command.RANK and self.leagues is not None:
            lines = self.leagues.rank_lines(person.employee_id, person.role, person.location_id, now)
            if lines:  # else: no league admits the person (the reply below says leagues have not started)
                return rank_text(language, lines)
        if message.command is Command.POINTS or message.command is Command.RANK:
            balance = self.ledger.balance(person.employee_id) if self.ledger is not None else None
            available = int(balance.available) if balance is not None else 0
            pending = int(balance.pending) if balance is not None else 0
            return reply(language, 'points' if message.command is Command.POINTS else 'rank', available=ours(grouped(language, available)),
                         pending=ours(grouped(language, pending)))  # fmt: skip
        if message.command is Command.TODAY:
            return self._today(person)
        if message.command is Command.DISPUTE and self.disputes is not None:
            return self._dispute(person, message.body, channel, now)
        if message.command is Command.THANKS and self.recognition is not None:
            return self.recognition.command(person.employee_id, language, message.body, message.message_sid, channel, now)
        return reply(language, 'help')

    def _dispute(self, person: Contact, body: str, channel: str, now: datetime) -> str:
        """File the dispute and answer in the person's language: its id, or why it was refused (nothing written)."""
        from shared.disputes.model import DisputeRefused
        from shared.disputes.workflow import parse_command

        code, comment = parse_command(body)
        assert self.disputes is not None
        try:
            dispute = self.disputes.file(person.employee_id, code, comment, channel, now, location_id=person.location_id or '')
        except DisputeRefused as refused:
            values = {'code': refused.details.get('entry_code', code.upper()), 'dispute': refused.details.get('dispute', ''),
                      'status': dispute_status(person.language, str(refused.details.get('status', '')))}  # fmt: skip
            return reply(person.language, DISPUTE_REPLIES.get(refused.code, 'dispute_usage'), **values)
        points = f'{dispute.entry_amount:+d}'
        return reply(person.language, 'dispute_filed', dispute=dispute.dispute_id, code=dispute.entry_code, points=points)

    def _today(self, person: Contact) -> str:
        items = [TodayItem(w.ref, _next_moment(w), w.approval_since is not None, w.kind == 'job_card')
                 for w in self.alerts.worklist(person.employee_id)]  # fmt: skip
        return today_text(person.language, person.time_zone, items, TODAY_ITEMS)


def _next_moment(work: WorkItem) -> datetime | None:
    moments = [moment for moment in (work.sla_due_at, work.promised_at) if moment is not None]
    return min(moments) if moments else None
