"""Fields codex 0.169.0 fills that clients read (issue 16 point 3), found by
`scripts/compare_with_codex.py`: the active permission profile and collaboration mode of
thread/start, resume and fork, item start times, a loaded thread's environments in listings,
the token usage replayed on resume, and `history_initialization` in the turn metadata."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer, RecordedRequest
from tests.support.turn_env import MODEL, MODEL_ENV, run_turn, write_model_config


async def started(servers: Servers, model_server: ModelServer) -> RpcClient:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize(experimental=True)  # these fields are experimental in 0.169
    return client


async def new_thread(client: RpcClient, cwd: Path, **params: object) -> str:
    result = await client.call("thread/start", {"cwd": str(cwd), **params})
    thread_id: str = result["thread"]["id"]
    return thread_id


async def test_thread_start_reports_the_read_only_profile_by_default(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await started(servers, model_server)

    result = await client.call("thread/start", {"cwd": str(tmp_path)})

    assert result["activePermissionProfile"] == {"id": ":read-only", "extends": None}


async def test_thread_start_reports_no_profile_when_the_request_chooses_the_sandbox(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await started(servers, model_server)

    result = await client.call("thread/start", {"cwd": str(tmp_path), "sandbox": "workspace-write"})

    assert result["activePermissionProfile"] is None


async def test_resume_and_fork_report_the_active_permission_profile(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    await run_turn(client, thread_id, "hello")
    await client.call("thread/unsubscribe", {"threadId": thread_id})

    resumed = await client.call("thread/resume", {"threadId": thread_id})
    forked = await client.call("thread/fork", {"threadId": thread_id})

    assert resumed["activePermissionProfile"] == {"id": ":read-only", "extends": None}
    assert forked["activePermissionProfile"] == {"id": ":read-only", "extends": None}


async def test_resume_reports_the_default_collaboration_mode_with_the_threads_model(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    await run_turn(client, thread_id, "hello")
    await client.call("thread/unsubscribe", {"threadId": thread_id})

    resumed = await client.call("thread/resume", {"threadId": thread_id})

    assert resumed["collaborationMode"] == {
        "mode": "default",
        "settings": {"model": MODEL, "reasoning_effort": None, "developer_instructions": None},
    }


async def test_an_agent_message_item_started_carries_its_start_time(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)

    await run_turn(client, thread_id, "hello")

    (started_note,) = [
        note
        for note in client.notifications_named("item/started")
        if note["params"]["item"]["type"] == "agentMessage"
    ]
    params = started_note["params"]
    assert isinstance(params["item"]["startedAtMs"], int)
    assert params["item"]["startedAtMs"] == params["startedAtMs"]


async def test_a_loaded_thread_lists_its_environment(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    await run_turn(client, thread_id, "hello")

    listed = await client.call("thread/list", {})

    (thread,) = listed["data"]
    assert thread["id"] == thread_id
    assert thread["environments"] == [
        {"environmentId": "local", "cwd": str(tmp_path), "runtimeWorkspaceRoots": [str(tmp_path)]}
    ]


async def test_resume_replays_the_threads_last_token_usage_after_the_response(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi").with_usage(input_tokens=100, output_tokens=10))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    turn = await run_turn(client, thread_id, "hello")
    during = client.notifications_named("thread/tokenUsage/updated")[-1]["params"]
    await client.call("thread/unsubscribe", {"threadId": thread_id})
    since = len(client.received)

    await client.call("thread/resume", {"threadId": thread_id})
    replayed = await client.wait_notification(
        "thread/tokenUsage/updated",
        where=lambda m: client.received.index(m) >= since,
        timeout=10,
    )

    assert replayed["params"]["threadId"] == thread_id
    assert replayed["params"]["turnId"] == turn["id"]
    assert replayed["params"]["tokenUsage"] == during["tokenUsage"]


async def test_resume_after_a_restart_replays_the_token_usage_recorded_in_the_rollout(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi").with_usage(input_tokens=100, output_tokens=10))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    turn = await run_turn(client, thread_id, "hello")
    during = client.notifications_named("thread/tokenUsage/updated")[-1]["params"]
    await client.close()
    again = await started(servers, model_server)

    await again.call("thread/resume", {"threadId": thread_id})
    replayed = await again.wait_notification("thread/tokenUsage/updated", timeout=10)

    assert replayed["params"]["turnId"] == turn["id"]
    assert replayed["params"]["tokenUsage"] == during["tokenUsage"]


async def test_resuming_a_thread_started_with_another_sandbox_reports_no_profile(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path, sandbox="workspace-write")
    await run_turn(client, thread_id, "hello")
    await client.call("thread/unsubscribe", {"threadId": thread_id})

    resumed = await client.call("thread/resume", {"threadId": thread_id})

    assert resumed["sandbox"]["type"] == "workspaceWrite"
    assert resumed["activePermissionProfile"] is None


def history_initialization(request: RecordedRequest) -> str:
    metadata: dict[str, str] = json.loads(request.headers["x-codex-turn-metadata"])
    return metadata["history_initialization"]


async def test_turn_metadata_says_a_thread_started_here_is_new(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)

    await run_turn(client, thread_id, "hello")

    assert [history_initialization(r) for r in model_server.requests] == ["new"]


async def test_turn_metadata_says_a_thread_read_back_after_a_restart_is_a_cold_resume(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"), Reply.text("again"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    await run_turn(client, thread_id, "hello")
    await client.close()
    again = await started(servers, model_server)
    await again.call("thread/resume", {"threadId": thread_id})

    await run_turn(again, thread_id, "more")

    assert history_initialization(model_server.requests[-1]) == "cold_resume"


async def test_turn_metadata_says_a_fork_of_a_loaded_thread_is_a_warm_fork(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"), Reply.text("forked"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    await run_turn(client, thread_id, "hello")
    fork = await client.call("thread/fork", {"threadId": thread_id})

    await run_turn(client, fork["thread"]["id"], "more")

    assert history_initialization(model_server.requests[-1]) == "warm_fork"


async def test_each_model_response_is_followed_by_the_latest_rate_limits(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)

    await run_turn(client, thread_id, "hello")

    methods = [m.get("method") for m in client.received]
    usage_at = methods.index("thread/tokenUsage/updated")
    assert methods[usage_at + 1] == "account/rateLimits/updated"
    (update,) = client.notifications_named("account/rateLimits/updated")
    assert update["params"]["rateLimits"]["limitId"] == "codex"


def turn_metadata(request: RecordedRequest) -> dict[str, object]:
    metadata: dict[str, object] = json.loads(request.headers["x-codex-turn-metadata"])
    return metadata


async def test_turn_metadata_names_the_model_the_sandbox_and_the_turn_start(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)

    turn = await run_turn(client, thread_id, "hello")

    metadata = turn_metadata(model_server.requests[0])
    assert (metadata["model"], metadata["sandbox"], metadata["sandbox_mode"]) == (
        MODEL,
        "seccomp",
        "read-only",
    )
    started_ms = metadata["turn_started_at_unix_ms"]
    assert isinstance(started_ms, int)
    assert started_ms // 1000 == turn["startedAt"]
    assert "reasoning_effort" not in metadata  # codex sends it only when an effort is set


async def test_turn_metadata_of_an_unsandboxed_turn_with_an_effort(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path, sandbox="danger-full-access")

    await run_turn(client, thread_id, "hello", effort="low")

    metadata = turn_metadata(model_server.requests[0])
    assert (metadata["sandbox"], metadata["sandbox_mode"]) == ("none", "danger-full-access")
    assert metadata["reasoning_effort"] == "low"


async def test_resume_without_turns_replays_no_token_usage(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi").with_usage(input_tokens=100, output_tokens=10))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    await run_turn(client, thread_id, "hello")
    await client.call("thread/unsubscribe", {"threadId": thread_id})
    since = len(client.notifications_named("thread/tokenUsage/updated"))

    await client.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    await client.call("thread/loaded/list", {})  # a round trip after the answer

    assert len(client.notifications_named("thread/tokenUsage/updated")) == since


async def test_a_fork_without_turns_replays_no_token_usage(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi").with_usage(input_tokens=100, output_tokens=10))
    client = await started(servers, model_server)
    thread_id = await new_thread(client, tmp_path)
    await run_turn(client, thread_id, "hello")
    since = len(client.notifications_named("thread/tokenUsage/updated"))

    fork = await client.call("thread/fork", {"threadId": thread_id, "excludeTurns": True})
    await client.wait_notification(
        "thread/started", where=lambda m: m["params"]["thread"]["id"] == fork["thread"]["id"]
    )

    assert len(client.notifications_named("thread/tokenUsage/updated")) == since
