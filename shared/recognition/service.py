"""Peer recognition, the use case: `Recognitions.give(GiveRequest, now) -> GiveResult`.

Called by the `recognition_give` function (an admin from the console, or an integration), by the THANKS command over
WhatsApp/SMS (`command`, through `shared.notify.conversations.RecognitionPort`) and, later, by the people-facing API.

Steps: the programs in force (their newest valid version at `now`) that carry a recognition section; ONE read of
everything the recognition is judged on (`RecognitionStore.read`); the program it is given in (`choose_program`);
the judgement (`shared.recognition.give.plan_give`, pure); ONE transaction (`RecognitionStore.write`). A repeated
idempotency key is answered from the first recognition's stored result, at any step where it is found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared.observability import logger
from shared.programs.loader import ProgramBook
from shared.recognition.give import (
    Candidate,
    Given,
    GiveRequest,
    GiveResult,
    RecognitionRefused,
    choose_program,
    local_month,
    plan_give,
    recognition_id_for,
)
from shared.recognition.store import RecognitionStore, Want
from shared.recognition.texts import reply_given, reply_refused

# The keyword is one word (THANKS, GRACIAS, धन्यवाद, TERIMAKASIH) or Indonesian's two (TERIMA KASIH, never read as a
# keyword and a code: the group is atomic).
_THANKS = re.compile(r'^\s*(?P<keyword>(?>(?i:terima\s+kasih)[,.!:]?|\S+))\s+(?P<code>\S+)\s+(?P<points>\S+)\s*(?P<rest>.*)$',
                     re.DOTALL)
_VALUE = re.compile(r'(?:^|\s)#(?P<tag>[^\s#]+)')


def spellings(employee_id: str) -> tuple[str, ...]:
    """An employee code as typed and upper-cased (directory ids keep their case; people type codes in any case)."""
    return tuple(dict.fromkeys((employee_id, employee_id.upper())))


def parse_thanks(body: str) -> tuple[str, str, str, str] | None:
    """`THANKS <employee code> <points> <message> #value` -> (code, points text, message, value); None: not in that form.
    The value is the last `#word`; the message is the rest (the first `#word` may come anywhere in it)."""
    match = _THANKS.match(body)
    if match is None:
        return None
    rest = match['rest']
    tags = list(_VALUE.finditer(rest))
    value = tags[-1]['tag'] if tags else ''
    message = (rest[: tags[-1].start()] + rest[tags[-1].end():]) if tags else rest
    return match['code'], match['points'], ' '.join(message.split()), value


@dataclass
class Recognitions:
    store: RecognitionStore
    programs: Callable[[], ProgramBook]

    def give(self, request: GiveRequest, now: datetime, *, giver_first: bool = False) -> GiveResult:
        """Give the recognition, or raise RecognitionRefused (nothing written). `giver_first`: no program named and
        several admit the giver: judge in the first that admits the giver (the THANKS command)."""
        candidates = self._candidates(request.program_id, now)
        givers = spellings(request.giver_id)
        want = Want(giver_ids=givers, receiver_ids=spellings(request.receiver_id),
                    programs=tuple((c.document.program_id, local_month(now, c.document.time_zone)) for c in candidates),
                    recognition_ids=tuple(recognition_id_for(c.document.program_id, giver, request.idempotency_key)
                                          for c in candidates for giver in givers))  # fmt: skip
        snapshot = self.store.read(want)
        for recognition_id in want.recognition_ids:
            if recognition_id in snapshot.gives:
                return snapshot.gives[recognition_id]
        giver, receiver = snapshot.member(want.giver_ids), snapshot.member(want.receiver_ids)
        if giver is not None and giver.employee_id != request.giver_id:
            request = request.model_copy(update={'giver_id': giver.employee_id})
        program = choose_program(candidates, request.program_id, giver, receiver, now, giver_first=giver_first)
        pid = program.document.program_id
        given = Given(total=snapshot.allow.get((pid, request.giver_id), 0),
                      to_receiver=snapshot.pair.get((pid, request.giver_id, receiver.employee_id), 0) if receiver else 0)  # fmt: skip
        plan = plan_give(request, program, giver, receiver, given, now)
        assert receiver is not None
        result = self.store.write(plan, snapshot.heads[receiver.employee_id], now, receiver_name=receiver.first_name)
        logger.info('recognition given', extra={'recognition_id': result.recognition_id, 'program': pid, 'points': result.points,
                                                'duplicate': result.duplicate})  # fmt: skip
        return result

    def _candidates(self, program_id: str | None, now: datetime) -> list[Candidate]:
        book = self.programs()
        candidates = []
        for pid in book.programs:
            version = book.for_basis(pid, now)
            if version is not None and version.document.recognition is not None:
                candidates.append(Candidate(version.version, version.document))
        if program_id is not None:
            named = [c for c in candidates if c.document.program_id == program_id]
            if not named:
                raise RecognitionRefused('program_unknown', 'program_id', program=program_id)
            return named
        if not candidates:
            raise RecognitionRefused('recognition_off', 'program_id')
        return candidates

    # --- THANKS over WhatsApp / SMS ------------------------------------------------------------------------------------
    def command(self, giver_id: str, language: str, body: str, message_sid: str, channel: str, now: datetime) -> str:
        """The reply to `THANKS <employee code> <points> <message> #value` in the giver's language: what was given and
        the allowance left this month, or why nothing was (the message id is the idempotency key: Twilio's retry of the
        same message gives once)."""
        parsed = parse_thanks(body)
        if parsed is None:
            return reply_refused(language, 'usage', {})
        code, points_text, message, value = parsed
        try:
            points = int(points_text)  # Devanagari digits (२०) are digits too
        except ValueError:
            return reply_refused(language, 'usage', {})
        request = GiveRequest(giver_id=giver_id, receiver_id=code, points=points, message=message[:4000], value=value[:64],
                              idempotency_key=f'twilio:{message_sid}', channel=channel)  # fmt: skip
        try:
            result = self.give(request, now, giver_first=True)
        except RecognitionRefused as refused:
            logger.info('recognition refused', extra={'code': refused.code, 'field': refused.field})
            return reply_refused(language, refused.code, refused.params)
        return reply_given(language, points=result.points, receiver=result.receiver_name or result.receiver_id, value=result.value_name,
                           remaining=max(result.remaining, 0), again=result.duplicate)  # fmt: skip
