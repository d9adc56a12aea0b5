"""A compression run over a data dir: marker, maintenance lock, age, live threads, stale temps."""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import sys
import time
from pathlib import Path

import pytest

from app_server.store.local.compression_worker import (
    MARKER_MAX_AGE_SECONDS,
    RUN_MARKER,
    STALE_TEMP_SECONDS,
    remove_stale_temps,
    run_compression,
)
from app_server.store.local.materialize import MAINTENANCE_LOCK
from app_server.store.local.rollout_compressor import CompressResult
from app_server.store.local.writer_lock import ThreadWriterLock
from tests.support.homes import BASE_MS, ThreadSpec, write_thread

DAY = 86_400
REPO_ROOT = Path(__file__).resolve().parents[2]


def cold_thread(
    data_dir: Path, salt: int, *, archived: bool = False, age: float = 30 * DAY
) -> Path:
    """A rollout whose mtime is `age` seconds ago; returns its plain path."""
    path = write_thread(data_dir, ThreadSpec(BASE_MS + salt * 1000, salt=salt, archived=archived))
    moment = time.time() - age
    os.utime(path, (moment, moment))
    return path


def zst_of(plain: Path) -> Path:
    return plain.with_name(plain.name + ".zst")


def write_marker(data_dir: Path, age: float) -> Path:
    marker = data_dir / RUN_MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("pid=1 started_at=2026-11-24T00:00:00Z\n")
    moment = time.time() - age
    os.utime(marker, (moment, moment))
    return marker


class Refuse:
    """`ThreadClaims` that refuses some threads (as the store does for open writers)."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.released: list[str] = []

    def try_claim(self, thread_id: str) -> bool:
        return thread_id not in self.refused

    def release(self, thread_id: str) -> None:
        self.released.append(thread_id)


async def test_cold_rollouts_in_both_roots_are_compressed(tmp_path: Path) -> None:
    live = cold_thread(tmp_path, 1)
    archived = cold_thread(tmp_path, 2, archived=True)
    report = await run_compression(tmp_path)
    assert report.compressed == 2
    assert not live.exists()
    assert zst_of(live).exists()
    assert not archived.exists()
    assert zst_of(archived).exists()


async def test_the_report_counts_files_and_bytes(tmp_path: Path) -> None:
    paths = [cold_thread(tmp_path, salt) for salt in (1, 2, 3)]
    sizes = sum(p.stat().st_size for p in paths)
    cold_thread(tmp_path, 4, age=60)
    report = await run_compression(tmp_path)
    assert (report.files_seen, report.compressed, report.skipped) == (4, 3, {"recent": 1})
    assert report.bytes_before == sizes
    assert report.bytes_after == sum(zst_of(p).stat().st_size for p in paths)
    assert report.seconds > 0


async def test_a_recently_modified_rollout_is_left_alone(tmp_path: Path) -> None:
    recent = cold_thread(tmp_path, 1, age=6 * DAY)
    report = await run_compression(tmp_path)
    assert report.skipped == {"recent": 1}
    assert recent.exists()
    assert not zst_of(recent).exists()


async def test_min_age_decides_what_is_cold(tmp_path: Path) -> None:
    hour_old = cold_thread(tmp_path, 1, age=3600)
    await run_compression(tmp_path, min_age_seconds=60)
    assert zst_of(hour_old).exists()


async def test_a_rollout_whose_writer_lock_is_held_is_skipped_as_live(tmp_path: Path) -> None:
    held = cold_thread(tmp_path, 1)
    free = cold_thread(tmp_path, 2)
    async with ThreadWriterLock(tmp_path, ThreadSpec(BASE_MS + 1000, salt=1).thread_id):
        report = await run_compression(tmp_path)
    assert report.skipped == {"live": 1}
    assert held.exists()
    assert not zst_of(held).exists()
    assert zst_of(free).exists()


async def test_a_writer_lock_held_by_another_process_skips_the_rollout(tmp_path: Path) -> None:
    held = cold_thread(tmp_path, 1)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys, time\n"
        "from pathlib import Path\n"
        "from app_server.store.local.writer_lock import ThreadWriterLock\n"
        "ThreadWriterLock(Path(sys.argv[1]), sys.argv[2]).acquire_blocking()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n",
        str(tmp_path),
        ThreadSpec(BASE_MS + 1000, salt=1).thread_id,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 20) == b"held\n"
        report = await run_compression(tmp_path)
    finally:
        holder.kill()
        await holder.wait()
    assert report.skipped == {"live": 1}
    assert held.exists()
    assert not zst_of(held).exists()


async def test_a_thread_refused_by_the_claims_is_skipped_as_live(tmp_path: Path) -> None:
    refused = cold_thread(tmp_path, 1)
    claimed = cold_thread(tmp_path, 2)
    claims = Refuse({ThreadSpec(BASE_MS + 1000, salt=1).thread_id})
    report = await run_compression(tmp_path, claims=claims)
    assert report.skipped == {"live": 1}
    assert refused.exists()
    assert zst_of(claimed).exists()
    assert claims.released == [ThreadSpec(BASE_MS + 2000, salt=2).thread_id]


async def test_an_existing_zst_is_counted_and_kept(tmp_path: Path) -> None:
    plain = cold_thread(tmp_path, 1)
    zst_of(plain).write_bytes(b"not ours")
    report = await run_compression(tmp_path)
    assert report.skipped == {"exists": 1}
    assert zst_of(plain).read_bytes() == b"not ours"
    assert plain.exists()


async def test_on_compressed_hears_of_each_compressed_thread(tmp_path: Path) -> None:
    plain = cold_thread(tmp_path, 1)
    size = plain.stat().st_size
    heard: list[tuple[str, CompressResult]] = []

    async def on_compressed(thread_id: str, result: CompressResult) -> None:
        heard.append((thread_id, result))

    await run_compression(tmp_path, on_compressed=on_compressed)
    [(thread_id, result)] = heard
    assert thread_id == ThreadSpec(BASE_MS + 1000, salt=1).thread_id
    assert result.plain_bytes == size
    assert result.compressed_bytes == zst_of(plain).stat().st_size


# -- the run marker ---------------------------------------------------------------------------
async def test_a_successful_run_leaves_its_marker(tmp_path: Path) -> None:
    await run_compression(tmp_path)
    text = (tmp_path / RUN_MARKER).read_text()
    assert re.fullmatch(rf"pid={os.getpid()} started_at=\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n", text)


async def test_a_fresh_marker_skips_the_run(tmp_path: Path) -> None:
    plain = cold_thread(tmp_path, 1)
    marker = write_marker(tmp_path, age=MARKER_MAX_AGE_SECONDS - 600)
    report = await run_compression(tmp_path)
    assert report.skipped_run == "marker"
    assert plain.exists()
    assert not zst_of(plain).exists()
    assert marker.read_text().startswith("pid=1 ")


async def test_a_stale_marker_is_replaced(tmp_path: Path) -> None:
    plain = cold_thread(tmp_path, 1)
    marker = write_marker(tmp_path, age=MARKER_MAX_AGE_SECONDS + 600)
    report = await run_compression(tmp_path)
    assert report.skipped_run is None
    assert zst_of(plain).exists()
    assert marker.read_text().startswith(f"pid={os.getpid()} ")


async def test_force_ignores_a_fresh_marker(tmp_path: Path) -> None:
    plain = cold_thread(tmp_path, 1)
    write_marker(tmp_path, age=60)
    report = await run_compression(tmp_path, force=True)
    assert report.compressed == 1
    assert zst_of(plain).exists()


async def test_a_failed_run_removes_its_marker_and_releases_the_lock(tmp_path: Path) -> None:
    cold_thread(tmp_path, 1)

    async def fail(thread_id: str, result: CompressResult) -> None:
        raise RuntimeError("index gone")

    with pytest.raises(RuntimeError, match="index gone"):
        await run_compression(tmp_path, on_compressed=fail)
    assert not (tmp_path / RUN_MARKER).exists()
    assert (await run_compression(tmp_path)).skipped_run is None


async def test_a_cancelled_run_removes_its_marker(tmp_path: Path) -> None:
    cold_thread(tmp_path, 1)
    reached = asyncio.Event()

    async def hang(thread_id: str, result: CompressResult) -> None:
        reached.set()
        await asyncio.Event().wait()

    run = asyncio.create_task(run_compression(tmp_path, on_compressed=hang))
    await asyncio.wait_for(reached.wait(), 10)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert not (tmp_path / RUN_MARKER).exists()


async def test_a_busy_maintenance_lock_skips_the_run_without_a_marker(tmp_path: Path) -> None:
    plain = cold_thread(tmp_path, 1)
    (tmp_path / MAINTENANCE_LOCK).parent.mkdir(parents=True, exist_ok=True)
    maintenance = os.open(tmp_path / MAINTENANCE_LOCK, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(maintenance, fcntl.LOCK_EX)
        report = await run_compression(tmp_path, force=True)
    finally:
        os.close(maintenance)
    assert report.skipped_run == "maintenance_busy"
    assert plain.exists()
    assert not zst_of(plain).exists()
    assert not (tmp_path / RUN_MARKER).exists()


async def test_a_run_past_its_maximum_runtime_starts_no_file(tmp_path: Path) -> None:
    plain = cold_thread(tmp_path, 1)
    report = await run_compression(tmp_path, max_runtime_seconds=0)
    assert report.timed_out
    assert plain.exists()
    assert not zst_of(plain).exists()


# -- stale temp files -------------------------------------------------------------------------
def temp_files(data_dir: Path) -> tuple[list[Path], Path]:
    """Temps in both roots (a compression's and a materialization's), and an unrelated file."""
    day = data_dir / "sessions" / "2026" / "11" / "24"
    archive = data_dir / "archived_sessions"
    day.mkdir(parents=True)
    archive.mkdir()
    temps = [day / "rollout-compress-abc.tmp", archive / "x.jsonl.decompress.1.0.tmp"]
    unrelated = day / "notes.txt"
    for path in [*temps, unrelated]:
        path.write_bytes(b"partial")
    return temps, unrelated


def test_temp_files_unchanged_for_six_hours_are_removed(tmp_path: Path) -> None:
    temps, unrelated = temp_files(tmp_path)
    removed = remove_stale_temps(tmp_path, now=time.time() + STALE_TEMP_SECONDS + 60)
    assert removed == 2
    assert not any(p.exists() for p in temps)
    assert unrelated.exists()


def test_younger_temp_files_are_kept(tmp_path: Path) -> None:
    temps, _ = temp_files(tmp_path)
    assert remove_stale_temps(tmp_path, now=time.time() + STALE_TEMP_SECONDS - 60) == 0
    assert all(p.exists() for p in temps)


def test_a_temp_carrying_an_old_rollouts_mtime_is_not_taken_for_stale(tmp_path: Path) -> None:
    """Compression and materialization copy the rollout's mtime onto their temp before
    publishing it; the sweep must not delete it under them."""
    temps, _ = temp_files(tmp_path)
    month_ago = time.time() - 30 * DAY
    for path in temps:
        os.utime(path, (month_ago, month_ago))
    assert remove_stale_temps(tmp_path, now=time.time()) == 0
    assert all(p.exists() for p in temps)


async def test_a_run_sweeps_stale_temp_files_first(tmp_path: Path) -> None:
    temps, _ = temp_files(tmp_path)
    report = await run_compression(tmp_path, clock=lambda: time.time() + STALE_TEMP_SECONDS + 60)
    assert report.stale_temps_removed == 2
    assert not any(p.exists() for p in temps)
