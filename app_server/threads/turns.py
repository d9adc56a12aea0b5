"""Turns of loaded threads: `turn/start`, `turn/steer`, `turn/interrupt` (PROTOCOL.md §7.14+).

The rules live here: a turn needs a loaded thread; `turn/start` on a thread with an active turn
joins that turn (as 0.169 does) instead of failing; overrides given to `turn/start` stick to the
thread; the rollout file is created by the first turn; one `TurnRunner` (agent layer) does the
work and this module only wires it to the thread (its writer, its model history, its
subscribers).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app_server.agent.instructions import default_base_instructions
from app_server.agent.mcp.tools import McpToolSource
from app_server.agent.providers.base import ModelProvider
from app_server.agent.rate_limits import DEFAULT_LIMIT_ID
from app_server.agent.request_builder import auto_compact_limit, effective_context_window
from app_server.agent.review.messages import holds_no_context
from app_server.agent.review.review_turn import ReviewTurn
from app_server.agent.review.targets import resolve_review
from app_server.agent.tools.catalog import multi_agent_version_for, turn_tools
from app_server.agent.tools.registry import ToolItem, ToolSource
from app_server.agent.turn_runner import TurnKind, TurnRunner
from app_server.agent.turn_setup import PendingInput, TurnSetup
from app_server.agent.user_shell import UserShellCommand
from app_server.client_connection import ClientConnection, ServerRequestOutcome
from app_server.config import TURN_ORIGIN
from app_server.errors import ActiveTurnNotSteerable, Conflict, TurnInputRefused
from app_server.ids import uuid7
from app_server.rollout import item_events
from app_server.rollout.model_history import ModelHistory
from app_server.settings import ResolvedSettings, resolve_cwd
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
from app_server.threads.server_requests import ask_subscribers
from app_server.threads.setting_updates import collaboration_updates, shared_updates
from app_server.threads.settings_report import wire_settings
from app_server.threads.thread_marks import ThreadMarks
from app_server.threads.token_replay import load_model_history
from app_server.threads.turn_origin import TurnOrigin
from protocol.types import (
    AccountRateLimitsUpdatedNotification,
    RateLimitSnapshot,
    ReviewTarget,
    ThreadSettingsUpdatedNotification,
    ThreadStatus,
    Turn,
    TurnInterruptParams,
    TurnStartParams,
    TurnSteerParams,
)
from protocol.wire_model import WireModel

log = logging.getLogger(__name__)

ProviderFactory = Callable[[ResolvedSettings], ModelProvider]
"""Returns the model provider for a thread's settings; raises `ProviderError` (missing key,
unknown provider) so the turn fails with a message that says what to configure."""


class _ThreadTurnHost:
    """A loaded thread as a `TurnHost`: notifications go through the manager's fan-out."""

    def __init__(self, manager: ThreadManager, thread: LoadedThread) -> None:
        self._manager = manager
        self._thread = thread

    @property
    def thread_id(self) -> str:
        return self._thread.id

    def publish(self, params: WireModel, *, method: str | None = None) -> None:
        self._manager.publish(self._thread, params, method=method)

    def response_headers_seen(self, headers: Mapping[str, str]) -> None:
        self._manager.rate_limits.record(headers)

    def response_completed(self) -> None:
        """`account/rateLimits/updated` with the `codex` limit seen last (codex sends it, all
        null, when the responses carry no rate-limit headers)."""
        latest = self._manager.rate_limits.latest
        snapshot = latest.get(DEFAULT_LIMIT_ID) or RateLimitSnapshot(limit_id=DEFAULT_LIMIT_ID)
        self.publish(AccountRateLimitsUpdatedNotification(rate_limits=snapshot))

    def set_status(self, status: ThreadStatus) -> None:
        self._manager.set_status(self._thread, status)

    async def turn_result_ready(self, turn_id: str) -> None:
        await ThreadMarks(self._manager).turn_completed(self._thread, turn_id)

    def record_item(self, turn_id: str, item: ToolItem) -> None:
        writer = self._thread.writer
        if writer is None:
            return
        if self._thread.record.history_mode == "paginated":
            line = item_events.item_completed(
                self._thread.id, turn_id, item.core, item.started_at_ms, item.completed_at_ms
            )
        elif item.legacy is not None:
            line = item_events.legacy_event(item.legacy)
        else:
            return
        writer.append([line])

    async def ask(self, method: str, params: WireModel) -> ServerRequestOutcome:
        return await ask_subscribers(
            self._thread.id,
            self._manager.audience(self._thread),
            method,
            params,
            timeout_seconds=self._manager.approval_timeout_seconds,
        )


class ThreadTurns:
    """Starts, steers and interrupts the turns of loaded threads."""

    def __init__(self, manager: ThreadManager, provider_for: ProviderFactory) -> None:
        self._manager = manager
        self._provider_for = provider_for
        self._max_steps = manager.config.toml.max_sampling_steps
        self.agents = AgentTree(manager, self)
        self._waiting: set[asyncio.Task[None]] = set()
        """Reviews waiting for the turn they interrupted to end (kept so none is collected)."""
        self.on_turn_ended: Callable[[LoadedThread, TurnRunner], None] | None = None
        """Told when a turn of a loaded thread ended (the queue starts its next message)."""
        """The sub-agents of every session tree; spawned agents' turns start through here."""

    # -- turn/start ----------------------------------------------------------------------------
    def _sticky_settings(self, thread: LoadedThread, params: TurnStartParams) -> ResolvedSettings:
        settings = thread.settings
        updates = shared_updates(params)
        if params.cwd:
            updates["cwd"] = resolve_cwd(params.cwd, self._manager.server_cwd)
        if params.model:
            updates["model"] = params.model
        if params.service_tier is not None:
            updates["service_tier"] = params.service_tier
        updates.update(collaboration_updates(params))
        return settings.with_requested(TURN_ORIGIN, **updates)

    async def start(
        self, connection: ClientConnection, params: TurnStartParams
    ) -> tuple[Turn, TurnRunner | None]:
        """The turn the input went to, and the new runner to start once answered (None when the
        input joined an active turn)."""
        thread = self._manager.require_loaded(params.thread_id)
        pending = PendingInput(list(params.input), params.client_user_message_id)
        active = thread.active_turn
        if isinstance(active, TurnRunner) and not active.finished:
            if active.kind in NOT_STEERABLE:
                raise TurnInputRefused(active.kind)
            _refuse_shell_turn(active)
            active.add_input(pending)
            return active.wire_turn(), None
        settings = self._sticky_settings(thread, params)
        if settings != thread.settings:
            thread.apply_settings(settings)
            self._manager.publish(
                thread,
                ThreadSettingsUpdatedNotification(
                    thread_id=thread.id,
                    thread_settings=wire_settings(settings, self._manager.default_sandbox()),
                ),
            )
        runner = await self._new_runner(
            thread,
            pending,
            TurnOrigin(root_turn_id=params.root_turn_id, originator=connection.client_name),
            output_schema=params.output_schema,
        )
        return runner.wire_turn(), runner

    async def start_agent_turn(
        self, thread: LoadedThread, pending: PendingInput, origin: TurnOrigin
    ) -> TurnRunner | None:
        """A turn of a sub-agent started by another agent (a new task, or v1 input); None when
        the agent already runs a turn, which then takes the input at its next boundary (a
        message waits in its mailbox)."""
        active = thread.active_turn
        if active is not None and not active.finished:
            if pending.message is not None:
                thread.mailbox.post(pending.message)
            else:
                active.add_input(pending)
            return None
        runner = await self._new_runner(thread, pending, origin)
        self.launch(thread.id, runner)
        return runner

    async def start_queued(
        self, thread: LoadedThread, pending: PendingInput, origin: TurnOrigin
    ) -> TurnRunner:
        """A turn for a queued message (`thread/queue/*`), to launch at once."""
        return await self._new_runner(thread, pending, origin)

    async def compact(self, connection: ClientConnection, thread_id: str) -> TurnRunner:
        """`thread/compact/start`: a turn that only compacts the thread's context, started once
        answered. Refused while a turn runs (compacting under it would lose its work)."""
        thread = self._manager.require_loaded(thread_id)
        return await self._new_runner(
            thread,
            None,
            TurnOrigin(root_turn_id=None, originator=connection.client_name),
            kind="compact",
        )

    async def _new_runner(
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
            agents=self.agents.control(thread, turn_id, origin.root_turn_id or turn_id)
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
            _ThreadTurnHost(self._manager, thread),
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

    def launch(self, thread_id: str, runner: TurnRunner) -> None:
        """Run the turn (after its `turn/start` response went out)."""
        thread = self._manager.loaded(thread_id)
        task = runner.start()
        task.add_done_callback(lambda _: self._turn_ended(thread, runner))

    def _turn_ended(self, thread: LoadedThread | None, runner: TurnRunner) -> None:
        runner.finished = True
        if thread is not None and thread.active_turn is runner:
            thread.active_turn = None
            self._manager.turn_ended(thread)
            if thread.is_sub_agent:
                self.agents.turn_ended(thread, runner)
            if self.on_turn_ended is not None:
                self.on_turn_ended(thread, runner)

    async def _model_history(self, thread: LoadedThread) -> ModelHistory:
        return await load_model_history(self._manager, thread)

    async def shell_command(
        self, connection: ClientConnection, thread_id: str, shell: UserShellCommand
    ) -> TurnRunner | None:
        """`thread/shellCommand`: a turn that runs the user's shell command, started once
        answered; or, while a turn runs, the command runs inside that turn (None), as codex's
        (`app_server/agent/turn_user_shells.py`). A compaction turn refuses it."""
        thread = self._manager.require_loaded(thread_id)
        active = thread.active_turn
        if isinstance(active, TurnRunner) and active.accepts_user_shell:
            active.run_user_shell(shell)
            return None
        return await self._new_runner(
            thread,
            None,
            TurnOrigin(root_turn_id=None, originator=connection.client_name),
            kind="shell",
            shell=shell,
        )

    async def review(
        self, connection: ClientConnection, thread_id: str, target: ReviewTarget
    ) -> tuple[TurnRunner, TurnRunner | None]:
        """`review/start`: a turn that reviews `target` in the thread's cwd, and the running
        turn it replaces (None: the thread is idle). As codex 0.169 does, a review started on a
        busy thread interrupts its turn once answered and runs when that turn has ended
        (`launch_review`)."""
        thread = self._manager.require_loaded(thread_id)
        request = await resolve_review(target, Path(thread.settings.cwd))
        active = thread.active_turn
        previous = active if active is not None and not active.finished else None
        runner = await self._new_runner(
            thread,
            None,
            TurnOrigin(root_turn_id=None, originator=connection.client_name),
            kind="review",
            review=ReviewTurn(request),
            replacing=previous,
        )
        return runner, previous

    def launch_review(
        self, thread_id: str, runner: TurnRunner, previous: TurnRunner | None
    ) -> None:
        """Run a review (after its response went out), interrupting the turn it replaces and
        waiting for that turn's end first."""
        if previous is None or previous.finished:
            self.launch(thread_id, runner)
            return
        previous.interrupt(replaced=True)
        task = asyncio.create_task(self._launch_after(previous, thread_id, runner))
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)

    async def _launch_after(self, previous: TurnRunner, thread_id: str, runner: TurnRunner) -> None:
        if previous.task is not None:
            await asyncio.wait([previous.task])
        self.launch(thread_id, runner)

    # -- turn/steer, turn/interrupt ------------------------------------------------------------
    def _active(self, thread_id: str, action: str) -> TurnRunner:
        thread = self._manager.require_loaded(thread_id)
        active = thread.active_turn
        if not isinstance(active, TurnRunner) or active.finished:
            raise Conflict(f"no active turn to {action}")
        return active

    def steer(self, params: TurnSteerParams) -> str:
        active = self._active(params.thread_id, "steer")
        if active.kind in NOT_STEERABLE:
            raise ActiveTurnNotSteerable(active.kind)
        _refuse_shell_turn(active)
        if params.expected_turn_id != active.turn_id:
            raise Conflict(
                f"expected active turn id `{params.expected_turn_id}` but found `{active.turn_id}`"
            )
        active.add_input(PendingInput(list(params.input), params.client_user_message_id))
        return active.turn_id

    def interrupt(self, params: TurnInterruptParams) -> None:
        active = self._active(params.thread_id, "interrupt")
        if params.turn_id not in (active.turn_id, active.sub_turn_id):
            raise Conflict(f"expected active turn id {params.turn_id} but found {active.turn_id}")
        active.interrupt()


NOT_STEERABLE = ("compact", "review")
"""Turn kinds that take no input (codex's `NonSteerableTurnKind`): `turn/start` and
`turn/steer` are refused with codex's errors while one runs."""


def _refuse_shell_turn(active: TurnRunner) -> None:
    """Input cannot join a turn that runs the user's shell command (a compaction turn is
    refused with codex's own errors where it is met)."""
    if active.kind == "shell":
        raise Conflict(
            f"the active turn {active.turn_id} is running the user's shell command and cannot "
            "take input; start a turn when it has finished"
        )


def _refuse_if_busy(thread: LoadedThread, replacing: TurnRunner | None = None) -> None:
    """A new turn (or compaction) cannot start under a running one (but a review replaces
    the turn it was started on, `replacing`)."""
    active = thread.active_turn
    if active is not None and not active.finished and active is not replacing:
        raise Conflict(
            f"thread {thread.id} has an active turn ({active.turn_id}); wait for it to finish "
            "or interrupt it before compacting or starting another"
        )
