"""The items tools show clients, built once in codex's core shape and derived for the wire.

A tool builds its item as a codex *core* TurnItem (`CommandExecution`, `FileChange`, …) — the
shape the rollout keeps (STORAGE.md §3.4) — and the wire `ThreadItem` it streams is derived from
that same dict by the reader's own mapping, so what a client sees live is, field for field, what
`thread/read` returns after a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_server.agent.tools.registry import ToolContext, ToolItem
from app_server.notification import now_ms
from app_server.rollout.item_mapping import thread_item_from_core
from protocol.types import ItemCompletedNotification, ItemStartedNotification, ThreadItem


def wire_item(core: dict[str, Any], started_at_ms: int, completed_at_ms: int | None) -> ThreadItem:
    item = thread_item_from_core(core, started_at_ms=started_at_ms, completed_at_ms=completed_at_ms)
    if item is None:  # a bug in a builder below, not bad input
        raise ValueError(f"core item {core.get('type')} has no wire form: {core!r}")
    return item


def publish_started(context: ToolContext, core: dict[str, Any]) -> int:
    """`item/started` for an in-progress core item; returns its start time."""
    started = now_ms()
    context.publish(
        "item/started",
        ItemStartedNotification(
            thread_id=context.thread_id,
            turn_id=context.turn_id,
            started_at_ms=started,
            item=wire_item(core, started, None),
        ),
    )
    return started


def publish_completed(
    context: ToolContext, core: dict[str, Any], started: int, legacy: dict[str, Any] | None
) -> ToolItem:
    """`item/completed` for a finished core item; returns what the rollout records."""
    completed = now_ms()
    context.publish(
        "item/completed",
        ItemCompletedNotification(
            thread_id=context.thread_id,
            turn_id=context.turn_id,
            completed_at_ms=completed,
            item=wire_item(core, started, completed),
        ),
    )
    return ToolItem(core, legacy, started, completed)


def file_uri(path: str) -> str:
    """Core items spell directories as `file://` URIs."""
    return Path(path).as_uri() if path.startswith("/") else path


def duration(seconds: float) -> dict[str, int]:
    """A core `Duration`."""
    secs = int(seconds)
    return {"secs": secs, "nanos": round((seconds - secs) * 1e9)}


def command_execution(
    call_id: str,
    *,
    argv: list[str],
    cwd: str,
    parsed_cmd: list[dict[str, Any]],
    source: str,
    status: str,
    process_id: str | None = None,
    aggregated_output: str = "",
    exit_code: int | None = None,
    duration_seconds: float | None = None,
) -> dict[str, Any]:
    """Core `CommandExecution` (status: `in_progress`, `completed`, `failed`, `declined`)."""
    return {
        "type": "CommandExecution",
        "id": call_id,
        "process_id": process_id,
        "command": argv,
        "cwd": file_uri(cwd),
        "parsed_cmd": parsed_cmd,
        "source": source,
        "status": status,
        "aggregated_output": aggregated_output,
        "exit_code": exit_code,
        "duration": duration(duration_seconds) if duration_seconds is not None else None,
    }


def legacy_exec_end(core: dict[str, Any], stdout: str, formatted_output: str) -> dict[str, Any]:
    """The `exec_command_end` event a legacy-mode thread records for a command."""
    return {
        "type": "exec_command_end",
        "call_id": core["id"],
        "process_id": core.get("process_id"),
        "command": core["command"],
        "cwd": core["cwd"],
        "parsed_cmd": core["parsed_cmd"],
        "source": core["source"],
        "stdout": stdout,
        "stderr": "",
        "aggregated_output": core.get("aggregated_output") or "",
        "exit_code": core.get("exit_code"),
        "duration": core.get("duration"),
        "formatted_output": formatted_output,
        "status": core["status"],
    }


def file_change(
    call_id: str, changes: dict[str, Any], status: str, stdout: str = "", stderr: str = ""
) -> dict[str, Any]:
    """Core `FileChange` (status: `in_progress`, `completed`, `failed`, `declined`)."""
    return {
        "type": "FileChange",
        "id": call_id,
        "changes": changes,
        "status": status,
        "stdout": stdout,
        "stderr": stderr,
    }


def legacy_patch_end(core: dict[str, Any]) -> dict[str, Any]:
    """The `patch_apply_end` event a legacy-mode thread records for a patch."""
    return {
        "type": "patch_apply_end",
        "call_id": core["id"],
        "stdout": core["stdout"],
        "stderr": core["stderr"],
        "success": core["status"] == "completed",
        "changes": core["changes"],
        "status": core["status"],
    }


def image_view(call_id: str, path: str) -> dict[str, Any]:
    return {"type": "ImageView", "id": call_id, "path": path}


def sleep(call_id: str, duration_ms: int) -> dict[str, Any]:
    """Core sleep item: an `Extension` of kind `clock.sleep`, as 0.169 writes it."""
    return {"type": "Extension", "kind": "clock.sleep", "id": call_id, "durationMs": duration_ms}
