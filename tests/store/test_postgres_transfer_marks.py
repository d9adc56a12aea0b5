"""`storage import` / `export` carry read receipts, goals and metadata patches.

A local store's data dir (marks in its index) is imported into PostgreSQL and exported again;
the local store opening the exported directory reads the same marks. Import is idempotent and
keeps a mark already stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from msgspec.structs import replace

from app_server.store.local.store import LocalThreadStore
from app_server.store.postgres.transfer import export_home, import_home
from app_server.store.postgres.transfer_marks import CODEX_STATE_DB
from app_server.store.thread_marks import GoalRecord, MetadataPatch
from tests.store.test_store_contract import stored_thread
from tests.support.homes import BASE_MS
from tests.support.postgres import postgres_store

GOAL = GoalRecord(
    thread_id="",
    goal_id="g1",
    objective="ship it",
    status="paused",
    token_budget=1000,
    tokens_used=12,
    time_used_seconds=3,
    created_at_ms=BASE_MS,
    updated_at_ms=BASE_MS + 5,
)
PATCH = MetadataPatch(git={"branch": "feature", "sha": None}, daybreak_enabled=True)


@asynccontextmanager
async def local_store(data_dir: Path) -> AsyncIterator[LocalThreadStore]:
    store = LocalThreadStore(data_dir)
    await store.start()
    await store.wait_until_scanned()
    try:
        yield store
    finally:
        await store.close()


async def home_with_marks(home: Path) -> tuple[str, str]:
    """A local data dir with two threads: the first marked unread, with a goal and a metadata
    patch; the second unmarked. Returns their ids."""
    async with local_store(home) as store:
        marked = await stored_thread(store, 1, "first")
        plain = await stored_thread(store, 2, "second")
        current = (await store.read_receipts([marked]))[marked]
        await store.mark_read_state(marked, current.revision, "unread")
        await store.put_goal(replace(GOAL, thread_id=marked))
        await store.patch_metadata(marked, PATCH)
    return marked, plain


async def test_marks_of_a_local_data_dir_are_imported(tmp_path: Path) -> None:
    marked, plain = await home_with_marks(tmp_path / "home")
    async with local_store(tmp_path / "home") as local:
        receipts = await local.read_receipts([marked, plain])
    async with postgres_store() as store:
        report = await import_home(store, tmp_path / "home")

        assert (report.marks.receipts, report.marks.goals, report.marks.patches) == (1, 1, 1)
        assert await store.read_receipts([marked, plain]) == receipts
        assert await store.goal(marked) == replace(GOAL, thread_id=marked)
        assert await store.metadata_patches([marked, plain]) == {marked: PATCH}


async def test_importing_marks_again_adds_none_and_keeps_changes_made_since(
    tmp_path: Path,
) -> None:
    marked, _ = await home_with_marks(tmp_path / "home")
    async with postgres_store() as store:
        await import_home(store, tmp_path / "home")
        current = (await store.read_receipts([marked]))[marked]
        changed = await store.mark_read_state(marked, current.revision, "read")

        again = await import_home(store, tmp_path / "home")

        assert (again.marks.receipts, again.marks.goals, again.marks.patches) == (0, 0, 0)
        assert (await store.read_receipts([marked]))[marked] == changed


async def test_exported_marks_are_read_by_the_local_store(tmp_path: Path) -> None:
    marked, plain = await home_with_marks(tmp_path / "home")
    async with postgres_store() as store:
        await import_home(store, tmp_path / "home")
        receipts = await store.read_receipts([marked, plain])
        report = await export_home(store, tmp_path / "out")

    async with local_store(tmp_path / "out") as local:
        assert (report.marks.receipts, report.marks.goals, report.marks.patches) == (1, 1, 1)
        assert await local.read_receipts([marked, plain]) == receipts
        assert await local.goal(marked) == replace(GOAL, thread_id=marked)
        assert await local.metadata_patches([marked, plain]) == {marked: PATCH}
        assert (await local.get(plain)) is not None  # the rollouts were indexed beside them


async def test_codex_read_receipts_are_imported_from_its_state_database(
    codex_home: Path,
) -> None:
    async with postgres_store() as store:
        await import_home(store, codex_home)
        listed = await store.pool.fetch("SELECT id FROM threads WHERE line_count > 0 LIMIT 1")
        thread_id = listed[0]["id"]
        with sqlite3.connect(codex_home / CODEX_STATE_DB) as db:
            db.execute(
                "CREATE TABLE thread_read_receipts (thread_id TEXT PRIMARY KEY,"
                " first_unread_turn TEXT, revision TEXT NOT NULL, last_published_turn TEXT)"
            )
            db.execute(
                "INSERT INTO thread_read_receipts VALUES (?, '', 'rev-codex', NULL)", (thread_id,)
            )
        db.close()

        report = await import_home(store, codex_home)

        receipt = (await store.read_receipts([thread_id]))[thread_id]
        assert report.marks.receipts == 1
        assert (receipt.first_unread_turn, receipt.revision) == ("", "rev-codex")


async def test_a_store_without_marks_exports_no_index(codex_home: Path, tmp_path: Path) -> None:
    async with postgres_store() as store:
        await import_home(store, codex_home)
        report = await export_home(store, tmp_path / "out")

    assert report.marks.receipts == report.marks.goals == report.marks.patches == 0
    assert list((tmp_path / "out").glob("*.sqlite")) == []
