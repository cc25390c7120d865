"""API Gateway HTTP API (payload 2.0) events and a Lambda context, as the real services send them."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class FakeLambdaContext:
    function_name: str = 'pitcrew-test'
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = 'arn:aws:lambda:us-east-1:123456789012:function:pitcrew-test'
    aws_request_id: str = 'req-1'

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def http_api_event(path: str, body: bytes, headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
                   method: str = 'POST') -> dict[str, Any]:
    try:
        text, encoded = body.decode('utf-8'), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    source = path.rstrip('/').rsplit('/', 1)[-1]
    event: dict[str, Any] = {
        'version': '2.0',
        'routeKey': 'POST /webhooks/{source}',
        'rawPath': path,
        'rawQueryString': '&'.join(f'{k}={v}' for k, v in (query or {}).items()),
        'headers': {k.lower(): v for k, v in (headers or {}).items()},
        'requestContext': {
            'accountId': '123456789012',
            'apiId': 'api',
            'domainName': 'api.execute-api.us-east-1.amazonaws.com',
            'http': {'method': method, 'path': path, 'protocol': 'HTTP/1.1', 'sourceIp': '203.0.113.9', 'userAgent': 'test'},
            'requestId': str(uuid.uuid4()),
            'routeKey': 'POST /webhooks/{source}',
            'stage': '$default',
            'time': '14/May/2024:11:40:03 +0000',
            'timeEpoch': 1715686803000,
        },
        'pathParameters': {'source': source},
        'body': text,
        'isBase64Encoded': encoded,
    }
    if query:
        event['queryStringParameters'] = query
    return event


def sqs_event(messages: list[dict[str, Any]], queue_arn: str = 'arn:aws:sqs:us-east-1:123456789012:pitcrew-EventsQueue') -> dict[str, Any]:
    """Turn received SQS messages into the event Lambda's SQS poller delivers."""
    return {
        'Records': [
            {
                'messageId': m['MessageId'],
                'receiptHandle': m['ReceiptHandle'],
                'body': m['Body'],
                'attributes': {
                    'ApproximateReceiveCount': m.get('Attributes', {}).get('ApproximateReceiveCount', '1'),
                    'SentTimestamp': m.get('Attributes', {}).get('SentTimestamp', '0'),
                    'SenderId': 'test',
                    'ApproximateFirstReceiveTimestamp': '0',
                },
                'messageAttributes': {},
                'md5OfBody': m.get('MD5OfBody', ''),
                'eventSource': 'aws:sqs',
                'eventSourceARN': queue_arn,
                'awsRegion': 'us-east-1',
            }
            for m in messages
        ]
    }


def lambda_context() -> Any:
    """A Lambda context object (typed loosely: handlers annotate Powertools' LambdaContext)."""
    return FakeLambdaContext()
