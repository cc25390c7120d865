"""Validation errors become field names and reasons; the log formatter drops input values and personal-data fields."""

from __future__ import annotations

import json
import logging
import sys

from pydantic import BaseModel, Field, ValidationError

from shared.errors import InvalidPayload, first_validation_error, invalid_from_validation, safe_error_text, validation_errors
from shared.observability import MaskingFormatter, safe_reason, strip_input_values

NAME = 'Jane Q. Customer'


class Person(BaseModel):
    name: str = Field(max_length=5)
    age: int


def failure() -> ValidationError:
    try:
        Person.model_validate({'name': NAME, 'age': NAME})
    except ValidationError as exc:
        return exc
    raise AssertionError('expected a ValidationError')


def test_validation_errors_name_fields_and_reasons_without_values() -> None:
    # Given a ValidationError whose str() prints the input values
    exc = failure()
    assert NAME in str(exc)

    # When turned into fields and reasons, the first error, an InvalidPayload and a safe text
    errors = validation_errors(exc)
    first = first_validation_error(exc, prefix='rows[2]')
    invalid = invalid_from_validation(exc)
    text = safe_error_text(exc)

    # Then each names the field and the reason, and none holds the value
    assert [field for field, _ in errors] == ['name', 'age']
    assert first[0] == 'rows[2].name' and 'at most 5 characters' in first[1]
    assert isinstance(invalid, InvalidPayload) and invalid.field == 'name'
    assert 'name:' in text and 'age:' in text
    for rendered in (repr(errors), repr(first), invalid.reason, text):
        assert NAME not in rendered


def test_strip_input_values_keeps_the_type_and_drops_the_value() -> None:
    # Given pydantic's own error text
    text = str(failure())

    # When stripped
    stripped = strip_input_values(text)

    # Then the error types remain, the values are gone
    assert 'type=string_too_long' in stripped and 'input_type=str' in stripped
    assert NAME not in stripped and 'input_value' not in stripped


def test_safe_reason_masks_contacts_in_a_stored_reason() -> None:
    # Given a reason an old code path wrote with an e-mail and a phone in it
    # When made safe
    reason = safe_reason("unknown status 'jane.customer@example.org +14155550123'")

    # Then neither is readable
    assert 'jane.customer@' not in reason and '4155550123' not in reason


def test_formatter_drops_input_values_from_tracebacks_and_redacts_personal_fields() -> None:
    # Given a log record with a ValidationError's traceback and extra fields named like personal data
    exc = failure()
    record = logging.LogRecord('t', logging.ERROR, __file__, 1, 'event failed', (), (type(exc), exc, exc.__traceback__))
    record.customer_name = NAME
    record.detail = {'phone': '+14155550123', 'email': 'x@example.org', 'field': 'ticket.status'}
    record.league_name = 'October league'

    # When formatted as the Lambda log stream gets it
    line = MaskingFormatter().format(record)
    parsed = json.loads(line)

    # Then the traceback keeps the error and field names but no value; personal fields are redacted, others kept
    assert NAME not in line and 'input_value' not in line and '4155550123' not in line
    assert 'ValidationError' in parsed['exception'] and 'string_too_long' in parsed['exception']
    assert parsed['customer_name'] == '[redacted]'
    assert parsed['detail'] == {'phone': '[redacted]', 'email': '[redacted]', 'field': 'ticket.status'}
    assert parsed['league_name'] == 'October league'
    assert sys.exc_info() == (None, None, None)
