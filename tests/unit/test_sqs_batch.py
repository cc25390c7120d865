"""The SQS consumers' partial batch response (shared/sqs_batch.py): the records whose handler raised, and only those, are
reported for delivery again, whatever their number; the handler sees each record's fields."""

from __future__ import annotations

from typing import Any

import pytest

from shared.sqs_batch import SqsBatch, SqsRecord, process_partial_response


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {'Records': [{'messageId': f'm{i}', 'receiptHandle': f'r{i}', 'body': body, 'attributes': {'ApproximateReceiveCount': str(i + 1)}}
                        for i, body in enumerate(bodies)]}  # fmt: skip


def fail_on_bad(record: SqsRecord) -> None:
    if record.body == 'bad':
        raise RuntimeError(f'cannot handle {record.message_id}')


def test_only_the_records_that_raised_are_reported_in_order() -> None:
    # Given a batch of four records, the second and fourth of which the handler cannot handle
    batch = SqsBatch()
    # When the batch is processed
    answer = process_partial_response(event=sqs_event('ok', 'bad', 'ok', 'bad'), record_handler=fail_on_bad, processor=batch)
    # Then those two are reported for delivery again, and their exceptions are kept
    assert answer == {'batchItemFailures': [{'itemIdentifier': 'm1'}, {'itemIdentifier': 'm3'}]}
    assert [str(value) for _, value, _ in batch.exceptions] == ['cannot handle m1', 'cannot handle m3']


def test_a_batch_that_fails_entirely_is_reported_record_by_record_and_a_clean_one_reports_nothing() -> None:
    # Given a processor that has just seen a failing batch
    batch = SqsBatch()
    everything = process_partial_response(event=sqs_event('bad', 'bad'), record_handler=fail_on_bad, processor=batch)
    # When a clean batch follows
    clean = process_partial_response(event=sqs_event('ok'), record_handler=fail_on_bad, processor=batch)
    # Then the failed batch named every record (no exception for the whole batch), the clean one none, and the
    # exceptions are the last batch's
    assert everything == {'batchItemFailures': [{'itemIdentifier': 'm0'}, {'itemIdentifier': 'm1'}]}
    assert clean == {'batchItemFailures': []}
    assert batch.exceptions == []


def test_the_handler_reads_the_record_fields_the_consumers_use() -> None:
    # Given one record
    seen: list[tuple[str, str, str, str | None]] = []
    # When it is processed
    process_partial_response(event=sqs_event('{"a": 1}'), processor=SqsBatch(),
                             record_handler=lambda r: seen.append((r.body, r.message_id, r.receipt_handle,
                                                                   r.attributes.approximate_receive_count)))  # fmt: skip
    # Then it reads the body, id, receipt handle and receive count Lambda gave
    assert seen == [('{"a": 1}', 'm0', 'r0', '1')]
    # And a record without attributes has no receive count
    assert SqsRecord({'messageId': 'x', 'body': ''}).attributes.approximate_receive_count is None


def test_an_event_that_is_not_a_mapping_is_refused() -> None:
    # Given / When an event that is not an SQS event / Then it is refused as Powertools refuses it
    with pytest.raises(ValueError, match='Invalid event format'):
        process_partial_response(event=[], record_handler=fail_on_bad, processor=SqsBatch())  # type: ignore[arg-type]
