"""The catalogues in force: the newest VALID version of each program's catalogue under `CATALOGUES_PATH` in SSM.

One String parameter per program (`/pitcrew/<stage>/catalogues/<program_id>`, JSON); the parameter's version is the
catalogue's version. A version that does not validate is never used: it is logged with each field and reason and
counted in the metric `CatalogueRejected` (by `service` alone, which the template's alarm watches, and with the
`program` dimension), and the last valid version keeps running (read back from the parameter's history); while the
newest version stays invalid every refresh counts it again, so the alarm stays up until it is fixed.

Read once per warm container every `PROGRAMS_MAX_AGE_S` seconds: one GetParametersByPath, plus GetParameterHistory for
a parameter whose newest version does not validate. Empty `CATALOGUES_PATH`: no catalogue (nothing can be redeemed).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.wallet.catalogue import CatalogueDocument, CatalogueInvalid, parse_catalogue


@dataclass(frozen=True)
class CatalogueVersion:
    version: int
    document: CatalogueDocument

    @property
    def ref(self) -> str:
        return f'{self.document.program_id}@{self.version}'


@dataclass(frozen=True)
class CatalogueBook:
    catalogues: Mapping[str, CatalogueVersion] = field(default_factory=dict)

    def get(self, program_id: str) -> CatalogueVersion | None:
        return self.catalogues.get(program_id)

    @classmethod
    def of(cls, *documents: CatalogueDocument, version: int = 1) -> CatalogueBook:
        return cls({doc.program_id: CatalogueVersion(version, doc) for doc in documents})


@dataclass
class _Cache:
    book: CatalogueBook | None = None
    read_at: float = 0.0
    seen: dict[str, tuple[int, CatalogueVersion | None]] = field(default_factory=dict)  # name -> (newest version, valid)
    rejected: dict[tuple[str, int], list[str]] = field(default_factory=dict)


_cache = _Cache()


def clear_cache() -> None:
    global _cache
    _cache = _Cache()


def _reject(name: str, program_id: str, version: int, errors: Sequence[str]) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    from shared.observability import NAMESPACE, logger

    logger.error('catalogue version refused; the last valid version keeps running',
                 extra={'parameter': name, 'program': program_id, 'version': version, 'errors': list(errors)[:50]})  # fmt: skip
    with single_metric(name='CatalogueRejected', unit=MetricUnit.Count, value=1, namespace=NAMESPACE):
        pass
    with single_metric(name='CatalogueRejected', unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name='program', value=program_id)


def _parse(name: str, raw: str) -> CatalogueDocument:
    from shared.wallet.providers import known

    program_id = name.rsplit('/', 1)[-1]
    document = parse_catalogue(raw, known())
    if document.program_id != program_id:
        raise CatalogueInvalid([f'program_id: {document.program_id!r} differs from the parameter name {program_id!r}'])
    return document


def _newest_valid(ssm: Any, name: str, newest: int) -> CatalogueVersion | None:
    """The newest version that validates (the newest one did not: it was counted by the caller)."""
    history: list[dict[str, Any]] = []
    for page in ssm.get_paginator('get_parameter_history').paginate(Name=name, WithDecryption=False):
        history.extend(page.get('Parameters', []))
    for entry in sorted(history, key=lambda e: int(e['Version']), reverse=True):
        version = int(entry['Version'])
        if version >= newest:
            continue
        try:
            return CatalogueVersion(version, _parse(name, str(entry.get('Value', ''))))
        except CatalogueInvalid as exc:
            _cache.rejected[(name, version)] = exc.errors
    return None


def load_catalogues(*, ssm: Any = None, max_age_s: float | None = None) -> CatalogueBook:
    from shared.config import get_settings

    settings = get_settings()
    if not settings.CATALOGUES_PATH:
        return CatalogueBook()
    now = time.monotonic()
    max_age = settings.PROGRAMS_MAX_AGE_S if max_age_s is None else max_age_s
    if _cache.book is not None and now - _cache.read_at < max_age:
        return _cache.book
    if ssm is None:
        import boto3

        ssm = boto3.client('ssm', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
    catalogues: dict[str, CatalogueVersion] = {}
    path = settings.CATALOGUES_PATH.rstrip('/')
    for page in ssm.get_paginator('get_parameters_by_path').paginate(Path=path, Recursive=False, WithDecryption=False):
        for parameter in page.get('Parameters', []):
            name, version, program_id = parameter['Name'], int(parameter['Version']), parameter['Name'].rsplit('/', 1)[-1]
            seen = _cache.seen.get(name)
            if seen is None or seen[0] != version:
                try:
                    seen = (version, CatalogueVersion(version, _parse(name, str(parameter.get('Value', '')))))
                except CatalogueInvalid as exc:
                    _cache.rejected[(name, version)] = exc.errors
                    previous = seen[1] if seen is not None else None
                    seen = (version, previous if previous is not None else _newest_valid(ssm, name, version))
                _cache.seen[name] = seen
            if (name, version) in _cache.rejected:  # the newest is refused: count it on every refresh (the alarm)
                _reject(name, program_id, version, _cache.rejected[(name, version)])
            if seen[1] is not None:
                catalogues[program_id] = seen[1]
    book = CatalogueBook(catalogues)
    _cache.book, _cache.read_at = book, now
    return book
