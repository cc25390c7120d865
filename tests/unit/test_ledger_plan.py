"""From deserved awards to ledger entries: credit once, reverse once, never re-price, cap debits."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.ledger.entries import EntryKind, entry_id_for, plan_entries
from shared.ledger.store import cap_reversals
from shared.rules.program import Award

NOW = datetime(2024, 5, 20, tzinfo=UTC)
AWARD = Award('resolved_within_sla', 1, 'E1', 10, 'zendesk:1:1', {'resolution_minutes': 12.0})


def plan(current, desired, event='ev'):
    return plan_entries(ticket_key='zendesk#1', current=current, desired=desired, source_event_id=event, occurred_at=NOW, now=NOW)


def test_new_award_is_credited_with_a_deterministic_id() -> None:
    # When an award is first deserved
    first = plan({}, [AWARD])
    again = plan({}, [AWARD])

    # Then one credit entry is planned, with the same id both times
    assert [(e.kind, e.amount) for e in first.entries] == [(EntryKind.AWARD, 10)]
    assert first.entries[0].entry_id == again.entries[0].entry_id == entry_id_for('zendesk#1', AWARD.key)


def test_award_already_in_place_plans_nothing_even_if_the_rule_was_repriced() -> None:
    # Given the award is already on the ticket
    current = plan({}, [AWARD]).awards

    # When the rule now says 20 points for the same thing
    repriced = Award(AWARD.rule_id, 2, 'E1', 20, AWARD.basis_event_id)

    # Then nothing is written: points are not re-priced retroactively
    assert plan(current, [repriced]).entries == ()


def test_award_no_longer_deserved_is_reversed_once() -> None:
    # Given an active award
    current = plan({}, [AWARD]).awards

    # When it is no longer deserved, twice in a row
    first = plan(current, [])
    second = plan(first.awards, [])

    # Then exactly one reversal pointing at the award is planned
    assert [(e.kind, e.amount, e.reverses) for e in first.entries] == [(EntryKind.REVERSAL, -10, current[AWARD.key].entry_id)]
    assert first.entries[0].reason.rule_version == 1
    assert second.entries == ()


def test_an_award_deserved_again_after_reversal_gets_a_new_id() -> None:
    # Given an award that was reversed
    reversed_awards = plan(plan({}, [AWARD]).awards, []).awards

    # When it is deserved again
    again = plan(reversed_awards, [AWARD])

    # Then it is credited under a new id (ids never repeat)
    assert again.entries[0].entry_id != entry_id_for('zendesk#1', AWARD.key)
    assert again.awards[AWARD.key].generation == 1


def test_capping_a_reversal_keeps_the_balance_at_zero_and_says_what_was_not_recovered() -> None:
    # Given a 10-point reversal for an employee who has 4 points available
    reversal_plan = plan(plan({}, [AWARD]).awards, [])

    # When the plan is capped
    capped = cap_reversals(reversal_plan, 'E1', 4)

    # Then only 4 points are debited and the remaining 6 are stated on the entry
    entry = capped.entries[0]
    assert entry.amount == -4
    assert entry.reason.inputs['unrecovered_points'] == 6
    assert 'not recovered' in (entry.reason.note or '')
