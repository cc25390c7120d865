"""The SQS queue between acknowledging a webhook and processing it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events import QueueMessage

BATCH = 10  # SendMessageBatch maximum
MAX_BATCH_BYTES = 250_000  # under SQS's 256 KiB per batch


class SqsEventQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client('sqs')
        return self._client

    def send(self, messages: Sequence[QueueMessage]) -> None:
        self.send_bodies([message.model_dump_json(exclude_none=True) for message in messages])

    def send_bodies(self, bodies: Sequence[str]) -> None:
        for chunk in _chunks(bodies):
            entries = [{'Id': str(index), 'MessageBody': body} for index, body in enumerate(chunk)]
            for _ in range(3):
                response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
                failed = {item['Id'] for item in response.get('Failed', [])}
                entries = [entry for entry in entries if entry['Id'] in failed]
                if not entries:
                    break
            if entries:
                raise RuntimeError(f'{len(entries)} messages could not be queued')


def _chunks(bodies: Sequence[str]) -> list[list[str]]:
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if current and (len(current) == BATCH or size + length > MAX_BATCH_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append(body)
        size += length
    if current:
        chunks.append(current)
    return chunks
