"""Clawback debt on DynamoDB (moto): a reversal larger than what is available records the rest as a debt on the
balance item in the same transaction; the balances' stream (filtered as the template's event source filters it)
feeds the debt recovery, which repays it from later earnings exactly once even when a record is delivered twice;
the `write_off` policy keeps the old behaviour; the chain and the balance stay consistent with the entries."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from functions.debt_recovery import app as debt_app
from infrastructure.local.event_filter import delivers
from infrastructure.local.template_resources import stream_filters
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Status
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import LedgerStore
from shared.programs.loader import ProgramBook, builtin_book
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from shared.wallet.config import WalletConfig
from shared.wallet.debt import program_debt_policy
from tests.support.apigw import lambda_context
from tests.support.factories import DIRECTORY_CSV, ticket_event
from tests.support.local_aws import local_aws

NOW = datetime(2024, 5, 20, tzinfo=UTC)
HOLD = timedelta(hours=72)
HANDLER = 'functions.debt_recovery.app.lambda_handler'


def book(below_floor: Literal['debt', 'write_off']) -> ProgramBook:
    [version] = builtin_book().programs['default']
    return ProgramBook.of(version.document.model_copy(update={'wallet': WalletConfig(below_floor=below_floor)}))


@dataclass
class World:
    processor: TicketProcessor
    ledger: LedgerStore
    position: int = 0

    def balance_changes(self) -> list[dict[str, Any]]:
        """The balances table's stream records not yet taken, as Lambda delivers them."""
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']].get_table(os.environ['BALANCES_TABLE']).stream_shard
        assert shard is not None, 'the balances table has no stream (template.yaml StreamSpecification)'
        records = [item.to_json() for item in shard.items[self.position :]]
        self.position += len(records)
        return records

    def deliver(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """What the event source mapping invokes the function with: only the records its filter lets through."""
        patterns = stream_filters(HANDLER)
        delivered = [record for record in records if delivers(patterns, record)]
        return debt_app.lambda_handler({'Records': delivered}, lambda_context()) if delivered else {'batchItemFailures': []}

    def credit(self, employee_id: str, entry_id: str, points: int) -> None:
        reason = EntryReason(ticket_key=f'test#{entry_id}', source_event_id=entry_id, basis_event_id=entry_id, rule_id='bonus',
                             rule_version=1, program_id='default@1')
        self.ledger.append_adjustment(LedgerEntry(entry_id=entry_id, employee_id=employee_id, amount=points, kind=EntryKind.ADJUSTMENT,
                                                  status=EntryStatus.AVAILABLE, reason=reason, occurred_at=NOW, recorded_at=NOW))


def world(below_floor: Literal['debt', 'write_off']) -> Iterator[World]:
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW)
        programs = book(below_floor)
        ledger = LedgerStore(debt_policy=program_debt_policy(lambda: programs))
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=ledger, programs=lambda: programs)
        debt_app.store.cache_clear()
        debt_app._floor = lambda ref: 0  # type: ignore[assignment]  # the default program's floor
        yield World(processor, ledger)
        debt_app.store.cache_clear()


@pytest.fixture()
def owing() -> Iterator[World]:
    yield from world('debt')


@pytest.fixture()
def forgiving() -> Iterator[World]:
    yield from world('write_off')


def earn_spend_and_claw_back(w: World) -> LedgerEntry:
    """E1 earns 10 points (released after the hold), spends them, then the ticket is reopened: the award is clawed back."""
    w.processor.apply(ticket_event('1007', 0, status=Status.SOLVED, minutes=30), NOW)
    assert [e.amount for e in w.processor.release('zendesk#1007', NOW + HOLD).entries] == [10]
    w.credit('E1', 'spent-1', -10)
    result = w.processor.apply(ticket_event('1007', 1, status=Status.OPEN, minutes=4 * 24 * 60), NOW + timedelta(days=4))
    [reversal] = result.entries
    return reversal


def assert_reconciles(ledger: LedgerStore, employee_id: str) -> None:
    entries = ledger.entries_for(employee_id)
    balance = ledger.balance(employee_id)
    assert balance.available == sum(entry.amount for entry in entries)
    assert balance.entry_count == len(entries)


def test_a_clawback_larger_than_available_records_the_rest_as_a_debt_in_the_same_write(owing: World) -> None:
    # Given E1 earned 10 points and spent them
    # When the award is clawed back
    reversal = earn_spend_and_claw_back(owing)

    # Then the reversal takes nothing (the balance stays at 0) and the 10 points are owed: on the entry and the balance
    assert (reversal.amount, reversal.reason.inputs['debt_points'], reversal.reason.inputs['unrecovered_points']) == (0, 10, 10)
    assert 'owed as a debt' in (reversal.reason.note or '')
    balance = owing.ledger.balance('E1')
    assert (balance.available, balance.debt) == (0, 10)
    assert_reconciles(owing.ledger, 'E1')


def test_the_debt_is_recovered_from_a_later_award_exactly_once_even_when_the_stream_delivers_twice(owing: World) -> None:
    # Given E1 owes 10 points, and every balance change so far went through the stream (none delivered: nothing to repay)
    earn_spend_and_claw_back(owing)
    assert owing.deliver(owing.balance_changes()) == {'batchItemFailures': []}
    assert [e.kind for e in owing.ledger.entries_for('E1')].count(EntryKind.DEBT_RECOVERY) == 0

    # When E1 earns 25 points and the stream delivers that balance change twice (a retried batch)
    owing.credit('E1', 'later-1', 25)
    changes = owing.balance_changes()
    assert [delivers(stream_filters(HANDLER), r) for r in changes] == [True]
    owing.deliver(changes)
    owing.deliver(changes)
    owing.deliver(owing.balance_changes())  # the recovery's own balance change: no longer owing, not delivered

    # Then one DEBT_RECOVERY entry of -10 repays the debt, saying which clawback it repays, and 15 points are left
    recoveries = [e for e in owing.ledger.entries_for('E1') if e.kind is EntryKind.DEBT_RECOVERY]
    assert [e.amount for e in recoveries] == [-10]
    assert recoveries[0].reason.inputs['debt_left'] == 0 and 'debt cleared' in (recoveries[0].reason.note or '')
    assert str(recoveries[0].reason.inputs['debt_entries']).startswith('R')
    balance = owing.ledger.balance('E1')
    assert (balance.available, balance.debt) == (15, 0)
    assert_reconciles(owing.ledger, 'E1')


def test_a_small_earning_repays_part_of_the_debt_and_the_next_one_the_rest(owing: World) -> None:
    # Given E1 owes 10 points
    earn_spend_and_claw_back(owing)
    owing.balance_changes()

    # When E1 earns 4 points, then 20
    owing.credit('E1', 'later-1', 4)
    owing.deliver(owing.balance_changes())
    middle = owing.ledger.balance('E1')
    owing.credit('E1', 'later-2', 20)
    owing.deliver(owing.balance_changes())

    # Then 4 are taken first (6 still owed), then the remaining 6
    assert (middle.available, middle.debt) == (0, 6)
    recoveries = [e for e in owing.ledger.entries_for('E1') if e.kind is EntryKind.DEBT_RECOVERY]
    assert sorted(e.amount for e in recoveries) == [-6, -4]
    assert any('6 points still owed' in (e.reason.note or '') for e in recoveries)
    balance = owing.ledger.balance('E1')
    assert (balance.available, balance.debt) == (14, 0)
    assert_reconciles(owing.ledger, 'E1')


def test_write_off_forgives_the_rest_as_before(forgiving: World) -> None:
    # Given a program whose balance floor policy is write_off
    # When a clawback exceeds what is available
    reversal = earn_spend_and_claw_back(forgiving)

    # Then the rest is only stated on the entry: no debt, and later earnings are kept whole
    assert reversal.reason.inputs['unrecovered_points'] == 10 and 'debt_points' not in reversal.reason.inputs
    assert 'not recovered' in (reversal.reason.note or '')
    forgiving.credit('E1', 'later-1', 25)
    assert not any(delivers(stream_filters(HANDLER), r) for r in forgiving.balance_changes())
    balance = forgiving.ledger.balance('E1')
    assert (balance.available, balance.debt) == (25, 0)


def test_a_failed_recovery_reports_its_record_and_an_unreadable_one_is_quarantined(owing: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given E1 owes 10 and earns 25 (one owing balance change), a record that is not a balance image, and a store whose
    # write fails once
    earn_spend_and_claw_back(owing)
    owing.balance_changes()
    owing.credit('E1', 'later-1', 25)
    [change] = owing.balance_changes()
    unreadable = {'eventID': 'bad', 'dynamodb': {'SequenceNumber': '1', 'NewImage': {'debt': {'N': '5'}, 'available': {'N': '5'}}}}
    real = debt_app.store()
    calls: list[str] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        raise RuntimeError('throttled')

    monkeypatch.setattr(real, 'recover', failing)

    # When the batch [unreadable, owing change] is delivered
    answer = debt_app.lambda_handler({'Records': [unreadable, change]}, lambda_context())

    # Then the unreadable record is kept in the quarantine and skipped, and the failed one is reported for a retry
    assert answer == {'batchItemFailures': [{'itemIdentifier': change['dynamodb']['SequenceNumber']}]}
    assert calls == ['E1']
    from shared.quarantine.store import QuarantineStore

    kept = QuarantineStore().list_day(datetime.now(UTC).date().isoformat())  # kept on the day it arrived (wall time)
    assert [str(item['reason']) for item in kept] == ["KeyError: missing 'Keys'"]
    # And the retry (the store answers again) repays the debt once
    monkeypatch.undo()
    assert debt_app.lambda_handler({'Records': [change]}, lambda_context()) == {'batchItemFailures': []}
    assert owing.ledger.balance('E1').debt == 0


def test_the_same_trigger_never_repays_twice_even_when_the_debt_is_still_there(owing: World) -> None:
    # Given E1 owes 10 and has 25 available again
    earn_spend_and_claw_back(owing)
    owing.credit('E1', 'later-1', 25)
    store = debt_app.store()

    # When a recovery for trigger '7' is written, a new debt is recorded meanwhile, and trigger '7' is replayed
    first = store.recover('E1', '7', lambda ref: 0, NOW)
    owing.ledger.balances('EMP#E1').update(actions=[owing.ledger.balances.debt.add(5)])  # as a later capped clawback would
    again = store.recover('E1', '7', lambda ref: 0, NOW)

    # Then the first repays 10, and the replay of the same trigger writes nothing (the next balance change repays the 5)
    assert (first.outcome, again.outcome) == ('recovered', 'duplicate')
    assert owing.ledger.balance('E1').debt == 5
