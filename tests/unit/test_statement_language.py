"""The statement in the person's language (shared/ledger/statement.py with shared/ledger/statement_texts.py), pure: the
same statement in English, Spanish, Hindi and Indonesian has the same figures and codes with its words, dates and number
grouping in that language; a language Pitcrew does not speak reads English; a program may title its rules per language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.disputes.model import entry_code
from shared.ledger.entries import AwardRecord, AwardState, EntryKind, EntryReason, EntryStatus, LedgerEntry, reversal_id_for
from shared.ledger.statement import Statement, _label, build_statement, money, program_rule_titles, render_text, rule_title
from shared.ledger.statement_texts import INPUTS, PRODUCT_RULES, TEXTS
from shared.notify.languages import LANGUAGES
from shared.programs.document import ProgramInvalid, parse_program
from shared.programs.loader import ProgramBook
from tests.unit.notify.test_languages import TABLES, TEXT_MODULES

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
ZONES = {'support': 'America/New_York'}
NOV = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Bal:
    available: int
    pending: int = 0


def entry(entry_id: str, amount: int, at: datetime, *, rule: str = 'resolved_within_sla', kind: EntryKind = EntryKind.AWARD,
          recorded: datetime | None = None, ticket: str = 'zendesk#1001', basis: str = 'resolution', reverses: str | None = None,
          note: str | None = None, program: str = 'support@2',
          inputs: dict[str, str | int | float | bool | None] | None = None) -> LedgerEntry:  # fmt: skip
    return LedgerEntry(
        entry_id=entry_id, employee_id='E1', amount=amount, kind=kind, status=EntryStatus.AVAILABLE, reverses=reverses,
        reason=EntryReason(ticket_key=ticket, source_event_id='release:x', basis_event_id=basis, rule_id=rule, rule_version=3,
                           program_id=program, inputs=inputs or {}, note=note),
        occurred_at=at, recorded_at=recorded or at + timedelta(hours=1),
    )  # fmt: skip


LEDGER = [
    entry('E0000001', 10, datetime(2026, 10, 20, 15, tzinfo=UTC)),
    entry('E0000002', 1250, NOV, inputs={'elapsed_minutes': 42.5, 'target_minutes': 240, 'business_hours': True}),
    entry('E0000003', 10, NOV + timedelta(days=1), ticket='zendesk#1003', basis='survey:R1', rule='csat_positive'),
    entry(reversal_id_for('E0000003'), -10, NOV + timedelta(days=5), kind=EntryKind.REVERSAL, ticket='zendesk#1003',
          basis='survey:R1', rule='csat_positive', reverses='E0000003',
          note='claws back E0000003: the ticket no longer meets rule csat_positive within its 30-day clawback window',
          inputs={'status': 'open', 'clawback_days': 30}),
    entry('E0000004', 8, NOV, recorded=datetime(2026, 12, 3, 9, tzinfo=UTC), rule='first_response_within_sla', basis='first_response'),
    entry('A0000001', 25, NOV + timedelta(days=7), kind=EntryKind.ADJUSTMENT, rule='admin_adjustment', program='admin', ticket='-',
          note='Covered a weekend shift'),
]  # fmt: skip
WAITING = [('zendesk#2002', AwardRecord(entry_id='E0000009', employee_id='E1', points=7, rule_id='csat_positive', rule_version=1,
                                        program='support@2', state=AwardState.PENDING, basis_key='survey:r9',
                                        basis_at=NOV + timedelta(days=20), release_at=datetime(2026, 12, 3, 15, tzinfo=UTC),
                                        inputs={'csat': 5}, time_zone='America/New_York'))]  # fmt: skip


def statement(language: Any = 'en', **extra: Any) -> Statement:
    total = sum(e.amount for e in LEDGER)
    return build_statement(employee_id='E1', month='2026-11', entries=LEDGER, pending=WAITING, balance=Bal(total, 7), time_zones=ZONES,
                           employee_name='Ana Agent', now=NOW, language=language, **extra)  # fmt: skip


def lines(s: Statement) -> dict[str, Any]:
    return {line.entry_id: line for group in s.groups for line in group.lines}


@pytest.mark.parametrize(
    ('language', 'header', 'phrase', 'grouped_total', 'late_date', 'release'),
    [
        ('en', 'Points statement for E1 (Ana Agent) - November 2026', 'clawed back: zendesk#1003 no longer qualifies', '1293',
         'recorded 2026-12-03', 'available from 2026-12-03 10:00'),
        ('es', 'Extracto de puntos de E1 (Ana Agent) - noviembre de 2026', 'retirados: zendesk#1003 ya no cumple', '1.293',
         'registrado el 3 dic 2026', 'disponibles desde el 3 dic 2026 10:00'),
        ('hi', 'E1 (Ana Agent) का अंक स्टेटमेंट - नवंबर 2026', 'वापस लिए गए: zendesk#1003 अब', '1,293',
         '3 दिसंबर 2026 को दर्ज', '3 दिसंबर 2026 10:00 से उपलब्ध'),
        ('id', 'Laporan poin E1 (Ana Agent) - November 2026', 'ditarik kembali: zendesk#1003 tidak lagi memenuhi', '1.293',
         'dicatat 3 Des 2026', 'tersedia mulai 3 Des 2026 10.00'),
    ],
)  # fmt: skip
def test_the_same_statement_in_each_language_has_the_same_figures_and_its_own_words(
    language: str, header: str, phrase: str, grouped_total: str, late_date: str, release: str
) -> None:
    # Given one November ledger: an award over a thousand points, a survey award clawed back, a late award, an adjustment,
    # and one award pending
    english = statement('en')

    # When the statement is built in the language
    s = statement(language)

    # Then every figure, code, date field and group is the English statement's
    assert s.language == language
    assert s.totals == english.totals and s.reconciliation == english.reconciliation
    assert [(g.rule_id, g.points, g.entries) for g in s.groups] == [(g.rule_id, g.points, g.entries) for g in english.groups]
    assert {i: (x.code, x.amount, x.date, x.late) for i, x in lines(s).items()} == {
        i: (x.code, x.amount, x.date, x.late) for i, x in lines(english).items()}  # fmt: skip
    assert s.as_dict().keys() == english.as_dict().keys()
    # And the words are the language's: the header with the month's name, a clawback, the late note's date and the pending
    # award's release as the language writes dates, the closing balance grouped as it groups thousands
    text = s.to_text()
    assert text.splitlines()[0].startswith(header)
    assert phrase in lines(s)[reversal_id_for('E0000003')].explanation
    assert any(late_date in note for note in lines(s)['E0000004'].notes)
    assert release in s.pending[0].explanation
    assert [line for line in text.splitlines() if line.endswith(f' {grouped_total}')]  # the closing balance, right-aligned
    assert entry_code('E0000004') in text and '(support@2, first_response_within_sla@3)' in text


def test_spanish_lines_read_naturally_with_decimal_commas() -> None:
    # Given the November ledger
    # When it is built in Spanish
    s = statement('es')
    award, survey = lines(s)['E0000002'], lines(s)['E0000003']
    # Then an award names its rule, ticket and basis in Spanish, its inputs with their Spanish names and decimal commas
    assert award.explanation == '+1.250 por «Resolved within SLA» en zendesk#1001 (resolución)'
    assert award.inputs_text == 'minutos transcurridos 42,5 · minutos objetivo 240 · horario laboral sí'
    assert survey.explanation == '+10 por «CSAT positive» en zendesk#1003 (encuesta R1)'
    # And the stored English notes it recognises are told in Spanish; an administrator's own words stay as written
    reversal = lines(s)[reversal_id_for('E0000003')]
    assert reversal.explanation.endswith('(ahora el ticket está abierto)')
    assert reversal.notes == [f'retira {entry_code("E0000003")}: el ticket ya no cumple la regla csat_positive dentro de su plazo '
                              'de retirada de 30 días']  # fmt: skip
    assert lines(s)['A0000001'].explanation == '+25 ajuste de un administrador: Covered a weekend shift'
    # And the adjustments' group has its Spanish title and comes last; the text's totals and check are Spanish too
    assert s.groups[-1].title == 'Ajustes'
    text = s.to_text()
    assert 'Saldo disponible final (noviembre de 2026)' in text and 'saldo verificado: los 6 movimientos suman 1.293' in text
    assert '1 movimiento llegó con retraso (marcado CON RETRASO' in text
    assert 'liberación 3 dic 2026' in text and '  10 nov    ' in text


def test_indonesian_and_hindi_name_product_rules_and_months_in_their_words() -> None:
    # Given a peer thanks, a league prize and a payroll payout in November
    ledger = [
        entry('G1', 20, NOV, kind=EntryKind.RECOGNITION, rule='peer_recognition', ticket='recognition#1',
              inputs={'giver_name': 'Bo', 'value': 'teamwork', 'message': 'Terima kasih'}),
        entry('P1', -150, NOV + timedelta(days=1), kind=EntryKind.PAYOUT, rule='payroll_payout', ticket='payout#1',
              inputs={'period': '2026-10', 'amount': '1500.50', 'currency': 'IDR'}),
    ]  # fmt: skip

    def built(language: str) -> Statement:
        return build_statement(employee_id='E1', month='2026-11', entries=ledger, pending=[], balance=Bal(-130), time_zones=ZONES,
                               now=NOW, language=language)  # fmt: skip

    # When the statement is built in Indonesian and in Hindi
    indonesian, hindi = built('id'), built('hi')
    # Then the rules Pitcrew writes have their titles in the language, and a payout's month is named
    assert {g.title for g in indonesian.groups} == {'Apresiasi rekan', 'Pembayaran lewat gaji'}
    assert {g.title for g in hindi.groups} == {'सहकर्मियों का धन्यवाद', 'वेतन भुगतान'}
    assert lines(indonesian)['G1'].explanation == "+20 ucapan terima kasih dari Bo untuk #teamwork: 'Terima kasih'"
    assert lines(indonesian)['P1'].explanation == '-150 dibayarkan: IDR 1.500,50 melalui penggajian untuk Oktober 2026'
    assert lines(hindi)['P1'].explanation == '-150 भुगतान: IDR 1,500.50 वेतन के ज़रिए, अक्टूबर 2026 के लिए'


@pytest.mark.parametrize('language', ['fr', '', None, 'EN', 'xx-YY'])
def test_a_language_pitcrew_does_not_speak_reads_english(language: Any) -> None:
    # Given the November ledger
    # When it is built in a language without texts (or none)
    s = statement(language)
    # Then it is the English statement, word for word
    english = statement()
    assert s.language == 'en' and s.as_dict() == english.as_dict() and s.to_text() == english.to_text()


def test_the_text_is_rendered_in_the_statements_language_unless_told_otherwise() -> None:
    # Given a statement built in Indonesian
    s = statement('id')
    # When it is rendered with no language, and in Spanish
    # Then by default its own language frames the lines; another language changes the frame, not the figures
    assert render_text(s).startswith('Laporan poin') and s.to_text() == render_text(s, language='id')
    spanish_frame = render_text(s, language='es')
    assert spanish_frame.startswith('Extracto de puntos') and 'saldo verificado' in spanish_frame


def test_the_statement_texts_are_held_by_the_language_table_test() -> None:
    # Given the text modules the language test scans
    # Then the statement's module and each of its tables are among them (each speaks every language, same placeholders)
    assert 'shared.ledger.statement_texts' in TEXT_MODULES
    assert {f'shared.ledger.statement_texts.{name}' for name in ('TEXTS', 'PRODUCT_RULES', 'INPUTS', 'BASIS', 'STATUSES', 'MONTHS',
                                                                 'MONTH_NAMES')} <= set(TABLES)  # fmt: skip


def test_every_line_template_starts_with_the_points_and_english_tables_match_the_words_the_statement_made() -> None:
    # Given the templates of a line (the text view takes the points off the front of each line)
    line_keys = ('award', 'penalty', 'period_bonus', 'adjustment', 'clawed_back', 'thanks', 'spot_award', 'redeemed', 'refunded',
                 'paid_out', 'debt_repaid', 'redemption_refunded', 'pending')  # fmt: skip
    # Then each starts with the points in every language
    for language in LANGUAGES:
        assert all(TEXTS[language][key].startswith('{points} ') for key in line_keys), language
    # And the English titles of Pitcrew's own rules and the English input names are what the statement always printed
    assert all(title == rule_title(rule_id) for rule_id, title in PRODUCT_RULES['en'].items())
    assert all(label == _label(name) for name, label in INPUTS['en'].items())


def test_money_is_written_with_the_languages_decimal_mark() -> None:
    assert (money(50.5, 'EUR'), money(1500, 'INR', 'hi'), money(1234.5, 'USD', 'es'), money(12.5, 'AED', 'id')) == (
        '€50.50', '₹1,500', '$1.234,50', 'AED 12,50')  # fmt: skip


# --- rule titles given by the program ------------------------------------------------------------------------------------
DOCUMENT: dict[str, Any] = {
    'program_id': 'support', 'name': 'Support', 'time_zone': 'America/New_York', 'currency': 'USD', 'points_per_currency_unit': 10,
    'starts_on': '2026-01-01', 'effective_from': '2026-01-01T00:00:00Z',
    'rules': [{'rule_id': 'resolved_within_sla', 'kind': 'resolution_within_sla', 'points': 10,
               'titles': {'en': 'Solved on time', 'es': 'Resuelto a tiempo', 'id': 'Selesai tepat waktu'}},
              {'rule_id': 'csat_positive', 'kind': 'csat_positive', 'points': 5}],
}  # fmt: skip


def test_a_program_may_title_its_rules_per_language_and_the_statement_uses_them() -> None:
    # Given a program whose rule `resolved_within_sla` has titles in English, Spanish and Indonesian (none in Hindi)
    doc = parse_program(DOCUMENT)
    book = ProgramBook.of(doc, version=2)
    # When the statement is built with the program's titles in Spanish, then in Hindi
    spanish = statement('es', rule_titles=program_rule_titles(book, 'es'))
    hindi = statement('hi', rule_titles=program_rule_titles(book, 'hi'))
    # Then the Spanish one uses the Spanish title in the group and in the lines; Hindi falls back to the English title;
    # a rule without titles reads as its id in words
    assert program_rule_titles(book, 'es') == {('support', 'resolved_within_sla'): 'Resuelto a tiempo'}
    assert program_rule_titles(book, 'hi') == {('support', 'resolved_within_sla'): 'Solved on time'}
    assert {g.rule_id: g.title for g in spanish.groups}['resolved_within_sla'] == 'Resuelto a tiempo'
    assert lines(spanish)['E0000002'].explanation.startswith('+1.250 por «Resuelto a tiempo»')
    assert {g.rule_id: g.title for g in hindi.groups}['resolved_within_sla'] == 'Solved on time'
    assert {g.rule_id: g.title for g in spanish.groups}['csat_positive'] == 'CSAT positive'


def test_rule_titles_in_a_language_pitcrew_does_not_speak_are_refused_with_the_field_named() -> None:
    # Given a rule titled in French, and one with an empty title
    french = {**DOCUMENT, 'rules': [{**DOCUMENT['rules'][0], 'titles': {'fr': 'Résolu à temps'}}]}
    empty = {**DOCUMENT, 'rules': [{**DOCUMENT['rules'][0], 'titles': {'es': ''}}]}
    # When the documents are validated
    # Then each is refused, naming the rule's titles
    with pytest.raises(ProgramInvalid) as refused:
        parse_program(french)
    assert refused.value.errors[0].startswith('rules.0.titles: ') and 'unknown language fr' in refused.value.errors[0]
    with pytest.raises(ProgramInvalid) as refused:
        parse_program(empty)
    assert refused.value.errors[0].startswith('rules.0.titles.es: ')


def test_what_a_debit_could_not_recover_is_told_in_the_language() -> None:
    # Given a penalty the balance could only partly pay (the ledger appended why, in English, to an empty note) and a
    # clawback of which 5 points are owed as a debt
    penalty = entry('E0000050', -2, NOV, rule='sla_breach', basis='sla_breach:resolution',
                    note='; 3 points not recovered (balance too low)', inputs={'unrecovered_points': 3, 'requested_points': 5})
    clawback = entry(reversal_id_for('E0000051'), -5, NOV, kind=EntryKind.REVERSAL, reverses='E0000051',
                     note='claws back E0000051: the ticket no longer meets rule resolved_within_sla within its 7-day clawback window'
                          '; 5 points owed as a debt, recovered from later earnings',
                     inputs={'clawback_days': 7, 'unrecovered_points': 5, 'debt_points': 5, 'requested_points': 10})  # fmt: skip
    # When the statement is built in English and in Indonesian

    def built(language: str) -> Statement:
        return build_statement(employee_id='E1', month='2026-11', entries=[penalty, clawback], pending=[], balance=Bal(-7),
                               time_zones=ZONES, now=NOW, language=language)  # fmt: skip

    english, indonesian = lines(built('en')), lines(built('id'))
    # Then English keeps the ledger's words; Indonesian says the same in its own, with the same figures
    assert english['E0000050'].notes == ['; 3 points not recovered (balance too low)']
    assert indonesian['E0000050'].notes == ['3 poin tidak tertagih (saldo tidak cukup)']
    assert indonesian['E0000050'].explanation == '-2 penalti "SLA breach" pada zendesk#1001 (pelanggaran SLA resolution)'
    assert indonesian[reversal_id_for('E0000051')].notes == [
        'menarik kembali E0000051: tiket tidak lagi memenuhi aturan resolved_within_sla dalam masa penarikan 7 hari; '
        '5 poin menjadi utang, dipotong dari perolehan berikutnya']  # fmt: skip
