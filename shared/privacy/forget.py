"""Forgetting a person who has left: what is erased, what is kept, and how a quarantined payload is recognised as theirs.

Pure: no storage here (`shared.privacy.erase` reads and writes through the table stores).

Erased (contact data and free text):
- the directory profile's name (replaced by the pseudonym), phone, WhatsApp opt-in, e-mail, preferred channel and
  helpdesk agent ids, and the agent-id mapping items (their keys can be e-mail addresses);
- the contact record (opt-outs and invalid-number reports hold the phone number): deleted;
- the person's worklist and SLA-breach items in the alerts table (ticket refs, which are sender text): deleted.
  Alert items themselves hold employee ids, ticket refs, statuses and masked reasons, never a phone, an e-mail or
  a message body: they expire after 180 days;
- quarantined payloads and events that mention the person (name, e-mail, phone, employee id or an agent id that is
  not a bare number), within the quarantine's retention window: body, event and query string removed, the reason
  replaced when it names them; the item's metadata (source, status, size, SHA-256, field) stays.

- the messages of the recognitions the person gave or received (free text that may name them): blanked in the
  recognition record and its feed items, found through the person's index partition in RecognitionTable
  (`WHO#<id>`), whose items are then deleted. The ids, points, value tag and month stay (the ledger's facts), and
  the feed shows the pseudonym (names come from the profile). Left: the first 200 characters of the message in the
  receiver's RECOGNITION ledger entry (append-only and hashed), and the giver's first name and the message excerpt in
  the receiver's notice alert item until it expires (180 days).

Kept, under the employee id and the pseudonym: the ledger (append-only: entries name the employee id, tickets, rules
and scalar KPI inputs, never a name or a contact), balances, league scores and results, the profile's role,
location, region, job grade and manager (other people's manager chains keep the id). Statements and league
summaries read the profile's name, so they show the pseudonym.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PSEUDONYM_PREFIX = 'former-'
MIN_NEEDLE = 5  # shorter identifiers (a two-letter name, agent id 42) would match unrelated payloads
ERASED_REASON = 'erased: the reason named a forgotten person'


def pseudonym(employee_id: str) -> str:
    """A stable stand-in for the person's name: the same for every run (so a second run changes nothing)."""
    return PSEUDONYM_PREFIX + hashlib.sha256(employee_id.encode()).hexdigest()[:10]


class ForgetRequest(BaseModel):
    """The console event (events/forget.json)."""

    model_config = ConfigDict(extra='forbid', str_strip_whitespace=True)

    employee_id: str = Field(min_length=1, max_length=64)
    dry_run: bool = Field(default=False, description='list what would be erased; write nothing')
    quarantine_days: int = Field(default=30, ge=1, le=400, description='days of quarantine searched, newest first')
    requested_by: str | None = Field(default=None, max_length=256, description='a label for the audit record')


@dataclass(frozen=True)
class Identifiers:
    """What identifies the person in text they did not write for us (webhook bodies, queued events)."""

    employee_id: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    agent_keys: tuple[str, ...] = ()

    def needles(self) -> tuple[str, ...]:
        """Lower-cased strings whose presence in a payload ties it to the person (weak ones left out)."""
        candidates = [self.employee_id, self.name, self.email, *self.agent_keys]
        strong = {c.strip().lower() for c in candidates if c and len(c.strip()) >= MIN_NEEDLE and not c.strip().isdigit()}
        return tuple(sorted(strong))

    def phone_digits(self) -> str | None:
        digits = re.sub(r'\D', '', self.phone or '')
        return digits if len(digits) >= 8 else None


def mentions(text: str, identifiers: Identifiers) -> bool:
    """True when the text names the person: a needle as a whole token (case-insensitive), or the phone's digits
    whatever the separators ('+1 (415) 555-0123')."""
    lowered = text.lower()
    for needle in identifiers.needles():
        if re.search(rf'(?<![\w@.+-]){re.escape(needle)}(?![\w@-])', lowered):
            return True
    digits = identifiers.phone_digits()
    return bool(digits) and any(digits in run for run in re.findall(r'\d+', re.sub(r'[\s().-]', '', text)))


@dataclass
class ErasureReport:
    """What a forget did (or, dry, would do): counts per table, and the quarantine ids (no personal data)."""

    employee_id: str
    pseudonym: str
    dry_run: bool
    profile_fields: list[str] = field(default_factory=list)  # attribute names erased on the profile
    mappings: int = 0
    contact_record: int = 0
    worklist: int = 0
    breaches: int = 0
    quarantine_ids: list[str] = field(default_factory=list)
    quarantine_searched: int = 0
    redemptions: int = 0  # redemptions whose voucher code, notes and failure reason were erased
    days_searched: int = 0
    spot_awards: int = 0  # spot award records (and their feed items) naming the person
    nudges: int = 0  # recognition table: nudges about them or to them, CSAT runs, day counters (shared/recognition)
    recognitions: int = 0  # recognitions given or received whose message was blanked (shared.recognition.store)
    kiosk_pin: int = 0  # the API table's kiosk PIN hash and lockout of the person (shared/api/store.py), deleted
    login: int = 0  # the person's login in the people user pool (Cognito keeps their e-mail), deleted

    @property
    def changes(self) -> int:
        return (len(self.profile_fields) + self.mappings + self.contact_record + self.worklist + self.breaches
                + len(self.quarantine_ids) + self.spot_awards + self.nudges + self.recognitions + self.redemptions
                + self.kiosk_pin + self.login)  # fmt: skip

    def counts(self) -> dict[str, int]:
        return {
            'directory_profile_fields': len(self.profile_fields),
            'directory_mappings': self.mappings,
            'directory_contact_record': self.contact_record,
            'alerts_worklist': self.worklist,
            'alerts_breaches': self.breaches,
            'quarantine_items': len(self.quarantine_ids),
            'recognition_spot_awards': self.spot_awards,
            'recognition_nudges': self.nudges,
            'recognition_items': self.recognitions,
            'rewards_redemptions': self.redemptions,
            'api_kiosk_pin': self.kiosk_pin,
            'cognito_login': self.login,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            'employee_id': self.employee_id,
            'pseudonym': self.pseudonym,
            'dry_run': self.dry_run,
            'changed': self.changes > 0,
            'counts': self.counts(),
            'profile_fields': sorted(self.profile_fields),
            'quarantine_ids': sorted(self.quarantine_ids),
            'quarantine_searched': {'days': self.days_searched, 'items': self.quarantine_searched},
        }
