"""The programs in force: every version of every program document under `PROGRAMS_PATH` in SSM Parameter Store.

One String parameter per program (`/pitcrew/<stage>/programs/<program_id>`, JSON); the parameter's version
is the program's version, and SSM keeps the history, so every version is read back (GetParametersByPath, then
GetParameterHistory for a parameter whose version changed). A version that does not validate is never used:
it is logged with each field and reason and counted in the metric `ProgramRejected` (once by `service` alone, which
the template's alarm watches, and once with the `program` dimension), and the last valid version keeps running;
while the newest version stays invalid, every refresh counts it again, so the alarm stays up until it is fixed.

Read once per warm container every `PROGRAMS_MAX_AGE_S` seconds, as the service configuration is. Empty
`PROGRAMS_PATH`: the built-in book (`default_program.json`, the five rules Pitcrew always had).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.programs.document import ProgramDocument, ProgramInvalid, parse_cached, parse_program

BUILTIN_DOCUMENT = Path(__file__).with_name('default_program.json')


@dataclass(frozen=True)
class ProgramVersion:
    version: int  # the SSM parameter version
    document: ProgramDocument

    @property
    def ref(self) -> str:
        return f'{self.document.program_id}@{self.version}'


@dataclass(frozen=True)
class ProgramBook:
    """The valid versions of every program, newest version first."""

    programs: Mapping[str, Sequence[ProgramVersion]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ordered = {
            pid: tuple(sorted(versions, key=lambda v: v.version, reverse=True)) for pid, versions in self.programs.items() if versions
        }
        object.__setattr__(self, 'programs', dict(sorted(ordered.items())))

    def for_basis(self, program_id: str, at: datetime) -> ProgramVersion | None:
        """The version that prices a basis that happened at `at`: the newest valid version whose
        effective_from <= at (None: the program was not yet in force)."""
        for version in self.programs.get(program_id, ()):
            if version.document.effective_from <= at:
                return version
        return None

    def latest(self, program_id: str) -> ProgramVersion | None:
        versions = self.programs.get(program_id, ())
        return versions[0] if versions else None

    @classmethod
    def of(cls, *documents: ProgramDocument, version: int = 1) -> ProgramBook:
        """A book of single-version programs (tests, tools, the built-in program)."""
        return cls({doc.program_id: [ProgramVersion(version, doc)] for doc in documents})


@lru_cache(maxsize=1)
def builtin_book() -> ProgramBook:
    """The program Pitcrew runs without PROGRAMS_PATH: resolution and first response within SLA, CSAT 4-5,
    on-time delivery of a job card and accepted upsell lines (the former hard-coded rules, as a document)."""
    return ProgramBook.of(parse_program(BUILTIN_DOCUMENT.read_text()))


# --- SSM ---------------------------------------------------------------------------------------------------


@dataclass
class _Cache:
    book: ProgramBook | None = None
    read_at: float = 0.0
    context_key: tuple[tuple[str, tuple[str, ...]], ...] = ()
    versions: dict[str, tuple[int, list[ProgramVersion]]] = field(default_factory=dict)  # name -> (latest seen, valid versions)
    rejected: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (name, version) -> errors


_cache = _Cache()


def clear_cache() -> None:
    global _cache
    _cache = _Cache()
    parse_cached.cache_clear()


def _context_key(context: Mapping[str, Iterable[str]] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((key, tuple(sorted(values))) for key, values in (context or {}).items()))


def _validation_context(roles: Iterable[str] | None) -> dict[str, set[str]]:
    """Locations from the service configuration (when it lists any); roles when the caller knows them."""
    from shared.sla.config import load_config

    context: dict[str, set[str]] = {}
    locations = {location.location_id for location in load_config().locations}
    if locations:
        context['locations'] = locations
    if roles is not None:
        context['roles'] = set(roles)
    return context


def _reject(name: str, program_id: str, version: int, errors: Sequence[str], newest: bool) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    from shared.observability import NAMESPACE, logger

    logger.error(
        'program version refused; the last valid version keeps running',
        extra={'parameter': name, 'program': program_id, 'version': version, 'newest': newest, 'errors': list(errors)[:50]},
    )
    # Two datapoints: by service only (what the template's alarm watches: one alarm for every program) and by
    # service and program (which program it was).
    with single_metric(name='ProgramRejected', unit=MetricUnit.Count, value=1, namespace=NAMESPACE):
        pass
    with single_metric(name='ProgramRejected', unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name='program', value=program_id)


def _history(ssm: Any, name: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for page in ssm.get_paginator('get_parameter_history').paginate(Name=name, WithDecryption=False):
        entries.extend(page.get('Parameters', []))
    return entries


def _versions_of(ssm: Any, name: str, context_key: tuple[tuple[str, tuple[str, ...]], ...]) -> list[ProgramVersion]:
    program_id = name.rsplit('/', 1)[-1]
    history = sorted(_history(ssm, name), key=lambda entry: int(entry['Version']))
    newest = int(history[-1]['Version']) if history else 0
    valid: list[ProgramVersion] = []
    for entry in history:
        version = int(entry['Version'])
        try:
            document = parse_cached(str(entry.get('Value', '')), context_key)
            if document.program_id != program_id:
                raise ProgramInvalid([f'program_id: {document.program_id!r} differs from the parameter name {program_id!r}'])
        except ProgramInvalid as exc:
            if (name, version) not in _cache.rejected or version == newest:
                _reject(name, program_id, version, exc.errors, version == newest)
            _cache.rejected[(name, version)] = exc.errors
            continue
        valid.append(ProgramVersion(version, document))
    return valid


def load_programs(*, roles: Iterable[str] | None = None, ssm: Any = None) -> ProgramBook:
    """Every valid version of every program under PROGRAMS_PATH (cached PROGRAMS_MAX_AGE_S seconds per warm
    container), else the built-in book. `roles`: the directory's roles, when the caller knows them (checked
    in the documents' scope and conditions); locations come from the service configuration."""
    from shared.config import get_settings

    settings = get_settings()
    if not settings.PROGRAMS_PATH:
        return builtin_book()
    now = time.monotonic()
    if _cache.book is not None and now - _cache.read_at < settings.PROGRAMS_MAX_AGE_S:
        return _cache.book
    if ssm is None:
        import boto3

        ssm = boto3.client('ssm', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
    context_key = _context_key(_validation_context(roles))
    if context_key != _cache.context_key:  # the known locations or roles changed: validate every version again
        _cache.versions.clear()
        _cache.context_key = context_key
    path = settings.PROGRAMS_PATH.rstrip('/')
    current: dict[str, int] = {}
    for page in ssm.get_paginator('get_parameters_by_path').paginate(Path=path, Recursive=False, WithDecryption=False):
        for parameter in page.get('Parameters', []):
            current[parameter['Name']] = int(parameter['Version'])
    programs: dict[str, list[ProgramVersion]] = {}
    for name, latest in sorted(current.items()):
        seen = _cache.versions.get(name)
        if seen is None or seen[0] != latest:
            seen = (latest, _versions_of(ssm, name, context_key))
            _cache.versions[name] = seen
        elif (name, latest) in _cache.rejected:  # still refused: the alarm keeps firing until it is fixed
            _reject(name, name.rsplit('/', 1)[-1], latest, _cache.rejected[(name, latest)], True)
        if seen[1]:
            programs[name.rsplit('/', 1)[-1]] = seen[1]
    book = ProgramBook(programs)
    _cache.book, _cache.read_at = book, now
    return book
