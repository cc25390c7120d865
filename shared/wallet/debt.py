"""Clawback debt: a reversal (or penalty) larger than what is available takes the balance to zero, and the rest is
owed, then repaid from later earnings. Pure: no storage here (the writes: shared/wallet/debt_store.py).

- Recording: `shared.ledger.store.cap_debits` caps the debit and, when the entry's program says `wallet.below_floor:
  debt` (the default of a program with a wallet), states the rest as `debt_points` on the entry; the balance update of
  the same transaction adds it to the balance item's `debt` (with `debt_entries`, the owing entries, and
  `debt_program`). `write_off` (or a program without a wallet) forgives it: stated on the entry only, as before.
- Recovery: no ledger writer has to know about debts. The balances table's stream (NEW_IMAGE), filtered by the event
  source mapping to images with `debt > 0 AND available > 0` (every other balance change costs nothing), feeds
  functions/debt_recovery, which writes one DEBT_RECOVERY entry of -min(debt, available - floor) with the balance
  update `ADD available :-x, debt :-x`, chained and conditioned like every ledger write. Its id comes from the
  balance image that triggered it (the chain seq), so a record delivered twice writes once; and the debt counter
  itself is conditioned (`debt >= :x`), so nothing is ever recovered twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry

if TYPE_CHECKING:
    from shared.programs.loader import ProgramBook

RULE_ID = 'debt_recovery'


def program_id_of(ref: str) -> str:
    return ref.rsplit('@', 1)[0]


def records_debt(book: ProgramBook, entry: LedgerEntry) -> bool:
    """Whether the entry's program records a debt below the floor (`wallet.below_floor == 'debt'`). A program without
    a wallet section spends nothing, so a clawback there is written off as it always was."""
    version = book.latest(program_id_of(entry.reason.program_id))
    wallet = version.document.wallet if version is not None else None
    return wallet is not None and wallet.below_floor == 'debt'


def floor_of(book: ProgramBook, program_ref: str) -> int:
    """The balance floor recovery stops at: the program's `floor` (never below zero: a debt is not repaid with another)."""
    version = book.latest(program_id_of(program_ref))
    return max(int(version.document.floor), 0) if version is not None else 0


def program_debt_policy(programs: Callable[[], ProgramBook] | None = None) -> Callable[[LedgerEntry], bool]:
    """The LedgerStore's policy: the programs in force (read when a debit is capped, cached per warm container)."""

    def policy(entry: LedgerEntry) -> bool:
        from shared.programs.loader import load_programs

        return records_debt((programs or load_programs)(), entry)

    return policy


@dataclass(frozen=True)
class DebtState:
    """What the balance item says now (one consistent read)."""

    employee_id: str
    available: int
    debt: int
    debt_entries: tuple[str, ...] = ()
    program_ref: str = 'default'

    @property
    def owes(self) -> bool:
        return self.debt > 0


def recovery_id_for(employee_id: str, trigger: str) -> str:
    """Deterministic: the employee and the balance change (its chain seq) that made the recovery possible."""
    return f'D{hashlib.sha256(f"debt_recovery|{employee_id}|{trigger}".encode()).hexdigest()[:32]}'


def plan_recovery(state: DebtState, floor: int, trigger: str, now: datetime) -> LedgerEntry | None:
    """The DEBT_RECOVERY entry that repays what can be repaid now: min(debt, available - floor); None when nothing can."""
    take = min(state.debt, state.available - max(floor, 0))
    if state.debt <= 0 or take <= 0:
        return None
    left = state.debt - take
    owing = ', '.join(state.debt_entries) or 'an earlier clawback'
    note = (f'repays {take} of the {state.debt} points owed since clawback {owing}; '
            + (f'{left} points still owed' if left else 'debt cleared'))
    reason = EntryReason(
        ticket_key=f'debt#{state.employee_id}',
        source_event_id=f'balance:{trigger}',
        basis_event_id=','.join(state.debt_entries)[:400] or 'debt',
        rule_id=RULE_ID,
        rule_version=1,
        program_id=state.program_ref,
        inputs={'debt_before': state.debt, 'recovered': take, 'debt_left': left, 'available_before': state.available,
                'floor': max(floor, 0), 'debt_entries': ','.join(state.debt_entries)[:400]},
        note=note,
    )
    return LedgerEntry(entry_id=recovery_id_for(state.employee_id, trigger), employee_id=state.employee_id, amount=-take,
                       kind=EntryKind.DEBT_RECOVERY, status=EntryStatus.AVAILABLE, reason=reason, occurred_at=now, recorded_at=now)


def wants_recovery(new_image: dict[str, dict[str, str]]) -> bool:
    """The event filter, again in code (a replayed or unfiltered record): the image owes and has points."""
    def number(name: str) -> int:
        value = new_image.get(name, {}).get('N')
        return int(value) if value is not None else 0

    return number('debt') > 0 and number('available') > 0
