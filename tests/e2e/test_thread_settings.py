"""`thread/settings/update`, `turn/settings/update` and `thread/metadata/update` against the real
server process, as codex 0.169 behaves (observed on the binary): the settings answer `{}` comes
first and `thread/settings/updated` follows only when a value changed; the change reaches the
next turn's model request and, recorded in the rollout, survives a restart. Every answer and
notification is checked against the upstream schema by the client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.e2e.test_turns import new_thread, start_client
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, run_turn

MISSING = "00000000-0000-0000-0000-000000000000"


async def thread_with_a_turn(client: RpcClient, model: ModelServer) -> str:
    model.enqueue(Reply.text("hello"))
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "hi")
    return thread_id


async def update(client: RpcClient, thread_id: str, **fields: Any) -> Any:
    return await client.request("thread/settings/update", {"threadId": thread_id, **fields})


def rollout_events(path: str, kind: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    return [
        line["payload"]
        for line in lines
        if line["type"] == "event_msg" and line["payload"]["type"] == kind
    ]


async def test_a_settings_change_answers_then_announces_the_new_settings(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    seen = len(client.received)
    reply = await update(client, thread_id, model="gpt-other", effort="high")
    assert reply.result == {}
    note = await client.wait_notification("thread/settings/updated")
    methods = [m.get("method", "response") for m in client.received[seen:]]
    assert methods[:2] == ["response", "thread/settings/updated"]
    settings = note["params"]["threadSettings"]
    assert note["params"]["threadId"] == thread_id
    assert (settings["model"], settings["effort"]) == ("gpt-other", "high")
    assert settings["collaborationMode"]["settings"]["reasoning_effort"] == "high"
    assert settings["environments"][0]["cwd"] == settings["cwd"]


async def test_an_update_that_changes_nothing_sends_no_notification(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    await update(client, thread_id, model="gpt-other")
    await client.wait_notification("thread/settings/updated")
    assert (await update(client, thread_id, model="gpt-other")).result == {}
    assert (await update(client, thread_id)).result == {}
    await client.call("thread/loaded/list", {})  # a round trip after both answers
    assert len(client.notifications_named("thread/settings/updated")) == 1


async def test_the_next_turn_uses_the_updated_settings(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    await update(client, thread_id, model="gpt-other", effort="high", approvalPolicy="never")
    model_server.enqueue(Reply.text("hello"))
    await run_turn(client, thread_id, "hi")
    body = model_server.requests[-1].body
    assert body["model"] == "gpt-other"
    assert body["reasoning"]["effort"] == "high"


async def test_a_change_is_recorded_in_the_rollout_at_once(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await thread_with_a_turn(client, model_server)
    await update(client, thread_id, model="gpt-other", effort="high")
    await client.wait_notification("thread/settings/updated")
    path = (await client.call("thread/read", {"threadId": thread_id}))["thread"]["path"]
    applied = rollout_events(path, "thread_settings_applied")
    assert len(applied) == 2  # the first turn's, then the update's
    assert applied[-1]["thread_settings"]["model"] == "gpt-other"
    assert applied[-1]["thread_settings"]["reasoning_effort"] == "high"


async def test_updated_settings_survive_a_restart(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await thread_with_a_turn(client, model_server)
    await update(client, thread_id, model="gpt-other", effort="high", approvalPolicy="never")
    await client.wait_notification("thread/settings/updated")
    await client.close()
    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)
    resumed = await again.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    assert (resumed["model"], resumed["reasoningEffort"]) == ("gpt-other", "high")
    assert resumed["approvalPolicy"] == "never"
    model_server.enqueue(Reply.text("again"))
    await run_turn(again, thread_id, "more")
    assert model_server.requests[-1].body["model"] == "gpt-other"


async def test_invalid_settings_updates_are_refused_with_codex_texts(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    reply = await update(
        client, thread_id, sandboxPolicy={"type": "dangerFullAccess"}, permissions=":workspace"
    )
    assert (reply.code, reply.message) == (
        -32600,
        "`permissions` cannot be combined with `sandboxPolicy`",
    )
    reply = await update(client, MISSING, model="m")
    assert (reply.code, reply.message) == (-32600, f"thread not found: {MISSING}")


async def test_a_null_service_tier_reports_the_default_tier(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    await update(client, thread_id, serviceTier="flex")
    first = await client.wait_notification("thread/settings/updated")
    assert first["params"]["threadSettings"]["serviceTier"] == "flex"
    await update(client, thread_id, serviceTier=None)
    second = await client.wait_notification(
        "thread/settings/updated", where=lambda m: m is not first
    )
    assert second["params"]["threadSettings"]["serviceTier"] == "default"


async def test_turn_settings_updates_are_refused_without_step_model_switching(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    reply = await client.request(
        "turn/settings/update", {"threadId": thread_id, "turnId": "t", "model": "x"}
    )
    assert (reply.code, reply.message) == (
        -32600,
        "turn settings updates require the step_model_switching feature",
    )


async def metadata(client: RpcClient, thread_id: str, **fields: Any) -> Any:
    return await client.request("thread/metadata/update", {"threadId": thread_id, **fields})


async def test_a_metadata_update_answers_the_patched_thread_without_notifying(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await thread_with_a_turn(client, model_server)
    seen = len(client.notifications)
    reply = await metadata(
        client, thread_id, gitInfo={"branch": "dev", "sha": "abc"}, daybreakEnabled=True
    )
    thread = reply.result["thread"]
    assert thread["id"] == thread_id
    assert thread["gitInfo"] == {"branch": "dev", "sha": "abc", "originUrl": None}
    assert thread["daybreakEnabled"] is True
    assert thread["status"] == {"type": "idle"}
    assert thread["environments"][0]["environmentId"] == "local"
    await client.call("thread/loaded/list", {})  # a round trip after the answer
    assert client.notifications[seen:] == []


async def test_invalid_metadata_updates_are_refused_with_codex_texts(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await thread_with_a_turn(client, model_server)
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "thread metadata update must include at least one field"),
        ({"gitInfo": None}, "thread metadata update must include at least one field"),
        ({"gitInfo": {}}, "gitInfo must include at least one field"),
        ({"gitInfo": {"branch": ""}}, "gitInfo.branch must not be empty"),
        ({"projectId": "nope"}, "project not found: nope"),
    ]
    for params, message in cases:
        reply = await metadata(client, thread_id, **params)
        assert (reply.code, reply.message) == (-32600, message)
    reply = await metadata(client, MISSING, daybreakEnabled=True)
    assert (reply.code, reply.message) == (-32600, f"thread not found: {MISSING}")


async def test_a_built_in_permissions_profile_selects_its_sandbox(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    await update(client, thread_id, permissions=":workspace")
    note = await client.wait_notification("thread/settings/updated")
    assert note["params"]["threadSettings"]["sandboxPolicy"]["type"] == "workspaceWrite"
    reply = await update(client, thread_id, permissions="nope")
    assert (reply.code, reply.message) == (
        -32600,
        "failed to load configuration: default_permissions requires a `[permissions]` table",
    )


async def test_settings_of_a_thread_that_is_not_loaded_are_refused(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await thread_with_a_turn(client, model_server)
    await client.close()
    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)
    reply = await update(again, thread_id, model="x")
    assert (reply.code, reply.message) == (-32600, f"thread not found: {thread_id}")
    patched = await metadata(again, thread_id, gitInfo={"branch": "b"})
    assert patched.result["thread"]["status"] == {"type": "notLoaded"}
    assert patched.result["thread"]["environments"] is None
