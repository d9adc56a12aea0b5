"""The two ways a model's shell command runs, once it may: a unified exec session or a one-shot.

`run_session` starts the command as a background terminal (`exec_command`): it yields after
`yield_ms` and, if still running, keeps running under its process id for `write_stdin` polls,
the item completing when it exits. `run_oneshot` runs it to completion or to its timeout (the
`shell` / `shell_command` tools). Both stream output under the command's item (`DeltaStream`)
and hand back an `Outcome`; a command that cannot be spawned raises `BackgroundTerminalError`.
The argv they get is already sandboxed (or not) by the flow (`command_flow`).
"""

from __future__ import annotations

import os

from app_server.agent.tools.command_item import CommandItem, DeltaStream
from app_server.agent.tools.command_request import Outcome
from app_server.agent.tools.exec.output import decode_output
from app_server.agent.tools.exec.process import display_command, run_process
from app_server.agent.tools.exec.terminal_errors import BackgroundTerminalError
from app_server.agent.tools.exec.unified_exec_env import UNIFIED_EXEC_ENV
from app_server.agent.tools.registry import ToolContext

DEFAULT_ONESHOT_TIMEOUT_MS = 10_000
"""`timeout_ms` of the `shell` / `shell_command` tools when the model gives none (codex's)."""
TIMEOUT_EXIT_CODE = 124
"""Exit code reported for a one-shot command killed at its timeout (codex's, like timeout(1))."""


class _SpawnError(BackgroundTerminalError):
    def __init__(self, message: str) -> None:
        super().__init__(f"Failed to spawn the command: {message}")


def command_env(context: ToolContext, *, network_disabled: bool) -> dict[str, str]:
    """The child's environment: the server's (codex's default policy inherits everything), the
    non-interactive overrides of unified exec, and codex's markers."""
    env = {**os.environ, **UNIFIED_EXEC_ENV, "CODEX_THREAD_ID": context.thread_id}
    if network_disabled:
        env["CODEX_SANDBOX_NETWORK_DISABLED"] = "1"
    return env


async def run_session(item: CommandItem, argv: list[str], env: dict[str, str]) -> Outcome:
    """Start the command as a unified exec session and return what it did by its yield."""
    request, context = item.request, item.context
    terminals = context.workspace.terminals
    item.process_id = terminals.reserve_process_id()
    context.workspace.command_items[item.process_id] = request.call_id
    item.start()
    chunk = await terminals.start(
        argv,
        request.workdir,
        env,
        yield_time_ms=request.yield_ms,
        tty=request.tty,
        on_output=DeltaStream(item),
        on_exit=item.exited,
        process_id=item.process_id,
        command=display_command(request.argv),
    )
    return Outcome(chunk.exit_code, decode_output(chunk.output), chunk.wall_time_s, chunk)


async def run_oneshot(item: CommandItem, argv: list[str], env: dict[str, str]) -> Outcome:
    """Run the command to completion or to its timeout (`TIMEOUT_EXIT_CODE` then)."""
    request = item.request
    item.start()
    timeout = (request.timeout_ms or DEFAULT_ONESHOT_TIMEOUT_MS) / 1000
    try:
        result = await run_process(
            argv, cwd=request.workdir, env=env, on_output=DeltaStream(item), timeout_s=timeout
        )
    except OSError as error:
        raise _SpawnError(str(error)) from None
    exit_code = TIMEOUT_EXIT_CODE if result.timed_out else result.exit_code
    return Outcome(
        exit_code, decode_output(result.output), result.duration_s, None, result.timed_out
    )
