"""What answers a stdio client's `initialize` imports nothing heavy (`app_server.startup`): the
model SDK and HTTP clients, pydantic and the protocol models, SQLite, the server proper."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.server_process import PROJECT_ROOT

HEAVY = (
    "openai",
    "httpx",
    "httpx2",
    "httpx_sse",
    "pydantic",
    "pydantic_core",
    "protocol.types",
    "sqlite3",
    "websockets",
    "app_server.server",
    "app_server.store",
    "app_server.threads",
    "app_server.agent.providers",
    "mcp",
    "app_server.agent.mcp",
)


@pytest.mark.parametrize("module", ["app_server.cli", "app_server.startup"])
def test_the_initialize_path_imports_nothing_heavy(module: str) -> None:
    code = (
        f"import sys, json, {module}\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m in {HEAVY!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, check=True, text=True
    )
    assert json.loads(out.stdout) == []


SERVER_NEEDS_LATER = ("httpx", "tomlkit", "websockets", "difflib")
"""Loaded by the warm-up (`httpx`) or on first use (config writes, the WebSocket listener,
applying a patch), never by importing the server proper."""


def test_the_server_proper_leaves_what_the_first_requests_do_not_need() -> None:
    code = (
        "import sys, json, app_server.server\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m in {SERVER_NEEDS_LATER!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, check=True, text=True
    )
    assert json.loads(out.stdout) == []
