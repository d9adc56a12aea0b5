"""`ThreadIndex` rows: who may change a thread's name and its location.

A fold of the rollout (scan, read repair, a writer's flush) rewrites a row's content, but the name
mirrors `session_index.jsonl` and the location follows the file's moves: a fold that read either
a moment earlier must not write it back over a rename or an archive (issue 14, defect 4).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app_server.store.local.index_db import RowLocation, ThreadIndex
from tests.store.thread_record_factory import make_record, thread_id

ARCHIVED_PATH = "archived_sessions/rollout-2026-11-24T18-57-46-x.jsonl"


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[ThreadIndex]:
    opened = await ThreadIndex.open(tmp_path)
    yield opened
    await opened.close()


async def test_upsert_of_an_existing_row_keeps_its_name(index: ThreadIndex) -> None:
    await index.upsert([make_record(1, name="Old")])
    await index.set_name(thread_id(1), "Renamed")

    await index.upsert([make_record(1, name="Old", preview="newer")])

    assert await index.get(thread_id(1)) == make_record(1, name="Renamed", preview="newer")


async def test_upsert_keeping_the_location_leaves_an_archived_row_archived(
    index: ThreadIndex,
) -> None:
    await index.upsert([make_record(1)])
    await index.set_archived(thread_id(1), True, 42, ARCHIVED_PATH)

    await index.upsert([make_record(1, preview="late flush")], keep_location=True)

    assert await index.get(thread_id(1)) == make_record(
        1, preview="late flush", archived=True, archived_at_ms=42, rollout_path=ARCHIVED_PATH
    )


async def test_sync_names_makes_every_name_what_the_session_index_says(
    index: ThreadIndex,
) -> None:
    await index.upsert([make_record(1, name="stale"), make_record(2, name="gone"), make_record(3)])

    changed = await index.sync_names({thread_id(1): "fresh", thread_id(3): "new"})

    names = [(await index.get(thread_id(n))) for n in (1, 2, 3)]
    assert [record.name if record else "missing" for record in names] == ["fresh", None, "new"]
    assert changed == 3


async def test_locations_say_where_each_row_puts_its_file(index: ThreadIndex) -> None:
    await index.upsert([make_record(1), make_record(2)])
    await index.set_archived(thread_id(2), True, 42, ARCHIVED_PATH)

    assert await index.locations() == {
        thread_id(1): RowLocation(make_record(1).rollout_path, False),
        thread_id(2): RowLocation(ARCHIVED_PATH, True),
    }
