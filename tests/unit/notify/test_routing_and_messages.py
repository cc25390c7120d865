"""Which channel reaches a person, what alerts, reminders and replies say in their language and time zone, and the
TwiML answer to an inbound message (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.alerts.plan import AlertKind
from shared.alerts.settings import ReminderSettings
from shared.directory.contacts import Contact, contact_from_items
from shared.notify.conversations import twiml
from shared.notify.languages import LANGUAGES
from shared.notify.messages import (
    SUBJECT_KINDS,
    AlertText,
    RankLine,
    ReminderFigures,
    TodayItem,
    alert_text,
    dispute_status,
    local_time,
    rank_text,
    reminder_text,
    reply,
    today_text,
)
from shared.notify.routing import channels, unreachable_reason
from shared.notify.safe_text import ours

ANA = Contact(
    employee_id='E1',
    name='Ana Agent',
    active=True,
    phone='+15558675310',
    whatsapp_opt_in=True,
    email='ana@example.com',
    time_zone='America/New_York',
)
MARIA = replace(ANA, employee_id='M1', name='Maria Manager', role='manager', phone='+15558675300', email='maria@example.com')

# --- routing ------------------------------------------------------------------------------------------------------------


def test_an_assignee_is_reached_on_whatsapp_then_sms_then_email() -> None:
    # Given an assignee opted in to WhatsApp, with a phone and an e-mail, and an approved template for the alert
    # When the channels are chosen, then WhatsApp comes first, SMS is the fallback, e-mail the last resort
    assert channels(ANA, manager=False, has_template=True) == ['whatsapp', 'sms', 'email']


def test_without_a_template_whatsapp_is_not_used() -> None:
    # Given no approved WhatsApp template for this alert, then SMS comes first
    assert channels(ANA, manager=False, has_template=False) == ['sms', 'email']


def test_without_whatsapp_opt_in_whatsapp_is_not_used() -> None:
    # Given an assignee who never opted in to WhatsApp, then SMS comes first even with a template
    assert channels(replace(ANA, whatsapp_opt_in=False), manager=False, has_template=True) == ['sms', 'email']


def test_an_opt_out_removes_that_channel_only() -> None:
    # Given an assignee who opted out of WhatsApp, then of both WhatsApp and SMS
    whatsapp_out = replace(ANA, opted_out=frozenset({'whatsapp'}))
    both_out = replace(ANA, opted_out=frozenset({'whatsapp', 'sms'}))

    # When the channels are chosen, then SMS takes over, and then only e-mail is left
    assert channels(whatsapp_out, manager=False, has_template=True) == ['sms', 'email']
    assert channels(both_out, manager=False, has_template=True) == ['email']


def test_an_invalid_phone_leaves_email_only() -> None:
    # Given a phone Twilio reported invalid, then neither WhatsApp nor SMS is tried
    assert channels(replace(ANA, invalid_phone=True), manager=False, has_template=True) == ['email']


def test_a_person_without_phone_or_email_has_what_is_left() -> None:
    # Given a person without a phone, and one without an e-mail
    assert channels(replace(ANA, phone=None), manager=False, has_template=True) == ['email']
    assert channels(replace(ANA, email=None), manager=False, has_template=True) == ['whatsapp', 'sms']
    # And one with neither has no channel at all
    assert channels(replace(ANA, phone=None, email=None), manager=False, has_template=True) == []


def test_a_manager_gets_email_first_by_default() -> None:
    # Given a manager with no stated preference, then e-mail comes first and the phone channels follow in order
    assert channels(MARIA, manager=True, has_template=True) == ['email', 'whatsapp', 'sms']


def test_a_stated_preference_comes_first() -> None:
    # Given a manager who chose SMS, and an assignee who chose e-mail
    assert channels(replace(MARIA, alert_channel='sms'), manager=True, has_template=True) == ['sms', 'whatsapp', 'email']
    assert channels(replace(ANA, alert_channel='email'), manager=False, has_template=True) == ['email', 'whatsapp', 'sms']


def test_a_preference_that_cannot_be_used_is_skipped() -> None:
    # Given an assignee who prefers WhatsApp but there is no template for this alert, then the usual order applies
    assert channels(replace(ANA, alert_channel='whatsapp'), manager=False, has_template=False) == ['sms', 'email']
    # And a preference for a channel Pitcrew does not know changes nothing
    assert channels(replace(ANA, alert_channel='pager'), manager=False, has_template=True) == ['whatsapp', 'sms', 'email']


def test_an_inactive_person_is_not_reached() -> None:
    # Given someone inactive in the directory, then there is no channel for them
    assert channels(replace(ANA, active=False), manager=False, has_template=True) == []
    assert channels(replace(MARIA, active=False), manager=True, has_template=True) == []


def test_the_unreachable_reason_names_the_cause() -> None:
    # When the reason is asked for people nobody can reach, then it names what is missing
    assert unreachable_reason(None) == 'not in the directory'
    assert 'inactive' in unreachable_reason(replace(ANA, active=False))
    assert unreachable_reason(replace(ANA, phone=None, email=None)) == 'no phone, no e-mail'
    invalid = unreachable_reason(replace(ANA, invalid_phone=True, email=None))
    assert 'invalid' in invalid and '21211' in invalid and 'no e-mail' in invalid
    opted_out = unreachable_reason(replace(ANA, opted_out=frozenset({'whatsapp', 'sms'}), email=None))
    assert opted_out == 'opted out of sms, opted out of whatsapp, no e-mail'


def profile(**fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {'pk': {'S': 'EMP#E1'}, 'sk': {'S': 'PROFILE'}, 'employee_id': {'S': 'E1'}, 'name': {'S': 'Ana Agent'}}
    for name, value in fields.items():
        item[name] = {'BOOL': value} if isinstance(value, bool) else {'S': value}
    return item


def test_an_opt_out_applies_only_to_the_number_that_opted_out() -> None:
    # Given a profile with phone +1555...10, and a contact record where WhatsApp was opted out for that number and SMS for
    # an older number
    item = profile(phone='+15558675310', whatsapp_opt_in=True, email='ana@example.com')
    record = {'opt_out_whatsapp': {'S': '+15558675310'}, 'opt_out_sms': {'S': '+15550000000'}}

    # When the contact is read
    contact = contact_from_items(item, record)

    # Then only WhatsApp is opted out, and the alert goes by SMS
    assert contact.opted_out == frozenset({'whatsapp'})
    assert channels(contact, manager=False, has_template=True) == ['sms', 'email']


def test_an_invalid_number_applies_only_while_the_profile_has_it() -> None:
    # Given a contact record that reported +1555...10 invalid
    record = {'invalid_phone': {'S': '+15558675310'}}

    # When the profile still has that number, and after HR fixed it
    still = contact_from_items(profile(phone='+15558675310', email='ana@example.com'), record)
    fixed = contact_from_items(profile(phone='+15558675399', email='ana@example.com'), record)

    # Then only the first is invalid
    assert still.invalid_phone is True
    assert fixed.invalid_phone is False


def test_a_bare_profile_reads_with_defaults() -> None:
    # Given a profile with only an id and a name, and no contact record
    contact = contact_from_items(profile(), None)

    # Then the person is active, an agent, in UTC, speaks English, with nothing opted out
    assert contact == Contact(employee_id='E1', name='Ana Agent', active=True)
    assert (contact.role, contact.time_zone, contact.language, contact.opted_out, contact.invalid_phone) == (
        'agent',
        'UTC',
        'en',
        frozenset(),
        False,
    )
    # And an explicit inactive flag, language, zone and preference are read
    full = contact_from_items(profile(active=False, language='hi', time_zone='Asia/Kolkata', alert_channel='sms'), {})
    assert (full.active, full.language, full.time_zone, full.alert_channel) == (False, 'hi', 'Asia/Kolkata', 'sms')


# --- alert texts --------------------------------------------------------------------------------------------------------

DUE = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York (EST), 20:30 in Bengaluru


def risk(language: str = 'en', zone: str = 'America/New_York') -> AlertText:
    return alert_text(
        kind='sla_risk', language=language, name='Ana', ref='T-1', metric='first_response', threshold='75%', due_at=DUE, zone=zone
    )


def test_an_alert_reads_in_english_with_the_due_time_in_the_recipients_zone() -> None:
    # Given a risk alert for a New York agent
    text = risk()

    # Then the body, the e-mail subject and the WhatsApp variables use the metric's name and 10:00 New York time
    assert text.body == 'Ana, T-1: 75% of the first response target is used. Due 23 Nov 10:00.'
    assert text.subject == 'Pitcrew: T-1 sla risk (first response 75%)'
    assert text.variables == {'1': 'Ana', '2': 'T-1', '3': 'first response 75%', '4': '23 Nov 10:00'}


def test_the_same_alert_shows_local_time_for_each_zone() -> None:
    # Given the same alert for a recipient in Bengaluru (UTC+5:30)
    text = risk(zone='Asia/Kolkata')

    # Then the due time is 20:30 local
    assert text.variables['4'] == '23 Nov 20:30'
    assert text.body.endswith('Due 23 Nov 20:30.')


def test_local_time_follows_the_zone_across_a_clock_change() -> None:
    # Given 05:30Z on the night New York falls back (01:30 EDT) and 07:30Z (02:30 EST)
    # Then each is shown in the offset in force at that instant
    assert local_time(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), 'America/New_York') == '01 Nov 01:30'
    assert local_time(datetime(2026, 11, 1, 7, 30, tzinfo=UTC), 'America/New_York') == '01 Nov 02:30'


def test_an_alert_reads_in_the_recipients_language() -> None:
    # Given the same alert in Spanish and Hindi
    english, spanish, hindi = risk('en'), risk('es'), risk('hi')

    # Then each uses its own wording and its own name for the metric, with the same facts
    assert spanish.body == 'Ana, T-1: se ha usado el 75% del objetivo de primera respuesta. Vence 23 nov 10:00.'
    assert 'पहला जवाब' in hindi.body and 'T-1' in hindi.body and '23 नव 10:00' in hindi.body
    assert len({english.body, spanish.body, hindi.body}) == 3
    assert spanish.variables == {'1': 'Ana', '2': 'T-1', '3': 'primera respuesta 75%', '4': '23 nov 10:00'}


def test_an_alert_reads_in_bahasa_indonesia_with_the_time_written_the_indonesian_way() -> None:
    # Given the same risk alert for a reader of Indonesian in Jakarta (UTC+7), and a breach sent to their manager
    indonesian = risk('id', zone='Asia/Jakarta')
    breach = alert_text(kind='sla_breach', language='id', name='Sari', ref='T-1', metric='resolution', threshold='level-2', due_at=DUE,
                        zone='Asia/Jakarta', owner_name='Budi Santoso')  # fmt: skip

    # Then the text, the metric's name and the template variables are Indonesian; the time reads 22.00 (a period, not a colon)
    assert indonesian.body == 'Ana, T-1: 75% dari target respons pertama sudah terpakai. Batas waktu 23 Nov 22.00.'
    assert indonesian.variables == {'1': 'Ana', '2': 'T-1', '3': 'respons pertama 75%', '4': '23 Nov 22.00'}
    assert breach.body == 'Untuk tim Anda (Budi Santoso): Sari, T-1: target penyelesaian terlewat pada 23 Nov 22.00 (level-2).'
    assert local_time(datetime(2026, 12, 3, 1, 5, tzinfo=UTC), 'Asia/Jakarta', 'id') == '03 Des 08.05'


def test_an_unknown_language_falls_back_to_english() -> None:
    # Given a recipient whose language Pitcrew has no texts for
    # Then the alert is the English one
    assert risk('fr') == risk('en')


def test_a_manager_alert_names_the_owner_first() -> None:
    # Given the breach alert sent to Ana's manager
    text = alert_text(
        kind='sla_breach',
        language='en',
        name='Maria',
        ref='T-1',
        metric='resolution',
        threshold='level-2',
        due_at=DUE,
        zone='America/New_York',
        owner_name='Ana Agent',
    )

    # Then the body starts with the owner's name, then the usual text addressed to the manager
    assert text.body == 'For your team (Ana Agent): Maria, T-1: the resolution target was missed at 23 Nov 10:00 (level-2).'
    assert text.variables['1'] == 'Maria'
    # And in Spanish the prefix is translated too
    spanish = alert_text(
        kind='sla_breach',
        language='es',
        name='Maria',
        ref='T-1',
        metric='resolution',
        threshold='level-2',
        due_at=DUE,
        zone='America/New_York',
        owner_name='Ana Agent',
    )
    assert spanish.body.startswith('Para su equipo (Ana Agent): Maria, T-1: ')


@pytest.mark.parametrize('language', LANGUAGES)
@pytest.mark.parametrize('kind', [kind for kind in AlertKind if kind is not AlertKind.DAILY_REMINDER])
def test_every_alert_kind_has_a_text_in_every_language(kind: AlertKind, language: str) -> None:
    # Given an alert of this kind about job card JC-9 (thresholds as the planner writes them)
    threshold = {'sla_risk': '75%', 'sla_breach': 'level-1', 'promise_missed': 'promised', 'approval_waiting': '120m@20261123T1000',
                 'repeat_visit': 'JC-1', 'upsell_flagged': 'U-BRAKES', 'dispute_filed': 'D-1', 'dispute_accepted': '+20',
                 'dispute_rejected': 'the award was correct', 'level_up': 'Pit crew', 'badge_earned': 'First 5-star CSAT',
                 'league_result': 'you finished 1st of 5 in Workshop technicians · South with 1,240 points: +1,000 points.',
                 'recognition_received': 'Bo thanked you with 20 points for #teamwork', 'spot_award_received': '+150 points',
                 'collusion_flag': 'E1 and E2 gave each other 180 points', 'spot_approval_waiting': '400 points for E3',
                 'spot_award_decided': 'approved', 'nudge': 'Dev reached level Pit crew: reply YES', 'redemption_update': 'your fuel card is ready'}[kind.value]  # fmt: skip

    # When its text is composed
    text = alert_text(kind=kind.value, language=language, name='Ana', ref='JC-9', metric='turnaround', threshold=threshold, due_at=DUE,
                      zone='America/New_York')  # fmt: skip

    # Then it addresses the person and names the item, and no placeholder is left unfilled
    assert text.body.startswith('Ana, ')
    assert 'JC-9' in text.body
    assert '{' not in text.body and '}' not in text.body
    assert text.variables['2'] == 'JC-9'


# --- reminder texts and replies -----------------------------------------------------------------------------------------

FIGURES = ReminderFigures(open=7, jobs=2, approvals=1, due_today=3, breaches=4, points=40, balance=320)


def test_the_reminder_gives_the_day_figures_and_the_roles_targets() -> None:
    # Given today's target for service advisors, from the reminder settings
    settings = ReminderSettings(targets={'service_advisor': 'Close 8 job cards.', 'agent': 'Answer within 4 h.'})
    figures = replace(FIGURES, targets=settings.targets['service_advisor'])

    # When an advisor's reminder is composed
    text = reminder_text('en', 'Chandra', figures)

    # Then it opens with the role's target and gives every figure
    assert text.body == (
        'Good morning Chandra. Close 8 job cards. Open: 7 (2 job cards, 1 awaiting approval). Due today: 3. '
        "Yesterday's SLA breaches: 4. Points yesterday: 40 (balance 320). Reply TODAY for the list."
    )
    assert text.variables == {'1': 'Chandra', '2': 'Close 8 job cards.', '3': '7', '4': '1', '5': '4', '6': '40'}
    assert text.subject == 'Pitcrew: your day (7 open)'


def test_a_reminder_without_targets_leaves_no_gap() -> None:
    # Given no target for the role (and one that is only blanks)
    plain, blank = reminder_text('en', 'Ana', FIGURES), reminder_text('en', 'Ana', replace(FIGURES, targets='   '))

    # Then the figures follow the greeting directly, and the template variable is a dash
    assert plain.body.startswith('Good morning Ana. Open: 7 ')
    assert plain.variables['2'] == '-'
    assert blank == plain


def test_the_reminder_reads_in_the_persons_language() -> None:
    # Given the same figures in Spanish, Hindi and an unknown language
    spanish, hindi, other = (reminder_text(language, 'Ana', FIGURES) for language in ('es', 'hi', 'fr'))

    # Then Spanish and Hindi have their own wording with the same figures, and the unknown language reads in English
    assert spanish.body.startswith('Buenos días Ana. Abiertos: 7 (2 órdenes, 1 esperan aprobación).')
    assert 'सुप्रभात Ana' in hindi.body and '40' in hindi.body and '320' in hindi.body
    assert other == reminder_text('en', 'Ana', FIGURES)


def test_the_reminder_and_the_replies_read_in_bahasa_indonesia() -> None:
    # Given the same figures for a reader of Indonesian
    reminder = reminder_text('id', 'Budi', replace(FIGURES, targets='Selesaikan 8 perintah kerja.'))

    # Then the reminder, the POINTS reply and a refused dispute read in Indonesian, with the Indonesian commands
    assert reminder.body == (
        'Selamat pagi Budi. Selesaikan 8 perintah kerja. Terbuka: 7 (2 perintah kerja, 1 menunggu persetujuan). '
        'Jatuh tempo hari ini: 3. Pelanggaran SLA kemarin: 4. Poin kemarin: 40 (saldo 320). Balas HARI INI untuk melihat daftarnya.'
    )
    assert reply('id', 'points', available=120, pending=30) == 'Anda memiliki 120 poin tersedia dan 30 poin tertunda.'
    status = dispute_status('id', 'rejected')
    assert reply('id', 'dispute_already_disputed', code='E3F9A0C1', dispute='D-7', status=ours(status)) == (
        'Entri E3F9A0C1 sudah disanggah (D-7, ditolak).')
    assert 'SANGGAH <kode entri>' in reply('id', 'help') and 'TERIMA KASIH <kode>' in reply('id', 'help')


@pytest.mark.parametrize(('line', 'expected'), [
    (RankLine(league='Pitstop', division='Teknisi · Jakarta', rank=2, of=9, next_rank=1, behind=4.5),
     'Peringkat ke-2 dari 9 di Teknisi · Jakarta, tertinggal 4,5 poin dari peringkat ke-1.'),
    (RankLine(league='Pitstop', division='Teknisi', rank=3, of=9, tied=True, next_rank=1, behind=1.25, scoring='points_per_item'),
     'Peringkat ke-3 (seri) dari 9 di Teknisi, tertinggal 1,25 poin per pekerjaan dari peringkat ke-1.'),
    (RankLine(league='Pitstop', division='Teknisi', rank=1, of=9),
     'Peringkat ke-1 dari 9 di Teknisi.'),
    (RankLine(league='Pitstop', division='Teknisi', qualified=False, items=2, min_items=5, points=40, workload_kpi='job_cards'),
     'Belum masuk peringkat di Teknisi: perlu 3 perintah kerja lagi untuk lolos (2 dari 5). Sejauh ini 40 poin.'),
    (RankLine(league='Pitstop', has_points=False),
     'Belum ada poin di Pitstop bulan ini: poin pertama Anda akan memasukkan Anda ke papan peringkat.'),
])  # fmt: skip
def test_the_rank_reply_reads_in_bahasa_indonesia(line: RankLine, expected: str) -> None:
    # Given a place in a league (ranked, tied, first, not yet qualified, no points yet)
    # Then RANK answers in Indonesian: 'ke-2' for the place, the gap with a decimal comma
    assert rank_text('id', [line]) == expected


def test_the_today_reply_reads_in_bahasa_indonesia() -> None:
    # Given a job card awaiting approval, due 15:00Z (22.00 in Jakarta)
    text = today_text('id', 'Asia/Jakarta', [TodayItem('JC-7', DUE, approval=True, job_card=True)])
    # Then it is counted and listed in Indonesian
    assert text == 'Terbuka: 1 (1 perintah kerja, 1 menunggu persetujuan).\n- JC-7 23 Nov 22.00 (menunggu persetujuan)'
    assert today_text('id', 'UTC', []) == 'Saat ini tidak ada yang terbuka untuk Anda.'


def test_the_points_reply_gives_the_available_and_pending_points() -> None:
    # When the POINTS reply is composed in English, Spanish and an unknown language
    # Then it gives both balances, each in its place
    assert reply('en', 'points', available=120, pending=30) == 'You have 120 points available and 30 pending.'
    assert reply('es', 'points', available=120, pending=30) == 'Tiene 120 puntos disponibles y 30 pendientes.'
    assert reply('de', 'points', available=5, pending=0) == 'You have 5 points available and 0 pending.'


# --- TwiML --------------------------------------------------------------------------------------------------------------

PROLOG = '<?xml version="1.0" encoding="UTF-8"?>'


def test_the_twiml_reply_escapes_the_text() -> None:
    # Given a reply containing XML special characters
    # When it is wrapped as TwiML, then '<' and '&' are escaped and the document stays well-formed
    assert twiml('Open: 2 < 3 & done > ok') == f'{PROLOG}<Response><Message>Open: 2 &lt; 3 &amp; done &gt; ok</Message></Response>'


def test_no_reply_is_an_empty_response() -> None:
    # Given nothing to say (an SMS STOP, which Twilio confirms itself), then the response has no message
    assert twiml(None) == f'{PROLOG}<Response></Response>'
    assert twiml('') == f'{PROLOG}<Response></Response>'


def test_an_approval_alert_says_when_the_wait_began_not_when_it_became_too_long() -> None:
    # Given a job card waiting for approval since 14:00 UTC with a 120-minute allowance (the threshold carries the start)
    from datetime import UTC, datetime

    from shared.notify.messages import alert_text

    # When the alert is written for a recipient in Kolkata (UTC+05:30)
    text = alert_text(kind='approval_waiting', language='en', name='Asha', ref='JC-7', metric='approval', threshold='120m@20261013T1400',
                      due_at=datetime(2026, 10, 13, 16, 0, tzinfo=UTC), zone='Asia/Kolkata')  # fmt: skip

    # Then it names the start of the wait in local time (19:30), not the moment the allowance ran out (21:30)
    assert 'since 13 Oct 19:30' in text.body
    assert '21:30' not in text.body


def test_the_risk_alert_names_the_targets_due_time_not_the_75_percent_mark() -> None:
    # Given the 75% checkpoint of a first-response target, at 14:00 UTC, of a target due at 15:00 UTC (10:00 New York)
    text = alert_text(kind='sla_risk', language='en', name='Ana', ref='T-1', metric='first_response', threshold='75%',
                      due_at=DUE - timedelta(hours=1), target_due_at=DUE, zone='America/New_York')  # fmt: skip

    # Then "Due" is the target's time, 10:00 in New York, in the body and the WhatsApp variable, not the checkpoint's 09:00
    assert text.body == 'Ana, T-1: 75% of the first response target is used. Due 23 Nov 10:00.'
    assert text.variables['4'] == '23 Nov 10:00'
    assert '09:00' not in text.body


def test_a_later_escalation_says_when_the_target_was_missed() -> None:
    # Given the level-2 escalation, an hour after the breach of a resolution target due at 15:00 UTC
    text = alert_text(kind='sla_breach', language='es', name='Maria', ref='T-1', metric='resolution', threshold='level-2',
                      due_at=DUE + timedelta(hours=1), target_due_at=DUE, zone='America/New_York')  # fmt: skip

    # Then it says the target was missed at 10:00 New York, when it was due, not at the escalation's 11:00
    assert 'a las 23 nov 10:00 (level-2)' in text.body


@pytest.mark.parametrize('language', LANGUAGES)
def test_a_promise_alert_subject_names_the_promise_once(language: str) -> None:
    # Given a job card past its promised delivery (the planner's threshold is the marker 'promised')
    text = alert_text(kind='promise_missed', language=language, name='Ravi', ref='JC-9', metric='promise', threshold='promised',
                      due_at=DUE, zone='Asia/Kolkata')  # fmt: skip

    # Then the subject and the template's third variable name the metric alone, without the marker
    metric = {'en': 'promised delivery', 'es': 'entrega prometida', 'hi': 'वादा की गई डिलीवरी', 'id': 'waktu penyerahan yang dijanjikan'}[language]
    kind = {'en': 'promise missed', 'es': 'entrega prometida vencida', 'hi': 'डिलीवरी समय निकला', 'id': 'janji penyerahan terlewat'}[language]
    assert text.subject == f'Pitcrew: JC-9 {kind} ({metric})'
    assert text.variables['3'] == metric
    assert 'promised)' not in text.subject


def test_every_alert_kind_has_a_subject_in_every_language_and_english_reads_as_before() -> None:
    # Given every alert kind (the daily reminder has its own subject)
    kinds = [kind.value for kind in AlertKind if kind is not AlertKind.DAILY_REMINDER]

    # Then each language names each kind in the e-mail subject; English names it by its own words
    for language in LANGUAGES:
        assert set(SUBJECT_KINDS[language]) == set(kinds), language
    assert SUBJECT_KINDS['en'] == {kind: kind.replace('_', ' ') for kind in kinds}
    # And the reminder's subject reads in the person's language with the day's count
    assert [reminder_text(language, 'Ana', FIGURES).subject for language in LANGUAGES] == [
        'Pitcrew: your day (7 open)', 'Pitcrew: su día (7 abiertos)', 'Pitcrew: आपका दिन (7 खुले)', 'Pitcrew: hari Anda (7 terbuka)']
    assert risk('id').subject == 'Pitcrew: T-1 risiko SLA (respons pertama 75%)'


def test_an_approval_alert_subject_gives_the_allowance_not_the_planners_key() -> None:
    # Given a job card waiting for approval longer than 120 minutes since 14:00 UTC
    text = alert_text(kind='approval_waiting', language='en', name='Asha', ref='JC-7', metric='approval', threshold='120m@20261013T1400',
                      due_at=datetime(2026, 10, 13, 16, 0, tzinfo=UTC), zone='Asia/Kolkata')  # fmt: skip

    # Then the subject reads the allowance, not the '@20261013T1400' the planner keys the alert with
    assert text.subject == 'Pitcrew: JC-7 approval waiting (customer approval 120m)'
    assert text.variables['3'] == 'customer approval 120m'
