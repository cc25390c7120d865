"""Provider adapters and their registry. A real provider is one module with a class that follows
`shared.wallet.providers.base.Provider`, plus one line in `_FACTORIES` below naming how to build it (its credentials
are read from SSM SecureString by the module itself, never from code or the environment). `manual` is not a provider:
an admin fulfils those items (functions/redemption_admin)."""

from __future__ import annotations

from collections.abc import Callable

from shared.wallet.providers.base import Fulfilment, Provider, ProviderFailed

MANUAL = 'manual'


def _fake() -> Provider:
    from shared.wallet.providers.fake import FakeProvider

    return FakeProvider()


# name -> factory (imported lazily: a provider's SDK loads only where it is used)
_FACTORIES: dict[str, Callable[[], Provider]] = {
    'fake': _fake,
}
_instances: dict[str, Provider] = {}


def known() -> frozenset[str]:
    """The provider names a catalogue item may name."""
    return frozenset({MANUAL, *_FACTORIES})


def register(name: str, factory: Callable[[], Provider]) -> None:
    _FACTORIES[name] = factory
    _instances.pop(name, None)


def provider(name: str) -> Provider:
    if name not in _instances:
        if name not in _FACTORIES:
            raise ProviderFailed(f'no provider {name!r} is registered', retryable=False)
        _instances[name] = _FACTORIES[name]()
    return _instances[name]


def use(name: str, instance: Provider) -> None:
    """Bind an instance (tests: a FakeProvider configured to fail)."""
    _instances[name] = instance


def reset() -> None:
    _instances.clear()


__all__ = ['MANUAL', 'Fulfilment', 'Provider', 'ProviderFailed', 'known', 'provider', 'register', 'reset', 'use']
