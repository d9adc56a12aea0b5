"""`thread/search` after `thread/revert` against the real server process: the text of the turns
the revert dropped is no longer found (codex 0.169.0 observed: nor is it there), by
`thread/search` or `thread/search/stream`, in the local and the PostgreSQL store; the retained
turns and the turns that follow still are; and the thread's preview stays its first user
message even when that turn was reverted (as codex shows it in `thread/list` and `thread/read`)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Servers
from tests.e2e.test_thread_revert import thread_with_turns
from tests.support.client import StdioClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import tool_client, turn


async def search(client: StdioClient, term: str, method: str = "thread/search") -> dict[str, str]:
    """`method` → {thread id: snippet}."""
    result = await client.call(method, {"searchTerm": term})
    return {hit["thread"]["id"]: hit["snippet"] for hit in result["data"]}


async def test_search_does_not_find_the_reverted_turns(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    words = ["kept walrus", "dropped narwhal"]
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, words)
    assert await search(client, "narwhal") == {thread_id: "dropped narwhal"}

    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})

    assert await search(client, "narwhal") == {}
    assert await search(client, "ans dropped") == {}
    assert await search(client, "walrus") == {thread_id: "kept walrus"}


async def test_search_stream_does_not_find_the_reverted_turns(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    words = ["kept walrus", "dropped narwhal"]
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, words)

    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})

    assert await search(client, "narwhal", "thread/search/stream") == {}
    assert await search(client, "walrus", "thread/search/stream") == {thread_id: "kept walrus"}


async def test_search_finds_the_turns_after_a_revert(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    words = ["kept walrus", "dropped narwhal"]
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, words)
    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})
    model_server.enqueue(Reply.text("ans capybara"))

    await turn(client, thread_id, "new capybara")

    assert await search(client, "capybara") == {thread_id: "new capybara"}
    assert await search(client, "narwhal") == {}


async def test_the_preview_stays_the_first_message_when_the_first_turn_is_reverted(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, ["alpha", "beta"])

    reverted = await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[0]})
    listed = await client.call("thread/list", {})

    assert reverted["thread"]["preview"] == "alpha"
    assert [(t["id"], t["preview"]) for t in listed["data"]] == [(thread_id, "alpha")]
    assert await search(client, "alpha") == {}


async def test_search_on_the_postgres_store_does_not_find_the_reverted_turns(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, "--store-url", store_url, experimental=True)
    words = ["kept walrus", "dropped narwhal"]
    thread_id, turns = await thread_with_turns(client, model_server, tmp_path, words)

    await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]})

    assert await search(client, "narwhal") == {}
    assert await search(client, "walrus") == {thread_id: "kept walrus"}
