"""The local fake provider: deterministic voucher codes (a hash of the redemption id, so fulfilling twice gives the same
code), valid a year; failures on demand for tests: `FakeProvider(fail={'item_id': ProviderFailed(...)})` or
`fail_all`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from shared.wallet.providers.base import Fulfilment, ProviderFailed

if TYPE_CHECKING:
    from shared.wallet.redeem import Redemption


@dataclass
class FakeProvider:
    name: str = 'fake'
    fail: dict[str, ProviderFailed] = field(default_factory=dict)  # item_id -> the failure to raise
    fail_all: ProviderFailed | None = None
    calls: list[str] = field(default_factory=list)

    def fulfil(self, redemption: Redemption) -> Fulfilment:
        self.calls.append(redemption.redemption_id)
        failure = self.fail_all or self.fail.get(redemption.item_id)
        if failure is not None:
            raise failure
        digest = hashlib.sha256(f'fake-voucher|{redemption.redemption_id}'.encode()).hexdigest().upper()
        code = '-'.join(digest[i : i + 4] for i in range(0, 16, 4))
        return Fulfilment(reference=f'FAKE-{redemption.redemption_id[:12]}', code=code,
                          expires=redemption.requested_at + timedelta(days=365))  # fmt: skip
