"""Where a message to a person leaves Pitcrew (today: the admin digest e-mail through Amazon SES, in
`shared.notify.email`). What a message says is decided elsewhere, by pure code, as an `EmailContent`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
