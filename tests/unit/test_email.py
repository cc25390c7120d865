"""The admin e-mail sender: SES SendEmail with simple content, nothing sent without recipients, and
no address in clear in the logs or in the error that Lambda records."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.notify.email import EmailContent, EmailNotSent, SesEmailSender, parse_recipients
from shared.observability import logger

EMAIL = EmailContent(subject='Pitcrew ledger audit 2024-05-20: OK', text='All good.\n')


@pytest.fixture()
def log_lines() -> Iterator[io.StringIO]:
    """What the functions' logger writes, through its own (masking) formatter."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


@dataclass
class RecordingSes:
    error: ClientError | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return {'MessageId': 'm-1'}


def test_recipients_are_parsed_from_a_comma_separated_setting() -> None:
    # When a setting with spaces, an empty item and a repeat is parsed
    # Then each address appears once, in order
    assert parse_recipients(' ops@example.com, ,lead@example.org,ops@example.com ') == ('ops@example.com', 'lead@example.org')
    assert parse_recipients('') == ()


def test_sends_one_plain_text_message_from_the_identity_to_every_recipient() -> None:
    # Given a configured sender
    ses = RecordingSes()
    sender = SesEmailSender('audit@example.com', ('ops@example.com', 'lead@example.org'), client=ses)

    # When the e-mail is sent
    message_id = sender.send(EMAIL)

    # Then SES got one SendEmail with the subject and the text body
    assert message_id == 'm-1'
    assert ses.calls == [{
        'FromEmailAddress': 'audit@example.com',
        'Destination': {'ToAddresses': ['ops@example.com', 'lead@example.org']},
        'Content': {'Simple': {'Subject': {'Data': EMAIL.subject, 'Charset': 'UTF-8'},
                               'Body': {'Text': {'Data': EMAIL.text, 'Charset': 'UTF-8'}}}},
    }]


@pytest.mark.parametrize(('sender', 'recipients'), [('audit@example.com', ()), ('', ('ops@example.com',))])
def test_nothing_is_sent_without_recipients_or_sender(sender: str, recipients: tuple[str, ...], log_lines: io.StringIO) -> None:
    # Given no recipients, or no sender identity
    ses = RecordingSes()

    # When the e-mail is "sent"
    message_id = SesEmailSender(sender, recipients, client=ses).send(EMAIL)

    # Then SES is not called, and the log says why without naming anyone
    assert message_id is None and ses.calls == []
    out = log_lines.getvalue()
    assert 'e-mail not sent' in out
    assert 'ops@example.com' not in out and 'audit@example.com' not in out


def test_too_many_recipients_is_a_configuration_error() -> None:
    # When more recipients than SES takes in one message are configured
    # Then the sender refuses to be built
    with pytest.raises(ValueError, match='at most 50'):
        SesEmailSender('audit@example.com', tuple(f'a{n}@example.com' for n in range(51)))


def test_a_refused_send_is_logged_masked_and_raised_without_addresses(log_lines: io.StringIO) -> None:
    # Given SES refuses, quoting the unverified addresses in its message (as it does in the sandbox)
    error = ClientError({'Error': {'Code': 'MessageRejected', 'Message': 'Email address is not verified. The following identities '
                                   'failed the check in region US-EAST-1: audit@example.com, ops@example.com'}}, 'SendEmail')
    sender = SesEmailSender('audit@example.com', ('ops@example.com',), client=RecordingSes(error=error))

    # When the e-mail is sent
    with pytest.raises(EmailNotSent) as raised:
        sender.send(EMAIL)

    # Then the error Lambda would record names the code only, and chains nothing that holds an address
    assert str(raised.value) == 'the e-mail was not sent: MessageRejected'
    assert raised.value.__suppress_context__ and raised.value.__cause__ is None
    # And the log line (with the exception text) has the addresses masked
    out = log_lines.getvalue()
    assert 'MessageRejected' in out
    assert 'audit@example.com' not in out and 'ops@example.com' not in out
    assert 'a***@example.com' in out and 'o***@example.com' in out
