"""A thread named before its rollout exists keeps the name (issue 14, defect 3).

Codex writes a thread's rollout at its first turn, but `thread/name/set` is answered at once: the
name goes to `session_index.jsonl` right away, and the thread's first index row must carry it.
Both store implementations keep this contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_server.store.interface import ThreadStore
from app_server.store.local.session_index import read_session_index
from app_server.store.local.store import LocalThreadStore
from tests.store.rollout_builders import as_stored, paginated_turn, session_meta
from tests.store.test_store_contract import store
from tests.support.homes import BASE_MS, uuid7_at

__all__ = ["store"]  # the parametrized (local, memory) store fixture

THREAD_ID = uuid7_at(BASE_MS, 1)


def first_turn() -> list[dict[str, Any]]:
    """`session_meta` and one complete turn, as the agent appends them."""
    lines = paginated_turn(THREAD_ID, uuid7_at(BASE_MS + 1, 2), 0, "hello", "ok")
    return [
        {"type": "session_meta", "payload": session_meta(THREAD_ID)},
        *({"type": line["type"], "payload": line["payload"]} for line in lines),
    ]


async def named_after_first_turn(store: ThreadStore, writer_name: str | None) -> str | None:
    writer = await store.create_writer(
        THREAD_ID, created_at_ms=BASE_MS, history_mode="paginated", name=writer_name
    )
    writer.append(as_stored(first_turn()))
    await writer.flush()
    record = await store.get(THREAD_ID)
    await writer.close()
    assert record is not None
    return record.name


async def test_name_given_before_the_thread_has_a_writer_is_carried_by_its_first_row(
    store: ThreadStore,
) -> None:
    await store.set_name(THREAD_ID, "Early", unsaved=True)

    assert await named_after_first_turn(store, "Early") == "Early"


async def test_name_given_while_the_writer_has_written_nothing_is_carried_by_its_first_row(
    store: ThreadStore,
) -> None:
    writer = await store.create_writer(THREAD_ID, created_at_ms=BASE_MS, history_mode="paginated")
    await store.set_name(THREAD_ID, "Early")
    writer.append(as_stored(first_turn()))
    await writer.flush()

    record = await store.get(THREAD_ID)
    assert record is not None
    assert record.name == "Early"
    await writer.close()


async def test_name_given_before_the_first_write_is_in_the_session_index_at_once(
    tmp_path: Path,
) -> None:
    """Answered means durable: the name line is written (and fsynced) before the rollout."""
    store = LocalThreadStore(tmp_path / "data")
    await store.start()
    try:
        await store.set_name(THREAD_ID, "Early", unsaved=True)

        assert read_session_index(tmp_path / "data")[THREAD_ID].thread_name == "Early"
    finally:
        await store.close()
