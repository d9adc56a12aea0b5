"""`thread/list` cursor texts: codex 0.169's shapes out, strict parsing in."""

from __future__ import annotations

import pytest

from app_server.store.errors import InvalidCursor
from app_server.store.list_cursor import (
    SECONDS_PRECISION,
    ListCursor,
    format_backwards_cursor,
    format_next_cursor,
    parse_cursor,
)

THREAD = "01a20eeb-d4ab-7d60-be7d-402cf5f03555"
MS = 1_795_546_671_083  # 2026-11-24T18:57:51.083Z


def test_next_cursor_is_millisecond_timestamp_pipe_id() -> None:
    assert format_next_cursor(MS, THREAD) == f"2026-11-24T18:57:51.083Z|{THREAD}"


def test_backwards_cursor_is_one_ms_before_the_first_row() -> None:
    assert format_backwards_cursor(MS) == "2026-11-24T18:57:51.082Z"


def test_backwards_cursor_of_an_ascending_page_is_also_one_ms_before_its_first_row() -> None:
    # Was "one ms after" (codex's text for ascending pages). The cursor now names the same
    # split instant whichever direction wrote it, so reading it back needs no direction.
    assert parse_cursor(format_backwards_cursor(MS)).split_ms == MS


def test_whole_seconds_still_show_three_digits() -> None:
    assert format_backwards_cursor(1_795_546_671_001) == ("2026-11-24T18:57:51.000Z")


def test_next_cursor_parses_back_to_an_exclusive_millisecond_bound() -> None:
    assert parse_cursor(format_next_cursor(MS, THREAD)) == ListCursor(MS, 1, THREAD)


def test_timestamp_only_cursor_parses_to_a_timestamp_bound() -> None:
    assert parse_cursor("2026-11-24T18:57:51.083Z") == ListCursor(MS, 1, None)


def test_codex_seconds_cursor_covers_the_whole_second() -> None:
    cursor = parse_cursor(f"2026-11-24T18:57:51Z|{THREAD}")

    assert cursor == ListCursor(1_795_546_671_000, SECONDS_PRECISION, THREAD)
    assert cursor.last_ms == 1_795_546_671_999


def test_epoch_and_early_dates_round_trip() -> None:
    for ms in (0, 1, 999, 86_400_000):
        assert parse_cursor(format_backwards_cursor(ms + 1)).sort_ms == ms


def test_garbage_cursor_is_rejected_with_its_text() -> None:
    with pytest.raises(InvalidCursor) as caught:
        parse_cursor("garbage")

    assert str(caught.value) == "invalid cursor: garbage"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "|",
        f"|{THREAD}",
        "2026-11-24T18:57:51.083Z|",
        "2026-11-24T18:57:51.083Z|not-a-uuid",
        f"2026-11-24T18:57:51.083Z|{THREAD}|extra",
        "2026-11-24T18:57:51.083",
        "2026-11-24 18:57:51.083Z",
        "2026-11-24T18:57:51.08Z",
        "2026-11-24T18:57:51.083+00:00",
        "2026-13-24T18:57:51.083Z",
        "2026-02-30T18:57:51Z",
        "1795546671083",
        '{"rolloutOrdinal": 3}',
    ],
)
def test_malformed_cursors_are_rejected(text: str) -> None:
    with pytest.raises(InvalidCursor, match=r"^invalid cursor: "):
        parse_cursor(text)


def test_keyset_cursor_admits_rows_strictly_after_it() -> None:
    cursor = ListCursor(MS, 1, THREAD)
    before, after = "01a20eeb-0000-7000-8000-000000000000", "ffffffff-0000-7000-8000-000000000000"

    assert cursor.admits(MS - 1, after, descending=True)
    assert cursor.admits(MS, before, descending=True)
    assert not cursor.admits(MS, THREAD, descending=True)
    assert not cursor.admits(MS, after, descending=True)
    assert cursor.admits(MS, after, descending=False)
    assert not cursor.admits(MS, before, descending=False)


def test_timestamp_only_cursor_splits_right_after_the_first_rows_instant() -> None:
    # Codex 0.169 (observed, rows in different seconds): read descending, a page's
    # backwardsCursor yields the page again (its first row included); read ascending, the rows
    # newer than its first row. The old expectation (strictly beyond the cursor's own instant)
    # made the ascending read start at the first row: a page shifted by one thread.
    cursor = ListCursor(MS - 1)

    assert cursor.admits(MS + 1, THREAD, descending=False)
    assert not cursor.admits(MS, THREAD, descending=False)
    assert cursor.admits(MS, THREAD, descending=True)
    assert cursor.admits(MS - 1, THREAD, descending=True)
    assert not cursor.admits(MS + 1, THREAD, descending=True)


def test_seconds_cursor_admits_its_second_by_id() -> None:
    cursor = parse_cursor(f"2026-11-24T18:57:51Z|{THREAD}")
    lower, higher = "01a20eeb-0000-7000-8000-000000000000", "ffffffff-0000-7000-8000-000000000000"

    assert cursor.admits(1_795_546_671_999, lower, descending=True)
    assert not cursor.admits(1_795_546_671_000, higher, descending=True)
    assert cursor.admits(1_795_546_671_000, higher, descending=False)
    assert not cursor.admits(1_795_546_671_999, lower, descending=False)
