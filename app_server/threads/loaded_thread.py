"""A thread held in memory by this process: settings, status, subscribers, and its writer.

A thread is *loaded* from `thread/start`, `thread/resume` or `thread/fork` until it is archived,
deleted, or unloaded after sitting idle without subscribers. While loaded it is the one place
that knows its runtime state (status, the active turn, who listens); its history stays in the
store, written only through its own `ThreadWriter`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from msgspec.structs import replace

from app_server.agent.inter_agent import Mailbox
from app_server.agent.token_usage import TokenTotals
from app_server.agent.tools.workspace import ThreadWorkspace
from app_server.agent.turn_runner import TurnRunner
from app_server.client_connection import ClientConnection
from app_server.config.keys import McpServerToml
from app_server.ids import uuid7
from app_server.rollout.model_history import ModelHistory
from app_server.settings import ResolvedSettings
from app_server.store.interface import ThreadWriter
from app_server.store.records import ThreadRecord, thread_from_record
from app_server.store.thread_marks import MetadataPatch
from app_server.threads.join_hold import JoinHold
from app_server.threads.lifecycle import IllegalTransition, Lifecycle, checked_transition
from app_server.threads.metadata_patch import patched_thread
from protocol.types import (
    IdleThreadStatus,
    Thread,
    ThreadEnvironment,
    ThreadStatus,
    ThreadTokenUsageUpdatedNotification,
    Turn,
)

LOCAL_ENVIRONMENT_ID = "local"


class LoadedThread:
    """One loaded thread (see the module docstring)."""

    def __init__(
        self,
        record: ThreadRecord,
        settings: ResolvedSettings,
        lifecycle: Lifecycle,
        *,
        writer: ThreadWriter | None = None,
        multi_agent_version: str | None = None,
        multi_agent_known: bool = True,
        opening_context: bool = False,
        initial_window_id: str | None = None,
    ) -> None:
        self.record = record
        """Latest known metadata; for a thread without a rollout yet, what it will start with."""
        self.settings = settings
        self._lifecycle = lifecycle
        self._writer = writer
        self.status: ThreadStatus = IdleThreadStatus()
        self.subscribers: dict[int, ClientConnection] = {}
        self.joining = JoinHold()
        """Events held for connections joining the thread until their answer is sent
        (`join_hold`)."""
        self.lock = asyncio.Lock()
        """Serializes lifecycle operations (resume, archive, delete, first write) on the thread."""
        self.idle_unload: asyncio.TimerHandle | None = None
        self.active_turn: TurnRunner | None = None
        self.last_turn_id: str | None = None
        self.history_initialization = "new"
        """How the history got into memory, for the turn metadata (`RequestContext`); the
        manager sets `cold_resume` / `warm_fork` / `cold_fork`."""
        self.metadata: MetadataPatch | None = None
        """What `thread/metadata/update` set (loaded with the thread; see `metadata_patch`)."""
        self.last_token_usage: ThreadTokenUsageUpdatedNotification | None = None
        """The latest `thread/tokenUsage/updated` published for the thread (replayed on resume)."""
        """The turn this process started last (late sub-agent activity is reported under it)."""
        self.model_history: ModelHistory | None = None
        """What the model has seen, loaded at the first turn and extended by every turn."""
        self.injections = 0
        """How many `thread/inject_items` calls appended items while loaded (codex numbers
        their pseudo turn ids `auto-compact-<n>`)."""
        self.injected_before_context = False
        """Items were injected before the model's first turn: that turn still opens with the
        harness context."""
        self.tokens = TokenTotals()
        self.workspace: ThreadWorkspace | None = None
        self.mcp_tables: Mapping[str, McpServerToml] | None = None
        """The MCP servers after `config/mcpServer/reload` (None: those of its settings)."""
        """Tool state (session approvals, background processes), made at the first turn."""
        self._multi_agent_version = multi_agent_version
        self._multi_agent_known = multi_agent_known
        self._opening_context = opening_context
        self.initial_window_id = initial_window_id or uuid7()
        """The id of the thread's first context window (written in its `session_meta` if this
        process creates the rollout)."""
        self.mailbox = Mailbox()
        """Messages from other agents of the session tree, waiting for a turn."""

    # -- lifecycle (moved by the thread manager only) ----------------------------------------------
    @property
    def lifecycle(self) -> Lifecycle:
        return self._lifecycle

    @property
    def writer(self) -> ThreadWriter | None:
        """The rollout's writer: set while `CREATED` or `STORED` (a `STORED` fork gets it right
        after its first lines are written), None otherwise."""
        return self._writer

    @property
    def persisted(self) -> bool:
        """Whether the rollout file exists (new threads get it at their first turn)."""
        return self._lifecycle.persisted

    @property
    def ephemeral(self) -> bool:
        return self._lifecycle is Lifecycle.EPHEMERAL

    @property
    def has_stored_history(self) -> bool:
        """The rollout already held history when loaded: read it before the first turn."""
        return self._lifecycle is Lifecycle.STORED

    def rollout_created(self, writer: ThreadWriter) -> None:
        """`UNSAVED` → `CREATED`: the manager wrote the thread's first line with `writer`."""
        self._lifecycle = checked_transition(self._lifecycle, Lifecycle.CREATED)
        self._writer = writer

    def released(self) -> None:
        """→ `RELEASED`: the manager closed the writer; the thread is never written again."""
        self._lifecycle = checked_transition(self._lifecycle, Lifecycle.RELEASED)
        self._writer = None

    # -- what the first turn learns ----------------------------------------------------------------
    @property
    def multi_agent_version(self) -> str | None:
        """`v1`, `v2` or None (no multi-agent tools, or not known yet: see
        `multi_agent_known`)."""
        return self._multi_agent_version

    @property
    def multi_agent_known(self) -> bool:
        """False until the stored `session_meta` was read (a resumed thread learns its version
        with its model history at its first turn)."""
        return self._multi_agent_known

    def learn_multi_agent_version(self, version: str | None) -> None:
        """The version read with a resumed thread's history; it is learnt once and never
        changes (a second call is a bug)."""
        if self._multi_agent_known:
            raise IllegalTransition("the multi-agent version is already known")
        self._multi_agent_version = version
        self._multi_agent_known = True

    def take_opening_context(self) -> bool:
        """Whether this turn must send the harness context (permissions, environment) even
        though the model history is not empty: a spawned agent that did not inherit its
        parent's conversation, at its first turn only. True once, then False."""
        opening, self._opening_context = self._opening_context, False
        return opening

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def is_sub_agent(self) -> bool:
        return self.record.parent_thread_id is not None

    def subscribe(self, connection: ClientConnection) -> bool:
        """Add a subscriber; False if it already was one."""
        if connection.connection_id in self.subscribers:
            return False
        self.subscribers[connection.connection_id] = connection
        self.cancel_idle_unload()
        return True

    def unsubscribe(self, connection_id: int) -> bool:
        self.joining.forget(connection_id)
        return self.subscribers.pop(connection_id, None) is not None

    def cancel_idle_unload(self) -> None:
        if self.idle_unload is not None:
            self.idle_unload.cancel()
            self.idle_unload = None

    def apply_settings(self, settings: ResolvedSettings) -> None:
        """New settings; the record mirrors model and effort as the wire `Thread` shows them."""
        self.settings = settings
        self.record = replace(
            self.record,
            model=settings.model,
            model_provider=settings.model_provider,
            reasoning_effort=settings.reasoning_effort,
        )

    def environment(self) -> ThreadEnvironment:
        """The local environment the thread runs in (its cwd and workspace roots)."""
        return ThreadEnvironment(
            environment_id=LOCAL_ENVIRONMENT_ID,
            cwd=self.settings.cwd,
            runtime_workspace_roots=self.settings.runtime_workspace_roots,
        )

    def thread(self, data_dir: Path, *, turns: list[Turn] | None = None) -> Thread:
        """The wire view of the loaded thread (status, environments, current model)."""
        thread = thread_from_record(self.record, data_dir, status=self.status, turns=turns or [])
        thread = patched_thread(thread, self.metadata)
        environment = self.environment()
        return thread.model_copy(
            update={
                "session_id": self.record.session_id,
                "model": self.settings.model,
                "model_provider": self.settings.model_provider,
                "reasoning_effort": self.settings.reasoning_effort,
                "ephemeral": self.ephemeral,
                "path": None if self.ephemeral else thread.path,
                "environments": [environment],
                "can_accept_direct_input": not self.is_sub_agent,
            }
        )
