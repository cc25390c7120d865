"""The rule kinds a program document may use, by name. Adding a kind = one module here (exposing
`KIND = RuleKind(...)`, see `base.py`) + one line in `MODULES`."""

from __future__ import annotations

from importlib import import_module

from shared.programs.kinds.base import Earning, KindContext, RuleKind

MODULES = (
    'resolution_within_sla',
    'first_response_within_sla',
    'fcr',
    'one_touch',
    'first_time_fix',
    'zero_defect',
    'on_time_delivery',
    'csat_positive',
    'nps_promoter',
    'positive_review',
    'upsell',
    'training_completion',
    'support_sla',
    'callback_within',
    'case_note_quality',
    'safety_compliance',
    'hazard_report',
    'sla_breach',
    'reopen',
    'repeat_complaint',
)

REGISTRY: dict[str, RuleKind] = {}
for _module in MODULES:
    _kind: RuleKind = import_module(f'{__name__}.{_module}').KIND
    if _kind.name != _module:
        raise RuntimeError(f'rule kind module {_module} registers {_kind.name!r}: a kind is named after its module')
    REGISTRY[_kind.name] = _kind

__all__ = ['MODULES', 'REGISTRY', 'Earning', 'KindContext', 'RuleKind']
