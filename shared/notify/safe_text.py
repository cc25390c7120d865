"""Text that came from a sender, made fit to reach a person. Pure.

A ticket id, a subject, a customer's or an employee's name, a job card number, a vehicle registration, a line id, a
reason typed by a manager, an entry code typed into WhatsApp: none of it is Pitcrew's, and all of it ends up in SMS
bodies, WhatsApp template variables, e-mail subjects and bodies and TwiML replies. `clean` makes such a value safe:

- unicode normalised (NFKC: fullwidth `ｅｖｉｌ．ｃｏｍ` becomes `evil.com`, and is then caught below), except the
  ordinal indicators º and ª, which Spanish writes (1.º) and NFKC would turn into letters, and the ellipsis;
- format characters removed: bidi overrides and isolates (U+202A-202E, U+2066-2069), marks (U+200E/F, U+061C),
  zero-width characters (U+200B-200D, U+2060, U+FEFF), soft hyphens; private-use and surrogate code points too;
- control characters and line or paragraph breaks replaced by a space, and every run of white space collapsed to one
  space (a WhatsApp template variable may hold no newline, no tab and no more than 4 consecutive spaces);
- links neutralised: the scheme is dropped and every dot of a host name or IPv4 address is bracketed, so
  `http://evil.com/x` reads `evil[.]com/x`, `bit.ly/abc` reads `bit[.]ly/abc`, `www.x.org` reads `www[.]x[.]org`:
  no phone or mail client makes a link of it;
- cut to a length cap for the field, ending with an ellipsis (…).

How it is applied, so that a new message cannot forget it: every template is filled through `render`, which cleans
every value it is given (with the cap of the placeholder's name, `LIMITS`) unless the value is a `SafeText`: text
`clean` returned, or text Pitcrew composed itself from clean parts and marked with `ours` (a time, a list of lines).
Numbers pass as they are. Whatever leaves through a channel is checked once more where it leaves:
`whatsapp_variable` for each template variable, `one_line` for an e-mail subject (no CR/LF: no header injection).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

ELLIPSIS = '…'
DEFAULT_LIMIT = 80
# The cap of a value, by the name of the placeholder it fills (`render`), in characters after cleaning.
LIMITS: Mapping[str, int] = {
    'ref': 64,  # a ticket id, job card number, points entry code or a league and month, as people know it
    'name': 40,  # the person addressed (their first name)
    'owner': 60,  # whose team an alert is about
    'threshold': 300, 'share': 300, 'level': 300,  # an alert's detail: a dispute's reason, a league's result line
    'code': 24, 'dispute': 40, 'status': 24,  # an entry code typed into WhatsApp; a dispute id and its state
    'targets': 200,  # a role's day target (reminder settings)
    'names': 200, 'locations': 200,  # trophies or challenges, locations: joined
}  # fmt: skip
# WhatsApp template variables: Twilio accepts up to 1,600 characters and recommends under 250.
VARIABLE_LIMIT = 250
SUBJECT_LIMIT = 200
PRE_CUT_FACTOR = 4  # how much of a value is read, in caps: white space and invisible characters may shrink it

# Kept as they are by the normalisation (NFKC would make 1.º read 1.o, and the ellipsis of a cut value three dots).
_KEEP = re.compile('([\u00ba\u00aa\u2026])')
# Dots an IDN-aware client reads as a host's dot (NFKC folds U+FF0E, not these).
_DOTS = str.maketrans({'\u3002': '.', '\uff61': '.'})
_SPACE = re.compile(r'\s+')
_CONTROLS = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029]+')
_INVISIBLE = re.compile('[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]+')  # all format (Cf)
_SCHEME = re.compile(r'\b[a-z][a-z0-9+.\-]{0,30}:/+', re.IGNORECASE)
_WWW = re.compile(r'\bwww\d{0,3}\.', re.IGNORECASE)
# A host: labels of letters, digits and hyphens joined by dots, ending with a top-level label of letters (or punycode).
_HOST = re.compile(r'(?<![\w\-])(?:[^\W_](?:[\w\-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[\w\-]+)(?![\w\-])')
_IPV4 = re.compile(r'(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w])')


class SafeText(str):
    """Text fit to be put into a message as it is: what `clean` returned, or what Pitcrew composed (`ours`)."""

    __slots__ = ()


def ours(text: str) -> SafeText:
    """Mark text Pitcrew composed itself from its own wording and clean parts (a local time, a list of lines)."""
    return SafeText(text)


def _keep(char: str) -> str:
    category = unicodedata.category(char)
    if category in ('Cf', 'Co', 'Cs'):  # format (bidi, zero-width), private use, lone surrogates: dropped
        return ''
    if category in ('Cc', 'Zl', 'Zp'):  # control characters, line and paragraph separators: a space
        return ' '
    return char


def _defang(match: re.Match[str]) -> str:
    return match.group(0).replace('.', '[.]')


def neutralise_links(text: str) -> str:
    """`http://evil.com/x` -> `evil[.]com/x`; `bit.ly/a` -> `bit[.]ly/a`; `10.0.0.1` -> `10[.]0[.]0[.]1`."""
    if ':' in text:
        text = _SCHEME.sub('', text)
    if '.' not in text:  # every host and address has a dot
        return text
    text = _WWW.sub(_defang, text)
    text = _HOST.sub(_defang, text)
    return _IPV4.sub(_defang, text)


def cap(text: str, limit: int) -> str:
    """At most `limit` characters; a longer text is cut and ends with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def normalise(text: str) -> str:
    """NFKC, but for the characters in `_KEEP`."""
    return ''.join(part if _KEEP.fullmatch(part) else unicodedata.normalize('NFKC', part) for part in _KEEP.split(text))


def _printable(text: str) -> str:
    """Controls and separators a space, invisible characters gone (`str.isprintable` is the fast test for none)."""
    if text.isprintable():
        return text
    text = _INVISIBLE.sub('', _CONTROLS.sub(' ', text))  # the usual ones at C speed; anything else char by char
    return text if text.isprintable() else ''.join(_keep(char) for char in text)


def clean(value: object, limit: int = DEFAULT_LIMIT) -> SafeText:
    """A sender's value as it may appear in a message (see the module's docstring). None is the empty text."""
    if value is None:
        return SafeText('')
    whole = str(value)
    # Only the start of a long value can be shown: a megabyte of it costs no more than a few hundred characters.
    text = whole[: PRE_CUT_FACTOR * limit + 64]
    text = _SPACE.sub(' ', _printable(normalise(text).translate(_DOTS))).strip()
    text = cap(neutralise_links(text), limit)
    if len(text) < len(whole) and len(whole) > PRE_CUT_FACTOR * limit + 64 and not text.endswith(ELLIPSIS):
        text = cap(text, len(text) - 1) if len(text) >= limit else text + ELLIPSIS  # what was cut off shows as "…"
    return SafeText(text)


def render(template: str, /, **values: object) -> str:
    """`template.format(**values)` with every value cleaned, except `SafeText` and numbers."""
    return template.format_map({key: _value(key, value) for key, value in values.items()})


def _value(key: str, value: object) -> object:
    if isinstance(value, SafeText) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    return clean(value, LIMITS.get(key, DEFAULT_LIMIT))


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """An e-mail subject: no control character, no CR or LF (no header injection), no bidi override, capped."""
    text = _printable(normalise(text[: PRE_CUT_FACTOR * limit + 64]))
    return cap(_SPACE.sub(' ', text).strip(), limit)


def whatsapp_variable(text: str) -> str:
    """A WhatsApp template variable: one line, single spaces, at most `VARIABLE_LIMIT` characters, never empty."""
    return one_line(text, VARIABLE_LIMIT) or '-'


def whatsapp_variables(values: Mapping[str, str]) -> dict[str, str]:
    return {key: whatsapp_variable(value) for key, value in values.items()}
