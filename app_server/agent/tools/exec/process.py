"""One-shot processes for the model's shell commands, and the shell argv / display string.

`run_process` spawns a command in its own session and process group, streams its output —
stdout and stderr share one pipe, so chunks arrive in the order the command wrote them — to a
callback, and keeps an aggregated copy capped at `AGGREGATED_OUTPUT_MAX_BYTES` (head and tail
kept, the middle dropped, like codex's `HeadTailBuffer`).

Killing is always by process group, so grandchildren (`cmd & cmd & wait`) die too:
- on timeout, and when the awaiting task is cancelled: SIGTERM to the group, up to
  `KILL_GRACE_S` for the leader to exit, then SIGKILL to the group (always — a grandchild that
  ignores SIGTERM does not survive), then the leader is reaped so no zombie remains;
- when the leader exits but something it left behind still holds the output pipe: output is
  drained for up to `IO_DRAIN_TIMEOUT_S`, then the group is SIGKILLed.

A process that escapes its group on purpose (`setsid`, double fork into a new session) is not
tracked. Under bubblewrap (`sandbox.py`) the leader is `bwrap` itself, which runs
the command in a new PID namespace with `--die-with-parent`: killing the leader kills the whole
namespace.

Exit codes follow the shell convention: the status for a normal exit, `128 + signal` for a
process killed by a signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from msgspec import Struct

AGGREGATED_OUTPUT_MAX_BYTES = 1024 * 1024
"""Cap of the aggregated output kept per process (1 MiB, codex's `UNIFIED_EXEC_OUTPUT_MAX_BYTES`):
the first half and the last half are kept, the middle dropped. Streaming is not capped."""

READ_CHUNK_BYTES = 64 * 1024
"""Largest chunk read from the output pipe at once (one `on_output` call)."""

KILL_GRACE_S = 0.5
"""Time the group leader gets to exit after SIGTERM before the group is SIGKILLed."""

IO_DRAIN_TIMEOUT_S = 2.0
"""After the leader exits, how long output is still read while something else holds the pipe
(codex's `IO_DRAIN_TIMEOUT_MS`); then the rest of the group is killed."""

SIGNAL_EXIT_BASE = 128
"""Exit code of a process killed by signal N is `SIGNAL_EXIT_BASE + N` (shell convention)."""

DEFAULT_SHELL = "/bin/bash"

NUL_COMMAND_DISPLAY = "<command included NUL byte>"
"""What codex shows for a command whose words contain a NUL byte."""


class ProcessResult(Struct, frozen=True):
    """How a process run went."""

    exit_code: int | None
    """Exit status (`128 + signal` if killed by a signal); None only if it could not be reaped."""
    output: bytes
    """Merged stdout+stderr, capped at `AGGREGATED_OUTPUT_MAX_BYTES` (head and tail kept)."""
    duration_s: float
    timed_out: bool
    pid: int


class HeadTailBuffer:
    """A byte buffer capped at `max_bytes` that keeps its first half and its last half.

    Bytes fill the head until it holds `max_bytes // 2`; later bytes go to the tail, whose
    oldest bytes are dropped to keep it within the other half. `omitted_bytes` counts what was
    dropped from the middle.
    """

    def __init__(self, max_bytes: int = AGGREGATED_OUTPUT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._head_budget = max_bytes // 2
        self._tail_budget = max_bytes - self._head_budget
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_bytes = 0
        self.omitted_bytes = 0

    def __len__(self) -> int:
        return len(self._head) + self._tail_bytes

    @property
    def total_bytes(self) -> int:
        """Everything pushed since the last drain, including what was dropped."""
        return len(self) + self.omitted_bytes

    def push(self, chunk: bytes) -> None:
        if len(self._head) < self._head_budget:
            room = self._head_budget - len(self._head)
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        if self._tail_budget == 0:
            self.omitted_bytes += len(chunk)
            return
        if len(chunk) >= self._tail_budget:
            kept = chunk[len(chunk) - self._tail_budget :]
            self.omitted_bytes += self._tail_bytes + len(chunk) - len(kept)
            self._tail.clear()
            self._tail.append(kept)
            self._tail_bytes = len(kept)
            return
        self._tail.append(chunk)
        self._tail_bytes += len(chunk)
        excess = self._tail_bytes - self._tail_budget
        while excess > 0:
            front = self._tail[0]
            if len(front) <= excess:
                self._tail.popleft()
                self._tail_bytes -= len(front)
                self.omitted_bytes += len(front)
                excess -= len(front)
            else:
                self._tail[0] = front[excess:]
                self._tail_bytes -= excess
                self.omitted_bytes += excess
                excess = 0

    def to_bytes(self) -> bytes:
        return bytes(self._head) + b"".join(self._tail)

    def drain(self) -> bytes:
        """Everything retained, and reset."""
        data = self.to_bytes()
        self._head = bytearray()
        self._tail.clear()
        self._tail_bytes = 0
        self.omitted_bytes = 0
        return data


def exit_code_of(returncode: int | None) -> int | None:
    """asyncio's returncode (negative for a signal) in the shell convention."""
    if returncode is None or returncode >= 0:
        return returncode
    return SIGNAL_EXIT_BASE - returncode


@functools.cache
def _has_controlling_terminal() -> bool:
    """Whether this server process has a controlling terminal (asked once: it cannot gain one
    later, as it never opens a terminal as a session leader)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def own_group_options() -> dict[str, Any]:
    """`subprocess` options that put a child in its own process group (so that `signal_group`
    reaches all it starts) and away from any controlling terminal.

    A new session (`setsid`) is needed only when the server has a controlling terminal: the
    child must not read it, nor push input into it (TIOCSTI). Without one, no process of the
    session can acquire it (only a session leader can), so a new process group does as much —
    and is cheaper: under Linux's autogroup scheduling each new session starts a scheduling
    group of its own, which on a busy machine delays a short command by several milliseconds
    (`command/exec` of `true` under bubblewrap: ~12 ms instead of ~6 at a load of 6 on 2 cores,
    scripts/bench_command_exec.py); the CPU time is the same."""
    if _has_controlling_terminal():
        return {"start_new_session": True}
    return {"process_group": 0}


def signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to a process group; a group with no members left is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def terminate_group(
    pgid: int, wait: Callable[[], Awaitable[int]], grace_s: float = KILL_GRACE_S
) -> None:
    """SIGTERM the group, give its leader `grace_s` to exit, SIGKILL the group, reap the leader.

    The final SIGKILL is unconditional: whatever is left in the group (grandchildren that
    ignore SIGTERM or outlived the leader) dies. If this coroutine is itself cancelled, the
    group is still SIGKILLed before the cancellation propagates.
    """
    try:
        signal_group(pgid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(wait()), grace_s)
    finally:
        signal_group(pgid, signal.SIGKILL)
    await wait()


async def run_process(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str] | None,
    on_output: Callable[[bytes], None],
    timeout_s: float | None,
    stdin: bytes | None = None,
) -> ProcessResult:
    """Run `argv` to completion in its own process group; see the module docstring.

    `env=None` inherits this process's environment. `stdin=None` gives the command /dev/null;
    bytes are written to its stdin, which is then closed. `on_output` gets every chunk as it
    is read (it must not block). Spawn failures (missing executable or cwd) raise `OSError`.
    On cancellation the group is killed and reaped before `CancelledError` propagates.
    """
    if not argv:
        raise ValueError("empty command line")
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    pgid = proc.pid
    buffer = HeadTailBuffer()

    async def pump() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(READ_CHUNK_BYTES):
            buffer.push(chunk)
            on_output(chunk)

    async def feed(data: bytes) -> None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(data)
            await proc.stdin.drain()
        proc.stdin.close()

    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    reader = asyncio.create_task(pump())
    feeder = asyncio.create_task(feed(stdin)) if stdin is not None else None
    waiter = asyncio.ensure_future(proc.wait())
    timed_out = False
    finished = False
    try:
        while not waiter.done():
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            watched = {waiter} if reader.done() else {waiter, reader}
            done, _ = await asyncio.wait(
                watched, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            if reader.done() and (error := reader.exception()) is not None:
                raise error  # `on_output` failed: kill the group (below) and report it
            if not done:
                timed_out = True
                await terminate_group(pgid, proc.wait)
                break
        try:
            await asyncio.wait_for(asyncio.shield(reader), IO_DRAIN_TIMEOUT_S)
        except TimeoutError:
            # The leader is gone but a descendant still holds the pipe open.
            signal_group(pgid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), KILL_GRACE_S)
        finished = True
    finally:
        if not finished:
            # Cancelled, or `on_output` raised: nothing of the group may outlive the call.
            await _cleanup_after_abort(pgid, proc, (reader, feeder, waiter))
        else:
            _cancel_pending((reader, feeder, waiter))
    return ProcessResult(
        exit_code=exit_code_of(proc.returncode),
        output=buffer.to_bytes(),
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        pid=proc.pid,
    )


def _cancel_pending(tasks: Sequence[asyncio.Future[Any] | None]) -> None:
    for task in tasks:
        if task is not None and not task.done():
            task.cancel()


async def _cleanup_after_abort(
    pgid: int,
    proc: asyncio.subprocess.Process,
    tasks: Sequence[asyncio.Future[Any] | None],
) -> None:
    try:
        await terminate_group(pgid, proc.wait)
    finally:
        _cancel_pending(tasks)


def shell_argv(cmd: str, shell: str | None = None, login: bool = True) -> list[str]:
    """The argv codex runs a model's `cmd` with: `[shell, "-lc", cmd]` (`-c` when not login).

    `shell` defaults to `$SHELL`, else `/bin/bash`.
    """
    program = shell or os.environ.get("SHELL") or DEFAULT_SHELL
    return [program, "-lc" if login else "-c", cmd]


def display_command(argv: Sequence[str]) -> str:
    """Codex's display string for a command: its words joined the way Rust's `shlex::try_join`
    quotes them (e.g. `/bin/bash -lc 'echo hi'`)."""
    return shlex_join(argv)


# Quoting, exactly as the Rust `shlex` crate (1.3) does it, so display strings and `parsed_cmd`
# match codex byte for byte. Python's `shlex.quote` differs (it leaves `=`, `,`, `%` unquoted
# and never uses double quotes).
_UNQUOTED_OK = frozenset("+-./:@]_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SINGLE_BAD = frozenset("'^\\")
_DOUBLE_BAD = frozenset("`$!^")
_UNQ, _SINGLE, _DOUBLE = 1, 2, 4


def shlex_quote(word: str) -> str:
    """Quote one word like Rust `shlex::try_quote` (unquoted, '…', or "…" chunks)."""
    if not word:
        return "''"
    out: list[str] = []
    i = 0
    while i < len(word):
        ok = _UNQ | _SINGLE | _DOUBLE
        j = i
        if word[j] == "^":
            ok = _SINGLE
            j += 1
        while j < len(word):
            c = word[j]
            cur = ok
            if ord(c) >= 0x80:
                cur &= ~_UNQ
            else:
                if c not in _UNQUOTED_OK:
                    cur &= ~_UNQ
                if c in _SINGLE_BAD:
                    cur &= ~_SINGLE
                if c in _DOUBLE_BAD:
                    cur &= ~_DOUBLE
            if cur == 0:
                break
            ok = cur
            j += 1
        chunk = word[i:j]
        if ok & _UNQ:
            if i == 0 and j == len(word):
                return word
            out.append(chunk)
        elif ok & _SINGLE:
            out.append(f"'{chunk}'")
        else:
            escaped = "".join("\\" + c if c in '$`"\\' else c for c in chunk)
            out.append(f'"{escaped}"')
        i = j
    return "".join(out)


def shlex_join(words: Sequence[str]) -> str:
    """Join words like Rust `shlex::try_join`; codex shows a fixed marker if any has a NUL."""
    if any("\0" in word for word in words):
        return NUL_COMMAND_DISPLAY
    return " ".join(shlex_quote(word) for word in words)
