"""One standalone process as codex 0.169 runs `command/exec` and `process/spawn` (observed on the
binary): argv spawned in its own process group (and session: a pty's always, a pipe's when the
server has a terminal, `own_group_options`), with stdout and stderr on separate pipes (or one
pty, reported as stdout), stdin from the client or closed, per-stream output caps, a timeout,
and kill by process group.

Exit codes follow codex: the status, `128 + signal` when killed (a terminate answers 137), and
`TIMEOUT_EXIT_CODE` when the timeout ended it.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import pty
import signal
import struct
import termios
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from msgspec import Struct, field

from app_server.agent.tools.exec.process import (
    READ_CHUNK_BYTES,
    exit_code_of,
    own_group_options,
    signal_group,
)

log = logging.getLogger(__name__)

Stream = Literal["stdout", "stderr"]

TIMEOUT_EXIT_CODE = 124
"""What a process ended by its timeout exits with (codex's value, as GNU `timeout`)."""

OUTPUT_DRAIN_TIMEOUT_S = 2.0
"""After the leader exits, how long output is still read while a leftover child holds the
pipes; then the group is killed and `output_drain_timed_out` is reported."""

DEFAULT_PTY_ROWS = 24
DEFAULT_PTY_COLS = 80

OutputSink = Callable[[Stream, bytes, bool], None]
"""Receives streamed output: the stream, the bytes, and whether the cap cut this stream here
(True on the stream's last chunk when it was truncated)."""


class SpawnError(Exception):
    """The process could not be started; `reason` is the OS's text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SpawnRequest(Struct, frozen=True):
    """What to run and how (already checked by the caller)."""

    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]
    tty: bool = False
    size: tuple[int, int] | None = None
    """(rows, cols) of the pty."""
    stream_stdin: bool = False
    output_cap: int | None = None
    """Bytes kept (or streamed) per stream; None: no cap."""
    timeout_s: float | None = None


class _Capture(Struct):
    """One output stream: what is kept for the final answer (buffered mode), how much was
    streamed, and whether the cap cut it."""

    kept: bytearray = field(default_factory=bytearray)
    streamed: int = 0
    cap_reached: bool = False

    @property
    def size(self) -> int:
        """Bytes counted against the cap so far."""
        return len(self.kept) + self.streamed


class Outcome(Struct, frozen=True):
    """How the process ended and what it wrote (buffered streams only)."""

    exit_code: int
    stdout: bytes
    stderr: bytes
    stdout_cap_reached: bool
    stderr_cap_reached: bool
    output_drain_timed_out: bool


class RunningProcess:
    """A spawned process; `wait()` gives its `Outcome` once it has ended and its output drained."""

    def __init__(self, request: SpawnRequest, sink: OutputSink | None) -> None:
        self._request = request
        self._sink = sink
        self._captures: dict[Stream, _Capture] = {"stdout": _Capture(), "stderr": _Capture()}
        self._proc: asyncio.subprocess.Process | None = None
        self._master_fd: int | None = None
        self._stdin_open = request.stream_stdin
        self._timed_out = False
        self._killed = False
        self._done: asyncio.Future[Outcome] | None = None

    @property
    def tty(self) -> bool:
        return self._request.tty

    @property
    def stdin_streamed(self) -> bool:
        return self._request.stream_stdin

    @property
    def finished(self) -> bool:
        return self._done is not None and self._done.done()

    async def start(self) -> None:
        """Spawn it (raises `SpawnError`), then run it in the background."""
        request = self._request
        try:
            if request.tty:
                self._proc = await self._spawn_pty()
            else:
                self._proc = await asyncio.create_subprocess_exec(
                    *request.argv,
                    cwd=request.cwd,
                    env=dict(request.env),
                    stdin=asyncio.subprocess.PIPE
                    if request.stream_stdin
                    else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    **own_group_options(),
                )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            code = f" (os error {exc.errno})" if exc.errno else ""
            raise SpawnError(f"{reason}{code}") from None
        self._done = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._run(), name=f"process {request.argv[0]}")
        task.add_done_callback(_log_failure)

    async def _spawn_pty(self) -> asyncio.subprocess.Process:
        rows, cols = self._request.size or (DEFAULT_PTY_ROWS, DEFAULT_PTY_COLS)
        master, slave = pty.openpty()
        try:
            _set_size(slave, rows, cols)
            proc = await asyncio.create_subprocess_exec(
                *self._request.argv,
                cwd=self._request.cwd,
                env=dict(self._request.env),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                preexec_fn=_take_controlling_tty,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._master_fd = master
        return proc

    async def wait(self) -> Outcome:
        assert self._done is not None
        return await asyncio.shield(self._done)

    async def write_stdin(self, data: bytes, *, close: bool) -> None:
        """Write to its stdin (pty input in tty mode), then close it if asked. Raises
        `BrokenPipeError` when stdin is already closed or the process is gone."""
        if not self._stdin_open:
            raise BrokenPipeError("stdin is closed")
        if self._master_fd is not None:
            if data:
                await _write_all_fd(self._master_fd, data)
            if close:
                self._stdin_open = False
                await _write_all_fd(self._master_fd, b"\x04")  # EOF for the terminal's reader
            return
        assert self._proc is not None
        assert self._proc.stdin is not None
        stdin = self._proc.stdin
        try:
            if data:
                stdin.write(data)
                await stdin.drain()
        except (ConnectionResetError, BrokenPipeError):
            self._stdin_open = False
            raise BrokenPipeError("the process closed its stdin") from None
        if close:
            self._stdin_open = False
            stdin.close()

    def resize(self, rows: int, cols: int) -> None:
        """Resize its pty (`ValueError` when it has none)."""
        if self._master_fd is None:
            raise ValueError("process is not attached to a PTY")
        _set_size(self._master_fd, rows, cols)
        if self._proc is not None:
            signal_group(self._proc.pid, signal.SIGWINCH)

    def kill(self) -> None:
        """SIGKILL its whole process group (it then exits 137)."""
        self._killed = True
        if self._proc is not None:
            signal_group(self._proc.pid, signal.SIGKILL)

    async def _run(self) -> None:
        proc = self._proc
        assert proc is not None
        assert self._done is not None
        readers = self._readers(proc)
        drain_timed_out = False
        try:
            try:
                await asyncio.wait_for(proc.wait(), self._request.timeout_s)
            except TimeoutError:
                self._timed_out = True
                signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
            _, pending = await asyncio.wait(readers, timeout=OUTPUT_DRAIN_TIMEOUT_S)
            if pending:
                drain_timed_out = True
                signal_group(proc.pid, signal.SIGKILL)
                for reader in pending:
                    reader.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            signal_group(proc.pid, signal.SIGKILL)  # nothing of the group outlives its leader
            if self._master_fd is not None:
                os.close(self._master_fd)
                self._master_fd = None
            self._stdin_open = False
        code = exit_code_of(proc.returncode)
        if self._timed_out:
            code = TIMEOUT_EXIT_CODE
        out, err = self._captures["stdout"], self._captures["stderr"]
        self._done.set_result(
            Outcome(
                exit_code=code if code is not None else -1,
                stdout=bytes(out.kept),
                stderr=bytes(err.kept),
                stdout_cap_reached=out.cap_reached,
                stderr_cap_reached=err.cap_reached,
                output_drain_timed_out=drain_timed_out,
            )
        )

    def _readers(self, proc: asyncio.subprocess.Process) -> list[asyncio.Task[None]]:
        if self._master_fd is not None:
            return [asyncio.create_task(self._read_pty(self._master_fd))]
        assert proc.stdout is not None
        assert proc.stderr is not None
        return [
            asyncio.create_task(self._read_pipe(proc.stdout, "stdout")),
            asyncio.create_task(self._read_pipe(proc.stderr, "stderr")),
        ]

    async def _read_pipe(self, reader: asyncio.StreamReader, stream: Stream) -> None:
        while chunk := await reader.read(READ_CHUNK_BYTES):
            self._received(stream, chunk)

    async def _read_pty(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        os.set_blocking(fd, False)
        loop.add_reader(fd, readable.set)
        try:
            while True:
                await readable.wait()
                readable.clear()
                try:
                    chunk = os.read(fd, READ_CHUNK_BYTES)
                except BlockingIOError:
                    continue
                except OSError as exc:  # EIO: every slave end closed
                    if exc.errno != errno.EIO:
                        raise
                    return
                if not chunk:
                    return
                self._received("stdout", chunk)
        finally:
            loop.remove_reader(fd)

    def _received(self, stream: Stream, chunk: bytes) -> None:
        capture = self._captures[stream]
        if capture.cap_reached:
            return
        cap = self._request.output_cap
        if cap is not None and capture.size + len(chunk) > cap:
            chunk = chunk[: max(cap - capture.size, 0)]
            capture.cap_reached = True
        if self._sink is None:
            capture.kept += chunk
            return
        capture.streamed += len(chunk)
        if chunk or capture.cap_reached:
            self._sink(stream, chunk, capture.cap_reached)


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _take_controlling_tty() -> None:
    """In the child, after `setsid()`: make the pty (fd 0) the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def _write_all_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await asyncio.sleep(0.005)
            continue
        view = view[written:]


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("process runner failed", exc_info=task.exception())
