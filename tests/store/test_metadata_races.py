"""Archive, unarchive and names against everything else the local store does at the same time.

Listings repair rows whose file moved, reads re-index files the index does not know, writers
update their thread's row after every flush: none of them may write back a location or a name
that an archive, an unarchive or a rename has replaced meanwhile (issue 14, defect 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from app_server.store.interface import ThreadNotStored
from app_server.store.local import thread_locator
from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.indexed_writer import IndexedThreadWriter
from app_server.store.local.rollout_files import find_rollout_file
from app_server.store.local.rollout_writer import RolloutWriter
from app_server.store.local.session_index import read_session_index
from app_server.store.local.store import LocalThreadStore
from app_server.store.thread_query import ThreadQuery
from tests.store.rollout_builders import as_stored, paginated_turn, session_meta
from tests.support.homes import BASE_MS, ThreadSpec, uuid7_at, write_thread

HOOK_WAIT_SECONDS = 0.5
"""How long a hook that interleaves a concurrent operation waits for it to finish: a fixed
store makes that operation wait for the hooked one (then the hook gives up and goes on)."""

STEP_TIMEOUT_SECONDS = 10.0
"""Upper bound for one awaited step of a test (each takes milliseconds)."""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def store(data_dir: Path) -> AsyncIterator[LocalThreadStore]:
    local = LocalThreadStore(data_dir)
    await local.start()
    await local.wait_until_scanned()
    yield local
    await local.close()


def move(path: Path, directory: Path) -> Path:
    """Rename a rollout as codex's archive/unarchive does, behind our store's back."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / path.name
    os.rename(path, target)
    return target


async def stored(store: LocalThreadStore, spec: ThreadSpec, data_dir: Path) -> Path:
    """A thread written by another program and indexed by the store."""
    path = write_thread(data_dir, spec)
    assert await store.get(spec.thread_id) is not None
    return path


def turn_lines(thread_id: str, turn: int) -> list[dict[str, Any]]:
    """One complete turn as the agent appends it (the writer adds the envelope)."""
    lines = paginated_turn(thread_id, uuid7_at(BASE_MS + turn, turn), 0, f"turn {turn}", "ok")
    return [{"type": line["type"], "payload": line["payload"]} for line in lines]


async def written_thread(store: LocalThreadStore, salt: int) -> tuple[str, IndexedThreadWriter]:
    """A thread this store writes: its first turn flushed, its writer still open."""
    thread_id = uuid7_at(BASE_MS, salt)
    writer = await store.create_writer(thread_id, created_at_ms=BASE_MS, history_mode="paginated")
    writer.append(as_stored([{"type": "session_meta", "payload": session_meta(thread_id)}]))
    writer.append(as_stored(turn_lines(thread_id, 1)))
    await writer.flush()
    return thread_id, writer


class HeldIndexGet:
    """Holds the next `ThreadIndex.get` once it has read the row, until released: a writer
    that read its row and has not written it back yet."""

    def __init__(self, index: ThreadIndex, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self._armed = True
        self._get = index.get
        monkeypatch.setattr(index, "get", self._held_get)

    async def _held_get(self, thread_id: str) -> Any:
        row = await self._get(thread_id)
        if self._armed:
            self._armed = False
            self.reached.set()
            await self.release.wait()
        return row


def noted(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> asyncio.Event:
    """An event set after each completed call of the async method `owner.name`."""
    done = asyncio.Event()
    method: Callable[..., Awaitable[Any]] = getattr(owner, name)

    async def call(*args: Any, **kwargs: Any) -> Any:
        result = await method(*args, **kwargs)
        done.set()
        return result

    monkeypatch.setattr(owner, name, call)
    return done


def wait_a_moment(operation: Future[Any]) -> None:
    """Let a concurrent operation finish before the hooked step goes on; a store that makes it
    wait for the hooked step instead is right too (the hook then gives up waiting)."""
    with contextlib.suppress(TimeoutError):
        operation.result(timeout=HOOK_WAIT_SECONDS)


async def listed_ids(store: LocalThreadStore, *, archived: bool) -> list[str]:
    page = await store.list_threads(ThreadQuery(archived=archived))
    return [record.id for record in page.records]


async def test_listing_never_returns_a_row_whose_file_moved_to_the_other_side(
    store: LocalThreadStore, data_dir: Path
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = await stored(store, spec, data_dir)
    move(path, data_dir / "archived_sessions")

    assert await listed_ids(store, archived=False) == []
    assert await listed_ids(store, archived=True) == [spec.thread_id]


async def test_listing_repair_racing_an_unarchive_leaves_the_thread_live(
    store: LocalThreadStore, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = await stored(store, spec, data_dir)
    move(path, data_dir / "archived_sessions")  # the listing repairs the row
    loop = asyncio.get_running_loop()
    unarchives: list[Future[Any]] = []

    def find_then_unarchive(root: Path, thread_id: str) -> Any:
        found = find_rollout_file(root, thread_id)
        if not unarchives:  # the listing's repair: a client unarchives the thread meanwhile
            unarchives.append(asyncio.run_coroutine_threadsafe(store.unarchive(thread_id), loop))
            wait_a_moment(unarchives[0])
        return found

    monkeypatch.setattr(thread_locator, "find_rollout_file", find_then_unarchive)
    await store.list_threads(ThreadQuery())
    await asyncio.wait_for(asyncio.wrap_future(unarchives[0]), STEP_TIMEOUT_SECONDS)

    record = await store.index.get(spec.thread_id)
    assert record is not None
    assert (record.archived, (data_dir / record.rollout_path).exists()) == (False, True)


async def test_read_repair_racing_an_archive_leaves_the_thread_archived(
    store: LocalThreadStore, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1, archived=True)
    path = await stored(store, spec, data_dir)
    move(path, data_dir / "sessions" / "2026" / "11" / "24")  # `get` re-indexes it
    archives: list[asyncio.Task[Any]] = []

    def archive_first(write: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def write_after_archive(*args: Any, **kwargs: Any) -> Any:
            if not archives:  # the repair found the file: a client archives it meanwhile
                archives.append(asyncio.ensure_future(store.archive(spec.thread_id)))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(archives[0]), HOOK_WAIT_SECONDS)
            return await write(*args, **kwargs)

        return write_after_archive

    for method in ("upsert", "set_archived"):  # whichever writes the repaired row
        monkeypatch.setattr(store.index, method, archive_first(getattr(store.index, method)))
    await store.get(spec.thread_id)
    await asyncio.wait_for(archives[0], STEP_TIMEOUT_SECONDS)

    record = await store.index.get(spec.thread_id)
    assert record is not None
    assert (record.archived, (data_dir / record.rollout_path).exists()) == (True, True)


async def test_writer_index_update_landing_after_an_archive_keeps_the_thread_archived(
    store: LocalThreadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancelled `close` releases the thread while its index update still runs (it must
    finish, see `IndexedThreadWriter._update_index`): an archive can go first."""
    thread_id, writer = await written_thread(store, 1)
    writer.append(as_stored(turn_lines(thread_id, 2)))
    held = HeldIndexGet(store.index, monkeypatch)
    upserted = noted(monkeypatch, store.index, "upsert")
    closing = asyncio.create_task(writer.close())
    await asyncio.wait_for(held.reached.wait(), STEP_TIMEOUT_SECONDS)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing

    await store.archive(thread_id)
    upserted.clear()
    held.release.set()
    await asyncio.wait_for(upserted.wait(), STEP_TIMEOUT_SECONDS)

    assert await listed_ids(store, archived=False) == []
    assert await listed_ids(store, archived=True) == [thread_id]


async def test_rename_while_a_writer_updates_the_index_keeps_the_new_name(
    store: LocalThreadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id, writer = await written_thread(store, 1)
    writer.append(as_stored(turn_lines(thread_id, 2)))
    held = HeldIndexGet(store.index, monkeypatch)
    flushing = asyncio.create_task(writer.flush())
    await asyncio.wait_for(held.reached.wait(), STEP_TIMEOUT_SECONDS)

    await store.set_name(thread_id, "Renamed")
    held.release.set()
    await flushing

    record = await store.get(thread_id)
    assert record is not None
    assert record.name == "Renamed"
    await writer.close()


async def test_writer_for_a_thread_that_already_has_a_rollout_is_refused(
    store: LocalThreadStore, data_dir: Path
) -> None:
    """A new-thread writer over an archived thread would start a second, live rollout."""
    spec = ThreadSpec(BASE_MS, salt=1)
    await stored(store, spec, data_dir)
    await store.archive(spec.thread_id)

    with pytest.raises(FileExistsError):
        await store.create_writer(
            spec.thread_id, created_at_ms=spec.created_ms, history_mode="paginated"
        )
    assert list((data_dir / "sessions").rglob("rollout-*")) == []


async def test_resume_whose_rollout_was_archived_meanwhile_is_refused_and_creates_nothing(
    store: LocalThreadStore, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = await stored(store, spec, data_dir)
    open_writer = RolloutWriter.open

    async def archived_first(rollout: Path, **kwargs: Any) -> RolloutWriter:
        move(path, data_dir / "archived_sessions")  # the archive took the lock first
        return await open_writer(rollout, **kwargs)

    monkeypatch.setattr(RolloutWriter, "open", archived_first)

    with pytest.raises(ThreadNotStored):
        await store.open_writer(spec.thread_id)
    assert list((data_dir / "sessions").rglob("rollout-*")) == []


async def test_rename_during_a_deletes_session_index_rewrite_is_not_lost(
    store: LocalThreadStore, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`thread/delete` rewrites `session_index.jsonl` (read, write a temp file, rename): a
    name appended in between would vanish with the old file, and the next start would show
    the name before it."""
    doomed, kept = ThreadSpec(BASE_MS, salt=1), ThreadSpec(BASE_MS + 1000, salt=2)
    for spec in (doomed, kept):
        await stored(store, spec, data_dir)
        await store.set_name(spec.thread_id, "Old")
    loop = asyncio.get_running_loop()
    renames: list[Future[Any]] = []
    mkstemp = tempfile.mkstemp

    def rename_then_mkstemp(*args: Any, **kwargs: Any) -> Any:
        if not renames:  # the rewrite has read the file: a client renames the other thread
            renames.append(
                asyncio.run_coroutine_threadsafe(store.set_name(kept.thread_id, "New"), loop)
            )
            wait_a_moment(renames[0])
        return mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", rename_then_mkstemp)
    await store.delete_tree(doomed.thread_id)
    await asyncio.wait_for(asyncio.wrap_future(renames[0]), STEP_TIMEOUT_SECONDS)

    names = read_session_index(data_dir)
    assert {thread_id: entry.thread_name for thread_id, entry in names.items()} == {
        kept.thread_id: "New"
    }
