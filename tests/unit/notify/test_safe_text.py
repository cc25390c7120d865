"""Sender text made safe before it reaches a person (pure): the cleaning rules, and a hostile ticket id fed through every
message Pitcrew composes (alerts of every kind in every language, the reminder, every reply, TODAY, RANK, the league
notices and the managers' summary, e-mail subjects), of which nothing hostile may survive."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from shared.leagues.announce_texts import SummaryDivision, SummaryLocation, SummaryRow, league_month, result_text, summary_email
from shared.notify import EmailContent
from shared.notify.conversations import twiml
from shared.notify.languages import LANGUAGES
from shared.notify.messages import (
    ALERT_TEXTS,
    REPLIES,
    AlertText,
    RankLine,
    ReminderFigures,
    TodayItem,
    alert_text,
    rank_text,
    reminder_text,
    reply,
    today_text,
)
from shared.notify.safe_text import ELLIPSIS, LIMITS, clean, one_line, ours, render, whatsapp_variable

# A ticket id as a token holder could send it: 256 characters, line breaks, a tab, links with and without a scheme,
# a bidi override that would show "exe.png" as "gnp.exe", an isolate, a zero-width space inside a domain.
HOSTILE = ('JC-1\r\nSTOP\tReply YES at http://evil.example.com/pay?x=1 or bit.ly/abc or www.phish.io or '
           'pay\u200b.example.org \u202egnp.exe\u202c \u2066x\u2069 10.0.0.1/login ').ljust(256, 'Z')  # fmt: skip
BENIGN = 'JC-1'
FORBIDDEN_CHARS = '\r\t\u202e\u202c\u2066\u2069\u200b'
FORBIDDEN_TEXT = ('http', 'evil.example.com', 'bit.ly', 'www.phish', 'phish.io', 'example.org', '10.0.0.1', '     ')
DUE = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def assert_harmless(text: str, benign: str) -> None:
    """Nothing of HOSTILE survives in `text`: no control, bidi or zero-width character, no more line breaks than the same
    message about a benign id has, no link a phone would open, no run of the padding longer than a ticket id's cap."""
    assert not set(FORBIDDEN_CHARS) & set(text), text
    assert text.count('\n') == benign.count('\n'), text
    for fragment in FORBIDDEN_TEXT:
        assert fragment not in text, (fragment, text)
    assert 'Z' * (LIMITS['threshold'] + 1) not in text
    assert HOSTILE not in text


def assert_harmless_alert(text: AlertText, benign: AlertText) -> None:
    assert_harmless(text.body, benign.body)
    assert_harmless(text.subject, '')
    for number, variable in text.variables.items():
        assert_harmless(variable, '')
        assert variable.strip() and len(variable) <= 250, (number, variable)


# --- the rules ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('sent', 'shown'),
    [
        ('http://evil.com/x', 'evil[.]com/x'),
        ('see bit.ly/abc now', 'see bit[.]ly/abc now'),
        ('www.evil.co.uk', 'www[.]evil[.]co[.]uk'),
        ('HTTPS://Evil.COM', 'Evil[.]COM'),
        ('\uff45\uff56\uff49\uff4c\uff0e\uff43\uff4f\uff4d', 'evil[.]com'),  # fullwidth, folded by NFKC
        ('evil\u3002com', 'evil[.]com'),  # an ideographic full stop, which IDNA reads as a dot
        ('ev\u200bil.com', 'evil[.]com'),  # a zero-width space cannot hide a domain
        ('mail a@b.com', 'mail a@b[.]com'),
        ('10.0.0.1:8080/a', '10[.]0[.]0[.]1:8080/a'),
    ],
)
def test_links_are_neutralised(sent: str, shown: str) -> None:
    # Given a value holding a link, in any of its disguises
    # When it is cleaned, then it reads the same to a person but no client makes a link of it
    assert clean(sent) == shown


@pytest.mark.parametrize('value', ['JC-2026-00042', '#1001', '5003000000D8cuIQAB', 'Workshop technicians · South', 'Ravi Kumar',
                                  'प्रिया शर्मा', '1.º de 4', 'v1.2', '1,240 points: +1,000 points. Trophy: Sharpshooter.'])  # fmt: skip
def test_ordinary_values_are_left_as_they_are(value: str) -> None:
    # Given ids, names and result lines as people write them (no link, one line, short)
    # When they are cleaned, then nothing changes
    assert clean(value) == value


def test_line_breaks_controls_and_runs_of_spaces_become_one_space() -> None:
    # Given a value with CR/LF, a tab, a NUL, a vertical tab, a line separator and a run of spaces
    # When it is cleaned, then each gap is one space and the ends are trimmed
    assert clean(' a\r\nb\tc\x00d\x0be\u2028f      g ') == 'a b c d e f g'


def test_bidi_overrides_and_invisible_characters_are_removed() -> None:
    # Given a file name spoofed with a right-to-left override, isolates, marks and a soft hyphen
    # When it is cleaned, then the characters are gone and the text reads in its stored order
    assert clean('invoice\u202egnp.exe\u202c \u2066a\u2069\u200e\u00ad!') == 'invoicegnp[.]exe a!'


def test_a_long_value_is_cut_with_an_ellipsis() -> None:
    # Given a 256-character id, and one of exactly the cap
    # When they are cleaned with a cap of 64
    long, exact = clean('A' * 256, 64), clean('B' * 64, 64)

    # Then the long one has 63 characters and the ellipsis, and the other is whole
    assert long == 'A' * 63 + ELLIPSIS and len(long) == 64
    assert exact == 'B' * 64


def test_only_the_start_of_a_huge_value_is_read_and_the_cut_shows() -> None:
    # Given a megabyte-long id, and a short one followed by a thousand spaces and more text
    # When they are cleaned with a cap of 64 and of 10
    huge, padded = clean('A' * 1_000_000, 64), clean('ab' + ' ' * 1000 + 'c', 10)

    # Then each is capped, and where text was left unread the ellipsis says so
    assert huge == 'A' * 63 + ELLIPSIS
    assert padded == 'ab' + ELLIPSIS


def test_render_cleans_every_value_but_what_pitcrew_composed() -> None:
    # Given a template filled with a hostile value, a number and a composed list of lines
    # When it is rendered
    text = render('{ref} ({count}):{lines}', ref='A\nB http://x.io', count=3, lines=ours('\n- one\n- two'))

    # Then the value is one clean line, the number is as given and the composed lines keep their breaks
    assert text == 'A B x[.]io (3):\n- one\n- two'


def test_an_email_subject_is_one_line_whoever_built_it() -> None:
    # Given an e-mail content whose subject holds a header injection
    content = EmailContent(subject='Results\r\nBcc: victim@example.com', text='body\nline 2')

    # Then the subject is one line (no header can be added) and the body keeps its lines
    assert content.subject == 'Results Bcc: victim@example.com'
    assert content.text == 'body\nline 2'
    assert one_line('x' * 500) == 'x' * 199 + ELLIPSIS


def test_a_whatsapp_variable_is_one_line_with_single_spaces_and_never_empty() -> None:
    # Given variables WhatsApp would refuse: a newline, a tab, five spaces, an empty one
    # Then each becomes acceptable
    assert whatsapp_variable('a\nb\tc     d') == 'a b c d'
    assert whatsapp_variable('  ') == '-'
    assert len(whatsapp_variable('x' * 2000)) == 250


# --- a hostile ticket id through every message ------------------------------------------------------------------------


def compose_alert(kind: str, language: str, ref: str) -> AlertText:
    """The alert `kind` about `ref`; where the planner puts a sender's value into the threshold, it is `ref` too."""
    threshold = {'sla_risk': '75%', 'sla_breach': 'level-1', 'promise_missed': 'promised', 'approval_waiting': '120m@20261123T1000',
                 'league_result': 'you finished 1st of 5 in Workshop technicians · South with 1,240 points.'}.get(kind, ref)  # fmt: skip
    return alert_text(kind=kind, language=language, name='Ana', ref=ref, metric='resolution', threshold=threshold, due_at=DUE,
                      zone='Asia/Kolkata', owner_name='Ravi Kumar', target_due_at=DUE + timedelta(hours=1))  # fmt: skip


@pytest.mark.parametrize('language', LANGUAGES)
@pytest.mark.parametrize('kind', [kind for kind in ALERT_TEXTS['en'] if kind != 'manager'])
def test_a_hostile_ticket_id_is_harmless_in_every_alert(kind: str, language: str) -> None:
    # Given the alert of this kind about a hostile ticket id, and the same alert about JC-1
    text, benign = compose_alert(kind, language, HOSTILE), compose_alert(kind, language, BENIGN)

    # Then the SMS/e-mail body, the e-mail subject and each WhatsApp variable carry the id only as one short clean line
    assert_harmless_alert(text, benign)
    assert text.variables['2'] == clean(HOSTILE, LIMITS['ref'])
    assert text.variables['2'].endswith(ELLIPSIS) and text.variables['2'].startswith('JC-1 STOP Reply YES at evil[.]example[.]com/')
    # And the rest of the message is the benign one's (where the threshold is a sender's value too, it is capped likewise)
    cleaned = (clean(HOSTILE, LIMITS['threshold']), clean(HOSTILE, LIMITS['ref']))
    assert text.body.replace(cleaned[0], BENIGN).replace(cleaned[1], BENIGN) == benign.body


@pytest.mark.parametrize('language', LANGUAGES)
def test_hostile_names_are_harmless_in_an_alert_and_the_reminder(language: str) -> None:
    # Given a person, their team member and their role's target, each named with the hostile text
    alert = alert_text(kind='sla_breach', language=language, name=HOSTILE, ref='T-1', metric='resolution', threshold='level-1',
                       due_at=DUE, zone='UTC', owner_name=HOSTILE)  # fmt: skip
    benign_alert = alert_text(kind='sla_breach', language=language, name='Ana', ref='T-1', metric='resolution', threshold='level-1',
                              due_at=DUE, zone='UTC', owner_name='Ravi')  # fmt: skip
    figures = ReminderFigures(open=2, jobs=1, approvals=0, due_today=1, breaches=0, points=5, balance=50)
    reminder = reminder_text(language, HOSTILE, ReminderFigures(**{**figures.__dict__, 'targets': HOSTILE}))
    benign_reminder = reminder_text(language, 'Ana', ReminderFigures(**{**figures.__dict__, 'targets': 'Close 8 job cards.'}))

    # Then neither carries anything of it but a clean, capped line
    assert_harmless_alert(alert, benign_alert)
    assert_harmless_alert(reminder, benign_reminder)
    assert len(reminder.variables['1']) == LIMITS['name']


@pytest.mark.parametrize('language', LANGUAGES)
@pytest.mark.parametrize('key', list(REPLIES['en']))
def test_a_hostile_value_is_harmless_in_every_reply(key: str, language: str) -> None:
    # Given every placeholder of the reply filled with the hostile text (an entry code typed into WhatsApp, say)
    fields = {name for _, name, _, _ in string.Formatter().parse(REPLIES[language][key]) if name}
    text, benign = reply(language, key, **dict.fromkeys(fields, HOSTILE)), reply(language, key, **dict.fromkeys(fields, BENIGN))

    # Then the reply carries it as clean short lines, and its TwiML is well-formed XML with the same text
    assert_harmless(text, benign)
    assert ElementTree.fromstring(twiml(text)).findtext('Message') == text


@pytest.mark.parametrize('language', LANGUAGES)
def test_a_hostile_ticket_id_is_harmless_in_the_today_list(language: str) -> None:
    # Given two open items, one with the hostile id, and the same list with benign ids
    def items(ref: str) -> list[TodayItem]:
        return [TodayItem(ref, DUE, approval=True, job_card=True), TodayItem('T-2', DUE + timedelta(hours=1))]

    text, benign = today_text(language, 'UTC', items(HOSTILE)), today_text(language, 'UTC', items(BENIGN))

    # Then each item is still one line, the hostile one cut and cleaned
    assert_harmless(text, benign)
    assert f'\n- {clean(HOSTILE, LIMITS["ref"])} 23 ' in text


@pytest.mark.parametrize('language', LANGUAGES)
def test_hostile_league_and_division_names_are_harmless_in_rank(language: str) -> None:
    # Given RANK answers of every form for leagues and divisions named with the hostile text
    def lines(name: str) -> list[RankLine]:
        return [RankLine(league=name, has_points=False), RankLine(league=name, division=name, qualified=False, items=2, min_items=5),
                RankLine(league=name, division=name, rank=2, of=9, next_rank=1, behind=4.5)]  # fmt: skip

    # Then the answer has one line per league, as the benign one has, and nothing hostile
    assert_harmless(rank_text(language, lines(HOSTILE)), rank_text(language, lines(BENIGN)))


@pytest.mark.parametrize('language', LANGUAGES)
def test_hostile_names_are_harmless_in_the_league_notices_and_summary(language: str) -> None:
    # Given a league, a division, a location, a person, trophies and challenges named with the hostile text
    def notice(name: str) -> str:
        return league_month(language, name, '2026-10') + result_text(language, division=name, rank=1, of=5, points=1240, reward=500,
                                                                     trophies=(name, name), challenges=(name,))  # fmt: skip

    def summary(name: str) -> EmailContent:
        row = SummaryRow(rank=1, name=name, points=1240, prize=500, trophies=(name,), challenges=(name,))
        division = SummaryDivision(name=name, ranked=5, eligible=6, scored=5, participation_pct=83.3, top=(row, SummaryRow(2, None, 900)),
                                   people=(row, SummaryRow(None, name, 10)))  # fmt: skip
        return summary_email(language, league=name, month='2026-10', locations=[SummaryLocation(name, 6, 5)], divisions=[division])

    # Then the winner's notice and the manager's e-mail carry them only as clean capped lines
    assert_harmless(notice(HOSTILE), notice(BENIGN))
    hostile, benign = summary(HOSTILE), summary(BENIGN)
    assert_harmless(hostile.text, benign.text)
    assert_harmless(hostile.subject, '')


def test_no_alert_variable_or_subject_can_hold_a_line_break() -> None:
    # Given an alert text built directly, as a new message kind might, with a newline and a run of spaces in a variable
    text = AlertText(body='b', variables={'1': 'a\nb', '2': 'c      d', '3': ''}, subject='s')

    # Then its variables are what WhatsApp accepts
    assert text.variables == {'1': 'a b', '2': 'c d', '3': '-'}
    assert all(not re.search(r'\s{2,}', value) for value in text.variables.values())


@pytest.mark.parametrize('module', ['shared/notify/messages.py', 'shared/leagues/announce_texts.py', 'shared/notify/conversations.py'])
def test_no_message_template_is_filled_past_render(module: str) -> None:
    # Given the modules that hold or fill message templates
    source = (Path(__file__).parents[3] / module).read_text(encoding='utf-8')

    # Then no template table is filled with str.format (which would put a sender's value in raw): only through render
    assert not re.search(r'(?i)(texts|replies)\[[^\]]*\](\[[^\]]*\])*\.format(_map)?\(', source)
