"""The provider adapter interface: what fulfils a catalogue item (a voucher code, a fuel card top-up, a donation).

A provider gets the redemption and returns a `Fulfilment` (its own reference, the code or voucher the person receives,
when it expires), or raises `ProviderFailed(reason, retryable)`. A retryable failure is tried again (the SQS message
comes back); a final one refunds the points. `fulfil` must be idempotent on `redemption.redemption_id` (the same
redemption fulfilled twice gives the same voucher): a message can be delivered twice, and the worker may fail after the
provider answered. Real providers pass the redemption id as their idempotency key.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from shared.wallet.redeem import Redemption


class Fulfilment(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    reference: str = Field(min_length=1, max_length=200, description="the provider's own reference")
    code: str | None = Field(default=None, max_length=200, description='the voucher or card code the person receives')
    expires: datetime | None = None
    note: str | None = Field(default=None, max_length=300)


class ProviderFailed(Exception):
    def __init__(self, reason: str, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Provider(Protocol):
    name: str

    def fulfil(self, redemption: Redemption) -> Fulfilment: ...
