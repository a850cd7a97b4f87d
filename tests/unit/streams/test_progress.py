"""The redaction step's gap repair: records are processed in order, none skipped."""

from __future__ import annotations

from streams.progress import PartitionCursor


def test_in_order_records_are_admitted_and_advance_the_cursor():
    c = PartitionCursor()
    c.reset({("raw", 0): 5})
    assert [c.admit("raw", 0, o) for o in (5, 6, 7)] == [True, True, True]
    assert c.expected[("raw", 0)] == 8


def test_a_gap_asks_for_a_seek_once_and_waits_for_the_expected_record():
    c = PartitionCursor()
    c.reset({("raw", 0): 5})
    assert c.admit("raw", 0, 9) is None          # gap: 5..8 were never seen
    assert c.admit("raw", 0, 10) is False        # still waiting: no second seek
    assert c.admit("raw", 1, 0) is True          # other partitions are unaffected
    assert c.admit("raw", 0, 5) is True          # the re-fetched record
    assert c.expected[("raw", 0)] == 6


def test_records_below_the_cursor_are_ignored():
    c = PartitionCursor()
    c.reset({("raw", 0): 5})
    assert c.admit("raw", 0, 3) is False
    assert c.expected[("raw", 0)] == 5
