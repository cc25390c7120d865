"""What alerts, reminders and replies say, in the recipient's language (en, es, hi, id: shared/notify/languages.py). Pure.

WhatsApp messages that start a conversation are approved Content templates: Pitcrew sends the template's SID
and its numbered variables (`AlertText.variables`); the approved template must use the same numbering. SMS
and e-mail carry the full text. Replies to inbound commands are inside WhatsApp's 24-hour window and are free text.

Every template is filled through `shared.notify.safe_text.render`: a ticket id, a name, a reason or a code reaches
the text cleaned (one line, no control or bidi characters, links neutralised, capped with an ellipsis); only what
Pitcrew composed itself is marked `ours`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from shared.notify import EmailContent
from shared.notify.languages import DECIMAL_COMMA
from shared.notify.safe_text import LIMITS, SafeText, clean, ours, render, whatsapp_variables

METRIC_NAMES = {
    'en': {'first_response': 'first response', 'next_response': 'next response', 'resolution': 'resolution',
           'turnaround': 'turnaround', 'promise': 'promised delivery', 'approval': 'customer approval',
           'vehicle': 'repeat visit', 'upsell': 'upsell', 'league': '',
           'recognition': '', 'spot_award': '', 'collusion': '', 'nudge': '', 'redemption': ''},
    'es': {'first_response': 'primera respuesta', 'next_response': 'siguiente respuesta', 'resolution': 'resolución',
           'turnaround': 'tiempo de entrega', 'promise': 'entrega prometida', 'approval': 'aprobación del cliente',
           'vehicle': 'visita repetida', 'upsell': 'venta adicional', 'league': '',
           'recognition': '', 'spot_award': '', 'collusion': '', 'nudge': '', 'redemption': ''},
    'hi': {'first_response': 'पहला जवाब', 'next_response': 'अगला जवाब', 'resolution': 'समाधान', 'turnaround': 'टर्नअराउंड',
           'promise': 'वादा की गई डिलीवरी', 'approval': 'ग्राहक की मंज़ूरी', 'vehicle': 'दोबारा आई गाड़ी', 'upsell': 'अपसेल', 'league': '',
           'recognition': '', 'spot_award': '', 'collusion': '', 'nudge': '', 'redemption': ''},
    'id': {'first_response': 'respons pertama', 'next_response': 'respons berikutnya', 'resolution': 'penyelesaian',
           'turnaround': 'waktu pengerjaan', 'promise': 'waktu penyerahan yang dijanjikan', 'approval': 'persetujuan pelanggan',
           'vehicle': 'kunjungan ulang', 'upsell': 'penjualan tambahan', 'league': '',
           'recognition': '', 'spot_award': '', 'collusion': '', 'nudge': '', 'redemption': ''},
}  # fmt: skip

ALERT_TEXTS = {
    'en': {
        'sla_risk': '{name}, {ref}: {share} of the {metric} target is used. Due {due}.',
        'sla_breach': '{name}, {ref}: the {metric} target was missed at {due} ({level}).',
        'promise_missed': '{name}, job card {ref} is past its promised delivery time ({due}).',
        'approval_waiting': '{name}, job card {ref} has waited for customer approval since {since}.',
        'repeat_visit': '{name}, job card {ref} is a repeat visit of {threshold} on the same vehicle.',
        'upsell_flagged': '{name}, job card {ref}: an upsell opportunity ({threshold}) is waiting for the customer.',
        'manager': 'For your team ({owner}): ',
        'dispute_filed': '{name}, dispute {threshold} of points entry {ref} waits for your decision (accept or reject it in Pitcrew).',
        'dispute_accepted': '{name}, your dispute of points entry {ref} was accepted: a correction of {threshold} points.',
        'dispute_rejected': '{name}, your dispute of points entry {ref} was rejected: {threshold}',
        'level_up': '{name}, you reached level {threshold} in {ref}. Well done!',
        'badge_earned': '{name}, you earned the badge "{threshold}" in {ref}.',
        'league_result': '{name}, {ref}: {threshold}',
        # Recognition and wallet notices: the line is composed in the person's language by shared/recognition or
        # shared/wallet when the notice is planned, and travels as the threshold (as a league result does).
        'recognition_received': '{name}, {ref}: {threshold}',
        'spot_award_received': '{name}, {ref}: {threshold}',
        'collusion_flag': '{name}, {ref}: {threshold}',
        'spot_approval_waiting': '{name}, {ref}: {threshold}',
        'spot_award_decided': '{name}, {ref}: {threshold}',
        'nudge': '{name}, {ref}: {threshold}',
        'redemption_update': '{name}, {ref}: {threshold}',
    },
    'es': {
        'sla_risk': '{name}, {ref}: se ha usado el {share} del objetivo de {metric}. Vence {due}.',
        'sla_breach': '{name}, {ref}: se incumplió el objetivo de {metric} a las {due} ({level}).',
        'promise_missed': '{name}, la orden {ref} superó la hora de entrega prometida ({due}).',
        'approval_waiting': '{name}, la orden {ref} espera la aprobación del cliente desde {since}.',
        'repeat_visit': '{name}, la orden {ref} es una visita repetida de {threshold} del mismo vehículo.',
        'upsell_flagged': '{name}, orden {ref}: una venta adicional ({threshold}) espera al cliente.',
        'manager': 'Para su equipo ({owner}): ',
        'dispute_filed': '{name}, la reclamación {threshold} del movimiento de puntos {ref} espera su decisión '
        '(acéptela o recházela en Pitcrew).',
        'dispute_accepted': '{name}, su reclamación del movimiento de puntos {ref} fue aceptada: una corrección de {threshold} puntos.',
        'dispute_rejected': '{name}, su reclamación del movimiento de puntos {ref} fue rechazada: {threshold}',
        'level_up': '{name}, ha alcanzado el nivel {threshold} en {ref}. ¡Enhorabuena!',
        'badge_earned': '{name}, ha conseguido la insignia «{threshold}» en {ref}.',
        'league_result': '{name}, {ref}: {threshold}',
        # Recognition and wallet notices: the line is composed in the person's language by shared/recognition or
        # shared/wallet when the notice is planned, and travels as the threshold (as a league result does).
        'recognition_received': '{name}, {ref}: {threshold}',
        'spot_award_received': '{name}, {ref}: {threshold}',
        'collusion_flag': '{name}, {ref}: {threshold}',
        'spot_approval_waiting': '{name}, {ref}: {threshold}',
        'spot_award_decided': '{name}, {ref}: {threshold}',
        'nudge': '{name}, {ref}: {threshold}',
        'redemption_update': '{name}, {ref}: {threshold}',
    },
    'hi': {
        'sla_risk': '{name}, {ref}: {metric} लक्ष्य का {share} समय बीत चुका है। समय सीमा {due}।',
        'sla_breach': '{name}, {ref}: {metric} लक्ष्य {due} पर चूक गया ({level})।',
        'promise_missed': '{name}, जॉब कार्ड {ref} वादा किए गए डिलीवरी समय ({due}) से आगे है।',
        'approval_waiting': '{name}, जॉब कार्ड {ref} {since} से ग्राहक की मंज़ूरी का इंतज़ार कर रहा है।',
        'repeat_visit': '{name}, जॉब कार्ड {ref} उसी गाड़ी की {threshold} के बाद दोबारा आई है।',
        'upsell_flagged': '{name}, जॉब कार्ड {ref}: अपसेल ({threshold}) ग्राहक के फ़ैसले का इंतज़ार कर रहा है।',
        'manager': 'आपकी टीम ({owner}) के लिए: ',
        'dispute_filed': '{name}, अंक प्रविष्टि {ref} पर शिकायत {threshold} आपके निर्णय की प्रतीक्षा में है (Pitcrew में स्वीकार या अस्वीकार करें)।',
        'dispute_accepted': '{name}, अंक प्रविष्टि {ref} पर आपकी शिकायत स्वीकार हुई: {threshold} अंकों का सुधार।',
        'dispute_rejected': '{name}, अंक प्रविष्टि {ref} पर आपकी शिकायत अस्वीकार हुई: {threshold}',
        'level_up': '{name}, आप {ref} में {threshold} स्तर पर पहुँच गए। बधाई!',
        'badge_earned': '{name}, आपको {ref} में "{threshold}" बैज मिला।',
        'league_result': '{name}, {ref}: {threshold}',
        # Recognition and wallet notices: the line is composed in the person's language by shared/recognition or
        # shared/wallet when the notice is planned, and travels as the threshold (as a league result does).
        'recognition_received': '{name}, {ref}: {threshold}',
        'spot_award_received': '{name}, {ref}: {threshold}',
        'collusion_flag': '{name}, {ref}: {threshold}',
        'spot_approval_waiting': '{name}, {ref}: {threshold}',
        'spot_award_decided': '{name}, {ref}: {threshold}',
        'nudge': '{name}, {ref}: {threshold}',
        'redemption_update': '{name}, {ref}: {threshold}',
    },
    'id': {
        'sla_risk': '{name}, {ref}: {share} dari target {metric} sudah terpakai. Batas waktu {due}.',
        'sla_breach': '{name}, {ref}: target {metric} terlewat pada {due} ({level}).',
        'promise_missed': '{name}, perintah kerja {ref} sudah melewati waktu penyerahan yang dijanjikan ({due}).',
        'approval_waiting': '{name}, perintah kerja {ref} menunggu persetujuan pelanggan sejak {since}.',
        'repeat_visit': '{name}, perintah kerja {ref} adalah kunjungan ulang setelah {threshold} untuk kendaraan yang sama.',
        'upsell_flagged': '{name}, perintah kerja {ref}: peluang penjualan tambahan ({threshold}) menunggu keputusan pelanggan.',
        'manager': 'Untuk tim Anda ({owner}): ',
        'dispute_filed': '{name}, sanggahan {threshold} atas entri poin {ref} menunggu keputusan Anda (terima atau tolak di Pitcrew).',
        'dispute_accepted': '{name}, sanggahan Anda atas entri poin {ref} diterima: koreksi sebesar {threshold} poin.',
        'dispute_rejected': '{name}, sanggahan Anda atas entri poin {ref} ditolak: {threshold}',
        'level_up': '{name}, Anda mencapai level {threshold} di {ref}. Selamat!',
        'badge_earned': '{name}, Anda mendapatkan lencana "{threshold}" di {ref}.',
        'league_result': '{name}, {ref}: {threshold}',
        # Recognition and wallet notices: the line is composed in the person's language by shared/recognition or
        # shared/wallet when the notice is planned, and travels as the threshold (as a league result does).
        'recognition_received': '{name}, {ref}: {threshold}',
        'spot_award_received': '{name}, {ref}: {threshold}',
        'collusion_flag': '{name}, {ref}: {threshold}',
        'spot_approval_waiting': '{name}, {ref}: {threshold}',
        'spot_award_decided': '{name}, {ref}: {threshold}',
        'nudge': '{name}, {ref}: {threshold}',
        'redemption_update': '{name}, {ref}: {threshold}',
    },
}

REMINDER_TEXTS = {
    'en': ('Good morning {name}. {targets}Open: {open} ({jobs} job cards, {approvals} awaiting approval). '
           "Due today: {due_today}. Yesterday's SLA breaches: {breaches}. Points yesterday: {points} (balance {balance}). "
           'Reply TODAY for the list.'),
    'es': ('Buenos días {name}. {targets}Abiertos: {open} ({jobs} órdenes, {approvals} esperan aprobación). '
           'Vencen hoy: {due_today}. Incumplimientos de ayer: {breaches}. Puntos de ayer: {points} (saldo {balance}). '
           'Responda TODAY para ver la lista.'),
    'hi': ('सुप्रभात {name}। {targets}खुले: {open} ({jobs} जॉब कार्ड, {approvals} मंज़ूरी की प्रतीक्षा में)। '
           'आज देय: {due_today}। कल के SLA उल्लंघन: {breaches}। कल के अंक: {points} (शेष {balance})। सूची के लिए TODAY भेजें।'),
    'id': ('Selamat pagi {name}. {targets}Terbuka: {open} ({jobs} perintah kerja, {approvals} menunggu persetujuan). '
           'Jatuh tempo hari ini: {due_today}. Pelanggaran SLA kemarin: {breaches}. Poin kemarin: {points} (saldo {balance}). '
           'Balas HARI INI untuk melihat daftarnya.'),
}  # fmt: skip

REPLIES = {
    'en': {
        'points': 'You have {available} points available and {pending} pending.',
        'rank': 'Leagues have not started yet. You have {available} points available.',
        'rank_line': '{ordinal}{tied} of {of} in {division}{gap}.',
        'rank_gap': ', {gap} {unit} behind {next}',
        'rank_tied': ' (tied)',
        'rank_unqualified': 'Not ranked yet in {division}: {missing} more {items} to qualify ({have} of {need}). {points} points so far.',
        'rank_no_points': 'No points in {league} yet this month: your first points put you on the board.',
        'today': 'Open: {open} ({jobs} job cards, {approvals} awaiting approval).{items}',
        'today_empty': 'Nothing open for you right now.',
        'approval_tag': 'awaiting approval',
        'help': 'Pitcrew commands: POINTS, RANK, TODAY, DISPUTE <entry code> <text>, '
                'THANKS <code> <points> <message> #value, HELP. STOP ends alerts on this channel, '
        'START resumes them.',
        'stop': 'You will no longer receive Pitcrew alerts on {channel}. Reply START to resume.',
        'start': 'Pitcrew alerts on {channel} are on again.',
        'dispute_filed': 'Dispute {dispute} recorded for entry {code} ({points} points). Your manager decides; the answer comes here.',
        'dispute_usage': 'To dispute points send DISPUTE <entry code> <what is wrong>, e.g. DISPUTE E3F9A0C1 the customer rated 5. '
        'Entry codes are on your statement.',
        'dispute_no_comment': 'Say what is wrong after the code: DISPUTE {code} <what is wrong>.',
        'dispute_unknown_entry': 'No entry {code} among your points entries. Check the code on your statement.',
        'dispute_ambiguous': '{code} matches several of your entries: send more characters of the code.',
        'dispute_already_disputed': 'Entry {code} is already disputed ({dispute}, {status}).',
        'unknown_sender': 'This number is not registered with Pitcrew. Please contact your administrator.',
    },
    'es': {
        'points': 'Tiene {available} puntos disponibles y {pending} pendientes.',
        'rank': 'Las ligas aún no han empezado. Tiene {available} puntos disponibles.',
        'rank_line': '{ordinal}{tied} de {of} en {division}{gap}.',
        'rank_gap': ', a {gap} {unit} del {next}',
        'rank_tied': ' (empatado)',
        'rank_unqualified': 'Aún sin clasificar en {division}: le faltan {missing} {items} para clasificarse ({have} de {need}). '
        'Lleva {points} puntos.',
        'rank_no_points': 'Aún no tiene puntos en {league} este mes: sus primeros puntos le pondrán en la clasificación.',
        'today': 'Abiertos: {open} ({jobs} órdenes, {approvals} esperan aprobación).{items}',
        'today_empty': 'No tiene nada abierto ahora.',
        'approval_tag': 'espera aprobación',
        'help': 'Comandos de Pitcrew: PUNTOS, RANGO, HOY, DISPUTA <código> <texto>, '
                'GRACIAS <código> <puntos> <mensaje> #valor, AYUDA. STOP detiene las alertas en este canal, '
        'START las reanuda.',
        'stop': 'Ya no recibirá alertas de Pitcrew por {channel}. Responda START para reanudarlas.',
        'start': 'Las alertas de Pitcrew por {channel} están activas de nuevo.',
        'dispute_filed': 'Reclamación {dispute} registrada para el movimiento {code} ({points} puntos). Su responsable decide; '
        'la respuesta llegará aquí.',
        'dispute_usage': 'Para reclamar puntos envíe DISPUTA <código> <qué está mal>, p. ej. DISPUTA E3F9A0C1 el cliente puntuó 5. '
        'Los códigos están en su extracto.',
        'dispute_no_comment': 'Indique qué está mal después del código: DISPUTA {code} <qué está mal>.',
        'dispute_unknown_entry': 'Ningún movimiento {code} entre sus puntos. Revise el código en su extracto.',
        'dispute_ambiguous': '{code} coincide con varios movimientos: envíe más caracteres del código.',
        'dispute_already_disputed': 'El movimiento {code} ya está reclamado ({dispute}, {status}).',
        'unknown_sender': 'This number is not registered with Pitcrew. Please contact your administrator.',
    },
    'hi': {
        'points': 'आपके पास {available} अंक उपलब्ध हैं और {pending} लंबित हैं।',
        'rank': 'लीग अभी शुरू नहीं हुई है। आपके पास {available} अंक उपलब्ध हैं।',
        'rank_line': '{division} में {of} में से {ordinal} स्थान{tied}{gap}।',
        'rank_gap': ', {next} स्थान से {gap} {unit} पीछे',
        'rank_tied': ' (बराबरी पर)',
        'rank_unqualified': '{division} में अभी रैंक नहीं: योग्य होने के लिए {missing} और {items} चाहिए ({have}/{need})। अब तक {points} अंक।',
        'rank_no_points': 'इस महीने {league} में अभी आपके अंक नहीं हैं: पहले अंक आते ही आप सूची में होंगे।',
        'today': 'खुले: {open} ({jobs} जॉब कार्ड, {approvals} मंज़ूरी की प्रतीक्षा में)।{items}',
        'today_empty': 'अभी आपके लिए कुछ खुला नहीं है।',
        'approval_tag': 'मंज़ूरी की प्रतीक्षा',
        'help': 'Pitcrew आदेश: POINTS, RANK, TODAY, शिकायत <कोड> <विवरण>, '
                'धन्यवाद <कोड> <अंक> <संदेश> #मूल्य, HELP. STOP से इस चैनल पर अलर्ट बंद, START से फिर शुरू।',
        'stop': 'अब आपको {channel} पर Pitcrew अलर्ट नहीं मिलेंगे। फिर शुरू करने के लिए START भेजें।',
        'start': '{channel} पर Pitcrew अलर्ट फिर से चालू हैं।',
        'dispute_filed': 'प्रविष्टि {code} ({points} अंक) पर शिकायत {dispute} दर्ज हुई। आपके मैनेजर निर्णय लेंगे; जवाब यहीं आएगा।',
        'dispute_usage': 'अंकों पर शिकायत के लिए भेजें: शिकायत <प्रविष्टि कोड> <क्या गलत है>, जैसे शिकायत E3F9A0C1 ग्राहक ने 5 दिए। कोड आपके स्टेटमेंट में हैं।',
        'dispute_no_comment': 'कोड के बाद बताइए क्या गलत है: शिकायत {code} <क्या गलत है>।',
        'dispute_unknown_entry': 'आपकी अंक प्रविष्टियों में {code} नहीं है। स्टेटमेंट में कोड देखें।',
        'dispute_ambiguous': '{code} आपकी कई प्रविष्टियों से मिलता है: कोड के और अक्षर भेजें।',
        'dispute_already_disputed': 'प्रविष्टि {code} पर पहले से शिकायत है ({dispute}, {status})।',
        'unknown_sender': 'This number is not registered with Pitcrew. Please contact your administrator.',
    },
    'id': {
        'points': 'Anda memiliki {available} poin tersedia dan {pending} poin tertunda.',
        'rank': 'Liga belum dimulai. Anda memiliki {available} poin tersedia.',
        'rank_line': 'Peringkat {ordinal}{tied} dari {of} di {division}{gap}.',
        'rank_gap': ', tertinggal {gap} {unit} dari peringkat {next}',
        'rank_tied': ' (seri)',
        'rank_unqualified': 'Belum masuk peringkat di {division}: perlu {missing} {items} lagi untuk lolos ({have} dari {need}). '
        'Sejauh ini {points} poin.',
        'rank_no_points': 'Belum ada poin di {league} bulan ini: poin pertama Anda akan memasukkan Anda ke papan peringkat.',
        'today': 'Terbuka: {open} ({jobs} perintah kerja, {approvals} menunggu persetujuan).{items}',
        'today_empty': 'Saat ini tidak ada yang terbuka untuk Anda.',
        'approval_tag': 'menunggu persetujuan',
        'help': 'Perintah Pitcrew: POIN, PERINGKAT, HARI INI, SANGGAH <kode entri> <teks>, '
                'TERIMA KASIH <kode> <poin> <pesan> #nilai, BANTUAN. STOP menghentikan notifikasi di saluran ini, '
        'START mengaktifkannya kembali.',
        'stop': 'Anda tidak akan lagi menerima notifikasi Pitcrew di {channel}. Balas START untuk mengaktifkannya kembali.',
        'start': 'Notifikasi Pitcrew di {channel} aktif kembali.',
        'dispute_filed': 'Sanggahan {dispute} tercatat untuk entri {code} ({points} poin). Manajer Anda yang memutuskan; '
        'jawabannya akan dikirim ke sini.',
        'dispute_usage': 'Untuk menyanggah poin, kirim SANGGAH <kode entri> <apa yang salah>, mis. SANGGAH E3F9A0C1 pelanggan memberi '
        'nilai 5. Kode entri ada di laporan poin Anda.',
        'dispute_no_comment': 'Tulis apa yang salah setelah kodenya: SANGGAH {code} <apa yang salah>.',
        'dispute_unknown_entry': 'Tidak ada entri {code} di antara entri poin Anda. Periksa kodenya di laporan poin Anda.',
        'dispute_ambiguous': '{code} cocok dengan beberapa entri Anda: kirim lebih banyak karakter kodenya.',
        'dispute_already_disputed': 'Entri {code} sudah disanggah ({dispute}, {status}).',
        'unknown_sender': 'This number is not registered with Pitcrew. Please contact your administrator.',
    },
}


# What an alert's e-mail subject calls its kind ('Pitcrew: JC-9 promise missed (promised delivery)').
SUBJECT_KINDS = {
    'en': {'sla_risk': 'sla risk', 'sla_breach': 'sla breach', 'promise_missed': 'promise missed', 'approval_waiting': 'approval waiting',
           'repeat_visit': 'repeat visit', 'upsell_flagged': 'upsell flagged', 'dispute_filed': 'dispute filed',
           'dispute_accepted': 'dispute accepted', 'dispute_rejected': 'dispute rejected', 'level_up': 'level up',
           'badge_earned': 'badge earned', 'league_result': 'league result', 'recognition_received': 'recognition received',
           'spot_award_received': 'spot award received', 'collusion_flag': 'collusion flag',
           'spot_approval_waiting': 'spot approval waiting', 'spot_award_decided': 'spot award decided', 'nudge': 'nudge',
           'redemption_update': 'redemption update'},
    'es': {'sla_risk': 'riesgo de SLA', 'sla_breach': 'SLA incumplido', 'promise_missed': 'entrega prometida vencida',
           'approval_waiting': 'aprobación pendiente', 'repeat_visit': 'visita repetida', 'upsell_flagged': 'venta adicional pendiente',
           'dispute_filed': 'reclamación recibida', 'dispute_accepted': 'reclamación aceptada', 'dispute_rejected': 'reclamación rechazada',
           'level_up': 'nuevo nivel', 'badge_earned': 'insignia conseguida', 'league_result': 'resultado de la liga',
           'recognition_received': 'agradecimiento recibido', 'spot_award_received': 'premio especial recibido',
           'collusion_flag': 'revisión de reconocimientos', 'spot_approval_waiting': 'premio especial por aprobar',
           'spot_award_decided': 'premio especial decidido', 'nudge': 'sugerencia de premio', 'redemption_update': 'canje de puntos'},
    'hi': {'sla_risk': 'SLA जोखिम', 'sla_breach': 'SLA उल्लंघन', 'promise_missed': 'डिलीवरी समय निकला', 'approval_waiting': 'मंज़ूरी की प्रतीक्षा',
           'repeat_visit': 'दोबारा आई गाड़ी', 'upsell_flagged': 'अपसेल प्रतीक्षा में', 'dispute_filed': 'नई शिकायत',
           'dispute_accepted': 'शिकायत स्वीकृत', 'dispute_rejected': 'शिकायत अस्वीकृत', 'level_up': 'नया स्तर', 'badge_earned': 'बैज मिला',
           'league_result': 'लीग परिणाम', 'recognition_received': 'धन्यवाद मिला', 'spot_award_received': 'स्पॉट अवॉर्ड मिला',
           'collusion_flag': 'सराहना जाँच', 'spot_approval_waiting': 'स्पॉट अवॉर्ड स्वीकृति', 'spot_award_decided': 'स्पॉट अवॉर्ड निर्णय',
           'nudge': 'अवॉर्ड सुझाव', 'redemption_update': 'अंक भुनाने की स्थिति'},
    'id': {'sla_risk': 'risiko SLA', 'sla_breach': 'SLA terlewat', 'promise_missed': 'janji penyerahan terlewat',
           'approval_waiting': 'menunggu persetujuan', 'repeat_visit': 'kunjungan ulang', 'upsell_flagged': 'penjualan tambahan menunggu',
           'dispute_filed': 'sanggahan baru', 'dispute_accepted': 'sanggahan diterima', 'dispute_rejected': 'sanggahan ditolak',
           'level_up': 'level baru', 'badge_earned': 'lencana baru', 'league_result': 'hasil liga',
           'recognition_received': 'apresiasi diterima', 'spot_award_received': 'penghargaan langsung diterima',
           'collusion_flag': 'pemeriksaan apresiasi',
           'spot_approval_waiting': 'persetujuan penghargaan langsung', 'spot_award_decided': 'keputusan penghargaan langsung',
           'nudge': 'saran penghargaan', 'redemption_update': 'penukaran poin'},
}  # fmt: skip
REMINDER_SUBJECTS = {'en': 'Pitcrew: your day ({open} open)', 'es': 'Pitcrew: su día ({open} abiertos)',
                     'hi': 'Pitcrew: आपका दिन ({open} खुले)', 'id': 'Pitcrew: hari Anda ({open} terbuka)'}  # fmt: skip

DISPUTE_STATUS = {'en': {'open': 'open', 'accepted': 'accepted', 'rejected': 'rejected'},
                  'es': {'open': 'abierta', 'accepted': 'aceptada', 'rejected': 'rechazada'},
                  'hi': {'open': 'खुली', 'accepted': 'स्वीकृत', 'rejected': 'अस्वीकृत'},
                  'id': {'open': 'terbuka', 'accepted': 'diterima', 'rejected': 'ditolak'}}  # fmt: skip


def dispute_status(language: str, status: str) -> str:
    return DISPUTE_STATUS.get(language, {}).get(status, status)


def _language(language: str) -> str:
    return language if language in ALERT_TEXTS else 'en'


MONTHS = {
    'en': ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'),
    'es': ('ene', 'feb', 'mar', 'abr', 'may', 'jun', 'jul', 'ago', 'sep', 'oct', 'nov', 'dic'),
    'hi': ('जन', 'फ़र', 'मार्च', 'अप्रै', 'मई', 'जून', 'जुला', 'अग', 'सित', 'अक्टू', 'नव', 'दिस'),
    'id': ('Jan', 'Feb', 'Mar', 'Apr', 'Mei', 'Jun', 'Jul', 'Agu', 'Sep', 'Okt', 'Nov', 'Des'),
}
# Indonesian writes the time of day with a period (pukul 10.00); the others with a colon.
TIME_FORMATS = {'id': '%H.%M'}


def local_time(moment: datetime, zone: str, language: str = 'en') -> SafeText:
    local = moment.astimezone(ZoneInfo(zone))
    clock = local.strftime(TIME_FORMATS.get(language, '%H:%M'))
    return ours(f'{local.day:02d} {MONTHS.get(language, MONTHS["en"])[local.month - 1]} {clock}')


@dataclass(frozen=True)
class AlertText:
    body: str  # SMS and e-mail text
    variables: dict[str, str]  # WhatsApp template variables, numbered from 1 (one line each, never empty)
    subject: str  # e-mail subject

    def __post_init__(self) -> None:
        object.__setattr__(self, 'variables', whatsapp_variables(self.variables))


# The kinds whose "due" is the target's due time (the checkpoint itself may be the 75% mark or a later escalation).
TARGET_DUE_KINDS = ('sla_risk', 'sla_breach')
# Thresholds that are a sender's values (a DMS line id, an earlier job card) are capped like a ticket id.
SENDER_THRESHOLDS = ('repeat_visit', 'upsell_flagged')


def _detail(kind: str, metric_name: str, threshold: str) -> str:
    """What the subject and the third WhatsApp variable say after the metric: the share or the level, not the planner's
    own markers ('promised' for a promise, '120m@20261013T1400' for an approval wait, of which only the wait is shown)."""
    if kind == 'promise_missed':
        return metric_name
    if kind == 'approval_waiting':
        threshold = threshold.split('@', 1)[0]
    return f'{metric_name} {threshold}'.strip()


def alert_text(
    *, kind: str, language: str, name: str, ref: str, metric: str, threshold: str, due_at: datetime, zone: str,
    owner_name: str | None = None, target_due_at: datetime | None = None,
) -> AlertText:  # fmt: skip
    """The alert `kind` about ticket `ref` for `name`; `owner_name` when it goes to the owner's manager.

    `due_at` is the checkpoint's instant; `target_due_at` the SLA target's own due time, which an SLA alert names
    (an alert stored before it was recorded names its checkpoint)."""
    lang = _language(language)
    texts = ALERT_TEXTS[lang]
    safe_name, safe_ref = clean(name, LIMITS['name']), clean(ref, LIMITS['ref'])
    detail_value = clean(threshold, LIMITS['ref'] if kind in SENDER_THRESHOLDS else LIMITS['threshold'])
    metric_name = clean(METRIC_NAMES[lang].get(metric, metric))
    due = local_time(target_due_at if target_due_at is not None and kind in TARGET_DUE_KINDS else due_at, zone, lang)
    since = due
    if kind == 'approval_waiting' and '@' in threshold:  # '120m@20261013T1400': the wait began at 14:00 UTC
        since = local_time(datetime.strptime(threshold.split('@', 1)[1], '%Y%m%dT%H%M').replace(tzinfo=UTC), zone, lang)
    body = render(texts[kind], name=safe_name, ref=safe_ref, share=detail_value, metric=metric_name, due=due, since=since,
                  level=detail_value, threshold=detail_value)  # fmt: skip
    if owner_name:
        body = render(texts['manager'], owner=owner_name) + body
    detail = _detail(kind, metric_name, detail_value)
    kind_name = SUBJECT_KINDS[lang].get(kind, kind.replace('_', ' '))
    subject = render('Pitcrew: {ref} {kind} ({detail})', ref=safe_ref, kind=ours(kind_name), detail=ours(detail))
    return AlertText(body=body, variables={'1': safe_name, '2': safe_ref, '3': detail, '4': due}, subject=subject)


@dataclass(frozen=True)
class ReminderFigures:
    open: int
    jobs: int
    approvals: int
    due_today: int
    breaches: int
    points: int
    balance: int
    targets: str = ''


def reminder_text(language: str, name: str, figures: ReminderFigures) -> AlertText:
    lang = _language(language)
    safe_name, target = clean(name, LIMITS['name']), clean(figures.targets, LIMITS['targets'])
    body = render(REMINDER_TEXTS[lang], name=safe_name, targets=ours(f'{target} ' if target else ''), open=figures.open,
                  jobs=figures.jobs, approvals=figures.approvals, due_today=figures.due_today, breaches=figures.breaches,
                  points=figures.points, balance=figures.balance)  # fmt: skip
    variables = {'1': safe_name, '2': target or '-', '3': str(figures.open), '4': str(figures.approvals),
                 '5': str(figures.breaches), '6': str(figures.points)}  # fmt: skip
    return AlertText(body=body, variables=variables, subject=render(REMINDER_SUBJECTS[lang], open=figures.open))


def reply(language: str, key: str, **values: object) -> str:
    """A reply to an inbound command; every value is cleaned unless Pitcrew composed it (`ours`)."""
    return render(REPLIES[_language(language)][key], **values)


@dataclass(frozen=True)
class TodayItem:
    """One open item of the TODAY reply: its id as people know it, its next due moment, whether it awaits approval."""

    ref: str
    due: datetime | None
    approval: bool = False
    job_card: bool = False


def today_text(language: str, zone: str, items: Sequence[TodayItem], shown: int = 5) -> str:
    """The TODAY reply: counts, then the first `shown` items (soonest due first), one line each."""
    if not items:
        return reply(language, 'today_empty')
    floor = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(items, key=lambda item: (item.due is None, item.due or floor))
    lines = []
    for item in ordered[:shown]:
        when = f' {local_time(item.due, zone, language)}' if item.due else ''
        tag = f' ({reply(language, "approval_tag")})' if item.approval else ''
        lines.append(f'\n- {clean(item.ref, LIMITS["ref"])}{when}{tag}')
    return reply(language, 'today', open=len(items), jobs=sum(1 for item in items if item.job_card),
                 approvals=sum(1 for item in items if item.approval), items=ours(''.join(lines)))  # fmt: skip


# --- RANK: a person's live place in each league they are in -------------------------------------------------------
# What the gap to the next place is counted in, by the league's scoring; what the workload items are called.
SCORE_UNITS = {
    'en': {'points': 'points', 'points_per_item': 'points per item', 'percent_of_expected': 'percentage points'},
    'es': {'points': 'puntos', 'points_per_item': 'puntos por unidad', 'percent_of_expected': 'puntos porcentuales'},
    'hi': {'points': 'अंक', 'points_per_item': 'अंक प्रति काम', 'percent_of_expected': 'प्रतिशत अंक'},
    'id': {'points': 'poin', 'points_per_item': 'poin per pekerjaan', 'percent_of_expected': 'poin persentase'},
}
WORKLOAD_NAMES = {
    'en': {'job_cards': 'job cards', 'tickets': 'tickets', '': 'items'},
    'es': {'job_cards': 'órdenes', 'tickets': 'tickets', '': 'unidades'},
    'hi': {'job_cards': 'जॉब कार्ड', 'tickets': 'टिकट', '': 'काम'},
    'id': {'job_cards': 'perintah kerja', 'tickets': 'tiket', '': 'pekerjaan'},
}
_HI_ORDINALS = {1: ('पहला', 'पहले'), 2: ('दूसरा', 'दूसरे'), 3: ('तीसरा', 'तीसरे'), 4: ('चौथा', 'चौथे'), 6: ('छठा', 'छठे')}


def ordinal(language: str, n: int, *, oblique: bool = False) -> SafeText:
    return ours(_ordinal(language, n, oblique=oblique))


def _ordinal(language: str, n: int, *, oblique: bool = False) -> str:
    """1st, 2nd, 3rd, 11th, 21st; 1.º, 2.º; पहला, दूसरा ... 5वाँ (`oblique`: पहले, दूसरे ... 5वें, as in 'दूसरे स्थान से');
    ke-1, ke-2 (as in 'peringkat ke-2')."""
    lang = _language(language)
    if lang == 'es':
        return f'{n}.º'
    if lang == 'id':
        return f'ke-{n}'
    if lang == 'hi':
        if n in _HI_ORDINALS:
            return _HI_ORDINALS[n][1 if oblique else 0]
        return f'{n}वें' if oblique else f'{n}वाँ'
    suffix = 'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')
    return f'{n}{suffix}'


@dataclass(frozen=True)
class RankLine:
    """One league's answer to RANK (built from the live standings, `shared.leagues.standings`)."""

    league: str
    division: str = ''
    has_points: bool = True  # False: no points in this league this month yet
    qualified: bool = True
    rank: int | None = None
    of: int = 0
    tied: bool = False
    next_rank: int | None = None
    behind: float | None = None  # the gap to the next better score, in the scoring's unit
    scoring: str = 'points'
    points: int = 0
    items: int = 0
    min_items: int = 0
    workload_kpi: str | None = None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f'{value:.2f}'.rstrip('0').rstrip('.')


def rank_line(language: str, line: RankLine) -> str:
    lang = _language(language)
    texts = REPLIES[lang]
    if not line.has_points:
        return render(texts['rank_no_points'], league=line.league)
    if not line.qualified or line.rank is None:
        items = WORKLOAD_NAMES[lang].get(line.workload_kpi or '', WORKLOAD_NAMES[lang][''])
        return render(texts['rank_unqualified'], division=line.division, missing=max(line.min_items - line.items, 0), items=ours(items),
                      have=line.items, need=line.min_items, points=line.points)  # fmt: skip
    gap = ''
    if line.next_rank is not None and line.behind is not None:
        unit = SCORE_UNITS[lang].get(line.scoring, SCORE_UNITS[lang]['points'])
        behind = _number(line.behind).replace('.', ',') if lang in DECIMAL_COMMA else _number(line.behind)  # 4,5 puntos
        gap = render(texts['rank_gap'], gap=ours(behind), unit=ours(unit), next=ordinal(lang, line.next_rank, oblique=True))
    return render(texts['rank_line'], ordinal=ordinal(lang, line.rank), tied=ours(texts['rank_tied'] if line.tied else ''), of=line.of,
                  division=line.division, gap=ours(gap))  # fmt: skip


def rank_text(language: str, lines: list[RankLine]) -> str:
    """The RANK reply: one line per league (named when there are several)."""
    if len(lines) == 1:
        return rank_line(language, lines[0])
    return '\n'.join(f'{clean(line.league)}: {rank_line(language, line)}' for line in lines)


def email_content(text: AlertText) -> EmailContent:
    return EmailContent(subject=text.subject, text=text.body)
