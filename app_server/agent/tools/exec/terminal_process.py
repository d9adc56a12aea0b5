"""The process under a unified-exec terminal: spawning it, reading its output, its exit.

`open_process` spawns a command in its own process group — in a pty (the child's controlling
terminal, sized `PTY_ROWS`x`PTY_COLS`) or with pipes and stdin on /dev/null. `watch_terminal`
starts reading its output into the `TerminalProcess` record (a pty reader callback, or a pipe
pump task) and watching for its exit. `collect` waits for output until a deadline or the end,
`write_all` writes to a pty, `kill` ends the process group.

This is the low-level half of `background_terminals`: it does not hand out ids, clamp yields,
keep the terminal table or word errors for the model (`BackgroundTerminals` does), so its
failures are plain `OSError`s (spawning: also `subprocess.SubprocessError`), and `on_exit` gets
the record itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import pty
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping

from msgspec import Struct, field

from app_server.agent.tools.exec.process import (
    AGGREGATED_OUTPUT_MAX_BYTES,
    KILL_GRACE_S,
    READ_CHUNK_BYTES,
    HeadTailBuffer,
    exit_code_of,
    signal_group,
    terminate_group,
)

TERMINAL_OUTPUT_MAX_BYTES = AGGREGATED_OUTPUT_MAX_BYTES
"""Cap of a terminal's unread output and of its transcript (1 MiB each, head and tail kept)."""
POST_EXIT_CLOSE_WAIT_S = 0.05
"""After the process exits, how long a collection still waits for the output to close."""
EXIT_DRAIN_TIMEOUT_S = 0.1
"""How long trailing output is awaited after exit before `on_exit` is called."""

PTY_ROWS = 24
PTY_COLS = 80

log = logging.getLogger(__name__)


class TerminalProcess(Struct, eq=False):
    """One spawned command: its process, output buffers and exit state."""

    process_id: int
    argv: list[str]
    tty: bool
    proc: asyncio.subprocess.Process
    started: float
    on_output: Callable[[bytes], None] | None
    on_exit: Callable[[TerminalProcess], None] | None
    """Called once by the exit watcher, after the trailing output has drained."""
    master_fd: int | None = None
    cwd: str = ""
    command: str = ""
    """Where it was started and the command as the model gave it (what
    `thread/backgroundTerminals/list` shows)."""
    last_used: float = field(default_factory=time.monotonic)
    pending: HeadTailBuffer = field(
        default_factory=lambda: HeadTailBuffer(TERMINAL_OUTPUT_MAX_BYTES)
    )
    transcript: HeadTailBuffer = field(
        default_factory=lambda: HeadTailBuffer(TERMINAL_OUTPUT_MAX_BYTES)
    )
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    output_closed: bool = False
    exited: bool = False
    exit_code: int | None = None
    pump_task: asyncio.Task[None] | None = None
    watch_task: asyncio.Task[None] | None = None

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def received(self, chunk: bytes) -> None:
        self.pending.push(chunk)
        self.transcript.push(chunk)
        self.changed.set()
        if self.on_output is not None:
            try:
                self.on_output(chunk)
            except Exception:
                # A broken listener must not stop the output from being read (the command
                # would block on a full pipe); it just stops being called.
                log.exception("on_output failed for exec process %s", self.process_id)
                self.on_output = None

    def close_output(self) -> None:
        if self.master_fd is not None:
            with contextlib.suppress(ValueError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self.master_fd)
        self.output_closed = True
        self.changed.set()

    def release_fds(self) -> None:
        if self.master_fd is not None:
            if not self.output_closed:
                self.close_output()
            with contextlib.suppress(OSError):
                os.close(self.master_fd)
            self.master_fd = None


async def open_process(
    argv: list[str], cwd: str | os.PathLike[str], env: Mapping[str, str] | None, tty: bool
) -> tuple[asyncio.subprocess.Process, int | None]:
    """Spawn `argv` in a new terminal (process group): the process, and the non-blocking pty
    master when `tty`. Raises `OSError` / `subprocess.SubprocessError` (the pty closed)."""
    env_dict = dict(env) if env is not None else None
    master_fd: int | None = None
    try:
        if tty:
            master_fd, slave_fd = pty.openpty()
            try:
                fcntl.ioctl(
                    slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", PTY_ROWS, PTY_COLS, 0, 0)
                )
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    cwd=cwd,
                    env=env_dict,
                    stdin=slave_fd,
                    stdout=slave_fd,
                    stderr=slave_fd,
                    start_new_session=True,
                    preexec_fn=_take_controlling_tty,
                )
            finally:
                os.close(slave_fd)
            os.set_blocking(master_fd, False)
        else:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env_dict,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
    except (OSError, subprocess.SubprocessError):
        if master_fd is not None:
            os.close(master_fd)
        raise
    return proc, master_fd


def watch_terminal(terminal: TerminalProcess) -> None:
    """Start reading the terminal's output (pty reader or pipe pump) and watching its exit."""
    loop = asyncio.get_running_loop()
    if terminal.master_fd is not None:
        loop.add_reader(terminal.master_fd, _read_pty, terminal)
    else:
        terminal.pump_task = loop.create_task(_pump_pipe(terminal))
    terminal.watch_task = loop.create_task(_watch_exit(terminal))


def _take_controlling_tty() -> None:
    """In the child, after `setsid()`: make the pty (fd 0) the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_pty(terminal: TerminalProcess) -> None:
    assert terminal.master_fd is not None
    try:
        chunk = os.read(terminal.master_fd, READ_CHUNK_BYTES)
    except BlockingIOError:
        return
    except OSError as error:
        # EIO: every slave end is closed. Anything else: the pty is unusable; stop reading.
        if error.errno != errno.EIO:
            log.warning("reading the pty of exec process %s failed: %s", terminal.process_id, error)
        chunk = b""
    if chunk:
        terminal.received(chunk)
    else:
        terminal.close_output()


async def _pump_pipe(terminal: TerminalProcess) -> None:
    stdout = terminal.proc.stdout
    assert stdout is not None
    try:
        while chunk := await stdout.read(READ_CHUNK_BYTES):
            terminal.received(chunk)
    finally:
        terminal.close_output()


async def _watch_exit(terminal: TerminalProcess) -> None:
    returncode = await terminal.proc.wait()
    terminal.exit_code = exit_code_of(returncode)
    terminal.exited = True
    terminal.changed.set()
    # Let trailing output arrive (a background grandchild may keep the output open: then
    # whatever it prints later still streams to `on_output`).
    deadline = time.monotonic() + EXIT_DRAIN_TIMEOUT_S
    while not terminal.output_closed and (remaining := deadline - time.monotonic()) > 0:
        terminal.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(terminal.changed.wait(), remaining)
    if terminal.on_exit is not None:
        try:
            terminal.on_exit(terminal)
        except Exception:
            log.exception("on_exit failed for exec process %s", terminal.process_id)


async def collect(terminal: TerminalProcess, deadline: float) -> bytes:
    """Output until the deadline, or until the process has exited and its output closed (at
    most `POST_EXIT_CLOSE_WAIT_S` after the exit), like codex's `collect_output_until_deadline`."""
    collected = bytearray()
    post_exit_deadline: float | None = None
    while True:
        data = terminal.pending.drain()
        now = time.monotonic()
        if data:
            collected += data
            if now >= deadline:
                break
            continue
        if terminal.exited and terminal.output_closed:
            break
        remaining = deadline - now
        if remaining <= 0:
            break
        if terminal.exited:
            if post_exit_deadline is None:
                post_exit_deadline = now + min(remaining, POST_EXIT_CLOSE_WAIT_S)
            remaining = post_exit_deadline - now
            if remaining <= 0:
                break
        terminal.changed.clear()
        try:
            await asyncio.wait_for(terminal.changed.wait(), remaining)
        except TimeoutError:
            collected += terminal.pending.drain()
            break
    return bytes(collected)


async def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to the non-blocking `fd`. Raises `OSError` if it fails."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await asyncio.sleep(0.01)
            continue
        view = view[written:]


async def kill(terminal: TerminalProcess) -> None:
    """Kill the terminal's process group and reap its leader; release its output.

    The exit watcher is left to finish, so `on_exit` still reports the (killed) command.
    """
    try:
        if terminal.proc.returncode is None:
            await terminate_group(terminal.pgid, terminal.proc.wait, KILL_GRACE_S)
        else:
            # The leader is gone; anything it left in the group dies now.
            signal_group(terminal.pgid, signal.SIGKILL)
    finally:
        terminal.release_fds()
        if terminal.pump_task is not None and not terminal.pump_task.done():
            terminal.pump_task.cancel()
