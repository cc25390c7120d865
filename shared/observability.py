"""Powertools Logger and Metrics, created once and imported everywhere.

No Powertools Tracer: importing the X-Ray SDK costs more than importing boto3 itself (measured by
`make bench`), so functions rely on Lambda's own active tracing (`Tracing: Active`) instead.

Logs are JSON with a correlation id per webhook; e-mail addresses and phone numbers are masked in
every log line, whatever field or message they appear in.
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


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: Any) -> str:
        return mask_pii(super().serialize(log))


SERVICE = os.environ.get('POWERTOOLS_SERVICE_NAME', 'pitcrew')
NAMESPACE = os.environ.get('POWERTOOLS_METRICS_NAMESPACE', 'Pitcrew')

logger = Logger(service=SERVICE, logger_formatter=MaskingFormatter())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
