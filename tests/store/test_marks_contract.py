"""Read receipts, goals and metadata patches (`ThreadStore` marks), for every implementation
(local and memory).

What a caller observes: receipts follow codex's rules (`store.thread_marks`), a stale revision
is refused without changing anything, marks survive reopening the store (local), and go with
their thread when it is deleted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app_server.store.errors import ThreadNotStored
from app_server.store.interface import ThreadStore
from app_server.store.local.store import LocalThreadStore
from app_server.store.thread_marks import (
    THREAD_START,
    GoalRecord,
    MetadataPatch,
    ReadStateConflict,
)
from tests.store.test_store_contract import store, stored_thread
from tests.support.homes import BASE_MS, uuid7_at

__all__ = ["store"]  # the parametrized (local, memory) store fixture


def goal(thread_id: str, objective: str = "ship it") -> GoalRecord:
    return GoalRecord(
        thread_id=thread_id,
        goal_id="g1",
        objective=objective,
        status="paused",
        token_budget=1000,
        tokens_used=0,
        time_used_seconds=0,
        created_at_ms=BASE_MS,
        updated_at_ms=BASE_MS,
    )


async def test_an_unmarked_thread_reads_as_read_with_a_stable_revision(
    store: ThreadStore,
) -> None:
    thread_id = await stored_thread(store, 1)
    first = (await store.read_receipts([thread_id]))[thread_id]
    again = (await store.read_receipts([thread_id]))[thread_id]
    assert first.first_unread_turn is None
    assert first.revision == again.revision


async def test_a_completed_turn_becomes_the_first_unread_position(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    before = (await store.read_receipts([thread_id]))[thread_id]
    after = await store.receipt_turn_completed(thread_id, "turn-1")
    assert after.first_unread_turn == "turn-1"
    assert after.revision != before.revision


async def test_a_later_turn_keeps_the_earlier_unread_position(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    await store.receipt_turn_completed(thread_id, "turn-1")
    after = await store.receipt_turn_completed(thread_id, "turn-2")
    assert after.first_unread_turn == "turn-1"
    assert after.last_published_turn == "turn-2"


async def test_marking_read_with_the_current_revision_clears_the_position(
    store: ThreadStore,
) -> None:
    thread_id = await stored_thread(store, 1)
    current = await store.receipt_turn_completed(thread_id, "turn-1")
    marked = await store.mark_read_state(thread_id, current.revision, "read")
    assert marked.first_unread_turn is None
    assert (await store.read_receipts([thread_id]))[thread_id] == marked


async def test_marking_unread_points_at_the_thread_start(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    current = (await store.read_receipts([thread_id]))[thread_id]
    marked = await store.mark_read_state(thread_id, current.revision, "unread")
    assert marked.first_unread_turn == THREAD_START


async def test_a_stale_revision_is_refused_and_changes_nothing(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    stale = (await store.read_receipts([thread_id]))[thread_id]
    current = await store.receipt_turn_completed(thread_id, "turn-1")
    with pytest.raises(ReadStateConflict) as refused:
        await store.mark_read_state(thread_id, stale.revision, "read")
    assert refused.value.current == current
    assert (await store.read_receipts([thread_id]))[thread_id] == current


async def test_of_two_concurrent_marks_with_one_revision_one_wins(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    seen = (await store.read_receipts([thread_id]))[thread_id]
    results = await asyncio.gather(
        store.mark_read_state(thread_id, seen.revision, "read"),
        store.mark_read_state(thread_id, seen.revision, "unread"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, ReadStateConflict) for r in results) == 1


async def test_marking_a_thread_that_is_not_stored_is_refused(store: ThreadStore) -> None:
    missing = uuid7_at(BASE_MS, 99)
    with pytest.raises(ThreadNotStored):
        await store.mark_read_state(missing, f"initial:{missing}", "read")


async def test_a_goal_reads_back_until_cleared(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    assert await store.goal(thread_id) is None
    await store.put_goal(goal(thread_id))
    assert await store.goal(thread_id) == goal(thread_id)
    await store.put_goal(goal(thread_id, "ship it twice"))
    assert (await store.goal(thread_id)) == goal(thread_id, "ship it twice")
    assert await store.clear_goal(thread_id) is True
    assert await store.clear_goal(thread_id) is False
    assert await store.goal(thread_id) is None


async def test_deleting_a_thread_drops_its_marks(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    await store.put_goal(goal(thread_id))
    await store.receipt_turn_completed(thread_id, "turn-1")
    await store.delete_tree(thread_id)
    assert await store.goal(thread_id) is None
    assert (await store.read_receipts([thread_id]))[thread_id].first_unread_turn is None


async def test_local_marks_survive_reopening_the_store(tmp_path: Path) -> None:
    first = LocalThreadStore(tmp_path / "data")
    await first.start()
    thread_id = await stored_thread(first, 1)
    receipt = await first.receipt_turn_completed(thread_id, "turn-1")
    await first.put_goal(goal(thread_id))
    await first.close()
    second = LocalThreadStore(tmp_path / "data")
    await second.start()
    try:
        assert (await second.read_receipts([thread_id]))[thread_id] == receipt
        assert await second.goal(thread_id) == goal(thread_id)
    finally:
        await second.close()


async def test_metadata_patches_merge_field_by_field(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    assert await store.metadata_patches([thread_id]) == {}
    await store.patch_metadata(thread_id, MetadataPatch(git={"branch": "dev", "sha": "abc"}))
    merged = await store.patch_metadata(
        thread_id, MetadataPatch(git={"branch": None}, daybreak_enabled=True)
    )
    expected = MetadataPatch(git={"branch": None, "sha": "abc"}, daybreak_enabled=True)
    assert merged == expected
    assert await store.metadata_patches([thread_id]) == {thread_id: expected}


async def test_deleting_a_thread_drops_its_metadata_patch(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    await store.patch_metadata(thread_id, MetadataPatch(daybreak_enabled=False))
    await store.delete_tree(thread_id)
    assert await store.metadata_patches([thread_id]) == {}


async def test_a_local_metadata_patch_survives_reopening_the_store(tmp_path: Path) -> None:
    first = LocalThreadStore(tmp_path / "data")
    await first.start()
    thread_id = await stored_thread(first, 1)
    patch = MetadataPatch(git={"origin_url": "https://example.com/r.git"}, daybreak_enabled=False)
    await first.patch_metadata(thread_id, patch)
    await first.close()
    second = LocalThreadStore(tmp_path / "data")
    await second.start()
    try:
        assert await second.metadata_patches([thread_id]) == {thread_id: patch}
    finally:
        await second.close()
