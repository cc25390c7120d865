"""What spot award notices and refusals say, in the recipient's language (en, es, hi, id). Pure.

Each notice travels as an alert (shared/notify/messages.py: '{name}, {ref}: {threshold}'): `ref` names the notice
("Spot award", "Spot award approval"), `threshold` is the line composed here. Names, reasons and messages come from our
directory and program documents or were typed by a manager: every value is cleaned by `render`
(shared.notify.safe_text), so a message with a line break or a link cannot make a notice say more than it should.
"""

from __future__ import annotations

from shared.notify.languages import LANGUAGES
from shared.notify.safe_text import clean, render
from shared.recognition.spot import SpotAward, SpotRefused, SpotStatus

TEXTS = {
    'en': {
        'ref_received': 'Spot award', 'ref_waiting': 'Spot award approval', 'ref_decided': 'Your spot award',
        'received': '{giver} gave you +{points} points for {reason}',
        'message': ': "{message}"',
        'waiting': '{maker} asks to give {receiver} +{points} points for {reason} (request {award}); decide by {deadline}',
        'reminder': 'reminder: {maker} still waits for your decision on +{points} points to {receiver} for {reason} '
                    '(request {award}); decide by {deadline}',
        'approved': '+{points} points to {receiver} for {reason} were approved and awarded',
        'rejected': '+{points} points to {receiver} were rejected ({why}); the points are back in your budget',
        'expired': '+{points} points to {receiver} expired without a decision; the points are back in your budget',
        'refused': 'spot award refused: {why}',
        'over_budget': 'only {remaining} of your {budget} points are left for {month}',
    },
    'es': {
        'ref_received': 'Premio especial', 'ref_waiting': 'Aprobación de premio especial', 'ref_decided': 'Su premio especial',
        'received': '{giver} le dio +{points} puntos por {reason}',
        'message': ': «{message}»',
        'waiting': '{maker} pide dar a {receiver} +{points} puntos por {reason} (solicitud {award}); decida antes del {deadline}',
        'reminder': 'recordatorio: {maker} sigue esperando su decisión sobre +{points} puntos para {receiver} por {reason} '
                    '(solicitud {award}); decida antes del {deadline}',
        'approved': 'los +{points} puntos para {receiver} por {reason} fueron aprobados y entregados',
        'rejected': 'los +{points} puntos para {receiver} fueron rechazados ({why}); los puntos vuelven a su presupuesto',
        'expired': 'los +{points} puntos para {receiver} caducaron sin decisión; los puntos vuelven a su presupuesto',
        'refused': 'premio especial rechazado: {why}',
        'over_budget': 'solo le quedan {remaining} de sus {budget} puntos para {month}',
    },
    'hi': {
        'ref_received': 'स्पॉट अवॉर्ड', 'ref_waiting': 'स्पॉट अवॉर्ड स्वीकृति', 'ref_decided': 'आपका स्पॉट अवॉर्ड',
        'received': '{giver} ने आपको {reason} के लिए +{points} अंक दिए',
        'message': ': "{message}"',
        'waiting': '{maker} {receiver} को {reason} के लिए +{points} अंक देना चाहते हैं (अनुरोध {award}); {deadline} तक निर्णय लें',
        'reminder': 'याद दिलाना: {maker} अब भी {receiver} को {reason} के लिए +{points} अंकों पर आपके निर्णय की प्रतीक्षा में हैं '
                    '(अनुरोध {award}); {deadline} तक निर्णय लें',
        'approved': '{receiver} को {reason} के लिए +{points} अंक स्वीकृत होकर दे दिए गए',
        'rejected': '{receiver} को +{points} अंक अस्वीकृत हुए ({why}); अंक आपके बजट में वापस आ गए',
        'expired': '{receiver} को +{points} अंक बिना निर्णय के समाप्त हो गए; अंक आपके बजट में वापस आ गए',
        'refused': 'स्पॉट अवॉर्ड अस्वीकृत: {why}',
        'over_budget': '{month} के लिए आपके {budget} में से केवल {remaining} अंक बचे हैं',
    },
    'id': {
        'ref_received': 'Penghargaan langsung', 'ref_waiting': 'Persetujuan penghargaan langsung',
        'ref_decided': 'Penghargaan langsung Anda',
        'received': '{giver} memberi Anda +{points} poin untuk {reason}',
        'message': ': "{message}"',
        'waiting': '{maker} meminta untuk memberi {receiver} +{points} poin untuk {reason} (permintaan {award}); '
                   'putuskan sebelum {deadline}',
        'reminder': 'pengingat: {maker} masih menunggu keputusan Anda atas +{points} poin bagi {receiver} untuk {reason} '
                    '(permintaan {award}); putuskan sebelum {deadline}',
        'approved': '+{points} poin bagi {receiver} untuk {reason} telah disetujui dan diberikan',
        'rejected': '+{points} poin bagi {receiver} ditolak ({why}); poinnya kembali ke anggaran Anda',
        'expired': '+{points} poin bagi {receiver} kedaluwarsa tanpa keputusan; poinnya kembali ke anggaran Anda',
        'refused': 'penghargaan langsung ditolak: {why}',
        'over_budget': 'hanya tersisa {remaining} dari {budget} poin Anda untuk {month}',
    },
}


def _texts(language: str | None) -> dict[str, str]:
    return TEXTS[language if language in LANGUAGES else 'en']


def ref(kind: str, language: str | None) -> str:
    """The notice's name: 'received', 'waiting' or 'decided'."""
    return _texts(language)[f'ref_{kind}']


def received(award: SpotAward, giver: str, language: str | None) -> str:
    texts = _texts(language)
    line = render(texts['received'], giver=giver, points=award.points, reason=award.reason_name)
    if award.message.strip():
        line += render(texts['message'], message=clean(award.message, 160))
    return line


def waiting(award: SpotAward, maker: str, receiver: str, language: str | None, *, reminder: bool = False) -> str:
    deadline = award.expires_at.strftime('%Y-%m-%d %H:%M UTC') if award.expires_at else '-'
    return render(_texts(language)['reminder' if reminder else 'waiting'], maker=maker, receiver=receiver, points=award.points,
                  reason=award.reason_name, award=award.award_id, deadline=deadline)  # fmt: skip


def decided(award: SpotAward, receiver: str, language: str | None) -> str:
    texts = _texts(language)
    if award.status in (SpotStatus.APPROVED, SpotStatus.AWARDED):
        return render(texts['approved'], points=award.points, receiver=receiver, reason=award.reason_name)
    if award.status is SpotStatus.REJECTED:
        return render(texts['rejected'], points=award.points, receiver=receiver, why=clean(award.decision_reason or '-', 160))
    return render(texts['expired'], points=award.points, receiver=receiver)


def refusal(refused: SpotRefused, language: str | None) -> str:
    """What the requester is told (a nudge reply, a WhatsApp answer): over budget names what is left in their language;
    any other refusal gives its reason (English: the codes' reasons are written for the admin console too)."""
    texts = _texts(language)
    if refused.code == 'over_budget':
        values = refused.values
        why = render(texts['over_budget'], remaining=int(values.get('remaining') or 0), budget=int(values.get('budget') or 0),
                     month=str(values.get('month') or ''))  # fmt: skip
    else:
        why = clean(refused.reason, 240)
    return render(texts['refused'], why=clean(why, 260))
