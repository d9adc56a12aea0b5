"""Every MCP server of the configuration, started in the background and shared by threads.

The server's `config.toml` servers start right after the app-server starts (`start`), without
delaying `initialize`: the SDK is imported in a worker thread, then each server starts in its own
task. Threads whose config names the same server with the same launch spec share its connection;
a thread `config` that changes a server gets its own. A server that fails or times out is
reported (`mcpServer/startupStatus/updated` … `failed`, with codex's reason) and skipped; a
`required` one is also reported to every client as a `configWarning`. A server whose process
died under a call is started again on its next use. `reload` re-reads the tables: servers whose
spec changed or disappeared are stopped, new ones started, unchanged ones keep running.
`close` stops them all (each in its own process group: nothing is left behind).

Imports no SDK module at import time (see the package docstring).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from app_server.agent.mcp.spec import McpServerSpec, server_specs
from app_server.config.keys import McpServerToml
from protocol import types as wire

if TYPE_CHECKING:
    from app_server.agent.mcp.connection import McpConnection
    from protocol.types import McpServerStatusUpdatedNotification

log = logging.getLogger(__name__)

CONNECTION_MODULE = "app_server.agent.mcp.connection"

MAX_SERVERS = 64
"""Servers started at most (config order by name); each is a process or an HTTP session, and
its tools are sent with every model request, so a config past this keeps the first ones and
warns."""

Publish: TypeAlias = "Callable[[McpServerStatusUpdatedNotification], None]"
Warn = Callable[[str, str], None]


class McpManager:
    """The running MCP servers (see the module docstring)."""

    def __init__(self, environ: Mapping[str, str], warn: Warn | None = None) -> None:
        self._environ = dict(environ)
        self._warn = warn
        self._connections: dict[tuple[str, str], McpConnection] = {}
        self._module_loaded: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- specs -----------------------------------------------------------------------------------
    def specs(self, tables: Mapping[str, McpServerToml]) -> dict[str, McpServerSpec]:
        specs, problems = server_specs(tables, self._environ)
        for name, reason in problems.items():
            log.warning("MCP server %s skipped: %s", name, reason)
        if len(specs) > MAX_SERVERS:
            kept = dict(list(specs.items())[:MAX_SERVERS])
            log.warning("%d MCP servers configured; only %d start", len(specs), MAX_SERVERS)
            return kept
        return specs

    # -- starting --------------------------------------------------------------------------------
    async def _load(self) -> None:
        """Import the SDK-backed module once, in a worker thread (it is heavy)."""
        if self._module_loaded is None:
            loop = asyncio.get_running_loop()
            self._module_loaded = loop.create_future()
            try:
                await asyncio.to_thread(importlib.import_module, CONNECTION_MODULE)
            except BaseException as exc:
                self._module_loaded.set_exception(exc)
                raise
            self._module_loaded.set_result(None)
        await asyncio.shield(self._module_loaded)

    def start(self, tables: Mapping[str, McpServerToml]) -> None:
        """Start the config's servers in the background (returns at once)."""
        specs = self.specs(tables)
        if specs:
            self._spawn(self._start_all(list(specs.values())))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_all(self, specs: list[McpServerSpec]) -> None:
        await asyncio.gather(*(self.connection(spec) for spec in specs))

    async def connection(self, spec: McpServerSpec) -> McpConnection:
        """The spec's connection, started (again, if its process died) and settled."""
        await self._load()
        key = (spec.name, spec.fingerprint)
        conn = self._connections.get(key)
        if conn is None or (conn.broken and conn.settled.is_set()):
            if conn is not None:
                self._spawn(conn.close())
            from app_server.agent.mcp.connection import McpConnection

            conn = McpConnection(spec)
            self._connections[key] = conn
            if self._closed:
                conn.status, conn.error = "failed", "the app-server is shutting down"
                conn.settled.set()
                return conn
            conn.start()
            self._spawn(self._report_required(conn))
        await conn.wait_settled()
        return conn

    async def _report_required(self, conn: McpConnection) -> None:
        await conn.wait_settled()
        if conn.status == "failed" and conn.spec.required and self._warn is not None:
            self._warn(f"required MCP server `{conn.spec.name}` failed to start", conn.error or "")

    async def ready(self, tables: Mapping[str, McpServerToml]) -> list[McpConnection]:
        """The config's servers once each is ready or failed (a turn waits for this)."""
        specs = self.specs(tables)
        return list(await asyncio.gather(*(self.connection(spec) for spec in specs.values())))

    def announce(
        self,
        tables: Mapping[str, McpServerToml],
        thread_id: str,
        send: Publish,
        *,
        starting: bool = True,
    ) -> None:
        """`mcpServer/startupStatus/updated` for one thread: `starting` for every server, then
        `ready` or `failed` as each settles (codex sends these after `thread/start`; after a
        reload only the outcome)."""
        specs = self.specs(tables)
        for name in specs if starting else ():
            send(
                wire.McpServerStatusUpdatedNotification(
                    thread_id=thread_id, name=name, status="starting"
                )
            )

        async def settle(spec: McpServerSpec) -> None:
            conn = await self.connection(spec)
            failed = conn.status == "failed"
            send(
                wire.McpServerStatusUpdatedNotification(
                    thread_id=thread_id,
                    name=spec.name,
                    status="failed" if failed else "ready",
                    error=conn.error if failed else None,
                )
            )

        for spec in specs.values():
            self._spawn(settle(spec))

    # -- changing and stopping -------------------------------------------------------------------
    async def reload(self, tables: Mapping[str, McpServerToml]) -> None:
        """Stop servers whose spec changed or is gone; start the new ones; keep the rest."""
        wanted = {(spec.name, spec.fingerprint) for spec in self.specs(tables).values()}
        stale = [key for key in self._connections if key not in wanted]
        await asyncio.gather(*(self._connections.pop(key).close() for key in stale))
        self.start(tables)

    async def close(self) -> None:
        """Stop every server and wait until each process group is gone."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        connections, self._connections = list(self._connections.values()), {}
        await asyncio.gather(*(conn.close() for conn in connections), return_exceptions=True)

    def running(self) -> list[McpConnection]:
        return list(self._connections.values())
