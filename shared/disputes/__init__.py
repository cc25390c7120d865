"""Disputes: an employee contests a ledger entry; a manager in scope accepts (an adjustment) or rejects it with a reason."""
