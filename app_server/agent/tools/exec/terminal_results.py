"""What background-terminal operations hand back: a call's output, a command's end, a listing.

`ExecChunk` is what one `exec_command` / `write_stdin` collected (`output` formats it for the
model), `ExecExit` is what `on_exit` is told when a command has exited (the item's final
output), `RunningTerminal` is one row of `thread/backgroundTerminals/list`. Plain records with
no process behind them, so formatting and protocol code can use them without the terminal table.
"""

from __future__ import annotations

from msgspec import Struct


class ExecChunk(Struct, frozen=True):
    """What one `start` / `write_stdin` collected."""

    output: bytes
    """Raw output collected during this call (not truncated for the model: `output.py` does)."""
    exit_code: int | None
    """Set when the process has exited (then `session_id` is None)."""
    session_id: int | None
    """Set while the process keeps running: the id to poll with `write_stdin`."""
    wall_time_s: float
    original_token_estimate: int
    """ceil(bytes of the UTF-8-decoded output / 4), codex's `approx_token_count`."""
    process_id: int = 0
    """The command's unified-exec id (= `session_id` while running; codex's `processId`)."""
    pid: int | None = None
    """The OS pid of the spawned process (the group leader; `bwrap` when sandboxed)."""


class ExecExit(Struct, frozen=True):
    """A command's end, for `on_exit`."""

    process_id: int
    exit_code: int | None
    aggregated_output: bytes
    """Everything it printed, capped at `TERMINAL_OUTPUT_MAX_BYTES` (head and tail kept)."""
    duration_s: float
    pid: int | None


def approx_token_count(text: str) -> int:
    """ceil(UTF-8 bytes / 4): codex's token estimate."""
    return (len(text.encode("utf-8", errors="surrogatepass")) + 3) // 4


class RunningTerminal(Struct, frozen=True):
    """What a client is shown of a terminal still running."""

    process_id: int
    command: str
    cwd: str
    os_pid: int
