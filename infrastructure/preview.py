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
for a tool an admin runs by hand, never on a hot path. The run itself is shared/programs/preview_run.py (in the layer:
the admin API queues it as a job for functions/program_preview).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from infrastructure.statement import use_aws
from shared.programs.preview_run import run_preview

__all__ = ['main', 'run_preview']


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
