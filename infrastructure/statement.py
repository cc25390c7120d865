"""Print one employee's points statement for a month (shared/ledger/statement.py), as the StatementFunction does.

Against the local stack (`make run` serves its AWS on :5001):
    python -m infrastructure.statement --employee E101 --month 2026-10 --endpoint http://127.0.0.1:5001
Against a deployed stack (credentials from the usual AWS chain):
    python -m infrastructure.statement --employee E123 --month 2026-11 --stage prod \\
        --ledger-table <LedgerTableName> --balances-table <BalancesTableName> --pending-table <pending table> \\
        --directory-table <DirectoryTableName>
`--json` prints the statement as the function returns it; `--no-inputs` leaves the KPI inputs out of the text;
`--language es` writes it in Spanish (en, es, hi, id; default: the person's directory language, as the function does).
Months are counted in each program's time zone (read from the program documents in SSM), else UTC.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

LOCAL_DEFAULTS = {
    'PROGRAMS_PATH': '/pitcrew/local/programs',
    'SERVICE_CONFIG_PARAMETER': '/pitcrew/local/service-config',
    'STAGE': 'local',
}


def use_aws(endpoint: str | None, region: str, stage: str | None = None) -> None:
    """Point the shared stores at a local AWS (moto server) or the real one, before anything reads settings."""
    if endpoint:
        os.environ.setdefault('AWS_ACCESS_KEY_ID', 'local')
        os.environ.setdefault('AWS_SECRET_ACCESS_KEY', 'local')
        os.environ['AWS_ENDPOINT_URL'] = endpoint
        for name, value in LOCAL_DEFAULTS.items():
            os.environ.setdefault(name, value)
    if stage:
        os.environ['STAGE'] = stage
        os.environ.setdefault('PROGRAMS_PATH', f'/pitcrew/{stage}/programs')
        os.environ.setdefault('SERVICE_CONFIG_PARAMETER', f'/pitcrew/{stage}/service-config')
    os.environ['AWS_REGION'] = os.environ['AWS_DEFAULT_REGION'] = region
    os.environ.setdefault('POWERTOOLS_METRICS_DISABLED', 'true')
    os.environ.setdefault('POWERTOOLS_LOG_LEVEL', 'WARNING')
    from shared.config import get_settings

    get_settings.cache_clear()


def time_zones() -> dict[str, str]:
    from shared.ledger.statement import program_time_zones
    from shared.programs.loader import load_programs

    try:
        return program_time_zones(load_programs())
    except Exception as exc:  # an admin tool: say why and carry on in UTC
        print(f'(program documents unreadable, months counted in UTC: {exc})', file=sys.stderr)
        return {}


def conversions() -> dict[str, tuple[str, float]]:
    from shared.ledger.statement import program_conversions
    from shared.programs.loader import load_programs

    try:
        return program_conversions(load_programs())
    except Exception as exc:  # an admin tool: say why and show points only
        print(f'(program documents unreadable, redemptions shown in points only: {exc})', file=sys.stderr)
        return {}


def rule_titles(language: str) -> dict[tuple[str, str], str]:
    from shared.ledger.statement import program_rule_titles
    from shared.programs.loader import load_programs

    try:
        return program_rule_titles(load_programs(), language)
    except Exception as exc:  # an admin tool: say why and name rules by their ids
        print(f'(program documents unreadable, rules named by their ids: {exc})', file=sys.stderr)
        return {}


def statement_of(employee_id: str, month: str, language: str | None = None) -> Any:
    from shared.directory.store import DirectoryStore
    from shared.ledger.statement import read_statement
    from shared.ledger.store import LedgerStore
    from shared.notify.languages import supported

    profile = DirectoryStore().profile_of(employee_id)
    from shared.leagues.markers import league_closes

    language = supported(language or (getattr(profile, 'language', None) if profile is not None else None))
    return read_statement(LedgerStore(), employee_id, month, time_zones=time_zones(),
                          employee_name=profile.name if profile is not None else None, now=datetime.now(UTC),
                          league_closed_at=league_closes(month), conversions=conversions(), language=language,
                          rule_titles=rule_titles(language))


def print_sample_statement(month: str, role: str = 'service_advisor') -> None:
    """For `make run`'s summary: the statement of the first employee of `role` (by id) who has points, in the
    process of the local stack (its AWS is already configured)."""
    from shared.directory.store import DirectoryStore
    from shared.ledger.store import LedgerStore

    ledger = LedgerStore()
    people = sorted(DirectoryStore().profile.employees_index.query('EMPLOYEE'), key=lambda p: p.employee_id)
    chosen = next((p.employee_id for p in people if p.role == role and ledger.balance(p.employee_id).entry_count), None)
    if chosen is None:
        print(f'\nno {role} has points in {month}: no sample statement')
        return
    print(f'\nsample statement ({role}; any employee: python -m infrastructure.statement --employee <id> --month {month} '
          f'--endpoint <local AWS>)')
    print(statement_of(chosen, month).to_text())


def main(argv: list[str] | None = None) -> int:
    from shared.notify.languages import LANGUAGES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--employee', required=True, help='employee id, e.g. E123')
    parser.add_argument('--month', required=True, help='YYYY-MM')
    parser.add_argument('--endpoint', '--endpoint-url', dest='endpoint', default=os.environ.get('AWS_ENDPOINT_URL'),
                        help='a local AWS (make run serves one on http://127.0.0.1:5001)')
    parser.add_argument('--region', default=os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1')
    parser.add_argument('--stage', default=None, help='the stack stage (programs under /pitcrew/<stage>/programs)')
    for table, env in (('ledger', 'LEDGER_TABLE'), ('balances', 'BALANCES_TABLE'), ('pending', 'PENDING_TABLE'),
                       ('directory', 'DIRECTORY_TABLE')):
        parser.add_argument(f'--{table}-table', dest=env, default=None, help=f'{env} (default: the environment or pitcrew-{table})')
    parser.add_argument('--json', action='store_true', help='print the statement as JSON (the function output)')
    parser.add_argument('--no-inputs', action='store_true', help='leave the KPI inputs out of the text')
    parser.add_argument('--language', choices=LANGUAGES, default=None,
                        help="the statement's language (default: the person's directory language)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r'\d{4}-(0[1-9]|1[0-2])', args.month):
        parser.error('--month: expected YYYY-MM')
    for env in ('LEDGER_TABLE', 'BALANCES_TABLE', 'PENDING_TABLE', 'DIRECTORY_TABLE'):
        if getattr(args, env):
            os.environ[env] = getattr(args, env)
    use_aws(args.endpoint, args.region, args.stage)

    from shared.ledger.statement import render_text

    statement = statement_of(args.employee, args.month, args.language)
    if args.json:
        json.dump(statement.as_dict(), sys.stdout, indent=2)
        print()
    else:
        print(render_text(statement, inputs=not args.no_inputs))
    return 0 if statement.reconciliation.reconciles else 2


if __name__ == '__main__':
    raise SystemExit(main())
