"""Builders for small, realistic rollout files (codex 0.169 line shapes) in temp dirs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import zstandard

from app_server.rollout.lines import StoredLine

STAMP = "2026-11-24T18:57:46.216Z"


def as_stored(lines: Iterable[Mapping[str, Any]]) -> list[StoredLine]:
    """Hand-written lines, to append verbatim as if copied from a rollout codex wrote (they are
    not built by `app_server.rollout`, which only builds the lines we write ourselves)."""
    return [StoredLine(dict(line)) for line in lines]


def line(kind: str, payload: dict[str, Any], ordinal: int | None = None) -> dict[str, Any]:
    """One rollout line (`ordinal` only for paginated threads)."""
    record: dict[str, Any] = {"timestamp": STAMP, "type": kind, "payload": payload}
    if ordinal is not None:
        record = {"timestamp": STAMP, "ordinal": ordinal, "type": kind, "payload": payload}
    return record


def session_meta(thread_id: str, *, mode: str = "paginated", **extra: Any) -> dict[str, Any]:
    """A `session_meta` payload."""
    return {
        "id": thread_id,
        "session_id": thread_id,
        "timestamp": "2026-11-24T18:57:46.159Z",
        "cwd": "/work",
        "originator": "tests",
        "cli_version": "0.169.0",
        "source": "vscode",
        "model_provider": "fake",
        "history_mode": mode,
        **extra,
    }


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """An `event_msg` payload."""
    return {"type": kind, **fields}


def user_item(item_id: str, text: str) -> dict[str, Any]:
    """A core `UserMessage` item."""
    return {"type": "UserMessage", "id": item_id, "content": [{"type": "text", "text": text}]}


def agent_item(item_id: str, text: str) -> dict[str, Any]:
    """A core `AgentMessage` item."""
    return {"type": "AgentMessage", "id": item_id, "content": [{"type": "Text", "text": text}]}


def paginated_turn(
    thread_id: str, turn_id: str, first_ordinal: int, user_text: str, agent_text: str
) -> list[dict[str, Any]]:
    """A complete paginated turn: task_started, user + agent items, task_complete (4 lines)."""
    ordinal = first_ordinal
    lines = [
        line("event_msg", event("task_started", turn_id=turn_id, started_at=100), ordinal),
        line(
            "event_msg",
            event(
                "item_completed",
                thread_id=thread_id,
                turn_id=turn_id,
                item=user_item(f"u-{turn_id}", user_text),
                started_at_ms=1000,
                completed_at_ms=1001,
            ),
            ordinal + 1,
        ),
        line(
            "event_msg",
            event(
                "item_completed",
                thread_id=thread_id,
                turn_id=turn_id,
                item=agent_item(f"a-{turn_id}", agent_text),
                started_at_ms=1002,
                completed_at_ms=1003,
            ),
            ordinal + 2,
        ),
        line(
            "event_msg",
            event("task_complete", turn_id=turn_id, completed_at=101, duration_ms=5),
            ordinal + 3,
        ),
    ]
    return lines


def encode(records: list[dict[str, Any]]) -> bytes:
    """Records as JSONL bytes (every line newline-terminated)."""
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def write_rollout(
    data_dir: Path,
    thread_id: str,
    records: list[dict[str, Any]] | bytes,
    *,
    archived: bool = False,
    compressed: bool = False,
) -> Path:
    """Write a rollout file where codex would put it; returns its path."""
    name = f"rollout-2026-11-24T18-57-46-{thread_id}.jsonl"
    directory = data_dir / ("archived_sessions" if archived else "sessions/2026/11/24")
    directory.mkdir(parents=True, exist_ok=True)
    content = records if isinstance(records, bytes) else encode(records)
    if compressed:
        path = directory / f"{name}.zst"
        path.write_bytes(zstandard.ZstdCompressor(level=3).compress(content))
    else:
        path = directory / name
        path.write_bytes(content)
    return path
