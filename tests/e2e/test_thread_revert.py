"""`thread/revert` against the real server process (codex 0.169.0's behaviour, observed: see
`app_server/threads/revert.py`): the thread's history goes back to just before a turn, clients
see it unloaded and loaded again, then `thread/reverted`; the model's next turn is sent only the
retained prefix; the result survives a restart. Refusals: a thread not loaded here, an unknown
turn, an ephemeral or a legacy thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import StdioClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, start_turn, tool_client, turn, wait_turn
from tests.support.turn_env import MODEL_ENV

INVALID_REQUEST = -32600
REVERT_ORDER = {"thread/status/changed", "thread/readState/changed", "thread/reverted"}


def user_texts(body: dict[str, Any]) -> list[str]:
    """The user-typed texts of a model request (context messages left out)."""
    texts = []
    for item in body["input"]:
        if item.get("type") == "message" and item.get("role") in ("user", "assistant"):
            text = item["content"][0].get("text", "")
            if not text.startswith("<"):
                texts.append(text)
    return texts


async def thread_with_turns(
    client: StdioClient, model: ModelServer, cwd: Path, texts: list[str]
) -> tuple[str, list[str]]:
    thread_id = await start_thread(client, cwd)
    turn_ids = []
    for text in texts:
        model.enqueue(Reply.text(f"ans {text}"))
        turn_ids.append((await turn(client, thread_id, text))["id"])
    return thread_id, turn_ids


async def listed_turn_ids(client: StdioClient, thread_id: str) -> list[str]:
    page = await client.call("thread/turns/list", {"threadId": thread_id, "sortDirection": "asc"})
    return [entry["id"] for entry in page["data"]]


async def test_revert_drops_the_turn_and_every_later_one(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a", "b", "c"])

    result = await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})

    assert result["thread"]["id"] == thread_id
    assert result["thread"]["turns"] == []
    assert result["thread"]["status"] == {"type": "idle"}
    assert result["turnsBackwardsCursor"] is not None
    assert await listed_turn_ids(client, thread_id) == turns[:1]


async def test_revert_unloads_reloads_then_announces_the_revert(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a", "b"])
    since = len(client.notifications)

    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[0]})
    await client.wait_notification("thread/reverted")

    seen = [
        (n["method"], n["params"].get("status", {}).get("type"))
        for n in client.notifications[since:]
        if n["method"] in REVERT_ORDER
    ]
    assert seen == [
        ("thread/status/changed", "notLoaded"),
        ("thread/readState/changed", None),  # its first unread turn is gone
        ("thread/status/changed", "idle"),
        ("thread/reverted", None),
    ]
    changed = client.notifications_named("thread/readState/changed")[-1]
    assert changed["params"]["readState"]["firstUnread"] is None


async def test_the_next_turn_sends_the_model_only_the_retained_prefix(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a", "b", "c"])
    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})

    model_server.enqueue(Reply.text("ans d"))
    await turn(client, thread_id, "d")

    requests = await model_server.wait_for_requests(4)
    assert user_texts(requests[3].body) == ["a", "ans a", "d"]


async def test_token_usage_goes_back_with_the_history(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a", "b", "c"])
    totals = [
        n["params"]["tokenUsage"]["total"]["totalTokens"]
        for n in client.notifications_named("thread/tokenUsage/updated")
    ]
    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})
    since = len(client.notifications_named("thread/tokenUsage/updated"))

    model_server.enqueue(Reply.text("ans d"))
    await turn(client, thread_id, "d")

    after = client.notifications_named("thread/tokenUsage/updated")[since]
    assert after["params"]["tokenUsage"]["total"]["totalTokens"] == totals[0] * 2


async def test_a_revert_survives_a_restart(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a", "b"])
    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})
    await client.close()
    await servers.processes[-1].wait()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)

    assert await listed_turn_ids(again, thread_id) == turns[:1]
    items = await again.call("thread/items/list", {"threadId": thread_id})
    assert {entry["turnId"] for entry in items["data"]} == {turns[0]}


async def test_reverting_a_running_turn_interrupts_it_first(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a"])
    model_server.enqueue(Reply.text("slow " * 50, deltas=50).delayed(between_frames=0.1))
    running = await start_turn(client, thread_id, "slow")
    await client.wait_notification("item/agentMessage/delta")

    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": running})

    assert (await wait_turn(client, running))["status"] == "interrupted"
    assert await listed_turn_ids(client, thread_id) == turns


async def test_revert_refuses_an_unknown_turn_and_changes_nothing(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a", "b"])

    refused = await client.request("thread/revert", {"threadId": thread_id, "beforeTurnId": "nope"})

    assert refused.code == INVALID_REQUEST
    assert refused.message == "turn not found: nope"
    assert await listed_turn_ids(client, thread_id) == turns


async def test_revert_refuses_a_thread_that_is_not_loaded(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a"])
    await client.close()
    await servers.processes[-1].wait()
    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)

    refused = await again.request(
        "thread/revert", {"threadId": thread_id, "beforeTurnId": turns[0]}
    )

    assert refused.code == INVALID_REQUEST
    assert refused.message == f"thread not found: {thread_id}"
    assert await listed_turn_ids(again, thread_id) == turns


async def test_revert_refuses_an_ephemeral_thread(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path, ephemeral=True)
    model_server.enqueue(Reply.text("ok"))
    done = await turn(client, thread_id, "a")

    refused = await client.request(
        "thread/revert", {"threadId": thread_id, "beforeTurnId": done["id"]}
    )

    assert refused.message == "ephemeral threads do not support thread/revert"


async def test_revert_refuses_a_legacy_thread(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path, historyMode="legacy")
    model_server.enqueue(Reply.text("ok"))
    done = await turn(client, thread_id, "a")

    refused = await client.request(
        "thread/revert", {"threadId": thread_id, "beforeTurnId": done["id"]}
    )

    assert refused.message == "thread/revert only supports paginated threads"


async def test_a_revert_on_the_postgres_store_survives_a_restart(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, "--store-url", store_url, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["a", "b"])
    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})
    await client.close()
    await servers.processes[-1].wait()

    again = await servers.stdio("--store-url", store_url, env=MODEL_ENV)
    await again.initialize(experimental=True)
    await again.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    model_server.enqueue(Reply.text("ans c"))
    await turn(again, thread_id, "c")

    assert (await listed_turn_ids(again, thread_id))[:1] == turns[:1]
    assert len(await listed_turn_ids(again, thread_id)) == 2
    requests = await model_server.wait_for_requests(3)
    assert user_texts(requests[2].body) == ["a", "ans a", "c"]
