"""Splitting stdin into messages, including oversized and unterminated lines."""

from __future__ import annotations

from app_server.transport.line_framer import LineFramer, Oversized


def test_lines_split_across_chunks_are_reassembled() -> None:
    framer = LineFramer(100)
    assert framer.feed(b'{"a":') == []
    assert framer.feed(b'1}\n{"b"') == [b'{"a":1}']
    assert framer.feed(b":2}\n") == [b'{"b":2}']


def test_several_lines_in_one_chunk_come_out_in_order() -> None:
    assert LineFramer(100).feed(b"one\ntwo\nthree\n") == [b"one", b"two", b"three"]


def test_oversized_line_is_reported_with_its_size_and_skipped() -> None:
    framer = LineFramer(10)
    events = framer.feed(b"x" * 7) + framer.feed(b"y" * 8) + framer.feed(b"z\nnext\n")
    assert events == [Oversized(16), b"next"]


def test_oversized_line_does_not_keep_its_bytes_in_memory() -> None:
    framer = LineFramer(10)
    for _ in range(100):
        framer.feed(b"x" * 1000)
    assert len(framer._buffer) == 0


def test_unterminated_last_line_counts_at_end_of_stream() -> None:
    framer = LineFramer(100)
    assert framer.feed(b"first\nlast") == [b"first"]
    assert framer.finish() == [b"last"]


def test_empty_stream_yields_nothing() -> None:
    assert LineFramer(100).finish() == []
