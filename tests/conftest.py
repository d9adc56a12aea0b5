"""Fixtures: real server processes in temp dirs, and clients whose every message is checked."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.client import RpcClient, StdioClient, WebSocketClient
from tests.support.model_server import ModelServer
from tests.support.server_process import ServerProcess


@dataclass
class ServerDirs:
    """The temp data dir (CODEX_HOME) and temp HOME a server process runs with."""

    data_dir: Path
    home: Path


@pytest.fixture
def dirs(tmp_path: Path) -> ServerDirs:
    data_dir = tmp_path / "data"
    home = tmp_path / "home"
    data_dir.mkdir()
    home.mkdir()
    return ServerDirs(data_dir, home)


class Servers:
    """Starts server processes and clients; on teardown kills them and checks the clients."""

    def __init__(self, dirs: ServerDirs) -> None:
        self.dirs = dirs
        self.processes: list[ServerProcess] = []
        self.clients: list[RpcClient] = []

    async def start(
        self,
        *args: str,
        listen_ws: bool = False,
        wait_for_listen: bool | None = None,
        env: dict[str, str] | None = None,
    ) -> ServerProcess:
        """Start a server process; `listen_ws` adds `--listen ws://127.0.0.1:0` and waits for it."""
        if listen_ws:
            args = ("--listen", "ws://127.0.0.1:0", *args)
        process = await ServerProcess.start(
            self.dirs.data_dir,
            self.dirs.home,
            *args,
            env=env,
            wait_for_listen=listen_ws if wait_for_listen is None else wait_for_listen,
        )
        self.processes.append(process)
        return process

    async def stdio(self, *args: str, env: dict[str, str] | None = None) -> StdioClient:
        """A new server process on stdio and its client."""
        process = await self.start(*args, env=env)
        client = process.stdio_client()
        self.clients.append(client)
        return client

    async def ws_client(self, process: ServerProcess, **kwargs: object) -> WebSocketClient:
        client = await process.ws_client(**kwargs)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):  # the test may have closed it already
                await client.close()
        for process in self.processes:
            await process.kill()


@pytest.fixture
async def servers(dirs: ServerDirs) -> AsyncIterator[Servers]:
    pool = Servers(dirs)
    try:
        yield pool
    finally:
        await pool.close()
    problems = [v for client in pool.clients for v in client.violations]
    assert not problems, "messages that break the wire contract:\n" + "\n".join(problems)


StdioFactory = Callable[..., Awaitable[StdioClient]]


@pytest.fixture
async def stdio_client(servers: Servers) -> StdioClient:
    """An initialized client of a fresh stdio server."""
    client = await servers.stdio()
    await client.initialize()
    return client


@pytest.fixture
async def model_server() -> AsyncIterator[ModelServer]:
    """A fake model on 127.0.0.1 (see `tests.support.model_server`)."""
    async with ModelServer() as server:
        yield server
