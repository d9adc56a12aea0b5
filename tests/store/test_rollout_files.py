"""Rollout file naming and discovery under the data dir (live/archived, plain/`.zst`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path, PurePosixPath

from app_server.store.local.rollout_files import (
    find_rollout_file,
    is_rollout_file_name,
    iter_rollout_files,
    live_rollout_relative_path,
    parse_rollout_file_name,
    plain_rollout_path,
    relative_rollout_path,
    unarchived_rollout_path,
)
from tests.store.fixture_data import fixture_threads
from tests.store.rollout_builders import write_rollout

THREAD = "01a20eeb-d4ab-7d60-be7d-402cf5f03555"
NAME = f"rollout-2026-11-24T18-57-46-{THREAD}.jsonl"


def test_new_rollout_goes_to_the_date_folder_of_its_creation_time() -> None:
    path = live_rollout_relative_path(THREAD, datetime(2026, 11, 24, 18, 57, 46))

    assert path == PurePosixPath(f"sessions/2026/11/24/{NAME}")


def test_file_name_gives_thread_id_and_timestamp() -> None:
    parsed = parse_rollout_file_name(NAME + ".zst")

    assert parsed is not None
    assert parsed.thread_id == THREAD
    assert parsed.created_at == datetime(2026, 11, 24, 18, 57, 46)
    assert parsed.compressed


def test_only_rollout_names_are_threads() -> None:
    assert is_rollout_file_name(NAME)
    assert is_rollout_file_name(NAME + ".zst")
    assert not is_rollout_file_name(NAME + ".tmp")
    assert not is_rollout_file_name(f"{NAME}.decompress.12.0.tmp")
    assert not is_rollout_file_name("session_index.jsonl")


def test_plain_path_of_a_zst_strips_the_suffix() -> None:
    assert plain_rollout_path(Path(f"/d/{NAME}.zst")) == Path(f"/d/{NAME}")
    assert plain_rollout_path(Path(f"/d/{NAME}")) == Path(f"/d/{NAME}")


def test_unarchive_target_comes_from_the_file_name(tmp_path: Path) -> None:
    assert unarchived_rollout_path(tmp_path, NAME) == tmp_path / "sessions/2026/11/24" / NAME


def test_walk_finds_every_fixture_thread_once(codex_home: Path) -> None:
    found = {rollout.thread_id: rollout for rollout in iter_rollout_files(codex_home)}

    assert set(found) == {thread["id"] for thread in fixture_threads()}
    archived = [rollout.thread_id for rollout in found.values() if rollout.archived]
    assert archived == ["01a20eeb-df7b-79e0-a00b-b3212f111f09"]


def test_walk_ignores_a_zst_whose_plain_sibling_exists(tmp_path: Path) -> None:
    write_rollout(tmp_path, THREAD, b"{}\n")
    write_rollout(tmp_path, THREAD, b"{}\n", compressed=True)

    found = list(iter_rollout_files(tmp_path))

    assert [rollout.path.name for rollout in found] == [NAME]


def test_walk_ignores_temp_and_foreign_files(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, THREAD, b"{}\n")
    (path.parent / f"rollout-compress-{THREAD}.tmp").write_bytes(b"")
    (path.parent / "notes.txt").write_bytes(b"")

    assert [rollout.thread_id for rollout in iter_rollout_files(tmp_path)] == [THREAD]


def test_find_prefers_the_plain_file_over_the_zst(tmp_path: Path) -> None:
    write_rollout(tmp_path, THREAD, b"{}\n", compressed=True)
    plain = write_rollout(tmp_path, THREAD, b"{}\n")

    found = find_rollout_file(tmp_path, THREAD)

    assert found is not None
    assert found.path == plain
    assert not found.compressed


def test_find_returns_a_compressed_rollout_with_its_plain_path(codex_home: Path) -> None:
    found = find_rollout_file(codex_home, "01a20eeb-e7ea-7ee0-8272-aee643c015b2")

    assert found is not None
    assert found.compressed
    assert relative_rollout_path(codex_home, found.path) == (
        "sessions/2026/11/24/rollout-2026-11-24T18-57-51-01a20eeb-e7ea-7ee0-8272-aee643c015b2.jsonl"
    )


def test_find_looks_in_archived_sessions(tmp_path: Path) -> None:
    write_rollout(tmp_path, THREAD, b"{}\n", archived=True)

    found = find_rollout_file(tmp_path, THREAD)

    assert found is not None
    assert found.archived
    assert relative_rollout_path(tmp_path, found.path) == f"archived_sessions/{NAME}"


def test_find_does_not_depend_on_the_date_folder(tmp_path: Path) -> None:
    odd = tmp_path / "sessions/1999/01/01"
    odd.mkdir(parents=True)
    (odd / NAME).write_bytes(b"{}\n")

    found = find_rollout_file(tmp_path, THREAD)

    assert found is not None
    assert found.path == odd / NAME


def test_find_unknown_thread_is_none(codex_home: Path) -> None:
    assert find_rollout_file(codex_home, "01a20eeb-0000-7000-8000-000000000000") is None
