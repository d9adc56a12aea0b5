"""The real Codex terminal client (codex 0.169.0, `--remote ws://…`) works against our server.

Each test runs our real server on a WebSocket, the fake model on 127.0.0.1 (the TUI never
talks to the model: our server does), and `codex --remote` in a private tmux server
(`tests.support.codex_tui`), then reads the screen. The TUI's defaults apply: approval
on-request, read-only sandbox.

The fake model answers by what the latest user input asks (`_route`): the TUI also sends a
title-generation request on each thread's first turn, which must not eat a scripted answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Servers
from tests.support.codex_tui import COMPOSER_PROMPT, TuiScreen, codex_tui_binary
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.server_process import ServerProcess
from tests.support.turn_env import MODEL_ENV, write_model_config

pytestmark = pytest.mark.timeout(300)

TITLE_PROMPT_START = "Generate a concise"
FRUIT_ANSWER = "The fruit is pineapple."
COMMAND_DONE = "Command finished."
SPARE_REPLIES = 5


def _last_user_text(body: Any) -> str:
    """The text of the request's newest user message; `tool_output` after a tool call."""
    for item in reversed((body or {}).get("input") or []):
        if item.get("type") == "function_call_output":
            return "tool_output"
        if item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content)
            return str(content)
    return ""


def _route(body: Any) -> str | None:
    text = _last_user_text(body)
    if text.startswith(TITLE_PROMPT_START):
        return "title"
    for route in ("fruit", "runit", "tool_output"):
        if route in text:
            return route
    return None


@dataclass
class TuiEnv:
    """Everything one test needs to run the TUI against a fresh server."""

    binary: Path
    servers: Servers
    model: ModelServer
    tmp: Path
    screens: list[TuiScreen]

    async def start_server(self) -> ServerProcess:
        return await self.servers.start(listen_ws=True, env=MODEL_ENV)

    async def open_tui(self, *args: str) -> TuiScreen:
        screen = await TuiScreen.start(
            self.binary,
            args,
            home=self.tmp / "tui-home",
            codex_home=self.tmp / "tui-codex-home",
            cwd=self.tmp / "work",
        )
        self.screens.append(screen)
        return screen


@pytest.fixture
async def tui(servers: Servers, tmp_path: Path) -> AsyncIterator[TuiEnv]:
    binary = codex_tui_binary()
    for name in ("tui-home", "tui-codex-home", "work"):
        (tmp_path / name).mkdir()
    async with ModelServer() as model:
        model.router = _route
        model.enqueue_for("title", *[Reply.text("Fruit question")] * SPARE_REPLIES)
        write_model_config(servers.dirs.data_dir, model.base_url)
        env = TuiEnv(binary, servers, model, tmp_path, [])
        try:
            yield env
        finally:
            for screen in env.screens:
                await screen.close()


async def test_tui_turn_shows_the_streamed_answer(tui: TuiEnv) -> None:
    tui.model.enqueue_for("fruit", Reply.text(FRUIT_ANSWER, deltas=3))
    server = await tui.start_server()
    assert server.url is not None
    screen = await tui.open_tui("--remote", server.url)
    await screen.wait_for("OpenAI Codex (v0.169.0)")

    await screen.submit("what is the fruit")

    await screen.wait_for(FRUIT_ANSWER)


def _escalated_command(marker: Path) -> Reply:
    """The model asks to run a command outside the sandbox (the TUI's read-only default would
    not let it write), which needs the user's approval under on-request."""
    return Reply.function_call(
        "exec_command",
        {
            "cmd": f"echo approved-run > {marker}",
            "sandbox_permissions": "require_escalated",
            "justification": "write the marker file",
        },
    )


async def test_tui_runs_an_escalated_command_once_approved(tui: TuiEnv) -> None:
    marker = tui.tmp / "work" / "ran.txt"
    tui.model.enqueue_for("runit", _escalated_command(marker))
    tui.model.enqueue_for("tool_output", Reply.text(COMMAND_DONE))
    server = await tui.start_server()
    assert server.url is not None
    screen = await tui.open_tui("--remote", server.url)
    await screen.wait_for("OpenAI Codex (v0.169.0)")

    await screen.submit("please runit now")
    await screen.wait_for("Would you like to run the following command?")
    assert not marker.exists()
    await screen.press("y")

    await screen.wait_for(COMMAND_DONE)
    assert marker.read_text() == "approved-run\n"


async def test_tui_does_not_run_a_declined_command(tui: TuiEnv) -> None:
    marker = tui.tmp / "work" / "ran.txt"
    tui.model.enqueue_for("runit", _escalated_command(marker))
    server = await tui.start_server()
    assert server.url is not None
    screen = await tui.open_tui("--remote", server.url)
    await screen.wait_for("OpenAI Codex (v0.169.0)")

    await screen.submit("please runit now")
    await screen.wait_for("Would you like to run the following command?")
    await screen.press("Escape")

    await screen.wait_for("You canceled the request to run")
    await screen.wait_for("Conversation interrupted")
    assert not marker.exists()


async def test_tui_resume_last_after_a_server_restart_shows_the_conversation(
    tui: TuiEnv,
) -> None:
    tui.model.enqueue_for("fruit", Reply.text(FRUIT_ANSWER), Reply.text("Still pineapple."))
    first = await tui.start_server()
    assert first.url is not None
    screen = await tui.open_tui("--remote", first.url)
    await screen.wait_for("OpenAI Codex (v0.169.0)")
    await screen.submit("what is the fruit")
    await screen.wait_for(FRUIT_ANSWER)
    await screen.close()
    first.signal()
    assert await first.wait() == 0

    second = await tui.start_server()
    assert second.url is not None
    resumed = await tui.open_tui("resume", "--remote", second.url, "--last")

    earlier_question = COMPOSER_PROMPT + "what is the fruit"
    await resumed.wait_for(lambda text: earlier_question in text and FRUIT_ANSWER in text)
    await resumed.submit("and the fruit now")
    await resumed.wait_for("Still pineapple.")
