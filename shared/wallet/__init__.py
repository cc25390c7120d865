"""The wallet: available points and their value, the catalogue per program and city, exactly-once redemptions
(reserve, fulfil, complete or refund), location budgets and their queue, clawback debt, and the payroll payout export."""
