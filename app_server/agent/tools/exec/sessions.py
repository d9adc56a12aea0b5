"""Unified-exec sessions: `exec_command` processes that outlive their yield, and `write_stdin`.

`ExecSessions.start` spawns a command (in a pty when `tty`, else with pipes and stdin on
/dev/null, as codex does) in its own process group and collects its output until it exits or
`yield_time_ms` passes. A command still running then stays alive as a session the model polls
with `write_stdin(session_id, chars)`; writing needs a tty session (codex: "stdin is closed for
this session; rerun exec_command with tty=true to keep stdin open").

Ids: every started command gets a process id (increasing from `FIRST_PROCESS_ID`, like codex's
deterministic mode; codex 0.169 in production draws random ids in 1000..100000). It is the
`session_id` the model sees while the command runs, and what codex reports as the item's
`processId` even for commands that finish within their first yield.

Output: each session keeps its unread output (at most `SESSION_OUTPUT_MAX_BYTES`, head and
tail) for the next poll, a transcript (same cap) for `ExecExit.aggregated_output`, and calls
`on_output` with every chunk as it arrives — also while nobody is polling — so the caller can
stream `outputDelta`s. `on_exit` is called once when the process has exited (after a short
drain of its trailing output), whether or not it ever became a session.

Lifetime: a session ends when a poll observes its exit (it is then forgotten — polling it again
is `UnknownSession` — and whatever it left running in its process group is killed, as codex
does when it drops the process), when `terminate`/`close_all`/`kill_all` kill it, or when it
is pruned to stay under
`MAX_SESSIONS` (least recently used first, exited ones first, never the 8 most recent). A task
cancelled inside `start` kills the command (the model never learnt its id); cancelled inside
`write_stdin` it leaves the session running. Killing is by process group: SIGTERM, then SIGKILL
after `KILL_GRACE_S`.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from app_server.agent.tools.exec.process import (
    AGGREGATED_OUTPUT_MAX_BYTES,
    KILL_GRACE_S,
    READ_CHUNK_BYTES,
    HeadTailBuffer,
    exit_code_of,
    signal_group,
    terminate_group,
)

DEFAULT_EXEC_YIELD_TIME_MS = 10_000
"""`exec_command`'s default `yield_time_ms`."""
DEFAULT_WRITE_STDIN_YIELD_TIME_MS = 250
"""`write_stdin`'s default `yield_time_ms`."""
MIN_YIELD_TIME_MS = 250
MAX_YIELD_TIME_MS = 30_000
MIN_EMPTY_YIELD_TIME_MS = 5_000
"""A `write_stdin` that writes nothing (a poll) waits at least this long..."""
MAX_EMPTY_YIELD_TIME_MS = 300_000
"""...and at most this long (codex's `background_terminal_max_timeout` default)."""
WRITE_SETTLE_S = 0.1
"""Pause after writing to a session before collecting, so the reaction is in the same chunk."""
POST_EXIT_CLOSE_WAIT_S = 0.05
"""After the process exits, how long a collection still waits for the output to close."""
EXIT_DRAIN_TIMEOUT_S = 0.1
"""How long trailing output is awaited after exit before `on_exit` is called."""

MAX_SESSIONS = 64
"""Most sessions kept at once (codex's `MAX_UNIFIED_EXEC_PROCESSES`); beyond it one is pruned."""
PROTECTED_RECENT_SESSIONS = 8
"""The most recently used sessions are never pruned (fewer if `max_sessions` is smaller)."""
SESSION_OUTPUT_MAX_BYTES = AGGREGATED_OUTPUT_MAX_BYTES
"""Cap of a session's unread output and of its transcript (1 MiB each, head and tail kept)."""
FIRST_PROCESS_ID = 1000

log = logging.getLogger(__name__)

PTY_ROWS = 24
PTY_COLS = 80

UNIFIED_EXEC_ENV: dict[str, str] = {
    "NO_COLOR": "1",
    "TERM": "dumb",
    "LANG": "C.UTF-8",
    "LC_CTYPE": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "COLORTERM": "",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GH_PAGER": "cat",
    "CODEX_CI": "1",
}
"""Variables codex 0.169 sets for every unified-exec command (not applied here automatically:
see `unified_exec_env`)."""


def unified_exec_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with codex's unified-exec overrides (`UNIFIED_EXEC_ENV`) applied."""
    return {**env, **UNIFIED_EXEC_ENV}


class ExecSessionError(Exception):
    """A session operation failed; the message is what the model is told."""


class UnknownSession(ExecSessionError):
    def __init__(self, session_id: int) -> None:
        super().__init__(f"Unknown process id {session_id}")
        self.session_id = session_id


class StdinClosed(ExecSessionError):
    def __init__(self) -> None:
        super().__init__(
            "stdin is closed for this session; rerun exec_command with tty=true to keep stdin open"
        )


class WriteToStdinFailed(ExecSessionError):
    def __init__(self) -> None:
        super().__init__("failed to write to stdin")


class SpawnFailed(ExecSessionError):
    def __init__(self, message: str) -> None:
        super().__init__(f"Failed to create unified exec process: {message}")


@dataclass(frozen=True, slots=True)
class ExecChunk:
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


@dataclass(frozen=True, slots=True)
class ExecExit:
    """A command's end, for `on_exit`."""

    process_id: int
    exit_code: int | None
    aggregated_output: bytes
    """Everything it printed, capped at `SESSION_OUTPUT_MAX_BYTES` (head and tail kept)."""
    duration_s: float
    pid: int | None


def clamp_yield_time(yield_time_ms: int | None, default: int = DEFAULT_EXEC_YIELD_TIME_MS) -> int:
    """`exec_command`'s yield: `default` if unset, clamped to [250, 30000] ms."""
    value = default if yield_time_ms is None else yield_time_ms
    return min(max(value, MIN_YIELD_TIME_MS), MAX_YIELD_TIME_MS)


def clamp_write_stdin_yield_time(yield_time_ms: int | None, chars: str) -> int:
    """`write_stdin`'s yield: at least 250 ms; a pure poll (no chars) in [5000, 300000] ms,
    a write at most 30000 ms."""
    value = DEFAULT_WRITE_STDIN_YIELD_TIME_MS if yield_time_ms is None else yield_time_ms
    value = max(value, MIN_YIELD_TIME_MS)
    if not chars:
        return min(max(value, MIN_EMPTY_YIELD_TIME_MS), MAX_EMPTY_YIELD_TIME_MS)
    return min(value, MAX_YIELD_TIME_MS)


def approx_token_count(text: str) -> int:
    """ceil(UTF-8 bytes / 4): codex's token estimate."""
    return (len(text.encode("utf-8", errors="surrogatepass")) + 3) // 4


@dataclass(eq=False)
class _Session:
    process_id: int
    argv: list[str]
    tty: bool
    proc: asyncio.subprocess.Process
    started: float
    on_output: Callable[[bytes], None] | None
    on_exit: Callable[[ExecExit], None] | None
    master_fd: int | None = None
    last_used: float = field(default_factory=time.monotonic)
    pending: HeadTailBuffer = field(
        default_factory=lambda: HeadTailBuffer(SESSION_OUTPUT_MAX_BYTES)
    )
    transcript: HeadTailBuffer = field(
        default_factory=lambda: HeadTailBuffer(SESSION_OUTPUT_MAX_BYTES)
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


class ExecSessions:
    """The unified-exec sessions of one thread."""

    def __init__(
        self, *, max_sessions: int = MAX_SESSIONS, first_process_id: int = FIRST_PROCESS_ID
    ) -> None:
        self._sessions: dict[int, _Session] = {}
        self._max_sessions = max_sessions
        self._next_id = first_process_id

    def __len__(self) -> int:
        return len(self._sessions)

    def reserve_process_id(self) -> int:
        """A new process id, for a command about to be started."""
        process_id = self._next_id
        self._next_id += 1
        return process_id

    def session_ids(self) -> list[int]:
        """Ids of the sessions kept (running, or exited and not yet polled)."""
        return sorted(self._sessions)

    async def start(
        self,
        argv: Sequence[str],
        cwd: str | os.PathLike[str],
        env: Mapping[str, str] | None,
        yield_time_ms: int | None = None,
        tty: bool = False,
        on_output: Callable[[bytes], None] | None = None,
        *,
        on_exit: Callable[[ExecExit], None] | None = None,
        process_id: int | None = None,
    ) -> ExecChunk:
        """Spawn `argv` and collect its output until it exits or the (clamped) yield passes.

        Raises `SpawnFailed` if it cannot be spawned. See the module docstring for ids,
        callbacks and cancellation; `process_id` is one from `reserve_process_id` (a caller
        that must show the id before the command starts), else a new one.
        """
        if not argv:
            raise SpawnFailed("missing command line for unified exec request")
        if process_id is None:
            process_id = self.reserve_process_id()
        deadline_s = clamp_yield_time(yield_time_ms) / 1000
        session = await self._spawn(process_id, list(argv), cwd, env, tty, on_output, on_exit)
        self._store(session)
        started = time.monotonic()
        try:
            collected = await _collect(session, started + deadline_s)
        except BaseException:
            self._sessions.pop(process_id, None)
            await _kill(session)
            raise
        return self._chunk(session, collected, time.monotonic() - started)

    async def write_stdin(
        self, session_id: int, chars: str = "", yield_time_ms: int | None = None
    ) -> ExecChunk:
        """Write `chars` to a tty session (none: just poll) and collect its output for the
        (clamped) yield or until it exits. Raises `UnknownSession`, `StdinClosed` (writing to
        a non-tty session) or `WriteToStdinFailed`."""
        session = self._sessions.get(session_id)
        if session is None:
            raise UnknownSession(session_id)
        session.last_used = time.monotonic()
        if chars:
            if not session.tty or session.master_fd is None:
                raise StdinClosed()
            await _write_all(session.master_fd, chars.encode("utf-8"))
            await asyncio.sleep(WRITE_SETTLE_S)
        deadline_s = clamp_write_stdin_yield_time(yield_time_ms, chars) / 1000
        started = time.monotonic()
        collected = await _collect(session, started + deadline_s)
        return self._chunk(session, collected, time.monotonic() - started)

    async def terminate(self, session_id: int) -> None:
        """Kill one session's process group and forget it. Raises `UnknownSession`."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            raise UnknownSession(session_id)
        await _kill(session)

    async def close_all(self) -> None:
        """Kill every session's process group (SIGTERM, then SIGKILL) and forget them all."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        await asyncio.gather(*(_kill(session) for session in sessions))

    def kill_all(self) -> None:
        """`close_all` for synchronous callers: SIGKILL every session's process group now and
        forget them all (asyncio's child watcher still reaps the leaders; `on_exit` still runs
        if the event loop keeps running)."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            signal_group(session.pgid, signal.SIGKILL)
            session.release_fds()
            if session.pump_task is not None and not session.pump_task.done():
                session.pump_task.cancel()

    def _chunk(self, session: _Session, collected: bytes, wall_time_s: float) -> ExecChunk:
        exited = session.exited
        if exited and self._sessions.get(session.process_id) is session:
            # Seen exited: forget it, and (like codex dropping the process handle) kill what
            # it left running in its group.
            del self._sessions[session.process_id]
            signal_group(session.pgid, signal.SIGKILL)
            session.release_fds()
        text = collected.decode("utf-8", errors="replace")
        return ExecChunk(
            output=collected,
            exit_code=session.exit_code if exited else None,
            session_id=None if exited else session.process_id,
            wall_time_s=wall_time_s,
            original_token_estimate=approx_token_count(text),
            process_id=session.process_id,
            pid=session.proc.pid,
        )

    def _store(self, session: _Session) -> None:
        if len(self._sessions) >= self._max_sessions:
            victim = self._prune_candidate()
            if victim is not None:
                pruned = self._sessions.pop(victim)
                task = asyncio.get_running_loop().create_task(_kill(pruned))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)
        self._sessions[session.process_id] = session

    def _prune_candidate(self) -> int | None:
        by_recency = sorted(self._sessions.values(), key=lambda s: s.last_used, reverse=True)
        keep = min(PROTECTED_RECENT_SESSIONS, self._max_sessions - 1)
        protected = {s.process_id for s in by_recency[:keep]}
        lru = [s for s in reversed(by_recency) if s.process_id not in protected]
        for session in lru:
            if session.exited:
                return session.process_id
        return lru[0].process_id if lru else None

    async def _spawn(
        self,
        process_id: int,
        argv: list[str],
        cwd: str | os.PathLike[str],
        env: Mapping[str, str] | None,
        tty: bool,
        on_output: Callable[[bytes], None] | None,
        on_exit: Callable[[ExecExit], None] | None,
    ) -> _Session:
        env_dict = dict(env) if env is not None else None
        master_fd: int | None = None
        spawned_at = time.monotonic()
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
        except (OSError, subprocess.SubprocessError) as error:
            if master_fd is not None:
                os.close(master_fd)
            raise SpawnFailed(str(error)) from error
        session = _Session(
            process_id=process_id,
            argv=argv,
            tty=tty,
            proc=proc,
            started=spawned_at,
            on_output=on_output,
            on_exit=on_exit,
            master_fd=master_fd,
        )
        loop = asyncio.get_running_loop()
        if master_fd is not None:
            loop.add_reader(master_fd, _read_pty, session)
        else:
            session.pump_task = loop.create_task(_pump_pipe(session))
        session.watch_task = loop.create_task(_watch_exit(session))
        return session


_BACKGROUND: set[asyncio.Task[None]] = set()
"""Kills of pruned sessions in flight (kept referenced until done)."""


def _take_controlling_tty() -> None:
    """In the child, after `setsid()`: make the pty (fd 0) the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_pty(session: _Session) -> None:
    assert session.master_fd is not None
    try:
        chunk = os.read(session.master_fd, READ_CHUNK_BYTES)
    except BlockingIOError:
        return
    except OSError as error:
        # EIO: every slave end is closed. Anything else: the pty is unusable; stop reading.
        if error.errno != errno.EIO:
            log.warning("reading the pty of exec process %s failed: %s", session.process_id, error)
        chunk = b""
    if chunk:
        session.received(chunk)
    else:
        session.close_output()


async def _pump_pipe(session: _Session) -> None:
    stdout = session.proc.stdout
    assert stdout is not None
    try:
        while chunk := await stdout.read(READ_CHUNK_BYTES):
            session.received(chunk)
    finally:
        session.close_output()


async def _watch_exit(session: _Session) -> None:
    returncode = await session.proc.wait()
    session.exit_code = exit_code_of(returncode)
    session.exited = True
    session.changed.set()
    # Let trailing output arrive (a background grandchild may keep the output open: then
    # whatever it prints later still streams to `on_output`).
    deadline = time.monotonic() + EXIT_DRAIN_TIMEOUT_S
    while not session.output_closed and (remaining := deadline - time.monotonic()) > 0:
        session.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.changed.wait(), remaining)
    if session.on_exit is not None:
        ended = ExecExit(
            process_id=session.process_id,
            exit_code=session.exit_code,
            aggregated_output=session.transcript.to_bytes(),
            duration_s=time.monotonic() - session.started,
            pid=session.proc.pid,
        )
        try:
            session.on_exit(ended)
        except Exception:
            log.exception("on_exit failed for exec process %s", session.process_id)


async def _collect(session: _Session, deadline: float) -> bytes:
    """Output until the deadline, or until the process has exited and its output closed (at
    most `POST_EXIT_CLOSE_WAIT_S` after the exit), like codex's `collect_output_until_deadline`."""
    collected = bytearray()
    post_exit_deadline: float | None = None
    while True:
        data = session.pending.drain()
        now = time.monotonic()
        if data:
            collected += data
            if now >= deadline:
                break
            continue
        if session.exited and session.output_closed:
            break
        remaining = deadline - now
        if remaining <= 0:
            break
        if session.exited:
            if post_exit_deadline is None:
                post_exit_deadline = now + min(remaining, POST_EXIT_CLOSE_WAIT_S)
            remaining = post_exit_deadline - now
            if remaining <= 0:
                break
        session.changed.clear()
        try:
            await asyncio.wait_for(session.changed.wait(), remaining)
        except TimeoutError:
            collected += session.pending.drain()
            break
    return bytes(collected)


async def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await asyncio.sleep(0.01)
            continue
        except OSError as error:
            raise WriteToStdinFailed() from error
        view = view[written:]


async def _kill(session: _Session) -> None:
    """Kill the session's process group and reap its leader; release its output.

    The exit watcher is left to finish, so `on_exit` still reports the (killed) command.
    """
    try:
        if session.proc.returncode is None:
            await terminate_group(session.pgid, session.proc.wait, KILL_GRACE_S)
        else:
            # The leader is gone; anything it left in the group dies now.
            signal_group(session.pgid, signal.SIGKILL)
    finally:
        session.release_fds()
        if session.pump_task is not None and not session.pump_task.done():
            session.pump_task.cancel()
