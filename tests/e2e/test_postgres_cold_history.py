"""Cold history in the real server on the PostgreSQL store: `rollout/compress` and the setting.

A codex home (its threads last written on 2026-11-24) is imported with `storage import`; a
server whose `rollout_compression.min_age_days` makes them cold compresses their lines on
`rollout/compress`, and serves them as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import Servers
from tests.e2e.test_postgres_store import run_cli
from tests.store.fixture_data import copy_home, fixture_threads
from tests.support.client import StdioClient
from tests.support.server_process import ServerProcess
from tests.support.turn_env import MODEL_ENV

COLD_AFTER_DAYS = "rollout_compression.min_age_days=1"
"""The fixture threads are older than a day: cold for a server started with this."""


async def imported_server(
    servers: Servers, store_url: str, tmp_path: Path, *settings: str
) -> StdioClient:
    """A server on `store_url` holding the codex fixture home, started with `-c settings`."""
    home = copy_home(tmp_path / "codex-home")
    data_dir = tmp_path / "d"
    code, _out, err = await run_cli(
        servers.dirs.home,
        "--data-dir",
        str(data_dir),
        "storage",
        "import",
        "--from",
        str(home),
        "--store-url",
        store_url,
    )
    assert code == 0, err
    extra = [arg for setting in settings for arg in ("-c", setting)]
    process = await ServerProcess.start(
        data_dir, servers.dirs.home, "--store-url", store_url, *extra, env=MODEL_ENV
    )
    servers.processes.append(process)
    client = process.stdio_client()
    servers.clients.append(client)
    await client.initialize(experimental=True)
    return client


async def line_tables(store_url: str) -> tuple[int, int]:
    """(plain lines, compressed batches) in the store."""
    connection = await asyncpg.connect(store_url)
    try:
        plain = await connection.fetchval("SELECT count(*) FROM rollout_lines")
        batches = await connection.fetchval("SELECT count(*) FROM rollout_batches")
    finally:
        await connection.close()
    return int(plain), int(batches)


async def reads(client: StdioClient) -> list[Any]:
    return [
        await client.call("thread/read", {"threadId": thread["id"], "includeTurns": True})
        for thread in fixture_threads()
    ]


async def test_rollout_compress_compresses_cold_threads_and_reads_stay_the_same(
    servers: Servers, store_url: str, tmp_path: Path
) -> None:
    client = await imported_server(servers, store_url, tmp_path, COLD_AFTER_DAYS)
    before = await reads(client)

    assert await client.call("rollout/compress", {}) == {}

    assert (await line_tables(store_url))[0] == 0
    assert (await line_tables(store_url))[1] > 0
    assert await reads(client) == before


async def test_compression_switched_off_leaves_the_lines_plain(
    servers: Servers, store_url: str, tmp_path: Path
) -> None:
    client = await imported_server(
        servers, store_url, tmp_path, COLD_AFTER_DAYS, "rollout_compression.enabled=false"
    )

    assert await client.call("rollout/compress", {}) == {}

    assert (await line_tables(store_url))[1] == 0
