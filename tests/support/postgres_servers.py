"""Server processes on one PostgreSQL store, for the end-to-end tests of several processes.

`store_url_in_fresh_schema` gives each test a schema of its own in the test cluster
(`tests/support/postgres.py`), named through the URL's `search_path` (asyncpg passes unknown URL
parameters as server settings).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import Servers
from tests.support.client import StdioClient
from tests.support.model_server import ModelServer
from tests.support.postgres import fresh_schema
from tests.support.server_process import ServerProcess
from tests.support.turn_env import MODEL_ENV, write_model_config


@asynccontextmanager
async def store_url_in_fresh_schema() -> AsyncIterator[str]:
    """A URL whose tables live in a fresh schema of their own."""
    async with fresh_schema() as (dsn, schema):
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await connection.close()
        separator = "&" if "?" in dsn else "?"
        yield f"{dsn}{separator}search_path={schema}"


async def client_on(servers: Servers, data_dir: Path, url: str) -> StdioClient:
    """A server process with its own data dir (only config.toml lives there) on `url`."""
    process = await ServerProcess.start(
        data_dir, servers.dirs.home, "--store-url", url, env=MODEL_ENV
    )
    servers.processes.append(process)
    client = process.stdio_client()
    servers.clients.append(client)
    await client.initialize(experimental=True)
    return client


async def two_clients(
    servers: Servers, model: ModelServer, url: str, tmp_path: Path
) -> tuple[StdioClient, StdioClient]:
    """A client of each of two server processes on `url`."""
    dirs = [tmp_path / "a", tmp_path / "b"]
    for data_dir in dirs:
        data_dir.mkdir()
        write_model_config(data_dir, model.base_url)
    return await client_on(servers, dirs[0], url), await client_on(servers, dirs[1], url)


def turn_events(client: StdioClient, turn_id: str) -> list[dict[str, Any]]:
    """The client's notifications about one turn (its own and its items'), in arrival order."""
    return [
        m
        for m in client.notifications
        if m["params"].get("turnId") == turn_id or m["params"].get("turn", {}).get("id") == turn_id
    ]
