"""Collusion detection (pure): reciprocal giving, closed rings and concentration, each with its evidence and the
managers in scope, and the same flags in the same order whatever the order of the recognitions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from shared.recognition.collusion import MAX_EVIDENCE, MAX_RINGS, Detection, FlagKind, Recognition, detect
from shared.recognition.collusion_texts import evidence_line, flag_ref
from shared.recognition.config import CollusionRules

RULES = CollusionRules(reciprocal_share=0.5, ring_min_points=20, ring_max_length=4, concentration_share=0.5,
                       concentration_min_points=100)  # fmt: skip
NO_CONCENTRATION = RULES.model_copy(update={'concentration_min_points': 10_000})
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MANAGERS: dict[str, str | None] = {'A': 'M1', 'B': 'M1', 'C': 'M2', 'D': 'M2', 'E': None, 'F': 'M1', 'G': 'M1'}
ALLOWANCES = dict.fromkeys(MANAGERS, 200)


def give(giver: str, receiver: str, points: int, day: int = 0, rid: str | None = None, kind: str = 'thanks') -> Recognition:
    return Recognition(recognition_id=rid or f'r-{giver}-{receiver}-{points}-{day}', giver_id=giver, receiver_id=receiver,
                       points=points, recorded_at=START + timedelta(days=day), kind=kind)  # fmt: skip


def run(*recognitions: Recognition, rules: CollusionRules = RULES, managers: dict[str, str | None] | None = None) -> Detection:
    return detect(recognitions, month='2026-11', allowances=ALLOWANCES, managers=MANAGERS if managers is None else managers, rules=rules)


# --- reciprocal --------------------------------------------------------------------------------------------------------
def test_reciprocal_giving_above_the_share_both_ways_is_flagged_with_its_evidence() -> None:
    # Given A gave B 120 of a 200 allowance (60%) in two thanks and B gave A 110 (55%)
    found = run(give('A', 'B', 60, 1), give('A', 'B', 60, 3), give('B', 'A', 110, 2))

    # Then one reciprocal flag names both, both directions and the three recognitions, oldest first
    [flag] = found.of_kind(FlagKind.RECIPROCAL)
    assert flag.members == ('A', 'B')
    assert flag.key == '2026-11#reciprocal#A+B'
    assert [(link.giver_id, link.receiver_id, link.points, link.share) for link in flag.links] == [
        ('A', 'B', 120, 0.6),
        ('B', 'A', 110, 0.55),
    ]
    assert [e.recognition_id for e in flag.evidence] == ['r-A-B-60-1', 'r-B-A-110-2', 'r-A-B-60-3']
    assert flag.evidence[0].share == 0.3 and flag.recognitions == 3
    assert flag.managers == ('M1',) and flag.notices == (('M1', 'A'),) and flag.unmanaged == ()


def test_reciprocal_giving_at_or_below_the_share_in_one_direction_is_not_flagged() -> None:
    # Given A gave B 120 (60%) but B gave A exactly 100 (50%: not above the share)
    found = run(give('A', 'B', 120), give('B', 'A', 100), rules=NO_CONCENTRATION)

    # Then nothing is flagged
    assert found.flags == ()


def test_reciprocal_pair_with_different_managers_tells_each_and_a_person_without_one_goes_to_admins() -> None:
    # Given A (manager M1) and C (manager M2), and C and E (no manager), giving each other most of their allowances
    found = run(give('A', 'C', 150), give('C', 'A', 150), give('C', 'E', 120), give('E', 'C', 120), rules=NO_CONCENTRATION)

    # Then each manager is told about their own person; E's flag names E as unmanaged (the admins see it)
    ac, ce = found.of_kind(FlagKind.RECIPROCAL)
    assert ac.managers == ('M1', 'M2') and ac.notices == (('M1', 'A'), ('M2', 'C'))
    assert ce.members == ('C', 'E') and ce.managers == ('M2',) and ce.unmanaged == ('E',)


def test_spot_awards_and_duplicate_feed_items_do_not_count() -> None:
    # Given B's thanks back to A is a spot award, and A's thanks appears twice (two location feeds)
    found = run(give('A', 'B', 150, rid='x'), give('A', 'B', 150, rid='x'), give('B', 'A', 150, kind='spot'), rules=NO_CONCENTRATION)

    # Then nothing is reciprocal and A's thanks counted once
    assert found.flags == () and found.recognitions == 1


# --- rings -------------------------------------------------------------------------------------------------------------
def test_a_three_ring_is_flagged_once_in_canonical_rotation() -> None:
    # Given C->A, A->B, B->C, each link at least 20 points (given in an order that does not start at A)
    found = run(give('C', 'A', 30), give('B', 'C', 25), give('A', 'B', 20))

    # Then one ring, starting at its smallest member and following the giving
    [ring] = found.of_kind(FlagKind.RING)
    assert ring.members == ('A', 'B', 'C')
    assert ring.key == '2026-11#ring#A+B+C'
    assert [(link.giver_id, link.receiver_id, link.points) for link in ring.links] == [('A', 'B', 20), ('B', 'C', 25), ('C', 'A', 30)]
    assert ring.points == 75 and ring.managers == ('M1', 'M2') and ring.notices == (('M1', 'A'), ('M2', 'C'))


def test_a_four_ring_is_flagged_and_the_opposite_direction_is_a_ring_of_its_own() -> None:
    # Given A->D->B->C->A, and the 3-ring A->C->B->A reversed... only in one direction per link
    found = run(give('A', 'D', 20), give('D', 'B', 20), give('B', 'C', 20), give('C', 'A', 20))

    # Then one 4-ring in canonical rotation
    [ring] = found.of_kind(FlagKind.RING)
    assert ring.members == ('A', 'D', 'B', 'C') and ring.key == '2026-11#ring#A+D+B+C'

    # And when the same people also give around the other way, that is a second ring
    both = run(give('A', 'D', 20), give('D', 'B', 20), give('B', 'C', 20), give('C', 'A', 20),
               give('A', 'C', 20), give('C', 'B', 20), give('B', 'D', 20), give('D', 'A', 20))  # fmt: skip
    assert [flag.members for flag in both.of_kind(FlagKind.RING)] == [('A', 'C', 'B', 'D'), ('A', 'D', 'B', 'C')]


def test_a_chain_that_does_not_close_is_no_ring_and_a_weak_link_breaks_a_ring() -> None:
    # Given a chain A->B->C->D (no way back), and a ring E->F->G->E whose last link is 19 points (below 20)
    found = run(give('A', 'B', 50), give('B', 'C', 50), give('C', 'D', 50), give('E', 'F', 50), give('F', 'G', 50), give('G', 'E', 19))

    # Then no ring is flagged
    assert found.of_kind(FlagKind.RING) == []


def test_a_ring_longer_than_the_maximum_is_not_flagged() -> None:
    # Given a 5-ring with ring_max_length 4
    people = ['A', 'B', 'C', 'D', 'F']
    found = run(*(give(g, r, 30) for g, r in zip(people, people[1:] + people[:1], strict=True)))
    assert found.of_kind(FlagKind.RING) == []

    # And with ring_max_length 5 it is
    longer = run(
        *(give(g, r, 30) for g, r in zip(people, people[1:] + people[:1], strict=True)),
        rules=RULES.model_copy(update={'ring_max_length': 5}),
    )
    assert [flag.members for flag in longer.of_kind(FlagKind.RING)] == [('A', 'B', 'C', 'D', 'F')]


# --- concentration -----------------------------------------------------------------------------------------------------
def test_one_person_receiving_most_of_a_team_s_points_is_flagged_to_the_team_s_manager_and_their_own() -> None:
    # Given team M1 (A, B, F, G) gave 200 points, 110 of them to C (of team M2)
    found = run(give('A', 'C', 40, 1), give('B', 'C', 40, 2), give('F', 'C', 30, 3), give('G', 'A', 50, 4), give('A', 'G', 40, 5))

    # Then C is flagged for team M1: 55% of its points; M1 hears of it through a giver of theirs, M2 through C
    [flag] = found.of_kind(FlagKind.CONCENTRATION)
    assert flag.members == ('C',) and flag.team_id == 'M1' and flag.team_points == 200
    assert flag.key == '2026-11#concentration#C+team:M1'
    assert flag.links[0].points == 110 and flag.links[0].share == 0.55
    assert flag.managers == ('M1', 'M2') and flag.notices == (('M1', 'A'), ('M2', 'C'))
    assert [e.giver_id for e in flag.evidence] == ['A', 'B', 'F']


def test_concentration_at_the_share_or_in_a_team_that_gave_too_little_is_not_flagged() -> None:
    # Given team M1 gave 200 points, exactly half to C; and team M2 gave 90 points, all to A (below 100)
    found = run(give('A', 'C', 50), give('B', 'C', 50), give('F', 'G', 100), give('C', 'A', 45), give('D', 'A', 45))

    # Then no concentration is flagged
    assert found.of_kind(FlagKind.CONCENTRATION) == []


def test_concentration_on_a_teammate_names_the_receiver_to_their_manager() -> None:
    # Given team M2 (C, D) gave 150 points, all to D's teammate... C received 100 from D, D 50 from C
    found = run(give('D', 'C', 100), give('C', 'D', 50), rules=RULES.model_copy(update={'reciprocal_share': 1.0}))

    [flag] = found.of_kind(FlagKind.CONCENTRATION)
    assert flag.members == ('C',) and flag.managers == ('M2',) and flag.notices == (('M2', 'C'),)


# --- determinism and size ----------------------------------------------------------------------------------------------
def test_the_same_flags_in_the_same_order_whatever_the_input_order() -> None:
    # Given a month with reciprocal pairs, rings and a concentration
    recognitions = [give('A', 'B', 120, 1), give('B', 'A', 110, 2), give('B', 'C', 30, 3), give('C', 'A', 30, 4), give('A', 'D', 25, 5),
                    give('D', 'B', 25, 6), give('F', 'C', 60, 7), give('G', 'C', 60, 8), give('C', 'D', 20, 9), give('D', 'C', 20, 10)]  # fmt: skip
    rules = RULES.model_copy(update={'concentration_share': 0.35})
    expected = run(*recognitions, rules=rules)
    assert {flag.kind for flag in expected.flags} == set(FlagKind)

    # When they come in any other order, the detection is the same
    for seed in range(20):
        shuffled = recognitions[:]
        random.Random(seed).shuffle(shuffled)
        assert run(*shuffled, rules=rules) == expected


def test_evidence_is_capped_but_the_totals_count_every_recognition() -> None:
    # Given 150 small thanks each way between A and B
    many = [give('A', 'B', 1, day, rid=f'a{day:03d}') for day in range(150)] + [
        give('B', 'A', 1, day, rid=f'b{day:03d}') for day in range(150)
    ]
    found = run(*many, rules=RULES.model_copy(update={'reciprocal_share': 0.1}))

    [flag] = found.of_kind(FlagKind.RECIPROCAL)
    assert len(flag.evidence) == MAX_EVIDENCE and flag.recognitions == 300 and flag.points == 300


# --- the manager's line ------------------------------------------------------------------------------------------------
def test_the_evidence_line_in_each_language_names_the_people_points_and_shares() -> None:
    found = run(give('A', 'B', 120), give('B', 'A', 110), give('B', 'C', 30), give('C', 'A', 30))
    names = {'A': 'Asha Rao', 'B': 'Ravi Kumar\nhttp://evil.example', 'C': 'Meena'}
    reciprocal, ring = found.of_kind(FlagKind.RECIPROCAL)[0], found.of_kind(FlagKind.RING)[0]

    en = evidence_line('en', reciprocal, names, 'M1')
    assert en.startswith('possible reciprocal thanks: Asha Rao gave Ravi Kumar') and '(60% of the allowance)' in en
    assert '\n' not in en and 'http' not in en and en.endswith('review it in Pitcrew.')
    assert 'recíproco' in evidence_line('es', reciprocal, names, 'M1')
    assert 'आपसी सराहना' in evidence_line('hi', reciprocal, names, 'M1')
    assert evidence_line('xx', ring, names, 'M1').startswith('possible ring of thanks: Asha Rao → Ravi Kumar')
    assert flag_ref('es', '2026-11') == 'Revisión de reconocimientos, noviembre de 2026'
    assert flag_ref('id', '2026-11') == 'Pemeriksaan apresiasi, November 2026'
    indonesian = evidence_line('id', reciprocal, names, 'M1')
    assert indonesian.startswith('kemungkinan apresiasi timbal balik: Asha Rao memberi Ravi Kumar') and '(60% dari jatah)' in indonesian
    assert indonesian.endswith('Tidak ada yang diblokir: tinjau di Pitcrew.') and '\n' not in indonesian
    long_names = dict.fromkeys('ABC', 'X' * 200)
    assert len(evidence_line('en', ring, long_names, 'M1')) <= 300


def test_the_ring_search_is_bounded_on_a_dense_month_and_says_so() -> None:
    # Given ten people who all gave each other 30 points (tens of thousands of rings of 3 to 6)
    people = [f'P{n}' for n in range(10)]
    everyone = [give(g, r, 30) for g in people for r in people if g != r]

    # When the month is judged with rings up to 6
    found = run(
        *everyone,
        rules=NO_CONCENTRATION.model_copy(update={'ring_max_length': 6, 'reciprocal_share': 1.0}),
        managers=dict.fromkeys(people, 'M1'),
    )

    # Then the first MAX_RINGS rings are reported, the smallest first, and the detection says it was truncated
    rings = found.of_kind(FlagKind.RING)
    assert len(rings) == MAX_RINGS and found.rings_truncated
    assert rings[0].members[0] == 'P0'
