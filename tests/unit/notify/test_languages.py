"""Every table of texts speaks every language of shared/notify/languages.py, with the same placeholders (pure).

A table found in a text module (any module-level dict keyed by language codes) must have an entry for each language; where
an entry is a template, each language's template must name the same placeholders as the English one: a missing language
or a dropped or misspelled placeholder fails here, not in a person's phone.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.notify.languages import DECIMAL_COMMA, LANGUAGES, grouped, supported

ROOT = Path(__file__).resolve().parents[3]
# The modules that hold what Pitcrew says to people (a new one is found by its name, *texts.py, or listed here).
TEXT_MODULES = sorted(
    {str(path.relative_to(ROOT).with_suffix('')).replace('/', '.') for path in (ROOT / 'shared').rglob('*texts.py')}
    | {'shared.notify.messages', 'shared.notify.twilio_webhooks'}
)


def language_tables() -> Iterator[tuple[str, dict[str, Any]]]:
    """(module.NAME, table) for every module-level dict of a text module whose keys are language codes."""
    for name in TEXT_MODULES:
        module: ModuleType = import_module(name)
        for attribute, value in vars(module).items():
            if isinstance(value, dict) and value and 'es' in value and all(isinstance(k, str) and len(k) == 2 for k in value):
                yield f'{name}.{attribute}', value


TABLES = dict(language_tables())


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def test_the_text_modules_and_their_tables_are_found() -> None:
    # Given the text modules of shared/
    # Then the scan finds each of them and the tables of every message family (a renamed table would drop out here)
    assert {'shared.recognition.texts', 'shared.recognition.spot_texts', 'shared.recognition.collusion_texts',
            'shared.recognition.nudge_texts', 'shared.leagues.announce_texts', 'shared.wallet.texts'} <= set(TEXT_MODULES)  # fmt: skip
    assert {'shared.notify.messages.ALERT_TEXTS', 'shared.notify.messages.REPLIES', 'shared.notify.messages.REMINDER_TEXTS',
            'shared.notify.messages.METRIC_NAMES', 'shared.notify.messages.MONTHS', 'shared.notify.messages.DISPUTE_STATUS',
            'shared.notify.twilio_webhooks.KEYWORDS', 'shared.leagues.announce_texts.TEXTS', 'shared.wallet.texts.TEXTS',
            'shared.recognition.texts.NOTICE', 'shared.recognition.texts.REFUSALS', 'shared.recognition.texts.REPLIES',
            'shared.recognition.spot_texts.TEXTS', 'shared.recognition.collusion_texts.TEXTS', 'shared.recognition.nudge_texts.EVIDENCE',
            'shared.recognition.nudge_texts.REPLIES'} <= set(TABLES)  # fmt: skip


@pytest.mark.parametrize('table', sorted(TABLES))
def test_every_table_speaks_every_language_with_the_same_placeholders(table: str) -> None:
    # Given a table of texts keyed by language
    by_language = TABLES[table]
    english = by_language['en']

    # Then it has exactly the supported languages
    assert tuple(sorted(by_language)) == tuple(sorted(LANGUAGES)), table
    for language in LANGUAGES:
        texts = by_language[language]
        # And each language has the English entries (the same keys, the same number of month names...)
        if isinstance(english, dict):
            assert set(texts) == set(english), (table, language, set(english) ^ set(texts))
            pairs = [(key, english[key], texts[key]) for key in english]
        elif isinstance(english, tuple):
            assert len(texts) == len(english), (table, language)
            pairs = list(zip(range(len(english)), english, texts, strict=True))
        else:
            pairs = [('', english, texts)]
        # And every template names the same placeholders as the English one, and none is empty
        for key, en, text in pairs:
            if isinstance(en, str):
                assert isinstance(text, str) and (text or not en), (table, language, key)
                assert placeholders(text) == placeholders(en), (table, language, key)
            elif isinstance(en, tuple):  # command keywords: each command has at least one word in every language
                assert text, (table, language, key)


def test_there_is_one_list_of_languages() -> None:
    # Given every Python module of shared/ and functions/
    sources = [path for folder in ('shared', 'functions') for path in (ROOT / folder).rglob('*.py')]
    # Then only shared/notify/languages.py spells the list out; the others import it
    defining = [str(path.relative_to(ROOT)) for path in sources if re.search(r'(?m)^LANGUAGES\s*=', path.read_text(encoding='utf-8'))]
    assert defining == ['shared/notify/languages.py']
    assert LANGUAGES == ('en', 'es', 'hi', 'id')


def test_an_unknown_or_oddly_written_language_reads_as_a_supported_one() -> None:
    # Given codes as a directory might hold them
    # Then known ones are normalised, anything else is English
    assert [supported(code) for code in ('id', ' ID ', 'Es', 'hi', 'fr', '', None)] == ['id', 'id', 'es', 'hi', 'en', 'en', 'en']


@pytest.mark.parametrize(('language', 'whole', 'decimal'), [('en', '1,234,567', '66.7'), ('hi', '1,234,567', '66.7'),
                                                            ('es', '1.234.567', '66,7'), ('id', '1.234.567', '66,7')])  # fmt: skip
def test_numbers_are_grouped_as_each_language_writes_them(language: str, whole: str, decimal: str) -> None:
    # Given a large whole number and a share with one decimal
    # Then each language groups thousands and marks decimals its own way
    assert (grouped(language, 1234567), grouped(language, 66.7), grouped(language, 80.0)) == (whole, decimal, '80')
    assert (language in DECIMAL_COMMA) == (language in ('es', 'id'))
