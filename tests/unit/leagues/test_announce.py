"""The announcements of a closed league, planned (pure): who is a winner and what they are told, in en/es/hi, and
which managers get a summary of which locations."""

from __future__ import annotations

import pytest

from shared.leagues.announce import managers_of, plan_summaries, plan_winners, reward_of
from shared.leagues.announce_texts import league_month, number, result_text
from shared.leagues.config import Challenge, Divisions, LeagueConfig, Trophy
from shared.leagues.results import DivisionResult, Row
from shared.leagues.roster import RosterPerson

LEAGUE = LeagueConfig(
    name='Pitstop League', divisions=Divisions(by=['role', 'region']), prizes=[1000, 600, 300],
    trophies=[Trophy(trophy_id='mvp', name='MVP', points=250), Trophy(trophy_id='wow', name='Customer-wow champion', kpi='csat', points=0)],
    challenges=[Challenge(challenge_id='on_time', name='On time', kpi='on_time_delivery', target=95, points=300)],
)  # fmt: skip
PEOPLE = {p.employee_id: p for p in [
    RosterPerson('E1', 'Priya Sharma', role='technician', location_id='BLR', manager_id='M1', language='hi'),
    RosterPerson('E2', 'Ravi Kumar', role='technician', location_id='BLR', manager_id='M1', language='es'),
    RosterPerson('E3', 'Meera Iyer', role='technician', location_id='HYD', manager_id='M2'),
    RosterPerson('M1', 'Anil Rao', role='lead', location_id='BLR', email='anil@example.com'),
    RosterPerson('M2', 'Sara Gomez', role='lead', location_id='HYD', email='sara@example.com', active=False),
    RosterPerson('H1', 'Lakshmi Nair', role='manager', location_id='BLR', email='lakshmi@example.com'),
    RosterPerson('H2', 'Gone Manager', role='manager', location_id='PNQ', email='pnq@example.com'),
]}  # fmt: skip


def result(*rows: Row) -> DivisionResult:
    return DivisionResult(program_id='pitstop', program_version=1, month='2026-10', division='technician|South',
                          name='Workshop technicians · South', eligible=len(rows), scored=sum(r.points > 0 for r in rows), rows=rows,
                          digest='0' * 64, closed_at='2026-11-01T00:05:00+05:30')  # fmt: skip


ROWS = (Row(rank=1, employee_id='E3', points=900, score=900, prize=1000, trophies=('mvp', 'wow')),
        Row(rank=2, employee_id='E1', points=700, score=700, prize=600),
        Row(rank=None, employee_id='E2', points=20, score=20, qualified=False, challenges=('on_time',)))  # fmt: skip


@pytest.mark.parametrize(('language', 'expected'), [
    ('en', 'you finished 2nd of 5 in Techs with 1,100 points: +800 points. Trophy: MVP.'),
    ('es', 'terminó 2.º de 5 en Techs con 1.100 puntos: +800 puntos. Trofeo: MVP.'),
    ('hi', 'आप Techs में 5 में से दूसरे स्थान पर रहे, 1,100 अंकों के साथ: +800 अंक। ट्रॉफ़ी: MVP।'),
    ('id', 'Anda menempati peringkat ke-2 dari 5 di Techs dengan 1.100 poin: +800 poin. Trofi: MVP.'),
    ('fr', 'you finished 2nd of 5 in Techs with 1,100 points: +800 points. Trophy: MVP.'),
])  # fmt: skip
def test_a_ranked_winners_result_in_each_language(language: str, expected: str) -> None:
    # When the result line of the 2nd of 5 with a prize and a trophy is written (French falls back to English)
    # Then it is one line in the person's language
    assert result_text(language, division='Techs', rank=2, of=5, points=1100, reward=800, trophies=['MVP']) == expected


def test_an_unranked_challenge_winner_and_a_trophy_without_points() -> None:
    # Then an unranked person is told their points, several names are listed, and no reward means no "+0"
    assert result_text('en', division='Techs', rank=None, of=5, points=20, reward=300, challenges=['On time', 'Zero defects']) == (
        'you scored 20 points in Techs: +300 points. Challenges met: On time, Zero defects.')
    assert result_text('en', division='Techs', rank=3, of=3, points=10, reward=0, trophies=['Customer-wow champion']) == (
        'you finished 3rd of 3 in Techs with 10 points. Trophy: Customer-wow champion.')


def test_months_and_numbers_are_written_as_each_language_writes_them() -> None:
    assert [league_month(lang, 'Pitstop League', '2026-01') for lang in ('en', 'es', 'hi', 'id')] == [
        'Pitstop League, January 2026', 'Pitstop League, enero de 2026', 'Pitstop League, जनवरी 2026', 'Pitstop League, Januari 2026']
    assert (number('en', 1234567), number('es', 1234567), number('es', 66.7), number('en', 80.0)) == ('1,234,567', '1.234.567', '66,7', '80')
    assert (number('id', 1234567), number('id', 66.7), league_month('id', 'Pitstop League', '2026-12')) == (
        '1.234.567', '66,7', 'Pitstop League, Desember 2026')


def test_an_indonesian_unranked_result_and_a_managers_summary() -> None:
    # Given an unranked challenge winner, and a manager reading Indonesian
    # Then the notice and the summary read in Indonesian, numbers grouped with a period
    assert result_text('id', division='Techs', rank=None, of=5, points=1020, reward=0, challenges=['Tepat waktu', 'Nol cacat']) == (
        'Anda mengumpulkan 1.020 poin di Techs. Tantangan tercapai: Tepat waktu, Nol cacat.')
    from shared.leagues.announce_texts import SummaryDivision, SummaryLocation, SummaryRow, summary_email

    row = SummaryRow(rank=1, name='Budi', points=1240, prize=1000, trophies=('MVP',))
    division = SummaryDivision(name='Techs', ranked=5, eligible=6, scored=5, participation_pct=83.3, top=(row, SummaryRow(2, None, 900)),
                               people=(row,))  # fmt: skip
    email = summary_email('id', league='Pitstop League', month='2026-12', locations=[SummaryLocation('Jakarta Selatan', 6, 5)],
                          divisions=[division])  # fmt: skip
    assert email.subject == 'Pitstop League, Desember 2026: hasil tim Anda'
    assert email.text.splitlines()[:5] == ['Pitstop League, Desember 2026 telah ditutup. Hasil tim Anda di Jakarta Selatan.', '',
                                           'Jakarta Selatan: 5 dari 6 orang mendapat poin (83,3%).', '',
                                           'Techs: 5 masuk peringkat; 5 dari 6 mendapat poin (83,3%).']  # fmt: skip
    assert '  peringkat ke-1: Budi, 1.240 poin, hadiah +1.000, trofi: MVP' in email.text
    assert '  peringkat ke-2: (lokasi lain), 900 poin' in email.text


def test_winners_are_the_people_with_a_prize_a_trophy_or_a_challenge_and_their_reward_is_the_sum() -> None:
    # Given a division where Meera won 1st (prize and two trophies), Priya 2nd, Ravi (unranked) a challenge
    notices = plan_winners([result(*ROWS, Row(rank=3, employee_id='X', points=0, score=0))], LEAGUE, PEOPLE)

    # Then three notices, each in the person's language, with prize + trophies + challenge points (the 0-point trophy named)
    assert [(n.employee_id, n.ref) for n in notices] == [('E3', 'Pitstop League, October 2026'), ('E1', 'Pitstop League, अक्टूबर 2026'),
                                                         ('E2', 'Pitstop League, octubre de 2026')]  # fmt: skip
    assert reward_of(ROWS[0], LEAGUE) == 1250
    assert notices[0].text == ('you finished 1st of 3 in Workshop technicians · South with 900 points: +1,250 points. '
                               'Trophies: MVP, Customer-wow champion.')
    assert notices[2].text == 'sumó 20 puntos en Workshop technicians · South: +300 puntos. Reto cumplido: On time.'


def test_managers_are_the_directory_managers_and_the_location_managers_of_the_results_locations() -> None:
    # Then Anil (manager of E1, E2) and Lakshmi (role manager at BLR) cover BLR; Sara is inactive; PNQ has no one in the results
    assert managers_of([result(*ROWS)], PEOPLE) == {'M1': {'BLR'}, 'H1': {'BLR'}}


def test_a_summary_names_only_the_managers_own_locations_people() -> None:
    # When Anil's summary is planned
    [anil] = [s for s in plan_summaries([result(*ROWS)], LEAGUE, PEOPLE, {'BLR': 'Bengaluru'}) if s.manager_id == 'M1']

    # Then it covers his two people and shows Meera (Hyderabad) only as another location
    assert (anil.locations, anil.people, anil.email) == (('BLR',), 2, 'anil@example.com')
    assert 'Meera' not in anil.content.text and '1st (another location), 900 points, prize +1,000' in anil.content.text
    assert 'Bengaluru: 2 of 2 people scored (100%).' in anil.content.text
