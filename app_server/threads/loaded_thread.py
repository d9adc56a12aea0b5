"""A thread held in memory by this process: settings, status, subscribers, and its writer.

A thread is *loaded* from `thread/start`, `thread/resume` or `thread/fork` until it is archived,
deleted, or unloaded after sitting idle without subscribers. While loaded it is the one place
that knows its runtime state (status, the active turn, who listens); its history stays in the
store, written only through its own `ThreadWriter`.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from app_server.agent.inter_agent import Mailbox
from app_server.agent.token_usage import TokenTotals
from app_server.agent.tools.workspace import ThreadWorkspace
from app_server.agent.turn_runner import TurnRunner
from app_server.ids import uuid7
from app_server.rollout.model_history import ModelHistory
from app_server.session import ClientSession
from app_server.settings import ThreadSettings
from app_server.store.interface import ThreadWriter
from app_server.store.records import ThreadRecord, thread_from_record
from protocol.types import (
    IdleThreadStatus,
    Thread,
    ThreadEnvironment,
    ThreadStatus,
    Turn,
)

LOCAL_ENVIRONMENT_ID = "local"


class LoadedThread:
    """One loaded thread (see the module docstring)."""

    def __init__(
        self,
        record: ThreadRecord,
        settings: ThreadSettings,
        *,
        persisted: bool,
        ephemeral: bool = False,
        writer: ThreadWriter | None = None,
    ) -> None:
        self.record = record
        """Latest known metadata; for a thread without a rollout yet, what it will start with."""
        self.settings = settings
        self.persisted = persisted
        """Whether the rollout file exists (new threads get it at their first turn)."""
        self.ephemeral = ephemeral
        self.writer = writer
        self.status: ThreadStatus = IdleThreadStatus()
        self.subscribers: dict[int, ClientSession] = {}
        self.lock = asyncio.Lock()
        """Serializes lifecycle operations (resume, archive, delete, first write) on the thread."""
        self.idle_unload: asyncio.TimerHandle | None = None
        self.has_stored_history = persisted
        """The rollout already holds history (resumed or forked): load it before the first turn."""
        self.active_turn: TurnRunner | None = None
        self.last_turn_id: str | None = None
        """The turn this process started last (late sub-agent activity is reported under it)."""
        self.model_history: ModelHistory | None = None
        """What the model has seen, loaded at the first turn and extended by every turn."""
        self.tokens = TokenTotals()
        self.workspace: ThreadWorkspace | None = None
        """Tool state (session approvals, background processes), made at the first turn."""
        self.multi_agent_version: str | None = None
        """`v1`, `v2` or None (no multi-agent tools); see `multi_agent_known`."""
        self.multi_agent_known = not persisted
        """False until the stored `session_meta` was read (a resumed thread learns its version
        with its model history at its first turn)."""
        self.needs_opening_context = False
        """A spawned agent that did not inherit its parent's conversation gets the harness
        context (permissions, environment) at its first turn, like a new thread."""
        self.initial_window_id = uuid7()
        """The id of the thread's first context window (written in its `session_meta` if this
        process creates the rollout)."""
        self.mailbox = Mailbox()
        """Messages from other agents of the session tree, waiting for a turn."""

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def is_sub_agent(self) -> bool:
        return self.record.parent_thread_id is not None

    def subscribe(self, session: ClientSession) -> bool:
        """Add a subscriber; False if it already was one."""
        if session.session_id in self.subscribers:
            return False
        self.subscribers[session.session_id] = session
        self.cancel_idle_unload()
        return True

    def unsubscribe(self, session_id: int) -> bool:
        return self.subscribers.pop(session_id, None) is not None

    def cancel_idle_unload(self) -> None:
        if self.idle_unload is not None:
            self.idle_unload.cancel()
            self.idle_unload = None

    def apply_settings(self, settings: ThreadSettings) -> None:
        """New settings; the record mirrors model and effort as the wire `Thread` shows them."""
        self.settings = settings
        self.record = replace(
            self.record,
            model=settings.model,
            model_provider=settings.model_provider,
            reasoning_effort=settings.reasoning_effort,
        )

    def thread(self, data_dir: Path, *, turns: list[Turn] | None = None) -> Thread:
        """The wire view of the loaded thread (status, environments, current model)."""
        thread = thread_from_record(self.record, data_dir, status=self.status, turns=turns or [])
        environment = ThreadEnvironment(
            environment_id=LOCAL_ENVIRONMENT_ID,
            cwd=self.settings.cwd,
            runtime_workspace_roots=self.settings.runtime_workspace_roots,
        )
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
