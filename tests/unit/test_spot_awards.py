"""Spot awards, the pure rules: ids, months in the program's zone, who may give and who may decide, points and budget
refusals, and what people are told (en, es, hi; values cleaned)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.ledger.approvals import Actor
from shared.recognition import spot_texts
from shared.recognition.spot import (
    SpotAward,
    SpotDecision,
    SpotRefused,
    SpotRequest,
    SpotStatus,
    award_id_for,
    check_budget,
    check_decision,
    check_giver,
    check_points,
    decided,
    is_admin,
    month_of,
    spot_entry_id,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ARN = 'arn:aws:sts::123456789012:assumed-role/PitcrewManagers/{}'
ADMINS = 'arn:aws:iam::123456789012:user/admin-*, arn:aws:sts::123456789012:assumed-role/PitcrewAdmins/*'
EVENTS = Path(__file__).resolve().parents[2] / 'events'


def iam(name: str) -> Actor:
    return Actor(via='iam', principal=ARN.format(name), reference='r')


def request(**fields: object) -> SpotRequest:
    values: dict[str, object] = {'program_id': 'pitstop', 'manager_id': 'M1', 'employee_id': 'W1', 'points': 100,
                                 'reason_id': 'hazard_reporting', 'idempotency_key': 'k'}  # fmt: skip
    return SpotRequest.model_validate(values | fields)


def award(**fields: object) -> SpotAward:
    values: dict[str, object] = {
        'award_id': 'SPabc', 'program_id': 'pitstop', 'program_ref': 'pitstop@2', 'manager_id': 'M1', 'employee_id': 'W1',
        'points': 500, 'reason_id': 'hazard_reporting', 'reason_name': 'Hazard reporting', 'month': '2026-12', 'budget': 2000,
        'status': SpotStatus.REQUESTED, 'idempotency_key': 'k', 'maker': iam('M1'), 'requested_at': NOW,
        'expires_at': NOW + timedelta(days=7),
    }  # fmt: skip
    return SpotAward.model_validate(values | fields)


def test_ids_are_deterministic_per_program_manager_and_key() -> None:
    # Given the same key from the same manager, and from another manager
    first, again, other = award_id_for('pitstop', 'M1', 'k'), award_id_for('pitstop', 'M1', 'k'), award_id_for('pitstop', 'M2', 'k')
    # Then a retry is the same award, another manager's key another award; the entry id follows the design's format
    assert first == again != other and first.startswith('SP') and len(first) == 32
    assert spot_entry_id(first).startswith('S') and len(spot_entry_id(first)) == 33


def test_the_budget_month_is_the_programs() -> None:
    # 18:30 UTC on 30 November is already December in Kolkata, still November in New York
    moment = datetime(2026, 11, 30, 18, 30, tzinfo=UTC)
    assert (month_of(moment, 'Asia/Kolkata'), month_of(moment, 'America/New_York')) == ('2026-12', '2026-11')


@pytest.mark.parametrize(('points', 'refused'), [(1, False), (1000, False), (0, True), (-5, True), (1001, True)])
def test_points_are_one_to_the_programs_most(points: int, refused: bool) -> None:
    if refused:
        with pytest.raises(SpotRefused) as exc:
            check_points(points, 1000)
        assert exc.value.code == 'points' and exc.value.field == 'points'
    else:
        check_points(points, 1000)


def test_over_budget_names_what_is_left_and_an_exact_fit_passes() -> None:
    check_budget(300, 2000, 1700, '2026-12')  # exactly exhausts it
    with pytest.raises(SpotRefused) as exc:
        check_budget(301, 2000, 1700, '2026-12')
    assert exc.value.values == {'remaining': 300, 'budget': 2000, 'month': '2026-12'}
    assert exc.value.body() == {'ok': False, 'refused': 'over_budget', 'field': 'points', 'remaining': 300, 'budget': 2000,
                                'month': '2026-12', 'error': '301 points is over the budget: 300 of 2000 points left for 2026-12'}  # fmt: skip


def test_the_giver_must_be_the_caller_and_manage_the_receiver_unless_an_admin_gives() -> None:
    # The manager over IAM, in the chain: allowed; a console invocation naming the manager: allowed
    check_giver(request(), iam('M1'), admin=False, managers_of_receiver=['M1', 'D1'])
    check_giver(request(), Actor(via='console', reference='r'), admin=False, managers_of_receiver=['M1'])
    # A grand-manager in the chain may give too
    check_giver(request(manager_id='D1'), iam('D1'), admin=False, managers_of_receiver=['M1', 'D1'])
    # Someone else's session naming M1, and M1 for someone not in their chain: refused
    for actor, managers, code in ((iam('M2'), ['M1'], 'not_the_giver'), (iam('M1'), ['M2', 'D1'], 'not_your_report')):
        with pytest.raises(SpotRefused) as exc:
            check_giver(request(), actor, admin=False, managers_of_receiver=managers)
        assert exc.value.code == code
    # An admin gives to anyone, as any manager
    check_giver(request(), iam('ADMIN'), admin=True, managers_of_receiver=[])


def test_admins_are_the_listed_principal_patterns() -> None:
    assert is_admin(Actor(via='iam', principal='arn:aws:iam::123456789012:user/admin-ana', reference='r'), ADMINS)
    assert is_admin(Actor(via='iam', principal='arn:aws:sts::123456789012:assumed-role/PitcrewAdmins/x', reference='r'), ADMINS)
    assert not is_admin(iam('M1'), ADMINS) and not is_admin(Actor(via='console', reference='r'), ADMINS)
    assert not is_admin(iam('M1'), '')


@pytest.mark.parametrize(('stored', 'checker', 'approve', 'admin', 'at', 'code'), [
    (None, 'D1', True, False, NOW, 'unknown'),
    (award(status=SpotStatus.APPROVED), 'D1', True, False, NOW, 'decided'),
    (award(status=SpotStatus.EXPIRED), 'D1', False, False, NOW, 'decided'),
    (award(), 'D1', True, False, NOW + timedelta(days=7), 'expired'),
    (award(), None, True, False, NOW, 'unauthenticated'),
    (award(), 'M1', True, False, NOW, 'own_request'),
    (award(), 'M1', True, True, NOW, 'own_request'),  # an admin who made it still cannot approve it
    (award(), 'M1', False, False, NOW, 'own_request'),  # nor reject it (the maker withdraws nothing this way)
    (award(), 'M2', True, False, NOW, 'not_approver'),
    (award(employee_id='D1'), 'D1', True, False, NOW, 'own_award'),  # nobody approves points for themselves
])  # fmt: skip
def test_decisions_that_must_not_happen(stored: SpotAward | None, checker: str | None, approve: bool, admin: bool, at: datetime,
                                        code: str) -> None:  # fmt: skip
    actor = iam(checker) if checker else Actor(via='console', reference='r')
    with pytest.raises(SpotRefused) as exc:
        check_decision(stored, 'SPabc', actor, approve=approve, admin=admin, managers_of_maker=['D1'], now=at)
    assert exc.value.code == code


def test_the_makers_manager_anywhere_up_the_chain_or_an_admin_decides() -> None:
    for checker, admin in (('D1', False), ('TOP', False), ('ADMIN', True)):
        assert check_decision(award(), 'SPabc', iam(checker), approve=True, admin=admin, managers_of_maker=['D1', 'TOP'], now=NOW)


def test_a_decision_records_who_and_when_and_names_the_entry_only_when_written() -> None:
    approved = decided(award(), SpotStatus.APPROVED, iam('D1'), None, NOW)
    rejected = decided(award(), SpotStatus.REJECTED, iam('D1'), 'Not now', NOW)
    assert approved.entry_id == spot_entry_id('SPabc') and approved.decided_by == iam('D1') and approved.decided_at == NOW
    assert rejected.entry_id is None and rejected.decision_reason == 'Not now'


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(ValueError, match='reason'):
        SpotDecision(award_id='SPabc', approve=False, reason='no')
    assert SpotDecision(award_id='SPabc', approve=True).reason is None


def test_the_console_event_is_a_valid_request() -> None:
    sample = SpotRequest.model_validate(json.loads((EVENTS / 'spot_award.json').read_text()))
    assert sample.points == 150 and sample.reason_id == 'zero_defect_repair' and sample.via == 'console'


@pytest.mark.parametrize(('language', 'expected'), [
    ('en', 'Maria gave you +500 points for Hazard reporting: "Spotted the leak"'),
    ('es', 'Maria le dio +500 puntos por Hazard reporting: «Spotted the leak»'),
    ('hi', 'Maria ने आपको Hazard reporting के लिए +500 अंक दिए: "Spotted the leak"'),
    ('id', 'Maria memberi Anda +500 poin untuk Hazard reporting: "Spotted the leak"'),
    ('fr', 'Maria gave you +500 points for Hazard reporting: "Spotted the leak"'),  # unknown language: English
])  # fmt: skip
def test_the_receiver_is_told_in_their_language(language: str, expected: str) -> None:
    assert spot_texts.received(award(message='Spotted the leak'), 'Maria', language) == expected


def test_a_message_cannot_smuggle_a_link_or_a_line_break_into_a_notice() -> None:
    line = spot_texts.received(award(message='Well done\nclaim at http://evil.example.com/x'), 'Maria', 'en')
    assert '\n' not in line and 'http://' not in line and 'evil[.]example[.]com' in line


def test_the_approver_the_maker_and_the_refused_are_told() -> None:
    waiting = spot_texts.waiting(award(), 'Maria', 'Ravi', 'en')
    reminder = spot_texts.waiting(award(), 'Maria', 'Ravi', 'hi', reminder=True)
    assert waiting == ('Maria asks to give Ravi +500 points for Hazard reporting (request SPabc); decide by 2026-12-10 09:00 UTC')
    assert reminder.startswith('याद दिलाना: Maria')
    rejected = decided(award(), SpotStatus.REJECTED, iam('D1'), 'Paid by the bonus', NOW)
    assert spot_texts.decided(rejected, 'Ravi', 'en') == ('+500 points to Ravi were rejected (Paid by the bonus); the points are '
                                                          'back in your budget')  # fmt: skip
    over = SpotRefused('over_budget', 'x', remaining=120, budget=2000, month='2026-12')
    assert spot_texts.refusal(over, 'es') == 'premio especial rechazado: solo le quedan 120 de sus 2000 puntos para 2026-12'
    assert spot_texts.refusal(over, 'id') == 'penghargaan langsung ditolak: hanya tersisa 120 dari 2000 poin Anda untuk 2026-12'
    assert spot_texts.waiting(award(), 'Maria', 'Budi', 'id') == (
        'Maria meminta untuk memberi Budi +500 poin untuk Hazard reporting (permintaan SPabc); putuskan sebelum 2026-12-10 09:00 UTC')
    assert spot_texts.decided(rejected, 'Budi', 'id') == '+500 poin bagi Budi ditolak (Paid by the bonus); poinnya kembali ke anggaran Anda'
    assert (spot_texts.ref('received', 'id'), spot_texts.ref('waiting', 'ID?')) == ('Penghargaan langsung', 'Spot award approval')
    assert spot_texts.refusal(SpotRefused('not_your_report', 'W9 does not report to M1'), 'en') == (
        'spot award refused: W9 does not report to M1')
