"""Background terminals: `exec_command` processes that outlive their yield, and `write_stdin`.

Codex calls them unified-exec sessions, and its protocol background terminals
(`thread/backgroundTerminals/*`); the model still names one by its `session_id`.

`BackgroundTerminals.start` spawns a command (in a pty when `tty`, else with pipes and stdin on
/dev/null, as codex does) in its own process group and collects its output until it exits or
`yield_time_ms` passes. A command still running then stays alive as a terminal the model polls
with `write_stdin(session_id, chars)`; writing needs a tty terminal (codex: "stdin is closed for
this session; rerun exec_command with tty=true to keep stdin open").

Ids: every started command gets a process id (increasing from `FIRST_PROCESS_ID`, like codex's
deterministic mode; codex 0.169 in production draws random ids in 1000..100000). It is the
`session_id` the model sees while the command runs, and what codex reports as the item's
`processId` even for commands that finish within their first yield.

Output: each terminal keeps its unread output (at most `TERMINAL_OUTPUT_MAX_BYTES`, head and
tail) for the next poll, a transcript (same cap) for `ExecExit.aggregated_output`, and calls
`on_output` with every chunk as it arrives — also while nobody is polling — so the caller can
stream `outputDelta`s. `on_exit` is called once when the process has exited (after a short
drain of its trailing output), whether or not it ever became a terminal.

Lifetime: a terminal ends when a poll observes its exit (it is then forgotten — polling it again
is `UnknownTerminal` — and whatever it left running in its process group is killed, as codex
does when it drops the process), when `terminate`/`close_all`/`kill_all` kill it, or when it
is pruned to stay under `MAX_BACKGROUND_TERMINALS` (least recently used first, exited ones
first, never the 8 most recent). A task cancelled inside `start` kills the command (the model
never learnt its id); cancelled inside `write_stdin` it leaves the terminal running. Killing is
by process group: SIGTERM, then SIGKILL after `KILL_GRACE_S`.

This module owns the ids and the table of one thread's terminals (storing, pruning, polling,
forgetting). Around it: `terminal_process` is the process under a terminal — spawning it,
reading its output, watching its exit, killing its group (and `TERMINAL_OUTPUT_MAX_BYTES`);
`yield_time` clamps how long a call waits; `terminal_results` holds what calls hand back
(`ExecChunk`, `ExecExit`, `RunningTerminal`), `terminal_errors` what they raise, worded for the
model; `unified_exec_env` the environment codex gives the commands.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence

from app_server.agent.tools.exec.process import display_command, signal_group
from app_server.agent.tools.exec.terminal_errors import (
    SpawnFailed,
    StdinClosed,
    UnknownTerminal,
    WriteToStdinFailed,
)
from app_server.agent.tools.exec.terminal_process import (
    TerminalProcess,
    collect,
    kill,
    open_process,
    watch_terminal,
    write_all,
)
from app_server.agent.tools.exec.terminal_results import (
    ExecChunk,
    ExecExit,
    RunningTerminal,
    approx_token_count,
)
from app_server.agent.tools.exec.yield_time import (
    clamp_write_stdin_yield_time,
    clamp_yield_time,
)

WRITE_SETTLE_S = 0.1
"""Pause after writing to a terminal before collecting, so the reaction is in the same chunk."""

MAX_BACKGROUND_TERMINALS = 64
"""Most terminals kept at once (codex's `MAX_UNIFIED_EXEC_PROCESSES`); beyond it one is pruned."""
PROTECTED_RECENT_TERMINALS = 8
"""The most recently used terminals are never pruned (fewer if `max_terminals` is smaller)."""
FIRST_PROCESS_ID = 1000
"""The first command's process id; each next one is one more (codex's deterministic mode)."""


class BackgroundTerminals:
    """The unified-exec terminals of one thread."""

    def __init__(
        self,
        *,
        max_terminals: int = MAX_BACKGROUND_TERMINALS,
        first_process_id: int = FIRST_PROCESS_ID,
    ) -> None:
        self._terminals: dict[int, TerminalProcess] = {}
        self._max_terminals = max_terminals
        self._next_id = first_process_id

    def __len__(self) -> int:
        return len(self._terminals)

    def reserve_process_id(self) -> int:
        """A new process id, for a command about to be started."""
        process_id = self._next_id
        self._next_id += 1
        return process_id

    def terminal_ids(self) -> list[int]:
        """Ids of the terminals kept (running, or exited and not yet polled)."""
        return sorted(self._terminals)

    def running(self) -> list[RunningTerminal]:
        """The terminals whose process still runs, by id (`thread/backgroundTerminals/list`)."""
        return [
            RunningTerminal(process_id, t.command, t.cwd, t.proc.pid)
            for process_id, t in sorted(self._terminals.items())
            if not t.exited
        ]

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
        command: str | None = None,
    ) -> ExecChunk:
        """Spawn `argv` and collect its output until it exits or the (clamped) yield passes.

        Raises `SpawnFailed` if it cannot be spawned. See the module docstring for ids,
        callbacks and cancellation; `process_id` is one from `reserve_process_id` (a caller
        that must show the id before the command starts), else a new one; `command` is how
        clients are shown it (default: `argv` quoted as codex displays it).
        """
        if not argv:
            raise SpawnFailed("missing command line for unified exec request")
        if process_id is None:
            process_id = self.reserve_process_id()
        deadline_s = clamp_yield_time(yield_time_ms) / 1000
        terminal = await self._spawn(process_id, list(argv), cwd, env, tty, on_output, on_exit)
        terminal.command = command if command is not None else display_command(argv)
        self._store(terminal)
        started = time.monotonic()
        try:
            collected = await collect(terminal, started + deadline_s)
        except BaseException:
            self._terminals.pop(process_id, None)
            # Shielded: a second cancellation must not stop the kill between its signals.
            await asyncio.shield(kill(terminal))
            raise
        return self._chunk(terminal, collected, time.monotonic() - started)

    async def write_stdin(
        self, session_id: int, chars: str = "", yield_time_ms: int | None = None
    ) -> ExecChunk:
        """Write `chars` to a tty terminal (none: just poll) and collect its output for the
        (clamped) yield or until it exits. Raises `UnknownTerminal`, `StdinClosed` (writing to
        a non-tty terminal) or `WriteToStdinFailed`."""
        terminal = self._terminals.get(session_id)
        if terminal is None:
            raise UnknownTerminal(session_id)
        terminal.last_used = time.monotonic()
        if chars:
            if not terminal.tty or terminal.master_fd is None:
                raise StdinClosed()
            try:
                await write_all(terminal.master_fd, chars.encode("utf-8"))
            except OSError as error:
                raise WriteToStdinFailed() from error
            await asyncio.sleep(WRITE_SETTLE_S)
        deadline_s = clamp_write_stdin_yield_time(yield_time_ms, chars) / 1000
        started = time.monotonic()
        collected = await collect(terminal, started + deadline_s)
        return self._chunk(terminal, collected, time.monotonic() - started)

    async def terminate(self, session_id: int) -> None:
        """Kill one terminal's process group and forget it. Raises `UnknownTerminal`."""
        terminal = self._terminals.pop(session_id, None)
        if terminal is None:
            raise UnknownTerminal(session_id)
        await kill(terminal)

    async def close_all(self) -> None:
        """Kill every terminal's process group (SIGTERM, then SIGKILL) and forget them all."""
        terminals = list(self._terminals.values())
        self._terminals.clear()
        await asyncio.gather(*(kill(terminal) for terminal in terminals))

    def kill_all(self) -> None:
        """`close_all` for synchronous callers: SIGKILL every terminal's process group now and
        forget them all (asyncio's child watcher still reaps the leaders; `on_exit` still runs
        if the event loop keeps running)."""
        terminals = list(self._terminals.values())
        self._terminals.clear()
        for terminal in terminals:
            signal_group(terminal.pgid, signal.SIGKILL)
            terminal.release_fds()
            if terminal.pump_task is not None and not terminal.pump_task.done():
                terminal.pump_task.cancel()

    def _chunk(self, terminal: TerminalProcess, collected: bytes, wall_time_s: float) -> ExecChunk:
        exited = terminal.exited
        if exited and self._terminals.get(terminal.process_id) is terminal:
            # Seen exited: forget it, and (like codex dropping the process handle) kill what
            # it left running in its group.
            del self._terminals[terminal.process_id]
            signal_group(terminal.pgid, signal.SIGKILL)
            terminal.release_fds()
        text = collected.decode("utf-8", errors="replace")
        return ExecChunk(
            output=collected,
            exit_code=terminal.exit_code if exited else None,
            session_id=None if exited else terminal.process_id,
            wall_time_s=wall_time_s,
            original_token_estimate=approx_token_count(text),
            process_id=terminal.process_id,
            pid=terminal.proc.pid,
        )

    def _store(self, terminal: TerminalProcess) -> None:
        if len(self._terminals) >= self._max_terminals:
            victim = self._prune_candidate()
            if victim is not None:
                pruned = self._terminals.pop(victim)
                task = asyncio.get_running_loop().create_task(kill(pruned))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)
        self._terminals[terminal.process_id] = terminal

    def _prune_candidate(self) -> int | None:
        by_recency = sorted(self._terminals.values(), key=lambda s: s.last_used, reverse=True)
        keep = min(PROTECTED_RECENT_TERMINALS, self._max_terminals - 1)
        protected = {s.process_id for s in by_recency[:keep]}
        lru = [s for s in reversed(by_recency) if s.process_id not in protected]
        for terminal in lru:
            if terminal.exited:
                return terminal.process_id
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
    ) -> TerminalProcess:
        spawned_at = time.monotonic()
        # Shielded: a turn interrupted while asyncio is still wiring the new process's pipes
        # must not leave the process (and what it already started) running unknown to us.
        spawning = asyncio.ensure_future(open_process(argv, cwd, env, tty))
        try:
            proc, master_fd = await asyncio.shield(spawning)
        except asyncio.CancelledError:
            spawning.add_done_callback(_kill_unclaimed)
            raise
        except (OSError, subprocess.SubprocessError) as error:
            raise SpawnFailed(str(error)) from error
        terminal = TerminalProcess(
            process_id=process_id,
            argv=argv,
            tty=tty,
            proc=proc,
            started=spawned_at,
            on_output=on_output,
            on_exit=None if on_exit is None else _exit_reporter(on_exit),
            master_fd=master_fd,
            cwd=os.fspath(cwd),
        )
        watch_terminal(terminal)
        return terminal


def _kill_unclaimed(
    spawning: asyncio.Future[tuple[asyncio.subprocess.Process, int | None]],
) -> None:
    """Once a spawn whose caller was cancelled has a process: SIGKILL its whole group (its own
    session: the group id is its pid) and close its pty master."""
    if spawning.cancelled() or spawning.exception() is not None:
        return
    proc, master_fd = spawning.result()
    signal_group(proc.pid, signal.SIGKILL)
    if master_fd is not None:
        os.close(master_fd)


def _exit_reporter(on_exit: Callable[[ExecExit], None]) -> Callable[[TerminalProcess], None]:
    """The terminal's exit hook: `on_exit` with the command's `ExecExit`."""

    def report(terminal: TerminalProcess) -> None:
        on_exit(
            ExecExit(
                process_id=terminal.process_id,
                exit_code=terminal.exit_code,
                aggregated_output=terminal.transcript.to_bytes(),
                duration_s=time.monotonic() - terminal.started,
                pid=terminal.proc.pid,
            )
        )

    return report


_BACKGROUND: set[asyncio.Task[None]] = set()
"""Kills of pruned terminals in flight (kept referenced until done)."""
