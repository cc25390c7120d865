"""Feed items: the shape the collusion scan and the spot awards share, and the cursor that cannot leave its feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.errors import InvalidPayload
from shared.recognition.feed import FEED_ATTRIBUTES, FeedEntry, decode_cursor, encode_cursor, entry_of, feed_items


def _entry(**changes: object) -> FeedEntry:
    values: dict[str, object] = {
        'program_id': 'pitstop', 'recognition_id': 'r1', 'giver_id': 'TECH-101', 'receiver_id': 'TECH-104', 'points': 20,
        'value': 'teamwork', 'message': 'thanks for the help', 'giver_location': 'IN-BLR-01', 'receiver_location': 'IN-BLR-01',
        'giver_team': 'MGR-1', 'receiver_team': 'MGR-2', 'month': '2026-10', 'recorded_at': datetime(2026, 10, 5, 8, 30, tzinfo=UTC),
    }  # fmt: skip
    return FeedEntry.model_validate(values | changes)


def test_a_recognition_is_written_to_the_receivers_team_and_location_feeds() -> None:
    # Given a recognition to someone whose manager is MGR-2
    # When its feed items are built
    items = feed_items(_entry())
    # Then one item in the team feed and one in the location feed, newest-first sortable, with exactly the agreed attributes
    assert [item['pk']['S'] for item in items] == ['FEED#pitstop#T#MGR-2', 'FEED#pitstop#L#IN-BLR-01']
    assert {item['sk']['S'] for item in items} == {'2026-10-05T08:30:00+00:00#r1'}
    assert set(items[0]) == {'pk', 'sk', *FEED_ATTRIBUTES}
    assert items[0]['points'] == {'N': '20'} and items[0]['kind'] == {'S': 'thanks'}
    # and it reads back as the same entry
    assert entry_of(items[0], 'pitstop') == _entry()


def test_a_receiver_without_a_manager_appears_in_the_location_feed_only() -> None:
    items = feed_items(_entry(receiver_team=None, giver_team=None, kind='spot'))
    assert [item['pk']['S'] for item in items] == ['FEED#pitstop#L#IN-BLR-01']
    assert 'receiver_team' not in items[0] and items[0]['kind'] == {'S': 'spot'}


def test_a_cursor_is_refused_by_another_feed() -> None:
    # Given a cursor of the team feed of MGR-2
    cursor = encode_cursor({'pk': {'S': 'FEED#pitstop#T#MGR-2'}, 'sk': {'S': '2026-10-05T08:30:00+00:00#r1'}})
    assert decode_cursor(cursor, 'FEED#pitstop#T#MGR-2')['sk'] == {'S': '2026-10-05T08:30:00+00:00#r1'}
    # When it is used on another feed, or is not a cursor at all
    # Then it is refused, naming the field
    with pytest.raises(InvalidPayload, match='another feed') as refused:
        decode_cursor(cursor, 'FEED#pitstop#T#MGR-9')
    assert refused.value.field == 'cursor'
    with pytest.raises(InvalidPayload, match='not a cursor'):
        decode_cursor('bm90LWpzb24', 'FEED#pitstop#T#MGR-2')
