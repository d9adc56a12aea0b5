"""Value conversions shared by the rollout → wire item mapping (pure helpers).

Core (disk) enums are snake_case and some paths are `file://` URIs; the wire wants camelCase
and plain paths. These helpers convert single values and small structures (command actions,
file changes, agent states, …) into the dicts the wire models validate.
"""

from __future__ import annotations

import functools
import logging
import posixpath
import re
import shlex
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from protocol.types import TurnError

logger = logging.getLogger(__name__)

ENUM_CACHE_SIZE = 256
"""Distinct enum strings (statuses, sources, tool names) whose wire form is remembered: a few
kilobytes; an unusual file with more distinct values only evicts older ones."""

# --------------------------------------------------------------------------------------------
# Small value conversions


@functools.lru_cache(maxsize=ENUM_CACHE_SIZE)
def snake_to_camel(value: str) -> str:
    """`unified_exec_startup` → `unifiedExecStartup` (core enums are snake_case on disk).
    Cached: a history read converts the same few enum values tens of thousands of times."""
    head, *rest = value.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def path_from_uri(value: str) -> str:
    """A `file://` URI as a plain path; anything else is returned unchanged."""
    if value.startswith("file://"):
        return unquote(urlsplit(value).path)
    return value


def duration_to_ms(value: Any) -> int | None:
    """Core `Duration` (`{secs, nanos}`) → whole milliseconds (truncated, like Rust `as_millis`)."""
    if isinstance(value, (dict, Mapping)):
        secs = value.get("secs")
        nanos = value.get("nanos", 0)
        if isinstance(secs, int) and isinstance(nanos, int):
            return secs * 1000 + nanos // 1_000_000
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None


def command_source(value: Any) -> str:
    """Core `ExecCommandSource` (`unified_exec_startup`) → wire; absent ⇒ `agent` (the default)."""
    return snake_to_camel(value) if isinstance(value, str) and value else "agent"


def shell_join(argv: list[str]) -> str:
    """The display form of an argv (shell-quoted join).

    `["/bin/bash", "-lc", "echo hi"]` → `/bin/bash -lc 'echo hi'`.
    """
    return shlex.join(argv)


def codex_error_info_to_wire(value: Any) -> Any:
    """Disk `codex_error_info` (snake_case) → wire `codexErrorInfo` (camelCase).

    `"context_window_exceeded"` → `"contextWindowExceeded"`;
    `{"http_connection_failed": {"http_status_code": 502}}` →
    `{"httpConnectionFailed": {"httpStatusCode": 502}}`.
    """
    if isinstance(value, str):
        return snake_to_camel(value)
    if isinstance(value, (dict, Mapping)):
        return {
            snake_to_camel(str(key)): codex_error_info_to_wire(inner)
            for key, inner in value.items()
        }
    return value


def error_affects_turn_status(codex_error_info: Any) -> bool:
    """Whether an `error` event marks the current turn failed (codex's `affects_turn_status`).

    Only `thread_rollback_failed` and `active_turn_not_steerable` leave the turn alone.
    """
    if codex_error_info is None:
        return True
    if isinstance(codex_error_info, str):
        return codex_error_info not in {"thread_rollback_failed", "threadRollbackFailed"}
    if isinstance(codex_error_info, (dict, Mapping)):
        return not any(
            key in {"active_turn_not_steerable", "activeTurnNotSteerable"}
            for key in codex_error_info
        )
    return True


def turn_error_from_payload(payload: Any) -> TurnError | None:
    """A `TurnError` from an `error` event or a `task_complete.error` object (`{message, …}`)."""
    if isinstance(payload, str):
        return TurnError(message=payload)
    if not isinstance(payload, (dict, Mapping)) or not isinstance(payload.get("message"), str):
        return None
    data: dict[str, Any] = {"message": payload["message"]}
    if payload.get("codex_error_info") is not None:
        data["codex_error_info"] = codex_error_info_to_wire(payload["codex_error_info"])
    if isinstance(payload.get("additional_details"), str):
        data["additional_details"] = payload["additional_details"]
    return _validate_error(data)


def _validate_error(data: dict[str, Any]) -> TurnError | None:
    try:
        return TurnError.model_validate(data)
    except ValidationError as error:
        logger.debug("dropping malformed turn error %r: %s", data, error)
        return None


# --------------------------------------------------------------------------------------------
# Shared building blocks


def user_inputs_from_core(content: Any) -> list[dict[str, Any]]:
    """Core `UserInput[]` (snake_case tags) → wire `UserInput[]` dicts; unknown kinds dropped."""
    inputs: list[dict[str, Any]] = []
    if not isinstance(content, list):
        return inputs
    for entry in content:
        if not isinstance(entry, (dict, Mapping)):
            continue
        kind = entry.get("type")
        if kind == "text" and isinstance(entry.get("text"), str):
            inputs.append(
                {
                    "type": "text",
                    "text": entry["text"],
                    "text_elements": list(entry.get("text_elements") or []),
                }
            )
        elif kind == "image":
            image: dict[str, Any] = {"type": "image", "detail": entry.get("detail")}
            url = entry.get("image_url", entry.get("url"))
            if url is not None:
                image["url"] = url
            if entry.get("file_id") is not None:
                image["fileId"] = entry["file_id"]
            inputs.append(image)
        elif kind in {"local_image", "localImage"}:
            inputs.append({"type": "localImage", "path": entry.get("path")})
        elif kind in {"local_audio", "localAudio"}:
            inputs.append({"type": "localAudio", "path": entry.get("path")})
        elif kind in {"skill", "mention"}:
            inputs.append({"type": kind, "name": entry.get("name"), "path": entry.get("path")})
    return inputs


def command_actions(parsed_cmd: Any, cwd: str) -> list[dict[str, Any]]:
    """Core `parsed_cmd[]` → wire `CommandAction[]`; `read` paths are resolved against `cwd`."""
    actions: list[dict[str, Any]] = []
    if not isinstance(parsed_cmd, list):
        return actions
    for parsed in parsed_cmd:
        if not isinstance(parsed, (dict, Mapping)):
            continue
        kind = parsed.get("type")
        command = parsed.get("cmd", parsed.get("command"))
        if kind == "read":
            path = parsed.get("path")
            if not isinstance(path, str):
                continue
            actions.append(
                {
                    "type": "read",
                    "command": command,
                    "name": parsed.get("name"),
                    "path": posixpath.join(cwd, path) if cwd else path,
                }
            )
        elif kind in {"list_files", "listFiles"}:
            actions.append({"type": "listFiles", "command": command, "path": parsed.get("path")})
        elif kind == "search":
            actions.append(
                {
                    "type": "search",
                    "command": command,
                    "query": parsed.get("query"),
                    "path": parsed.get("path"),
                }
            )
        elif kind == "unknown":
            actions.append({"type": "unknown", "command": command})
    return actions


def file_changes(changes: Any) -> list[dict[str, Any]]:
    """Core `{path: FileChange}` → wire `FileUpdateChange[]`, sorted by path like codex."""
    converted: list[dict[str, Any]] = []
    if not isinstance(changes, (dict, Mapping)):
        return converted
    for path, change in changes.items():
        if not isinstance(change, (dict, Mapping)):
            continue
        kind = change.get("type")
        if kind in {"add", "delete"}:
            converted.append(
                {"path": str(path), "kind": {"type": kind}, "diff": change.get("content", "")}
            )
        elif kind == "update":
            move_path = change.get("move_path")
            diff = change.get("unified_diff", "")
            if move_path:
                diff = f"{diff}\n\nMoved to: {move_path}"
            converted.append(
                {
                    "path": str(path),
                    "kind": {"type": "update", "move_path": move_path},
                    "diff": diff,
                }
            )
    converted.sort(key=lambda change: str(change["path"]))
    return converted


def collab_agent_state(value: Any) -> dict[str, Any] | None:
    """Core `AgentStatus` → wire `CollabAgentState`.

    `"running"` → `{status: running}`; `{"completed": msg}` → `{status: completed, message}`.
    """
    if isinstance(value, str):
        return {"status": snake_to_camel(value), "message": None}
    if isinstance(value, (dict, Mapping)):
        if "status" in value:
            status = value["status"]
            return {
                "status": snake_to_camel(status) if isinstance(status, str) else status,
                "message": value.get("message"),
            }
        if len(value) == 1:
            ((key, message),) = value.items()
            return {"status": snake_to_camel(str(key)), "message": message}
    return None


def web_search_action(value: Any) -> dict[str, Any] | None:
    """Core/Responses web-search action (`search`, `open_page`, `find_in_page`) → wire action."""
    if not isinstance(value, (dict, Mapping)):
        return None
    kind = value.get("type")
    if kind == "search":
        return {"type": "search", "query": value.get("query"), "queries": value.get("queries")}
    if kind in {"open_page", "openPage"}:
        return {"type": "openPage", "url": value.get("url")}
    if kind in {"find_in_page", "findInPage"}:
        return {"type": "findInPage", "url": value.get("url"), "pattern": value.get("pattern")}
    return {"type": "other"}


def item_timestamps(started_at_ms: Any, completed_at_ms: Any) -> dict[str, Any]:
    """`startedAtMs`/`completedAtMs` of an item (integers only; anything else is null)."""
    return {
        "started_at_ms": started_at_ms if isinstance(started_at_ms, int) else None,
        "completed_at_ms": completed_at_ms if isinstance(completed_at_ms, int) else None,
    }


_UPPER = re.compile(r"(?<!^)(?=[A-Z])")


def wire_status(value: Any, default: str) -> str:
    """Core status (`completed`, `in_progress`, `InProgress`) → wire camelCase status."""
    if not isinstance(value, str) or not value:
        return default
    return _camel_status(value)


@functools.lru_cache(maxsize=ENUM_CACHE_SIZE)
def _camel_status(value: str) -> str:
    return snake_to_camel(_UPPER.sub("_", value).lower())


def memory_citation(value: Any) -> dict[str, Any] | None:
    """Core memory citation (`{entries, rollout_ids}`) → wire (`{entries, threadIds}`)."""
    if not isinstance(value, (dict, Mapping)):
        return None
    return {
        "entries": list(value.get("entries") or []),
        "thread_ids": list(value.get("rollout_ids", value.get("thread_ids")) or []),
    }


def mcp_result(value: Any) -> dict[str, Any] | None:
    """MCP `CallToolResult` (`{content, structured_content|structuredContent, _meta}`) → wire."""
    if not isinstance(value, (dict, Mapping)):
        return None
    return {
        "content": list(value.get("content") or []),
        "structured_content": value.get("structured_content", value.get("structuredContent")),
        "_meta": value.get("_meta", value.get("meta")),
    }


def mcp_error(value: Any) -> dict[str, Any] | None:
    """An MCP error object `{message}` → wire `McpToolCallError`; anything else → `None`."""
    if isinstance(value, (dict, Mapping)) and isinstance(value.get("message"), str):
        return {"message": value["message"]}
    return None
