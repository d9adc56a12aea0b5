"""Stress: writers and the compressor on the same threads at once lose and duplicate nothing.

Each round, every thread gets a writer, numbered lines, a close, and then its mtime is set a
month back so the file is cold again and the compressor (looping concurrently with forced runs)
wants it. Whatever interleaving happens, every line written must be in the file exactly once, in
order, with gap-free ordinals, and each thread must end as exactly one of plain or `.zst`.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from app_server.ids import uuid7
from app_server.store.compression_report import CompressionReport
from app_server.store.local.compression_worker import CompressionSettings, run_compression
from app_server.store.local.rollout_files import find_rollout_file, live_rollout_path
from app_server.store.local.rollout_reader import iter_rollout_lines
from app_server.store.local.rollout_writer import RolloutWriter
from app_server.store.local.store import LocalThreadStore
from app_server.store.local.writer_lock import ThreadWriterBusy
from tests.store.rollout_builders import as_stored

THREADS = 5
ROUNDS = 30
LINES_PER_ROUND = 7
DAY = 86_400
MONTH_AGO = 30 * DAY
STORE_SETTINGS = CompressionSettings(enabled=True, min_age_seconds=DAY)


async def backdate(data_dir: Path, thread_id: str) -> None:
    """Make the file cold, then give the compressor a moment to take it before the next round."""
    rollout = find_rollout_file(data_dir, thread_id)
    assert rollout is not None
    assert not rollout.compressed, "a writer just closed it: it is plain"
    moment = time.time() - MONTH_AGO
    os.utime(rollout.path, (moment, moment))
    await asyncio.sleep(random.uniform(0, 0.01))


def numbered(round_no: int) -> list[dict[str, object]]:
    return [
        {"type": "event_msg", "payload": {"type": "note", "n": round_no * LINES_PER_ROUND + i}}
        for i in range(LINES_PER_ROUND)
    ]


async def compress_until(
    stop: asyncio.Event, run: Callable[[], Awaitable[CompressionReport]]
) -> list[CompressionReport]:
    reports: list[CompressionReport] = []
    while not stop.is_set():
        reports.append(await run())
        await asyncio.sleep(0)
    return reports


def assert_intact(data_dir: Path, thread_id: str) -> None:
    rollout = find_rollout_file(data_dir, thread_id)
    assert rollout is not None
    plain, zst = rollout.plain_path, rollout.plain_path.with_name(rollout.plain_path.name + ".zst")
    assert plain.exists() != zst.exists(), f"{thread_id}: plain={plain.exists()} zst={zst.exists()}"
    records = [record for _, record in iter_rollout_lines(rollout.path)]
    notes = [r["payload"]["n"] for r in records if r["payload"].get("type") == "note"]
    assert notes == list(range(ROUNDS * LINES_PER_ROUND)), f"{thread_id}: lines lost or doubled"
    assert [r["ordinal"] for r in records] == list(range(len(records)))


async def test_raw_writers_and_the_compressor_exclude_each_other_through_the_writer_lock(
    tmp_path: Path,
) -> None:
    """No in-process coordination here: only the flock keeps them apart (as across processes),
    so a writer that finds the compressor holding its thread retries, as a client would."""
    thread_ids = [uuid7() for _ in range(THREADS)]
    paths = {tid: live_rollout_path(tmp_path, tid, datetime.now()) for tid in thread_ids}

    async def writer_rounds(thread_id: str) -> None:
        for round_no in range(ROUNDS):
            while True:
                try:
                    writer = await RolloutWriter.open(
                        paths[thread_id],
                        data_dir=tmp_path,
                        thread_id=thread_id,
                        history_mode="paginated",
                    )
                    break
                except ThreadWriterBusy:  # the compressor holds it: retry shortly
                    await asyncio.sleep(0.001)
            writer.append(as_stored(numbered(round_no)))
            await writer.close()
            await backdate(tmp_path, thread_id)

    stop = asyncio.Event()
    compressor = asyncio.create_task(
        compress_until(stop, lambda: run_compression(tmp_path, min_age_seconds=DAY, force=True))
    )
    started = time.monotonic()
    await asyncio.gather(*(writer_rounds(tid) for tid in thread_ids))
    stop.set()
    reports = await compressor
    assert time.monotonic() - started < 20
    assert sum(r.compressed for r in reports) > 0, "the compressor never got a file"
    for thread_id in thread_ids:
        assert_intact(tmp_path, thread_id)
    assert not list(tmp_path.glob("sessions/**/*.tmp"))


async def test_store_writers_never_find_their_thread_busy_while_the_store_compresses(
    tmp_path: Path,
) -> None:
    """Through the store, a writer opening a thread being compressed waits for it instead."""
    store = LocalThreadStore(tmp_path, compression=STORE_SETTINGS)
    await store.start()
    try:
        thread_ids = [uuid7() for _ in range(THREADS)]

        async def writer_rounds(thread_id: str) -> None:
            for round_no in range(ROUNDS):
                if round_no == 0:
                    writer = await store.create_writer(
                        thread_id,
                        created_at_ms=int(time.time() * 1000),
                        history_mode="paginated",
                    )
                    writer.append(as_stored([session_meta(thread_id)]))
                else:
                    writer = await store.open_writer(thread_id)  # WriterBusy would fail the test
                writer.append(as_stored(numbered(round_no)))
                await writer.close()
                await backdate(tmp_path, thread_id)

        stop = asyncio.Event()
        compressor = asyncio.create_task(
            compress_until(stop, lambda: store.compress_cold_rollouts(force=True))
        )
        started = time.monotonic()
        await asyncio.gather(*(writer_rounds(tid) for tid in thread_ids))
        stop.set()
        reports = await compressor
        assert time.monotonic() - started < 20
        assert sum(r.compressed for r in reports) > 0, "the compressor never got a file"
        for thread_id in thread_ids:
            assert_intact(tmp_path, thread_id)
            history = await store.read_history(thread_id)
            assert history.record.rollout_path.endswith(".jsonl")
    finally:
        await store.close()


def session_meta(thread_id: str) -> dict[str, object]:
    return {
        "type": "session_meta",
        "payload": {
            "id": thread_id,
            "session_id": thread_id,
            "timestamp": "2026-11-24T18:57:46.159Z",
            "cwd": "/work",
            "originator": "tests",
            "cli_version": "0.169.0",
            "source": "vscode",
            "model_provider": "fake",
            "history_mode": "paginated",
        },
    }
