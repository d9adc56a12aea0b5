"""`ThreadStore.delete_tree`, for every implementation (local and memory).

What a caller observes after a delete (or a refused one): which threads can still be read,
listed, searched and written. Never how a store removes them.
"""

from __future__ import annotations

import pytest

from app_server.store.errors import ForkReferenced, ThreadNotStored, WriterBusy
from app_server.store.interface import ThreadStore
from app_server.store.thread_query import ThreadQuery
from tests.store.test_store_contract import new_thread, paginated_fork, store, stored_thread
from tests.support.homes import BASE_MS, uuid7_at

__all__ = ["store"]  # the parametrized (local, memory) store fixture


async def paginated_fork_of(store: ThreadStore, source: str, index: int) -> str:
    fork_id, writer = await paginated_fork(store, source, index)
    await writer.close()
    return fork_id


async def test_deleting_an_unknown_thread_is_refused(store: ThreadStore) -> None:
    with pytest.raises(ThreadNotStored):
        await store.delete_tree(uuid7_at(BASE_MS, 99))


async def test_a_deleted_thread_is_no_longer_read_listed_or_searched(store: ThreadStore) -> None:
    doomed = await stored_thread(store, 1, "needle here")
    kept = await stored_thread(store, 2, "needle there")

    assert await store.delete_tree(doomed) == [doomed]

    assert await store.get(doomed) is None
    with pytest.raises(ThreadNotStored):
        await store.read_history(doomed)
    with pytest.raises(ThreadNotStored):
        await store.open_writer(doomed)
    assert [r.id for r in (await store.list_threads(ThreadQuery())).records] == [kept]
    found = await store.search_threads(ThreadQuery(), "needle")
    assert [r.id for r in found.page.records] == [kept]


async def test_deleting_twice_is_refused_the_second_time(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    await store.delete_tree(thread_id)

    with pytest.raises(ThreadNotStored):
        await store.delete_tree(thread_id)


async def test_an_archived_thread_can_be_deleted(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    await store.archive(thread_id)

    assert await store.delete_tree(thread_id) == [thread_id]

    assert (await store.list_threads(ThreadQuery(archived=True))).records == ()


async def test_deleting_a_child_keeps_its_parent(store: ThreadStore) -> None:
    root = await stored_thread(store, 1)
    child = await stored_thread(store, 2, parent_thread_id=root)

    assert await store.delete_tree(child) == [child]

    assert await store.get(root) is not None


async def test_a_fork_referencing_a_descendant_refuses_the_whole_tree(store: ThreadStore) -> None:
    root = await stored_thread(store, 1)
    child = await stored_thread(store, 2, parent_thread_id=root)
    await paginated_fork_of(store, child, 3)

    with pytest.raises(ForkReferenced) as refused:
        await store.delete_tree(root)

    assert refused.value.thread_id == root  # the thread the caller asked to delete
    assert await store.get(root) is not None
    assert await store.get(child) is not None


async def test_an_attached_fork_refuses_the_delete(store: ThreadStore) -> None:
    source = await stored_thread(store, 1)
    await stored_thread(store, 2, forked_from_id=source, attached_thread=True)

    with pytest.raises(ForkReferenced):
        await store.delete_tree(source)

    assert await store.get(source) is not None


async def test_a_fork_is_deleted_with_its_source_once_inside_the_tree(store: ThreadStore) -> None:
    root = await stored_thread(store, 1)
    child = await stored_thread(store, 2, parent_thread_id=root)
    fork = await paginated_fork_of(store, root, 3)
    await store.delete_tree(fork)  # the fork goes first: nothing references the root any more

    assert await store.delete_tree(root) == [child, root]


async def test_a_thread_with_an_open_writer_is_not_deleted(store: ThreadStore) -> None:
    thread_id, writer = await new_thread(store, 1)

    with pytest.raises(WriterBusy):
        await store.delete_tree(thread_id)

    await writer.close()
    assert await store.get(thread_id) is not None
    assert await store.delete_tree(thread_id) == [thread_id]
