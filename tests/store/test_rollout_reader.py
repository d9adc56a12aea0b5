"""The streaming rollout reader: offsets, tolerance rules, `.zst`, start/end offsets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import zstandard

from app_server.store.local.rollout_reader import RolloutLineReader, iter_rollout_lines
from tests.store.fixture_data import FIXTURES

COMPRESSED = (
    "home/sessions/2026/11/24/"
    "rollout-2026-11-24T18-57-51-01a20eeb-e7ea-7ee0-8272-aee643c015b2.jsonl.zst"
)


def write(tmp_path: Path, content: bytes, name: str = "rollout-x.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_yields_each_line_with_its_byte_offset(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"a":1}\n{"b":22}\n')

    assert list(iter_rollout_lines(path)) == [(0, {"a": 1}), (8, {"b": 22})]


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"a":1}\n{"b":2')

    reader = RolloutLineReader(path)

    assert list(reader) == [(0, {"a": 1})]
    assert reader.next_offset == 8


def test_unterminated_last_line_is_ignored_even_if_it_parses(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"a":1}\n{"b":2}')

    assert list(iter_rollout_lines(path)) == [(0, {"a": 1})]


def test_garbage_middle_line_is_skipped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, b'{"a":1}\nnot json\n[1,2]\n{"b":2}\n')
    reader = RolloutLineReader(path)

    with caplog.at_level(logging.WARNING):
        records = list(reader)

    assert records == [(0, {"a": 1}), (23, {"b": 2})]
    assert reader.skipped_lines == 2
    assert "byte 8" in caplog.text


def test_empty_lines_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, b'\n{"a":1}\n\n')

    assert list(iter_rollout_lines(path)) == [(1, {"a": 1})]


def test_reading_resumes_at_a_start_offset(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"a":1}\n{"b":2}\n{"c":3}\n')

    assert list(iter_rollout_lines(path, start_offset=8)) == [(8, {"b": 2}), (16, {"c": 3})]


def test_reading_stops_at_an_end_offset(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"a":1}\n{"b":2}\n{"c":3}\n')

    assert list(iter_rollout_lines(path, end_offset=16)) == [(0, {"a": 1}), (8, {"b": 2})]


def test_a_line_crossing_the_end_offset_is_not_yielded(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"a":1}\n{"b":2}\n')

    assert list(iter_rollout_lines(path, end_offset=12)) == [(0, {"a": 1})]


def test_lines_longer_than_a_read_chunk_are_read_whole(tmp_path: Path) -> None:
    long_text = "x" * 200_000
    path = write(tmp_path, b'{"t":"' + long_text.encode() + b'"}\n{"b":2}\n')

    records = list(iter_rollout_lines(path))

    assert records[0] == (0, {"t": long_text})
    assert records[1][1] == {"b": 2}


def test_zst_reads_identically_to_the_plain_file(tmp_path: Path) -> None:
    compressed = (FIXTURES / COMPRESSED).read_bytes()
    plain = write(tmp_path, zstandard.ZstdDecompressor().decompressobj().decompress(compressed))
    zst = write(tmp_path, compressed, "rollout-y.jsonl.zst")

    assert list(iter_rollout_lines(zst)) == list(iter_rollout_lines(plain))
    assert len(list(iter_rollout_lines(zst))) == 14


def test_zst_offsets_count_decompressed_bytes(tmp_path: Path) -> None:
    content = b'{"a":1}\n{"b":2}\n{"c":3}\n'
    zst = write(tmp_path, zstandard.ZstdCompressor().compress(content), "r.jsonl.zst")

    assert list(iter_rollout_lines(zst, start_offset=8, end_offset=16)) == [(8, {"b": 2})]


def test_plain_path_of_a_compressed_rollout_reads_the_zst(tmp_path: Path) -> None:
    content = b'{"a":1}\n'
    write(tmp_path, zstandard.ZstdCompressor().compress(content), "rollout-z.jsonl.zst")

    assert list(iter_rollout_lines(tmp_path / "rollout-z.jsonl")) == [(0, {"a": 1})]


def test_plain_file_is_preferred_over_its_zst_sibling(tmp_path: Path) -> None:
    write(tmp_path, b'{"plain":true}\n', "rollout-p.jsonl")
    write(tmp_path, zstandard.ZstdCompressor().compress(b'{"zst":true}\n'), "rollout-p.jsonl.zst")

    assert list(iter_rollout_lines(tmp_path / "rollout-p.jsonl.zst")) == [(0, {"plain": True})]


def test_missing_rollout_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(iter_rollout_lines(tmp_path / "rollout-missing.jsonl"))


def test_appended_lines_are_read_from_the_previous_next_offset(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"a":1}\n{"b":')
    first = RolloutLineReader(path)
    assert list(first) == [(0, {"a": 1})]

    path.write_bytes(b'{"a":1}\n{"b":2}\n{"c":3}\n')

    assert list(iter_rollout_lines(path, start_offset=first.next_offset)) == [
        (8, {"b": 2}),
        (16, {"c": 3}),
    ]
