"""Helpers for tool tests: a workspace, threads with policies, and reading what the model got."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import RpcClient, StdioClient
from tests.support.model_server import ModelServer, RecordedRequest
from tests.support.turn_env import MODEL_ENV, text_input, write_model_config

FULL_ACCESS = {"type": "dangerFullAccess"}
READ_ONLY = {"type": "readOnly", "networkAccess": False}


def workspace_write(*, network: bool = False, roots: list[str] | None = None) -> dict[str, Any]:
    """A workspace-write policy whose only writable place is the cwd (and `roots`): `/tmp`,
    where pytest puts everything, is excluded so "outside the roots" can be tested there."""
    return {
        "type": "workspaceWrite",
        "writableRoots": roots or [],
        "networkAccess": network,
        "excludeTmpdirEnvVar": True,
        "excludeSlashTmp": True,
    }


async def tool_client(
    servers: Servers,
    model: ModelServer,
    *args: str,
    experimental: bool = False,
    extra_config: str = "",
    ws: bool = False,
) -> StdioClient:
    """A stdio client of a fresh server that samples from `model`."""
    write_model_config(servers.dirs.data_dir, model.base_url, extra=extra_config)
    client = await servers.stdio(*args, env=MODEL_ENV)
    await client.initialize(experimental=experimental)
    return client


async def start_thread(
    client: RpcClient,
    cwd: Path,
    *,
    approval: Any = "never",
    sandbox: str = "danger-full-access",
    **params: Any,
) -> str:
    result = await client.call(
        "thread/start",
        {"cwd": str(cwd), "approvalPolicy": approval, "sandbox": sandbox, **params},
    )
    thread_id: str = result["thread"]["id"]
    return thread_id


async def start_turn(client: RpcClient, thread_id: str, text: str = "go", **overrides: Any) -> str:
    result = await client.call(
        "turn/start", {"threadId": thread_id, "input": text_input(text), **overrides}
    )
    turn_id: str = result["turn"]["id"]
    return turn_id


async def wait_turn(client: RpcClient, turn_id: str, timeout: float = 30) -> dict[str, Any]:
    done = await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=timeout
    )
    turn: dict[str, Any] = done["params"]["turn"]
    return turn


async def turn(
    client: RpcClient, thread_id: str, text: str = "go", **overrides: Any
) -> dict[str, Any]:
    """Run a whole turn; returns `turn/completed`'s turn."""
    return await wait_turn(client, await start_turn(client, thread_id, text, **overrides))


def tool_output(request: RecordedRequest, call_id: str) -> Any:
    """The output the model was sent for `call_id` in a request's `input`."""
    for item in request.body["input"]:
        if item.get("type") in ("function_call_output", "custom_tool_call_output") and (
            item.get("call_id") == call_id
        ):
            return item["output"]
    raise AssertionError(f"no output for {call_id} in the request")


def completed_items(client: RpcClient, kind: str) -> list[dict[str, Any]]:
    return [
        n["params"]["item"]
        for n in client.notifications_named("item/completed")
        if n["params"]["item"]["type"] == kind
    ]


def started_items(client: RpcClient, kind: str) -> list[dict[str, Any]]:
    return [
        n["params"]["item"]
        for n in client.notifications_named("item/started")
        if n["params"]["item"]["type"] == kind
    ]


def method_order(client: RpcClient, methods: set[str], *, since: int = 0) -> list[str]:
    """Every message (notifications and server requests) with one of `methods`, in order."""
    return [m["method"] for m in client.received[since:] if m.get("method") in methods]


def processes_with(marker: str) -> list[int]:
    """Pids whose command line contains `marker` (this test's own processes only)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and "pytest" not in cmdline:
            found.append(int(entry))
    return found


async def wait_until_gone(marker: str, timeout: float = 5.0) -> list[int]:
    """Wait for every process carrying `marker` to exit; returns those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        alive = processes_with(marker)
        if not alive or time.monotonic() > deadline:
            return alive
        await asyncio.sleep(0.05)


async def wait_until_running(marker: str, count: int, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = processes_with(marker)
        if len(alive) >= count or time.monotonic() > deadline:
            return alive
        await asyncio.sleep(0.05)


async def read_after_restart(
    servers: Servers, client: StdioClient, thread_id: str
) -> list[dict[str, Any]]:
    """Stop the client's server, start a fresh one on the same data dir, and return the turns
    `thread/read` gives for the thread there."""
    await client.close()
    await servers.processes[-1].wait()
    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    read = await again.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    turns: list[dict[str, Any]] = read["thread"]["turns"]
    return turns
