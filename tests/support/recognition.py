"""Recognitions for tests: the two shipped programs, people in their scope, and a recognition written through the
store exactly as the use case writes it (without reading the directory)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shared.ledger.chain import ChainHead
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook
from shared.recognition.give import Candidate, Given, GiveRequest, GiveResult, Member, plan_give
from shared.recognition.store import RecognitionStore

EVENTS = Path(__file__).resolve().parents[2] / 'events'
WORKSHOP = parse_program((EVENTS / 'program_workshop.json').read_text())
SUPPORT = parse_program((EVENTS / 'program_support.json').read_text())


def book() -> ProgramBook:
    return ProgramBook.of(WORKSHOP, SUPPORT)


def technician(employee_id: str, manager_id: str = 'M2', location_id: str = 'IN-BLR-01', language: str = 'en') -> Member:
    return Member(employee_id, name=f'{employee_id} Person', role='technician', location_id=location_id, manager_id=manager_id,
                  language=language)  # fmt: skip


def seed_recognition(store: RecognitionStore, giver: Member, receiver: Member, now: datetime, *, points: int = 20,
                     message: str = 'thanks for the help', key: str = 'seed-1') -> GiveResult:  # fmt: skip
    request = GiveRequest(giver_id=giver.employee_id, receiver_id=receiver.employee_id, points=points, message=message,
                          value='teamwork', idempotency_key=key)  # fmt: skip
    plan = plan_give(request, Candidate(1, WORKSHOP), giver, receiver, Given(), now)
    return store.write(plan, ChainHead(), now)
