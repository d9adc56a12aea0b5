"""Access to the codex 0.169.0 interop fixtures (`shared/fixtures/codex-0.169.0`).

The fixtures hold a `CODEX_HOME` written by the real codex 0.169.0 (`home/`), the files' mtimes
(`home-mtimes.json`), the recorded calls (`calls.json`) and codex's answers (`expected/`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "codex-0.169.0"


def load_json(relative: str) -> Any:
    """A JSON file of the fixture folder, parsed."""
    return json.loads((FIXTURES / relative).read_text())


def fixture_threads() -> list[dict[str, str]]:
    """`threads.json`: key, id, rollout path and description of every fixture thread."""
    threads: list[dict[str, str]] = load_json("threads.json")
    return threads


def fixture_calls(method: str) -> list[dict[str, Any]]:
    """The recorded calls of `method` from `calls.json`, in recording order."""
    return [call for call in load_json("calls.json") if call["method"] == method]


def copy_home(destination: Path) -> Path:
    """Copy the fixture `home/` to `destination` and restore codex's mtimes; returns it."""
    shutil.copytree(FIXTURES / "home", destination)
    for relative, stamp in load_json("home-mtimes.json").items():
        os.utime(destination / relative, (stamp["mtime"], stamp["mtime"]))
    return destination
