"""Restoring a compressed rollout (`.jsonl.zst`) to its plain `.jsonl` before appending."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import zstandard

from app_server.store.local.materialize import (
    MAINTENANCE_LOCK,
    MaterializeOutcome,
    _rename_no_clobber,
    materialize_rollout,
)

NAME = "rollout-2026-11-24T18-21-10-01a20eca-5439-72a2-80c1-2fa1707de308.jsonl"
CONTENT = b"".join(
    b'{"timestamp":"2026-11-24T18:21:11.155Z","ordinal":%d,"type":"event_msg","payload":{}}\n' % i
    for i in range(2000)
)


def _day_dir(data_dir: Path) -> Path:
    directory = data_dir / "sessions" / "2026" / "11" / "24"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _compressed(data_dir: Path, content: bytes = CONTENT, mode: int = 0o640) -> Path:
    """Write `<name>.jsonl.zst` only; returns the plain path."""
    plain = _day_dir(data_dir) / NAME
    zst = plain.with_name(NAME + ".zst")
    zst.write_bytes(zstandard.ZstdCompressor(level=3).compress(content))
    zst.chmod(mode)
    os.utime(zst, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    return plain


async def test_materialize_restores_byte_identical_content(tmp_path: Path) -> None:
    plain = _compressed(tmp_path)
    assert await materialize_rollout(plain, data_dir=tmp_path) is MaterializeOutcome.RESTORED
    assert plain.read_bytes() == CONTENT


async def test_materialize_keeps_the_permissions_of_the_zst(tmp_path: Path) -> None:
    plain = _compressed(tmp_path, mode=0o604)
    await materialize_rollout(plain, data_dir=tmp_path)
    assert plain.stat().st_mode & 0o7777 == 0o604


async def test_materialize_keeps_the_mtime_of_the_zst(tmp_path: Path) -> None:
    plain = _compressed(tmp_path)
    await materialize_rollout(plain, data_dir=tmp_path)
    assert plain.stat().st_mtime_ns == 1_700_000_000_000_000_000


async def test_materialize_removes_the_zst_and_leaves_no_temp_files(tmp_path: Path) -> None:
    plain = _compressed(tmp_path)
    await materialize_rollout(plain, data_dir=tmp_path)
    assert sorted(p.name for p in plain.parent.iterdir()) == [NAME]


async def test_materialize_accepts_the_zst_path(tmp_path: Path) -> None:
    plain = _compressed(tmp_path)
    zst = plain.with_name(NAME + ".zst")
    assert await materialize_rollout(zst, data_dir=tmp_path) is MaterializeOutcome.RESTORED
    assert plain.read_bytes() == CONTENT


async def test_materialize_reads_multi_frame_zst(tmp_path: Path) -> None:
    plain = _day_dir(tmp_path) / NAME
    half = len(CONTENT) // 2
    compressor = zstandard.ZstdCompressor()
    frames = compressor.compress(CONTENT[:half]) + compressor.compress(CONTENT[half:])
    plain.with_name(NAME + ".zst").write_bytes(frames)
    await materialize_rollout(plain, data_dir=tmp_path)
    assert plain.read_bytes() == CONTENT


async def test_materialize_of_a_missing_rollout_reports_absent(tmp_path: Path) -> None:
    plain = _day_dir(tmp_path) / NAME
    assert await materialize_rollout(plain, data_dir=tmp_path) is MaterializeOutcome.ABSENT
    assert list(plain.parent.iterdir()) == []


async def test_existing_plain_file_is_used_as_is(tmp_path: Path) -> None:
    plain = _day_dir(tmp_path) / NAME
    plain.write_bytes(CONTENT)
    assert await materialize_rollout(plain, data_dir=tmp_path) is MaterializeOutcome.PLAIN
    assert plain.read_bytes() == CONTENT


async def test_zst_whose_content_differs_from_the_plain_file_is_kept(tmp_path: Path) -> None:
    plain = _compressed(tmp_path, content=b'{"other":1}\n')
    plain.write_bytes(CONTENT)
    assert await materialize_rollout(plain, data_dir=tmp_path) is MaterializeOutcome.PLAIN
    assert plain.with_name(NAME + ".zst").exists()
    assert plain.read_bytes() == CONTENT


async def test_zst_contained_in_the_plain_file_is_removed(tmp_path: Path) -> None:
    plain = _compressed(tmp_path)
    plain.write_bytes(CONTENT + b'{"appended":true}\n')
    assert await materialize_rollout(plain, data_dir=tmp_path) is MaterializeOutcome.PLAIN
    assert not plain.with_name(NAME + ".zst").exists()


async def test_identical_zst_is_kept_while_a_maintenance_run_holds_its_lock(
    tmp_path: Path,
) -> None:
    plain = _compressed(tmp_path)
    plain.write_bytes(CONTENT)
    (tmp_path / MAINTENANCE_LOCK).parent.mkdir(parents=True)
    maintenance = os.open(tmp_path / MAINTENANCE_LOCK, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(maintenance, fcntl.LOCK_EX)
        await materialize_rollout(plain, data_dir=tmp_path)
    finally:
        os.close(maintenance)
    assert plain.with_name(NAME + ".zst").exists()


async def test_identical_zst_is_kept_without_a_data_dir(tmp_path: Path) -> None:
    plain = _compressed(tmp_path)
    plain.write_bytes(CONTENT)
    await materialize_rollout(plain)
    assert plain.with_name(NAME + ".zst").exists()


def test_no_clobber_rename_refuses_an_existing_target(tmp_path: Path) -> None:
    source = tmp_path / "source"
    target = tmp_path / "target"
    source.write_bytes(b"new")
    target.write_bytes(b"old")
    assert _rename_no_clobber(source, target) is False
    assert (source.read_bytes(), target.read_bytes()) == (b"new", b"old")


def test_no_clobber_rename_moves_to_a_free_name(tmp_path: Path) -> None:
    source = tmp_path / "source"
    target = tmp_path / "target"
    source.write_bytes(b"new")
    assert _rename_no_clobber(source, target) is True
    assert not source.exists()
    assert target.read_bytes() == b"new"
