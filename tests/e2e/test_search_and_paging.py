"""thread/search and thread/turns/list over real rollouts, served from the history index."""

from __future__ import annotations

import os
from pathlib import Path

import zstandard

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.homes import BASE_MS, ThreadSpec, uuid7_at, write_thread
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, run_turn, write_model_config

INDEX_FILES = "state_app_server_2.sqlite*"


def compress_in_place(path: Path) -> Path:
    """What codex's compressor leaves: `<name>.jsonl.zst` with the plain file's mtime, no plain."""
    target = path.with_name(path.name + ".zst")
    target.write_bytes(zstandard.ZstdCompressor(level=3).compress(path.read_bytes()))
    stat = path.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    path.unlink()
    return target


async def search(client: RpcClient, term: str, **params: object) -> dict[str, str]:
    """thread/search → {thread id: snippet}."""
    result = await client.call("thread/search", {"searchTerm": term, **params})
    return {hit["thread"]["id"]: hit["snippet"] for hit in result["data"]}


async def test_search_finds_text_in_plain_and_compressed_threads(servers: Servers) -> None:
    data_dir = servers.dirs.data_dir
    plain = ThreadSpec(BASE_MS, salt=1, text="the walrus is plain")
    packed = ThreadSpec(BASE_MS + 1000, salt=2, text="the Walrus is packed")
    other = ThreadSpec(BASE_MS + 2000, salt=3, text="nothing here")
    write_thread(data_dir, plain)
    zst = compress_in_place(write_thread(data_dir, packed))
    write_thread(data_dir, other)
    client = await servers.stdio()
    await client.initialize(experimental=True)

    hits = await search(client, "WALRUS")

    assert hits == {
        packed.thread_id: "the Walrus is packed",
        plain.thread_id: "the walrus is plain",
    }
    assert zst.exists()
    assert not zst.with_name(zst.name.removesuffix(".zst")).exists()  # never materialized


async def test_search_respects_the_archived_filter(servers: Servers) -> None:
    live = ThreadSpec(BASE_MS, salt=1, text="shared words, live")
    archived = ThreadSpec(BASE_MS + 1000, salt=2, text="shared words, archived", archived=True)
    write_thread(servers.dirs.data_dir, live)
    write_thread(servers.dirs.data_dir, archived)
    client = await servers.stdio()
    await client.initialize(experimental=True)

    assert list(await search(client, "shared words")) == [live.thread_id]
    assert list(await search(client, "shared words", archived=True)) == [archived.thread_id]


async def test_search_index_is_rebuilt_after_it_is_deleted(servers: Servers) -> None:
    data_dir = servers.dirs.data_dir
    spec = ThreadSpec(BASE_MS, salt=1, text="remember the lighthouse")
    write_thread(data_dir, spec)
    first = await servers.stdio()
    await first.initialize(experimental=True)
    assert list(await search(first, "lighthouse")) == [spec.thread_id]
    await servers.processes[-1].kill()
    deleted = list(data_dir.glob(INDEX_FILES))
    for path in deleted:
        path.unlink()

    second = await servers.stdio()
    await second.initialize(experimental=True)

    assert deleted
    assert list(await search(second, "lighthouse")) == [spec.thread_id]


async def test_search_needs_a_non_empty_term(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize(experimental=True)

    reply = await client.request("thread/search", {"searchTerm": "  "})

    assert reply.error is not None
    assert reply.error["code"] == -32600
    assert reply.error["message"] == "thread/search requires a non-empty searchTerm"


async def test_search_sees_a_turn_as_soon_as_it_completes(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    model_server.enqueue(Reply.text("The capital is Ouagadougou."))
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize(experimental=True)
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]

    await run_turn(client, thread_id, "capital of Burkina Faso?")

    assert await search(client, "ouagadougou") == {thread_id: "The capital is Ouagadougou."}
    assert await search(client, "burkina") == {thread_id: "capital of Burkina Faso?"}


async def test_turns_list_pages_backwards_through_a_2000_turn_thread(servers: Servers) -> None:
    spec = ThreadSpec(BASE_MS, salt=1, text="long", turns=2000)
    write_thread(servers.dirs.data_dir, spec)
    expected = [
        uuid7_at(spec.created_ms + turn + 1, spec.salt + 1000 * (turn + 1)) for turn in range(2000)
    ]
    client = await servers.stdio()
    await client.initialize()

    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        page = await client.call(
            "thread/turns/list", {"threadId": spec.thread_id, "limit": 150, "cursor": cursor}
        )
        seen += [turn["id"] for turn in page["data"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert seen == expected[::-1]
    assert pages == 14
    last_page = page["data"]
    assert [item["type"] for item in last_page[-1]["items"]] == ["userMessage", "agentMessage"]


async def test_turns_list_reads_back_over_a_page_with_its_backwards_cursor(
    servers: Servers,
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1, text="long", turns=30)
    write_thread(servers.dirs.data_dir, spec)
    client = await servers.stdio()
    await client.initialize()
    newest = await client.call("thread/turns/list", {"threadId": spec.thread_id, "limit": 10})
    older = await client.call(
        "thread/turns/list",
        {"threadId": spec.thread_id, "limit": 10, "cursor": newest["nextCursor"]},
    )

    again = await client.call(
        "thread/turns/list",
        {
            "threadId": spec.thread_id,
            "limit": 10,
            "sortDirection": "asc",
            "cursor": older["backwardsCursor"],
        },
    )

    assert [t["id"] for t in again["data"]] == [t["id"] for t in older["data"][:1]] + [
        t["id"] for t in newest["data"][::-1][:9]
    ]
