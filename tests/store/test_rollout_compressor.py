"""Compressing one cold rollout into `<name>.jsonl.zst` (STORAGE.md §6, the per-file protocol)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import zstandard

from app_server.store.local.rollout_compressor import (
    CHUNK_BYTES,
    CompressOutcome,
    CompressStep,
    compress_rollout,
)
from app_server.store.local.rollout_reader import iter_rollout_lines

NAME = "rollout-2026-11-24T18-21-10-01a20eca-5439-72a2-80c1-2fa1707de308.jsonl"
OLD_NS = 1_700_000_000_123_456_789
CONTENT = b"".join(
    b'{"timestamp":"2026-11-24T18:21:11.155Z","ordinal":%d,"type":"event_msg","payload":{}}\n' % i
    for i in range(40_000)
)  # about 3.3 MB: several compression chunks


def cold_rollout(data_dir: Path, content: bytes = CONTENT, mode: int = 0o640) -> Path:
    directory = data_dir / "sessions" / "2026" / "11" / "24"
    directory.mkdir(parents=True, exist_ok=True)
    plain = directory / NAME
    plain.write_bytes(content)
    plain.chmod(mode)
    os.utime(plain, ns=(OLD_NS, OLD_NS))
    return plain


def zst_of(plain: Path) -> Path:
    return plain.with_name(plain.name + ".zst")


def decompressed(path: Path) -> bytes:
    with path.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as reader:
        return reader.read()


def test_content_spans_several_chunks() -> None:
    assert len(CONTENT) > 3 * CHUNK_BYTES


def test_cold_file_is_replaced_by_a_byte_identical_zst(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    result = compress_rollout(plain)
    assert result.outcome is CompressOutcome.COMPRESSED
    assert not plain.exists()
    assert decompressed(zst_of(plain)) == CONTENT


def test_compression_keeps_the_mtime(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    compress_rollout(plain)
    assert zst_of(plain).stat().st_mtime_ns == OLD_NS


def test_compression_keeps_the_permission_bits(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path, mode=0o604)
    compress_rollout(plain)
    assert zst_of(plain).stat().st_mode & 0o7777 == 0o604


def test_result_reports_plain_and_compressed_sizes(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    result = compress_rollout(plain)
    assert result.plain_bytes == len(CONTENT)
    assert result.compressed_bytes == zst_of(plain).stat().st_size
    assert 0 < result.compressed_bytes < len(CONTENT) // 5
    assert result.mtime_ns == OLD_NS


def test_compression_leaves_no_temp_file(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    compress_rollout(plain)
    assert [p.name for p in plain.parent.iterdir()] == [NAME + ".zst"]


def test_compressed_rollout_reads_the_same_lines(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    before = list(iter_rollout_lines(plain))
    compress_rollout(plain)
    assert list(iter_rollout_lines(plain)) == before


def test_the_zst_path_is_accepted_too(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    assert compress_rollout(zst_of(plain)).outcome is CompressOutcome.COMPRESSED
    assert decompressed(zst_of(plain)) == CONTENT


def test_an_existing_zst_is_never_clobbered(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    zst_of(plain).write_bytes(b"someone else's zst")
    assert compress_rollout(plain).outcome is CompressOutcome.EXISTS
    assert zst_of(plain).read_bytes() == b"someone else's zst"
    assert plain.read_bytes() == CONTENT


def test_a_zst_appearing_before_publishing_is_not_clobbered(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)

    def intruder(step: CompressStep) -> None:
        if step is CompressStep.VERIFIED:
            zst_of(plain).write_bytes(b"appeared meanwhile")

    assert compress_rollout(plain, checkpoint=intruder).outcome is CompressOutcome.EXISTS
    assert zst_of(plain).read_bytes() == b"appeared meanwhile"
    assert plain.read_bytes() == CONTENT
    assert sorted(p.name for p in plain.parent.iterdir()) == [NAME, NAME + ".zst"]


def test_a_source_appended_to_before_publishing_is_kept_plain(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    extra = b'{"appended":true}\n'

    def append(step: CompressStep) -> None:
        if step is CompressStep.VERIFIED:
            with plain.open("ab") as file:
                file.write(extra)

    assert compress_rollout(plain, checkpoint=append).outcome is CompressOutcome.CHANGED
    assert plain.read_bytes() == CONTENT + extra
    assert [p.name for p in plain.parent.iterdir()] == [NAME]


def test_a_source_whose_mode_changed_before_publishing_is_kept_plain(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path, mode=0o640)

    def chmod(step: CompressStep) -> None:
        if step is CompressStep.VERIFIED:
            plain.chmod(0o600)

    assert compress_rollout(plain, checkpoint=chmod).outcome is CompressOutcome.CHANGED
    assert [p.name for p in plain.parent.iterdir()] == [NAME]


def test_a_source_changed_after_publishing_is_kept_plain_and_the_zst_removed(
    tmp_path: Path,
) -> None:
    plain = cold_rollout(tmp_path)
    extra = b'{"appended":true}\n'

    def append(step: CompressStep) -> None:
        if step is CompressStep.PUBLISHED:
            assert zst_of(plain).exists()
            with plain.open("ab") as file:
                file.write(extra)

    assert compress_rollout(plain, checkpoint=append).outcome is CompressOutcome.CHANGED
    assert plain.read_bytes() == CONTENT + extra
    assert [p.name for p in plain.parent.iterdir()] == [NAME]


def test_a_source_removed_after_publishing_takes_the_zst_with_it(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)

    def remove(step: CompressStep) -> None:
        if step is CompressStep.PUBLISHED:
            plain.unlink()

    assert compress_rollout(plain, checkpoint=remove).outcome is CompressOutcome.CHANGED
    assert list(plain.parent.iterdir()) == []


def test_a_missing_source_is_reported_missing(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    plain.unlink()
    assert compress_rollout(plain).outcome is CompressOutcome.MISSING


def test_a_stop_request_abandons_the_file_before_publishing(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path)
    stop = threading.Event()
    stop.set()
    assert compress_rollout(plain, stop=stop).outcome is CompressOutcome.STOPPED
    assert plain.read_bytes() == CONTENT
    assert [p.name for p in plain.parent.iterdir()] == [NAME]


def test_an_empty_rollout_compresses_to_an_empty_content(tmp_path: Path) -> None:
    plain = cold_rollout(tmp_path, content=b"")
    assert compress_rollout(plain).outcome is CompressOutcome.COMPRESSED
    assert decompressed(zst_of(plain)) == b""
