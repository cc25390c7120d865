"""Read one page of a recognition feed: a team's (the people reporting to one manager) or a location's, newest first.
From the Lambda console (events/recognition_feed.json) or an integration; the people-facing API reads the same pages.

  {"program_id": "pitstop", "team_id": "MGR-1", "limit": 20}
  {"program_id": "pitstop", "location_id": "IN-BLR-01", "cursor": "<the previous page's cursor>"}
  (also accepted wrapped: {"feed": {...}})

ONE Query per page (never a Scan), and at most one BatchGetItem of the directory for the names on the page. A cursor of
another feed, or not a cursor at all, is refused: `{"ok": false, "status": 400, "field": "cursor", "error": ...}`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.config import get_settings
from shared.dynamo import dynamodb_client
from shared.errors import InvalidPayload, first_validation_error
from shared.observability import logger, metrics
from shared.recognition.feed import FeedReader, FeedRequest


def reader() -> FeedReader:
    settings = get_settings()
    return FeedReader(dynamodb_client(), settings.RECOGNITION_TABLE, settings.DIRECTORY_TABLE)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = event or {}
    if isinstance(payload.get('feed'), dict):
        payload = payload['feed']
    try:
        page = reader().page(FeedRequest.model_validate(payload))
    except ValidationError as exc:
        field, reason = first_validation_error(exc, default_field='event')
        return {'ok': False, 'status': 400, 'field': field, 'error': reason}
    except InvalidPayload as refused:
        logger.info('feed request refused', extra={'field': refused.field, 'reason': refused.reason})
        return {'ok': False, 'status': 400, 'field': refused.field, 'error': refused.reason}
    metrics.add_metric(name='RecognitionFeedPages', unit=MetricUnit.Count, value=1)
    return {'ok': True, **page.model_dump(mode='json')}
