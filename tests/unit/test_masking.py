"""Phone numbers and e-mail addresses never reach the logs in clear."""

from __future__ import annotations

import json
import logging

from shared.observability import MaskingFormatter, mask_pii


def test_mask_pii_hides_emails_and_phone_numbers() -> None:
    # Given a message with an e-mail and two phone formats
    text = 'sent to agent1@example.com at +15558675310 and (555) 867-5311, ticket 35436 at 2024-05-14 09:12:31'

    # When masked
    masked = mask_pii(text)

    # Then neither appears, the domain and last two digits remain, and short numbers are untouched
    assert 'agent1@example.com' not in masked and 'a***@example.com' in masked
    assert '5558675310' not in masked and '+*********10' in masked
    assert '867-5311' not in masked
    assert 'ticket 35436' in masked
    assert '2024-05-14 09:12:31' in masked


def test_formatter_masks_structured_fields() -> None:
    # Given a log record carrying PII in an extra field
    formatter = MaskingFormatter()
    record = logging.LogRecord('t', logging.INFO, __file__, 1, 'alert for %s', ('+919812345678',), None)
    record.recipient = 'dev@example.com'

    # When formatted
    line = json.loads(formatter.format(record))

    # Then the message and the field are masked
    assert '9812345678' not in line['message']
    assert line['recipient'] == 'd***@example.com'
