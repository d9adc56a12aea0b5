"""Every fixture thread reads back as codex 0.169.0 answered `thread/read {includeTurns: true}`.

The wire `Thread` (with turns) built from the rollout alone must equal `expected/thread-read.*`
field for field. `updatedAt`/`recencyAt` are compared exactly because the mtimes are restored;
`path` after writing the data dir as `$HOME`. Documented deviations from codex's pure rebuild:

- the name comes from `session_index.jsonl` and a fork inherits its base's preview, which is
  what codex itself shows with its live databases (`variants/live-databases.diff.json`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app_server.store.local.session_index import read_session_index
from app_server.store.local.thread_loader import read_stored_thread
from app_server.store.records import thread_from_record
from tests.store.fixture_data import fixture_calls, fixture_threads, load_json

THREADS = {thread["key"]: thread["id"] for thread in fixture_threads()}
READ_CALLS = {call["params"]["threadId"]: call for call in fixture_calls("thread/read")}
LIVE_VALUE_FIELDS = ("$.thread.name", "$.thread.preview")


def expected_thread(thread_id: str) -> dict[str, Any]:
    """codex's `thread` answer with the documented deviations applied (see module docstring)."""
    call = READ_CALLS[thread_id]
    expected: dict[str, Any] = load_json(call["file"])["thread"]
    live = load_json("variants/live-databases.diff.json").get(Path(call["file"]).name, [])
    for difference in live:
        if difference["path"] in LIVE_VALUE_FIELDS:
            expected[difference["path"].removeprefix("$.thread.")] = difference["variant"]
    return expected


def read_thread_as_wire(data_dir: Path, thread_id: str) -> dict[str, Any]:
    """What our store answers for `thread/read {includeTurns: true}`, as wire JSON."""
    name_entry = read_session_index(data_dir).get(thread_id)
    stored = read_stored_thread(
        data_dir, thread_id, name=name_entry.thread_name if name_entry else None
    )
    assert stored is not None
    thread = thread_from_record(
        stored.record, data_dir, turns=[entry.turn for entry in stored.turns()]
    )
    wire: dict[str, Any] = json.loads(
        json.dumps(thread.model_dump(mode="json")).replace(str(data_dir), "$HOME")
    )
    return wire


def test_every_fixture_thread_has_a_recorded_read_call() -> None:
    assert set(READ_CALLS) == set(THREADS.values())
    assert all(call["params"]["includeTurns"] is True for call in READ_CALLS.values())


@pytest.mark.parametrize("key", sorted(THREADS))
def test_thread_read_with_turns_matches_codex(codex_home: Path, key: str) -> None:
    thread_id = THREADS[key]

    got = read_thread_as_wire(codex_home, thread_id)

    assert got == expected_thread(thread_id)


def test_compressed_thread_reports_the_plain_path(codex_home: Path) -> None:
    got = read_thread_as_wire(codex_home, THREADS["i"])

    assert got["path"].endswith(".jsonl")
    assert not (codex_home / got["path"].replace("$HOME/", "")).exists()


def test_reading_never_writes_to_the_data_dir(codex_home: Path) -> None:
    before = {path: path.read_bytes() for path in codex_home.rglob("*") if path.is_file()}
    mtimes = {path: path.stat().st_mtime_ns for path in before}

    for thread_id in THREADS.values():
        read_thread_as_wire(codex_home, thread_id)

    after = {path: path.read_bytes() for path in codex_home.rglob("*") if path.is_file()}
    assert after == before
    assert {path: path.stat().st_mtime_ns for path in after} == mtimes
