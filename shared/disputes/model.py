"""A dispute of one ledger entry, and the short code an employee types to name the entry (pure).

Entry code: the entry id's first 8 characters, upper-case (`E3F9A0C1`). Entry ids are one letter and hex digits, so
the code is the start of the id, and the ledger finds it with a prefix Query of the employee's own entries. Among one
person's entries two ids can share 8 characters (rarely); `entry_codes` lengthens the codes of such a set until each is
unique, and a longer code is always accepted. The statement prints these codes.

One dispute per entry: the dispute id is derived from the entry id, so a second filing of the same entry is the same
item and is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.ledger.approvals import Actor

CODE_LENGTH = 8
MAX_COMMENT = 500


def entry_code(entry_id: str) -> str:
    """The short code printed beside an entry on the statement and typed after DISPUTE."""
    return entry_id[:CODE_LENGTH].upper()


def entry_codes(entry_ids: Iterable[str]) -> dict[str, str]:
    """Codes for a set of entries (one person's statement), each lengthened until no other entry of the set shares it."""
    ids = sorted(set(entry_ids))
    codes: dict[str, str] = {}
    for entry_id in ids:
        length = CODE_LENGTH
        while length < len(entry_id) and any(other != entry_id and other[:length].upper() == entry_id[:length].upper() for other in ids):
            length += 1
        codes[entry_id] = entry_id[:length].upper()
    return codes


def id_prefix(code: str) -> str:
    """The entry-id prefix a typed code stands for: the letter upper-case, the hex digits lower-case."""
    code = code.strip()
    return code[:1].upper() + code[1:].lower()


def dispute_id_for(entry_id: str) -> str:
    return 'D' + hashlib.sha256(f'dispute|{entry_id}'.encode()).hexdigest()[:12].upper()


class DisputeStatus(StrEnum):
    OPEN = 'open'
    ACCEPTED = 'accepted'
    REJECTED = 'rejected'


class HistoryEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    event: str  # filed | accepted | rejected | notified
    by: str  # an employee id, an IAM ARN, or console (CloudTrail requestID ...)
    note: str | None = None


class Dispute(BaseModel):
    model_config = ConfigDict(frozen=True)

    dispute_id: str
    entry_id: str
    entry_code: str
    employee_id: str
    entry_amount: int
    entry_rule: str
    comment: str = Field(max_length=MAX_COMMENT)
    channel: str  # whatsapp | sms | api
    filed_at: datetime
    status: DisputeStatus = DisputeStatus.OPEN
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    adjustment_id: str | None = None
    adjustment_points: int | None = None
    adjustment_status: str | None = None  # applied | requested (waits for a second person's approval)
    history: tuple[HistoryEvent, ...] = ()
    location_id: str | None = None  # the employee's location when filed (the team list's `disputes_by_location` index)


class DisputeRefused(Exception):
    """A filing or decision that must not happen; nothing is written. `code` is stable for callers and replies."""

    def __init__(self, code: str, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.details = details
