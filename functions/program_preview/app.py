"""SQS worker on PreviewsQueue: runs one what-if preview job per message (shared/programs/preview_jobs.py). A message
is `{"preview_id": ...}`; the job is claimed (`running`), the candidate priced over the stored month
(shared/programs/preview_run.py: a paged Scan of the tickets table, an admin job off the request path, 15 minutes at
most) and the result stored (`done`, truncated past 350 KB) or the reason (`failed`). A candidate that no longer
validates fails at once; any other error fails the record (SQS delivers it again) and on its third receive the job is
recorded failed and the message goes on to PreviewsDLQ. A duplicate or late message finds the job taken or finished.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger
from shared.sqs_batch import SqsBatch, SqsRecord, process_partial_response

batch = SqsBatch()


def _now() -> datetime:
    return datetime.now(UTC)


def handle_record(record: SqsRecord) -> None:
    from shared.api.store import ApiStore
    from shared.programs.preview_jobs import PreviewJobs, PreviewMessage
    from shared.programs.preview_run import run_preview

    message = PreviewMessage.model_validate_json(record.body)
    receive_count = int(record.attributes.approximate_receive_count or 1)
    logger.append_keys(preview_id=message.preview_id)
    outcome = PreviewJobs(ApiStore()).run(message.preview_id, record.message_id, receive_count, run_preview, _now)
    logger.info('preview job', extra={'outcome': outcome, 'receive_count': receive_count})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(event=event, record_handler=handle_record, processor=batch)
