"""Verify with the source: adapters of helpdesk REST APIs, one module per helpdesk (see `base.SourceApiAdapter`).

A new helpdesk is one module exposing `adapter` plus its name in VERIFIER_NAMES. Imported on first use, like the
source adapters, so that a function loads only the helpdesk it serves.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from shared.verify.base import SourceApiAdapter

VERIFIER_NAMES: tuple[str, ...] = ('freshdesk', 'gorgias', 'salesforce')


def get_api_adapter(name: str) -> SourceApiAdapter:
    if name not in VERIFIER_NAMES:
        raise ValueError(f'no source API adapter for {name[:40]!r}; expected one of {", ".join(VERIFIER_NAMES)}')
    module = importlib.import_module(f'{__name__}.{name}')
    return cast('SourceApiAdapter', module.adapter)
