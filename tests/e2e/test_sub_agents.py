"""Sub-agents end to end (multi-agent v2, the `collaboration` namespace): a real server, a
scripted model that plays the parent and its children (requests routed by agent path)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.agent_env import (
    agent_messages,
    collab,
    items_of,
    requests_of,
    spawn,
    v2_client,
    wait_for_agent_requests,
)
from tests.support.client import StdioClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, start_turn, tool_client, tool_output, turn
from tests.support.turn_env import MODEL_ENV


async def test_a_spawned_child_runs_a_turn_and_its_answer_reaches_the_parent(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        spawn("helper", "compute 2+2", "call_spawn"),
        collab("wait_agent", {"timeout_ms": 20000}, "call_wait"),
        Reply.text("The helper says 4."),
    )
    model_server.enqueue_for("/root/helper", Reply.text("child says 4").delayed(first_byte=0.3))
    client = await v2_client(servers, model_server)
    parent = await start_thread(client, tmp_path)
    done = await turn(client, parent)

    assert done["status"] == "completed"
    (child_request,) = requests_of(model_server, "/root/helper")
    assert agent_messages(child_request)[-1] == (
        "Message Type: NEW_TASK\nTask name: /root/helper\nSender: /root\nPayload:\ncompute 2+2"
    )
    parent_requests = requests_of(model_server, "root")
    assert json.loads(tool_output(parent_requests[1], "call_spawn")) == {
        "task_name": "/root/helper"
    }
    assert json.loads(tool_output(parent_requests[2], "call_wait")) == {
        "message": "Wait completed.",
        "timed_out": False,
    }
    assert agent_messages(parent_requests[2]) == [
        "Message Type: FINAL_ANSWER\nTask name: /root\nSender: /root/helper\nPayload:\nchild says 4"
    ]
    activities = items_of(client, "item/completed", "subAgentActivity", parent)
    child_id = activities[0]["agentThreadId"]
    child_turn = await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["threadId"] == child_id
    )
    assert [(a["kind"], a["id"], a["agentPath"]) for a in activities] == [
        ("started", "call_spawn", "/root/helper"),
        ("completed", f"subagent-completed-{child_turn['params']['turn']['id']}", "/root/helper"),
    ]
    assert child_turn["params"]["turn"]["rootTurnId"] == done["id"]
    (waited,) = items_of(client, "item/completed", "collabAgentToolCall", parent)
    assert (waited["tool"], waited["status"], waited["senderThreadId"]) == (
        "wait",
        "completed",
        parent,
    )


async def test_a_child_is_a_real_thread_of_the_parents_session_tree(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(spawn("helper", "go", "call_spawn", fork_turns="none"), Reply.text("ok"))
    model_server.enqueue_for("/root/helper", Reply.text("done"))
    client = await v2_client(servers, model_server)
    parent = await start_thread(client, tmp_path)
    await turn(client, parent)
    (started,) = [
        a
        for a in items_of(client, "item/completed", "subAgentActivity", parent)
        if a["kind"] == "started"
    ]
    child_id = started["agentThreadId"]
    await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["threadId"] == child_id
    )
    read = await client.call("thread/resume", {"threadId": child_id})
    child = read["thread"]
    assert child["parentThreadId"] == parent
    assert child["sessionId"] == parent
    assert child["threadSource"] == "subagent"
    spawn_source = child["source"]["subAgent"]["thread_spawn"]
    assert (spawn_source["parent_thread_id"], spawn_source["depth"]) == (parent, 1)
    assert spawn_source["agent_path"] == "/root/helper"
    assert spawn_source["agent_nickname"] == child["agentNickname"]
    assert [i["text"] for i in child["turns"][-1]["items"] if i["type"] == "agentMessage"] == [
        "done"
    ]
    announced = [m["params"]["thread"]["id"] for m in client.notifications_named("thread/started")]
    assert child_id not in announced
    listed = await client.call("thread/list", {"parentThreadId": parent})
    assert [t["id"] for t in listed["data"]] == [child_id]
    default = await client.call("thread/list", {})
    assert child_id not in [t["id"] for t in default["data"]]


def _child_id(client: StdioClient, parent: str) -> str:
    """The thread id of the first child the parent spawned."""
    activities = items_of(client, "item/completed", "subAgentActivity", parent)
    return str(next(a for a in activities if a["kind"] == "started")["agentThreadId"])


async def test_send_message_reaches_a_running_child_at_its_next_step(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    child_sampling = asyncio.Event()
    model_server.enqueue(
        spawn("helper", "start", "call_spawn", fork_turns="none"),
        # the message is sent only once the child's first request is streaming
        collab(
            "send_message", {"target": "helper", "message": "extra info"}, "call_send"
        ).hang_after(0, release=child_sampling),
        collab("wait_agent", {"timeout_ms": 20000}, "call_wait"),
        Reply.text("done"),
    )
    model_server.enqueue_for(
        "/root/helper",
        Reply.function_call("curr_time", {}, call_id="c1", namespace="clock").delayed(
            first_byte=0.5
        ),
        Reply.text("got it"),
    )
    client = await v2_client(servers, model_server)
    parent = await start_thread(client, tmp_path)

    async def release_when_child_samples() -> None:
        await wait_for_agent_requests(model_server, "/root/helper")
        child_sampling.set()

    releaser = asyncio.create_task(release_when_child_samples())
    await turn(client, parent)
    await releaser

    parent_requests = requests_of(model_server, "root")
    assert tool_output(parent_requests[2], "call_send") == ""
    interacted = [
        a
        for a in items_of(client, "item/completed", "subAgentActivity", parent)
        if a["kind"] == "interacted"
    ]
    assert [(a["id"], a["agentPath"]) for a in interacted] == [("call_send", "/root/helper")]
    first, second = requests_of(model_server, "/root/helper")
    assert "extra info" not in json.dumps(first.body["input"])
    assert agent_messages(second)[-1] == (
        "Message Type: MESSAGE\nTask name: /root/helper\nSender: /root\nPayload:\nextra info"
    )


async def test_interrupt_agent_stops_the_childs_turn_and_reports_its_previous_status(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    gate = asyncio.Event()
    model_server.enqueue(
        spawn("busy", "work", "call_spawn", fork_turns="none"),
        collab("interrupt_agent", {"target": "/root/busy"}, "call_int"),
        collab("list_agents", {}, "call_list"),
        Reply.text("stopped it"),
    )
    model_server.enqueue_for(
        "/root/busy", Reply.text("never", deltas=4).hang_after(2, release=gate)
    )
    client = await v2_client(servers, model_server)
    parent = await start_thread(client, tmp_path)
    try:
        await turn(client, parent)
    finally:
        gate.set()
    child_id = _child_id(client, parent)
    child_turn = await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["threadId"] == child_id
    )
    assert child_turn["params"]["turn"]["status"] == "interrupted"
    requests = requests_of(model_server, "root")
    assert json.loads(tool_output(requests[2], "call_int")) == {"previous_status": "running"}
    assert json.loads(tool_output(requests[3], "call_list")) == {
        "agents": [
            {"agent_name": "/root", "agent_status": "running"},
            {"agent_name": "/root/busy", "agent_status": "interrupted"},
        ]
    }
    kinds = [a["kind"] for a in items_of(client, "item/completed", "subAgentActivity", parent)]
    assert kinds == ["started", "interrupted"]
    assert not any("FINAL_ANSWER" in m for r in requests for m in agent_messages(r))


async def test_two_children_run_at_the_same_time(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    gate = asyncio.Event()
    model_server.enqueue(
        spawn("a", "task a", "call_a", fork_turns="none"),
        spawn("b", "task b", "call_b", fork_turns="none"),
        collab("wait_agent", {"timeout_ms": 20000}, "call_wait"),
        Reply.text("both done"),
    )
    for name in ("a", "b"):
        model_server.enqueue_for(
            f"/root/{name}", Reply.text(f"{name} done", deltas=3).hang_after(1, release=gate)
        )
    client = await v2_client(servers, model_server)
    parent = await start_thread(client, tmp_path)
    turn_id = await start_turn(client, parent)

    await wait_for_agent_requests(model_server, "/root/a", "/root/b")
    assert not [
        m for m in client.notifications_named("turn/completed") if m["params"]["threadId"] != parent
    ], "neither child may finish before both are streaming"
    gate.set()
    await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id
    )
    completed = [
        a["agentPath"]
        for a in items_of(client, "item/completed", "subAgentActivity", parent)
        if a["kind"] == "completed"
    ]
    assert sorted(completed) == ["/root/a", "/root/b"]


async def test_spawning_beyond_max_threads_is_refused_with_a_clear_error(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    gate = asyncio.Event()
    model_server.enqueue(
        spawn("a", "task a", "call_a", fork_turns="none"),
        spawn("b", "task b", "call_b", fork_turns="none"),
        Reply.text("ok"),
    )
    model_server.enqueue_for("/root/a", Reply.text("a done", deltas=3).hang_after(1, release=gate))
    client = await v2_client(servers, model_server, max_threads=1)
    parent = await start_thread(client, tmp_path)
    try:
        await turn(client, parent)
    finally:
        gate.set()
    requests = requests_of(model_server, "root")
    assert tool_output(requests[2], "call_b") == "collab spawn failed: agent thread limit reached"
    paths = [a["agentPath"] for a in items_of(client, "item/started", "subAgentActivity", parent)]
    assert paths == ["/root/a"]


async def test_spawning_beyond_max_depth_is_refused_with_a_clear_error(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        spawn("a", "task a", "call_a", fork_turns="none"),
        collab("wait_agent", {"timeout_ms": 20000}, "call_wait"),
        Reply.text("ok"),
    )
    model_server.enqueue_for(
        "/root/a",
        spawn("deeper", "more", "call_deep", fork_turns="none"),
        Reply.text("did it myself"),
    )
    client = await v2_client(servers, model_server)  # default agents.max_depth = 1
    parent = await start_thread(client, tmp_path)
    await turn(client, parent)
    child_requests = requests_of(model_server, "/root/a")
    assert tool_output(child_requests[1], "call_deep") == (
        "Agent depth limit reached (agents.max_depth = 1). Solve the task yourself."
    )
    assert requests_of(model_server, "/root/a/deeper") == []


async def test_a_tree_survives_a_restart_in_the_middle_and_resumes(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    gate = asyncio.Event()
    model_server.enqueue(spawn("helper", "first", "call_spawn", fork_turns="none"))
    model_server.enqueue_for(
        "/root/helper", Reply.text("never", deltas=4).hang_after(1, release=gate)
    )
    client = await v2_client(servers, model_server)
    parent = await start_thread(client, tmp_path)
    await start_turn(client, parent)
    await wait_for_agent_requests(model_server, "/root/helper")
    child_id = _child_id(client, parent)
    await servers.processes[-1].kill()  # SIGKILL mid-turn, parent and child both running
    gate.set()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)
    child = (await again.call("thread/resume", {"threadId": child_id}))["thread"]
    assert (child["id"], child["parentThreadId"], child["sessionId"]) == (child_id, parent, parent)
    assert child["turns"][-1]["status"] == "interrupted"
    resumed = (await again.call("thread/resume", {"threadId": parent}))["thread"]
    assert (resumed["sessionId"], resumed["parentThreadId"]) == (parent, None)

    model_server.enqueue(
        collab("followup_task", {"target": "helper", "message": "second"}, "call_follow"),
        collab("wait_agent", {"timeout_ms": 20000}, "call_wait"),
        Reply.text("helper finished after the restart"),
    )
    model_server.enqueue_for("/root/helper", Reply.text("second result"))
    done = await turn(again, parent)
    assert done["status"] == "completed"
    last = requests_of(model_server, "root")[-1]
    assert agent_messages(last)[-1].endswith("Sender: /root/helper\nPayload:\nsecond result")
    child_last = requests_of(model_server, "/root/helper")[-1]
    assert agent_messages(child_last)[-1].endswith("Payload:\nsecond")
    assert any(m.endswith("Payload:\nfirst") for m in agent_messages(child_last))  # old history


async def _three_level_tree(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> tuple[StdioClient, str, dict[str, str]]:
    """root → /root/a → /root/a/b → /root/a/b/c, every agent done; returns the thread ids."""
    model_server.enqueue(
        spawn("a", "level 1", "call_a", fork_turns="none"),
        collab("wait_agent", {"timeout_ms": 20000}, "call_wait_a"),
        Reply.text("tree built"),
    )
    for path, child in (("/root/a", "b"), ("/root/a/b", "c")):
        model_server.enqueue_for(
            path,
            spawn(child, "deeper", f"call_{child}", fork_turns="none"),
            collab("wait_agent", {"timeout_ms": 20000}, f"call_wait_{child}"),
            Reply.text(f"{path} done"),
        )
    model_server.enqueue_for("/root/a/b/c", Reply.text("leaf done"))
    client = await v2_client(servers, model_server, max_depth=3)
    root = await start_thread(client, tmp_path)
    assert (await turn(client, root))["status"] == "completed"
    ids: dict[str, str] = {}
    for message in client.notifications_named("item/completed"):
        item = message["params"]["item"]
        if item["type"] == "subAgentActivity" and item["kind"] == "started":
            ids[item["agentPath"]] = item["agentThreadId"]
    assert sorted(ids) == ["/root/a", "/root/a/b", "/root/a/b/c"]
    return client, root, ids


async def test_ancestor_listing_pages_through_a_three_level_tree(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client, root, ids = await _three_level_tree(servers, model_server, tmp_path)
    unrelated = await start_thread(client, tmp_path)
    model_server.enqueue(Reply.text("unrelated"))
    await turn(client, unrelated)

    first = await client.call("thread/list", {"ancestorThreadId": root, "limit": 2})
    second = await client.call(
        "thread/list", {"ancestorThreadId": root, "limit": 2, "cursor": first["nextCursor"]}
    )
    assert len(first["data"]) == 2
    assert second["nextCursor"] is None
    listed = [t["id"] for t in first["data"] + second["data"]]
    assert sorted(listed) == sorted(ids.values())
    below_a = await client.call("thread/list", {"ancestorThreadId": ids["/root/a"]})
    assert sorted(t["id"] for t in below_a["data"]) == sorted(
        [ids["/root/a/b"], ids["/root/a/b/c"]]
    )
    children_of_a = await client.call("thread/list", {"parentThreadId": ids["/root/a"]})
    assert [t["id"] for t in children_of_a["data"]] == [ids["/root/a/b"]]


async def test_deleting_the_root_removes_the_tree_deepest_first(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client, root, ids = await _three_level_tree(servers, model_server, tmp_path)
    unrelated = await start_thread(client, tmp_path)
    model_server.enqueue(Reply.text("unrelated"))
    await turn(client, unrelated)
    paths = {
        thread_id: (await client.call("thread/read", {"threadId": thread_id}))["thread"]["path"]
        for thread_id in [root, *ids.values(), unrelated]
    }

    await client.call("thread/delete", {"threadId": root})
    deleted = [m["params"]["threadId"] for m in client.notifications_named("thread/deleted")]
    assert deleted == [ids["/root/a/b/c"], ids["/root/a/b"], ids["/root/a"], root]
    for thread_id in [root, *ids.values()]:
        assert not Path(paths[thread_id]).exists()
        error = await client.request("thread/read", {"threadId": thread_id})
        assert error.error is not None
    assert Path(paths[unrelated]).exists()
    remaining = await client.call("thread/list", {})
    assert [t["id"] for t in remaining["data"]] == [unrelated]


def _v1_route(body: dict[str, Any]) -> str:
    """A v1 child's task is its first user message."""
    for item in body.get("input") or []:
        if item.get("role") == "user" and any(
            part.get("text") == "v1 child task" for part in item.get("content") or []
        ):
            return "child"
    return "root"


async def test_multi_agent_v1_spawns_and_waits_with_collab_items(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.router = _v1_route
    model_server.enqueue(
        Reply.function_call(
            "spawn_agent",
            {"message": "v1 child task"},
            call_id="call_spawn",
            namespace="multi_agent_v1",
        ),
    )
    model_server.enqueue_for("child", Reply.text("child one result"))
    client = await tool_client(
        servers, model_server, extra_config="[agents]\nmin_wait_timeout_ms = 200\n"
    )
    parent = await start_thread(client, tmp_path)
    model_server.enqueue(Reply.text("placeholder"))
    first = await turn(client, parent)
    assert first["status"] == "completed"
    spawned = json.loads(tool_output(requests_of(model_server, "root")[1], "call_spawn"))
    child_id = spawned["agent_id"]
    assert spawned["nickname"]
    (item,) = [i for i in items_of(client, "item/completed", "collabAgentToolCall", parent)]
    assert (item["tool"], item["receiverThreadIds"], item["prompt"]) == (
        "spawnAgent",
        [child_id],
        "v1 child task",
    )
    assert item["agentsStates"] == {child_id: {"status": "pendingInit", "message": None}}
    await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["threadId"] == child_id
    )
    model_server.enqueue(
        Reply.function_call(
            "wait_agent",
            {"targets": [child_id], "timeout_ms": 5000},
            call_id="call_wait",
            namespace="multi_agent_v1",
        ),
        Reply.text("the child said: child one result"),
    )
    await turn(client, parent, "and now?")
    requests = requests_of(model_server, "root")
    assert json.loads(tool_output(requests[-1], "call_wait")) == {
        "status": {child_id: {"completed": "child one result"}},
        "timed_out": False,
    }
    waits = [
        i
        for i in items_of(client, "item/completed", "collabAgentToolCall", parent)
        if i["tool"] == "wait"
    ]
    assert waits[0]["agentsStates"] == {
        child_id: {"status": "completed", "message": "child one result"}
    }
    notices = [
        part["text"]
        for i in requests[-1].body["input"]
        if i.get("role") == "user"
        for part in i["content"]
        if "<subagent_notification>" in part.get("text", "")
    ]
    assert notices == [
        "<subagent_notification>\n"
        + json.dumps(
            {"agent_path": child_id, "status": {"completed": "child one result"}},
            separators=(",", ":"),
        )
        + "\n</subagent_notification>"
    ]
