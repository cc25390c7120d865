"""The ledger's hash chain, pure: how entries are linked, what `verify_chain` finds when one is overwritten,
deleted or inserted (legacy entries without chain fields included), and the request shapes every writer shares."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.ledger.chain import GENESIS, BreakKind, ChainBreak, ChainHead, StoredEntry, entry_hash, link, verify_chain
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.entry_writes import chain_moved, chained_puts, entry_fields, guard


def fields(n: int, amount: int = 10, recorded_at: str = '2024-05-01T00:00:00+00:00') -> dict[str, str | int | None]:
    return {'pk': 'EMP#E1', 'sk': f'ENTRY#E{n:03d}', 'entry': f'{{"entry_id":"E{n:03d}","amount":{amount}}}', 'amount': amount,
            'kind': 'award', 'period': '2024-05', 'recorded_at': recorded_at}


def chain_of(count: int, head: ChainHead | None = None, start: int = 1) -> tuple[list[StoredEntry], ChainHead]:
    """`count` entries chained onto `head` as a writer would store them, and the head the balance would hold."""
    rows = [fields(n, amount=n * 10, recorded_at=f'2024-05-{1 + n % 28:02d}T00:00:00+00:00') for n in range(start, start + count)]
    links, new_head = link(head or ChainHead(), rows)
    stored = [StoredEntry(entry_id=str(row['sk']).removeprefix('ENTRY#'), fields=row, seq=chain.seq, prev_hash=chain.prev_hash,
                          hash=chain.hash) for row, chain in zip(rows, links, strict=True)]
    return stored, new_head


def problems(breaks: list[ChainBreak]) -> list[tuple[str, str | None]]:
    return [(b.problem.value, b.entry_id) for b in breaks]


def test_the_chain_module_imports_no_aws_sdk() -> None:
    # When the pure chain module is imported in a fresh interpreter
    code = 'import sys, shared.ledger.chain; print(",".join(m for m in ("boto3", "botocore", "pynamodb") if m in sys.modules))'
    loaded = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    # Then no AWS SDK or storage module came with it
    assert loaded == ''


def test_entries_are_linked_in_order_each_on_the_hash_of_the_one_before() -> None:
    # Given three entries for a new chain
    rows = [fields(1), fields(2), fields(3)]

    # When they are linked
    links, head = link(ChainHead(), rows)

    # Then seqs count from 1, the first starts from genesis, each prev_hash is the hash before it, the head is the last
    assert [x.seq for x in links] == [1, 2, 3]
    assert links[0].prev_hash == GENESIS and links[1].prev_hash == links[0].hash and links[2].prev_hash == links[1].hash
    assert head == ChainHead(hash=links[2].hash, seq=3)
    assert all(len(x.hash) == 64 for x in links) and len({x.hash for x in links}) == 3


def test_the_hash_covers_every_stored_field_the_seq_and_the_prev_hash() -> None:
    # Given one entry's hash
    base = fields(1)
    digest = entry_hash(base, 1, GENESIS)

    # When any one of its fields, its seq or its prev_hash changes
    changed = [entry_hash(base | {name: 'x'}, 1, GENESIS) for name in base] + [entry_hash(base, 2, GENESIS), entry_hash(base, 1, 'f' * 64)]

    # Then the hash changes every time, and it does not depend on the order the fields come in
    assert digest not in changed and len(set(changed)) == len(changed)
    assert entry_hash(dict(reversed(list(base.items()))), 1, GENESIS) == digest


def test_an_untouched_chain_verifies() -> None:
    # Given five chained entries, read back in id order (the partition's sort key), and the balance's head
    entries, head = chain_of(5)

    # When verified
    breaks = verify_chain('E1', sorted(entries, key=lambda e: e.entry_id, reverse=True), head, entry_count=5)

    # Then nothing is wrong
    assert breaks == []


def test_an_entry_whose_amount_was_overwritten_is_altered() -> None:
    # Given entry 3's amount changed in place, its chain fields kept
    entries, head = chain_of(5)
    entries[2] = replace(entries[2], fields=dict(entries[2].fields) | {'amount': 999})

    # When verified
    breaks = verify_chain('E1', entries, head, entry_count=5)

    # Then exactly that entry is reported, with the stored and the recomputed hash
    assert problems(breaks) == [('altered', 'E003')]
    assert breaks[0].employee_id == 'E1' and breaks[0].seq == 3
    assert (entries[2].hash or '')[:16] in breaks[0].expected and breaks[0].found != breaks[0].expected


def test_an_overwritten_entry_given_a_fresh_hash_breaks_the_next_link() -> None:
    # Given entry 2 overwritten by someone who recomputed its hash (the scheme is public)
    entries, head = chain_of(4)
    forged = dict(entries[1].fields) | {'amount': 500}
    entries[1] = replace(entries[1], fields=forged, hash=entry_hash(forged, 2, entries[1].prev_hash or ''))

    # When verified
    breaks = verify_chain('E1', entries, head, entry_count=4)

    # Then entry 3 no longer points at entry 2
    assert problems(breaks) == [('broken_link', 'E003')]


def test_an_overwritten_last_entry_given_a_fresh_hash_no_longer_matches_the_balance_head() -> None:
    # Given the last entry overwritten and re-hashed
    entries, head = chain_of(3)
    forged = dict(entries[2].fields) | {'amount': 500}
    entries[2] = replace(entries[2], fields=forged, hash=entry_hash(forged, 3, entries[2].prev_hash or ''))

    # When verified
    breaks = verify_chain('E1', entries, head, entry_count=3)

    # Then the balance's head gives it away
    assert problems(breaks) == [('head_mismatch', 'E003')]


def test_a_deleted_entry_leaves_a_gap_and_a_deleted_last_entry_a_head_ahead_of_the_chain() -> None:
    # Given entry 2 of 4 deleted, and separately entry 4 of 4 deleted
    entries, head = chain_of(4)

    # When each is verified
    middle = verify_chain('E1', [e for e in entries if e.seq != 2], head, entry_count=4)
    last = verify_chain('E1', entries[:3], head, entry_count=4)

    # Then the first names the entry after the gap, the second the last entry left
    assert problems(middle) == [('gap', 'E003')] and 'seq 2' in middle[0].expected
    assert problems(last) == [('head_mismatch', 'E003')] and 'seq 4' in last[0].expected


def test_an_inserted_entry_is_caught_whether_it_claims_a_taken_place_the_next_place_or_no_place() -> None:
    # Given a chain of three and three forgeries: one at seq 2 (chained properly onto entry 1), one appended at
    # seq 4 (onto the real head), and one without chain fields at all
    entries, head = chain_of(3)
    at_two, _ = chain_of(1, head=ChainHead(hash=entries[0].hash or '', seq=1), start=50)
    appended, _ = chain_of(1, head=head, start=60)
    bare = StoredEntry(entry_id='E070', fields=fields(70, recorded_at='2024-05-30T00:00:00+00:00'))

    # When each is verified against the balance (which never heard of them)
    duplicate = verify_chain('E1', [*entries, *at_two], head, entry_count=3)
    past_head = verify_chain('E1', [*entries, *appended], head, entry_count=3)
    unchained = verify_chain('E1', [*entries, bare], head, entry_count=3)

    # Then each is reported, naming the forged entry
    assert problems(duplicate) == [('duplicate_seq', 'E050')] and 'E002 and E050' in duplicate[0].found
    assert problems(past_head) == [('head_mismatch', 'E060')]
    assert problems(unchained) == [('unchained', 'E070')]


def test_legacy_entries_before_the_chain_are_accepted_and_the_chain_starts_from_genesis() -> None:
    # Given two entries written before the chain (no chain fields), then three chained ones; the balance counts 5
    legacy = [StoredEntry(entry_id=f'L{n}', fields=fields(90 + n, recorded_at='2024-04-01T00:00:00+00:00')) for n in range(2)]
    entries, head = chain_of(3)

    # When verified
    breaks = verify_chain('E1', [*legacy, *entries], head, entry_count=5)

    # Then nothing is wrong; a legacy entry deleted, or a bare one added, is
    assert breaks == []
    assert problems(verify_chain('E1', [legacy[0], *entries], head, entry_count=5)) == [('legacy_missing', None)]
    assert [b.problem for b in verify_chain('E1', [*legacy, *entries], head, entry_count=4)] == [BreakKind.UNCHAINED]


def test_a_chained_entry_stripped_of_its_chain_fields_is_a_gap_and_an_unchained_entry() -> None:
    # Given entry 2's item replaced by a raw PutItem that did not bother with the chain fields
    entries, head = chain_of(3)
    entries[1] = StoredEntry(entry_id=entries[1].entry_id, fields=dict(entries[1].fields) | {'amount': 1000})

    # When verified
    breaks = verify_chain('E1', entries, head, entry_count=3)

    # Then the gap names the entry after it, and the stripped entry is named as unchained
    assert sorted(problems(breaks)) == [('gap', 'E003'), ('unchained', 'E002')]


@pytest.mark.parametrize('count', [0, 1])
def test_an_employee_without_chained_entries_verifies_against_the_genesis_head(count: int) -> None:
    # Given no entries (or one legacy entry) and a balance without a chain
    legacy = [StoredEntry(entry_id='L0', fields=fields(1))] * count

    # When verified
    breaks = verify_chain('E1', legacy, ChainHead(), entry_count=count)

    # Then nothing is wrong
    assert breaks == []


# --- the writes every writer shares (shared.ledger.entry_writes: request shapes, no AWS call) ----------------------
def _entry(employee_id: str, entry_id: str, amount: int) -> LedgerEntry:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    reason = EntryReason(ticket_key='zendesk#1', source_event_id='e', basis_event_id='b', rule_id='r', rule_version=1)
    return LedgerEntry(entry_id=entry_id, employee_id=employee_id, amount=amount, kind=EntryKind.AWARD, status=EntryStatus.AVAILABLE,
                       reason=reason, occurred_at=at, recorded_at=at)


def test_entries_of_several_employees_in_one_transaction_are_chained_per_employee_in_order() -> None:
    # Given E1 with a chain of 4 and E2 without one, and a transaction with E1, E2, E1 entries
    e1_head = ChainHead(hash='a' * 64, seq=4)
    entries = [_entry('E1', 'X1', 5), _entry('E2', 'Y1', 7), _entry('E1', 'X2', -3)]

    # When their puts are built
    puts, heads = chained_puts('ledger', entries, {'E1': e1_head, 'E2': ChainHead()})

    # Then E1's entries are seq 5 and 6, the second on the first; E2's is seq 1 from genesis; each put is conditional
    items = [put['Put']['Item'] for put in puts]
    assert [(i['pk']['S'], i['seq']['N'], i['prev_hash']['S']) for i in items] == [
        ('EMP#E1', '5', 'a' * 64), ('EMP#E2', '1', ''), ('EMP#E1', '6', items[0]['hash']['S'])]
    assert heads == {'E1': ChainHead(hash=items[2]['hash']['S'], seq=6), 'E2': ChainHead(hash=items[1]['hash']['S'], seq=1)}
    assert all(put['Put']['ConditionExpression'] == 'attribute_not_exists(pk)' for put in puts)
    # And each stored hash is the one the audit will recompute from the stored fields
    assert items[1]['hash']['S'] == entry_hash(entry_fields(entries[1]), 1, GENESIS)


def test_the_balance_update_moves_the_head_only_from_the_head_read_keeping_its_own_condition() -> None:
    # Given a debit's balance update (conditioned on the points available) and a first-chain credit's
    debit = {'Update': {'TableName': 'balances', 'Key': {'pk': {'S': 'EMP#E1'}}, 'UpdateExpression': 'ADD available :d SET updated_at = :u',
                        'ExpressionAttributeValues': {':d': {'N': '-5'}, ':u': {'S': 'now'}}, 'ConditionExpression': 'available >= :need'}}
    credit = {'Update': {'TableName': 'balances', 'Key': {'pk': {'S': 'EMP#E2'}}, 'UpdateExpression': 'ADD available :d',
                         'ExpressionAttributeValues': {':d': {'N': '5'}}}}

    # When each is guarded
    guarded = guard(debit, ChainHead(hash='a' * 64, seq=4), ChainHead(hash='b' * 64, seq=5))['Update']
    first = guard(credit, ChainHead(), ChainHead(hash='c' * 64, seq=1))['Update']

    # Then the head and seq are SET alongside, only if the head is still the one read, and the old item comes back on failure
    assert guarded['UpdateExpression'] == 'ADD available :d SET chain_head = :chain_head, chain_seq = :chain_seq, updated_at = :u'
    assert guarded['ConditionExpression'] == '(available >= :need) AND chain_head = :chain_expected'
    assert guarded['ExpressionAttributeValues'][':chain_expected'] == {'S': 'a' * 64}
    assert guarded['ExpressionAttributeValues'][':chain_seq'] == {'N': '5'} and guarded['ReturnValuesOnConditionCheckFailure'] == 'ALL_OLD'
    assert first['UpdateExpression'] == 'ADD available :d SET chain_head = :chain_head, chain_seq = :chain_seq'
    assert first['ConditionExpression'] == 'attribute_not_exists(chain_head)'
    # And a refusal is told apart: the chain moved (another writer), or the writer's own condition failed
    read = ChainHead(hash='a' * 64, seq=4)
    assert chain_moved({'Code': 'ConditionalCheckFailed', 'Item': {'chain_head': {'S': 'd' * 64}, 'chain_seq': {'N': '5'}}}, read)
    assert not chain_moved({'Code': 'ConditionalCheckFailed', 'Item': {'chain_head': {'S': 'a' * 64}, 'chain_seq': {'N': '4'}}}, read)
    assert not chain_moved({'Code': 'None'}, read)
