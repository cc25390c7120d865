"""The static page (infrastructure/web/) without a browser: its weight, nothing fetched from elsewhere, and its
strings in every language (the browser tests in tests/browser drive it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.bench.page_weight import FIRST_LOAD, first_load_bytes, page_weight

WEB = Path(__file__).resolve().parents[2] / 'infrastructure' / 'web'
LANGS = ('en', 'hi', 'es', 'id')


def test_first_load_weighs_far_less_than_the_300_kb_budget() -> None:
    # Given the files a first load fetches, when the bench weighs them
    weight = page_weight()['page_weight_kb']
    # Then the figure is their size in KiB, under the budget (and under this page's own aim of ~60 KB)
    assert weight == round(sum((WEB / name).stat().st_size for name in FIRST_LOAD) / 1024, 1)
    assert set(first_load_bytes()) == set(FIRST_LOAD)
    assert weight <= 80, weight
    # And the heaviest language's strings would not change that
    assert max((WEB / 'i18n' / f'{lang}.json').stat().st_size for lang in LANGS) < 16 * 1024


def test_the_page_fetches_nothing_from_another_origin() -> None:
    # Given the page's files, Then none names a URL of another origin (no CDN, fonts or scripts from elsewhere),
    # except the SVG namespace, which is a name and never fetched
    for name in ('index.html', 'app.js', 'app.css'):
        text = (WEB / name).read_text(encoding='utf-8')
        urls = set(re.findall(r'(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}[^\s\'")]*', text)) - {'http://www.w3.org/2000/svg'}
        assert not urls, (name, urls)
        assert '@import' not in text and '@font-face' not in text, name
    html = (WEB / 'index.html').read_text(encoding='utf-8')
    assert re.findall(r'<script[^>]*src="([^"]+)"', html) == ['app.js']
    assert re.findall(r'<link[^>]*href="([^"]+)"', html) == ['data:,', 'app.css']  # no favicon request, the stylesheet
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_every_visible_string_is_translated_in_every_language() -> None:
    # Given the four language files, and the keys the page uses
    files = {lang: json.loads((WEB / 'i18n' / f'{lang}.json').read_text(encoding='utf-8')) for lang in LANGS}
    source = (WEB / 'app.js').read_text(encoding='utf-8') + (WEB / 'index.html').read_text(encoding='utf-8')
    used = set(re.findall(r"\bt\('([a-z_]+)'", source)) | set(re.findall(r'data-i18n(?:-label)?="([a-z_]+)"', source))
    assert len(used) > 60
    # Then every file has exactly the same keys, covering every key used, with no empty text
    for lang, words in files.items():
        assert set(words) == set(files['en']), lang
        assert used <= set(words), (lang, used - set(words))
        assert all(isinstance(v, str) and v.strip() for v in words.values()), lang
    # And the translations are translations (not the English copied), with the same placeholders
    for lang in ('hi', 'es', 'id'):
        same = [k for k, v in files[lang].items() if v == files['en'][k]]
        assert len(same) <= 6, (lang, same)  # words that are the same in both languages: PIN, Program, Level, Target...
        for key, text in files['en'].items():
            assert set(re.findall(r'\{\w+\}', text)) == set(re.findall(r'\{\w+\}', files[lang][key])), (lang, key)
    # And the Hindi file is written in Devanagari
    assert all(re.search('[\u0900-\u097f]', v) for k, v in files['hi'].items() if k not in ('title',)), 'a Hindi string without Devanagari'
