"""The user's shell commands run inside a turn that is already running (`thread/shellCommand`
while a turn runs), as codex 0.169.0 runs them (observed, `scripts/codex_compare`'s notes in
README): the command starts at once, beside whatever the turn is doing (a model response keeps
streaming, a tool keeps running); its `commandExecution` item (`source: userShell`) is announced
and recorded under the running turn's id as soon as it ends (`item_completed`); its
`<user_shell_command>` message waits for the turn's next sampling step, where it joins the
history after the step's own items and the model is sampled again with it. A turn about to end
waits for a command still running, so its record is never lost; an interrupted turn stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from app_server.agent.tools.registry import ToolContext
from app_server.agent.turn_recorder import TurnRecorder
from app_server.agent.user_shell import UserShellCommand, run_user_shell
from app_server.rollout.lines import JsonObject

log = logging.getLogger(__name__)


class TurnUserShells:
    """The user's commands running in one turn and the records they left for the model."""

    def __init__(self, context: Callable[[], ToolContext], recorder: TurnRecorder) -> None:
        self._context = context
        self._recorder = recorder
        self._running: set[asyncio.Task[None]] = set()
        self._order: list[asyncio.Task[None]] = []
        """Commands in the order they started: their records join the history in that order."""
        self._done: dict[asyncio.Task[None], JsonObject] = {}

    def start(self, shell: UserShellCommand) -> None:
        """Run the command now, beside the turn."""
        task = asyncio.create_task(self._run(shell), name="user shell command")
        self._running.add(task)
        self._order.append(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, shell: UserShellCommand) -> None:
        task = asyncio.current_task()
        try:
            result = await run_user_shell(self._context(), shell)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not stop the turn; the item was closed or never opened
            log.exception("the user's shell command %r failed", shell.command)
            return
        self._recorder.user_shell_item(result.item)
        if task is not None:
            self._done[task] = result.model_item

    @property
    def has_records(self) -> bool:
        """Whether a finished command's record waits for the model."""
        return any(task in self._done for task in self._order)

    def record(self) -> None:
        """Put the records of finished commands into the history, in the order the commands
        started (a command still running keeps its place)."""
        waiting: list[asyncio.Task[None]] = []
        for task in self._order:
            model_item = self._done.pop(task, None)
            if model_item is not None:
                self._recorder.user_shell_record(model_item)
            elif not task.done():
                waiting.append(task)
        self._order = waiting

    async def settle(self) -> None:
        """Wait for the commands still running (the turn ends only after them)."""
        while self._running:
            await asyncio.wait(set(self._running))

    async def stop(self) -> None:
        """Stop the commands still running (an interrupted or failed turn): each one's group is
        killed and its item closed as failed."""
        running = set(self._running)
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._order = []
        self._done.clear()
