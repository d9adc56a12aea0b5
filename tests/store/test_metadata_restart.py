"""After a crash, archive state and names come from the files, decided before any listing.

The rollout files and `session_index.jsonl` are the truth, the SQLite index a cache. A kill can
land between the file change (a rename keeps size and mtime; a name line is appended and fsynced)
and the index update; the next start must serve the files' state from its first listing on, and
that state must not change later by itself (issue 14, defect 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from app_server.store.local import backfill
from app_server.store.local.rollout_files import RolloutFile, iter_rollout_files
from app_server.store.local.session_index import append_thread_name, read_session_index
from app_server.store.local.store import LocalThreadStore
from app_server.store.thread_query import ThreadQuery
from tests.store.rollout_builders import encode, event, line
from tests.support.homes import BASE_MS, ThreadSpec, write_thread

HOOK_WAIT_SECONDS = 0.5
"""How long a hook that interleaves a concurrent operation waits for it to finish: a fixed
store makes that operation wait for the hooked one (then the hook gives up and goes on)."""

ARCHIVE_TIMEOUT_SECONDS = 10.0
"""Upper bound for an archive run from inside a hook (it takes milliseconds)."""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


async def warm_index(data_dir: Path) -> None:
    """Index the data dir once, as a previous run of the server did."""
    store = LocalThreadStore(data_dir)
    await store.start()
    await store.wait_until_scanned()
    await store.close()


@pytest.fixture
async def restart(data_dir: Path) -> AsyncIterator[Callable[[], Any]]:
    """Start a store over the (warm) data dir, as the server does after a crash; closed after."""
    stores: list[LocalThreadStore] = []

    async def start() -> LocalThreadStore:
        store = LocalThreadStore(data_dir)
        await store.start()
        stores.append(store)
        return store

    yield start
    for store in stores:
        await store.close()


async def listed_ids(store: LocalThreadStore, *, archived: bool) -> list[str]:
    page = await store.list_threads(ThreadQuery(archived=archived))
    return [record.id for record in page.records]


def move(path: Path, directory: Path) -> Path:
    """Rename a rollout as archive/unarchive do (size and mtime unchanged)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / path.name
    os.rename(path, target)
    return target


def append_unknown_line(path: Path) -> None:
    """Append a line (as another program would): the file's stamp changes, the scan refolds."""
    with path.open("ab") as handle:
        handle.write(encode([line("event_msg", event("not_a_known_event"), 99)]))


async def test_rollout_moved_to_the_archive_behind_a_live_row_is_listed_archived_after_restart(
    data_dir: Path, restart: Callable[[], Any]
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = write_thread(data_dir, spec)
    await warm_index(data_dir)
    move(path, data_dir / "archived_sessions")  # killed before the index row was updated

    store = await restart()

    assert await listed_ids(store, archived=False) == []
    assert await listed_ids(store, archived=True) == [spec.thread_id]


async def test_rollout_moved_back_behind_an_archived_row_is_listed_live_after_restart(
    data_dir: Path, restart: Callable[[], Any]
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1, archived=True)
    path = write_thread(data_dir, spec)
    await warm_index(data_dir)
    move(path, data_dir / "sessions" / "2026" / "11" / "24")  # killed mid-unarchive

    store = await restart()

    assert await listed_ids(store, archived=True) == []
    assert await listed_ids(store, archived=False) == [spec.thread_id]


async def test_name_appended_whose_index_update_was_lost_is_shown_after_restart(
    data_dir: Path, restart: Callable[[], Any]
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(data_dir, spec)
    append_thread_name(data_dir, spec.thread_id, "Old")
    await warm_index(data_dir)
    append_thread_name(data_dir, spec.thread_id, "New")  # killed before the index update

    store = await restart()

    (record,) = (await store.list_threads(ThreadQuery())).records
    assert record.name == "New"


async def test_name_shown_after_restart_does_not_change_with_a_later_scan(
    data_dir: Path, restart: Callable[[], Any]
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = write_thread(data_dir, spec)
    append_thread_name(data_dir, spec.thread_id, "Old")
    await warm_index(data_dir)
    append_thread_name(data_dir, spec.thread_id, "New")
    store = await restart()
    before = (await store.list_threads(ThreadQuery())).records[0].name

    await finish_scan(store)
    append_unknown_line(path)  # the next scan refolds the rollout
    await rescan(store)

    after = (await store.list_threads(ThreadQuery())).records[0].name
    assert (before, after) == ("New", "New")


async def test_scan_that_folded_a_rollout_before_it_was_archived_keeps_it_archived(
    data_dir: Path, restart: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = write_thread(data_dir, spec)
    await warm_index(data_dir)
    append_unknown_line(path)  # the startup scan refolds it
    loop = asyncio.get_running_loop()
    stores: list[LocalThreadStore] = []
    fold_records = backfill.fold_records

    def fold_then_archive(*args: Any) -> Any:
        folded = fold_records(*args)
        archive = asyncio.run_coroutine_threadsafe(stores[0].archive(spec.thread_id), loop)
        archive.result(timeout=ARCHIVE_TIMEOUT_SECONDS)
        return folded

    monkeypatch.setattr(backfill, "fold_records", fold_then_archive)
    store = await restart()
    stores.append(store)  # before the startup scan's first step
    await finish_scan(store)

    assert await listed_ids(store, archived=False) == []
    assert await listed_ids(store, archived=True) == [spec.thread_id]


async def test_scan_whose_walk_missed_a_moving_rollout_keeps_its_row(
    data_dir: Path, restart: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sessions/` is walked before `archived_sessions/`: a file unarchived between the two
    walks is in neither listing, yet it still exists."""
    spec = ThreadSpec(BASE_MS, salt=1, archived=True)
    write_thread(data_dir, spec)
    await warm_index(data_dir)
    walks: list[Path] = []

    def walk_missing_it_once(root: Path) -> Iterator[RolloutFile]:
        walks.append(root)
        for rollout in iter_rollout_files(root):
            if len(walks) > 1 or rollout.thread_id != spec.thread_id:
                yield rollout

    monkeypatch.setattr(backfill, "iter_rollout_files", walk_missing_it_once)

    store = await restart()
    await finish_scan(store)

    assert await listed_ids(store, archived=True) == [spec.thread_id]


async def test_scan_that_read_the_names_before_a_rename_keeps_the_new_name(
    data_dir: Path, restart: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = write_thread(data_dir, spec)
    append_thread_name(data_dir, spec.thread_id, "Old")
    await warm_index(data_dir)
    append_unknown_line(path)  # the startup scan refolds it, with the names it read
    loop = asyncio.get_running_loop()
    stores: list[LocalThreadStore] = []
    renames: list[Future[None]] = []

    def read_then_rename(root: Path) -> Any:
        names = read_session_index(root)
        if stores and not renames:
            rename = stores[0].set_name(spec.thread_id, "New")
            renames.append(asyncio.run_coroutine_threadsafe(rename, loop))
            wait_a_moment(renames[0])
        return names

    monkeypatch.setattr(backfill, "read_session_index", read_then_rename)
    store = await restart()
    stores.append(store)  # before the startup scan's first step
    await finish_scan(store)
    await asyncio.wrap_future(renames[0])

    record = await store.index.get(spec.thread_id)
    assert record is not None
    assert record.name == "New"


def wait_a_moment(operation: Future[None]) -> None:
    """Let a concurrent operation finish before the hooked step goes on; a store that makes it
    wait for the hooked step instead is right too (the hook then gives up waiting)."""
    with contextlib.suppress(TimeoutError):
        operation.result(timeout=HOOK_WAIT_SECONDS)


async def finish_scan(store: LocalThreadStore) -> None:
    """Wait for the scan started at `start` (a warm index does not make listings wait for it)."""
    task = store._scans.task
    assert task is not None
    await task


async def rescan(store: LocalThreadStore) -> None:
    """One more reconciliation scan, as a listing triggers now and then."""
    reconciler = store._scans.reconciler
    assert reconciler is not None
    await reconciler.scan()
