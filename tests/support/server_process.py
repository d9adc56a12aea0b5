"""Start the real server (`python -m app_server`) in a temp data dir with a temp `HOME`.

The process gets a clean environment: its own `HOME` (so login shells never read the machine's
dotfiles), no `CODEX_HOME` (the data dir is passed explicitly), and nothing from the caller's
OpenAI settings. stderr is drained continuously into `stderr_lines` for diagnostics.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.client import StdioClient, WebSocketClient

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"app-server listening on (ws://\S+)")
STARTUP_TIMEOUT = 20.0
TEST_COMPRESSION_MIN_AGE_DAYS = 3650
"""Cold-rollout age for test servers (the product default is 7 days). Test homes carry fixed
dates (2026-11-24, the codex fixtures' day); with the default they would start being compressed
in the background a week later, and tests that look at files would depend on the calendar.
Tests of compression make their rollouts older than this (or pass their own `-c`)."""


def server_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a server process: a temp HOME and only the basics of ours."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR")
    }
    env.update(
        {
            "HOME": str(home),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(PROJECT_ROOT),
            "APP_SERVER_LOG_LEVEL": "info",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class ServerProcess:
    """A running server process and what it wrote to stderr."""

    process: asyncio.subprocess.Process
    stderr_lines: list[str] = field(default_factory=list)
    url: str | None = None
    _drain: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        data_dir: Path,
        home: Path,
        *args: str,
        env: dict[str, str] | None = None,
        wait_for_listen: bool = False,
    ) -> ServerProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app_server",
            "--data-dir",
            str(data_dir),
            "-c",
            f"rollout_compression.min_age_days={TEST_COMPRESSION_MIN_AGE_DAYS}",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=server_env(home, env),
            cwd=str(home),
            limit=256 * 1024 * 1024,
        )
        server = cls(process)
        listening: asyncio.Future[str] | None = None
        if wait_for_listen:
            listening = asyncio.get_running_loop().create_future()
        server._drain = asyncio.create_task(server._drain_stderr(listening))
        if listening is not None:
            try:
                server.url = await asyncio.wait_for(listening, STARTUP_TIMEOUT)
            except (TimeoutError, EOFError) as exc:
                await server.kill()
                raise RuntimeError(f"server did not start: {server.stderr_text()}") from exc
        return server

    async def _drain_stderr(self, listening: asyncio.Future[str] | None) -> None:
        assert self.process.stderr is not None
        while True:
            raw = await self.process.stderr.readline()
            if not raw:
                if listening is not None and not listening.done():
                    listening.set_exception(EOFError("server exited"))
                return
            line = raw.decode(errors="replace").rstrip("\n")
            self.stderr_lines.append(line)
            match = LISTENING.search(line)
            if match and listening is not None and not listening.done():
                listening.set_result(match.group(1))

    def stderr_text(self) -> str:
        return "\n".join(self.stderr_lines[-50:])

    def stdio_client(self) -> StdioClient:
        return StdioClient(self.process)

    async def ws_client(self, **kwargs: object) -> WebSocketClient:
        assert self.url is not None
        return await WebSocketClient.connect(self.url, **kwargs)

    async def wait(self, timeout: float = 15.0) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._drain is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain, 5.0)
        return code

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._drain is not None:
            self._drain.cancel()
