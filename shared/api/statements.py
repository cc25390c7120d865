"""One page of a person's statement, as both people-facing routes answer it (GET /v1/me/statement for oneself, GET
/v1/people/{id}/statement for someone in the caller's scope): the month's head (totals, points by rule, reconciliation)
and a cursor-paged window of its explained lines, in the reader's language. The scope check is the caller's job
(shared/api/scope.py) before this runs."""

from __future__ import annotations

from typing import Any

from shared.api.cursor import decode_cursor, encode_cursor
from shared.api.http import Call, page
from shared.api.scope import Person


def statement_page(call: Call, person: Person, *, list_name: str, month: str, program_id: str | None, cursor: str | None,
                   limit: int, language: str, book: Any) -> dict[str, Any]:  # fmt: skip
    from shared.api.people_views import statement_head, statement_lines, window
    from shared.leagues.markers import league_closes
    from shared.ledger.statement import program_conversions, program_rule_titles, program_time_zones, read_statement
    from shared.ledger.store import LedgerStore

    filters = {'employee_id': person.employee_id, 'month': month, 'program_id': program_id}
    offset = decode_cursor(list_name, call.principal, filters, cursor)
    read = read_statement(LedgerStore(), person.employee_id, month, time_zones=program_time_zones(book), employee_name=person.name,
                          now=call.now, league_closed_at=league_closes(month), conversions=program_conversions(book),
                          language=language, rule_titles=program_rule_titles(book, language))  # fmt: skip
    lines, following = window(statement_lines(read, program_id), offset, limit)
    return statement_head(read, program_id) | page(lines, encode_cursor(list_name, call.principal, filters, following))
