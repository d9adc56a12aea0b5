"""Clean-shutdown tracking in the index (`store/local/clean_runs.py`): an index-only listing may
skip the startup settling only when every earlier process ended cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app_server.store.local.clean_runs import begin_run, end_run, forget_dead_runs, new_run_key
from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.store import LocalThreadStore
from app_server.store.thread_query import ThreadQuery


async def test_a_first_start_on_an_index_is_not_a_clean_start(tmp_path: Path) -> None:
    async with await ThreadIndex.open(tmp_path) as index:
        assert await begin_run(index, new_run_key()) is False


async def test_a_start_after_a_clean_shutdown_is_clean(tmp_path: Path) -> None:
    async with await ThreadIndex.open(tmp_path) as index:
        first = new_run_key()
        await begin_run(index, first)
        await end_run(index, first)

        assert await begin_run(index, new_run_key()) is True


async def test_a_start_while_another_run_is_registered_is_not_clean(tmp_path: Path) -> None:
    async with await ThreadIndex.open(tmp_path) as index:
        await begin_run(index, new_run_key())  # never ended: running, or crashed

        assert await begin_run(index, new_run_key()) is False


async def test_a_dead_runs_key_is_forgotten_and_the_next_start_is_clean(tmp_path: Path) -> None:
    async with await ThreadIndex.open(tmp_path) as index:
        crashed, current = "run:999999999:dead", new_run_key()
        await begin_run(index, crashed)
        await begin_run(index, current)

        await forget_dead_runs(index, current, alive=lambda pid: pid != 999999999)
        await end_run(index, current)

        assert await begin_run(index, new_run_key()) is True


async def test_a_live_runs_key_is_kept(tmp_path: Path) -> None:
    async with await ThreadIndex.open(tmp_path) as index:
        other, current = new_run_key(), new_run_key()  # both of this (live) process
        await begin_run(index, other)
        await begin_run(index, current)

        await forget_dead_runs(index, current)
        await end_run(index, current)

        assert await begin_run(index, new_run_key()) is False


async def test_an_index_only_listing_after_a_clean_shutdown_does_not_wait_for_settling(
    tmp_path: Path,
) -> None:
    for _ in range(2):  # the first start registers runs, its clean close makes the next clean
        store = LocalThreadStore(tmp_path / "data")
        await store.start()
        await store.wait_until_scanned()
        await store.close()
    store = LocalThreadStore(tmp_path / "data")
    async with store._locks.names:  # the startup scan cannot settle names meanwhile
        await store.start()
        page = await asyncio.wait_for(store.list_threads(ThreadQuery(state_db_only=True)), 5)
        settling = asyncio.ensure_future(store.list_threads(ThreadQuery()))
        await asyncio.sleep(0.2)
        waited = not settling.done()
    await settling
    await store.close()

    assert list(page.records) == []
    assert waited


async def test_a_rescan_of_a_complete_index_leaves_it_complete(tmp_path: Path) -> None:
    store = LocalThreadStore(tmp_path / "data")
    await store.start()
    await store.wait_until_scanned()
    await store.close()
    store = LocalThreadStore(tmp_path / "data")
    async with store._locks.names:  # the rescan stops before it can finish
        await store.start()
        await asyncio.sleep(0.1)
        during = await store.index.backfill_state()
    await store.close()

    assert during.status == "complete"
