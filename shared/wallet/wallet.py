"""The wallet view: what a person can spend and what it is worth.

`available` points are spendable (the balance item's `available`); `pending` are earned but inside their hold window
(the pending view); `debt` is a clawback that could not be taken from the balance, recovered from later earnings (the
balance item's `debt`, written with the capped clawback; absent: 0). Only available points can be redeemed, and nothing
while a debt is owed: the debt recovery (shared/wallet/debt.py) repays it from the next points within seconds of their
arrival, and a redemption's debit is conditioned on no debt, so a spend can never jump ahead of the repayment. The value is at the
program's conversion rate: points / `points_per_currency_unit`, in its `currency`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shared.programs.document import ProgramDocument


@dataclass(frozen=True)
class WalletView:
    employee_id: str
    program_id: str
    available: int
    pending: int
    debt: int
    currency: str
    points_per_currency_unit: float
    value: float  # available points in the currency
    pending_value: float

    @property
    def spendable(self) -> int:
        return 0 if self.debt > 0 else max(self.available, 0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {'spendable': self.spendable}


def value_of(points: int, program: ProgramDocument) -> float:
    return round(points / program.points_per_currency_unit, 2)


def wallet_view(employee_id: str, program: ProgramDocument, *, available: int, pending: int, debt: int = 0) -> WalletView:
    return WalletView(employee_id=employee_id, program_id=program.program_id, available=available, pending=pending, debt=debt,
                      currency=program.currency, points_per_currency_unit=program.points_per_currency_unit,
                      value=value_of(max(available, 0), program), pending_value=value_of(pending, program))  # fmt: skip


def read_wallet(employee_id: str, program: ProgramDocument, *, ledger: Any) -> WalletView:
    """The view from the balance item (one consistent GetItem: available, debt) and the pending view (one Query)."""
    from shared.ledger.entry_writes import employee_pk

    item = ledger.client.get_item(TableName=ledger.balances.Meta.table_name, Key={'pk': {'S': employee_pk(employee_id)}},
                                  ConsistentRead=True, ProjectionExpression='available, debt').get('Item') or {}  # fmt: skip
    available = int(item.get('available', {}).get('N', 0))
    debt = int(item.get('debt', {}).get('N', 0))
    return wallet_view(employee_id, program, available=available, pending=ledger.pending_points(employee_id), debt=debt)
