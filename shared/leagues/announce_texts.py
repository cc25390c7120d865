"""What the announcements of a closed league say, in the recipient's language (en, es, hi, id). Pure.

A winner's notice is one sentence: their place (or their points, when they were not ranked), the points the league
pays them and the names of their trophies and challenges, e.g.
  "you finished 1st of 5 in Workshop technicians · South with 1,240 points: +1,000 points. Trophy: Sharpshooter."
It travels as the `league_result` alert (shared/notify/messages.py: '{name}, {ref}: {threshold}'), `ref` being the
league and month ("Pitstop League, October 2026"). Names come from our own directory and program documents, not from a
sender; they are cleaned all the same (`shared.notify.safe_text.render`: one line, no links, capped), so a name that
holds a line break or a link cannot make a notice say more than it should.

A location manager's summary is a plain-text e-mail: per division their people are in, the division's top 3 (names
only of their own people: someone from another location is "another location") and participation, then each of
their people with place, points, prize, trophies and challenges; and the participation of their location(s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.notify import EmailContent
from shared.notify.languages import LANGUAGES, grouped
from shared.notify.messages import ordinal
from shared.notify.safe_text import SafeText, ours, render

MONTH_NAMES = {
    'en': ('January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'),
    'es': ('enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'octubre', 'noviembre', 'diciembre'),
    'hi': ('जनवरी', 'फ़रवरी', 'मार्च', 'अप्रैल', 'मई', 'जून', 'जुलाई', 'अगस्त', 'सितंबर', 'अक्टूबर', 'नवंबर', 'दिसंबर'),
    'id': ('Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni', 'Juli', 'Agustus', 'September', 'Oktober', 'November', 'Desember'),
}
TEXTS = {
    'en': {
        'month': '{month} {year}',
        'ranked': 'you finished {place} of {of} in {division} with {points} points',
        'unranked': 'you scored {points} points in {division}',
        'reward': ': +{reward} points.',
        'trophy': ' Trophy: {names}.', 'trophies': ' Trophies: {names}.',
        'challenge': ' Challenge met: {names}.', 'challenges': ' Challenges met: {names}.',
        'subject': '{league}: results of your people',
        'intro': '{league} has closed. The results of your people at {locations}.',
        'location': '{location}: {scored} of {eligible} people scored ({pct}%).',
        'division': '{division}: {ranked} ranked; {scored} of {eligible} scored ({pct}%).',
        'top': 'Top 3:', 'yours': 'Your people:', 'elsewhere': 'another location',
        'row': '{place} {name}, {points} points', 'unranked_row': 'not ranked: {name}, {points} points',
        'prize': ', prize +{points}', 'row_trophies': ', trophies: {names}', 'row_challenges': ', challenges: {names}',
    },
    'es': {
        'month': '{month} de {year}',
        'ranked': 'terminó {place} de {of} en {division} con {points} puntos',
        'unranked': 'sumó {points} puntos en {division}',
        'reward': ': +{reward} puntos.',
        'trophy': ' Trofeo: {names}.', 'trophies': ' Trofeos: {names}.',
        'challenge': ' Reto cumplido: {names}.', 'challenges': ' Retos cumplidos: {names}.',
        'subject': '{league}: resultados de su equipo',
        'intro': '{league} ha cerrado. Resultados de su equipo en {locations}.',
        'location': '{location}: {scored} de {eligible} personas sumaron puntos ({pct} %).',
        'division': '{division}: {ranked} clasificados; {scored} de {eligible} sumaron puntos ({pct} %).',
        'top': 'Los 3 primeros:', 'yours': 'Su equipo:', 'elsewhere': 'otro centro',
        'row': '{place} {name}, {points} puntos', 'unranked_row': 'sin clasificar: {name}, {points} puntos',
        'prize': ', premio +{points}', 'row_trophies': ', trofeos: {names}', 'row_challenges': ', retos: {names}',
    },
    'hi': {
        'month': '{month} {year}',
        'ranked': 'आप {division} में {of} में से {place} स्थान पर रहे, {points} अंकों के साथ',
        'unranked': '{division} में आपके {points} अंक रहे',
        'reward': ': +{reward} अंक।',
        'trophy': ' ट्रॉफ़ी: {names}।', 'trophies': ' ट्रॉफ़ियाँ: {names}।',
        'challenge': ' चुनौती पूरी: {names}।', 'challenges': ' चुनौतियाँ पूरी: {names}।',
        'subject': '{league}: आपकी टीम के नतीजे',
        'intro': '{league} बंद हो गई है। {locations} में आपकी टीम के नतीजे।',
        'location': '{location}: {eligible} में से {scored} लोगों ने अंक पाए ({pct}%)।',
        'division': '{division}: {ranked} रैंक में; {eligible} में से {scored} ने अंक पाए ({pct}%)।',
        'top': 'शीर्ष 3:', 'yours': 'आपकी टीम:', 'elsewhere': 'दूसरी लोकेशन',
        'row': '{place} {name}, {points} अंक', 'unranked_row': 'रैंक नहीं: {name}, {points} अंक',
        'prize': ', पुरस्कार +{points}', 'row_trophies': ', ट्रॉफ़ियाँ: {names}', 'row_challenges': ', चुनौतियाँ: {names}',
    },
    'id': {
        'month': '{month} {year}',
        'ranked': 'Anda menempati peringkat {place} dari {of} di {division} dengan {points} poin',
        'unranked': 'Anda mengumpulkan {points} poin di {division}',
        'reward': ': +{reward} poin.',
        'trophy': ' Trofi: {names}.', 'trophies': ' Trofi: {names}.',
        'challenge': ' Tantangan tercapai: {names}.', 'challenges': ' Tantangan tercapai: {names}.',
        'subject': '{league}: hasil tim Anda',
        'intro': '{league} telah ditutup. Hasil tim Anda di {locations}.',
        'location': '{location}: {scored} dari {eligible} orang mendapat poin ({pct}%).',
        'division': '{division}: {ranked} masuk peringkat; {scored} dari {eligible} mendapat poin ({pct}%).',
        'top': '3 teratas:', 'yours': 'Tim Anda:', 'elsewhere': 'lokasi lain',
        'row': 'peringkat {place}: {name}, {points} poin', 'unranked_row': 'belum masuk peringkat: {name}, {points} poin',
        'prize': ', hadiah +{points}', 'row_trophies': ', trofi: {names}', 'row_challenges': ', tantangan: {names}',
    },
}  # fmt: skip


def language(value: str | None) -> str:
    return value if value in LANGUAGES else 'en'


def number(lang: str, value: int | float) -> SafeText:
    """1,240 (en, hi) or 1.240 (es, id); one decimal: 66.7 or 66,7."""
    return ours(grouped(language(lang), value))


def league_month(lang: str, league: str, month: str) -> SafeText:
    """'Pitstop League, October 2026' (the `ref` of a winner's notice, the subject of a summary)."""
    lang = language(lang)
    year, number_ = month.split('-')
    when = render(TEXTS[lang]['month'], month=ours(MONTH_NAMES[lang][int(number_) - 1]), year=int(year))
    return ours(render('{league}, {when}', league=league, when=ours(when)))


def _names(lang: str, one: str, several: str, names: Sequence[str]) -> str:
    if not names:
        return ''
    return render(TEXTS[lang][one if len(names) == 1 else several], names=', '.join(names))


def result_text(lang: str, *, division: str, rank: int | None, of: int, points: int, reward: int, trophies: Sequence[str] = (),
                challenges: Sequence[str] = ()) -> str:  # fmt: skip
    """One winner's result, in one line (a WhatsApp template variable: no line breaks)."""
    lang = language(lang)
    texts = TEXTS[lang]
    if rank is not None:
        head = render(texts['ranked'], place=ordinal(lang, rank, oblique=True), of=number(lang, of), division=division,
                      points=number(lang, points))  # fmt: skip
    else:
        head = render(texts['unranked'], division=division, points=number(lang, points))
    tail = render(texts['reward'], reward=number(lang, reward)) if reward else ('।' if lang == 'hi' else '.')
    return head + tail + _names(lang, 'trophy', 'trophies', trophies) + _names(lang, 'challenge', 'challenges', challenges)


@dataclass(frozen=True)
class SummaryRow:
    """One line of a manager's summary: one of their people, or a top-3 place held elsewhere (`name` None)."""

    rank: int | None
    name: str | None
    points: int
    prize: int = 0
    trophies: tuple[str, ...] = ()
    challenges: tuple[str, ...] = ()


@dataclass(frozen=True)
class SummaryDivision:
    name: str
    ranked: int
    eligible: int
    scored: int
    participation_pct: float
    top: tuple[SummaryRow, ...]
    people: tuple[SummaryRow, ...]


@dataclass(frozen=True)
class SummaryLocation:
    name: str
    eligible: int
    scored: int

    @property
    def participation_pct(self) -> float:
        return round(100.0 * self.scored / self.eligible, 1) if self.eligible else 0.0


def _row(lang: str, row: SummaryRow) -> str:
    texts = TEXTS[lang]
    name = row.name if row.name is not None else ours(f'({texts["elsewhere"]})')
    if row.rank is None:
        line = render(texts['unranked_row'], name=name, points=number(lang, row.points))
    else:
        line = render(texts['row'], place=ordinal(lang, row.rank), name=name, points=number(lang, row.points))
    if row.prize:
        line += render(texts['prize'], points=number(lang, row.prize))
    if row.trophies:
        line += render(texts['row_trophies'], names=', '.join(row.trophies))
    if row.challenges:
        line += render(texts['row_challenges'], names=', '.join(row.challenges))
    return line


def summary_email(lang: str, *, league: str, month: str, locations: Sequence[SummaryLocation],
                  divisions: Sequence[SummaryDivision]) -> EmailContent:  # fmt: skip
    """A location manager's e-mail: their locations' participation, then each division their people are in."""
    lang = language(lang)
    texts = TEXTS[lang]
    title = league_month(lang, league, month)

    def figures(scored: int, eligible: int, pct: float) -> dict[str, SafeText]:
        return {'scored': number(lang, scored), 'eligible': number(lang, eligible), 'pct': number(lang, pct)}

    lines = [render(texts['intro'], league=title, locations=', '.join(location.name for location in locations)), '']
    for location in locations:
        counts = figures(location.scored, location.eligible, location.participation_pct)
        lines.append(render(texts['location'], location=location.name, **counts))
    for division in divisions:
        counts = figures(division.scored, division.eligible, division.participation_pct)
        lines += ['', render(texts['division'], division=division.name, ranked=number(lang, division.ranked), **counts)]
        if division.top:
            lines.append(texts['top'])
            lines += [f'  {_row(lang, row)}' for row in division.top]
        lines.append(texts['yours'])
        lines += [f'  {_row(lang, row)}' for row in division.people]
    return EmailContent(subject=render(texts['subject'], league=title), text='\n'.join(lines) + '\n')
