"""`storage import` / `storage export` of the PostgreSQL store: a codex home round-trips."""

from __future__ import annotations

from pathlib import Path

import zstandard

from app_server.store.postgres.transfer import export_home, import_home
from app_server.store.thread_query import ThreadQuery
from tests.store.fixture_data import fixture_threads
from tests.support.postgres import postgres_store


def plain_files(home: Path) -> dict[str, bytes]:
    """Every rollout and `session_index.jsonl` under `home`, by plain relative path, with the
    bytes it holds (a `.jsonl.zst` decompressed)."""
    files: dict[str, bytes] = {}
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.name.endswith(".sqlite") or ".sqlite-" in path.name:
            continue
        relative = path.relative_to(home).as_posix()
        data = path.read_bytes()
        if relative.endswith(".zst"):
            relative = relative.removesuffix(".zst")
            data = zstandard.ZstdDecompressor().stream_reader(data).read()
        files[relative] = data
    return files


async def test_a_codex_home_imported_and_exported_again_is_byte_identical(
    codex_home: Path, tmp_path: Path
) -> None:
    async with postgres_store() as store:
        imported = await import_home(store, codex_home)
        exported = await export_home(store, tmp_path / "out")

    assert imported.unreadable == []
    assert imported.threads == exported.threads == len(list(codex_home.rglob("rollout-*")))
    assert imported.lines == exported.lines
    assert plain_files(tmp_path / "out") == plain_files(codex_home)


async def test_importing_twice_changes_nothing_the_second_time(codex_home: Path) -> None:
    async with postgres_store() as store:
        first = await import_home(store, codex_home)
        second = await import_home(store, codex_home)
        listed = await store.list_threads(ThreadQuery(limit=100))

    assert first.threads > 0
    assert (second.threads, second.lines, second.names) == (0, 0, 0)
    assert second.present == first.threads
    assert second.conflicts == []
    assert len(listed.records) > 0


async def test_imported_threads_are_read_with_their_names(codex_home: Path) -> None:
    async with postgres_store() as store:
        await import_home(store, codex_home)
        records = {t["id"]: await store.get(t["id"]) for t in fixture_threads()}
        histories = {
            thread_id: await store.read_history(thread_id)
            for thread_id, record in records.items()
            if record is not None and not record.archived
        }

    assert all(record is not None for record in records.values())
    assert any(record.name == "Named thread" for record in records.values() if record)
    assert any(history.turns for history in histories.values())
