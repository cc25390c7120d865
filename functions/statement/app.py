"""One employee's points statement for one month, as JSON (run from the console; the people-facing API later).

  {"employee_id": "E123", "month": "2026-11"}                    the statement (events/statement.json)
  {"employee_id": "E123", "month": "2026-11", "format": "text"}   the same, plus the readable text as lines
  {"employee_id": "E123", "month": "2026-11", "language": "es"}   in Spanish (default: the person's directory language)

Every entry of the month (by the time its basis happened, in its program's time zone) with its dispute code,
program@version, rule@version, ticket and basis, KPI inputs and notes (caps, clawbacks, late arrivals), grouped
by rule; the pending awards with their release dates; the totals; and the reconciliation of the entries with
the balance item (`reconciliation.reconciles`; a mismatch is also logged as an error and counted in the metric
`StatementMismatches`). Reads only: a Query of the employee's entries, a Query of their pending view, the
balance item, the directory profile (for the name) and the program documents (for their time zones).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.directory.store import DirectoryStore
from shared.errors import first_validation_error
from shared.leagues.markers import league_closes
from shared.ledger.statement import program_conversions, program_rule_titles, program_time_zones, read_statement
from shared.ledger.store import LedgerStore
from shared.notify.languages import LANGUAGES, supported
from shared.observability import logger, metrics
from shared.programs.loader import load_programs


class StatementRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    employee_id: str = Field(min_length=1, max_length=100)
    month: str = Field(pattern=r'^\d{4}-(0[1-9]|1[0-2])$')
    format: Literal['json', 'text'] = 'json'
    language: str | None = Field(default=None, description="en, es, hi or id; default: the person's directory language")

    @field_validator('language')
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() not in LANGUAGES:
            raise ValueError(f'must be one of {", ".join(LANGUAGES)}')
        return value.strip().lower() if value is not None else None


def _time_zones() -> dict[str, str]:
    """The programs' time zones; without them (SSM unreachable, no programs) the months are UTC months."""
    try:
        return program_time_zones(load_programs())
    except Exception:  # noqa: BLE001 - a statement in UTC beats no statement
        logger.exception('program documents unreadable; statement months counted in UTC')
        return {}


def _conversions() -> dict[str, tuple[str, float]]:
    """The programs' currencies and rates (what a redemption was worth); none: the lines say points only."""
    try:
        return program_conversions(load_programs())
    except Exception:  # noqa: BLE001 - a statement without currency values beats no statement
        logger.exception('program documents unreadable; redemptions shown in points only')
        return {}


def _league_closes(month: str) -> dict[tuple[str, str], datetime]:
    """When the leagues of the statement's month and the two before it closed (an entry that arrived after its month's
    league closed is listed, late, in the month it arrived in). One BatchGetItem; none without leagues."""
    try:
        return league_closes(month)
    except Exception:  # noqa: BLE001 - a statement placing entries by their basis month beats no statement
        logger.exception('league close markers unreadable; entries placed by the month they were earned')
        return {}


def _rule_titles(language: str) -> dict[tuple[str, str], str]:
    """The programs' rule titles in the language (where a program gives them); none: rules read as their ids in words."""
    try:
        return program_rule_titles(load_programs(), language)
    except Exception:  # noqa: BLE001 - a statement naming rules by their ids beats no statement
        logger.exception('program documents unreadable; rules named by their ids')
        return {}


def _person(employee_id: str) -> tuple[str | None, str]:
    """The person's name and language from the directory (English when unknown)."""
    profile = DirectoryStore().profile_of(employee_id)
    if profile is None:
        return None, 'en'
    return profile.name, supported(getattr(profile, 'language', None))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = StatementRequest.model_validate(event or {})
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='event')
        return {'ok': False, 'field': field, 'error': reason}
    name, directory_language = _person(request.employee_id)
    language = request.language or directory_language
    statement = read_statement(LedgerStore(), request.employee_id, request.month, time_zones=_time_zones(),
                               employee_name=name, now=datetime.now(UTC), league_closed_at=_league_closes(request.month),
                               conversions=_conversions(), language=language, rule_titles=_rule_titles(language))
    reconciliation = statement.reconciliation
    if not reconciliation.reconciles:
        logger.error('statement does not reconcile', extra={'employee_id': request.employee_id, **reconciliation.model_dump()})
    metrics.add_metric(name='StatementMismatches', unit=MetricUnit.Count, value=0 if reconciliation.reconciles else 1)
    out: dict[str, Any] = {'ok': True, 'language': statement.language, 'statement': statement.as_dict()}
    if request.format == 'text':
        out['text'] = statement.to_text().splitlines()
    return out
