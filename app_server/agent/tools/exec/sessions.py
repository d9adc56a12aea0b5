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

This module owns the ids, yields, bookkeeping and the errors the model is told; the process
under a session — spawning it, reading its output, watching its exit, killing its group — is
`session_process`'s (its constants, such as `SESSION_OUTPUT_MAX_BYTES`, are re-exported here).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app_server.agent.tools.exec.process import signal_group
from app_server.agent.tools.exec.session_process import (
    EXIT_DRAIN_TIMEOUT_S as EXIT_DRAIN_TIMEOUT_S,
)
from app_server.agent.tools.exec.session_process import (
    POST_EXIT_CLOSE_WAIT_S as POST_EXIT_CLOSE_WAIT_S,
)
from app_server.agent.tools.exec.session_process import PTY_COLS as PTY_COLS
from app_server.agent.tools.exec.session_process import PTY_ROWS as PTY_ROWS
from app_server.agent.tools.exec.session_process import (
    SESSION_OUTPUT_MAX_BYTES as SESSION_OUTPUT_MAX_BYTES,
)
from app_server.agent.tools.exec.session_process import (
    SessionProcess,
    collect,
    kill,
    open_process,
    watch_session,
    write_all,
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

MAX_SESSIONS = 64
"""Most sessions kept at once (codex's `MAX_UNIFIED_EXEC_PROCESSES`); beyond it one is pruned."""
PROTECTED_RECENT_SESSIONS = 8
"""The most recently used sessions are never pruned (fewer if `max_sessions` is smaller)."""
FIRST_PROCESS_ID = 1000

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


class ExecSessions:
    """The unified-exec sessions of one thread."""

    def __init__(
        self, *, max_sessions: int = MAX_SESSIONS, first_process_id: int = FIRST_PROCESS_ID
    ) -> None:
        self._sessions: dict[int, SessionProcess] = {}
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
            collected = await collect(session, started + deadline_s)
        except BaseException:
            self._sessions.pop(process_id, None)
            await kill(session)
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
            try:
                await write_all(session.master_fd, chars.encode("utf-8"))
            except OSError as error:
                raise WriteToStdinFailed() from error
            await asyncio.sleep(WRITE_SETTLE_S)
        deadline_s = clamp_write_stdin_yield_time(yield_time_ms, chars) / 1000
        started = time.monotonic()
        collected = await collect(session, started + deadline_s)
        return self._chunk(session, collected, time.monotonic() - started)

    async def terminate(self, session_id: int) -> None:
        """Kill one session's process group and forget it. Raises `UnknownSession`."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            raise UnknownSession(session_id)
        await kill(session)

    async def close_all(self) -> None:
        """Kill every session's process group (SIGTERM, then SIGKILL) and forget them all."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        await asyncio.gather(*(kill(session) for session in sessions))

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

    def _chunk(self, session: SessionProcess, collected: bytes, wall_time_s: float) -> ExecChunk:
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

    def _store(self, session: SessionProcess) -> None:
        if len(self._sessions) >= self._max_sessions:
            victim = self._prune_candidate()
            if victim is not None:
                pruned = self._sessions.pop(victim)
                task = asyncio.get_running_loop().create_task(kill(pruned))
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
    ) -> SessionProcess:
        spawned_at = time.monotonic()
        try:
            proc, master_fd = await open_process(argv, cwd, env, tty)
        except (OSError, subprocess.SubprocessError) as error:
            raise SpawnFailed(str(error)) from error
        session = SessionProcess(
            process_id=process_id,
            argv=argv,
            tty=tty,
            proc=proc,
            started=spawned_at,
            on_output=on_output,
            on_exit=None if on_exit is None else _exit_reporter(on_exit),
            master_fd=master_fd,
        )
        watch_session(session)
        return session


def _exit_reporter(on_exit: Callable[[ExecExit], None]) -> Callable[[SessionProcess], None]:
    """The session's exit hook: `on_exit` with the command's `ExecExit`."""

    def report(session: SessionProcess) -> None:
        on_exit(
            ExecExit(
                process_id=session.process_id,
                exit_code=session.exit_code,
                aggregated_output=session.transcript.to_bytes(),
                duration_s=time.monotonic() - session.started,
                pid=session.proc.pid,
            )
        )

    return report


_BACKGROUND: set[asyncio.Task[None]] = set()
"""Kills of pruned sessions in flight (kept referenced until done)."""
