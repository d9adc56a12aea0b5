"""The `reasoningEffort` of a `spawnAgent` collab tool call item, as codex 0.169 fills it
(observed on the binary): on the started item the effort the call asks for, else the model's
default effort (`medium` for a model the config does not describe); on the completed item the
child's own effort (the one asked for, else the spawning thread's, else that default), which
a v2 spawn (`subAgentActivity`) reports from the start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.agent_env import items_of, spawn, v2_client
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, tool_client, turn

CHILD_TASK = "effort child task"


def _route(body: dict[str, Any]) -> str:
    """The child's requests carry its task as a user message."""
    for item in body.get("input") or []:
        if item.get("role") == "user" and any(
            part.get("text") == CHILD_TASK for part in item.get("content") or []
        ):
            return "child"
    return "root"


async def spawned_efforts(
    servers: Servers,
    model_server: ModelServer,
    tmp_path: Path,
    effort: str | None = None,
    **args: Any,
) -> list[Any]:
    """The `reasoningEffort` of the started and completed spawn items of a v1 spawn."""
    model_server.router = _route
    model_server.enqueue(
        Reply.function_call(
            "spawn_agent",
            {"message": CHILD_TASK, **args},
            call_id="call_spawn",
            namespace="multi_agent_v1",
        ),
        Reply.text("spawned"),
    )
    model_server.enqueue_for("child", Reply.text("child result"))
    client = await tool_client(servers, model_server)
    parent = await start_thread(client, tmp_path)
    await turn(client, parent, **({"effort": effort} if effort else {}))
    return [
        item["reasoningEffort"]
        for method in ("item/started", "item/completed")
        for item in items_of(client, method, "collabAgentToolCall", parent)
    ]


async def test_a_spawn_without_an_effort_reports_the_models_default_effort(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    assert await spawned_efforts(servers, model_server, tmp_path) == ["medium", "medium"]


async def test_a_spawn_reports_the_effort_it_asks_for(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    efforts = await spawned_efforts(servers, model_server, tmp_path, reasoning_effort="low")
    assert efforts == ["low", "low"]


async def test_a_spawn_without_an_effort_completes_with_the_spawning_threads_effort(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    efforts = await spawned_efforts(servers, model_server, tmp_path, effort="high")
    assert efforts == ["medium", "high"]


async def test_a_v2_spawn_reports_the_childs_own_effort(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(spawn("helper", "child task", "call_spawn"), Reply.text("spawned"))
    model_server.enqueue_for("/root/helper", Reply.text("child result"))
    client = await v2_client(servers, model_server)
    parent = await start_thread(client, tmp_path)

    await turn(client, parent, effort="high")

    started = [
        item
        for item in items_of(client, "item/started", "subAgentActivity", parent)
        if item["kind"] == "started"
    ]
    assert [item["reasoningEffort"] for item in started] == ["high"]
