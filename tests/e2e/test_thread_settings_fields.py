"""The `thread/settings/update` fields codex 0.169 saves beyond model and policies (observed on
the binary): `personality`, `disabledPluginIds`, `collaborationMode` (plan mode brings its
built-in instructions, told to the model in a `<collaboration_mode>` developer message),
`environments`, the `permissions` profile reported as `activePermissionProfile`, and
`multiAgentMode`, which codex ignores. Every notification is checked against the upstream
schema by the client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app_server.agent.instructions import plan_mode_instructions
from tests.conftest import Servers
from tests.e2e.test_thread_settings import rollout_events, update
from tests.e2e.test_turns import new_thread, start_client
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, run_turn


async def settings_after(client: RpcClient, thread_id: str, **fields: Any) -> dict[str, Any]:
    """The `threadSettings` of the `thread/settings/updated` an update caused."""
    seen = len(client.notifications_named("thread/settings/updated"))
    assert (await update(client, thread_id, **fields)).result == {}
    note = await client.wait_notification(
        "thread/settings/updated",
        where=lambda m: m in client.notifications_named("thread/settings/updated")[seen:],
    )
    settings: dict[str, Any] = note["params"]["threadSettings"]
    return settings


def developer_texts(body: dict[str, Any]) -> list[str]:
    return [
        part["text"]
        for item in body["input"]
        if item.get("role") == "developer"
        for part in item["content"]
    ]


async def test_personality_and_disabled_plugins_are_saved_and_reported(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)

    await settings_after(client, thread_id, personality="friendly")
    settings = await settings_after(client, thread_id, disabledPluginIds=["a@b"])

    assert (settings["personality"], settings["disabledPluginIds"]) == ("friendly", ["a@b"])
    assert settings["multiAgentMode"] == "explicitRequestOnly"


async def test_multi_agent_mode_is_ignored_as_codex_ignores_it(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)

    assert (await update(client, thread_id, multiAgentMode="proactive")).result == {}

    await client.call("thread/loaded/list", {})  # a round trip after the answer
    assert client.notifications_named("thread/settings/updated") == []


async def test_the_active_permission_profile_follows_how_the_sandbox_was_chosen(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)

    by_default = await settings_after(client, thread_id, personality="none")
    by_profile = await settings_after(client, thread_id, permissions=":workspace")
    by_policy = await settings_after(client, thread_id, sandboxPolicy={"type": "readOnly"})

    assert by_default["activePermissionProfile"] == {"id": ":read-only", "extends": None}
    assert by_profile["activePermissionProfile"] == {"id": ":workspace", "extends": None}
    assert by_policy["activePermissionProfile"] is None


async def test_no_environments_are_reported_after_an_empty_selection(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)

    cleared = await settings_after(client, thread_id, environments=[])
    selected = await settings_after(
        client, thread_id, environments=[{"environmentId": "local", "cwd": "/tmp"}]
    )

    assert cleared["environments"] == []
    assert selected["cwd"] == "/tmp"
    assert selected["environments"][0]["environmentId"] == "local"


async def test_plan_mode_brings_its_instructions_to_the_next_turn(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    plan = {"model": "gpt-plan", "reasoning_effort": "low", "developer_instructions": None}

    settings = await settings_after(
        client, thread_id, collaborationMode={"mode": "plan", "settings": plan}
    )
    model_server.enqueue(Reply.text("a plan"))
    await run_turn(client, thread_id, "hi")

    mode = settings["collaborationMode"]
    assert (mode["mode"], mode["settings"]["model"], settings["effort"]) == (
        "plan",
        "gpt-plan",
        "low",
    )
    assert mode["settings"]["developer_instructions"] == plan_mode_instructions()
    body = model_server.requests[-1].body
    assert body["model"] == "gpt-plan"
    expected = f"<collaboration_mode>{plan_mode_instructions()}</collaboration_mode>"
    assert expected in developer_texts(body)


async def test_changed_collaboration_instructions_are_told_to_the_model_once(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("one"), Reply.text("two"), Reply.text("three"))
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "first")
    brief = {"model": "gpt-test", "reasoning_effort": None, "developer_instructions": "be brief"}

    await settings_after(
        client, thread_id, collaborationMode={"mode": "default", "settings": brief}
    )
    await run_turn(client, thread_id, "second")
    await run_turn(client, thread_id, "third")

    told = "<collaboration_mode>be brief</collaboration_mode>"
    first, second, third = (developer_texts(r.body) for r in model_server.requests)
    assert told not in first
    assert second.count(told) == 1
    assert third.count(told) == 1  # told once, in the history; not again


async def test_saved_fields_are_recorded_in_the_rollout(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("hello"))
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "hi")

    await settings_after(client, thread_id, personality="pragmatic", disabledPluginIds=["p@m"])

    path = (await client.call("thread/read", {"threadId": thread_id}))["thread"]["path"]
    recorded = rollout_events(path, "thread_settings_applied")[-1]["thread_settings"]
    assert (recorded["personality"], recorded["disabled_plugin_ids"]) == ("pragmatic", ["p@m"])


async def test_saved_fields_come_back_when_the_thread_is_resumed_after_a_restart(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("hello"), Reply.text("again"))
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "hi")
    brief = {"model": "gpt-test", "reasoning_effort": None, "developer_instructions": "be brief"}
    await settings_after(
        client,
        thread_id,
        personality="friendly",
        disabledPluginIds=["a@b"],
        collaborationMode={"mode": "default", "settings": brief},
    )
    await client.close()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)
    resumed = await again.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    settings = await settings_after(again, thread_id, effort="high")

    assert resumed["disabledPluginIds"] == ["a@b"]
    assert resumed["collaborationMode"]["settings"]["developer_instructions"] == "be brief"
    assert (settings["personality"], settings["disabledPluginIds"]) == ("friendly", ["a@b"])
    await run_turn(again, thread_id, "more")
    told = "<collaboration_mode>be brief</collaboration_mode>"
    assert developer_texts(model_server.requests[-1].body).count(told) == 1  # not told twice


async def test_a_turns_multi_agent_mode_is_accepted_and_ignored_as_codex_does(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("hello"))
    thread_id = await new_thread(client)

    turn = await run_turn(client, thread_id, "hi", multiAgentMode="proactive")

    assert turn["status"] == "completed"
    assert client.notifications_named("thread/settings/updated") == []
    path = (await client.call("thread/read", {"threadId": thread_id}))["thread"]["path"]
    (context,) = [
        line["payload"]
        for line in map(json.loads, Path(path).read_text().splitlines())
        if line["type"] == "turn_context"
    ]
    assert "multi_agent_mode" not in context  # codex 0.169 records nothing of it


def environment_contexts(body: dict[str, Any]) -> list[str]:
    return [
        part["text"]
        for item in body["input"]
        if item.get("role") == "user"
        for part in item["content"]
        if part["text"].startswith("<environment_context>")
    ]


async def test_without_an_environment_the_model_is_told_no_cwd_or_shell(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("one"), Reply.text("two"))
    thread_id = await new_thread(client, cwd=str(tmp_path))
    await settings_after(client, thread_id, environments=[])

    await run_turn(client, thread_id, "first")
    await settings_after(
        client, thread_id, environments=[{"environmentId": "local", "cwd": str(tmp_path)}]
    )
    await run_turn(client, thread_id, "second")

    (first,) = environment_contexts(model_server.requests[0].body)
    assert "<cwd>" not in first
    assert "<shell>" not in first
    assert "<current_date>" in first
    told_again = environment_contexts(model_server.requests[1].body)[-1]
    assert f"<cwd>{tmp_path}</cwd>" in told_again


async def test_an_unknown_environment_is_refused_with_codex_text(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)

    reply = await update(
        client, thread_id, environments=[{"environmentId": "remote1", "cwd": str(tmp_path)}]
    )

    assert (reply.code, reply.message) == (-32600, "unknown turn environment id `remote1`")
