"""Drive the real Codex terminal client (`codex --remote ws://…`) in a private tmux server.

Finding the binary: `$CODEX_TUI_BIN` if set, else `.ci/node/node_modules/.bin/codex` (where
`.ci/run` installs `@openai/codex@CODEX_TUI_VERSION` with npm). tmux comes from `PATH`. When
either is missing the test fails with how to get it; a developer without them sets
`CODEX_TUI_SKIP=1` to skip these tests knowingly (CI never sets it).

Each `TuiScreen` runs one tmux server on its own socket (`tmux -L <name>`), so tests never touch
a user's tmux sessions, and `close()` kills exactly that server. The client runs with a temp
`HOME` and `CODEX_HOME`, so it reads no real config or credentials. Tests wait on what the
screen shows (`wait_for`), polling `capture-pane`, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CODEX_TUI_VERSION = "0.169.0"
DEFAULT_CODEX_TUI_BIN = PROJECT_ROOT / ".ci" / "node" / "node_modules" / ".bin" / "codex"
SCREEN_COLUMNS = 200
SCREEN_ROWS = 50
POLL_INTERVAL_S = 0.25
SCREEN_TIMEOUT_S = 90.0
"""How long a test waits for something to appear: generous, for a loaded 2-core machine."""
EXITED_MARKER = "[codex exited"
COMPOSER_PROMPT = "\u203a "
"""What starts the composer's line (and each user message in the transcript)."""


def codex_tui_binary() -> Path:
    """The codex binary and tmux, or fail (skip only with `CODEX_TUI_SKIP=1`) saying why."""
    problems: list[str] = []
    binary = Path(os.environ.get("CODEX_TUI_BIN") or DEFAULT_CODEX_TUI_BIN)
    if not os.access(binary, os.X_OK):
        problems.append(
            f"codex {CODEX_TUI_VERSION} not found at {binary}: run .ci/run, or "
            f"`npm install --prefix .ci/node @openai/codex@{CODEX_TUI_VERSION}`, "
            "or set CODEX_TUI_BIN"
        )
    if shutil.which("tmux") is None:
        problems.append("tmux is not installed (Debian package `tmux`)")
    if problems:
        message = "; ".join(problems)
        if os.environ.get("CODEX_TUI_SKIP") == "1":
            pytest.skip(f"CODEX_TUI_SKIP=1: {message}")
        pytest.fail(f"{message} (set CODEX_TUI_SKIP=1 to skip these tests locally)")
    return binary


class TuiScreen:
    """One codex TUI in a detached tmux session of its own tmux server."""

    def __init__(self, socket_name: str) -> None:
        self.socket_name = socket_name

    @classmethod
    async def start(
        cls, binary: Path, args: Sequence[str], *, home: Path, codex_home: Path, cwd: Path
    ) -> TuiScreen:
        """Start `codex args…`; the pane stays open after it exits, showing how it ended."""
        screen = cls(f"codex-tui-test-{uuid.uuid4().hex[:12]}")
        env = {
            "HOME": str(home),
            "CODEX_HOME": str(codex_home),
            "TERM": "xterm-256color",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
        }
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        command = " ".join(shlex.quote(part) for part in (str(binary), *args))
        script = (
            f"cd {shlex.quote(str(cwd))} && env -i {exports} {command}; "
            f'echo "{EXITED_MARKER} $?]"; sleep 3600'
        )
        await screen._tmux(
            "-f", "/dev/null", "new-session", "-d", "-s", "tui",
            "-x", str(SCREEN_COLUMNS), "-y", str(SCREEN_ROWS), "bash", "-c", script,
        )  # fmt: skip
        return screen

    async def text(self) -> str:
        """What the pane shows now (with the scrollback above it)."""
        return await self._tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "tui")

    async def wait_for(
        self, wanted: str | Callable[[str], bool], timeout: float = SCREEN_TIMEOUT_S
    ) -> str:
        """Poll the screen until it shows `wanted` (a substring or a predicate); return it."""
        check = wanted if callable(wanted) else (lambda screen: wanted in screen)
        deadline = time.monotonic() + timeout
        while True:
            screen = await self.text()
            if check(screen):
                return screen
            if EXITED_MARKER in screen or time.monotonic() > deadline:
                raise AssertionError(f"screen never showed {wanted!r}; it shows:\n{screen}")
            await asyncio.sleep(POLL_INTERVAL_S)

    async def submit(self, prompt: str) -> None:
        """Type `prompt`, wait until the composer shows it, then press Enter (text followed at
        once by Enter is taken as a paste, which does not submit)."""
        await self._tmux("send-keys", "-t", "tui", "-l", prompt)
        await self.wait_for(COMPOSER_PROMPT + prompt)
        await self.press("Enter")

    async def press(self, *keys: str) -> None:
        await self._tmux("send-keys", "-t", "tui", *keys)

    async def close(self) -> None:
        """Kill this screen's tmux server (and the client in it)."""
        with contextlib.suppress(AssertionError):  # already gone
            await self._tmux("kill-server")

    async def _tmux(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "tmux", "-L", self.socket_name, *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        if process.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {err.decode(errors='replace')}")
        return out.decode(errors="replace")
