"""New turns of loaded threads: each `TurnRunner` assembled from its thread's state.

Every kind of turn (`turn/start`, a sub-agent's task, a queued message, a compaction, a user's
shell command, a review) starts here: the thread's writer (which creates the rollout file on the
first turn), its model history and skills are loaded, the turn's `TurnSetup` is filled from the
thread's settings (tools, instructions, context window, sub-agent control), and the runner
becomes the thread's active turn. A new turn is refused while another runs (checked again after
the awaits). The rules of when a turn may start live in `app_server/threads/turns.py`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app_server.agent.instructions import default_base_instructions
from app_server.agent.mcp.tools import McpToolSource
from app_server.agent.providers.base import ModelProvider
from app_server.agent.request_builder import auto_compact_limit, effective_context_window
from app_server.agent.review.messages import holds_no_context
from app_server.agent.review.review_turn import ReviewTurn
from app_server.agent.tools.catalog import multi_agent_version_for, turn_tools
from app_server.agent.tools.registry import ToolSource
from app_server.agent.turn_runner import TurnKind, TurnRunner
from app_server.agent.turn_setup import PendingInput, TurnSetup
from app_server.agent.user_shell import UserShellCommand
from app_server.errors import Conflict
from app_server.ids import uuid7
from app_server.rollout.model_history import ModelHistory
from app_server.settings import ResolvedSettings
from app_server.skills import (
    SkillListing,
    list_skills,
    skill_switches,
    skills_instructions,
    with_switches,
)
from app_server.threads.agent_tree import AgentTree
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from app_server.threads.token_replay import load_model_history
from app_server.threads.turn_host import ThreadTurnHost
from app_server.threads.turn_origin import TurnOrigin

ProviderFactory = Callable[[ResolvedSettings], ModelProvider]
"""Returns the model provider for a thread's settings; raises `ProviderError` (missing key,
unknown provider) so the turn fails with a message that says what to configure."""


class TurnFactory:
    """Builds the runners of loaded threads' turns (one factory per server, owned by
    `ThreadTurns`)."""

    def __init__(
        self, manager: ThreadManager, provider_for: ProviderFactory, agents: AgentTree
    ) -> None:
        self._manager = manager
        self._provider_for = provider_for
        self._max_steps = manager.config.toml.max_sampling_steps
        self._agents = agents

    async def new_runner(
        self,
        thread: LoadedThread,
        pending: PendingInput | None,
        origin: TurnOrigin,
        *,
        output_schema: Any = None,
        kind: TurnKind = "turn",
        shell: UserShellCommand | None = None,
        review: ReviewTurn | None = None,
        replacing: TurnRunner | None = None,
    ) -> TurnRunner:
        """A new turn of `thread`, now its active turn, to launch once answered; refused
        (`Conflict`) while another turn runs, unless it is the one a review is `replacing`."""
        _refuse_if_busy(thread, replacing)
        writer = await self._manager.writer_for(thread)
        history = await self._model_history(thread)
        skills = await self._skills(thread.settings)
        _refuse_if_busy(thread, replacing)  # a turn may have started while we awaited
        config = thread.settings.config.toml
        if not thread.multi_agent_known:
            thread.learn_multi_agent_version(
                history.multi_agent_version or multi_agent_version_for(config)
            )
        # A shell command's turn sends no context, so it leaves the opening context to the next
        # turn (which codex also opens with the full context after a thread's first `!cmd`);
        # so does a review (its reviewer has a context of its own).
        first_turn = kind not in ("shell", "review") and (
            thread.take_opening_context()
            or thread.injected_before_context
            or holds_no_context(history.items)
        )
        if first_turn:
            thread.injected_before_context = False
        turn_id = uuid7()
        setup = TurnSetup(
            turn_id=turn_id,
            root_turn_id=origin.root_turn_id or turn_id,
            settings=thread.settings,
            history_mode=thread.record.history_mode,
            writer=writer,
            history=history,
            tokens=thread.tokens,
            tools=turn_tools(config, thread.multi_agent_version, self._mcp_sources(thread)),
            workspace=self._manager.workspace(thread),
            provider=lambda: self._provider_for(thread.settings),
            originator=origin.originator,
            instructions=history.base_instructions
            or thread.settings.base_instructions
            or default_base_instructions(),
            first_turn=first_turn,
            context_window=effective_context_window(config),
            auto_compact_limit=auto_compact_limit(config),
            output_schema=output_schema,
            max_steps=self._max_steps,
            agents=self._agents.control(thread, turn_id, origin.root_turn_id or turn_id)
            if thread.multi_agent_version
            else None,
            mailbox=thread.mailbox,
            parent_turn_id=origin.parent_turn_id,
            initiating_agent_path=origin.initiating_agent_path,
            skills_instructions=skills_instructions(skills),
            skills=skills,
            history_initialization=thread.history_initialization,
        )
        runner = TurnRunner(
            ThreadTurnHost(self._manager, thread),
            setup,
            pending,
            kind=kind,
            shell=shell,
            review=review,
        )
        thread.active_turn = runner
        thread.last_turn_id = turn_id
        return runner

    def _mcp_sources(self, thread: LoadedThread) -> tuple[ToolSource, ...]:
        """The thread's MCP servers' tools, loaded when its turn begins (none configured: no
        source, and the MCP code is not touched)."""
        mcp, tables = self._manager.mcp, self._manager.mcp_tables(thread)
        if mcp is None or not tables:
            return ()
        memory = self._manager.workspace(thread).mcp_approvals
        return (McpToolSource(mcp, tables, memory),)

    async def _skills(self, settings: ResolvedSettings) -> SkillListing:
        """The skills the thread's cwd sees, switched on or off by the thread's config
        (discovery reads the disk: in a worker thread)."""
        home = os.environ.get("HOME")
        listing = await asyncio.to_thread(
            list_skills, Path(settings.cwd), self._manager.data_dir, Path(home) if home else None
        )
        return with_switches(listing, skill_switches(settings.config.toml))

    async def _model_history(self, thread: LoadedThread) -> ModelHistory:
        return await load_model_history(self._manager, thread)


def _refuse_if_busy(thread: LoadedThread, replacing: TurnRunner | None = None) -> None:
    """A new turn (or compaction) cannot start under a running one (but a review replaces
    the turn it was started on, `replacing`)."""
    active = thread.active_turn
    if active is not None and not active.finished and active is not replacing:
        raise Conflict(
            f"thread {thread.id} has an active turn ({active.turn_id}); wait for it to finish "
            "or interrupt it before compacting or starting another"
        )
