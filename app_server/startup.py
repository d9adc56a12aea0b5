"""Stage one of the composition root: a stdio client's `initialize` is answered before the
server proper is even imported.

A CLI frontend spawns the server for every session, so spawn → `initialize` answer is what its
user waits for. Importing the server proper (pydantic, ~400 protocol models, store, agent) takes
several hundred milliseconds; `initialize` needs none of it. So, over stdio:

1. `cli` has parsed the arguments and read `config.toml` and `-c` raw (`config.early`); a
   malformed `-c` has already exited with a usage error.
2. The bubblewrap probe starts in a thread (it mostly waits for a child process).
3. stdout is claimed and the first stdin line read; if it is a plain `initialize`,
   `rpc.fast_initialize` answers it, followed by the "no sandbox" `configWarning` when the probe
   found no working bubblewrap (clients see it right after the answer, as before).
4. Only then is `app_server.server` imported and the config validated, with the cyclic garbage
   collector off (importing creates ~300k objects and nothing to collect; its passes cost ~30
   ms) and everything built so far frozen out of its later passes (`gc.freeze`); it stays off
   until the server's warm-up is done (`warm_up`), a few seconds at most. The server adopts
   the answered handshake and serves what was read after it first (`transport.stdio_start`),
   while it warms up what the first turn needs (`warm_up`). Other
   `configWarning`s (config values, store recovery) follow as soon as it runs, before the answer
   to any later request: requests that arrive meanwhile wait in the pipe.

Anything unusual (not `initialize`, unusual params, EOF) is left to the server proper unanswered.
WebSocket listeners load the server proper first, as before (no client waits on a spawn there).
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from pathlib import Path

from app_server.config.early import RawConfig
from app_server.rpc.fast_initialize import answer_initialize
from app_server.sandbox_notice import (
    CONFIG_WARNING_METHOD,
    NO_SANDBOX_SUMMARY,
    no_sandbox_warning_line,
)
from app_server.transport.stdio_start import StdioStart, claim_stdout, read_first_line, write_all

log = logging.getLogger(__name__)


class _StopRequested(Exception):
    """SIGTERM/SIGINT while waiting for the first line: nothing to serve, stop now."""


class EarlySignals:
    """SIGTERM/SIGINT before the server proper installs its own handlers: remembered (the
    server stops as soon as it runs, exit 0, as when signalled while serving), and while the
    process waits for the first line, the wait ends."""

    def __init__(self) -> None:
        self.received = False
        self.waiting = False
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.received = True
        if self.waiting:
            raise _StopRequested

    def stop_requested(self) -> bool:
        return self.received


class SandboxProbe:
    """`find_bwrap` run in a worker thread from the start (its verdict is cached for the server
    proper, which asks again with the validated config)."""

    def __init__(self, configured: str | None) -> None:
        self._configured = configured
        self._missing: bool | None = None
        self._thread = threading.Thread(target=self._run, name="bwrap probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            from app_server.agent.tools.exec.sandbox import find_bwrap

            self._missing = find_bwrap(self._configured) is None
        except Exception:  # unknown: the server proper probes again and tells
            log.debug("early bubblewrap probe failed", exc_info=True)

    def missing(self) -> bool | None:
        """Whether no working bubblewrap was found (None: not known)."""
        self._thread.join()
        return self._missing


def answer_first_line(data_dir: Path, probe: SandboxProbe, signals: EarlySignals) -> StdioStart:
    """Step 3 of the module docs: claim stdout, read and (if plain) answer `initialize`."""
    protocol_fd = claim_stdout()
    signals.waiting = True
    try:
        line, rest = read_first_line(0)
    except _StopRequested:
        line, rest = b"", b""
    finally:
        signals.waiting = False
    answer = answer_initialize(line, data_dir) if line else None
    if answer is None:
        return StdioStart(
            unread=line + rest, protocol_fd=protocol_fd, stop_requested=signals.stop_requested
        )
    output = answer.response + b"\n"
    told: frozenset[str] = frozenset()
    if probe.missing():
        told = frozenset({NO_SANDBOX_SUMMARY})  # also for an opt-out: nothing left to tell
        if CONFIG_WARNING_METHOD not in answer.opt_out:
            output += no_sandbox_warning_line() + b"\n"
    write_all(protocol_fd, output)
    return StdioStart(
        unread=rest,
        initialize_params=answer.params,
        told=told,
        protocol_fd=protocol_fd,
        stop_requested=signals.stop_requested,
    )


def serve_stdio_process(data_dir: Path, raw: RawConfig) -> None:
    """Serve one stdio client: the module docs' steps 2 to 4."""
    signals = EarlySignals()
    probe = SandboxProbe(raw.raw_text("bwrap_path"))
    start = answer_first_line(data_dir, probe, signals)
    from app_server.agent.providers.tls_context import load_in_background

    load_in_background()  # on the other core while the server proper is imported
    gc.disable()
    try:
        import asyncio

        from app_server.config.loader import ServerConfig
        from app_server.server import AppServer, ListenAddress

        config = ServerConfig(data_dir, layers=raw.layers, problems=raw.problems)
        server = AppServer(config)
    finally:
        gc.freeze()  # and the collector stays off until the warm-up is done (`warm_up`)
    asyncio.run(server.run(ListenAddress(), stdio_start=start))
