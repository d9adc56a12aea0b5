"""`thread/metadata/update` keeps what it sets, as codex 0.169 does (observed on the binary):
the Git info and Daybreak choice show in every later `thread/read`, `thread/list` and
`thread/resume`, for loaded and stored threads, set before the first turn or after it, and
after a restart. Every answer is checked against the upstream schema by the client."""

from __future__ import annotations

from typing import Any

from tests.conftest import Servers
from tests.e2e.test_turns import new_thread, start_client
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, run_turn


async def metadata(client: RpcClient, thread_id: str, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = await client.call(
        "thread/metadata/update", {"threadId": thread_id, **fields}
    )
    return result


async def read(client: RpcClient, thread_id: str) -> dict[str, Any]:
    result = await client.call("thread/read", {"threadId": thread_id})
    thread: dict[str, Any] = result["thread"]
    return thread


async def listed(client: RpcClient, thread_id: str) -> dict[str, Any]:
    page = await client.call("thread/list", {})
    return next(thread for thread in page["data"] if thread["id"] == thread_id)


async def test_a_metadata_patch_shows_in_later_reads_and_listings(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("hello"))
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "hi")

    await metadata(client, thread_id, gitInfo={"branch": "dev", "sha": "abc"}, daybreakEnabled=True)

    expected = {"sha": "abc", "branch": "dev", "originUrl": None}
    for thread in (await read(client, thread_id), await listed(client, thread_id)):
        assert (thread["gitInfo"], thread["daybreakEnabled"]) == (expected, True)


async def test_later_patches_change_only_the_fields_they_name(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("hello"))
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "hi")
    await metadata(client, thread_id, gitInfo={"branch": "dev", "sha": "abc"}, daybreakEnabled=True)

    await metadata(client, thread_id, gitInfo={"originUrl": "https://example.com/r.git"})
    answered = await metadata(client, thread_id, gitInfo={"branch": None}, daybreakEnabled=False)

    expected = {"sha": "abc", "branch": None, "originUrl": "https://example.com/r.git"}
    assert (answered["thread"]["gitInfo"], answered["thread"]["daybreakEnabled"]) == (
        expected,
        False,
    )
    thread = await read(client, thread_id)
    assert (thread["gitInfo"], thread["daybreakEnabled"]) == (expected, False)


async def test_a_patch_set_before_the_first_turn_outlives_it(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client)
    await metadata(client, thread_id, gitInfo={"branch": "early"}, daybreakEnabled=True)
    model_server.enqueue(Reply.text("hello"))

    await run_turn(client, thread_id, "hi")

    thread = await listed(client, thread_id)
    assert thread["gitInfo"] == {"sha": None, "branch": "early", "originUrl": None}
    assert thread["daybreakEnabled"] is True


async def test_a_metadata_patch_survives_a_restart_and_shows_on_resume(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("hello"))
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "hi")
    await metadata(client, thread_id, gitInfo={"sha": "abc"}, daybreakEnabled=False)
    await client.close()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)
    stored = await read(again, thread_id)
    resumed = await again.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})

    expected = {"sha": "abc", "branch": None, "originUrl": None}
    for thread in (stored, resumed["thread"], await listed(again, thread_id)):
        assert (thread["gitInfo"], thread["daybreakEnabled"]) == (expected, False)


async def test_a_patch_of_a_stored_thread_that_is_not_loaded_is_kept(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await start_client(servers, model_server, experimental=True)
    model_server.enqueue(Reply.text("hello"))
    thread_id = await new_thread(client)
    await run_turn(client, thread_id, "hi")
    await client.call("thread/unsubscribe", {"threadId": thread_id})

    await metadata(client, thread_id, gitInfo={"branch": "cold"})

    resumed = await client.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    assert resumed["thread"]["gitInfo"] == {"sha": None, "branch": "cold", "originUrl": None}
