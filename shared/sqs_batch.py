"""Partial batch responses for the SQS consumers, without Powertools' batch utility.

Powertools' `BatchProcessor` imports the whole event data classes package (a wrapper for every event source, asyncio,
tempfile, zipfile): about a quarter of `import boto3` on every cold start of a consumer, for a loop over the records.
This is that loop, for SQS, with the same answer as `process_partial_response(processor=BatchProcessor(EventType.SQS,
raise_on_entire_batch_failure=False))`: each record's handler runs in order; a record whose handler raises is reported in
`batchItemFailures` (Lambda deletes the others and delivers it again), even when every record failed; the exceptions of
the last batch stay in `exceptions` as `(type, value, traceback)`, as Powertools' processor keeps them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

ExceptionInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


@dataclass(frozen=True)
class SqsAttributes:
    approximate_receive_count: str | None


class SqsRecord:
    """One SQS record of a Lambda event: the fields the consumers read (the names of Powertools' `SQSRecord`)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw_event = raw

    @property
    def body(self) -> str:
        return str(self.raw_event['body'])

    @property
    def message_id(self) -> str:
        return str(self.raw_event['messageId'])

    @property
    def receipt_handle(self) -> str:
        return str(self.raw_event['receiptHandle'])

    @property
    def attributes(self) -> SqsAttributes:
        return SqsAttributes(approximate_receive_count=(self.raw_event.get('attributes') or {}).get('ApproximateReceiveCount'))


class SqsBatch:
    """Runs a record handler over an SQS event and answers with the records that failed."""

    def __init__(self) -> None:
        self.exceptions: list[ExceptionInfo] = []

    def process(self, event: Mapping[str, Any], record_handler: Callable[[SqsRecord], object]) -> dict[str, list[dict[str, str]]]:
        try:
            records = event.get('Records', [])
        except AttributeError:
            raise ValueError('Invalid event format. Please ensure batch event is a valid SQS event.') from None
        self.exceptions = []
        failures: list[dict[str, str]] = []
        for raw in records:
            record = SqsRecord(raw)
            try:
                record_handler(record)
            except Exception:  # the record is delivered again; the others are deleted
                self.exceptions.append(sys.exc_info())
                failures.append({'itemIdentifier': record.message_id})
        return {'batchItemFailures': failures}


def process_partial_response(event: Mapping[str, Any], record_handler: Callable[[SqsRecord], object],
                             processor: SqsBatch) -> dict[str, list[dict[str, str]]]:  # fmt: skip
    """The partial batch response of an SQS event (ReportBatchItemFailures)."""
    return processor.process(event, record_handler)
