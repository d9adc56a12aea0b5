"""A data dir written by the real codex 0.169.0 gives codex's own answers, through our server.

The fixture home (`../shared/fixtures/codex-0.169.0`, see its README) is copied into the server's
data dir with codex's mtimes restored, and the recorded calls are replayed in order over stdio.
Every answer must equal `expected/` field for field, except where codex's own rebuild loses data
and we return what codex showed with its live databases (`variants/live-databases.diff.json`:
the name from `session_index.jsonl`, the fork's inherited preview).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Servers
from tests.store.fixture_data import FIXTURES, copy_home, load_json

LIVE_VALUE_FIELDS = ("name", "preview")
"""Fields where we return codex's live answer instead of its rebuilt one."""


def with_live_values(file: str, expected: Any) -> Any:
    """`expected` with the documented live-database values applied."""
    for difference in load_json("variants/live-databases.diff.json").get(file, []):
        path = difference["path"].removeprefix("$.").replace("[", ".").replace("]", "")
        parts = path.split(".")
        if parts[-1] not in LIVE_VALUE_FIELDS:
            continue
        node = expected
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[parts[-1]] = difference["variant"]
    return expected


def rollout_hashes(home: Path) -> dict[str, str]:
    return {
        str(path.relative_to(home)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(home.rglob("rollout-*"))
    }


@pytest.fixture
def fixture_home(servers: Servers) -> Path:
    data_dir = servers.dirs.data_dir
    data_dir.rmdir()
    return copy_home(data_dir)


async def test_recorded_calls_get_codex_answers(servers: Servers, fixture_home: Path) -> None:
    before = rollout_hashes(fixture_home)
    # Compression off: the fixture's rollouts keep codex's (fixed, ageing) mtimes, so they turn
    # cold a week after recording and would legitimately become `.zst` files; and its run marker
    # (`.tmp/rollout-compression.lock`) would match the `rollout-*` glob.
    client = await servers.stdio("-c", "rollout_compression.enabled=false")
    await client.initialize(experimental=True)
    calls = json.loads((FIXTURES / "calls.json").read_text())
    for call in calls:
        result = await client.call(call["method"], call["params"])
        got = json.loads(json.dumps(result).replace(str(fixture_home), "$HOME"))
        want = with_live_values(Path(call["file"]).name, load_json(call["file"]))
        assert got == want, call["file"]
    assert rollout_hashes(fixture_home) == before, "reads must never change a rollout"


async def test_paginated_read_with_turns_is_preceded_by_a_deprecation_notice(
    servers: Servers, fixture_home: Path
) -> None:
    client = await servers.stdio()
    await client.initialize()
    await client.call(
        "thread/read", {"threadId": "01a20eeb-d4ab-7d60-be7d-402cf5f03555", "includeTurns": True}
    )
    notice = await client.wait_notification("deprecationNotice")
    assert "includeTurns" in notice["params"]["summary"]


async def test_legacy_read_with_turns_has_no_deprecation_notice(
    servers: Servers, fixture_home: Path
) -> None:
    client = await servers.stdio()
    await client.initialize()
    await client.call(
        "thread/read", {"threadId": "01a20eeb-d831-7a02-9d64-3f4dc028f2f7", "includeTurns": True}
    )
    assert client.notifications_named("deprecationNotice") == []


async def test_stable_clients_do_not_receive_experimental_fields(
    servers: Servers, fixture_home: Path
) -> None:
    client = await servers.stdio()
    await client.initialize()
    result = await client.call("thread/list", {})
    assert result["data"], "the fixture threads are listed"
    assert "readStates" not in result
    assert all("canAcceptDirectInput" not in thread for thread in result["data"])
