"""Read-your-writes has one owner: `ThreadManager.reads` (`app_server/threads/stored_reads.py`)."""

from __future__ import annotations

import re
from pathlib import Path

from app_server.store.memory import MemoryThreadStore
from app_server.store.turn_pages import TurnPageRequest
from app_server.threads.stored_reads import StoredReads
from tests.store.rollout_builders import as_stored
from tests.store.test_store_contract import meta, turn
from tests.support.homes import BASE_MS, uuid7_at

APP = Path(__file__).resolve().parents[2] / "app_server"
HISTORY_READ = re.compile(r"\bstore\.(read_history|turn_page|model_history|copy_lines)\(")


def test_no_history_read_bypasses_stored_reads() -> None:
    """A read that skips the flush would answer with stale history."""
    offenders = [
        f"{path.relative_to(APP)}:{number}"
        for path in sorted(APP.rglob("*.py"))
        if "store" not in path.relative_to(APP).parts[:1] and path.name != "stored_reads.py"
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if HISTORY_READ.search(text)
    ]
    assert offenders == []


async def test_reads_include_lines_the_live_writer_has_only_queued() -> None:
    store = MemoryThreadStore()
    await store.start()
    thread_id = uuid7_at(BASE_MS, 1)
    writer = await store.create_writer(thread_id, created_at_ms=BASE_MS, history_mode="paginated")
    writer.append(as_stored([meta(thread_id), *turn(thread_id, 1, "one")]))
    await writer.flush()
    writer.append(as_stored(turn(thread_id, 2, "two")))  # queued, not flushed
    reads = StoredReads(store, lambda wanted: writer if wanted == thread_id else None)

    history = await reads.read_history(thread_id)
    page = await reads.turn_page(thread_id, TurnPageRequest())

    assert len(history.turns) == 2
    assert len(page.data) == 2
    await writer.close()
