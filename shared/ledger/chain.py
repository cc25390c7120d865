"""Tamper evidence for the ledger: each employee's entries form a hash chain.

Pure: no storage here (the writes that apply it are in `shared.ledger.entry_writes`, the audit's reads in
`shared.ledger.auditor`). Every entry written carries `seq` (1, 2, 3 ... per employee), `prev_hash` (the `hash`
of the employee's entry `seq - 1`, or "" for the first) and `hash`: the SHA-256 of the canonical JSON of the
entry's stored fields (`HASHED_FIELDS`) with its `seq` and `prev_hash`. The employee's balance item holds the
chain's head (`chain_head`, `chain_seq`), set in the same transaction as the entries and conditioned on the head
the writer read, so two writers can never both extend the same head (one retries: no fork).

What the audit can then tell (`verify_chain`):
- an entry overwritten (any stored field changed, e.g. its amount): its recomputed hash differs (`altered`);
- an entry overwritten *and* re-hashed: the next entry's `prev_hash` no longer matches (`broken_link`), or, if
  it was the last, the balance's head does not (`head_mismatch`);
- an entry deleted: its `seq` is missing (`gap`), or the head is ahead of the last entry (`head_mismatch`);
- an entry inserted: a second entry with a taken `seq` (`duplicate_seq`), one past the head (`head_mismatch`),
  or one without chain fields that the balance does not account for (`unchained`).

Legacy: entries written before the chain existed carry no chain fields. They are not chained; the first chained
entry of an employee starts from "" whatever came before. The balance's `entry_count` counts every entry and
`chain_seq` the chained ones, so exactly `entry_count - chain_seq` unchained entries may exist: one more is
reported (`unchained`, naming the unchained entries recorded after the chain started), one fewer too
(`legacy_missing`). A legacy entry's own content is covered only by the balance's sum check.

The chain is evidence, not a lock: someone who can rewrite both an employee's entries and their balance item
could rebuild a consistent chain. The writers' IAM grants make that hard (no UpdateItem on the ledger, PutItem on
it only inside TransactWriteItems), but the hash is not keyed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

GENESIS = ''  # the prev_hash of an employee's first chained entry
# The stored attributes of a ledger item the hash covers (all of them but the chain's own and the keys' types).
HASHED_FIELDS = ('pk', 'sk', 'entry', 'amount', 'kind', 'period', 'recorded_at')

type FieldValue = str | int | None


@dataclass(frozen=True)
class ChainHead:
    """The balance item's record of the chain: the hash of the employee's last entry and its seq."""

    hash: str = GENESIS
    seq: int = 0


@dataclass(frozen=True)
class Link:
    seq: int
    prev_hash: str
    hash: str


def entry_hash(fields: Mapping[str, FieldValue], seq: int, prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical JSON (sorted keys, no spaces, ASCII) of the hashed fields, seq and prev_hash."""
    body: dict[str, FieldValue] = {name: fields.get(name) for name in HASHED_FIELDS}
    body |= {'seq': seq, 'prev_hash': prev_hash}
    canonical = json.dumps(body, sort_keys=True, separators=(',', ':'), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def link(head: ChainHead, fields: Sequence[Mapping[str, FieldValue]]) -> tuple[list[Link], ChainHead]:
    """Chain one employee's new entries, in order, onto `head`: their links and the new head."""
    links: list[Link] = []
    for item in fields:
        seq = head.seq + 1
        digest = entry_hash(item, seq, head.hash)
        links.append(Link(seq=seq, prev_hash=head.hash, hash=digest))
        head = ChainHead(hash=digest, seq=seq)
    return links, head


@dataclass(frozen=True)
class StoredEntry:
    """A ledger item as the audit reads it: the hashed fields as stored, and its chain fields (None: legacy)."""

    entry_id: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None

    @property
    def amount(self) -> int:
        value = self.fields.get('amount')
        return value if isinstance(value, int) else 0

    @property
    def chained(self) -> bool:
        return self.seq is not None or self.prev_hash is not None or self.hash is not None

    @property
    def recorded_at(self) -> datetime | None:
        value = self.fields.get('recorded_at')
        try:
            return datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None


class BreakKind(StrEnum):
    ALTERED = 'altered'  # the stored fields no longer hash to the stored hash
    BROKEN_LINK = 'broken_link'  # prev_hash is not the hash of the entry before it
    GAP = 'gap'  # seqs missing before this entry (entries deleted, or overwritten without chain fields)
    DUPLICATE_SEQ = 'duplicate_seq'  # two entries claim the same place (one was inserted)
    HEAD_MISMATCH = 'head_mismatch'  # the balance's chain head is not the last entry
    UNCHAINED = 'unchained'  # more entries without chain fields than the balance accounts for
    LEGACY_MISSING = 'legacy_missing'  # fewer entries without chain fields than the balance accounts for


class ChainBreak(BaseModel):
    """One thing wrong with an employee's chain: which entry (when one can be named) and what differs."""

    model_config = ConfigDict(frozen=True)

    employee_id: str
    problem: BreakKind
    entry_id: str | None = None
    seq: int | None = None
    expected: str
    found: str


def _short(digest: str | None) -> str:
    return '(none)' if digest is None else '""' if digest == '' else digest[:16]


def verify_chain(employee_id: str, entries: Iterable[StoredEntry], head: ChainHead, entry_count: int) -> list[ChainBreak]:
    """Every break in the employee's chain (empty: intact). `entries` in any order (the partition's sort key is
    the entry id, not the seq); `head` and `entry_count` from the balance item read alongside them."""
    entries = list(entries)
    breaks: list[ChainBreak] = []

    def report(problem: BreakKind, entry: StoredEntry | None, expected: str, found: str) -> None:
        breaks.append(ChainBreak(employee_id=employee_id, problem=problem, entry_id=entry.entry_id if entry else None,
                                 seq=entry.seq if entry else None, expected=expected, found=found))

    chained = sorted((e for e in entries if e.chained), key=lambda e: (e.seq if e.seq is not None else -1, e.entry_id))
    for entry in chained:
        if entry.seq is None or entry.prev_hash is None or entry.hash is None:
            report(BreakKind.ALTERED, entry, 'seq, prev_hash and hash', 'some of them missing')
            continue
        recomputed = entry_hash(entry.fields, entry.seq, entry.prev_hash)
        if recomputed != entry.hash:
            report(BreakKind.ALTERED, entry, f'hash {_short(entry.hash)} (stored when written)',
                   f'hash {_short(recomputed)} (of the fields now)')

    expected_seq, expected_prev = 1, GENESIS
    last: StoredEntry | None = None
    for entry in (e for e in chained if e.seq is not None):
        seq = entry.seq or 0
        if last is not None and seq == last.seq:
            report(BreakKind.DUPLICATE_SEQ, entry, f'one entry at seq {seq}', f'{last.entry_id} and {entry.entry_id}')
            continue
        if seq != expected_seq:
            report(BreakKind.GAP, entry, f'seq {expected_seq}', f'seq {seq} (entries {expected_seq}..{seq - 1} missing)'
                   if seq > expected_seq else f'seq {seq}')
        elif entry.prev_hash != expected_prev:
            report(BreakKind.BROKEN_LINK, entry, f'prev_hash {_short(expected_prev)}', f'prev_hash {_short(entry.prev_hash)}')
        expected_seq, expected_prev, last = seq + 1, entry.hash or '', entry

    found_head = ChainHead(hash=last.hash or '', seq=last.seq or 0) if last is not None else ChainHead()
    if found_head != head:
        report(BreakKind.HEAD_MISMATCH, last, f'balance head seq {head.seq} hash {_short(head.hash)}',
               f'last entry seq {found_head.seq} hash {_short(found_head.hash)}')

    unchained = [e for e in entries if not e.chained]
    legacy = entry_count - head.seq
    if len(unchained) > legacy:
        started = min((at for e in chained if (at := e.recorded_at) is not None), default=None)
        late = [e for e in unchained if started is not None and (e.recorded_at is None or e.recorded_at >= started)]
        named: list[StoredEntry | None] = list(late) or [None]
        for suspect in named:
            report(BreakKind.UNCHAINED, suspect, f'{legacy} entries without chain fields (written before the chain)',
                   f'{len(unchained)}' + (' (this one recorded after the chain started)' if suspect else ''))
    elif len(unchained) < legacy:
        report(BreakKind.LEGACY_MISSING, None, f'{legacy} entries without chain fields (written before the chain)', f'{len(unchained)}')
    return breaks
