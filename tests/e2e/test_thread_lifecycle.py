"""Thread methods that load, create and change threads, against the real server process."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.homes import BASE_MS, ThreadSpec, write_thread, write_threads
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, run_turn, write_model_config


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "sqlite" not in p.name and "lock" not in p.parts[0]
    }


NO_COMPRESSION = ("-c", "rollout_compression.enabled=false")
"""For tests that look at the data dir's files: the compression worker's run marker and
maintenance lock (`.tmp/rollout-*.lock`) would appear among them, and homes written at
`BASE_MS` turn cold (and their rollouts `.zst`) once the clock is a week past it."""


async def started(servers: Servers, *args: str, experimental: bool = False) -> RpcClient:
    client = await servers.stdio(*args)
    await client.initialize(experimental=experimental)
    return client


# -- thread/start -----------------------------------------------------------------------------
async def test_start_returns_an_idle_loaded_thread_with_its_future_path(servers: Servers) -> None:
    client = await started(servers)
    result = await client.call("thread/start", {"cwd": str(servers.dirs.home)})
    thread = result["thread"]
    assert thread["status"] == {"type": "idle"}
    assert thread["preview"] == ""
    assert thread["path"].startswith(str(servers.dirs.data_dir / "sessions"))
    assert thread["path"].endswith(f"-{thread['id']}.jsonl")
    assert not Path(thread["path"]).exists(), "the rollout is created by the first turn"
    assert result["cwd"] == str(servers.dirs.home)


async def test_start_is_announced_to_every_connection_after_the_response(
    servers: Servers,
) -> None:
    process = await servers.start(listen_ws=True)
    starter = await servers.ws_client(process)
    watcher = await servers.ws_client(process)
    await starter.initialize()
    await watcher.initialize()
    result = await starter.call("thread/start", {})
    started_note = await watcher.wait_notification("thread/started")
    assert started_note["params"]["thread"]["id"] == result["thread"]["id"]
    ids = [m.get("id") for m in starter.received]
    methods = [m.get("method") for m in starter.received]
    assert methods.index("thread/started") > ids.index(2)


async def test_ephemeral_thread_has_no_path(servers: Servers) -> None:
    client = await started(servers)
    result = await client.call("thread/start", {"ephemeral": True})
    assert result["thread"]["ephemeral"] is True
    assert result["thread"]["path"] is None


async def test_new_thread_is_not_listed_and_not_resumable_elsewhere(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    owner = await servers.ws_client(process)
    other = await servers.ws_client(process)
    await owner.initialize()
    await other.initialize()
    thread_id = (await owner.call("thread/start", {}))["thread"]["id"]
    assert (await other.call("thread/list", {}))["data"] == []
    reply = await other.request("thread/resume", {"threadId": thread_id})
    assert reply.message == f"no rollout found for thread id {thread_id}"


async def test_read_of_a_new_thread_shows_it_loaded(servers: Servers) -> None:
    client = await started(servers)
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    assert read["thread"]["status"] == {"type": "idle"}
    assert read["thread"]["turns"] == []


async def test_read_of_an_unknown_thread_is_not_loaded(servers: Servers) -> None:
    client = await started(servers)
    unknown = ThreadSpec(BASE_MS).thread_id
    reply = await client.request("thread/read", {"threadId": unknown})
    assert (reply.code, reply.message) == (-32600, f"thread not loaded: {unknown}")


async def test_malformed_thread_id_is_refused(servers: Servers) -> None:
    client = await started(servers)
    reply = await client.request("thread/read", {"threadId": "xyz"})
    assert (reply.code, reply.message) == (-32600, "invalid thread id: xyz")


# -- thread/resume ----------------------------------------------------------------------------
async def test_cold_resume_after_restart_returns_history_and_loads_the_thread(
    servers: Servers,
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1, turns=2, text="first question")
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    first = await client.call("thread/resume", {"threadId": spec.thread_id})
    await client.close()
    await servers.processes[0].wait()

    again = await started(servers)
    resumed = await again.call("thread/resume", {"threadId": spec.thread_id})
    assert resumed["thread"]["turns"] == first["thread"]["turns"]
    assert len(resumed["thread"]["turns"]) == 2
    assert resumed["thread"]["status"] == {"type": "idle"}
    status = await again.wait_notification("thread/status/changed")
    assert status["params"] == {"threadId": spec.thread_id, "status": {"type": "idle"}}
    assert await again.call("thread/loaded/list", {}) == {
        "data": [spec.thread_id],
        "nextCursor": None,
    }


async def test_resume_with_exclude_turns_omits_them(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    result = await client.call("thread/resume", {"threadId": spec.thread_id, "excludeTurns": True})
    assert result["thread"]["turns"] == []


async def test_resume_of_an_unknown_thread_is_refused(servers: Servers) -> None:
    client = await started(servers)
    unknown = ThreadSpec(BASE_MS).thread_id
    reply = await client.request("thread/resume", {"threadId": unknown})
    assert (reply.code, reply.message) == (-32600, f"no rollout found for thread id {unknown}")


async def test_resume_path_pointing_at_a_directory_is_refused_and_nothing_written(
    servers: Servers,
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    before = tree_digest(servers.dirs.data_dir)
    client = await started(servers, *NO_COMPRESSION, experimental=True)
    reply = await client.request(
        "thread/resume", {"threadId": spec.thread_id, "path": str(servers.dirs.data_dir)}
    )
    assert reply.code == -32602
    assert "not a rollout file" in reply.message
    assert tree_digest(servers.dirs.data_dir) == before


async def test_resume_path_pointing_at_etc_passwd_is_refused_and_nothing_written(
    servers: Servers,
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    before = tree_digest(servers.dirs.data_dir)
    client = await started(servers, *NO_COMPRESSION, experimental=True)
    reply = await client.request(
        "thread/resume", {"threadId": spec.thread_id, "path": "/etc/passwd"}
    )
    assert reply.code == -32602
    assert "not a rollout file" in reply.message
    assert tree_digest(servers.dirs.data_dir) == before
    assert (await client.call("thread/loaded/list", {}))["data"] == []


async def test_resume_of_a_thread_another_process_writes_is_refused(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    first = await started(servers)
    await first.call("thread/resume", {"threadId": spec.thread_id})
    second = await started(servers)
    reply = await second.request("thread/resume", {"threadId": spec.thread_id})
    assert reply.code == -32600
    assert "already has an active writer" in reply.message


async def test_torn_last_line_is_ignored(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1, turns=2)
    path = write_thread(servers.dirs.data_dir, spec)
    with path.open("ab") as file:
        file.write(b'{"timestamp":"2026-11-24T18:57:47.000Z","ordinal":9,"type":"event_m')
    client = await started(servers)
    read = await client.call("thread/read", {"threadId": spec.thread_id, "includeTurns": True})
    assert len(read["thread"]["turns"]) == 2
    resumed = await client.call("thread/resume", {"threadId": spec.thread_id})
    assert len(resumed["thread"]["turns"]) == 2


# -- thread/turns/list ------------------------------------------------------------------------
async def test_turns_list_pages_a_stored_thread_newest_first(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1, turns=5)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    first = await client.call("thread/turns/list", {"threadId": spec.thread_id, "limit": 3})
    second = await client.call(
        "thread/turns/list",
        {"threadId": spec.thread_id, "limit": 3, "cursor": first["nextCursor"]},
    )
    assert len(first["data"]) == 3
    assert len(second["data"]) == 2
    assert second["nextCursor"] is None
    texts = [turn["items"][0]["content"][0]["text"] for turn in first["data"] + second["data"]]
    assert texts[0] == "hello (turn 5)"
    assert texts[-1] == "hello"


async def test_turns_list_of_an_unknown_thread_is_not_loaded(servers: Servers) -> None:
    client = await started(servers)
    unknown = ThreadSpec(BASE_MS).thread_id
    reply = await client.request("thread/turns/list", {"threadId": unknown})
    assert reply.message == f"thread not loaded: {unknown}"


# -- thread/name/set --------------------------------------------------------------------------
async def test_set_name_persists_and_is_announced(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    assert await client.call("thread/name/set", {"threadId": spec.thread_id, "name": "Mine"}) == {}
    note = await client.wait_notification("thread/name/updated")
    assert note["params"] == {"threadId": spec.thread_id, "threadName": "Mine"}
    listed = await client.call("thread/list", {})
    assert listed["data"][0]["name"] == "Mine"
    index_lines = (servers.dirs.data_dir / "session_index.jsonl").read_text().splitlines()
    assert json.loads(index_lines[-1])["thread_name"] == "Mine"


async def test_set_name_survives_an_index_rebuild(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    await client.call("thread/name/set", {"threadId": spec.thread_id, "name": "Kept"})
    await client.close()
    await servers.processes[0].wait()
    for db in servers.dirs.data_dir.glob("state_app_server_2.sqlite*"):
        db.unlink()
    again = await started(servers)
    assert (await again.call("thread/list", {}))["data"][0]["name"] == "Kept"


async def test_empty_name_is_refused(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    reply = await client.request("thread/name/set", {"threadId": spec.thread_id, "name": ""})
    assert (reply.code, reply.message) == (-32600, "thread name must not be empty")


async def test_naming_an_unknown_thread_is_refused(servers: Servers) -> None:
    client = await started(servers)
    unknown = ThreadSpec(BASE_MS).thread_id
    reply = await client.request("thread/name/set", {"threadId": unknown, "name": "x"})
    assert reply.message == f"no rollout found for thread id {unknown}"


async def named_before_its_first_turn(
    servers: Servers, model_server: ModelServer, *args: str
) -> tuple[RpcClient, str]:
    """A new thread named while it has no rollout yet, then given its first turn."""
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    client = await servers.stdio(*args, env=MODEL_ENV)
    await client.initialize()
    thread_id: str = (await client.call("thread/start", {}))["thread"]["id"]
    assert await client.call("thread/name/set", {"threadId": thread_id, "name": "Early"}) == {}
    await run_turn(client, thread_id, "hello")
    return client, thread_id


async def test_name_set_before_the_first_turn_survives_the_turn(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id = await named_before_its_first_turn(servers, model_server)

    read = await client.call("thread/read", {"threadId": thread_id})
    listed = await client.call("thread/list", {})
    assert (read["thread"]["name"], [t["name"] for t in listed["data"]]) == ("Early", ["Early"])


async def test_name_set_before_the_first_turn_survives_unload_and_resume(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id = await named_before_its_first_turn(
        servers, model_server, "-c", "idle_thread_unload_seconds=0.1"
    )
    await client.call("thread/unsubscribe", {"threadId": thread_id})
    await client.wait_notification("thread/closed")

    resumed = await client.call("thread/resume", {"threadId": thread_id})
    assert resumed["thread"]["name"] == "Early"


async def test_name_set_before_the_first_turn_survives_a_restart(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id = await named_before_its_first_turn(servers, model_server)
    await client.close()
    await servers.processes[0].wait()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    read = await again.call("thread/read", {"threadId": thread_id})
    listed = await again.call("thread/list", {})
    assert (read["thread"]["name"], [t["name"] for t in listed["data"]]) == ("Early", ["Early"])


# -- thread/archive, thread/unarchive ---------------------------------------------------------
async def test_archive_moves_the_rollout_and_announces_it(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = write_thread(servers.dirs.data_dir, spec)
    client = await started(servers, *NO_COMPRESSION)  # asserts the plain file moved
    assert await client.call("thread/archive", {"threadId": spec.thread_id}) == {}
    note = await client.wait_notification("thread/archived")
    assert note["params"] == {"threadId": spec.thread_id}
    assert not path.exists()
    assert (servers.dirs.data_dir / "archived_sessions" / path.name).exists()
    assert (await client.call("thread/list", {}))["data"] == []
    archived = await client.call("thread/list", {"archived": True})
    assert [t["id"] for t in archived["data"]] == [spec.thread_id]


async def test_archive_unloads_a_loaded_thread(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    await client.call("thread/resume", {"threadId": spec.thread_id})
    await client.call("thread/archive", {"threadId": spec.thread_id})
    status = await client.wait_notification(
        "thread/status/changed", where=lambda m: m["params"]["status"]["type"] == "notLoaded"
    )
    assert status["params"]["threadId"] == spec.thread_id
    assert (await client.call("thread/loaded/list", {}))["data"] == []


async def test_archiving_twice_is_refused(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    await client.call("thread/archive", {"threadId": spec.thread_id})
    reply = await client.request("thread/archive", {"threadId": spec.thread_id})
    assert reply.message == f"no rollout found for thread id {spec.thread_id}"


async def test_unarchive_restores_the_thread_to_its_date_folder(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    path = write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    await client.call("thread/archive", {"threadId": spec.thread_id})
    result = await client.call("thread/unarchive", {"threadId": spec.thread_id})
    assert result["thread"]["status"] == {"type": "notLoaded"}
    assert result["thread"]["path"] == str(path)
    assert path.exists()
    note = await client.wait_notification("thread/unarchived")
    assert note["params"] == {"threadId": spec.thread_id}


async def test_unarchiving_a_live_thread_is_refused(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    reply = await client.request("thread/unarchive", {"threadId": spec.thread_id})
    assert reply.message == f"no archived rollout found for thread id {spec.thread_id}"


# -- thread/delete ----------------------------------------------------------------------------
async def test_delete_removes_two_generations_of_spawned_children(servers: Servers) -> None:
    root = ThreadSpec(BASE_MS, salt=1)
    children = [ThreadSpec(BASE_MS + 10 + i, salt=10 + i, parent=root.thread_id) for i in range(2)]
    grandchild = ThreadSpec(BASE_MS + 100, salt=100, parent=children[0].thread_id)
    unrelated = ThreadSpec(BASE_MS + 5, salt=5)
    write_threads(servers.dirs.data_dir, [root, *children, grandchild, unrelated])
    # The file check below globs `rollout-*`, which the compression marker would match.
    client = await started(servers, *NO_COMPRESSION, experimental=True)
    await client.call("thread/name/set", {"threadId": root.thread_id, "name": "Root"})
    assert await client.call("thread/delete", {"threadId": root.thread_id}) == {}
    await client.wait_for(lambda: len(client.notifications_named("thread/deleted")) == 4)
    order = [n["params"]["threadId"] for n in client.notifications_named("thread/deleted")]
    assert order[0] == grandchild.thread_id
    assert order[-1] == root.thread_id
    assert set(order) == {root.thread_id, grandchild.thread_id, *(c.thread_id for c in children)}
    remaining = sorted(p.name for p in servers.dirs.data_dir.rglob("rollout-*"))
    assert remaining == [f for f in remaining if unrelated.thread_id in f]
    assert len(remaining) == 1
    tree = await client.call("thread/list", {"ancestorThreadId": root.thread_id})
    assert tree["data"] == []
    index = (servers.dirs.data_dir / "session_index.jsonl").read_text()
    assert root.thread_id not in index
    assert [t["id"] for t in (await client.call("thread/list", {}))["data"]] == [
        unrelated.thread_id
    ]


async def test_delete_refuses_a_thread_a_paginated_fork_still_references(
    servers: Servers,
) -> None:
    source = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, source)
    client = await started(servers)
    fork = await client.call("thread/fork", {"threadId": source.thread_id})
    reply = await client.request("thread/delete", {"threadId": source.thread_id})
    assert (reply.code, reply.message) == (
        -32600,
        f"cannot delete thread {source.thread_id}: forked history still references it",
    )
    assert (await client.call("thread/read", {"threadId": fork["thread"]["id"]}))["thread"]


async def test_delete_of_an_unknown_thread_is_refused(servers: Servers) -> None:
    client = await started(servers)
    unknown = ThreadSpec(BASE_MS).thread_id
    reply = await client.request("thread/delete", {"threadId": unknown})
    assert reply.message == f"no rollout found for thread id {unknown}"


# -- thread/fork ------------------------------------------------------------------------------
async def test_fork_references_a_paginated_source_and_shows_its_history(
    servers: Servers,
) -> None:
    source = ThreadSpec(BASE_MS, salt=1, turns=2, text="origin")
    write_thread(servers.dirs.data_dir, source)
    client = await started(servers)
    fork = await client.call("thread/fork", {"threadId": source.thread_id})
    thread = fork["thread"]
    assert thread["forkedFromId"] == source.thread_id
    assert thread["preview"] == "origin"
    assert len(thread["turns"]) == 2
    first_line = json.loads(Path(thread["path"]).read_text().splitlines()[0])
    assert first_line["payload"]["history_base"]["thread_id"] == source.thread_id
    assert first_line["ordinal"] == 9
    read = await client.call("thread/read", {"threadId": thread["id"], "includeTurns": True})
    assert read["thread"]["turns"] == thread["turns"]
    await client.wait_notification("thread/started")


async def test_fork_of_an_unknown_thread_is_refused(servers: Servers) -> None:
    client = await started(servers)
    unknown = ThreadSpec(BASE_MS).thread_id
    reply = await client.request("thread/fork", {"threadId": unknown})
    assert reply.message == f"no rollout found for thread id {unknown}"


async def test_fork_written_by_us_reads_back_after_restart_as_reported_live(
    servers: Servers,
) -> None:
    source = ThreadSpec(BASE_MS, salt=1, turns=1)
    write_thread(servers.dirs.data_dir, source)
    client = await started(servers)
    live = (await client.call("thread/fork", {"threadId": source.thread_id}))["thread"]
    await client.close()
    await servers.processes[0].wait()
    again = await started(servers)
    stored = (await again.call("thread/read", {"threadId": live["id"], "includeTurns": True}))[
        "thread"
    ]
    # Load state, and the model: "current configured model when loaded, otherwise the latest
    # persisted one" (the fork has run no turn yet, so nothing is persisted).
    loaded_only = (
        "status",
        "environments",
        "canAcceptDirectInput",
        "updatedAt",
        "recencyAt",
        "model",
    )
    for field in loaded_only:
        live.pop(field, None)
        stored.pop(field, None)
    assert stored == live


# -- subscriptions ----------------------------------------------------------------------------
async def test_unsubscribe_reports_each_state(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    client = await started(servers)
    assert await client.call("thread/unsubscribe", {"threadId": spec.thread_id}) == {
        "status": "notLoaded"
    }
    await client.call("thread/resume", {"threadId": spec.thread_id})
    assert await client.call("thread/unsubscribe", {"threadId": spec.thread_id}) == {
        "status": "unsubscribed"
    }
    assert await client.call("thread/unsubscribe", {"threadId": spec.thread_id}) == {
        "status": "notSubscribed"
    }


async def test_idle_thread_without_subscribers_is_unloaded_and_closed(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, spec)
    process = await servers.start("-c", "idle_thread_unload_seconds=0.2")
    client = process.stdio_client()
    servers.clients.append(client)
    await client.initialize()
    await client.call("thread/resume", {"threadId": spec.thread_id})
    await client.call("thread/unsubscribe", {"threadId": spec.thread_id})
    closed = await client.wait_notification("thread/closed")
    assert closed["params"] == {"threadId": spec.thread_id}
    assert (await client.call("thread/loaded/list", {}))["data"] == []


async def test_loaded_list_pages_by_thread_id(servers: Servers) -> None:
    client = await started(servers)
    ids = sorted([(await client.call("thread/start", {}))["thread"]["id"] for _ in range(3)])
    first = await client.call("thread/loaded/list", {"limit": 2})
    rest = await client.call("thread/loaded/list", {"limit": 2, "cursor": first["nextCursor"]})
    assert first["data"] + rest["data"] == ids
    assert rest["nextCursor"] is None


async def test_fork_whose_base_rollout_vanished_fails_closed(servers: Servers) -> None:
    source = ThreadSpec(BASE_MS, salt=1)
    source_path = write_thread(servers.dirs.data_dir, source)
    client = await started(servers, *NO_COMPRESSION)  # removes the plain file below
    fork_id = (await client.call("thread/fork", {"threadId": source.thread_id}))["thread"]["id"]
    await client.call("thread/unsubscribe", {"threadId": fork_id})
    source_path.unlink()
    reply = await client.request("thread/read", {"threadId": fork_id, "includeTurns": True})
    assert (reply.code, reply.message) == (
        -32600,
        f"invalid paginated history lineage for {source.thread_id}: missing source rollout",
    )
    metadata_only = await client.call("thread/read", {"threadId": fork_id})
    assert metadata_only["thread"]["id"] == fork_id
