"""Deleting a tree removes thread by thread: an interruption leaves each one whole or gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_server.store.interface import WriterBusy
from app_server.store.local.store import LocalThreadStore
from app_server.store.local.writer_lock import ThreadWriterLock
from tests.support.homes import BASE_MS, ThreadSpec, write_thread


async def test_interrupted_delete_leaves_every_thread_whole_or_gone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    root = ThreadSpec(BASE_MS, salt=1)
    child = ThreadSpec(BASE_MS + 10, salt=2, parent=root.thread_id)
    grandchild = ThreadSpec(BASE_MS + 20, salt=3, parent=child.thread_id, archived=True)
    for spec in (root, child, grandchild):
        write_thread(data, spec)
    store = LocalThreadStore(data)
    await store.start()
    await store.wait_until_scanned()
    # Another writer holds the child: the delete stops midway, as a crash would.
    async with ThreadWriterLock(data, child.thread_id):
        with pytest.raises(WriterBusy):
            await store.delete_tree(root.thread_id)
    assert await store.get(grandchild.thread_id) is None  # deepest first: already gone
    for whole in (root, child):
        history = await store.read_history(whole.thread_id)
        assert len(history.turns) == 1
    assert sorted(await store.delete_tree(root.thread_id)) == sorted(
        [root.thread_id, child.thread_id]
    )
    await store.close()


async def test_a_delete_right_after_start_reaches_children_the_scan_has_not_indexed_yet(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    root = ThreadSpec(BASE_MS, salt=1)
    child = ThreadSpec(BASE_MS + 10, salt=2, parent=root.thread_id)
    grandchild = ThreadSpec(BASE_MS + 20, salt=3, parent=child.thread_id)
    for spec in (root, child, grandchild):
        write_thread(data, spec)
    for index in range(300):  # enough other threads that the first scan is still running
        write_thread(data, ThreadSpec(BASE_MS + 1000 + index, salt=1000 + index))
    store = LocalThreadStore(data)
    await store.start()  # no wait for the scan: the delete is the first request
    deleted = await store.delete_tree(root.thread_id)
    assert sorted(deleted) == sorted([root.thread_id, child.thread_id, grandchild.thread_id])
    for gone in (root, child, grandchild):
        assert await store.get(gone.thread_id) is None
    await store.close()
