"""The thread manager: which threads are loaded, who is subscribed, and their lifecycle.

It owns every `LoadedThread` of the process and is the only code that loads threads, so the
rules of PROTOCOL.md §5 and §7 live in one place: which connection is subscribed, who hears which
notification, and the error texts clients match on. Its `unloader` (`thread_unloader`) releases
loaded threads (on request, when idle, on another process's handover, at shutdown); the manager
tells it when a thread may have become idle. History itself is the store's business; the manager
decides and the store records (the manager's own lines — a new thread's `session_meta`, a crashed
turn closed on load — are written by `thread_rollout`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from msgspec.structs import replace

from app_server.agent.instructions import default_base_instructions
from app_server.agent.mcp.manager import McpManager
from app_server.agent.rate_limits import RateLimitBoard
from app_server.agent.tools.catalog import multi_agent_version_for
from app_server.agent.tools.workspace import ThreadWorkspace
from app_server.client_connection import ClientConnection
from app_server.config import ServerConfig
from app_server.config.early import read_user_table
from app_server.config.keys import McpServerToml
from app_server.errors import InvalidRequest, NotFound
from app_server.ids import parse_thread_id, uuid7
from app_server.notification import notification, now_ms
from app_server.settings import (
    ResolvedSettings,
    default_settings,
    persisted_settings,
    with_saved_settings,
)
from app_server.settings_overrides import SettingsOverrides, apply_overrides
from app_server.store.errors import ThreadNotStored
from app_server.store.interface import ThreadHistory, ThreadStore, ThreadWriter
from app_server.threads.fanout import Connections
from app_server.threads.fork import create_fork
from app_server.threads.lifecycle import Lifecycle
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.session_meta import new_thread_record
from app_server.threads.stored_reads import StoredReads
from app_server.threads.thread_rollout import create_rollout, open_stored_rollout
from app_server.threads.thread_unloader import ThreadUnloader
from protocol.types import (
    IdleThreadStatus,
    SandboxPolicy,
    ThreadStartedNotification,
    ThreadStatus,
    ThreadStatusChangedNotification,
    ThreadTokenUsageUpdatedNotification,
)
from protocol.wire_model import WireModel


def thread_id_param(value: str) -> str:
    """A thread id from params, canonicalized; malformed ones are refused as 0.169 does."""
    try:
        return parse_thread_id(value)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


class ThreadManager:
    """Loaded threads and their subscribers (see the module docstring)."""

    def __init__(self, store: ThreadStore, config: ServerConfig, *, server_cwd: Path) -> None:
        self.store = store
        self.config = config
        self.data_dir = config.data_dir
        self.server_cwd = server_cwd
        self.connections = Connections()
        self._loaded: dict[str, LoadedThread] = {}
        self.reads = StoredReads(store, self._live_writer)
        """Every history read goes through here: it flushes the thread's live writer first."""
        self.unloader = ThreadUnloader(
            self._loaded,
            self.connections,
            self.set_status,
            idle_unload_seconds=config.toml.idle_thread_unload_seconds,
        )
        """Releases loaded threads: when idle, on request, on handover, at shutdown."""
        self.approval_timeout_seconds = config.toml.approval_timeout_seconds
        self.bwrap: str | None = None
        """The sandbox executable for commands (found at startup; None: unavailable)."""
        self.mcp: McpManager | None = None
        """The MCP servers (set by the composition root; None: MCP is off)."""
        self.rate_limits = RateLimitBoard()
        """The latest rate limits model responses reported (`account/rateLimits/read`)."""

    def default_sandbox(self) -> SandboxPolicy:
        """The sandbox a thread gets when nobody chooses one (config.toml's `sandbox_mode`)."""
        return default_settings(self.config.effective, self.server_cwd).sandbox

    def workspace(self, thread: LoadedThread) -> ThreadWorkspace:
        """The thread's tool state, made on first use."""
        if thread.workspace is None:
            thread.workspace = ThreadWorkspace(self.bwrap)
        return thread.workspace

    # -- connections and subscriptions -----------------------------------------------------------
    def connection_opened(self, connection: ClientConnection) -> None:
        self.connections.add(connection)

    def connection_closed(self, connection: ClientConnection) -> None:
        """A connection ended: it is no longer anyone's subscriber."""
        self.connections.remove(connection)
        for thread in list(self._loaded.values()):
            if thread.unsubscribe(connection.connection_id):
                self.unloader.schedule_idle_unload(thread)

    def unsubscribe(self, connection: ClientConnection, thread_id: str) -> str:
        """`thread/unsubscribe`: `unsubscribed`, `notSubscribed` or `notLoaded`."""
        thread = self._loaded.get(thread_id)
        if thread is None:
            return "notLoaded"
        if not thread.unsubscribe(connection.connection_id):
            return "notSubscribed"
        self.unloader.schedule_idle_unload(thread)
        return "unsubscribed"

    # -- lookup ----------------------------------------------------------------------------------
    def loaded(self, thread_id: str) -> LoadedThread | None:
        return self._loaded.get(thread_id)

    def _live_writer(self, thread_id: str) -> ThreadWriter | None:
        loaded = self._loaded.get(thread_id)
        return loaded.writer if loaded is not None else None

    def loaded_ids(self) -> list[str]:
        return list(self._loaded)

    def loaded_threads(self) -> list[LoadedThread]:
        return list(self._loaded.values())

    def require_loaded(self, thread_id: str) -> LoadedThread:
        """The loaded thread for turn methods (`thread not found: <id>` otherwise)."""
        thread = self._loaded.get(thread_id)
        if thread is None:
            raise NotFound(f"thread not found: {thread_id}")
        return thread

    # -- notifications ---------------------------------------------------------------------------
    def audience(self, thread: LoadedThread) -> list[ClientConnection]:
        """Who hears a thread's events and answers its approvals: its subscribers and, for a
        sub-agent, those of its loaded ancestors (PROTOCOL.md §5)."""
        if thread.record.parent_thread_id is None:
            return list(thread.subscribers.values())
        connections = dict(thread.subscribers)
        seen = {thread.id}
        parent_id: str | None = thread.record.parent_thread_id
        while parent_id is not None and parent_id not in seen:
            seen.add(parent_id)
            parent = self._loaded.get(parent_id)
            if parent is None:
                break
            connections.update(parent.subscribers)
            parent_id = parent.record.parent_thread_id
        return list(connections.values())

    def publish(
        self, thread: LoadedThread, params: WireModel, *, method: str | None = None
    ) -> None:
        """Send a thread event to its audience (the method is the params type's unless given).
        The latest token usage is kept: a client resuming the loaded thread is told it."""
        if isinstance(params, ThreadTokenUsageUpdatedNotification):
            thread.last_token_usage = params
        thread.joining.publish(self.audience(thread), notification(params, method=method))

    def set_status(self, thread: LoadedThread, status: ThreadStatus) -> None:
        """Change a thread's runtime status and tell every connection (and its subscribers
        on other processes)."""
        thread.status = status
        self.connections.broadcast(
            ThreadStatusChangedNotification(thread_id=thread.id, status=status),
            also=list(thread.subscribers.values()),
        )

    # -- creating and loading --------------------------------------------------------------------
    def resolve_settings(
        self, base: ResolvedSettings, overrides: SettingsOverrides
    ) -> ResolvedSettings:
        """A thread's settings: `base` with the request's overrides and the default prompt."""
        settings = apply_overrides(base, overrides, self.server_cwd)
        if settings.base_instructions is None:
            settings = replace(settings, base_instructions=default_base_instructions())
        return settings

    def start(
        self,
        connection: ClientConnection,
        params: object,
        *,
        history_mode: str,
        ephemeral: bool,
    ) -> LoadedThread:
        """A new thread, loaded and subscribed by the caller; its file comes with its first turn."""
        overrides = SettingsOverrides.from_params(params)
        settings = self.resolve_settings(
            default_settings(self.config.effective, self.server_cwd), overrides
        )
        created_at_ms = now_ms()
        thread_id = uuid7(created_at_ms)
        record = new_thread_record(
            thread_id,
            created_at_ms=created_at_ms,
            settings=settings,
            originator=connection.client_name,
            history_mode=history_mode,
            rollout_path=self.store.rollout_path_for(thread_id, created_at_ms),
            thread_source=getattr(params, "thread_source", None),
        )
        thread = LoadedThread(
            record,
            settings,
            Lifecycle.EPHEMERAL if ephemeral else Lifecycle.UNSAVED,
            multi_agent_version=multi_agent_version_for(settings.config.toml),
        )
        self._loaded[thread_id] = thread
        thread.subscribe(connection)
        return thread

    def announce_started(self, thread: LoadedThread) -> None:
        """`thread/started` to every connection (after the creating request was answered), then
        the thread's MCP servers' startup status (codex's order)."""
        self.connections.broadcast(ThreadStartedNotification(thread=thread.thread(self.data_dir)))
        self.announce_mcp_startup(thread)

    def mcp_tables(self, thread: LoadedThread) -> Mapping[str, McpServerToml]:
        """The thread's MCP servers: its config's, or the reloaded `config.toml`'s."""
        if thread.mcp_tables is not None:
            return thread.mcp_tables
        return thread.settings.config.toml.mcp_servers

    def announce_mcp_startup(self, thread: LoadedThread, *, starting: bool = True) -> None:
        """`mcpServer/startupStatus/updated` for each of the thread's MCP servers (`starting`
        first unless told otherwise, then `ready` or `failed`)."""
        tables = self.mcp_tables(thread)
        if self.mcp is not None and tables:
            self.mcp.announce(
                tables,
                thread.id,
                lambda params: self.publish(thread, params),
                starting=starting,
            )

    async def reload_mcp(self) -> None:
        """`config/mcpServer/reload`: re-read `config.toml`; threads that used its servers use
        the new ones; changed servers restart, unchanged ones keep running."""
        if self.mcp is None:
            return
        old = self.config.toml.mcp_servers
        table = await asyncio.to_thread(read_user_table, self.config.user_file)
        if table is not None:
            self.config.replace_user_table(table)
        new = self.config.toml.mcp_servers
        for thread in self._loaded.values():
            if self.mcp_tables(thread) == old:
                thread.mcp_tables = new
        await self.mcp.reload(new)

    def adopt(self, thread: LoadedThread) -> None:
        """A thread made by the server itself (a spawned sub-agent) is loaded; every connection
        sees it become `idle`."""
        self._loaded[thread.id] = thread
        self.set_status(thread, IdleThreadStatus())

    async def resume(
        self, connection: ClientConnection | None, thread_id: str, params: object
    ) -> tuple[LoadedThread, ThreadHistory | None]:
        """Load a stored thread (or join a loaded one) and subscribe the caller (no caller: the
        server loads it for itself, e.g. a sub-agent its parent talks to).

        Returns the history read while loading (None when the thread was already loaded).
        """
        overrides = SettingsOverrides.from_params(params)
        loaded = self._loaded.get(thread_id)
        if loaded is not None:
            if connection is None:
                return loaded, None
            if not loaded.persisted and connection.connection_id not in loaded.subscribers:
                raise ThreadNotStored(thread_id)  # others see it only once it is on disk
            if connection.connection_id not in loaded.subscribers:
                loaded.joining.hold(connection)  # from now on, nothing missed (`join_hold`)
            loaded.subscribe(connection)
            if loaded.writer is not None:  # what its turns wrote: preview, times, usage
                loaded.record = await self.reads.record(thread_id) or loaded.record
            return loaded, None
        record = await self.store.get(thread_id)
        if record is None or record.archived:
            raise ThreadNotStored(thread_id)
        writer, history = await open_stored_rollout(self.store, self.reads, thread_id)
        loaded = self._loaded.get(thread_id)
        if loaded is not None:  # loaded concurrently by another request
            await writer.close()
            if connection is not None and connection.connection_id not in loaded.subscribers:
                loaded.joining.hold(connection)
                loaded.subscribe(connection)
            return loaded, history
        base = with_saved_settings(
            persisted_settings(history.record, self.config.effective, self.server_cwd),
            history.saved_settings,
        )
        thread = LoadedThread(
            history.record,
            self.resolve_settings(base, overrides),
            Lifecycle.STORED,
            writer=writer,
            multi_agent_known=False,
        )
        thread.history_initialization = "cold_resume"
        thread.metadata = (await self.store.metadata_patches([thread_id])).get(thread_id)
        self._loaded[thread_id] = thread
        if connection is not None:
            thread.subscribe(connection)
        else:
            self.unloader.schedule_idle_unload(thread)
        return thread, history

    async def fork(
        self, connection: ClientConnection, source_id: str, params: object, *, ephemeral: bool
    ) -> LoadedThread:
        """A new thread whose history starts with all of the source's (STORAGE.md §3.6),
        loaded and subscribed by the caller (`threads.fork`)."""
        thread = await create_fork(self, connection, source_id, params, ephemeral=ephemeral)
        self._loaded[thread.id] = thread
        thread.subscribe(connection)
        return thread

    async def writer_for(self, thread: LoadedThread) -> ThreadWriter | None:
        """The thread's writer, creating its rollout (session_meta) on first use; None if
        ephemeral.

        Refused (`thread not found`) for a thread no longer loaded: a caller holding it from
        before an archive, delete or idle unload would otherwise start a second rollout under
        `sessions/` next to the moved one."""
        if thread.ephemeral:
            return None
        async with thread.lock:
            if self._loaded.get(thread.id) is not thread:
                raise NotFound(f"thread not found: {thread.id}")
            if thread.writer is None:
                await create_rollout(self.store, thread)
            return thread.writer
