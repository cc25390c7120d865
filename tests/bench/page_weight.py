"""Bench figure of the web page (issue 15); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

- page_weight_kb: what a first load of the page fetches, in KiB (bytes / 1024, one decimal): index.html, app.js,
  app.css and the default language's strings (i18n/en.json), as stored (uncompressed: CloudFront may compress, the
  figure does not count on it). config.json is left out (a few hundred bytes, written at deploy). Goal <= 300.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WEB = Path(__file__).resolve().parents[2] / 'infrastructure' / 'web'
FIRST_LOAD = ('index.html', 'app.js', 'app.css', 'i18n/en.json')


def first_load_bytes(web: Path = WEB) -> dict[str, int]:
    """Bytes of each file a first load fetches."""
    return {name: (web / name).stat().st_size for name in FIRST_LOAD}


def page_weight() -> dict[str, float]:
    return {'page_weight_kb': round(sum(first_load_bytes().values()) / 1024, 1)}


def figures() -> dict[str, Any]:
    return page_weight()


if __name__ == '__main__':
    print(page_weight(), first_load_bytes())
