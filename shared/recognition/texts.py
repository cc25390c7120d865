"""What peer recognition says to people, in their language (en, es, hi, id). Pure.

- The receiver's notice: the line of the `recognition_received` alert ('{name}, {ref}: {threshold}' in
  shared/notify/messages.py), `ref` being the program's name and the line composed here, e.g.
  "Asha thanked you with 20 points for Teamwork: "spotted the brake fault early"".
- The replies to THANKS / GRACIAS / DHANYAVAAD / TERIMA KASIH over WhatsApp or SMS: what was given and the allowance left this month,
  or why nothing was given (every refusal code of `shared.recognition.give.RecognitionRefused`).
- The refusals' English text is also the error of the function (`points: 80 is more than your remaining allowance of
  50 this month`).

Every value goes through `shared.notify.safe_text.render` (one line, no links, capped): a message typed by a colleague
cannot make a notice say more than it should.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.notify.languages import LANGUAGES
from shared.notify.safe_text import clean, ours, render

MESSAGE_EXCERPT = 160  # of the giver's message, in the receiver's notice (the alert's detail is capped at 300)

NOTICE = {
    'en': '{giver} thanked you with {points} points for {value}: "{message}"',
    'es': '{giver} le agradeció con {points} puntos por {value}: "{message}"',
    'hi': '{giver} ने {value} के लिए आपको {points} अंक देकर धन्यवाद दिया: "{message}"',
    'id': '{giver} berterima kasih kepada Anda dengan {points} poin untuk {value}: "{message}"',
}

REFUSALS: dict[str, dict[str, str]] = {
    'en': {
        'no_program': 'no program with peer recognition admits both {giver} and {receiver}',
        'recognition_off': 'no program has peer recognition yet',
        'program_unknown': 'no program {program} with peer recognition',
        'program_closed': 'program {program} is not running on {day}',
        'giver_unknown': 'no employee {giver} in the directory',
        'giver_inactive': '{giver} is no longer active in the directory',
        'giver_outside': '{giver} is not in the recognition of program {program}',
        'self': 'you cannot thank yourself',
        'receiver_unknown': 'no employee {receiver} in the directory',
        'receiver_inactive': '{receiver} is no longer active in the directory',
        'receiver_outside': '{receiver} is not in program {program}',
        'message_empty': 'say why: the message must not be empty',
        'message_long': 'the message has {length} characters, more than {most}',
        'value_unknown': '{value} is not a value of program {program} (one of: {values})',
        'points_min': '{points} is less than the least of {least} points',
        'points_max': '{points} is more than the most of {most} points in one recognition',
        'allowance': '{points} is more than your remaining allowance of {remaining} this month',
        'pair_cap': '{points} would take what you gave {receiver} this month over the cap of {cap} ({left} left)',
        'busy': 'too many recognitions at once: please try again',
    },
    'es': {
        'no_program': 'ningún programa de reconocimiento incluye a {giver} y a {receiver}',
        'recognition_off': 'ningún programa tiene todavía reconocimiento entre compañeros',
        'program_unknown': 'no hay un programa {program} con reconocimiento entre compañeros',
        'program_closed': 'el programa {program} no está activo el {day}',
        'giver_unknown': 'no hay ningún empleado {giver} en el directorio',
        'giver_inactive': '{giver} ya no está activo en el directorio',
        'giver_outside': '{giver} no participa en el reconocimiento del programa {program}',
        'self': 'no puede agradecerse a sí mismo',
        'receiver_unknown': 'no hay ningún empleado {receiver} en el directorio',
        'receiver_inactive': '{receiver} ya no está activo en el directorio',
        'receiver_outside': '{receiver} no participa en el programa {program}',
        'message_empty': 'diga por qué: el mensaje no puede estar vacío',
        'message_long': 'el mensaje tiene {length} caracteres, más de {most}',
        'value_unknown': '{value} no es un valor del programa {program} (uno de: {values})',
        'points_min': '{points} es menos que el mínimo de {least} puntos',
        'points_max': '{points} es más que el máximo de {most} puntos por reconocimiento',
        'allowance': '{points} es más que lo que le queda por dar este mes ({remaining})',
        'pair_cap': 'con {points} lo dado a {receiver} este mes superaría el tope de {cap} (quedan {left})',
        'busy': 'demasiados reconocimientos a la vez: inténtelo de nuevo',
    },
    'hi': {
        'no_program': 'कोई भी पहचान कार्यक्रम {giver} और {receiver} दोनों को शामिल नहीं करता',
        'recognition_off': 'अभी किसी भी कार्यक्रम में सहकर्मी पहचान नहीं है',
        'program_unknown': 'सहकर्मी पहचान वाला कोई कार्यक्रम {program} नहीं है',
        'program_closed': 'कार्यक्रम {program} {day} को चालू नहीं है',
        'giver_unknown': 'निर्देशिका में कोई कर्मचारी {giver} नहीं है',
        'giver_inactive': '{giver} अब निर्देशिका में सक्रिय नहीं है',
        'giver_outside': '{giver} कार्यक्रम {program} की पहचान में शामिल नहीं है',
        'self': 'आप स्वयं को धन्यवाद नहीं दे सकते',
        'receiver_unknown': 'निर्देशिका में कोई कर्मचारी {receiver} नहीं है',
        'receiver_inactive': '{receiver} अब निर्देशिका में सक्रिय नहीं है',
        'receiver_outside': '{receiver} कार्यक्रम {program} में शामिल नहीं है',
        'message_empty': 'कारण लिखें: संदेश खाली नहीं हो सकता',
        'message_long': 'संदेश में {length} अक्षर हैं, {most} से अधिक',
        'value_unknown': '{value} कार्यक्रम {program} का मूल्य नहीं है (इनमें से एक: {values})',
        'points_min': '{points} न्यूनतम {least} अंक से कम है',
        'points_max': '{points} एक पहचान के अधिकतम {most} अंक से अधिक है',
        'allowance': '{points} इस महीने आपके बचे हुए {remaining} अंक से अधिक है',
        'pair_cap': '{points} से इस महीने {receiver} को दिए अंक {cap} की सीमा से ऊपर जाएंगे ({left} बचे हैं)',
        'busy': 'एक साथ बहुत अधिक धन्यवाद: कृपया फिर से प्रयास करें',
    },
    'id': {
        'no_program': 'tidak ada program apresiasi rekan kerja yang mencakup {giver} dan {receiver}',
        'recognition_off': 'belum ada program yang memiliki apresiasi rekan kerja',
        'program_unknown': 'tidak ada program {program} dengan apresiasi rekan kerja',
        'program_closed': 'program {program} tidak berjalan pada {day}',
        'giver_unknown': 'tidak ada karyawan {giver} di direktori',
        'giver_inactive': '{giver} sudah tidak aktif di direktori',
        'giver_outside': '{giver} tidak termasuk dalam apresiasi program {program}',
        'self': 'Anda tidak dapat berterima kasih kepada diri sendiri',
        'receiver_unknown': 'tidak ada karyawan {receiver} di direktori',
        'receiver_inactive': '{receiver} sudah tidak aktif di direktori',
        'receiver_outside': '{receiver} tidak termasuk dalam program {program}',
        'message_empty': 'sebutkan alasannya: pesan tidak boleh kosong',
        'message_long': 'pesan berisi {length} karakter, lebih dari {most}',
        'value_unknown': '{value} bukan nilai program {program} (salah satu dari: {values})',
        'points_min': '{points} kurang dari batas minimum {least} poin',
        'points_max': '{points} lebih dari batas maksimum {most} poin untuk satu apresiasi',
        'allowance': '{points} lebih dari sisa jatah Anda bulan ini, yaitu {remaining}',
        'pair_cap': 'dengan {points}, poin yang Anda berikan kepada {receiver} bulan ini akan melewati batas {cap} (sisa {left})',
        'busy': 'terlalu banyak apresiasi sekaligus: silakan coba lagi',
    },
}

REPLIES = {
    'en': {
        'given': 'Thanks sent: {points} points to {receiver} for {value}. You have {remaining} points left to give this month.',
        'again': 'Already sent: {points} points to {receiver} for {value}. You have {remaining} points left to give this month.',
        'refused': 'Not sent: {reason}.',
        'usage': 'To thank a colleague: THANKS <employee code> <points> <message> #value, e.g. THANKS TECH-104 20 thanks for '
                 'the help #teamwork.',
    },
    'es': {
        'given': 'Agradecimiento enviado: {points} puntos a {receiver} por {value}. Le quedan {remaining} puntos por dar este mes.',
        'again': 'Ya enviado: {points} puntos a {receiver} por {value}. Le quedan {remaining} puntos por dar este mes.',
        'refused': 'No enviado: {reason}.',
        'usage': 'Para agradecer a un compañero: GRACIAS <código de empleado> <puntos> <mensaje> #valor, p. ej. GRACIAS '
                 'AG-204 20 gracias por la ayuda #teamwork.',
    },
    'hi': {
        'given': 'धन्यवाद भेजा गया: {value} के लिए {receiver} को {points} अंक। इस महीने देने के लिए आपके पास {remaining} अंक बचे हैं।',
        'again': 'पहले ही भेजा जा चुका है: {value} के लिए {receiver} को {points} अंक। इस महीने देने के लिए आपके पास {remaining} अंक बचे हैं।',
        'refused': 'नहीं भेजा गया: {reason}।',
        'usage': 'किसी सहकर्मी को धन्यवाद देने के लिए: धन्यवाद <कर्मचारी कोड> <अंक> <संदेश> #मूल्य, जैसे धन्यवाद TECH-104 20 '
                 'मदद के लिए शुक्रिया #teamwork',
    },
    'id': {
        'given': 'Terima kasih terkirim: {points} poin untuk {receiver} atas {value}. Sisa poin yang dapat Anda berikan bulan ini: '
                 '{remaining}.',
        'again': 'Sudah terkirim: {points} poin untuk {receiver} atas {value}. Sisa poin yang dapat Anda berikan bulan ini: {remaining}.',
        'refused': 'Tidak terkirim: {reason}.',
        'usage': 'Untuk berterima kasih kepada rekan kerja: TERIMA KASIH <kode karyawan> <poin> <pesan> #nilai, mis. TERIMA KASIH '
                 'TECH-104 20 terima kasih atas bantuannya #teamwork.',
    },
}  # fmt: skip


def language(code: str | None) -> str:
    code = (code or 'en').lower()
    return code if code in LANGUAGES else 'en'


def notice_line(lang: str, *, giver: str, points: int, value: str, message: str) -> str:
    """The receiver's notice line (the alert's `threshold`)."""
    return render(NOTICE[language(lang)], giver=giver, points=points, value=value, message=clean(message, MESSAGE_EXCERPT))


def refusal_text(lang: str, code: str, params: Mapping[str, object]) -> str:
    values = {key: clean(value, 200) if key == 'values' else value for key, value in params.items()}
    return render(REFUSALS[language(lang)].get(code, REFUSALS[language(lang)]['busy']), **values)


def reply_given(lang: str, *, points: int, receiver: str, value: str, remaining: int, again: bool = False) -> str:
    key = 'again' if again else 'given'
    return render(REPLIES[language(lang)][key], points=points, receiver=receiver, value=value, remaining=remaining)


def reply_refused(lang: str, code: str, params: Mapping[str, object]) -> str:
    if code == 'usage':
        return REPLIES[language(lang)]['usage']
    return render(REPLIES[language(lang)]['refused'], reason=ours(refusal_text(lang, code, params)))
