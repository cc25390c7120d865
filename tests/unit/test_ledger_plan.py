"""From deserved awards to the pending view and the ledger: pending churns, the ledger is written once
at release, released awards are never re-priced, clawbacks follow the rule, debits are capped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shared.ledger.earnings import cap_keys, month_key, plan_counters, week_key
from shared.ledger.entries import AwardState, EntryKind, entry_id_for, hold_due, plan_awards, plan_release
from shared.ledger.store import cap_debits
from shared.programs.awards import Award, ClawbackPolicy

NOW = datetime(2024, 5, 20, 12, tzinfo=UTC)
AWARD = Award(
    program_id='support', program_version=3, rule_id='resolved_within_sla', rule_version=2, employee_id='E1', points=10,
    basis_key='resolution', basis_at=NOW, release_at=NOW + timedelta(hours=72), inputs={'elapsed_minutes': 12.0},
    clawback=ClawbackPolicy.REVERSE, clawback_days=30,
)


def plan(current, desired, at=NOW):
    return plan_awards(ticket_key='zendesk#1', current=current, desired=desired, trigger_event_id='ev', trigger_at=at,
                       facts={'reopen_count': 1}, now=at)


def released(award=AWARD):
    pending = plan({}, [award]).awards
    return plan_release(ticket_key='zendesk#1', awards=pending, now=award.release_at).awards


def test_a_new_award_goes_to_the_pending_view_not_the_ledger() -> None:
    # Given no awards yet
    # When the ticket first deserves one
    first = plan({}, [AWARD])
    # Then it is pending (one pending item written) with a deterministic id, and no ledger entry yet
    assert first.entries == ()
    assert [r.entry_id for r in first.pending_put] == [entry_id_for('zendesk#1', AWARD.key)]
    assert first.awards[AWARD.key].state is AwardState.PENDING
    assert hold_due(first.awards) == AWARD.release_at


def test_pending_award_re_priced_or_dropped_changes_only_the_pending_view() -> None:
    # Given a pending award
    current = plan({}, [AWARD]).awards
    # When the same award is re-priced, then no longer deserved
    repriced = plan(current, [replace(AWARD, points=20)])
    dropped = plan(repriced.awards, [])
    # Then both moves change the pending view only: no ledger entry at all
    assert repriced.entries == () and repriced.awards[AWARD.key].points == 20
    assert dropped.entries == () and [r.entry_id for r in dropped.pending_delete] == [current[AWARD.key].entry_id]
    assert dropped.awards == {}


def test_the_same_desired_award_again_writes_nothing() -> None:
    # Given a pending award
    current = plan({}, [AWARD]).awards
    # When an event changes nothing about it
    again = plan(current, [AWARD])
    # Then nothing is written
    assert not again.changes_pending_view and again.entries == ()


def test_release_writes_one_available_entry_with_its_versions_and_inputs() -> None:
    # Given a pending award
    pending = plan({}, [AWARD]).awards
    # When released before and at its release time
    early = plan_release(ticket_key='zendesk#1', awards=pending, now=AWARD.release_at - timedelta(seconds=1))
    due = plan_release(ticket_key='zendesk#1', awards=pending, now=AWARD.release_at)
    # Then nothing is due early; at the time one award entry carries program and rule versions, basis and inputs
    assert early.entries == ()
    [entry] = due.entries
    assert (entry.kind, entry.amount, entry.entry_id) == (EntryKind.AWARD, 10, entry_id_for('zendesk#1', AWARD.key))
    assert (entry.reason.program_id, entry.reason.rule_id, entry.reason.rule_version) == ('support@3', 'resolved_within_sla', 2)
    assert entry.reason.basis_event_id == 'resolution' and entry.reason.inputs['elapsed_minutes'] == 12.0
    assert entry.occurred_at == AWARD.basis_at
    assert due.awards[AWARD.key].state is AwardState.RELEASED and hold_due(due.awards) is None


def test_released_award_is_never_re_priced() -> None:
    # Given a released award
    awards = released()
    # When the program now prices it at 20
    repriced = plan(awards, [replace(AWARD, points=20, program_version=4)])
    # Then nothing changes
    assert repriced.entries == () and not repriced.changes_pending_view


def test_undone_within_the_clawback_window_is_reversed_once_with_its_justification() -> None:
    # Given a released award with a 30-day reverse policy
    awards = released()
    # When the ticket stops deserving it 10 days after release, twice
    at = AWARD.release_at + timedelta(days=10)
    first = plan(awards, [], at)
    second = plan(first.awards, [], at)
    # Then one reversal points at the original and carries the facts and the original inputs
    [reversal] = first.entries
    assert (reversal.kind, reversal.amount, reversal.reverses) == (EntryKind.REVERSAL, -10, awards[AWARD.key].entry_id)
    assert reversal.reason.inputs['reopen_count'] == 1 and reversal.reason.inputs['original_elapsed_minutes'] == 12.0
    assert reversal.reason.inputs['undone_by_event'] == 'ev'
    assert second.entries == ()


def test_undone_after_the_clawback_window_or_under_keep_is_kept() -> None:
    # Given released awards: one reverse-within-30-days, one keep
    reverse = released()
    keep = released(replace(AWARD, clawback=ClawbackPolicy.KEEP))
    # When each is undone (the first after its window)
    late = plan(reverse, [], AWARD.release_at + timedelta(days=31))
    kept = plan(keep, [], AWARD.release_at + timedelta(days=1))
    # Then nothing is written for either
    assert late.entries == () and kept.entries == ()


def test_a_reversed_award_is_not_awarded_again() -> None:
    # Given a clawed-back award
    reversed_awards = plan(released(), [], AWARD.release_at + timedelta(days=1)).awards
    # When it is deserved again
    again = plan(reversed_awards, [AWARD])
    # Then nothing is written: one basis pays at most once
    assert again.entries == () and not again.changes_pending_view


def test_legacy_award_records_read_as_released_or_reversed() -> None:
    # Given awards stored before holds existed
    from shared.ledger.entries import AwardRecord

    active = AwardRecord.model_validate({'entry_id': 'E1', 'employee_id': 'E1', 'points': 5, 'rule_id': 'r', 'active': True, 'generation': 0})
    inactive = AwardRecord.model_validate({'entry_id': 'E2', 'employee_id': 'E1', 'points': 5, 'rule_id': 'r', 'active': False})
    # Then they keep their meaning
    assert active.state is AwardState.RELEASED and inactive.state is AwardState.REVERSED


def test_caps_cut_an_award_to_what_is_left_of_the_day_and_say_so() -> None:
    # Given a rule capped at 25 points a day and 30 a week; the employee has 20 today and 20 this week
    capped = replace(AWARD, caps={'day': 25, 'week': 30})
    pending = plan({}, [capped]).awards
    due = list(pending.values())
    periods_month = month_key('support', 'E1', '2024-05')
    periods_week = week_key('support', 'E1', '2024-W21')
    assert cap_keys(due) == sorted([periods_month, periods_week])
    seen = {periods_month: {'d20_resolved_within_sla': 20, 'r_resolved_within_sla': 20}, periods_week: {'r_resolved_within_sla': 20}}
    # When the counters are planned and the award released
    amounts, updates = plan_counters(due, seen)
    release = plan_release(ticket_key='zendesk#1', awards=pending, now=capped.release_at, amounts=amounts)
    # Then it pays 5 (the day's room), states the cut, and the counters add 5 with checks on what was seen
    [entry] = release.entries
    assert entry.amount == 5 and entry.reason.inputs['capped_from'] == 10 and 'capped' in (entry.reason.note or '')
    month_update = next(u for u in updates if u.key == periods_month)
    assert month_update.adds == {'r_resolved_within_sla': 5, 'd20_resolved_within_sla': 5, 'n_resolved_within_sla': 1}
    assert month_update.expect == {'d20_resolved_within_sla': 20}


def test_uncapped_release_still_counts_the_month_for_period_rules() -> None:
    # Given an uncapped award
    due = list(plan({}, [AWARD]).awards.values())
    # When counters are planned with nothing read
    amounts, updates = plan_counters(due, {})
    # Then no amount is cut, and the month item gets the rule's points and count
    assert amounts == {}
    assert [(u.key, u.adds, u.expect) for u in updates] == [(month_key('support', 'E1', '2024-05'), {'r_resolved_within_sla': 10, 'n_resolved_within_sla': 1}, {})]


def test_capping_a_debit_keeps_the_balance_at_zero_and_says_what_was_not_recovered() -> None:
    # Given a 10-point reversal for an employee who has 4 points available
    reversal = plan(released(), [], AWARD.release_at + timedelta(days=1)).entries
    # When the debits are capped
    [entry] = cap_debits(reversal, 'E1', 4)
    # Then only 4 points are debited and the remaining 6 are stated on the entry
    assert entry.amount == -4
    assert entry.reason.inputs['unrecovered_points'] == 6
    assert 'not recovered' in (entry.reason.note or '')
