"""Context windows end to end: auto-compaction, `thread/compact/start`, window lineage, world
state, and history rebuilt after a restart or a fork (issue 8).

The fake model reports the token usage each test scripts; `model_auto_compact_token_limit` is set
low so a reply "over the limit" makes the next sampling compact first. Summaries are the fake
model's replies to the summarization prompt.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from app_server.agent.compaction import SUMMARIZATION_PROMPT
from app_server.rollout.compacted_history import SUMMARY_PREFIX
from tests.conftest import Servers
from tests.store.rollout_builders import event, line
from tests.support.client import RpcClient, StdioClient
from tests.support.homes import BASE_MS, stamp, uuid7_at
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer, RecordedRequest
from tests.support.turn_env import MODEL_ENV, run_turn, text_input, write_model_config

LIMIT = 1_000
"""`model_auto_compact_token_limit` of these tests."""


def over_limit(text: str) -> Reply:
    """A reply whose usage reaches the limit: the next sampling compacts first."""
    return Reply.text(text).with_usage(input_tokens=LIMIT + 500, output_tokens=10)


def under_limit(text: str) -> Reply:
    return Reply.text(text).with_usage(input_tokens=100, output_tokens=10)


async def start_client(servers: Servers, model: ModelServer) -> StdioClient:
    write_model_config(
        servers.dirs.data_dir, model.base_url, extra=f"model_auto_compact_token_limit = {LIMIT}"
    )
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    return client


async def new_thread(client: RpcClient) -> tuple[str, Path]:
    result = await client.call("thread/start", {})
    return result["thread"]["id"], Path(result["thread"]["path"])


def rollout(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_text().splitlines() if raw.strip()]


def of_type(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [entry["payload"] for entry in lines if entry["type"] == kind]


def texts(body: dict[str, Any]) -> list[str]:
    """The first text of every message in a request's input."""
    return [
        item["content"][0].get("text", "")
        for item in body["input"]
        if item.get("type") == "message" and item.get("content")
    ]


def is_summarization(request: RecordedRequest) -> bool:
    return bool(texts(request.body)) and texts(request.body)[-1] == SUMMARIZATION_PROMPT


def metadata(request: RecordedRequest) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(request.headers["x-codex-turn-metadata"])
    return value


def turn_methods(client: RpcClient, turn_id: str) -> list[str]:
    return [
        note["method"]
        for note in client.notifications
        if (note.get("params") or {}).get("turnId") == turn_id
        or ((note.get("params") or {}).get("turn") or {}).get("id") == turn_id
    ]


class CompactedThread(NamedTuple):
    client: StdioClient
    thread_id: str
    path: Path
    second_turn: dict[str, Any]


async def compacted_thread(servers: Servers, model_server: ModelServer) -> CompactedThread:
    """A thread whose second turn ("two", answered "b") started with a compaction (summary
    "SUMMARY"); the model has one more reply ("c") queued."""
    model_server.enqueue(over_limit("a"), Reply.text("SUMMARY"), under_limit("b"), under_limit("c"))
    client = await start_client(servers, model_server)
    thread_id, path = await new_thread(client)
    await run_turn(client, thread_id, "one")
    second = await run_turn(client, thread_id, "two")
    return CompactedThread(client, thread_id, path, second)


async def test_a_thread_over_the_limit_is_compacted_and_then_sends_only_the_replacement_and_new_input(  # noqa: E501
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(over_limit("first answer"), Reply.text("SUMMARY-1"), under_limit("ok"))
    client = await start_client(servers, model_server)
    thread_id, _ = await new_thread(client)
    await run_turn(client, thread_id, "first question")
    turn = await run_turn(client, thread_id, "second question")
    assert turn["status"] == "completed"
    first, summarize, second = await model_server.wait_for_requests(3)
    assert is_summarization(summarize)
    assert summarize.body["tools"] == []
    assert texts(summarize.body)[:-1] == [*texts(first.body), "first answer"]
    sent = texts(second.body)
    assert "first answer" not in sent  # the old window's replies are gone
    assert sent[-1] == "second question"
    assert sent[-2] == f"{SUMMARY_PREFIX}\nSUMMARY-1"
    assert sent[-3] == "first question"  # the user's own words survive, after fresh context
    assert sent[-4].startswith("<environment_context>")
    assert len(second.body["input"]) == 5  # context (2), first question, summary, new input


async def test_compaction_is_announced_as_a_context_compaction_item_before_the_user_input(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, _, turn = await compacted_thread(servers, model_server)
    methods = turn_methods(client, turn["id"])
    assert methods[:2] == ["turn/started", "item/started"]
    compaction = [
        note["params"]["item"]
        for note in client.notifications
        if note["method"] in ("item/started", "item/completed")
        and note["params"]["turnId"] == turn["id"]
        and note["params"]["item"]["type"] == "contextCompaction"
    ]
    assert len(compaction) == 2
    assert compaction[1]["completedAtMs"] is not None
    # The compaction item completes before the user input starts. (This used to assert the
    # deprecated `thread/compacted` here; codex 0.169 no longer sends it.)
    assert methods.index("item/completed") < methods.index("item/started", 2)
    assert "thread/compacted" not in methods
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    second = read["thread"]["turns"][1]
    assert [item["type"] for item in second["items"]][:2] == ["contextCompaction", "userMessage"]


async def test_window_ids_in_headers_and_rollout_follow_the_lineage_across_two_compactions(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(
        over_limit("a"), Reply.text("S1"), over_limit("b"), Reply.text("S2"), under_limit("c")
    )
    client = await start_client(servers, model_server)
    thread_id, path = await new_thread(client)
    for text in ("one", "two", "three"):
        await run_turn(client, thread_id, text)
    requests = await model_server.wait_for_requests(5)
    windows = [r.headers["x-codex-window-id"] for r in requests]
    assert windows == [f"{thread_id}:{n}" for n in (0, 0, 1, 1, 2)]
    assert [metadata(r)["request_kind"] for r in requests] == [
        "turn",
        "compaction",
        "turn",
        "compaction",
        "turn",
    ]
    lines = rollout(path)
    first_id = of_type(lines, "session_meta")[0]["context_window"]["window_id"]
    one, two = of_type(lines, "compacted")
    assert (one["window_number"], one["first_window_id"], one["previous_window_id"]) == (
        1,
        first_id,
        first_id,
    )
    assert (two["window_number"], two["first_window_id"], two["previous_window_id"]) == (
        2,
        first_id,
        one["window_id"],
    )
    assert len({first_id, one["window_id"], two["window_id"]}) == 3
    context_ids = [metadata(r)["context_window_id"] for r in requests]
    assert context_ids == [first_id, first_id, one["window_id"], one["window_id"], two["window_id"]]


async def test_a_compaction_writes_its_replacement_then_a_full_world_state_snapshot(
    servers: Servers, model_server: ModelServer
) -> None:
    _, _, path, _ = await compacted_thread(servers, model_server)
    second = (await model_server.wait_for_requests(3))[2]
    lines = rollout(path)
    kinds = [entry["type"] for entry in lines]
    at = kinds.index("compacted")
    assert kinds[at + 1] == "world_state"
    assert lines[at + 1]["payload"]["full"] is True
    compacted = lines[at]["payload"]
    assert compacted["message"] == f"{SUMMARY_PREFIX}\nSUMMARY"
    assert [item["content"][0]["text"] for item in compacted["replacement_history"]] == texts(
        second.body
    )[:-1]
    snapshots = [p for p in of_type(lines, "world_state") if p["full"]]
    assert len(snapshots) == 2  # after the initial context, and after the compaction


async def test_a_cold_resume_after_compaction_sends_the_history_a_live_thread_sent(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, _, _ = await compacted_thread(servers, model_server)
    await client.close()
    await servers.processes[0].wait()
    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    await again.call("thread/resume", {"threadId": thread_id})
    await run_turn(again, thread_id, "three")
    *_, live, cold = await model_server.wait_for_requests(4)
    sent_live = live.body["input"]
    assert orjson.dumps(cold.body["input"][: len(sent_live)]) == orjson.dumps(sent_live)
    reply = cold.body["input"][len(sent_live)]
    assert (reply["role"], reply["content"][0]["text"]) == ("assistant", "b")
    assert cold.headers["x-codex-window-id"] == live.headers["x-codex-window-id"]
    assert metadata(cold)["context_window_id"] == metadata(live)["context_window_id"]
    assert cold.body["instructions"] == live.body["instructions"]


async def test_a_fork_after_compaction_sends_the_compacted_history(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, _, _ = await compacted_thread(servers, model_server)
    fork = await client.call("thread/fork", {"threadId": thread_id})
    fork_id = fork["thread"]["id"]
    await run_turn(client, fork_id, "three")
    *_, live, forked = await model_server.wait_for_requests(4)
    sent_live = live.body["input"]
    assert orjson.dumps(forked.body["input"][: len(sent_live)]) == orjson.dumps(sent_live)
    assert texts(forked.body)[len(sent_live) :] == ["b", "three"]
    assert forked.headers["x-codex-window-id"] == f"{fork_id}:0"


def _legacy_home(data_dir: Path, compacted: dict[str, Any]) -> str:
    """A paginated thread written before window fields existed: no `context_window` in its
    session_meta, and the given (old-style) `compacted` record after its first turn."""
    created = BASE_MS
    thread_id = uuid7_at(created, 77)
    first_turn, second_turn = uuid7_at(created + 1, 1), uuid7_at(created + 2, 2)

    def message(role: str, text: str) -> dict[str, Any]:
        kind = "output_text" if role == "assistant" else "input_text"
        return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}

    def shown(turn_id: str, kind: str, item_id: str, text: str) -> dict[str, Any]:
        part = {"type": "text" if kind == "UserMessage" else "Text", "text": text}
        item = {"type": kind, "id": item_id, "content": [part]}
        return event(
            "item_completed",
            thread_id=thread_id,
            turn_id=turn_id,
            item=item,
            started_at_ms=created,
            completed_at_ms=created + 1,
        )

    meta = {
        "id": thread_id,
        "session_id": thread_id,
        "timestamp": stamp(created),
        "cwd": str(data_dir),
        "originator": "tests",
        "cli_version": "0.160.0",
        "source": "vscode",
        "model_provider": "mock",
        "history_mode": "paginated",
    }
    payloads: list[tuple[str, dict[str, Any]]] = [
        ("session_meta", meta),
        ("event_msg", event("task_started", turn_id=first_turn, started_at=1)),
        (
            "response_item",
            message("developer", "<permissions instructions>old</permissions instructions>"),
        ),
        ("response_item", message("user", "old question")),
        ("event_msg", shown(first_turn, "UserMessage", "u1", "old question")),
        ("response_item", message("assistant", "old answer")),
        ("event_msg", shown(first_turn, "AgentMessage", "a1", "old answer")),
        ("event_msg", event("task_complete", turn_id=first_turn, completed_at=2)),
        ("event_msg", event("task_started", turn_id=second_turn, started_at=3)),
        ("compacted", compacted),
        ("event_msg", event("task_complete", turn_id=second_turn, completed_at=4)),
    ]
    directory = data_dir / "sessions" / "2026" / "11" / "24"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"rollout-2026-11-24T00-00-00-{thread_id}.jsonl"
    records = [line(kind, payload, n) for n, (kind, payload) in enumerate(payloads)]
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return thread_id


async def test_a_thread_compacted_in_the_legacy_format_loads_and_resumes(
    servers: Servers, model_server: ModelServer
) -> None:
    thread_id = _legacy_home(servers.dirs.data_dir, {"message": "OLD SUMMARY"})
    model_server.enqueue(under_limit("new answer"))
    client = await start_client(servers, model_server)
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    first, compacting = read["thread"]["turns"]
    assert [item["type"] for item in first["items"]] == ["userMessage", "agentMessage"]
    assert compacting["status"] == "completed"
    await client.call("thread/resume", {"threadId": thread_id})
    await run_turn(client, thread_id, "new question")
    (request,) = await model_server.wait_for_requests(1)
    assert texts(request.body) == [
        "<permissions instructions>old</permissions instructions>",
        "old question",
        f"{SUMMARY_PREFIX}\nOLD SUMMARY",
        "new question",
    ]
    assert request.headers["x-codex-window-id"] == f"{thread_id}:1"


async def test_a_legacy_numeric_window_id_is_read_as_the_window_number(
    servers: Servers, model_server: ModelServer
) -> None:
    replacement = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "kept"}]}
    ]
    thread_id = _legacy_home(
        servers.dirs.data_dir,
        {"message": "S", "replacement_history": replacement, "window_id": 3},
    )
    model_server.enqueue(under_limit("ok"))
    client = await start_client(servers, model_server)
    await client.call("thread/resume", {"threadId": thread_id})
    await run_turn(client, thread_id, "next")
    (request,) = await model_server.wait_for_requests(1)
    assert texts(request.body) == ["kept", "next"]
    assert request.headers["x-codex-window-id"] == f"{thread_id}:3"


async def test_compact_start_on_an_idle_thread_runs_a_turn_that_only_compacts(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(under_limit("a"), Reply.text("ASKED SUMMARY"), under_limit("b"))
    client = await start_client(servers, model_server)
    thread_id, _ = await new_thread(client)
    await run_turn(client, thread_id, "one")
    assert await client.call("thread/compact/start", {"threadId": thread_id}) == {}
    done = await client.wait_notification(
        "turn/completed", where=lambda n: not n["params"]["turn"]["items"], timeout=30
    )
    turn = done["params"]["turn"]
    assert turn["status"] == "completed"
    methods = turn_methods(client, turn["id"])
    assert "item/started" in methods
    assert "thread/compacted" not in methods  # deprecated; codex 0.169 does not send it
    assert "userMessage" not in json.dumps(
        [n for n in client.notifications if (n.get("params") or {}).get("turnId") == turn["id"]]
    )
    await run_turn(client, thread_id, "two")
    *_, summarize, after = await model_server.wait_for_requests(3)
    assert metadata(summarize)["compaction"]["trigger"] == "manual"
    assert texts(after.body)[-2:] == [f"{SUMMARY_PREFIX}\nASKED SUMMARY", "two"]
    assert after.headers["x-codex-window-id"] == f"{thread_id}:1"


async def test_compact_start_is_refused_while_a_turn_is_running(
    servers: Servers, model_server: ModelServer
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("slow", deltas=2).hang_after(1, release, reached))
    client = await start_client(servers, model_server)
    thread_id, _ = await new_thread(client)
    result = await client.call("turn/start", {"threadId": thread_id, "input": text_input("go")})
    await asyncio.wait_for(reached.wait(), 10)
    refused = await client.request("thread/compact/start", {"threadId": thread_id})
    assert refused.code == -32600
    assert "active turn" in refused.message
    release.set()
    done = await client.wait_notification("turn/completed", timeout=30)
    assert done["params"]["turn"]["id"] == result["turn"]["id"]
    assert done["params"]["turn"]["status"] == "completed"


async def test_a_context_length_error_compacts_once_and_retries_the_request(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(
        under_limit("a"),
        Reply.context_length_exceeded(),
        Reply.text("SUMMARY"),
        under_limit("recovered"),
    )
    client = await start_client(servers, model_server)
    thread_id, _ = await new_thread(client)
    await run_turn(client, thread_id, "one")
    turn = await run_turn(client, thread_id, "two")
    assert turn["status"] == "completed"
    assert turn["items"][0]["text"] == "recovered"
    *_, summarize, retried = await model_server.wait_for_requests(4)
    assert metadata(summarize)["compaction"]["reason"] == "context_window_exceeded"
    assert texts(retried.body)[-2:] == ["two", f"{SUMMARY_PREFIX}\nSUMMARY"]
    assert "a" not in texts(retried.body)
    assert retried.headers["x-codex-window-id"] == f"{thread_id}:1"


async def test_a_context_length_error_after_compacting_fails_the_turn_with_context_window_exceeded(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(
        under_limit("a"),
        Reply.context_length_exceeded(),
        Reply.text("SUMMARY"),
        Reply.context_length_exceeded(),
    )
    client = await start_client(servers, model_server)
    thread_id, _ = await new_thread(client)
    await run_turn(client, thread_id, "one")
    turn = await run_turn(client, thread_id, "two")
    assert turn["status"] == "failed"
    assert turn["error"]["codexErrorInfo"] == "contextWindowExceeded"
    assert len(await model_server.wait_for_requests(4)) == 4


async def test_a_changed_cwd_is_told_to_the_model_and_recorded_as_a_world_state_patch(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(under_limit("a"), under_limit("b"))
    client = await start_client(servers, model_server)
    thread_id, path = await new_thread(client)
    await run_turn(client, thread_id, "one")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    await run_turn(client, thread_id, "two", cwd=str(elsewhere))
    _, second = await model_server.wait_for_requests(2)
    update = texts(second.body)[-2]
    assert update.startswith("<environment_context>")
    assert f"<cwd>{elsewhere}</cwd>" in update
    states = of_type(rollout(path), "world_state")
    assert [state["full"] for state in states] == [True, False]
    assert states[1]["state"] == {"environment": {"cwd": str(elsewhere)}}


async def test_an_unchanged_environment_writes_no_world_state_patch(
    servers: Servers, model_server: ModelServer
) -> None:
    model_server.enqueue(under_limit("a"), under_limit("b"))
    client = await start_client(servers, model_server)
    thread_id, path = await new_thread(client)
    await run_turn(client, thread_id, "one")
    await run_turn(client, thread_id, "two")
    _, second = await model_server.wait_for_requests(2)
    assert texts(second.body)[-2:] == ["a", "two"]
    assert [state["full"] for state in of_type(rollout(path), "world_state")] == [True]


async def test_a_turn_whose_tool_step_reaches_the_limit_compacts_before_sampling_again(
    servers: Servers, model_server: ModelServer
) -> None:
    call = Reply.function_call("no_such_tool", {}, call_id="call_1").with_usage(
        input_tokens=LIMIT + 500, output_tokens=10
    )
    model_server.enqueue(call, Reply.text("MID SUMMARY"), under_limit("done"))
    client = await start_client(servers, model_server)
    thread_id, path = await new_thread(client)
    turn = await run_turn(client, thread_id, "use a tool")
    assert turn["status"] == "completed"
    _, summarize, after = await model_server.wait_for_requests(3)
    assert metadata(summarize)["compaction"]["phase"] == "mid_turn"
    summarized = [item.get("type") for item in summarize.body["input"]]
    assert "function_call_output" in summarized  # the tool's result is part of what is summarized
    assert texts(after.body)[-2:] == ["use a tool", f"{SUMMARY_PREFIX}\nMID SUMMARY"]
    assert all(item["type"] == "message" for item in after.body["input"])
    assert after.headers["x-codex-window-id"] == f"{thread_id}:1"
    assert len(of_type(rollout(path), "compacted")) == 1


async def test_compact_start_on_a_thread_that_is_not_loaded_is_refused_as_not_found(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server)
    missing = "01a21036-9338-7ac3-a038-fe844c479785"
    refused = await client.request("thread/compact/start", {"threadId": missing})
    assert refused.code == -32600
    assert refused.message == f"thread not found: {missing}"
    assert model_server.requests == []
