"""The languages Pitcrew speaks to people in: one list, imported by the directory (what a person's `language` may be),
the alert settings (which WhatsApp templates may be configured) and every table of texts (alerts, replies, league
results, recognition, spot awards, collusion checks, nudges, redemptions). Pure.

A table of texts has an entry for each of these languages with the same placeholders (tests/unit/notify/test_languages.py
holds every table to it); a person whose language is none of them reads English.

Numbers: 1,240 in English and Hindi; 1.240 in Spanish and Indonesian, whose decimal mark is the comma (4,5).
"""

from __future__ import annotations

LANGUAGES = ('en', 'es', 'hi', 'id')
DEFAULT = 'en'
# Languages that group thousands with '.' and mark decimals with ','.
DECIMAL_COMMA = frozenset({'es', 'id'})


def supported(code: str | None) -> str:
    """The language code as the texts know it (case and blanks ignored); English when Pitcrew has no texts for it."""
    code = (code or '').strip().lower()
    return code if code in LANGUAGES else DEFAULT


def grouped(language: str | None, value: int | float, decimals: int = 1) -> str:
    """`value` with its thousands grouped as the language writes them: 1,240 / 1.240; 66.7 / 66,7 (whole numbers
    without decimals, others with `decimals` places)."""
    text = f'{int(value):,}' if float(value).is_integer() else f'{value:,.{decimals}f}'
    return text.translate(str.maketrans(',.', '.,')) if supported(language) in DECIMAL_COMMA else text
