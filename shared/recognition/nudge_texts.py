"""What nudges say, in the manager's language (en, es, hi, id). Pure.

A nudge is one line: the evidence (who reached what, with the figure that proves it) and the ask, e.g.
  "Dev reached level Pit crew in Pitstop League (1,020 points). Reply YES to give 100 points or reply an amount."
It travels as the `nudge` alert's threshold (shared/notify/messages.py: '{name}, {ref}: {threshold}'; a manager alert is
prefixed 'For your team (<person>): '), so the alert sender delivers it on the manager's channel like every alert.
The answer to the manager's YES or amount is a TwiML reply, composed here too.

Names come from our own directory and program documents, not from a sender; they are cleaned all the same
(`shared.notify.safe_text.render`: one line, no links, capped).
"""

from __future__ import annotations

from shared.notify.languages import DECIMAL_COMMA, LANGUAGES
from shared.notify.safe_text import SafeText, ours, render

EVIDENCE = {
    'en': {
        'level': '{person} reached level {achievement} in {league} ({points} points).',
        'badge': '{person} earned the badge "{achievement}" in {league}.',
        'streak': '{person} earned the streak badge "{achievement}" in {league}: {days} working days in a row.',
        'csat_run': '{person} got {count} top CSAT scores ({top}) in a row in {league}.',
        'ask': ' Reply YES to give {points} points or reply an amount.',
    },
    'es': {
        'level': '{person} ha alcanzado el nivel {achievement} en {league} ({points} puntos).',
        'badge': '{person} ha conseguido la insignia «{achievement}» en {league}.',
        'streak': '{person} ha conseguido la insignia de racha «{achievement}» en {league}: {days} días laborables seguidos.',
        'csat_run': '{person} ha recibido {count} valoraciones CSAT máximas ({top}) seguidas en {league}.',
        'ask': ' Responda SÍ para darle {points} puntos o responda con una cantidad.',
    },
    'hi': {
        'level': '{person} {league} में {achievement} स्तर पर पहुँचे ({points} अंक)।',
        'badge': '{person} को {league} में "{achievement}" बैज मिला।',
        'streak': '{person} को {league} में स्ट्रीक बैज "{achievement}" मिला: लगातार {days} कार्य दिवस।',
        'csat_run': '{person} को {league} में लगातार {count} सर्वोच्च CSAT ({top}) मिले।',
        'ask': ' {points} अंक देने के लिए YES भेजें, या कोई संख्या भेजें।',
    },
    'id': {
        'level': '{person} mencapai level {achievement} di {league} ({points} poin).',
        'badge': '{person} mendapatkan lencana "{achievement}" di {league}.',
        'streak': '{person} mendapatkan lencana beruntun "{achievement}" di {league}: {days} hari kerja berturut-turut.',
        'csat_run': '{person} mendapat {count} skor CSAT tertinggi ({top}) berturut-turut di {league}.',
        'ask': ' Balas YA untuk memberi {points} poin, atau balas dengan jumlah lain.',
    },
}  # fmt: skip

REPLIES = {
    'en': {
        'awarded': 'Done: {points} points to {person} as a spot award, from your budget.',
        'awarded_left': 'Done: {points} points to {person} as a spot award. Your budget left this month: {left} points.',
        'approval': '{points} points to {person} need approval by your manager or an admin: the request is waiting.',
        'over_budget': 'Not given: {points} points is over your budget this month ({left} left). Reply a smaller amount.',
        'expired': 'That suggestion has expired; no points were given. You can still give a spot award in Pitcrew.',
        'amount': 'Reply YES to give {points} points, or a whole number of points (1 or more).',
        'too_many': 'Not given: a spot award is 1 to {points} points. Reply a smaller amount.',
    },
    'es': {
        'awarded': 'Hecho: {points} puntos para {person} como premio puntual, de su presupuesto.',
        'awarded_left': 'Hecho: {points} puntos para {person} como premio puntual. Le quedan {left} puntos de presupuesto este mes.',
        'approval': 'Los {points} puntos para {person} necesitan la aprobación de su responsable o de un administrador: '
                    'la solicitud espera.',
        'over_budget': 'No se han dado: {points} puntos superan su presupuesto del mes (quedan {left}). Responda una cantidad menor.',
        'expired': 'Esa sugerencia ha caducado; no se han dado puntos. Aún puede dar un premio puntual en Pitcrew.',
        'amount': 'Responda SÍ para dar {points} puntos, o un número entero de puntos (1 o más).',
        'too_many': 'No se han dado: un premio puntual es de 1 a {points} puntos. Responda una cantidad menor.',
    },
    'hi': {
        'awarded': 'हो गया: {person} को आपके बजट से {points} अंक का स्पॉट अवॉर्ड दिया गया।',
        'awarded_left': 'हो गया: {person} को {points} अंक का स्पॉट अवॉर्ड दिया गया। इस महीने आपका बचा बजट: {left} अंक।',
        'approval': '{person} के लिए {points} अंकों को आपके मैनेजर या एडमिन की मंज़ूरी चाहिए: अनुरोध प्रतीक्षा में है।',
        'over_budget': 'नहीं दिए गए: {points} अंक इस महीने के आपके बजट से ज़्यादा हैं ({left} बचे)। कम संख्या भेजें।',
        'expired': 'यह सुझाव समाप्त हो गया; कोई अंक नहीं दिए गए। आप Pitcrew में अब भी स्पॉट अवॉर्ड दे सकते हैं।',
        'amount': '{points} अंक देने के लिए YES भेजें, या अंकों की पूरी संख्या (1 या अधिक)।',
        'too_many': 'नहीं दिए गए: स्पॉट अवॉर्ड 1 से {points} अंकों का होता है। कम संख्या भेजें।',
    },
    'id': {
        'awarded': 'Selesai: {points} poin untuk {person} sebagai penghargaan langsung, dari anggaran Anda.',
        'awarded_left': 'Selesai: {points} poin untuk {person} sebagai penghargaan langsung. Sisa anggaran Anda bulan ini: {left} poin.',
        'approval': '{points} poin untuk {person} perlu persetujuan manajer Anda atau admin: permintaannya sedang menunggu.',
        'over_budget': 'Tidak diberikan: {points} poin melebihi anggaran Anda bulan ini (sisa {left}). '
                       'Balas dengan jumlah yang lebih kecil.',
        'expired': 'Saran itu sudah kedaluwarsa; tidak ada poin yang diberikan. Anda masih bisa memberi penghargaan langsung di Pitcrew.',
        'amount': 'Balas YA untuk memberi {points} poin, atau balas jumlah poin berupa bilangan bulat (1 atau lebih).',
        'too_many': 'Tidak diberikan: penghargaan langsung bernilai 1 sampai {points} poin. Balas dengan jumlah yang lebih kecil.',
    },
}  # fmt: skip


def language_of(language: str | None) -> str:
    return language if language in LANGUAGES else 'en'


def number(language: str, value: int) -> SafeText:
    """1,020 (en); 1.020 (es, id); 1,020 and 1,00,000 (hi: Indian grouping)."""
    sign, digits = ('-' if value < 0 else ''), str(abs(value))
    if language == 'hi' and len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        return ours(sign + ','.join([head, *groups, tail]))
    grouped = f'{abs(value):,}'
    return ours(sign + (grouped.replace(',', '.') if language in DECIMAL_COMMA else grouped))


def nudge_line(language: str, kind: str, *, person: str, name: str, league: str, points: int, suggested: int, days: int = 0,
               count: int = 0, top: int = 5) -> str:  # fmt: skip
    """The nudge: the evidence of `kind` (level, badge, streak, csat_run) and the ask for `suggested` points."""
    lang = language_of(language)
    texts = EVIDENCE[lang]
    evidence = render(texts[kind], person=person, achievement=name, league=league, points=number(lang, points), days=days, count=count,
                      top=top)  # fmt: skip
    return evidence + render(texts['ask'], points=number(lang, suggested))


def reply_text(language: str, key: str, *, person: str = '', points: int = 0, left: int | None = None, reason: str = '') -> str:
    """The answer to a manager's YES or amount."""
    lang = language_of(language)
    return render(REPLIES[lang][key], person=person, points=number(lang, points), left=number(lang, left or 0), reason=reason)
