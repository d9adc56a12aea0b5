"""The shell tools the model calls: `exec_command` and `write_stdin` (unified exec, 0.169's
default), and the older `shell` (argv), `shell_command` (string) and `local_shell` calls.

Each reads its arguments into a `CommandRequest` and hands it to `command_flow`; a shell command
that is really `apply_patch <<'EOF' …` becomes a patch (`apply_patch.run_patch`), as in 0.169.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import orjson

from app_server.agent.tools.apply_patch import exec_output, run_patch
from app_server.agent.tools.arguments import (
    BadArguments,
    json_arguments,
    optional_int,
    required_str,
)
from app_server.agent.tools.command_flow import run_command
from app_server.agent.tools.command_request import CommandRequest, Outcome
from app_server.agent.tools.exec.output import format_exec_output
from app_server.agent.tools.exec.process import shell_argv
from app_server.agent.tools.exec.terminal_errors import BackgroundTerminalError
from app_server.agent.tools.patch import extract_heredoc_patch
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolOutput
from app_server.agent.tools.shell_specs import (
    EXEC_COMMAND_SPEC,
    SHELL_COMMAND_SPEC,
    SHELL_SPEC,
    WRITE_STDIN_SPEC,
)
from protocol import types as wire


def _workdir(context: ToolContext, value: object) -> str:
    base = Path(context.cwd)
    return str(base / value) if isinstance(value, str) and value else str(base)


def _optional_str(arguments: dict[str, Any], key: str) -> str | None:
    value = arguments.get(key)
    return value if isinstance(value, str) else None


async def _heredoc_patch(
    call_id: str, script: str, workdir: str, context: ToolContext
) -> ToolOutput | None:
    """`apply_patch <<'EOF' …` sent as a command runs as a patch (0.169 wraps its text)."""
    extracted = extract_heredoc_patch(script)
    if extracted is None:
        return None
    cd, text = extracted
    clock = time.monotonic()
    cwd = Path(workdir, cd) if cd else Path(workdir)
    result = await run_patch(call_id, text, context, cwd)
    if result.abort_turn or not isinstance(result.output, str):
        return result
    wall = f"Wall time: {time.monotonic() - clock:.4f} seconds\nOutput:\n"
    result.output = wall + result.output
    return result


class ExecCommandTool:
    """`exec_command` (unified exec)."""

    name = "exec_command"
    namespace = None

    def __init__(self, *, offered: bool = True) -> None:
        self.offered = offered

    def spec(self) -> dict[str, Any]:
        return EXEC_COMMAND_SPEC

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        try:
            arguments = json_arguments(call)
            script = required_str(arguments, "cmd")
            yield_ms = optional_int(arguments, "yield_time_ms")
            max_tokens = optional_int(arguments, "max_output_tokens")
        except BadArguments as bad:
            return bad.output
        workdir = _workdir(context, arguments.get("workdir"))
        patched = await _heredoc_patch(call.call_id, script, workdir, context)
        if patched is not None:
            return patched
        prefix = arguments.get("prefix_rule")
        request = CommandRequest(
            call_id=call.call_id,
            argv=shell_argv(
                script, _optional_str(arguments, "shell"), arguments.get("login") is not False
            ),
            script=script,
            workdir=workdir,
            escalate=arguments.get("sandbox_permissions") == "require_escalated",
            justification=_optional_str(arguments, "justification"),
            prefix_rule=[str(p) for p in prefix] if isinstance(prefix, list) else None,
            mode="session",
            yield_ms=yield_ms,
            tty=arguments.get("tty") is True,
            max_output_tokens=max_tokens,
        )

        def render(outcome: Outcome) -> str:
            assert outcome.chunk is not None
            return format_exec_output(outcome.chunk, max_output_tokens=max_tokens)

        return await run_command(request, context, render)


class WriteStdinTool:
    """`write_stdin`: type into, or poll, a running `exec_command` session."""

    name = "write_stdin"
    namespace = None

    def __init__(self, *, offered: bool = True) -> None:
        self.offered = offered

    def spec(self) -> dict[str, Any]:
        return WRITE_STDIN_SPEC

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        try:
            arguments = json_arguments(call)
            session_id = optional_int(arguments, "session_id")
            yield_ms = optional_int(arguments, "yield_time_ms")
            max_tokens = optional_int(arguments, "max_output_tokens")
        except BadArguments as bad:
            return bad.output
        if session_id is None:
            return BadArguments("missing field `session_id`").output
        chars = _optional_str(arguments, "chars") or ""
        terminals = context.workspace.terminals
        origin = context.workspace.command_items.get(session_id)  # before it may exit
        try:
            chunk = await terminals.write_stdin(session_id, chars, yield_ms)
        except BackgroundTerminalError as error:
            return ToolOutput(f"write_stdin failed: {error}", success=False)
        except asyncio.CancelledError:
            # `turn/interrupt` while the model waits on this process: stop it too.
            with contextlib.suppress(BackgroundTerminalError):
                await asyncio.shield(terminals.terminate(session_id))
            raise
        if chars:
            context.publish(
                wire.TerminalInteractionNotification(
                    thread_id=context.thread_id,
                    turn_id=context.turn_id,
                    item_id=origin or call.call_id,
                    process_id=str(session_id),
                    stdin=chars,
                ),
            )
        return ToolOutput(format_exec_output(chunk, max_output_tokens=max_tokens))


def _oneshot_text(outcome: Outcome) -> str:
    """`shell_command`'s output text (`Exit code: …\\nWall time: …\\nOutput:\\n…`)."""
    exit_code = -1 if outcome.exit_code is None else outcome.exit_code
    return exec_output(outcome.output, exit_code, outcome.duration_s)


def _shell_json(outcome: Outcome) -> str:
    """The `shell` tool's JSON output (`{"output", "metadata": {exit_code, duration_seconds}}`)."""
    return orjson.dumps(
        {
            "output": outcome.output,
            "metadata": {
                "exit_code": outcome.exit_code,
                "duration_seconds": round(outcome.duration_s, 1),
            },
        }
    ).decode()


async def _run_argv(
    call: ToolCall,
    context: ToolContext,
    argv: list[str],
    arguments: dict[str, Any],
    workdir: str,
    json_output: bool,
) -> ToolOutput:
    """`shell` / `local_shell`: the model's own argv, run to completion."""
    script = argv[2] if len(argv) == 3 and argv[1] in ("-lc", "-c") else None
    if script is not None:
        patched = await _heredoc_patch(call.call_id, script, workdir, context)
        if patched is not None:
            return patched
    if len(argv) == 2 and argv[0] in ("apply_patch", "applypatch"):
        return await run_patch(call.call_id, argv[1], context, Path(workdir))
    request = CommandRequest(
        call_id=call.call_id,
        argv=argv,
        script=script,
        workdir=workdir,
        escalate=arguments.get("sandbox_permissions") == "require_escalated",
        justification=_optional_str(arguments, "justification"),
        mode="oneshot",
        timeout_ms=optional_int(arguments, "timeout_ms"),
    )
    return await run_command(request, context, _shell_json if json_output else _oneshot_text)


class ShellTool:
    """`shell`: an argv list, run to completion (older models)."""

    name = "shell"
    namespace = None

    def __init__(self, *, offered: bool = False) -> None:
        self.offered = offered

    def spec(self) -> dict[str, Any]:
        return SHELL_SPEC

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        try:
            arguments = json_arguments(call)
            optional_int(arguments, "timeout_ms")
        except BadArguments as bad:
            return bad.output
        argv = arguments.get("command")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            return BadArguments("`command` must be a non-empty list of strings").output
        workdir = _workdir(context, arguments.get("workdir"))
        return await _run_argv(call, context, list(argv), arguments, workdir, json_output=True)


class LocalShellTool:
    """`local_shell_call` items (the Responses API's built-in shell): run like `shell`."""

    name = "local_shell"
    namespace = None
    offered = False

    def spec(self) -> dict[str, Any]:
        return {"type": "local_shell"}

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        action = call.action or {}
        argv = action.get("command")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            return ToolOutput("local_shell call without a command", success=False)
        arguments = {"timeout_ms": action.get("timeout_ms")}
        workdir = _workdir(context, action.get("working_directory"))
        return await _run_argv(call, context, list(argv), arguments, workdir, json_output=True)


class ShellCommandTool:
    """`shell_command`: a script string, run to completion in the user's shell."""

    name = "shell_command"
    namespace = None

    def __init__(self, *, offered: bool = False) -> None:
        self.offered = offered

    def spec(self) -> dict[str, Any]:
        return SHELL_COMMAND_SPEC

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        try:
            arguments = json_arguments(call)
            script = required_str(arguments, "command")
            optional_int(arguments, "timeout_ms")
        except BadArguments as bad:
            return bad.output
        workdir = _workdir(context, arguments.get("workdir"))
        argv = shell_argv(script, None, arguments.get("login") is not False)
        return await _run_argv(call, context, argv, arguments, workdir, json_output=False)
