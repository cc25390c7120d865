"""What a collusion notice tells the manager in scope, in the manager's language (en, es, hi, id). Pure.

The notice is the `collusion_flag` alert (shared/notify/messages.py: '{name}, {ref}: {threshold}'); the alert sender
prefixes it with 'For your team (<subject>): '. `ref` is the check and its month ("Recognition check, November 2026");
the threshold is one short evidence line composed here, e.g.
  "possible reciprocal thanks: Asha gave Ravi 120 points (60% of the allowance) and Ravi gave Asha 110 (55%). Nothing was
  blocked: review it in Pitcrew."
Names come from the directory; they are cleaned all the same (`render`: one line, no links, capped). The line stays
within the alert threshold's 300 characters: a long ring names its people and the total, not every link.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.leagues.announce_texts import MONTH_NAMES, language, number
from shared.notify.safe_text import SafeText, cap, clean, ours, render
from shared.recognition.collusion import CollusionFlag, FlagKind

LINE_LIMIT = 300
NAME_LIMIT = 30
TEXTS = {
    'en': {
        'ref': 'Recognition check, {month} {year}',
        'reciprocal': 'possible reciprocal thanks: {a} gave {b} {ab} points ({sab} of the allowance) and {b} gave {a} {ba} ({sba}).',
        'ring': 'possible ring of thanks: {chain} ({points} points in {count} thanks).',
        'concentration': '{receiver} received {points} of the {total} points {team} gave ({share}).',
        'your_team': 'your team',
        'team_of': "{manager}'s team",
        'tail': ' Nothing was blocked: review it in Pitcrew.',
    },
    'es': {
        'ref': 'Revisión de reconocimientos, {month} de {year}',
        'reciprocal': 'posible reconocimiento recíproco: {a} dio a {b} {ab} puntos ({sab} de su asignación) y {b} dio a {a} {ba} ({sba}).',
        'ring': 'posible círculo de reconocimientos: {chain} ({points} puntos en {count} reconocimientos).',
        'concentration': '{receiver} recibió {points} de los {total} puntos que dio {team} ({share}).',
        'your_team': 'su equipo',
        'team_of': 'el equipo de {manager}',
        'tail': ' No se bloqueó nada: revíselo en Pitcrew.',
    },
    'hi': {
        'ref': 'सराहना जाँच, {month} {year}',
        'reciprocal': 'संभावित आपसी सराहना: {a} ने {b} को {ab} अंक दिए (भत्ते का {sab}) और {b} ने {a} को {ba} ({sba})।',
        'ring': 'सराहना का संभावित घेरा: {chain} ({count} सराहनाओं में {points} अंक)।',
        'concentration': '{team} के दिए {total} अंकों में से {points} अंक {receiver} को मिले ({share})।',
        'your_team': 'आपकी टीम',
        'team_of': '{manager} की टीम',
        'tail': ' कुछ रोका नहीं गया: Pitcrew में देखें।',
    },
    'id': {
        'ref': 'Pemeriksaan apresiasi, {month} {year}',
        'reciprocal': 'kemungkinan apresiasi timbal balik: {a} memberi {b} {ab} poin ({sab} dari jatah) dan {b} memberi {a} {ba} ({sba}).',
        'ring': 'kemungkinan lingkaran apresiasi: {chain} ({points} poin dalam {count} apresiasi).',
        'concentration': '{receiver} menerima {points} dari {total} poin yang diberikan {team} ({share}).',
        'your_team': 'tim Anda',
        'team_of': 'tim {manager}',
        'tail': ' Tidak ada yang diblokir: tinjau di Pitcrew.',
    },
}  # fmt: skip


def flag_ref(lang: str, month: str) -> str:
    lang = language(lang)
    year, month_number = month.split('-')
    return render(TEXTS[lang]['ref'], month=ours(MONTH_NAMES[lang][int(month_number) - 1]), year=int(year))


def _pct(value: float) -> SafeText:
    return ours(f'{value:.0%}')


def evidence_line(lang: str, flag: CollusionFlag, names: Mapping[str, str], manager_id: str) -> str:
    """The flag in one line for `manager_id`, in `lang`: who gave whom how much, the shares, and that nothing was blocked."""
    lang = language(lang)
    texts = TEXTS[lang]

    def name(person: str | None) -> SafeText:
        return clean(names.get(person or '') or person or '-', NAME_LIMIT)

    if flag.kind is FlagKind.RECIPROCAL:
        there, back = flag.links
        body = render(texts['reciprocal'], a=name(there.giver_id), b=name(there.receiver_id), ab=number(lang, there.points),
                      sab=_pct(there.share), ba=number(lang, back.points), sba=_pct(back.share))  # fmt: skip
    elif flag.kind is FlagKind.RING:
        steps = [name(flag.members[0])] + [ours(f'{name(link.receiver_id)} ({number(lang, link.points)})') for link in flag.links]
        chain = ' → '.join(steps)
        if len(chain) > 160:  # a long ring: its people, not every link
            chain = ' → '.join([*(name(member) for member in flag.members), name(flag.members[0])])
        body = render(texts['ring'], chain=ours(cap(chain, 200)), points=number(lang, flag.points), count=number(lang, flag.recognitions))
    else:
        link = flag.links[0]
        team = ours(texts['your_team']) if flag.team_id == manager_id else ours(render(texts['team_of'], manager=name(flag.team_id)))
        body = render(texts['concentration'], receiver=name(link.receiver_id), points=number(lang, link.points),
                      total=number(lang, flag.team_points), team=team, share=_pct(link.share))  # fmt: skip
    return cap(body + texts['tail'], LINE_LIMIT)
