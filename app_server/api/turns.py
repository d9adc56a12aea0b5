"""Turn methods: turn/start, turn/steer, turn/interrupt (PROTOCOL.md §7.14 to §7.16), and
thread/compact/start and thread/shellCommand, which run turns of their own.

Ordering as 0.169: the `turn/start` response goes out before the turn's first notification
(`thread/status/changed`, `turn/started`), and `turn/interrupt` answers `{}` at once, before the
turn's `turn/completed {status: interrupted}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app_server.agent.user_shell import UserShellCommand
from app_server.api.path_params import check_optional_home_path, check_path, check_paths
from app_server.api.reply import Reply
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidParams, InvalidRequest
from app_server.threads.manager import thread_id_param
from app_server.threads.turns import ThreadTurns
from protocol import types as wire
from protocol.types import (
    LocalImageUserInput,
    TurnStartParams,
    TurnStartResponse,
    UserInput,
    WorkspaceWriteSandboxPolicy,
)

if TYPE_CHECKING:  # created on first use (through `wire` at run time), not by a first turn
    from protocol.types import (
        ThreadCompactStartParams,
        ThreadCompactStartResponse,
        ThreadShellCommandParams,
        TurnInterruptParams,
        TurnInterruptResponse,
        TurnSteerParams,
        TurnSteerResponse,
    )


def check_input_paths(inputs: Sequence[UserInput]) -> None:
    """The file of each `localImage` item is read when the turn starts: its path must be one."""
    for index, item in enumerate(inputs):
        if isinstance(item, LocalImageUserInput):
            check_path(f"input[{index}].path", item.path)


def check_turn_start_paths(params: TurnStartParams) -> None:
    """The paths a turn uses: its working directory, images, and the sandbox's writable roots."""
    check_optional_home_path("cwd", params.cwd)
    check_input_paths(params.input)
    if isinstance(params.sandbox_policy, WorkspaceWriteSandboxPolicy):
        check_paths("sandboxPolicy.writableRoots", params.sandbox_policy.writable_roots)


class TurnHandlers:
    """Handlers of the turn methods."""

    def __init__(self, turns: ThreadTurns) -> None:
        self._turns = turns

    async def start(
        self, connection: ClientConnection, params: TurnStartParams
    ) -> Reply | TurnStartResponse:
        params = params.model_copy(update={"thread_id": thread_id_param(params.thread_id)})
        check_turn_start_paths(params)
        turn, runner = await self._turns.start(connection, params)
        if runner is None:  # the input joined the active turn
            return TurnStartResponse(turn=turn)
        # The response carries the new turn without its start time (set in `turn/started`).
        response = TurnStartResponse(turn=turn.model_copy(update={"started_at": None}))
        return Reply(response, then=lambda: self._turns.launch(params.thread_id, runner))

    async def compact(
        self, connection: ClientConnection, params: ThreadCompactStartParams
    ) -> Reply | ThreadCompactStartResponse:
        """`thread/compact/start`: answers `{}`, then runs a turn that only compacts."""
        thread_id = thread_id_param(params.thread_id)
        runner = await self._turns.compact(connection, thread_id)
        return Reply(
            wire.ThreadCompactStartResponse(), then=lambda: self._turns.launch(thread_id, runner)
        )

    async def shell_command(
        self, connection: ClientConnection, params: ThreadShellCommandParams
    ) -> Reply:
        """`thread/shellCommand`: answers `{}`, then runs a turn that runs the user's command
        (`app_server/agent/user_shell.py`), or runs it inside the turn already running. Checked
        as 0.169 checks it, before anything runs."""
        thread_id = thread_id_param(params.thread_id)
        if not params.command.strip():
            raise InvalidRequest("command must not be empty")
        if params.timeout_ms is not None and params.timeout_ms < 0:
            raise InvalidParams(
                f"thread/shellCommand timeoutMs must be non-negative, got {params.timeout_ms}"
            )
        shell = UserShellCommand(params.command, params.timeout_ms)
        runner = await self._turns.shell_command(connection, thread_id, shell)
        if runner is None:  # it runs inside the thread's running turn
            return Reply(wire.ThreadShellCommandResponse())
        return Reply(
            wire.ThreadShellCommandResponse(), then=lambda: self._turns.launch(thread_id, runner)
        )

    async def steer(
        self, connection: ClientConnection, params: TurnSteerParams
    ) -> TurnSteerResponse:
        params = params.model_copy(update={"thread_id": thread_id_param(params.thread_id)})
        check_input_paths(params.input)
        return wire.TurnSteerResponse(turn_id=self._turns.steer(params))

    async def interrupt(
        self, connection: ClientConnection, params: TurnInterruptParams
    ) -> TurnInterruptResponse:
        params = params.model_copy(update={"thread_id": thread_id_param(params.thread_id)})
        self._turns.interrupt(params)
        return wire.TurnInterruptResponse()
