from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import UnknownSource
from shared.events import Source
from shared.sources import ADAPTER_NAMES, dms, freshdesk, get_adapter, gorgias, lms, quality, safety, salesforce, survey, zendesk
from shared.sources.base import SourceAdapter

REPO_ROOT = Path(__file__).resolve().parents[3]

# Type-checked by mypy: every adapter module's `adapter` fulfils the SourceAdapter protocol.
ADAPTERS: dict[str, SourceAdapter] = {
    'zendesk': zendesk.adapter,
    'freshdesk': freshdesk.adapter,
    'salesforce': salesforce.adapter,
    'gorgias': gorgias.adapter,
    'dms': dms.adapter,
    'survey': survey.adapter,
    'lms': lms.adapter,
    'quality': quality.adapter,
    'safety': safety.adapter,
}


def test_every_source_has_an_adapter() -> None:
    # Given the canonical sources
    # When / Then the registry names exactly those
    assert sorted(ADAPTER_NAMES) == sorted(source.value for source in Source)


@pytest.mark.parametrize('name', ADAPTER_NAMES)
def test_get_adapter_returns_the_modules_adapter(name: str) -> None:
    # Given / When an adapter is looked up by its URL name
    adapter = get_adapter(name)

    # Then it is that module's adapter, named after its source
    assert adapter is ADAPTERS[name]
    assert adapter.name == name


@pytest.mark.parametrize('name', ['jira', '', 'Zendesk', 'base', 'common', 'signing', '../events', 'zendesk.adapter'])
def test_unknown_source_is_rejected(name: str) -> None:
    # Given a name that is not a source (including the package's helper modules)
    # When / Then it is an unknown source (404), never an import of something else
    with pytest.raises(UnknownSource) as caught:
        get_adapter(name)
    assert caught.value.status_code == 404
    assert caught.value.field == 'source'


def test_importing_the_package_does_not_import_the_adapters() -> None:
    # Given a fresh interpreter
    code = (
        'import sys, shared.sources\n'
        'loaded = sorted(m for m in sys.modules if m.startswith("shared.sources."))\n'
        'shared.sources.get_adapter("gorgias")\n'
        'after = sorted(m for m in sys.modules if m.startswith("shared.sources."))\n'
        'print(",".join(loaded)); print(",".join(after))\n'
    )

    # When the package is imported, then one adapter is asked for
    output = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout

    # Then no adapter module was loaded up front, and asking loads only that adapter (and its helpers)
    before, after = output.splitlines()
    assert before == ''
    assert 'shared.sources.gorgias' in after.split(',')
    assert not {'shared.sources.zendesk', 'shared.sources.salesforce', 'shared.sources.dms'} & set(after.split(','))

