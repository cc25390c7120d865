"""Per-user throttling. API Gateway's HTTP API throttles per route and account, not per caller, so each caller's
requests are counted here: one conditional UpdateItem per request in a one-minute window. Over the limit: 429 with
Retry-After, and the route does not run. POSTs have their own, lower, limit (they move points)."""

from __future__ import annotations

from datetime import datetime

from shared.api.errors import TooManyRequests
from shared.api.principal import Principal
from shared.api.store import ApiStore

PER_MINUTE = 120
POSTS_PER_MINUTE = 20


def check(store: ApiStore, principal: Principal, method: str, now: datetime) -> None:
    window = int(now.timestamp()) // 60
    expires_at = (window + 2) * 60
    retry_after = (window + 1) * 60 - int(now.timestamp())
    if method in ('POST', 'PUT', 'DELETE', 'PATCH'):
        if not store.count(f'RL#{principal.subject}#w#{window}', POSTS_PER_MINUTE, expires_at):
            raise TooManyRequests(f'more than {POSTS_PER_MINUTE} changes a minute: try again in {retry_after} s', retry_after)
    elif not store.count(f'RL#{principal.subject}#{window}', PER_MINUTE, expires_at):
        raise TooManyRequests(f'more than {PER_MINUTE} requests a minute: try again in {retry_after} s', retry_after)
