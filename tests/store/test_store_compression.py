"""`LocalThreadStore` and cold-rollout compression: background run, forced runs, index, writers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from app_server.store.local.backfill import stamp_of
from app_server.store.local.compression_worker import RUN_MARKER, CompressionSettings
from app_server.store.local.rollout_reader import iter_rollout_lines
from app_server.store.local.store import LocalThreadStore
from app_server.store.memory import MemoryThreadStore
from tests.store.rollout_builders import as_stored
from tests.support.homes import BASE_MS, ThreadSpec, write_thread

DAY = 86_400
SPEC = ThreadSpec(BASE_MS, salt=1, turns=3)
ENABLED = CompressionSettings(enabled=True, min_age_seconds=7 * DAY)


def cold_thread(data_dir: Path, spec: ThreadSpec = SPEC) -> Path:
    path = write_thread(data_dir, spec)
    moment = time.time() - 30 * DAY
    os.utime(path, (moment, moment))
    return path


def zst_of(plain: Path) -> Path:
    return plain.with_name(plain.name + ".zst")


def fresh_marker(data_dir: Path) -> None:
    """Makes the startup run skip, so a test decides when compression happens."""
    marker = data_dir / RUN_MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("pid=1 started_at=2026-11-24T00:00:00Z\n")


@pytest.fixture
async def opened() -> AsyncIterator[list[LocalThreadStore]]:
    """Stores to close after the test."""
    stores: list[LocalThreadStore] = []
    yield stores
    for store in stores:
        await store.close()


async def start(
    opened: list[LocalThreadStore], data_dir: Path, settings: CompressionSettings | None
) -> LocalThreadStore:
    store = LocalThreadStore(data_dir, compression=settings)
    opened.append(store)
    await store.start()
    await store.wait_until_scanned()
    return store


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_an_enabled_store_compresses_cold_rollouts_in_the_background(
    tmp_path: Path, opened: list[LocalThreadStore]
) -> None:
    plain = cold_thread(tmp_path)
    await start(opened, tmp_path, ENABLED)
    await until(lambda: zst_of(plain).exists() and not plain.exists())


async def test_a_store_without_compression_settings_never_compresses(
    tmp_path: Path, opened: list[LocalThreadStore]
) -> None:
    plain = cold_thread(tmp_path)
    store = await start(opened, tmp_path, None)
    report = await store.compress_cold_rollouts(force=True)
    assert report.skipped_run == "disabled"
    assert plain.exists()
    assert not zst_of(plain).exists()
    assert not (tmp_path / RUN_MARKER).exists()


async def test_a_forced_run_compresses_despite_a_fresh_marker(
    tmp_path: Path, opened: list[LocalThreadStore]
) -> None:
    plain = cold_thread(tmp_path)
    fresh_marker(tmp_path)
    store = await start(opened, tmp_path, ENABLED)
    report = await store.compress_cold_rollouts(force=True)
    assert report.compressed == 1
    assert zst_of(plain).exists()
    assert not plain.exists()


async def test_compression_swaps_the_index_stamp_to_the_zst(
    tmp_path: Path, opened: list[LocalThreadStore]
) -> None:
    plain = cold_thread(tmp_path)
    fresh_marker(tmp_path)
    store = await start(opened, tmp_path, ENABLED)
    await store.compress_cold_rollouts(force=True)
    stamps = await store.index.stamps()
    assert stamps[SPEC.thread_id] == stamp_of(SPEC.thread_id, zst_of(plain))


async def test_a_thread_with_an_open_writer_is_not_compressed(
    tmp_path: Path, opened: list[LocalThreadStore]
) -> None:
    plain = cold_thread(tmp_path)
    fresh_marker(tmp_path)
    store = await start(opened, tmp_path, ENABLED)
    writer = await store.open_writer(SPEC.thread_id)
    try:
        report = await store.compress_cold_rollouts(force=True)
    finally:
        await writer.close()
    assert report.skipped == {"live": 1}
    assert plain.exists()
    assert not zst_of(plain).exists()


async def test_a_compressed_thread_reads_the_same(
    tmp_path: Path, opened: list[LocalThreadStore]
) -> None:
    cold_thread(tmp_path)
    fresh_marker(tmp_path)
    store = await start(opened, tmp_path, ENABLED)
    before = await store.read_history(SPEC.thread_id)
    listed_before = await store.get(SPEC.thread_id)
    await store.compress_cold_rollouts(force=True)
    after = await store.read_history(SPEC.thread_id)
    assert after.turns == before.turns
    assert await store.get(SPEC.thread_id) == listed_before
    assert after.record.rollout_path.endswith(".jsonl")


async def test_a_writer_of_a_compressed_thread_appends_to_the_restored_plain_file(
    tmp_path: Path, opened: list[LocalThreadStore]
) -> None:
    plain = cold_thread(tmp_path)
    fresh_marker(tmp_path)
    store = await start(opened, tmp_path, ENABLED)
    await store.compress_cold_rollouts(force=True)
    lines = len(list(iter_rollout_lines(plain)))
    writer = await store.open_writer(SPEC.thread_id)
    writer.append(as_stored([{"type": "event_msg", "payload": {"type": "note", "n": 1}}]))
    await writer.close()
    assert plain.exists()
    assert not zst_of(plain).exists()
    records = [record for _, record in iter_rollout_lines(plain)]
    assert len(records) == lines + 1
    assert records[-1]["payload"] == {"type": "note", "n": 1}
    assert records[-1]["ordinal"] == records[-2]["ordinal"] + 1


async def test_close_stops_the_background_run_and_lets_go_of_the_maintenance_lock(
    tmp_path: Path,
) -> None:
    for salt in range(20):
        cold_thread(tmp_path, ThreadSpec(BASE_MS + salt * 1000, salt=salt))
    store = LocalThreadStore(tmp_path, compression=ENABLED)
    await store.start()
    await store.close()
    again = LocalThreadStore(tmp_path, compression=ENABLED)
    await again.start()
    try:
        report = await again.compress_cold_rollouts(force=True)
    finally:
        await again.close()
    assert report.skipped_run is None
    assert not list(tmp_path.glob("sessions/**/*.tmp"))


async def test_the_memory_store_reports_an_empty_run() -> None:
    report = await MemoryThreadStore().compress_cold_rollouts(force=True)
    assert (report.files_seen, report.compressed, report.skipped_run) == (0, 0, None)
