"""Where a message to a person leaves Pitcrew (today: the admin digest e-mail through Amazon SES, in
`shared.notify.email`). What a message says is decided elsewhere, by pure code, as an `EmailContent`."""

from __future__ import annotations

from dataclasses import dataclass

from shared.notify.safe_text import one_line


@dataclass(frozen=True)
class EmailContent:
    """A plain-text e-mail (never HTML: nothing in it is markup). The subject is one line whatever it was given: no CR or
    LF reaches the header (`shared.notify.safe_text.one_line`); the text's sender values were cleaned when it was rendered."""

    subject: str
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, 'subject', one_line(self.subject))
