"""Assemble the server: configuration → store → thread manager → handlers → dispatcher → transport.

This is the only module that knows every layer; each layer below receives what it needs here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app_server.agent.mcp.manager import McpManager
from app_server.agent.tools.exec.sandbox import find_bwrap
from app_server.client_connection import ClientConnection
from app_server.compression_config import compression_settings
from app_server.config import ServerConfig
from app_server.handler_table import (
    LazyGroup,
    handler_table,
    make_file_search,
    make_fs,
    make_process_table,
)
from app_server.notification import notification
from app_server.rpc.dispatcher import Dispatcher
from app_server.rpc.forwarding import Forwarder
from app_server.rpc.relay import BROADCAST, BroadcastRelay
from app_server.sandbox_notice import NO_SANDBOX_DETAILS, NO_SANDBOX_SUMMARY
from app_server.settings import ResolvedSettings
from app_server.store.errors import StoreUnavailable
from app_server.store.interface import (
    OWNER_GONE,
    ProcessMessaging,
    StoreWarning,
    ThreadsHandedOver,
    ThreadStore,
)
from app_server.store.local.compression_worker import CompressionSettings
from app_server.store.local.store import LocalThreadStore
from app_server.threads.manager import ThreadManager
from app_server.threads.turns import ThreadTurns
from app_server.transport.auth import CapabilityToken
from app_server.transport.listen_address import ListenAddress
from app_server.transport.stdio import claim_stdout, serve_stdio
from app_server.transport.stdio_start import StdioStart
from app_server.warm_up import build_first, warm_up
from protocol import types as wire

if TYPE_CHECKING:
    from app_server.agent.providers.base import ModelProvider
    from app_server.api.fs import FsHandlers
    from app_server.api.fuzzy_file_search import FuzzyFileSearchHandlers
    from app_server.config.writer import ConfigWriter
    from app_server.processes.table import ProcessTable
    from protocol.types import ConfigWarningNotification

log = logging.getLogger(__name__)

__all__ = ["NO_SANDBOX_DETAILS", "NO_SANDBOX_SUMMARY", "AppServer", "ListenAddress"]

PROVIDER_FACTORY = "app_server.agent.providers.factory"
"""The model-provider machinery: imported when the first provider is made (by then normally
warmed, with the HTTP client it brings, by `app_server.warm_up`)."""

GIL_SWITCH_INTERVAL_SECONDS = 0.0005
"""How long a worker thread running Python may keep the GIL while the event loop waits for it
(CPython's default is 5 ms). Requests are served on the loop, and every await of theirs gives
the GIL up; while a worker thread is busy (the startup scan of 10,000 rollouts, a long fold),
each way back costs up to one interval, so the first index-only `thread/list` after start took
~100 ms at 5 ms, ~40 ms at 0.5 ms. The cost is more switching for the busy worker (a few % of
its throughput, while the loop has work)."""


class AppServer:
    """The whole server for one data dir."""

    def __init__(self, config: ServerConfig, *, server_cwd: Path | None = None) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        compression, _ = compression_settings(config)  # its problems are among config.problems
        self._config_problems = list(config.problems)
        self.store = _open_store(config, compression)
        self.threads = ThreadManager(self.store, config, server_cwd=server_cwd or Path.cwd())
        if isinstance(self.store, ThreadsHandedOver):
            self.store.on_handover_request(self.threads.unloader.release_if_idle)
        self._config_writer_made: ConfigWriter | None = None
        self.mcp = McpManager(os.environ, warn=self._warn_all)
        self.threads.mcp = self.mcp
        self.turns = ThreadTurns(self.threads, self._provider_for)
        self.fs: LazyGroup[FsHandlers] = LazyGroup(make_fs)
        self.processes: LazyGroup[ProcessTable] = LazyGroup(make_process_table)
        self.file_search: LazyGroup[FuzzyFileSearchHandlers] = LazyGroup(make_file_search)
        self.forwarder: Forwarder | None = None
        if isinstance(self.store, ProcessMessaging):
            self.forwarder = Forwarder(
                self.store,
                is_loaded_here=lambda thread_id: self.threads.loaded(thread_id) is not None,
                release_if_unwatched=self.threads.unloader.release_if_unwatched,
            )
        self.dispatcher = Dispatcher(
            handler_table(self),
            on_initialized=self._after_initialize,
            on_closed=self._connection_closed,
            forward=self.forwarder.forward if self.forwarder is not None else None,
            forward_answer=self.forwarder.answer if self.forwarder is not None else None,
        )
        if self.forwarder is not None and isinstance(self.store, ProcessMessaging):
            self.forwarder.attach(self.dispatcher.dispatch, self._connection_closed)
            relay = BroadcastRelay(
                self.store,
                local_connections=self.threads.connections.all,
                is_loaded_here=lambda thread_id: self.threads.loaded(thread_id) is not None,
                is_peer=self.forwarder.is_peer,
                broadcast=self.threads.connections.broadcast,
            )
            self.forwarder.on_kind(BROADCAST, relay.received)
            self.forwarder.on_kind(OWNER_GONE, relay.owner_gone)
            self.threads.connections.relay = relay
        self._store_warnings: list[StoreWarning] = []
        self._sandbox_warnings: list[ConfigWarningNotification] = []
        self._told_early: frozenset[str] = frozenset()
        """Warnings the stdio fast path already sent after its `initialize` answer."""
        self._warming: asyncio.Task[None] | None = None

    def _warn_all(self, summary: str, details: str) -> None:
        """A `configWarning` to every client (a `required` MCP server that failed)."""
        self.threads.connections.broadcast(
            wire.ConfigWarningNotification(summary=summary, details=details)
        )

    def _provider_for(self, settings: ResolvedSettings) -> ModelProvider:
        """The model provider a thread's turn samples through (raises `ProviderError` with a
        message saying what to configure)."""
        from app_server.agent.providers.factory import create_provider
        from app_server.agent.providers.provider_config import resolve_provider

        provider = resolve_provider(
            settings.config.toml, settings.model_provider, self.config.data_dir, os.environ
        )
        return create_provider(provider, self.config.data_dir, os.environ)

    def config_writer(self) -> ConfigWriter:
        """The server's one config writer, made on the first config write (its module brings
        `tomlkit`); `config/*` and `skills/config/write` share it, so their edits queue."""
        if self._config_writer_made is None:
            from app_server.config.writer import ConfigWriter

            self._config_writer_made = ConfigWriter(self.config)
        return self._config_writer_made

    def _connection_closed(self, connection: ClientConnection) -> None:
        """What a connection owned ends with it: its thread subscriptions, its watches, its
        processes (killed), its file-search sessions."""
        self.threads.connection_closed(connection)
        if self.forwarder is not None:
            self.forwarder.client_closed(connection)
        if (fs := self.fs.built) is not None:
            fs.connection_closed(connection)
        if (processes := self.processes.built) is not None:
            processes.connection_closed(connection.connection_id)
        if (file_search := self.file_search.built) is not None:
            file_search.connection_closed(connection)

    def _after_initialize(self, connection: ClientConnection) -> None:
        self.threads.connection_opened(connection)
        warnings = (
            [
                wire.ConfigWarningNotification(summary=p.summary, details=p.details, path=p.path)
                for p in self._config_problems
            ]
            + [
                wire.ConfigWarningNotification(summary=w.summary, details=w.details)
                for w in self._store_warnings
            ]
            + self._sandbox_warnings
        )
        told, self._told_early = self._told_early, frozenset()
        warnings = [warning for warning in warnings if warning.summary not in told]
        for warning in warnings:
            connection.notify(notification(warning))

    async def start(self) -> None:
        """Open the store (recovering a damaged index); reconciliation continues in the
        background, so this returns before any large scan."""
        build_first()  # before the store's scan starts competing for the GIL
        self._store_warnings = await self.store.start()
        await self._find_sandbox()
        self.mcp.start(self.config.toml.mcp_servers)  # in the background
        self._warming = asyncio.create_task(warm_up(self.dispatcher.until_quiet), name="warm-up")

    async def _find_sandbox(self) -> None:
        """Probe bubblewrap once; without it, say so (log and every client) instead of
        pretending commands are sandboxed — they will need approval instead."""
        bwrap = await asyncio.to_thread(find_bwrap, self.config.toml.bwrap_path)
        self.threads.bwrap = bwrap
        if bwrap is None:
            log.warning("%s %s", NO_SANDBOX_SUMMARY, NO_SANDBOX_DETAILS)
            self._sandbox_warnings = [
                wire.ConfigWarningNotification(
                    summary=NO_SANDBOX_SUMMARY, details=NO_SANDBOX_DETAILS
                )
            ]

    async def stop(self) -> None:
        """Stop warming up; kill every standalone process, stop every watch, close every
        writer (fsync) and the store."""
        if self._warming is not None:
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming
        if (processes := self.processes.built) is not None:
            await processes.close()
        if (fs := self.fs.built) is not None:
            await fs.close()
        loaded = self.threads.loaded_ids()
        await self.threads.unloader.close()
        if self.forwarder is not None:  # the turns stopped reach other processes' clients, then
            await self.forwarder.finish_peers()  # that the threads are loaded nowhere
        if isinstance(relay := self.threads.connections.relay, BroadcastRelay):
            relay.departing(loaded)
        await self.mcp.close()
        await self.store.close()
        if PROVIDER_FACTORY in sys.modules:  # else no provider was ever made
            from app_server.agent.providers.factory import close_providers

            await close_providers()

    async def run(
        self,
        listen: ListenAddress,
        token: CapabilityToken | None = None,
        *,
        stdio_start: StdioStart | None = None,
    ) -> None:
        """Serve until the client leaves (stdio) or SIGTERM/SIGINT arrives. `stdio_start`: what
        `app_server.startup` did on stdio before this server existed (already answered
        `initialize`, claimed stdout, read input)."""
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if stdio_start is not None and stdio_start.stop_requested():
            stop.set()
        await self.start()
        try:
            if listen.host is None:
                start = stdio_start or StdioStart()
                self._told_early = start.told
                stdout_fd = claim_stdout() if start.protocol_fd is None else start.protocol_fd
                await serve_stdio(self.dispatcher, stop, stdout_fd=stdout_fd, start=start)
            else:
                from app_server.transport.websocket import WebSocketListener

                listener = WebSocketListener(self.dispatcher, token)
                await listener.serve(listen.host, listen.port, stop)
        finally:
            await self.stop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        log.info("app-server stopped")


def _open_store(config: ServerConfig, compression: CompressionSettings) -> ThreadStore:
    """The store `store_url` selects: PostgreSQL for a `postgresql://` URL (imported only
    then: asyncpg is not needed otherwise), else the data dir's files. Raises
    `StoreUnavailable` for a URL of another kind."""
    url = config.toml.store_url
    if url is None:
        return LocalThreadStore(config.data_dir, compression=compression)
    from app_server.store.postgres.connect import POSTGRES_SCHEMES, is_postgres_url

    if not is_postgres_url(url):
        schemes = " or ".join(f"{scheme}://" for scheme in POSTGRES_SCHEMES)
        scheme = url.partition(":")[0]
        raise StoreUnavailable(
            "store_url", f"unsupported URL scheme {scheme!r} (expected {schemes}…)"
        )
    from app_server.store.postgres.store import PostgresThreadStore

    return PostgresThreadStore(url, compression=compression)
