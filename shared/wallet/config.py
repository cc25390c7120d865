"""A program's wallet settings, part of the program document (`ProgramDocument.wallet`). The conversion rate is the
document's `points_per_currency_unit` and `currency`; the catalogue is its own versioned document
(shared/wallet/catalogue.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')


class PayoutConfig(_Model):
    """Cash through payroll: at the period end an export per program for SAP HR (personnel number, wage type, amount,
    currency, period, reference)."""

    wage_type: str = Field(pattern=r'^[A-Z0-9]{1,4}$', description="the SAP HR wage type (infotype 0015's LGART), e.g. 9PIN")
    min_points: int = Field(default=1, ge=1, description='a request for fewer points is refused')


class WalletConfig(_Model):
    # Redemptions charged to a location's monthly budget (in points); beyond it they wait in a queue. None: no cap.
    location_budget: int | None = Field(default=None, ge=0)
    budget_by_location: dict[str, int] = Field(default_factory=dict)
    # A clawback larger than what is available: `debt` records the rest as a debt recovered from later earnings (shown
    # on the statement); `write_off` forgives it (stated on the entry). The floor is the document's `floor`.
    below_floor: Literal['debt', 'write_off'] = 'debt'
    payout: PayoutConfig | None = None

    def budget_for(self, location_id: str) -> int | None:
        return self.budget_by_location.get(location_id, self.location_budget)
