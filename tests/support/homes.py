"""Data dirs full of codex-format rollouts, for end-to-end tests of the thread methods.

Threads are written the way codex 0.169 lays them out (`sessions/YYYY/MM/DD/rollout-…jsonl`,
paginated lines with ordinals, one complete turn each), so the server must index and read them
exactly like history codex wrote. Every knob a listing filters or sorts on can be set.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.store.rollout_builders import encode, event, line, paginated_turn

BASE_MS = 1_795_500_000_000
"""A fixed creation time (2026-11-24) the generated threads count from."""


def uuid7_at(unix_ms: int, salt: int) -> str:
    """A deterministic UUIDv7-shaped id for a creation time (tests need stable ids)."""
    value = (unix_ms << 80) | (0x7 << 76) | (0b10 << 62) | (salt & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def stamp(unix_ms: int) -> str:
    moment = datetime.fromtimestamp(unix_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{unix_ms % 1000:03d}Z"


@dataclass
class ThreadSpec:
    """One thread to write."""

    created_ms: int
    salt: int = 0
    text: str = "hello"
    cwd: str = "/work"
    provider: str = "fake"
    source: Any = "vscode"
    parent: str | None = None
    archived: bool = False
    updated_ms: int | None = None
    turns: int = 1
    extra_meta: dict[str, Any] = field(default_factory=dict)

    @property
    def thread_id(self) -> str:
        return uuid7_at(self.created_ms, self.salt)


def rollout_lines(spec: ThreadSpec) -> list[dict[str, Any]]:
    thread_id = spec.thread_id
    meta: dict[str, Any] = {
        "id": thread_id,
        "session_id": thread_id,
        "timestamp": stamp(spec.created_ms),
        "cwd": spec.cwd,
        "originator": "tests",
        "cli_version": "0.169.0",
        "source": spec.source,
        "model_provider": spec.provider,
        "history_mode": "paginated",
        **spec.extra_meta,
    }
    if spec.parent is not None:
        meta["parent_thread_id"] = spec.parent
        meta["thread_source"] = "subagent"
        meta["source"] = {
            "subagent": {"thread_spawn": {"parent_thread_id": spec.parent, "depth": 1}}
        }
    lines = [line("session_meta", meta, 0)]
    ordinal = 1
    for turn in range(spec.turns):
        turn_id = uuid7_at(spec.created_ms + turn + 1, spec.salt + 1000 * (turn + 1))
        text = spec.text if turn == 0 else f"{spec.text} (turn {turn + 1})"
        lines += paginated_turn(thread_id, turn_id, ordinal, text, f"answer {turn + 1}")
        ordinal += 4
    if spec.parent is not None:  # sub-agents start from an inter-agent message: no preview
        lines = [
            lines[0],
            line("event_msg", event("task_started", turn_id="t", started_at=1), 1),
            line("event_msg", event("task_complete", turn_id="t", completed_at=2), 2),
        ]
    return lines


def write_thread(data_dir: Path, spec: ThreadSpec) -> Path:
    """Write one thread's rollout (live or archived) and set its mtime (its `updatedAt`)."""
    created = datetime.fromtimestamp(spec.created_ms / 1000)
    name = f"rollout-{created.strftime('%Y-%m-%dT%H-%M-%S')}-{spec.thread_id}.jsonl"
    if spec.archived:
        directory = data_dir / "archived_sessions"
    else:
        directory = data_dir / "sessions" / created.strftime("%Y/%m/%d")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(encode(rollout_lines(spec)))
    updated = (spec.updated_ms or spec.created_ms + 500) / 1000
    os.utime(path, (updated, updated))
    return path


def write_threads(data_dir: Path, specs: list[ThreadSpec]) -> list[str]:
    """Write every thread; returns their ids in the given order."""
    return [(write_thread(data_dir, spec), spec.thread_id)[1] for spec in specs]
