"""What-if preview (shared/programs/preview.py): before publishing a new version of a program, price the stored
month's tickets with the candidate document beside the current book, per location, role and rule (points, and
cost in the program's currency at its conversion rate).

Against the local stack (`make run` serves its AWS on :5001):
    python -m infrastructure.preview --program events/program_workshop.json --month 2026-10 --endpoint http://127.0.0.1:5001
Against a deployed stack (credentials from the usual AWS chain; an admin tool: it Scans the tickets table):
    python -m infrastructure.preview --program candidate.json --month 2026-11 --stage prod --tickets-table <TicketsTableName> \\
        --directory-table <DirectoryTableName>
`--json` prints the preview as JSON. The candidate is validated as the loader would (roles not checked; locations
against the service configuration); an invalid candidate is refused with each field named, and nothing is read.

This reads the whole tickets table (a paged Scan filtered on the month: shared/tickets/scan.py). That is acceptable
for a tool an admin runs by hand, never on a hot path.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infrastructure.statement import use_aws


def run_preview(candidate_text: str, month: str, book: Any = None) -> Any:
    """The preview of a candidate document (JSON text) over the stored month, with the stores in the environment,
    against `book` (default: the programs in force, read from SSM)."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--program', required=True, type=Path, help='the candidate program document (JSON)')
    parser.add_argument('--month', required=True, help='YYYY-MM, in the program time zone')
    parser.add_argument('--endpoint', '--endpoint-url', dest='endpoint', default=os.environ.get('AWS_ENDPOINT_URL'),
                        help='a local AWS (make run serves one on http://127.0.0.1:5001)')
    parser.add_argument('--region', default=os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1')
    parser.add_argument('--stage', default=None, help='the stack stage (current programs under /pitcrew/<stage>/programs)')
    parser.add_argument('--tickets-table', dest='TICKETS_TABLE', default=None)
    parser.add_argument('--directory-table', dest='DIRECTORY_TABLE', default=None)
    parser.add_argument('--json', action='store_true', help='print the preview as JSON')
    args = parser.parse_args(argv)
    if not re.fullmatch(r'\d{4}-(0[1-9]|1[0-2])', args.month):
        parser.error('--month: expected YYYY-MM')
    for env in ('TICKETS_TABLE', 'DIRECTORY_TABLE'):
        if getattr(args, env):
            os.environ[env] = getattr(args, env)
    use_aws(args.endpoint, args.region, args.stage)

    from shared.programs.document import ProgramInvalid

    try:
        result = run_preview(args.program.read_text(), args.month)
    except ProgramInvalid as exc:
        print(f'{args.program}: the candidate is not a valid program document; nothing was read', file=sys.stderr)
        for error in exc.errors:
            print(f'  {error}', file=sys.stderr)
        return 2
    if args.json:
        json.dump(result.as_dict(), sys.stdout, indent=2)
        print()
    else:
        print(result.to_text())
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
