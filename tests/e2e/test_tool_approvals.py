"""Approvals end to end: the server asks the client before a command or a patch runs, waits for
the answer, and each decision does what PROTOCOL.md §9 says."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import (
    completed_items,
    method_order,
    start_thread,
    start_turn,
    tool_client,
    tool_output,
    turn,
    wait_turn,
    workspace_write,
)
from tests.support.turn_env import MODEL_ENV, write_model_config

APPROVAL = "item/commandExecution/requestApproval"
ORDER_METHODS = {
    "thread/status/changed",
    "item/started",
    APPROVAL,
    "serverRequest/resolved",
    "item/completed",
}


def touch(name: str, call_id: str) -> Reply:
    return Reply.function_call("exec_command", {"cmd": f"touch {name}"}, call_id=call_id)


async def untrusted_thread(client: RpcClient, cwd: Path) -> str:
    return await start_thread(client, cwd, approval="untrusted", sandbox="workspace-write")


async def answer_next(client: RpcClient, result: Any, timeout: float = 10) -> dict[str, Any]:
    request = await asyncio.wait_for(client.server_requests.get(), timeout)
    await client.respond(request["id"], result)
    return request


async def test_command_waits_for_the_clients_accept_then_runs(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(touch("x.txt", "call_1"), Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await untrusted_thread(client, tmp_path)
    since = len(client.received)
    turn_id = await start_turn(client, thread_id)
    request = await asyncio.wait_for(client.server_requests.get(), 10)
    assert request["method"] == APPROVAL
    await asyncio.sleep(0.3)
    assert not (tmp_path / "x.txt").exists()  # nothing runs before the answer
    params = request["params"]
    assert params["itemId"] == "call_1"
    assert params["threadId"] == thread_id
    assert params["turnId"] == turn_id
    assert params["command"] == "/bin/bash -lc 'touch x.txt'"
    assert params["cwd"] == str(tmp_path)
    assert params["proposedExecpolicyAmendment"] == ["touch", "x.txt"]
    assert "availableDecisions" not in params  # experimental: only for experimentalApi clients
    await client.respond(request["id"], {"decision": "accept"})
    assert (await wait_turn(client, turn_id))["status"] == "completed"
    assert (tmp_path / "x.txt").exists()
    (item,) = completed_items(client, "commandExecution")
    assert item["status"] == "completed"
    order = method_order(client, ORDER_METHODS, since=since)
    asked_at = order.index(APPROVAL)
    assert order[asked_at - 2 : asked_at + 5] == [
        "thread/status/changed",  # waitingOnApproval
        "item/started",
        APPROVAL,
        "serverRequest/resolved",
        "thread/status/changed",  # active again
        "item/completed",
        "item/started",  # the final agent message
    ]
    resolved = client.notifications_named("serverRequest/resolved")[0]["params"]
    assert resolved == {"threadId": thread_id, "requestId": request["id"]}
    flags = [
        n["params"]["status"].get("activeFlags")
        for n in client.notifications_named("thread/status/changed")
    ]
    assert ["waitingOnApproval"] in flags


async def test_decline_refuses_the_command_and_the_turn_goes_on(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(touch("x.txt", "call_1"), Reply.text("understood"))
    client = await tool_client(servers, model_server)
    thread_id = await untrusted_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    await answer_next(client, {"decision": "decline"})
    finished = await wait_turn(client, turn_id)
    assert finished["status"] == "completed"
    assert not (tmp_path / "x.txt").exists()
    (item,) = completed_items(client, "commandExecution")
    assert item["status"] == "declined"
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1") == (
        'exec_command failed: CreateProcess { message: "Rejected(\\"rejected by user\\")" }'
    )


async def test_cancel_refuses_the_command_and_interrupts_the_turn(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(touch("x.txt", "call_1"), Reply.text("never sent"), Reply.text("next"))
    client = await tool_client(servers, model_server)
    thread_id = await untrusted_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    await answer_next(client, {"decision": "cancel"})
    finished = await wait_turn(client, turn_id)
    assert finished["status"] == "interrupted"
    assert not (tmp_path / "x.txt").exists()
    (item,) = completed_items(client, "commandExecution")
    assert item["status"] == "declined"
    await turn(client, thread_id, "again")
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1").endswith("aborted by user")
    assert "<turn_aborted>" in str(requests[1].body["input"])


async def test_accept_for_session_skips_the_question_for_the_same_command(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        touch("x.txt", "call_1"), touch("x.txt", "call_2"), touch("y.txt", "call_3"), Reply.text("")
    )
    client = await tool_client(servers, model_server)
    thread_id = await untrusted_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    first = await answer_next(client, {"decision": "acceptForSession"})
    second = await answer_next(client, {"decision": "accept"})
    await wait_turn(client, turn_id)
    assert first["params"]["itemId"] == "call_1"
    assert second["params"]["itemId"] == "call_3"  # call_2 ran without asking
    statuses = [i["status"] for i in completed_items(client, "commandExecution")]
    assert statuses == ["completed", "completed", "completed"]


async def test_execpolicy_amendment_approves_commands_with_that_prefix(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(touch("x.txt", "call_1"), touch("x.txt z.txt", "call_2"), Reply.text(""))
    client = await tool_client(servers, model_server)
    thread_id = await untrusted_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    amendment = {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch", "x.txt"]}}
    await answer_next(client, {"decision": amendment})
    await wait_turn(client, turn_id)
    assert client.server_requests.empty()
    assert (tmp_path / "z.txt").exists()


async def test_client_error_answer_fails_the_command_without_running_it(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(touch("x.txt", "call_1"), Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await untrusted_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    request = await asyncio.wait_for(client.server_requests.get(), 10)
    await client.send_raw(
        f'{{"id": {request["id"]}, "error": {{"code": -32000, "message": "client refused"}}}}'
    )
    assert (await wait_turn(client, turn_id))["status"] == "completed"
    assert not (tmp_path / "x.txt").exists()
    (item,) = completed_items(client, "commandExecution")
    assert item["status"] == "failed"
    requests = await model_server.wait_for_requests(2)
    assert "approval request failed" in tool_output(requests[1], "call_1")


async def test_unanswered_approval_times_out_and_the_turn_ends(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(touch("x.txt", "call_1"))
    client = await tool_client(servers, model_server, "-c", "approval_timeout_seconds=0.5")
    thread_id = await untrusted_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    request = await asyncio.wait_for(client.server_requests.get(), 10)
    finished = await wait_turn(client, turn_id)
    assert finished["status"] == "interrupted"
    assert not (tmp_path / "x.txt").exists()
    resolved = client.notifications_named("serverRequest/resolved")
    assert [n["params"]["requestId"] for n in resolved] == [request["id"]]


async def test_client_disconnect_cancels_the_approval_and_ends_the_turn(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    model_server.enqueue(touch("x.txt", "call_1"))
    process = await servers.start(listen_ws=True, env=MODEL_ENV)
    asker = await servers.ws_client(process)
    await asker.initialize()
    watcher = await servers.ws_client(process)
    await watcher.initialize()
    thread_id = await untrusted_thread(asker, tmp_path)
    turn_id = await start_turn(asker, thread_id)
    await asyncio.wait_for(asker.server_requests.get(), 10)
    await asker.close()
    await watcher.wait_notification(
        "thread/status/changed",
        where=lambda m: (
            m["params"]["threadId"] == thread_id and m["params"]["status"]["type"] != "active"
        ),
        timeout=10,
    )
    read = await watcher.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    (only,) = read["thread"]["turns"]
    assert (only["id"], only["status"]) == (turn_id, "interrupted")
    assert not (tmp_path / "x.txt").exists()


async def test_every_subscriber_is_asked_and_the_first_answer_wins(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    model_server.enqueue(Reply.text("first"), touch("x.txt", "call_1"), Reply.text("ok"))
    process = await servers.start(listen_ws=True, env=MODEL_ENV)
    first = await servers.ws_client(process)
    await first.initialize()
    second = await servers.ws_client(process)
    await second.initialize()
    thread_id = await untrusted_thread(first, tmp_path)
    await turn(first, thread_id, "hello")  # on disk now: others may resume it
    await second.call("thread/resume", {"threadId": thread_id})
    turn_id = await start_turn(first, thread_id)
    asked_first = await asyncio.wait_for(first.server_requests.get(), 10)
    asked_second = await asyncio.wait_for(second.server_requests.get(), 10)
    assert asked_first["params"] == asked_second["params"]
    await second.respond(asked_second["id"], {"decision": "accept"})
    await wait_turn(first, turn_id)
    assert (tmp_path / "x.txt").exists()
    for client, asked in ((first, asked_first), (second, asked_second)):
        resolved = client.notifications_named("serverRequest/resolved")
        assert [n["params"]["requestId"] for n in resolved] == [asked["id"]]
    await first.respond(asked_first["id"], {"decision": "decline"})  # too late: ignored
    await asyncio.sleep(0.2)
    assert len(completed_items(first, "commandExecution")) == 1


async def test_escalation_is_asked_with_its_justification_and_refused_under_never(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    escalate = {
        "cmd": "touch x.txt",
        "sandbox_permissions": "require_escalated",
        "justification": "need to write",
    }
    model_server.enqueue(
        Reply.function_call("exec_command", escalate, call_id="call_1"),
        Reply.text("ok"),
        Reply.function_call("exec_command", escalate, call_id="call_2"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path, approval="on-request", sandbox="read-only")
    turn_id = await start_turn(client, thread_id)
    request = await answer_next(client, {"decision": "accept"})
    assert request["params"]["reason"] == "need to write"
    await wait_turn(client, turn_id)
    assert (tmp_path / "x.txt").exists()  # approved: ran outside the read-only sandbox
    (tmp_path / "x.txt").unlink()
    await turn(client, thread_id, approvalPolicy="never")
    assert client.server_requests.empty()
    assert not (tmp_path / "x.txt").exists()
    requests = await model_server.wait_for_requests(4)
    assert "not allowed by the approval policy" in tool_output(requests[3], "call_2")


async def test_patch_outside_the_roots_is_asked_about_in_codex_order(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / "work").mkdir()
    outside = tmp_path / "elsewhere.txt"
    patch = f"*** Begin Patch\n*** Add File: {outside}\n+hi\n*** End Patch\n"
    model_server.enqueue(Reply.custom_tool_call("apply_patch", patch, call_id="call_1"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path / "work", approval="on-request")
    since = len(client.received)
    turn_id = await start_turn(client, thread_id, sandboxPolicy=workspace_write())
    request = await answer_next(client, {"decision": "accept"})
    assert request["method"] == "item/fileChange/requestApproval"
    assert request["params"]["itemId"] == "call_1"
    await wait_turn(client, turn_id)
    assert outside.read_text() == "hi\n"
    order = method_order(client, ORDER_METHODS | {"item/fileChange/requestApproval"}, since=since)
    patch_part = order[order.index("item/fileChange/requestApproval") - 2 :][:6]
    assert patch_part == [
        "item/started",
        "thread/status/changed",
        "item/fileChange/requestApproval",
        "serverRequest/resolved",
        "thread/status/changed",
        "item/completed",
    ]


async def test_declined_patch_changes_nothing(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / "keep.txt").write_text("before\n")
    patch = (
        "*** Begin Patch\n*** Update File: keep.txt\n@@\n-before\n+after\n"
        "*** Add File: new.txt\n+x\n*** End Patch\n"
    )
    model_server.enqueue(
        Reply.custom_tool_call("apply_patch", patch, call_id="call_1"), Reply.text("")
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(
        client, tmp_path, approval="untrusted", sandbox="workspace-write"
    )
    turn_id = await start_turn(client, thread_id)
    await answer_next(client, {"decision": "decline"})
    await wait_turn(client, turn_id)
    assert (tmp_path / "keep.txt").read_text() == "before\n"
    assert not (tmp_path / "new.txt").exists()
    (item,) = completed_items(client, "fileChange")
    assert item["status"] == "declined"
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1") == "patch rejected by user"


async def test_an_approved_prefix_does_not_cover_chained_commands(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        touch("x.txt", "call_1"), touch("x.txt && touch sneaky.txt", "call_2"), Reply.text("")
    )
    client = await tool_client(servers, model_server)
    thread_id = await untrusted_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    amendment = {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch", "x.txt"]}}
    await answer_next(client, {"decision": amendment})
    second = await answer_next(client, {"decision": "decline"})
    await wait_turn(client, turn_id)
    assert second["params"]["itemId"] == "call_2"
    assert not (tmp_path / "sneaky.txt").exists()


async def test_network_policy_amendment_counts_as_approval(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(touch("x.txt", "call_1"), Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await untrusted_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    amendment = {"network_policy_amendment": {"host": "example.com", "action": "allow"}}
    await answer_next(client, {"decision": {"applyNetworkPolicyAmendment": amendment}})
    await wait_turn(client, turn_id)
    assert (tmp_path / "x.txt").exists()
    assert completed_items(client, "commandExecution")[0]["status"] == "completed"


async def test_interrupt_while_a_patch_waits_for_approval_closes_its_item(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    patch = "*** Begin Patch\n*** Add File: new.txt\n+x\n*** End Patch\n"
    model_server.enqueue(Reply.custom_tool_call("apply_patch", patch, call_id="call_1"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(
        client, tmp_path, approval="untrusted", sandbox="workspace-write"
    )
    turn_id = await start_turn(client, thread_id)
    request = await asyncio.wait_for(client.server_requests.get(), 10)
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    assert (await wait_turn(client, turn_id))["status"] == "interrupted"
    (item,) = completed_items(client, "fileChange")
    assert item["status"] == "declined"
    assert not (tmp_path / "new.txt").exists()
    resolved = client.notifications_named("serverRequest/resolved")
    assert [n["params"]["requestId"] for n in resolved] == [request["id"]]
