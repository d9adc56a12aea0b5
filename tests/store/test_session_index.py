"""`session_index.jsonl`: latest name per id, tolerance, appends and atomic rewrites."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from app_server.store.local.session_index import (
    SESSION_INDEX_FILE,
    append_thread_name,
    format_updated_at,
    read_session_index,
    rewrite_session_index_without,
    thread_name,
)

NAMED = "01a20eeb-dff1-7303-aac6-b45280ec8887"
A = "01a20eeb-0000-7000-8000-00000000000a"
B = "01a20eeb-0000-7000-8000-00000000000b"


def index_lines(data_dir: Path) -> list[bytes]:
    return (data_dir / SESSION_INDEX_FILE).read_bytes().splitlines(keepends=True)


def test_latest_line_per_id_wins_in_the_codex_fixture(codex_home: Path) -> None:
    entries = read_session_index(codex_home)

    assert list(entries) == [NAMED]
    assert entries[NAMED].thread_name == "Named thread"
    assert entries[NAMED].updated_at == "2026-11-24T18:57:50.255994297Z"


def test_missing_index_reads_as_empty(tmp_path: Path) -> None:
    assert read_session_index(tmp_path) == {}
    assert thread_name(tmp_path, A) is None


def test_torn_and_garbage_lines_are_tolerated(tmp_path: Path) -> None:
    (tmp_path / SESSION_INDEX_FILE).write_bytes(
        b'{"id":"%s","thread_name":"one","updated_at":"t1"}\n'
        b"garbage\n"
        b'{"id":"%s","thread_name":"two","updated_at":"t2"}\n'
        b'{"id":"%s","thread_name":"to' % (A.encode(), B.encode(), A.encode())
    )

    entries = read_session_index(tmp_path)

    assert {key: entry.thread_name for key, entry in entries.items()} == {A: "one", B: "two"}


def test_append_writes_one_codex_shaped_line(tmp_path: Path) -> None:
    entry = append_thread_name(tmp_path, A, "My thread", epoch_ns=1_795_546_669_150_432_202)

    assert index_lines(tmp_path) == [
        b'{"id":"%s","thread_name":"My thread","updated_at":"2026-11-24T18:57:49.150432202Z"}\n'
        % A.encode()
    ]
    assert entry.updated_at == "2026-11-24T18:57:49.150432202Z"


def test_later_rename_wins(tmp_path: Path) -> None:
    append_thread_name(tmp_path, A, "First name")
    append_thread_name(tmp_path, A, "Second name")

    assert thread_name(tmp_path, A) == "Second name"


def test_append_after_a_torn_tail_starts_a_new_line(tmp_path: Path) -> None:
    (tmp_path / SESSION_INDEX_FILE).write_bytes(b'{"id":"x","thread_na')

    append_thread_name(tmp_path, A, "Safe")

    assert thread_name(tmp_path, A) == "Safe"
    assert json.loads(index_lines(tmp_path)[-1])["thread_name"] == "Safe"


def test_rewrite_drops_the_given_ids_and_keeps_the_rest_verbatim(tmp_path: Path) -> None:
    append_thread_name(tmp_path, A, "a1")
    append_thread_name(tmp_path, B, "b1")
    append_thread_name(tmp_path, A, "a2")
    kept = index_lines(tmp_path)[1]

    removed = rewrite_session_index_without(tmp_path, {A})

    assert removed == 2
    assert index_lines(tmp_path) == [kept]
    assert read_session_index(tmp_path).keys() == {B}


def test_rewrite_keeps_permissions_and_leaves_no_temp_file(tmp_path: Path) -> None:
    append_thread_name(tmp_path, A, "a")
    append_thread_name(tmp_path, B, "b")
    (tmp_path / SESSION_INDEX_FILE).chmod(0o600)

    rewrite_session_index_without(tmp_path, {B})

    assert stat.S_IMODE((tmp_path / SESSION_INDEX_FILE).stat().st_mode) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == [SESSION_INDEX_FILE]


def test_rewrite_without_matches_leaves_the_file_untouched(tmp_path: Path) -> None:
    append_thread_name(tmp_path, A, "a")
    before = (tmp_path / SESSION_INDEX_FILE).stat()

    assert rewrite_session_index_without(tmp_path, {B}) == 0

    after = (tmp_path / SESSION_INDEX_FILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_rewrite_of_a_missing_index_is_a_no_op(tmp_path: Path) -> None:
    assert rewrite_session_index_without(tmp_path, {A}) == 0
    assert not (tmp_path / SESSION_INDEX_FILE).exists()


def test_updated_at_has_nanoseconds_and_z() -> None:
    assert format_updated_at(0) == "1970-01-01T00:00:00.000000000Z"
