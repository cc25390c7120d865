"""Plain-text e-mail through Amazon SES (API v2, `SendEmail` with Simple content).

The sender identity (`AUDIT_EMAIL_FROM`) must be verified in SES in the function's region; while the
account is in the SES sandbox, every recipient must be verified too. Addresses are configuration, not
secrets, but they are personal data: they are never logged in clear (the Powertools formatter in
`shared.observability` masks any address in any log field, including exception text), and a send
failure is re-raised without them, so Lambda's own error record does not carry them either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.config import get_settings
from shared.notify import EmailContent
from shared.observability import logger

__all__ = ['EmailContent', 'EmailNotSent', 'SesEmailSender', 'parse_recipients']

# SES refuses a message with more than 50 recipients.
MAX_RECIPIENTS = 50


class EmailNotSent(Exception):
    """SES refused or could not be reached. The message names the error code only, no address."""

    def __init__(self, code: str) -> None:
        super().__init__(f'the e-mail was not sent: {code}')
        self.code = code


def parse_recipients(value: str) -> tuple[str, ...]:
    """`a@x.com, b@y.org` -> ('a@x.com', 'b@y.org'); blanks and repeats are dropped."""
    return tuple(dict.fromkeys(part.strip() for part in value.split(',') if part.strip()))


class SesEmailSender:
    def __init__(self, sender: str, recipients: Sequence[str], client: Any | None = None) -> None:
        if len(recipients) > MAX_RECIPIENTS:
            raise ValueError(f'SES accepts at most {MAX_RECIPIENTS} recipients per message, got {len(recipients)}')
        self.sender = sender.strip()
        self.recipients = tuple(recipients)
        self._client = client

    @classmethod
    def from_settings(cls) -> SesEmailSender:
        settings = get_settings()
        return cls(settings.AUDIT_EMAIL_FROM, parse_recipients(settings.AUDIT_EMAIL_TO))

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # only a function that sends mail pays for it

            settings = get_settings()
            self._client = boto3.client('sesv2', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
        return self._client

    def send(self, email: EmailContent) -> str | None:
        """Send to every recipient in one message. Returns SES's message id, or None when no
        recipient or no sender is configured (logged, not an error: the digest is optional)."""
        if not self.recipients:
            logger.info('no e-mail recipients configured; e-mail not sent', extra={'subject': email.subject})
            return None
        if not self.sender:
            logger.warning('e-mail recipients configured but no sender identity; e-mail not sent',
                           extra={'subject': email.subject, 'recipients': len(self.recipients)})
            return None
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.send_email(
                FromEmailAddress=self.sender,
                Destination={'ToAddresses': list(self.recipients)},
                Content={
                    'Simple': {
                        'Subject': {'Data': email.subject, 'Charset': 'UTF-8'},
                        'Body': {'Text': {'Data': email.text, 'Charset': 'UTF-8'}},
                    }
                },
            )
        except ClientError as exc:
            code = str(exc.response.get('Error', {}).get('Code', 'ClientError'))
            logger.exception('SES refused the e-mail', extra={'error_code': code, 'subject': email.subject})
            raise EmailNotSent(code) from None
        except BotoCoreError as exc:
            logger.exception('SES could not be reached', extra={'error_code': type(exc).__name__})
            raise EmailNotSent(type(exc).__name__) from None
        message_id = str(response['MessageId'])
        logger.info('e-mail sent', extra={'subject': email.subject, 'recipients': len(self.recipients), 'message_id': message_id})
        return message_id
