"""Admin action: import the employee directory from an HR export (CSV or JSON).

Console test event: {"format": "csv", "content": "<the CSV text>", "deactivate_missing": true}.
Re-importing the same export changes nothing; people missing from a full export are deactivated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, ValidationError

from shared.config import get_settings
from shared.directory.importer import import_directory
from shared.directory.store import DirectoryStore
from shared.errors import InvalidPayload, first_validation_error
from shared.ingest.queue import SqsEventQueue
from shared.observability import logger
from shared.tickets.store import TicketStore


class ImportRequest(BaseModel):
    format: Literal['csv', 'json']
    content: str = Field(min_length=1)
    deactivate_missing: bool = True


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = ImportRequest.model_validate(event)
        summary = import_directory(
            request.content,
            request.format,
            directory=DirectoryStore(),
            tickets=TicketStore(),
            queue=SqsEventQueue(get_settings().EVENTS_QUEUE_URL),
            now=datetime.now(UTC),
            deactivate_missing=request.deactivate_missing,
        )
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='event')
        return {'ok': False, 'field': field, 'error': reason}
    except InvalidPayload as exc:
        return {'ok': False, 'field': exc.field, 'error': exc.reason}
    logger.info('directory imported', extra={'import_summary': summary})
    return {'ok': True, **summary}
