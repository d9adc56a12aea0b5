"""The server on the PostgreSQL store (`--store-url`): several real processes, one history.

Each test gets a schema of its own in the test cluster (the `store_url` fixture). Requests and
notifications crossing processes: `test_postgres_forwarding.py`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from app_server.store.postgres.lease import LEASE_SECONDS
from tests.conftest import Servers
from tests.store.fixture_data import copy_home
from tests.support.client import StdioClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.postgres_servers import client_on, two_clients
from tests.support.server_process import ServerProcess, server_env
from tests.support.turn_env import MODEL_ENV, run_turn, text_input, write_model_config

BAD_URL_EXIT_SECONDS = 15.0


async def test_a_thread_written_on_one_process_is_listed_read_and_searched_on_another(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("The narwhal answer", deltas=3))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    turn = await run_turn(a, thread_id, "tell me about narwhals")

    listed = await b.call("thread/list", {})
    read = await b.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    found = await b.call("thread/search", {"searchTerm": "NARWHAL"})

    assert [t["id"] for t in listed["data"]] == [thread_id]
    assert [t["id"] for t in read["thread"]["turns"]] == [turn["id"]]
    assert read["thread"]["turns"][0]["status"] == "completed"
    assert [hit["thread"]["id"] for hit in found["data"]] == [thread_id]


async def test_a_thread_resumed_after_its_process_stopped_continues_the_same_history(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("first answer"))
    model_server.enqueue(Reply.text("second answer"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    first = await run_turn(a, thread_id, "one")
    await a.close()  # stdin closed: the process closes its writers and exits
    assert await servers.processes[0].wait() == 0

    await b.call("thread/resume", {"threadId": thread_id})
    second = await run_turn(b, thread_id, "two")
    read = await b.call("thread/read", {"threadId": thread_id, "includeTurns": True})

    assert second["status"] == "completed"
    assert [t["id"] for t in read["thread"]["turns"]] == [first["id"], second["id"]]


async def test_names_and_archive_state_are_visible_on_every_process(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("ok"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "hello")
    await a.call("thread/unsubscribe", {"threadId": thread_id})

    await b.call("thread/name/set", {"threadId": thread_id, "name": "Shared name"})
    named = await a.call("thread/read", {"threadId": thread_id})
    await a.close()
    await servers.processes[0].wait()
    await b.call("thread/archive", {"threadId": thread_id})
    archived = await b.call("thread/list", {"archived": True})

    assert named["thread"]["name"] == "Shared name"
    assert [t["id"] for t in archived["data"]] == [thread_id]


async def test_archiving_a_thread_busy_on_another_process_fails_without_calling_it_missing(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("ok"))
    model_server.enqueue(Reply.text("slow", deltas=3).hang_after(2, release, reached))
    model_server.enqueue(Reply.text("ok"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "hello")
    await a.call("turn/start", {"threadId": thread_id, "input": text_input("busy")})
    await asyncio.wait_for(reached.wait(), 10)

    reply = await b.request("thread/archive", {"threadId": thread_id})
    release.set()

    assert reply.error is not None
    assert "another app-server process" in reply.message
    assert "no rollout" not in reply.message
    assert [t["id"] for t in (await b.call("thread/list", {}))["data"]] == [thread_id]


async def test_an_idle_thread_nobody_watches_on_another_process_is_handed_over_for_a_turn(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("answer on A"))
    model_server.enqueue(Reply.text("answer on B"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    first = await run_turn(a, thread_id, "one")
    await a.call("thread/unsubscribe", {"threadId": thread_id})

    await b.call("thread/resume", {"threadId": thread_id})
    second = await run_turn(b, thread_id, "two")
    closed = await a.wait_notification("thread/closed", timeout=10)
    read = await a.call("thread/read", {"threadId": thread_id, "includeTurns": True})

    assert closed["params"]["threadId"] == thread_id
    assert second["status"] == "completed"
    assert [t["id"] for t in read["thread"]["turns"]] == [first["id"], second["id"]]


async def test_archive_of_an_idle_thread_loaded_on_another_process_succeeds(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("ok"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "hello")

    await b.call("thread/archive", {"threadId": thread_id})
    archived = await a.call("thread/list", {"archived": True})

    assert [t["id"] for t in archived["data"]] == [thread_id]


async def test_after_sigkill_of_the_owner_another_process_serves_the_thread_at_once(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("done before the kill"))
    model_server.enqueue(Reply.text("never", deltas=3).hang_after(3, release, reached))
    model_server.enqueue(Reply.text("served by the survivor"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    completed = await run_turn(a, thread_id, "first")
    await a.call("turn/start", {"threadId": thread_id, "input": text_input("second")})
    await asyncio.wait_for(reached.wait(), 10)
    servers.processes[0].signal(signal.SIGKILL)
    await servers.processes[0].wait()
    servers.clients.remove(a)
    release.set()

    started = time.monotonic()
    resumed = await b.call("thread/resume", {"threadId": thread_id})
    took = time.monotonic() - started
    third = await run_turn(b, thread_id, "third")

    assert took < LEASE_SECONDS  # the dead owner's lease is taken at once, not at its expiry
    turns = resumed["thread"]["turns"]
    assert turns[0]["id"] == completed["id"]
    assert [t["status"] for t in turns] == ["completed", "interrupted"]
    assert third["status"] == "completed"


async def test_two_processes_racing_to_start_a_turn_never_run_two_turns_at_once(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    for text in ("first", "raced one", "raced two"):
        model_server.enqueue(Reply.text(text, deltas=2))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    first = await run_turn(a, thread_id, "first")
    await a.call("thread/unsubscribe", {"threadId": thread_id})

    async def resume_and_start(client: StdioClient, text: str) -> str | None:
        resumed = await client.request("thread/resume", {"threadId": thread_id})
        if resumed.error is not None:
            assert "active writer" not in resumed.message
            return None
        started = await client.request(
            "turn/start", {"threadId": thread_id, "input": text_input(text)}
        )
        if started.error is not None:
            return None
        turn_id: str = started.result["turn"]["id"]
        await client.wait_notification(
            "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=30
        )
        return turn_id

    started = await asyncio.gather(
        resume_and_start(a, "raced one"), resume_and_start(b, "raced two")
    )
    ran = [turn_id for turn_id in started if turn_id is not None]
    reader = a if started[0] is not None else b
    read = await reader.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    turns = read["thread"]["turns"]

    assert ran
    assert turns[0]["id"] == first["id"]
    # Both inputs may go to one turn (the second joins the running one), as two clients of
    # one process do: the thread is served where it is loaded. Never two overlapping turns.
    assert sorted(t["id"] for t in turns[1:]) == sorted(set(ran))
    assert all(t["status"] == "completed" for t in turns)
    # A joined input is sampled with the turn's first request or with one more of its own.
    assert 1 + len(set(ran)) <= len(model_server.requests) <= 1 + len(ran)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("postgresql://nobody@127.0.0.1:1/nodb", "127.0.0.1:1"),
        ("postgresql://nobody@no-such-host.invalid:5439/nodb", "no-such-host.invalid:5439"),
    ],
)
async def test_an_unreachable_database_ends_the_server_with_exit_2_and_one_clear_line(
    servers: Servers, url: str, named: str
) -> None:
    started = time.monotonic()
    process = await servers.start("--store-url", url, "--listen", "ws://127.0.0.1:0")

    code = await process.wait(timeout=BAD_URL_EXIT_SECONDS)

    assert code == 2
    assert time.monotonic() - started < BAD_URL_EXIT_SECONDS
    errors = [line for line in process.stderr_lines if "error" in line.lower()]
    assert len(errors) == 1
    assert named in errors[0]
    assert "PostgreSQL" in errors[0]
    assert "Traceback" not in process.stderr_text()


async def test_the_store_url_can_come_from_config_toml(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("ok"))
    data_dir = tmp_path / "c"
    data_dir.mkdir()
    write_model_config(data_dir, model_server.base_url, extra=f'store_url = "{store_url}"')
    process = await ServerProcess.start(data_dir, servers.dirs.home, env=MODEL_ENV)
    servers.processes.append(process)
    client = process.stdio_client()
    servers.clients.append(client)
    await client.initialize()
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]
    await run_turn(client, thread_id, "hello")
    await asyncio.sleep(0)

    assert not list(data_dir.glob("sessions/**/*.jsonl"))
    connection = await asyncpg.connect(store_url)
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM threads WHERE id = $1 AND line_count > 0", thread_id
        )
    finally:
        await connection.close()
    assert count == 1


async def run_cli(home: Path, *args: str) -> tuple[int, str, str]:
    """`python -m app_server ARGS` with a temp HOME; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app_server",
        *args,
        env=server_env(home),
        cwd=str(home),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_storage_import_then_export_round_trips_a_codex_home_and_serves_it(
    servers: Servers, store_url: str, tmp_path: Path
) -> None:
    home = copy_home(tmp_path / "codex-home")
    out = tmp_path / "exported"
    data_dir = tmp_path / "d"

    imported = await run_cli(
        servers.dirs.home,
        "--data-dir",
        str(data_dir),
        "storage",
        "import",
        "--from",
        str(home),
        "--store-url",
        store_url,
        "--json",
    )
    exported = await run_cli(
        servers.dirs.home,
        "--data-dir",
        str(data_dir),
        "storage",
        "export",
        "--to",
        str(out),
        "--store-url",
        store_url,
    )
    client = await client_on(servers, servers.dirs.data_dir, store_url)
    listed = await client.call("thread/list", {"limit": 100})

    assert imported[0] == 0, imported[2]
    assert json.loads(imported[1])["threads"] == len(list(home.rglob("rollout-*")))
    assert exported[0] == 0, exported[2]
    assert (out / "session_index.jsonl").read_bytes() == (home / "session_index.jsonl").read_bytes()
    for path in home.rglob("rollout-*.jsonl"):
        assert (out / path.relative_to(home)).read_bytes() == path.read_bytes()
    assert len(listed["data"]) > 0
