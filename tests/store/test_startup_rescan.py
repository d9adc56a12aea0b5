"""The startup rescan of a warm index after clean runs waits for a pause in requests, and an
index-only listing answers the index as it is (`store/local/scan_scheduler.py`, `store.py`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app_server.store.local import backfill, scan_scheduler
from app_server.store.local.store import LocalThreadStore
from app_server.store.thread_query import ThreadQuery
from tests.support.homes import BASE_MS, ThreadSpec, write_thread


async def clean_warm_store(data_dir: Path) -> LocalThreadStore:
    """A store started on a complete index that earlier processes closed cleanly."""
    for _ in range(2):  # the first start registers runs, its clean close makes the next clean
        store = LocalThreadStore(data_dir)
        await store.start()
        await store.wait_until_scanned()
        await store.close()
    store = LocalThreadStore(data_dir)
    await store.start()
    return store


def located(store: LocalThreadStore) -> bool:
    assert store._scans.reconciler is not None
    return store._scans.reconciler.located.is_set()


async def test_the_rescan_waits_while_index_only_listings_keep_coming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_scheduler, "STARTUP_RESCAN_QUIET_SECONDS", 0.5)
    store = await clean_warm_store(tmp_path / "data")
    scanned_while_busy = False
    for _ in range(10):
        await store.list_threads(ThreadQuery(state_db_only=True))
        scanned_while_busy |= located(store)
        await asyncio.sleep(0.1)
    assert store._scans.reconciler is not None
    await asyncio.wait_for(store._scans.reconciler.located.wait(), 10)
    await store.close()

    assert not scanned_while_busy


async def test_a_listing_that_repairs_rows_starts_the_deferred_rescan_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_scheduler, "STARTUP_RESCAN_QUIET_SECONDS", 60.0)
    monkeypatch.setattr(scan_scheduler, "STARTUP_RESCAN_MAX_DELAY_SECONDS", 60.0)
    store = await clean_warm_store(tmp_path / "data")

    await asyncio.wait_for(store.list_threads(ThreadQuery()), 10)
    settled = located(store)
    await store.close()

    assert settled


async def test_an_index_only_listing_answers_the_index_without_checking_files(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    spec = ThreadSpec(BASE_MS, salt=1)
    path = write_thread(data_dir, spec)
    store = await clean_warm_store(data_dir)
    path.unlink()  # behind the index's back

    index_only = await store.list_threads(ThreadQuery(state_db_only=True))
    repaired = await store.list_threads(ThreadQuery())
    await store.close()

    assert [record.id for record in index_only.records] == [spec.thread_id]
    assert list(repaired.records) == []


async def test_a_background_rescan_pauses_between_slices_while_requests_come(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    for salt in range(3):
        write_thread(data_dir, ThreadSpec(BASE_MS + salt * 1000, salt=salt))
    monkeypatch.setattr(backfill, "SCAN_SLICE_FILES", 1)  # a slice per rollout
    monkeypatch.setattr(scan_scheduler, "STARTUP_RESCAN_QUIET_SECONDS", 0.0)  # starts at once
    store = await clean_warm_store(data_dir)
    walked_while_busy = False
    for _ in range(10):
        await store.list_threads(ThreadQuery(state_db_only=True))
        walked_while_busy |= located(store)
        await asyncio.sleep(0.02)
    assert store._scans.reconciler is not None
    await asyncio.wait_for(store._scans.reconciler.located.wait(), 10)
    await store.close()

    assert not walked_while_busy
