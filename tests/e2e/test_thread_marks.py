"""Read receipts and goals against the real server process (codex 0.169's behaviour, observed on
the binary): `thread/readState/update`, `readState` / `readStates`, `thread/readState/changed`,
`thread/goal/set|get|clear` and their notifications. Every answer and notification is checked
against the upstream schema by the client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.e2e.test_turns import new_thread, start_client
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import run_turn


async def thread_with_a_turn(client: RpcClient, model: ModelServer) -> tuple[str, str]:
    model.enqueue(Reply.text("hello"))
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hi")
    return thread_id, turn["id"]


async def read_state(client: RpcClient, thread_id: str) -> dict[str, Any]:
    result = await client.call("thread/read", {"threadId": thread_id})
    state: dict[str, Any] = result["readState"]
    return state


async def mark(client: RpcClient, thread_id: str, revision: str, op: str) -> Any:
    return await client.request(
        "thread/readState/update",
        {"threadId": thread_id, "expectedRevision": revision, "operation": {"type": op}},
    )


async def test_a_completed_turn_is_the_first_unread_position(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id, turn_id = await thread_with_a_turn(client, model_server)
    state = await read_state(client, thread_id)
    assert state["firstUnread"] == {"type": "turn", "turnId": turn_id}
    listed = await client.call("thread/list", {})
    assert listed["readStates"][thread_id] == state


async def test_read_state_changed_comes_before_idle_and_turn_completed(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    _, turn_id = await thread_with_a_turn(client, model_server)
    order = [
        m["method"]
        for m in client.notifications
        if m["method"] in ("thread/readState/changed", "thread/status/changed", "turn/completed")
    ]
    assert order[-3:] == ["thread/readState/changed", "thread/status/changed", "turn/completed"]
    changed = client.notifications_named("thread/readState/changed")[-1]["params"]
    assert changed["readState"]["firstUnread"] == {"type": "turn", "turnId": turn_id}


async def test_a_thread_without_a_rollout_has_no_read_state(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    result = await client.call("thread/read", {"threadId": thread_id})
    assert result["readState"] is None


async def test_marking_read_announces_the_change_before_answering(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id, _ = await thread_with_a_turn(client, model_server)
    before = await read_state(client, thread_id)
    seen = len(client.received)
    reply = await mark(client, thread_id, before["revision"], "read")
    assert reply.result["readState"]["firstUnread"] is None
    assert reply.result["readState"]["revision"] != before["revision"]
    after = client.received[seen:]
    methods = [m.get("method", "response") for m in after]
    assert methods[:2] == ["thread/readState/changed", "response"]
    assert await read_state(client, thread_id) == reply.result["readState"]


async def test_marking_unread_points_at_the_thread_start(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id, _ = await thread_with_a_turn(client, model_server)
    before = await read_state(client, thread_id)
    reply = await mark(client, thread_id, before["revision"], "unread")
    assert reply.result["readState"]["firstUnread"] == {"type": "threadStart"}


async def test_a_stale_revision_is_refused_with_the_current_state(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id, _ = await thread_with_a_turn(client, model_server)
    seen = await read_state(client, thread_id)
    first, second = await asyncio.gather(
        mark(client, thread_id, seen["revision"], "read"),
        mark(client, thread_id, seen["revision"], "unread"),
    )
    refused = [r for r in (first, second) if r.error is not None]
    accepted = [r for r in (first, second) if r.error is None]
    assert len(refused) == 1
    assert len(accepted) == 1
    assert refused[0].code == -32600
    assert refused[0].message == "read state changed"
    assert refused[0].error["data"] == {
        "reason": "readStateConflict",
        "readState": accepted[0].result["readState"],
    }


async def test_marking_an_unknown_thread_is_refused(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    missing = "00000000-0000-0000-0000-000000000000"
    reply = await mark(client, missing, "x", "read")
    assert reply.code == -32600
    assert reply.message == f"thread not loaded: {missing}"


async def test_read_states_and_goals_survive_a_restart(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id, _ = await thread_with_a_turn(client, model_server)
    state = (
        await mark(client, thread_id, (await read_state(client, thread_id))["revision"], "read")
    ).result["readState"]
    goal = await client.call(
        "thread/goal/set", {"threadId": thread_id, "objective": "ship it", "status": "paused"}
    )
    await client.close()
    again = await servers.stdio()
    await again.initialize(experimental=True)
    assert await read_state(again, thread_id) == state
    got = await again.call("thread/goal/get", {"threadId": thread_id})
    assert got["goal"] == goal["goal"]


async def test_setting_a_goal_answers_then_announces_it(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    seen = len(client.received)
    result = await client.call(
        "thread/goal/set", {"threadId": thread_id, "objective": "ship it", "status": "paused"}
    )
    goal = result["goal"]
    assert (goal["objective"], goal["status"], goal["tokenBudget"]) == ("ship it", "paused", None)
    update = await client.wait_notification("thread/goal/updated")
    assert update["params"] == {"threadId": thread_id, "turnId": None, "goal": goal}
    methods = [m.get("method", "response") for m in client.received[seen:]]
    assert methods[:2] == ["response", "thread/goal/updated"]
    assert (await client.call("thread/goal/get", {"threadId": thread_id}))["goal"] == goal


async def test_a_goal_update_keeps_the_fields_it_does_not_name(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    await client.call(
        "thread/goal/set", {"threadId": thread_id, "objective": "ship it", "status": "paused"}
    )
    result = await client.call("thread/goal/set", {"threadId": thread_id, "tokenBudget": 1000})
    assert (result["goal"]["objective"], result["goal"]["status"]) == ("ship it", "paused")
    assert result["goal"]["tokenBudget"] == 1000


async def test_invalid_goals_are_refused_with_codex_texts(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"objective": "  "}, "goal objective must not be empty"),
        ({"objective": "x", "tokenBudget": 0}, "goal budgets must be positive when provided"),
        ({"status": "paused"}, f"cannot update goal for thread {thread_id}: no goal exists"),
    ]
    for params, message in cases:
        reply = await client.request("thread/goal/set", {"threadId": thread_id, **params})
        assert (reply.code, reply.message) == (-32600, message)
    missing = "00000000-0000-0000-0000-000000000000"
    reply = await client.request("thread/goal/get", {"threadId": missing})
    assert (reply.code, reply.message) == (-32600, f"thread not found: {missing}")


async def test_clearing_a_goal_announces_it_once(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    await client.call(
        "thread/goal/set", {"threadId": thread_id, "objective": "ship it", "status": "paused"}
    )
    assert (await client.call("thread/goal/clear", {"threadId": thread_id}))["cleared"] is True
    assert (await client.call("thread/goal/clear", {"threadId": thread_id}))["cleared"] is False
    await client.call("thread/goal/get", {"threadId": thread_id})  # a round trip
    assert len(client.notifications_named("thread/goal/cleared")) == 1
    assert (await client.call("thread/goal/get", {"threadId": thread_id}))["goal"] is None


async def test_resuming_a_thread_without_a_goal_says_goal_cleared(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id, _ = await thread_with_a_turn(client, model_server)
    await client.close()
    again = await servers.stdio()
    await again.initialize(experimental=True)
    await again.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    cleared = await again.wait_notification("thread/goal/cleared")
    assert cleared["params"] == {"threadId": thread_id}


def goal_lines(path: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    return [
        r["payload"]
        for r in records
        if r["type"] == "event_msg" and r["payload"]["type"] == "thread_goal_updated"
    ]


async def test_goal_changes_are_recorded_in_the_rollout_as_codex_does(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id, _ = await thread_with_a_turn(client, model_server)
    first = await client.call(
        "thread/goal/set", {"threadId": thread_id, "objective": "ship it", "status": "paused"}
    )
    second = await client.call("thread/goal/set", {"threadId": thread_id, "tokenBudget": 1000})
    await client.call("thread/goal/clear", {"threadId": thread_id})
    path = (await client.call("thread/read", {"threadId": thread_id}))["thread"]["path"]
    lines = goal_lines(path)
    assert len(lines) == 2  # codex records no line for a clear
    unset = {k: v for k, v in first["goal"].items() if v is not None}
    assert lines[0] == {"type": "thread_goal_updated", "threadId": thread_id, "goal": unset}
    assert lines[1]["goal"] == second["goal"]


async def test_a_rollout_with_goal_lines_resumes_after_a_restart(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id, turn_id = await thread_with_a_turn(client, model_server)
    await client.call(
        "thread/goal/set", {"threadId": thread_id, "objective": "ship it", "status": "paused"}
    )
    await client.close()
    again = await servers.stdio()
    await again.initialize(experimental=True)
    resumed = await again.call("thread/resume", {"threadId": thread_id})
    assert [turn["id"] for turn in resumed["thread"]["turns"]] == [turn_id]
    got = await again.call("thread/goal/get", {"threadId": thread_id})
    assert got["goal"]["objective"] == "ship it"
