"""The payroll payout for `make run`'s summary, in the process of the local stack (its AWS already configured).

`payout_and_report(month, invoke)`: for each program that pays out, the first few people (by id) with at least the
minimum available ask to cash out half their points an hour before the month ends in the program's zone (the use
case `shared.wallet.payout.Payouts.request_cash_out`, as the people-facing API will call it), then the export runs
through its function as the schedule would at 06:00 on the 1st ({program_id, period}); and once more, to show that the
re-run writes the same file (same checksum) and no second debit. Prints one summary line per program (rows, total
points, total amount, checksum, key) and returns the figures. A month already exported (a re-run of `make run` on the
same data) is reported as it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

EXPORT_HANDLER = 'functions.payout_export.app.lambda_handler'
SAMPLE_PEOPLE = 5


def summary_line(summary: dict[str, Any]) -> str:
    """'pitstop 2026-10: 5 rows, 2,480 points = 2480.00 INR, sha256 1a2b3c4d5e6f..., s3://.../payouts/pitstop/2026-10/payout.csv'"""
    rows = int(summary['rows'])
    return (f'{summary["program_id"]} {summary["period"]}: {rows} row{"" if rows == 1 else "s"}, {int(summary["total_points"]):,} points = '
            f'{summary["total_amount"]} {summary["currency"]}, sha256 {str(summary["sha256"])[:12]}..., {summary["key"]}')


def _candidates(program_id: str, minimum: int) -> list[tuple[str, int]]:
    """People (by id) whose ledger holds entries of the program, with what they have available (at least `minimum`)."""
    from shared.directory.store import DirectoryStore
    from shared.ledger.store import LedgerStore

    ledger = LedgerStore()
    found: list[tuple[str, int]] = []
    for profile in sorted(DirectoryStore().profile.employees_index.query('EMPLOYEE'), key=lambda p: p.employee_id):
        available = ledger.balance(profile.employee_id, with_pending=False).available
        if available < minimum:
            continue
        if any(entry.reason.program_id.split('@', 1)[0] == program_id for entry in ledger.entries_for(profile.employee_id)):
            found.append((profile.employee_id, available))
        if len(found) == SAMPLE_PEOPLE:
            break
    return found


def ask_for_cash(month: str, moment: Any) -> dict[str, int]:
    """During the month (`make run` fires this at a simulated moment inside it, before the export's schedule on the
    1st): for each program that pays out, the first few people with at least twice the minimum available ask to cash
    out half their points, through the use case the redemption function's `cash_out` action calls."""
    from shared.programs.loader import load_programs
    from shared.wallet.payout import PayoutRefused, Payouts
    from shared.wallet.payout_store import PayoutStore

    store = PayoutStore()
    payouts = Payouts(store=store, available=store.available, programs=load_programs, personnel_numbers=store.personnel_numbers)
    asked: dict[str, int] = {}
    for program_id, versions in load_programs().programs.items():
        wallet = versions[0].document.wallet
        if wallet is None or wallet.payout is None or store.run(program_id, month) is not None:
            continue
        for employee_id, available in _candidates(program_id, wallet.payout.min_points * 2):
            try:
                payouts.request_cash_out(program_id, employee_id, available // 2, moment)
                asked[program_id] = asked.get(program_id, 0) + 1
            except PayoutRefused:
                continue
    return asked


def payout_and_report(month: str, invoke: Callable[[str, dict[str, Any]], Any]) -> dict[str, Any]:
    from shared.programs.loader import load_programs
    from shared.wallet.payout import PayoutRefused, Payouts, period_end
    from shared.wallet.payout_store import PayoutStore

    book = load_programs()
    store = PayoutStore()
    payouts = Payouts(store=store, available=store.available, programs=load_programs, personnel_numbers=store.personnel_numbers)
    figures: dict[str, Any] = {}
    print(f'\npayroll payout of {month} (SAP HR export per program: CSV and manifest in the payouts bucket)')
    for program_id in book.programs:
        latest = book.latest(program_id)
        wallet = latest.document.wallet if latest is not None else None
        if latest is None or wallet is None or wallet.payout is None:
            continue
        if store.run(program_id, month) is None:
            asked_at = period_end(month, latest.document.time_zone) - timedelta(hours=1)
            for employee_id, available in _candidates(program_id, wallet.payout.min_points * 2):
                try:
                    payouts.request_cash_out(program_id, employee_id, available // 2, asked_at)
                except PayoutRefused as refused:
                    print(f'  {employee_id}: cash-out refused ({refused.code}: {refused.message})')
        first = invoke(EXPORT_HANDLER, {'program_id': program_id, 'period': month})
        if not (isinstance(first, dict) and first.get('ok')):
            print(f'  {program_id}: not exported: {first}')
            continue
        again = invoke(EXPORT_HANDLER, {'program_id': program_id, 'period': month})
        same = isinstance(again, dict) and again.get('sha256') == first['sha256'] and again.get('debits_written') == 0
        print(f'  {summary_line(first)}; re-run: ' + ('same file, no second debit' if same else f'DIFFERENT: {again}'))
        figures[program_id] = {key: first[key] for key in ('rows', 'total_points', 'total_amount', 'currency', 'sha256', 'key')} | {
            'rerun_identical': same}
    return figures
