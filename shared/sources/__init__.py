"""Source adapters: one module per sender, each exposing a module-level `adapter` (see `base.SourceAdapter`).

Importing this package is cheap: an adapter module is imported the first time `get_adapter` asks for it, so a
Lambda only loads the adapter of the source it is serving.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from shared.errors import UnknownSource

if TYPE_CHECKING:
    from shared.sources.base import SourceAdapter

ADAPTER_NAMES: tuple[str, ...] = ('zendesk', 'freshdesk', 'salesforce', 'gorgias', 'dms', 'survey', 'lms', 'quality', 'safety')


def get_adapter(name: str) -> SourceAdapter:
    """The adapter for a source name as it appears in the webhook URL (`/webhooks/<name>`)."""
    if name not in ADAPTER_NAMES:
        raise UnknownSource(f'unknown source; expected one of {", ".join(ADAPTER_NAMES)}', field='source')
    module = importlib.import_module(f'{__name__}.{name}')
    return cast('SourceAdapter', module.adapter)
