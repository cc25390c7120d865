"""The what-if preview run over the stored month (shared/programs/preview.py priced over the tickets table): the one
implementation behind the admin command (infrastructure/preview.py) and the preview job's worker
(functions/program_preview, fed by POST /v1/admin/programs/{program_id}/preview through PreviewsQueue).

It reads the whole tickets table (a paged Scan filtered on the month: shared/tickets/scan.py). That is acceptable for
an admin job off the request path (a command run by hand, or the SQS worker with 15 minutes), never on a request path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def run_preview(candidate_text: str, month: str, book: Any = None) -> Any:
    """The preview (`shared.programs.preview.Preview`) of a candidate document (JSON text) over the stored month, with
    the stores in the environment, against `book` (default: the programs in force, read from SSM). An invalid candidate
    raises `ProgramInvalid` before anything is read."""
    from datetime import timedelta

    from shared.directory.people import Employee
    from shared.directory.store import DirectoryStore
    from shared.programs.document import parse_program
    from shared.programs.loader import _validation_context, load_programs
    from shared.programs.preview import build_cases, month_window, preview
    from shared.sla.clock import SlaReport
    from shared.sla.config import Location, load_config
    from shared.tickets.history import TicketHistory
    from shared.tickets.processing import service_figures
    from shared.tickets.scan import tickets_written_since
    from shared.tickets.state import TicketState
    from shared.tickets.store import TicketStore

    candidate = parse_program(candidate_text, _validation_context(None))
    book = book if book is not None else load_programs()
    start, _ = month_window(month, candidate.time_zone)
    directory, config = DirectoryStore(), load_config()

    def lookup(state: TicketState) -> Mapping[str, Employee]:
        keys = [assignee.agent_key for assignee in state.assignees]
        return directory.lookup(state.source, keys) if keys else {}

    def figures(state: TicketState, history: TicketHistory, employees: Mapping[str, Employee]) -> tuple[SlaReport | None, Location | None]:
        keys = [assignee.agent_key for assignee in state.assignees]
        sla, _, _, location = service_figures(state, history.checkpoints(), keys, employees, config, history.latest.occurred_at)
        return sla, location

    stored = tickets_written_since(TicketStore(), start - timedelta(days=1))
    cases = build_cases(((ticket.ticket_key, ticket.history) for ticket in stored), lookup, figures)
    return preview(book, candidate, cases, month)
