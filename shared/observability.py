"""Powertools Logger and Metrics, created once and imported everywhere.

No Powertools Tracer: importing the X-Ray SDK costs more than importing boto3 itself (measured by
`make bench`), so functions rely on Lambda's own active tracing (`Tracing: Active`) instead.

Logs are JSON with a correlation id per webhook; e-mail addresses and phone numbers are masked in
every log line, whatever field or message they appear in. Logs carry field names and reasons, never values:
a pydantic `input_value` is cut out of every message, traceback and stack trace (`ValidationError`'s own text
prints it), and extra fields named like personal data (`name`, `phone`, `email`, `whatsapp`, ...) are redacted
whatever they hold. Code reports validation errors through `shared.errors.validation_errors` in the first place.
"""

from __future__ import annotations

import os
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

_EMAIL = re.compile(r'([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})')
# E.164 ('+' then 8-15 digits, separators allowed) and national formats of 10+ digits. Dates and
# times (2024-05-14 09:12) are not phone numbers.
_PHONE = re.compile(r'(?<![\w+])(?!\d{4}-\d{2}-\d{2})(\+?\(?\d[\d\s().-]{6,}\d)(?![\w])')


def _mask_phone(match: re.Match[str]) -> str:
    raw = match.group(1)
    digits = [c for c in raw if c.isdigit()]
    if len(digits) < (8 if raw.startswith('+') else 10) or len(digits) > 15:
        return raw
    return ('+' if raw.startswith('+') else '') + '*' * (len(digits) - 2) + ''.join(digits[-2:])


def mask_pii(text: str) -> str:
    """Mask e-mail addresses (keep first letter and domain) and phone numbers (keep last two digits)."""
    text = _EMAIL.sub(lambda m: f'{m.group(1)}***@{m.group(2)}', text)
    return _PHONE.sub(_mask_phone, text)


# pydantic's error text: `[type=string_type, input_value='Jane Doe', input_type=str]`. The value's repr is one line.
_INPUT_VALUE = re.compile(r'input_value=.*?, input_type=')
# Extra fields that hold personal data by their name: redacted whatever their value (names are not masked by pattern).
PII_KEYS = frozenset({
    'name', 'first_name', 'last_name', 'full_name', 'display_name', 'employee_name', 'customer_name', 'requester_name',
    'requester', 'customer', 'phone', 'phone_number', 'mobile', 'whatsapp', 'email', 'e_mail', 'email_address',
    'customer_email', 'customer_phone', 'requester_email', 'address', 'comment',
})  # fmt: skip
REDACTED = '[redacted]'


def strip_input_values(text: str) -> str:
    """pydantic's `input_value=...` removed from an error text or a traceback (the type is kept)."""
    return _INPUT_VALUE.sub('input_type=', text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return strip_input_values(value)
    if isinstance(value, dict):
        return {key: REDACTED if isinstance(key, str) and key.lower() in PII_KEYS and value[key] not in (None, '')
                else _scrub(value[key]) for key in value}  # fmt: skip
    if isinstance(value, (list, tuple)):
        return [_scrub(item) for item in value]
    return value


def safe_reason(text: str) -> str:
    """A reason as it may be stored or logged: pydantic input values removed, e-mail addresses and phones masked."""
    return mask_pii(strip_input_values(text))


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Redacts personal-data keys, drops pydantic input values, then masks e-mail addresses and phone numbers."""

    def serialize(self, log: Any) -> str:
        if isinstance(log, dict):
            log = _scrub(log)
        return mask_pii(strip_input_values(super().serialize(log)))


SERVICE = os.environ.get('POWERTOOLS_SERVICE_NAME', 'pitcrew')
NAMESPACE = os.environ.get('POWERTOOLS_METRICS_NAMESPACE', 'Pitcrew')

logger = Logger(service=SERVICE, logger_formatter=MaskingFormatter())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
