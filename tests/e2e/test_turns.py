"""Turns against a real HTTP model fixture: streaming, persistence, steering, failures."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from tests.conftest import Servers
from tests.support.client import RpcClient, StdioClient
from tests.support.model_replies import (
    Reply,
    function_call,
    message,
    reasoning,
    responses_events,
)
from tests.support.model_server import ModelServer, RecordedRequest
from tests.support.turn_env import (
    MODEL,
    MODEL_ENV,
    run_turn,
    text_input,
    write_model_config,
)


async def start_client(
    servers: Servers,
    model: ModelServer,
    *,
    env: dict[str, str] | None = None,
    experimental: bool = False,
    **config: Any,
) -> StdioClient:
    write_model_config(servers.dirs.data_dir, model.base_url, **config)
    client = await servers.stdio(env=MODEL_ENV if env is None else env)
    await client.initialize(experimental=experimental)
    return client


async def new_thread(client: RpcClient, **params: Any) -> str:
    result = await client.call("thread/start", params)
    thread_id: str = result["thread"]["id"]
    return thread_id


def methods_for_turn(client: RpcClient, turn_id: str) -> list[str]:
    out = []
    for note in client.notifications:
        params = note.get("params") or {}
        if params.get("turnId") == turn_id or (params.get("turn") or {}).get("id") == turn_id:
            out.append(note["method"])
    return out


async def test_streamed_reply_arrives_as_deltas_that_add_up_to_the_item(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("Hello there, friend!", deltas=4, reasoning_summary=["Think"]))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hello")
    assert turn["status"] == "completed"
    deltas = [n["params"]["delta"] for n in client.notifications_named("item/agentMessage/delta")]
    assert len(deltas) == 4
    completed = [
        n["params"]["item"]
        for n in client.notifications_named("item/completed")
        if n["params"]["item"]["type"] == "agentMessage"
    ]
    assert "".join(deltas) == completed[0]["text"] == "Hello there, friend!"
    assert turn["items"] == [completed[0]]
    assert turn["itemsView"] == "summary"


async def test_notifications_come_in_codex_order(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("Hi", deltas=2, reasoning_summary=["Think"]))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hello")
    order = [m for m in methods_for_turn(client, turn["id"]) if "summary" not in m]
    assert order == [
        "turn/started",
        "item/started",  # userMessage
        "item/completed",
        "item/started",  # reasoning
        "item/completed",
        "item/started",  # agentMessage
        "item/agentMessage/delta",
        "item/agentMessage/delta",
        "item/completed",
        "thread/tokenUsage/updated",
        "turn/completed",
    ]
    statuses = [
        n["params"]["status"]["type"] for n in client.notifications_named("thread/status/changed")
    ]
    assert statuses == ["active", "idle"]
    all_methods = [n["method"] for n in client.notifications]
    assert all_methods.index("thread/status/changed") < all_methods.index("turn/started")


async def test_turn_survives_a_restart_and_reads_back_the_same(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("Persisted answer", deltas=3, reasoning_summary=["Why"]))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    live = await run_turn(client, thread_id, "remember this")
    live_items = [
        n["params"]["item"]
        for n in client.notifications_named("item/completed")
        if n["params"]["turnId"] == live["id"]
    ]
    await client.close()
    await servers.processes[0].wait()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    read = await again.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    (turn,) = read["thread"]["turns"]
    assert turn["id"] == live["id"]
    assert turn["status"] == "completed"
    assert turn["items"] == live_items
    assert read["thread"]["preview"] == "remember this"


async def test_second_turn_sends_the_first_turn_history_exactly(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("first answer"), Reply.text("second answer"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "one")
    await run_turn(client, thread_id, "two")
    first, second = (r.body for r in await model_server.wait_for_requests(2))
    assert second["input"][: len(first["input"])] == first["input"]
    added = second["input"][len(first["input"]) :]
    assert added[0]["role"] == "assistant"
    assert added[0]["content"][0]["text"] == "first answer"
    assert added[-1]["content"] == [{"type": "input_text", "text": "two"}]
    assert first["model"] == MODEL
    assert first["instructions"]


async def test_resumed_thread_sends_byte_identical_history(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("a"), Reply.text("b"), Reply.text("c"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "one")
    await run_turn(client, thread_id, "two")
    await client.close()
    await servers.processes[0].wait()
    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    await again.call("thread/resume", {"threadId": thread_id})
    await run_turn(again, thread_id, "three")
    _, live_second, resumed_third = (r.body for r in await model_server.wait_for_requests(3))
    prefix = live_second["input"] + [
        {
            "type": "message",
            "status": "completed",
            "id": resumed_third["input"][len(live_second["input"])]["id"],
            "role": "assistant",
            "content": [{"type": "output_text", "text": "b", "annotations": []}],
        }
    ]
    assert resumed_third["input"][: len(prefix)] == prefix
    assert resumed_third["instructions"] == live_second["instructions"]


async def test_interrupt_mid_stream_stops_the_model_stream_at_once(
    servers: Servers, model_server: ModelServer
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("never finished", deltas=5).hang_after(5, release, reached))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    result = await client.call("turn/start", {"threadId": thread_id, "input": text_input("go")})
    turn_id = result["turn"]["id"]
    await asyncio.wait_for(reached.wait(), 10)
    started = time.perf_counter()
    assert await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id}) == {}
    await model_server.wait_for_aborted_streams(1)
    assert time.perf_counter() - started < 0.1  # the model stream is cut within 100 ms
    done = await client.wait_notification("turn/completed")
    assert done["params"]["turn"]["status"] == "interrupted"
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    assert read["thread"]["turns"][0]["status"] == "interrupted"
    release.set()


async def steer_mid_reply(
    client: StdioClient,
    model_server: ModelServer,
    reply: Reply,
    hang_after_event: str,
    *,
    announced_by: str | None = "item/agentMessage/delta",
) -> tuple[str, str]:
    """Start a turn whose reply holds its stream open just after the first `hang_after_event`
    (the test never releases it), steer "also this" into it once the client has seen
    `announced_by` (the notification of that last event; call arguments have none, so `None`
    steers as soon as the model server has sent the frames), and wait until the turn has
    completed with the model's next answer ("after the steer"). Returns (thread id, turn id)."""
    release, reached = asyncio.Event(), asyncio.Event()
    events = responses_events(reply)
    at = next(i for i, event in enumerate(events) if event["type"] == hang_after_event) + 1
    model_server.enqueue(reply.hang_after(at, release, reached), Reply.text("after the steer"))
    thread_id = await new_thread(client)
    result = await client.call("turn/start", {"threadId": thread_id, "input": text_input("go")})
    turn_id = result["turn"]["id"]
    await asyncio.wait_for(reached.wait(), 10)
    if announced_by is not None:  # the stream is held: the steer lands mid-item
        await client.wait_notification(announced_by)
    steered = await client.call(
        "turn/steer",
        {"threadId": thread_id, "expectedTurnId": turn_id, "input": text_input("also this")},
    )
    assert steered == {"turnId": turn_id}
    done = await client.wait_notification("turn/completed", timeout=30)
    assert done["params"]["turn"]["status"] == "completed"
    assert done["params"]["turn"]["items"][0]["text"] == "after the steer"
    return thread_id, turn_id


PARTIAL_ANSWER = Reply.of(reasoning("thinking"), message("part one of a long answer", deltas=3))
"""A reply whose message is cut after its first delta by `steer_mid_reply`."""

TEXT_DELTA = "response.output_text.delta"


def input_texts(request: RecordedRequest) -> list[str]:
    return [
        part.get("text", "")
        for item in request.body["input"]
        if item.get("type") == "message"
        for part in item["content"]
    ]


async def test_steer_mid_stream_drops_the_model_stream_at_once(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    await steer_mid_reply(client, model_server, PARTIAL_ANSWER, TEXT_DELTA)
    # The held stream was never released: the turn could only finish by dropping it.
    await model_server.wait_for_aborted_streams(1)
    assert len(model_server.requests) == 2


async def test_steer_mid_stream_keeps_the_partial_answer_out_of_the_next_request(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    await steer_mid_reply(client, model_server, PARTIAL_ANSWER, TEXT_DELTA)
    second = (await model_server.wait_for_requests(2))[1]
    assert not any("part one" in text for text in input_texts(second))
    assert all(item.get("role") != "assistant" for item in second.body["input"])


async def test_steer_mid_stream_sends_the_steered_input_after_what_finished_before(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    await steer_mid_reply(client, model_server, PARTIAL_ANSWER, TEXT_DELTA)
    first, second = await model_server.wait_for_requests(2)
    added = second.body["input"][len(first.body["input"]) :]
    assert [item["type"] for item in added] == ["reasoning", "message"]
    assert added[0]["summary"] == [{"type": "summary_text", "text": "thinking"}]
    assert (added[1]["role"], input_texts(second)[-1]) == ("user", "also this")


async def test_steer_mid_stream_notifies_as_codex_without_completing_the_partial_item(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    _, turn_id = await steer_mid_reply(client, model_server, PARTIAL_ANSWER, TEXT_DELTA)
    items = [
        (note["method"], note["params"]["item"]["type"], note["params"]["item"]["id"])
        for note in client.notifications
        if note["method"] in ("item/started", "item/completed")
        and note["params"]["turnId"] == turn_id
    ]
    partial = next(item_id for _, kind, item_id in items if kind == "agentMessage")
    assert [(method, kind) for method, kind, _ in items] == [
        ("item/started", "userMessage"),
        ("item/completed", "userMessage"),
        ("item/started", "reasoning"),
        ("item/completed", "reasoning"),
        ("item/started", "agentMessage"),  # the partial answer: never completed
        ("item/started", "userMessage"),
        ("item/completed", "userMessage"),
        ("item/started", "agentMessage"),
        ("item/completed", "agentMessage"),
    ]
    assert ("item/completed", "agentMessage", partial) not in items
    assert methods_for_turn(client, turn_id) == [  # codex 0.169's sequence, observed
        "turn/started",
        "item/started",
        "item/completed",
        "item/started",
        "item/reasoning/summaryPartAdded",
        "item/reasoning/summaryTextDelta",
        "item/completed",
        "item/started",
        "item/agentMessage/delta",  # the stream is dropped here
        "item/started",
        "item/completed",
        "item/started",
        "item/agentMessage/delta",
        "item/completed",
        "thread/tokenUsage/updated",
        "turn/completed",
    ]


async def test_steer_mid_stream_reads_back_without_the_partial_answer(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    thread_id, _ = await steer_mid_reply(client, model_server, PARTIAL_ANSWER, TEXT_DELTA)
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    (turn,) = read["thread"]["turns"]
    assert [(item["type"], item.get("text")) for item in turn["items"]] == [
        ("userMessage", None),
        ("reasoning", None),
        ("userMessage", None),
        ("agentMessage", "after the steer"),
    ]
    assert turn["items"][2]["content"] == text_input("also this")
    rollout = read["thread"]["path"]
    assert rollout is not None
    with open(rollout, encoding="utf-8") as lines:
        assert "part one" not in lines.read()


async def test_steer_while_call_arguments_stream_drops_the_call_unrun(
    servers: Servers, model_server: ModelServer
) -> None:
    reply = Reply.of(function_call("nope", {"a": "bcdefgh"}, call_id="call_x", deltas=3))
    client = await start_client(servers, model_server)
    arguments_delta = "response.function_call_arguments.delta"
    await steer_mid_reply(client, model_server, reply, arguments_delta, announced_by=None)
    second = (await model_server.wait_for_requests(2))[1]
    assert "call_x" not in str(second.body["input"])
    assert input_texts(second)[-1] == "also this"


async def test_steer_after_a_finished_call_answers_the_call_before_the_steered_input(
    servers: Servers, model_server: ModelServer
) -> None:
    reply = Reply.of(function_call("nope", {}, call_id="call_x"), message("more", deltas=2))
    client = await start_client(servers, model_server)
    await steer_mid_reply(client, model_server, reply, TEXT_DELTA)
    first, second = await model_server.wait_for_requests(2)
    added = second.body["input"][len(first.body["input"]) :]
    assert [(item["type"], item.get("call_id")) for item in added] == [
        ("function_call", "call_x"),
        ("function_call_output", "call_x"),
        ("message", None),
    ]
    assert input_texts(second)[-1] == "also this"


async def test_steer_without_active_turn_is_refused(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    reply = await client.request(
        "turn/steer", {"threadId": thread_id, "expectedTurnId": "x", "input": text_input("hi")}
    )
    assert (reply.code, reply.message) == (-32600, "no active turn to steer")
    reply = await client.request("turn/interrupt", {"threadId": thread_id, "turnId": "x"})
    assert (reply.code, reply.message) == (-32600, "no active turn to interrupt")


async def test_turn_start_on_an_active_turn_joins_it(
    servers: Servers, model_server: ModelServer
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(
        Reply.text("slow").hang_after(2, release, reached), Reply.text("done after join")
    )
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    first = await client.call("turn/start", {"threadId": thread_id, "input": text_input("a")})
    await asyncio.wait_for(reached.wait(), 10)
    joined = await client.call("turn/start", {"threadId": thread_id, "input": text_input("b")})
    assert joined["turn"]["id"] == first["turn"]["id"]
    assert joined["turn"]["status"] == "inProgress"
    done = await client.wait_notification("turn/completed", timeout=30)
    assert done["params"]["turn"]["items"][0]["text"] == "done after join"
    release.set()


async def test_retry_after_a_500_then_success(servers: Servers, model_server: ModelServer) -> None:
    model_server.enqueue(Reply.server_error(), Reply.text("recovered"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hello")
    assert turn["status"] == "completed"
    (retry,) = client.notifications_named("error")
    assert retry["params"]["willRetry"] is True
    assert retry["params"]["error"]["message"] == "Reconnecting... 1/1"
    assert "responseStreamDisconnected" in retry["params"]["error"]["codexErrorInfo"]


async def test_failure_after_retries_exhausted_leaves_the_thread_usable(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.server_error(), Reply.server_error(), Reply.text("works again"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    failed = await run_turn(client, thread_id, "hello")
    assert failed["status"] == "failed"
    assert failed["error"]["codexErrorInfo"] == "internalServerError"
    final = client.notifications_named("error")[-1]
    assert final["params"]["willRetry"] is False
    status = client.notifications_named("thread/status/changed")[-1]
    assert status["params"]["status"] == {"type": "systemError"}
    turn = await run_turn(client, thread_id, "again")
    assert turn["status"] == "completed"
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    assert [t["status"] for t in read["thread"]["turns"]] == ["failed", "completed"]


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_model_fails_the_turn_and_records_it(servers: Servers) -> None:
    write_model_config(
        servers.dirs.data_dir, f"http://127.0.0.1:{closed_loopback_port()}/v1", request_retries=0
    )
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    thread_id = await new_thread(client)

    failed = await run_turn(client, thread_id, "hello")

    assert failed["status"] == "failed"
    assert failed["error"]["codexErrorInfo"] == {"httpConnectionFailed": {"httpStatusCode": None}}
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    assert [t["status"] for t in read["thread"]["turns"]] == ["failed"]
    assert read["thread"]["status"] != {"type": "active", "activeFlags": []}


async def test_disconnect_mid_stream_is_retried(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("cut off", deltas=4).disconnect_after(3), Reply.text("whole"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hello")
    assert turn["status"] == "completed"
    assert turn["items"][0]["text"] == "whole"
    assert client.notifications_named("error")[0]["params"]["willRetry"] is True


async def test_safety_buffering_produces_both_notifications_once(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(
        Reply.text("careful")
        .with_safety_buffering(["cyber"], ["policy-check"], retry_model="gpt-faster")
        .with_event_field(
            "response.in_progress",
            "safety_buffering",
            {"use_cases": ["cyber"], "reasons": ["policy-check"], "retry_model": "gpt-faster"},
        )
    )
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hello")
    for method in ("model/safetyBuffering/updated", "turn/safetyBuffering/updated"):
        (note,) = client.notifications_named(method)
        assert note["params"] == {
            "threadId": thread_id,
            "turnId": turn["id"],
            "model": MODEL,
            "useCases": ["cyber"],
            "reasons": ["policy-check"],
            "showBufferingUi": True,
            "fasterModel": "gpt-faster",
        }


async def test_missing_credentials_fail_the_turn_with_a_clear_message(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, env={})
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hello")
    assert turn["status"] == "failed"
    assert "MOCK_API_KEY" in turn["error"]["message"]
    assert model_server.requests == []
    assert client.process.returncode is None


async def test_two_threads_on_two_connections_do_not_interfere(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    process = await servers.start(listen_ws=True, env=MODEL_ENV)
    first, second = await servers.ws_client(process), await servers.ws_client(process)
    await first.initialize()
    await second.initialize()
    model_server.enqueue(
        Reply.text("alpha reply", deltas=5).delayed(between_frames=0.02),
        Reply.text("beta reply", deltas=5).delayed(between_frames=0.02),
    )
    a, b = await new_thread(first), await new_thread(second)
    turns = await asyncio.gather(run_turn(first, a, "alpha"), run_turn(second, b, "beta"))
    texts = sorted(t["items"][0]["text"] for t in turns)
    assert texts == ["alpha reply", "beta reply"]
    for client, thread_id in ((first, a), (second, b)):
        item_threads = {
            n["params"]["threadId"] for n in client.notifications_named("item/completed")
        }
        assert item_threads == {thread_id}


async def test_client_disconnecting_mid_turn_does_not_lose_the_turn(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    process = await servers.start(listen_ws=True, env=MODEL_ENV)
    leaving = await servers.ws_client(process)
    await leaving.initialize()
    model_server.enqueue(Reply.text("finished without you", deltas=10).delayed(between_frames=0.05))
    thread_id = await new_thread(leaving)
    await leaving.call("turn/start", {"threadId": thread_id, "input": text_input("go")})
    await leaving.wait_notification("item/agentMessage/delta")
    await leaving.close()
    later = await servers.ws_client(process)
    await later.initialize()
    for _ in range(100):
        read = await later.call("thread/read", {"threadId": thread_id, "includeTurns": True})
        turns = read["thread"]["turns"]
        if turns and turns[0]["status"] == "completed":
            break
        await asyncio.sleep(0.1)
    assert turns[0]["status"] == "completed"
    assert turns[0]["items"][-1]["text"] == "finished without you"


async def test_update_plan_call_publishes_the_plan_and_continues(
    servers: Servers, model_server: ModelServer
) -> None:
    plan = {
        "plan": [{"step": "read", "status": "completed"}, {"step": "fix", "status": "in_progress"}]
    }
    model_server.enqueue(Reply.function_call("update_plan", plan), Reply.text("planned"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "plan it")
    (note,) = client.notifications_named("turn/plan/updated")
    assert note["params"]["plan"] == [
        {"step": "read", "status": "completed"},
        {"step": "fix", "status": "inProgress"},
    ]
    assert turn["items"][0]["text"] == "planned"
    second = (await model_server.wait_for_requests(2))[1].body
    assert second["input"][-1] == {
        "type": "function_call_output",
        "call_id": second["input"][-2]["call_id"],
        "output": "Plan updated",
    }


async def test_unknown_tool_call_is_answered_as_unsupported(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.of(function_call("no_such_tool", {})), Reply.text("ok then"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "try it")
    assert turn["status"] == "completed"
    second = (await model_server.wait_for_requests(2))[1].body
    assert second["input"][-1]["output"] == "unsupported call: no_such_tool"


async def test_token_usage_is_reported_after_each_response(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("one"), Reply.text("two"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "a")
    await run_turn(client, thread_id, "b")
    usages = [
        n["params"]["tokenUsage"] for n in client.notifications_named("thread/tokenUsage/updated")
    ]
    assert [u["last"]["totalTokens"] for u in usages] == [120, 120]
    assert [u["total"]["totalTokens"] for u in usages] == [120, 240]


async def test_turn_overrides_stick_and_are_announced(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("a"), Reply.text("b"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "a", model="gpt-other", effort="high")
    (note,) = client.notifications_named("thread/settings/updated")
    assert note["params"]["threadSettings"]["model"] == "gpt-other"
    await run_turn(client, thread_id, "b")
    first, second = (r.body for r in await model_server.wait_for_requests(2))
    assert first["model"] == second["model"] == "gpt-other"
    assert second["reasoning"]["effort"] == "high"


async def test_output_schema_is_sent_as_the_text_format(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text('{"ok": true}'))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    await run_turn(client, thread_id, "json please", outputSchema=schema)
    body = (await model_server.wait_for_requests(1))[0].body
    assert body["text"]["format"]["schema"] == schema


async def test_turn_on_an_unknown_thread_is_thread_not_found(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    unknown = "01a20eeb-d4ab-7d60-be7d-402cf5f03555"
    reply = await client.request("turn/start", {"threadId": unknown, "input": text_input("x")})
    assert (reply.code, reply.message) == (-32600, f"thread not found: {unknown}")


async def test_legacy_thread_turn_reads_back(servers: Servers, model_server: ModelServer) -> None:
    model_server.enqueue(Reply.text("legacy answer", reasoning_summary=["hmm"]))
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client, historyMode="legacy")
    live = await run_turn(client, thread_id, "old style")
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    (turn,) = read["thread"]["turns"]
    assert turn["id"] == live["id"]
    assert [i["type"] for i in turn["items"]] == ["userMessage", "reasoning", "agentMessage"]
    assert turn["items"][-1]["text"] == "legacy answer"


async def test_ephemeral_thread_runs_turns_without_a_file(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("fleeting"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client, ephemeral=True)
    turn = await run_turn(client, thread_id, "hello")
    assert turn["status"] == "completed"
    assert list(servers.dirs.data_dir.rglob("rollout-*.jsonl*")) == []


async def test_model_list_returns_the_configured_default(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    result = await client.call("model/list", {})
    assert [m["id"] for m in result["data"] if m["isDefault"]] == [MODEL]
    reply = await client.request("model/list", {"cursor": "garbage"})
    assert reply.message == "invalid cursor: garbage"


async def test_chat_completions_provider_runs_a_turn(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("chatty answer", deltas=3))
    client = await start_client(servers, model_server, wire_api="chat")
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hello")
    assert turn["status"] == "completed"
    assert turn["items"][0]["text"] == "chatty answer"
    (request,) = await model_server.wait_for_requests(1)
    assert request.path.endswith("/chat/completions")
    assert request.body["messages"][-1] == {"role": "user", "content": "hello"}


async def test_moderation_metadata_is_forwarded(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(
        Reply.text("fine").with_event_field(
            "response.created", "openai_chatgpt_moderation_metadata", {"flagged": False}
        )
    )
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    turn = await run_turn(client, thread_id, "hello")
    (note,) = client.notifications_named("turn/moderationMetadata")
    assert note["params"] == {
        "threadId": thread_id,
        "turnId": turn["id"],
        "metadata": {"flagged": False},
    }


async def test_local_image_is_sent_inline(servers: Servers, model_server: ModelServer) -> None:
    image = servers.dirs.home / "pixel.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    model_server.enqueue(Reply.text("nice picture"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    await client.call(
        "turn/start",
        {
            "threadId": thread_id,
            "input": [
                {"type": "text", "text": "look", "text_elements": []},
                {"type": "localImage", "path": str(image)},
                {"type": "image", "url": "https://example.com/a.png"},
            ],
        },
    )
    await client.wait_notification("turn/completed", timeout=30)
    body = (await model_server.wait_for_requests(1))[0].body
    content = body["input"][-1]["content"]
    assert content[0] == {"type": "input_text", "text": "look"}
    assert content[1]["image_url"].startswith("data:image/png;base64,")
    assert content[2] == {"type": "input_image", "image_url": "https://example.com/a.png"}
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    user = read["thread"]["turns"][0]["items"][0]
    assert [c["type"] for c in user["content"]] == ["text", "localImage", "image"]


async def test_thread_written_by_turns_reads_back_as_the_live_server_reported(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("one", reasoning_summary=["r"]), Reply.text("two"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "first")
    await run_turn(client, thread_id, "second")
    live = (await client.call("thread/read", {"threadId": thread_id, "includeTurns": True}))[
        "thread"
    ]
    await client.close()
    await servers.processes[0].wait()
    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    stored = (await again.call("thread/read", {"threadId": thread_id, "includeTurns": True}))[
        "thread"
    ]
    for load_state in ("status", "updatedAt", "recencyAt"):
        live.pop(load_state)
        stored.pop(load_state)
    assert stored == live


async def test_resuming_a_loaded_thread_shows_what_its_turns_wrote(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(Reply.text("answer"))
    client = await start_client(servers, model_server)
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "the first words")
    resumed = await client.call("thread/resume", {"threadId": thread_id})
    assert resumed["thread"]["preview"] == "the first words"
    assert len(resumed["thread"]["turns"]) == 1
