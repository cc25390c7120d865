"""THANKS <employee code> <points> <message> #value: the keyword in each language, and what is read out of the text."""

from __future__ import annotations

import pytest

from shared.notify.twilio_webhooks import Command, inbound_message
from shared.recognition.service import parse_thanks


@pytest.mark.parametrize('body', ['THANKS TECH-104 20 great job #teamwork', 'thanks tech-104 20 great job #teamwork',
                                  'GRACIAS AG-204 20 gracias #ownership', 'DHANYAVAAD TECH-104 20 shukriya #teamwork',
                                  'धन्यवाद TECH-104 20 शुक्रिया #teamwork', 'TERIMA KASIH TECH-104 20 mantap #teamwork',
                                  'Terima kasih, TECH-104 20 mantap #teamwork', 'terimakasih TECH-104 20 mantap #teamwork',
                                  'Makasih TECH-104 20 mantap #teamwork'])  # fmt: skip
def test_the_keyword_in_every_language_is_the_thanks_command(body: str) -> None:
    message = inbound_message({'MessageSid': 'SM1', 'From': 'whatsapp:+15558675310', 'Body': body})
    assert message.command is Command.THANKS


def test_the_code_points_message_and_last_value_tag_are_read() -> None:
    # only the last #word is the value: an earlier one stays in the message
    assert parse_thanks('THANKS tech-104 20 stayed late for the #1 customer #teamwork') == (
        'tech-104', '20', 'stayed late for the #1 customer', 'teamwork')
    # the value may come first; the last #word is the value
    assert parse_thanks('GRACIAS AG-2 15 #ownership   resolvió el caso') == ('AG-2', '15', 'resolvió el caso', 'ownership')
    # Devanagari digits are read as points by the use case (int('२०') == 20)
    code, points, message, value = parse_thanks('धन्यवाद TECH-104 २० बढ़िया काम #teamwork') or ('', '', '', '')
    assert (code, int(points), message, value) == ('TECH-104', 20, 'बढ़िया काम', 'teamwork')
    # no message, no value: read as empty (refused by the judgement, naming the field)
    assert parse_thanks('THANKS TECH-104 20') == ('TECH-104', '20', '', '')
    assert parse_thanks('THANKS TECH-104') is None
    # Indonesian's two-word keyword, in any case and spacing, is the keyword: the code follows it
    assert parse_thanks('Terima  kasih tech-104 20 terima kasih atas bantuannya #teamwork') == (
        'tech-104', '20', 'terima kasih atas bantuannya', 'teamwork')
    assert parse_thanks('TERIMAKASIH TECH-104 15 #teamwork mantap') == ('TECH-104', '15', 'mantap', 'teamwork')
    assert parse_thanks('Terima kasih, TECH-104 15 mantap #teamwork') == ('TECH-104', '15', 'mantap', 'teamwork')
    assert parse_thanks('TERIMA KASIH TECH-104') is None
