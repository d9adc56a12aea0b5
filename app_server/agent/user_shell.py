"""The user's own shell command (`thread/shellCommand`, the TUI's `!cmd`), run as codex 0.169 runs
it (checked against the binary).

The command string goes to the user's shell as `[$SHELL, "-lc", command]` in the thread's cwd,
unsandboxed and without approval (the user typed it), with the server's environment. Clients see
one `commandExecution` item with `source: userShell`: `item/started`, its output as
`item/commandExecution/outputDelta`s, `item/completed` (`completed` for exit 0, else `failed`).
The rollout keeps the item (`item_completed`, or `exec_command_end` in a legacy thread) and then
the model-visible record, a user message

    <user_shell_command>
    <command>
    …the command…
    </command>
    <result>
    Exit code: 0
    Duration: 0.0123 seconds
    Output:
    …the output…
    </result>
    </user_shell_command>

which the model reads at the next turn. A command still running at its timeout is killed (its
whole process group) and reported as codex reports it: exit code -1, duration 0 and codex's
`execution error: Sandbox(Timeout { … })` text as its output.
"""

from __future__ import annotations

import asyncio
import codecs
import uuid
from typing import Any

from msgspec import Struct

from app_server.agent.instructions import single_user_text
from app_server.agent.tools import tool_items
from app_server.agent.tools.exec.output import (
    DEFAULT_MAX_OUTPUT_TOKENS,
    decode_output,
    formatted_truncate_text,
)
from app_server.agent.tools.exec.parse_command import parse_command_actions
from app_server.agent.tools.exec.process import run_process, shell_argv
from app_server.agent.tools.registry import ToolContext, ToolItem
from app_server.ids import uuid7
from app_server.rollout import core_items
from app_server.rollout.items import CommandExecutionItem
from app_server.rollout.lines import JsonObject
from protocol import types as wire

DEFAULT_TIMEOUT_MS = 60 * 60 * 1000
"""How long a user shell command may run when the request names no timeout (codex's one hour);
a longer wait only keeps the thread busy longer."""

TIMEOUT_EXIT_CODE = -1
"""The exit code codex reports for a user shell command killed at its timeout."""

SANDBOX_TIMEOUT_EXIT_CODE = 124
"""The exit code inside codex's timeout error text (`timeout(1)`'s convention)."""

OPEN_TAG = "<user_shell_command>"
CLOSE_TAG = "</user_shell_command>"


class UserShellCommand(Struct, frozen=True):
    """What the user asked to run."""

    command: str
    timeout_ms: int | None = None


class UserShellResult(Struct, frozen=True):
    """How it went: the item clients saw (for the rollout) and the model's user message."""

    item: ToolItem
    model_item: JsonObject


async def run_user_shell(context: ToolContext, request: UserShellCommand) -> UserShellResult:
    """Run the command to its end (or timeout), streaming its output to the thread's clients."""
    argv = shell_argv(request.command)
    item_id = str(uuid.uuid4())  # codex's user-shell item ids are v4 UUIDs
    parsed: list[Any] = parse_command_actions(request.command)

    def core(
        status: str, output: str = "", exit_code: int | None = None, seconds: float | None = None
    ) -> CommandExecutionItem:
        return core_items.command_execution(
            item_id,
            argv=argv,
            cwd=context.cwd,
            parsed_cmd=parsed,
            source="user_shell",
            status=status,
            aggregated_output=output,
            exit_code=exit_code,
            duration_seconds=seconds,
        )

    started = tool_items.publish_started(context, core("in_progress"))
    timeout_ms = DEFAULT_TIMEOUT_MS if request.timeout_ms is None else request.timeout_ms
    try:
        result = await run_process(
            argv,
            cwd=context.cwd,
            env=None,
            on_output=_DeltaStream(context, item_id),
            timeout_s=timeout_ms / 1000,
        )
    except asyncio.CancelledError:  # `turn/interrupt`: the group is killed; close the item
        tool_items.publish_completed(context, core("failed"), started, None)
        raise
    except OSError as error:  # the shell or the cwd is missing
        exit_code, output, seconds = TIMEOUT_EXIT_CODE, f"execution error: {error}", 0.0
    else:
        if result.timed_out:
            exit_code, seconds = TIMEOUT_EXIT_CODE, 0.0
            output = timeout_error_text(decode_output(result.output), result.duration_s)
        else:
            exit_code = result.exit_code if result.exit_code is not None else TIMEOUT_EXIT_CODE
            output, seconds = decode_output(result.output), result.duration_s
    status = "completed" if exit_code == 0 else "failed"
    finished = core(status, output, exit_code, seconds)
    legacy = core_items.legacy_exec_end(finished, output, output)
    item = tool_items.publish_completed(context, finished, started, legacy)
    text = shell_command_record(request.command, exit_code, seconds, output)
    model_item: JsonObject = {
        "type": "message",
        "id": f"msg_{uuid7()}",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    return UserShellResult(item, model_item)


def is_user_shell_record(item: JsonObject) -> bool:
    """Whether a model-history item is a `<user_shell_command>` message (a thread whose history
    holds only these has not had its first model turn yet)."""
    text = single_user_text(item)
    return text is not None and text.startswith(OPEN_TAG)


def shell_command_record(command: str, exit_code: int, seconds: float, output: str) -> str:
    """The `<user_shell_command>` text the model reads (codex's `format_user_shell_command_record`;
    output over the tool-output token budget keeps its head and tail)."""
    body = "\n".join(
        [
            "<command>",
            command,
            "</command>",
            "<result>",
            f"Exit code: {exit_code}",
            f"Duration: {seconds:.4f} seconds",
            "Output:",
            formatted_truncate_text(output, DEFAULT_MAX_OUTPUT_TOKENS),
            "</result>",
        ]
    )
    return f"{OPEN_TAG}\n{body}\n{CLOSE_TAG}"


def timeout_error_text(output: str, seconds: float) -> str:
    """Codex's text for a timed-out command: the Rust debug form of its sandbox timeout error.
    Codex keeps stdout and stderr apart; one pipe carries both here, so the output shown is
    the aggregated one and stdout/stderr repeat it."""
    stream = f"StreamOutput {{ text: {_rust_debug_str(output)}, truncated_after_lines: None }}"
    return (
        "execution error: Sandbox(Timeout { output: ExecToolCallOutput { "
        f"exit_code: {SANDBOX_TIMEOUT_EXIT_CODE}, stdout: {stream}, stderr: {stream}, "
        f"aggregated_output: {stream}, duration: {_rust_debug_duration(seconds)}, "
        "timed_out: true } })"
    )


def _rust_debug_str(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _rust_debug_duration(seconds: float) -> str:
    """A `Duration`'s Debug form for the sub-minute waits timeouts are (`205.180363ms`, `2.5s`)."""
    nanos = round(seconds * 1e9)
    if nanos >= 1_000_000_000:
        return f"{nanos / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    return f"{nanos / 1e6:.6f}".rstrip("0").rstrip(".") + "ms"


class _DeltaStream:
    """Decodes output incrementally (a character split across reads stays whole) and publishes
    it as the item's `outputDelta`s."""

    def __init__(self, context: ToolContext, item_id: str) -> None:
        self._context = context
        self._item_id = item_id
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, chunk: bytes) -> None:
        text = self._decoder.decode(chunk)
        if text:
            self._context.publish(
                wire.CommandExecutionOutputDeltaNotification(
                    thread_id=self._context.thread_id,
                    turn_id=self._context.turn_id,
                    item_id=self._item_id,
                    delta=text,
                )
            )
