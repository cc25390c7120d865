"""What a redemption notice says, in the person's language (en, es, hi, id). Pure.

It travels as the `redemption_update` alert ('{name}, {ref}: {threshold}'): `ref` is the item's name, the line below the
threshold, e.g. "Priya, Amazon voucher ₹500: done. Your code: 3F2A-...; valid until 2027-10-01." Catalogue names and
provider codes are cleaned (`shared.notify.safe_text.render`): one line, no links, capped. Points are grouped as the
person's language writes them (1,000 / 1.000: `shared.notify.languages.grouped`).
"""

from __future__ import annotations

from datetime import datetime

from shared.notify.languages import grouped
from shared.notify.safe_text import render

TEXTS = {
    'en': {
        'reserved': '{points} points reserved; it is on its way.',
        'queued': "{points} points reserved. This month's budget at your location is spent: you are number {position} in the queue.",
        'released': 'your place in the queue came up; it is on its way.',
        'completed': 'done ({points} points).',
        'code': ' Your code: {code}.',
        'expires': ' Valid until {date}.',
        'reference': ' Reference: {reference}.',
        'failed': 'could not be fulfilled ({reason}). Your {points} points are back.',
    },
    'es': {
        'reserved': '{points} puntos reservados; está en camino.',
        'queued': ('Se reservaron {points} puntos. El presupuesto de este mes de su centro está agotado: '
                   'es el número {position} en la cola.'),
        'released': 'le llegó el turno en la cola; está en camino.',
        'completed': 'listo ({points} puntos).',
        'code': ' Su código: {code}.',
        'expires': ' Válido hasta {date}.',
        'reference': ' Referencia: {reference}.',
        'failed': 'no se pudo entregar ({reason}). Le devolvimos sus {points} puntos.',
    },
    'hi': {
        'reserved': '{points} अंक आरक्षित; यह जल्द मिलेगा।',
        'queued': '{points} अंक आरक्षित। इस महीने आपकी लोकेशन का बजट ख़त्म हो गया है: कतार में आपका नंबर {position} है।',
        'released': 'कतार में आपकी बारी आ गई; यह जल्द मिलेगा।',
        'completed': 'पूरा हुआ ({points} अंक)।',
        'code': ' आपका कोड: {code}।',
        'expires': ' {date} तक मान्य।',
        'reference': ' संदर्भ: {reference}।',
        'failed': 'पूरा नहीं हो सका ({reason})। आपके {points} अंक वापस कर दिए गए हैं।',
    },
    'id': {
        'reserved': '{points} poin sudah dicadangkan; sedang dalam proses.',
        'queued': ('{points} poin sudah dicadangkan. Anggaran bulan ini di lokasi Anda sudah habis: '
                   'Anda berada di nomor {position} dalam antrean.'),
        'released': 'giliran Anda dalam antrean sudah tiba; sedang dalam proses.',
        'completed': 'selesai ({points} poin).',
        'code': ' Kode Anda: {code}.',
        'expires': ' Berlaku hingga {date}.',
        'reference': ' Referensi: {reference}.',
        'failed': 'tidak dapat dipenuhi ({reason}). {points} poin Anda sudah dikembalikan.',
    },
}


def _texts(language: str) -> dict[str, str]:
    return TEXTS.get(language if language in TEXTS else 'en', TEXTS['en'])


def reserved_line(language: str, points: int) -> str:
    return render(_texts(language)['reserved'], points=grouped(language, points))


def queued_line(language: str, points: int, position: int) -> str:
    return render(_texts(language)['queued'], points=grouped(language, points), position=position)


def released_line(language: str) -> str:
    return _texts(language)['released']


def completed_line(language: str, points: int, code: str | None, expires: datetime | None, reference: str | None) -> str:
    texts = _texts(language)
    line = render(texts['completed'], points=grouped(language, points))
    if code:
        line += render(texts['code'], code=code)
    elif reference:
        line += render(texts['reference'], reference=reference)
    if expires is not None:
        line += render(texts['expires'], date=f'{expires:%Y-%m-%d}')
    return line


def failed_line(language: str, points: int, reason: str) -> str:
    return render(_texts(language)['failed'], points=grouped(language, points), reason=reason)
