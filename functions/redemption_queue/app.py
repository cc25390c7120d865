"""Scheduled (daily at 00:15 in India, and so on the 1st when a new month's budgets open): per program with a wallet,
moves queued redemptions into their location's budget in request order while it allows (never skipping ahead, never
overspending), and re-sends the fulfilment message of provider redemptions still reserved 15 minutes after their request
(a send that failed after the commit). Idempotent: a rerun releases and re-sends only what is still waiting; re-run it
from the console with events/redemption_queue.json ({"program_ids": [...]} narrows it).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.redemption_request.app import service
from shared.observability import logger
from shared.scheduled import scheduled_time


def locations_of(program_id: str) -> list[str]:
    """The locations whose queue is read: the service configuration's, the program's scope and its budget overrides."""
    from shared.sla.config import load_config

    program = service().programs().latest(program_id)
    found = {location.location_id for location in load_config().locations}
    if program is not None:
        found |= set(program.document.scope.locations)
        if program.document.wallet is not None:
            found |= set(program.document.wallet.budget_by_location)
    return sorted(found)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = scheduled_time(event)
    if isinstance(now, dict):
        return now
    book = service().programs()
    wanted = event.get('program_ids') if isinstance(event.get('program_ids'), list) else None
    report: dict[str, dict[str, int]] = {}
    for program_id, _ in book.programs.items():
        if wanted is not None and program_id not in wanted:
            continue
        released = {} if event.get('sweep_only') else service().release_queue(program_id, locations_of(program_id), now)
        report[program_id] = released | {'resent': service().sweep(program_id, now)}
    logger.info('redemption queue run', extra={'report': report})
    return {'ok': True, 'programs': report}
