"""Turns of loaded threads: `turn/start`, `turn/steer`, `turn/interrupt` (PROTOCOL.md §7.14+).

The rules live here: a turn needs a loaded thread; `turn/start` on a thread with an active turn
joins that turn (as 0.169 does) instead of failing; overrides given to `turn/start` stick to the
thread; compactions and reviews take no input, a user's shell command turn neither; a review
started on a busy thread replaces its turn once that turn has ended. One `TurnRunner` (agent
layer) does the work: `app_server/threads/turn_factory.py` assembles it from the thread (its
writer, which creates the rollout file on the first turn, its model history, its skills) and
`app_server/threads/turn_host.py` connects it to the thread's subscribers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app_server.agent.review.review_turn import ReviewTurn
from app_server.agent.review.targets import resolve_review
from app_server.agent.turn_runner import TurnRunner
from app_server.agent.turn_setup import PendingInput
from app_server.agent.user_shell import UserShellCommand
from app_server.client_connection import ClientConnection
from app_server.config import TURN_ORIGIN
from app_server.errors import ActiveTurnNotSteerable, Conflict, TurnInputRefused
from app_server.settings import ResolvedSettings, resolve_cwd
from app_server.threads.agent_tree import AgentTree
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from app_server.threads.setting_updates import collaboration_updates, shared_updates
from app_server.threads.settings_report import wire_settings
from app_server.threads.turn_factory import ProviderFactory, TurnFactory
from app_server.threads.turn_origin import TurnOrigin
from protocol import types as wire
from protocol.types import (
    Turn,
    TurnStartParams,
)

if TYPE_CHECKING:  # annotations only: created on their method's first request
    from protocol.types import ReviewTarget, TurnInterruptParams, TurnSteerParams


class ThreadTurns:
    """Starts, steers and interrupts the turns of loaded threads."""

    def __init__(self, manager: ThreadManager, provider_for: ProviderFactory) -> None:
        self._manager = manager
        self.agents = AgentTree(manager, self)
        """The sub-agents of every session tree; spawned agents' turns start through here."""
        self._factory = TurnFactory(manager, provider_for, self.agents)
        self._waiting: set[asyncio.Task[None]] = set()
        """Reviews waiting for the turn they interrupted to end (kept so none is collected)."""
        self.on_turn_ended: Callable[[LoadedThread, TurnRunner], None] | None = None
        """Told when a turn of a loaded thread ended (the queue starts its next message)."""

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
                wire.ThreadSettingsUpdatedNotification(
                    thread_id=thread.id,
                    thread_settings=wire_settings(settings, self._manager.default_sandbox()),
                ),
            )
        runner = await self._factory.new_runner(
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
        runner = await self._factory.new_runner(thread, pending, origin)
        self.launch(thread.id, runner)
        return runner

    async def start_queued(
        self, thread: LoadedThread, pending: PendingInput, origin: TurnOrigin
    ) -> TurnRunner:
        """A turn for a queued message (`thread/queue/*`), to launch at once."""
        return await self._factory.new_runner(thread, pending, origin)

    async def compact(self, connection: ClientConnection, thread_id: str) -> TurnRunner:
        """`thread/compact/start`: a turn that only compacts the thread's context, started once
        answered. Refused while a turn runs (compacting under it would lose its work)."""
        thread = self._manager.require_loaded(thread_id)
        return await self._factory.new_runner(
            thread,
            None,
            TurnOrigin(root_turn_id=None, originator=connection.client_name),
            kind="compact",
        )

    def launch(self, thread_id: str, runner: TurnRunner) -> None:
        """Run the turn (after its `turn/start` response went out)."""
        thread = self._manager.loaded(thread_id)
        task = runner.start()
        task.add_done_callback(lambda _: self._turn_ended(thread, runner))

    def _turn_ended(self, thread: LoadedThread | None, runner: TurnRunner) -> None:
        runner.finished = True
        if thread is not None and thread.active_turn is runner:
            thread.active_turn = None
            self._manager.unloader.turn_ended(thread)
            if thread.is_sub_agent:
                self.agents.turn_ended(thread, runner)
            if self.on_turn_ended is not None:
                self.on_turn_ended(thread, runner)

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
        return await self._factory.new_runner(
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
        runner = await self._factory.new_runner(
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
