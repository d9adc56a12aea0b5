"""Cold-rollout compression in the real server: background run, `rollout/compress`, the switch."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zstandard

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.homes import BASE_MS, ThreadSpec, write_thread
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.sandbox_env import not_sandbox_warning
from tests.support.server_process import TEST_COMPRESSION_MIN_AGE_DAYS
from tests.support.turn_env import MODEL_ENV, PROVIDER, run_turn, write_model_config

COLD_AGE_SECONDS = 2 * TEST_COMPRESSION_MIN_AGE_DAYS * 86_400
"""How old `cold_thread` makes a rollout: cold for the test servers' min age as well."""
MARKER = Path(".tmp", "rollout-compression.lock")
OFF = ("-c", "rollout_compression.enabled=false")


def cold_thread(data_dir: Path, spec: ThreadSpec) -> Path:
    """Write a rollout last modified long ago (`COLD_AGE_SECONDS`); returns its plain path."""
    path = write_thread(data_dir, spec)
    moment = time.time() - COLD_AGE_SECONDS
    os.utime(path, (moment, moment))
    return path


def zst_of(plain: Path) -> Path:
    return plain.with_name(plain.name + ".zst")


def compressed_offline(plain: Path) -> None:
    """Compress as another program would while our server is down (mtime kept)."""
    info = plain.stat()
    zst = zst_of(plain)
    zst.write_bytes(zstandard.ZstdCompressor(level=3).compress(plain.read_bytes()))
    os.utime(zst, ns=(info.st_atime_ns, info.st_mtime_ns))
    plain.unlink()


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the files"
        await asyncio.sleep(0.05)


async def snapshot(client: RpcClient, thread_ids: list[str]) -> tuple[Any, list[Any]]:
    listing = await client.call("thread/list", {"limit": 100})
    reads = [
        await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
        for thread_id in thread_ids
    ]
    return listing, reads


async def test_cold_rollouts_are_compressed_in_the_background_and_read_the_same(
    servers: Servers,
) -> None:
    data_dir = servers.dirs.data_dir
    specs = [ThreadSpec(BASE_MS + i * 1000, salt=i, turns=2, text=f"thread {i}") for i in range(3)]
    specs.append(ThreadSpec(BASE_MS + 9000, salt=9, archived=True, text="archived"))
    paths = [cold_thread(data_dir, spec) for spec in specs]
    ids = [spec.thread_id for spec in specs]

    reference = await servers.stdio(*OFF)
    await reference.initialize()
    before = await snapshot(reference, ids)
    await reference.close()
    await servers.processes[0].wait()
    assert all(path.exists() and not zst_of(path).exists() for path in paths)

    client = await servers.stdio()
    await client.initialize()
    await until(lambda: all(zst_of(p).exists() and not p.exists() for p in paths))
    after = await snapshot(client, ids)
    assert after == before
    listing, reads = after
    assert [thread["path"] for thread in listing["data"]] == [
        str(path) for path in reversed(paths[:3])
    ]
    assert all(read["thread"]["path"].endswith(".jsonl") for read in reads)


async def test_rollout_compress_compresses_cold_rollouts_before_answering(
    servers: Servers,
) -> None:
    client = await servers.stdio()
    await client.initialize(experimental=True)
    path = cold_thread(servers.dirs.data_dir, ThreadSpec(BASE_MS, salt=1))
    assert await client.call("rollout/compress", {}) == {}
    assert zst_of(path).exists()
    assert not path.exists()
    assert (servers.dirs.data_dir / MARKER).read_text().startswith("pid=")


async def test_rollout_compress_without_params_is_accepted(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize(experimental=True)
    path = cold_thread(servers.dirs.data_dir, ThreadSpec(BASE_MS, salt=1))
    reply = await client.request("rollout/compress", omit_params=True)
    assert reply.result == {}
    assert zst_of(path).exists()


async def test_rollout_compress_requires_the_experimental_api(servers: Servers) -> None:
    client = await servers.stdio(*OFF)
    await client.initialize()
    reply = await client.request("rollout/compress", {})
    assert (reply.code, reply.message) == (
        -32600,
        "rollout/compress requires experimentalApi capability",
    )


async def test_rollout_compress_refuses_params(servers: Servers) -> None:
    client = await servers.stdio(*OFF)
    await client.initialize(experimental=True)
    reply = await client.request("rollout/compress", {"force": True})
    assert reply.code == -32602
    assert "rollout/compress takes no params" in reply.message


async def test_a_thread_compressed_while_the_server_was_down_is_listed_read_searched_and_resumed(
    servers: Servers, model_server: ModelServer
) -> None:
    data_dir = servers.dirs.data_dir
    spec = ThreadSpec(BASE_MS, salt=1, turns=2, text="first question", provider=PROVIDER)
    plain = cold_thread(data_dir, spec)
    compressed_offline(plain)
    write_model_config(data_dir, model_server.base_url)
    model_server.enqueue(Reply.text("the answer"))
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize(experimental=True)

    listed = (await client.call("thread/list", {}))["data"]
    assert [(t["id"], t["path"]) for t in listed] == [(spec.thread_id, str(plain))]
    read = await client.call("thread/read", {"threadId": spec.thread_id, "includeTurns": True})
    assert len(read["thread"]["turns"]) == 2
    found = await client.call("thread/search", {"searchTerm": "FIRST QUESTION"})
    assert [(hit["thread"]["id"], hit["snippet"]) for hit in found["data"]] == [
        (spec.thread_id, "first question")
    ]
    assert zst_of(plain).exists(), "searching reads the index, not the rollout"
    assert not plain.exists()

    resumed = await client.call("thread/resume", {"threadId": spec.thread_id})
    assert len(resumed["thread"]["turns"]) == 2
    assert plain.exists(), "resuming restores the plain file"
    assert not zst_of(plain).exists()
    turn = await run_turn(client, spec.thread_id, "second question")
    assert turn["status"] == "completed", turn
    assert b"second question" in plain.read_bytes()
    again = await client.call("thread/read", {"threadId": spec.thread_id, "includeTurns": True})
    assert len(again["thread"]["turns"]) == 3


async def test_switched_off_compression_leaves_cold_rollouts_alone(servers: Servers) -> None:
    path = cold_thread(servers.dirs.data_dir, ThreadSpec(BASE_MS, salt=1))
    client = await servers.stdio(*OFF)
    await client.initialize(experimental=True)
    assert await client.call("rollout/compress", {}) == {}
    assert path.exists()
    assert not zst_of(path).exists()
    assert not (servers.dirs.data_dir / MARKER).exists()


async def test_codex_feature_switch_set_to_false_turns_compression_off(servers: Servers) -> None:
    path = cold_thread(servers.dirs.data_dir, ThreadSpec(BASE_MS, salt=1))
    client = await servers.stdio("-c", "features.local_thread_store_compression=false")
    await client.initialize(experimental=True)
    assert await client.call("rollout/compress", {}) == {}
    assert path.exists()
    assert not zst_of(path).exists()


async def test_a_min_age_from_the_config_decides_what_is_cold(servers: Servers) -> None:
    path = cold_thread(servers.dirs.data_dir, ThreadSpec(BASE_MS, salt=1))
    too_young = 3 * TEST_COMPRESSION_MIN_AGE_DAYS  # older than the rollout
    client = await servers.stdio("-c", f"rollout_compression.min_age_days={too_young}")
    await client.initialize(experimental=True)
    assert await client.call("rollout/compress", {}) == {}
    assert path.exists()
    assert not zst_of(path).exists()


async def test_an_invalid_setting_is_reported_and_its_default_used(servers: Servers) -> None:
    path = cold_thread(servers.dirs.data_dir, ThreadSpec(BASE_MS, salt=1))
    client = await servers.stdio("-c", 'rollout_compression.min_age_days="soon"')
    await client.initialize(experimental=True)
    warning = await client.wait_notification("configWarning", where=not_sandbox_warning)
    assert warning["params"]["summary"] == (
        "Invalid `rollout_compression.min_age_days` in config; using 7"
    )
    assert warning["params"]["details"] == "expected a number >= 0, got 'soon'"
    assert await client.call("rollout/compress", {}) == {}
    assert zst_of(path).exists()
