"""Wire items of the history fold rendered straight to JSON, without building pydantic models.

A 100 MB rollout has tens of thousands of `item_completed` lines. Validating each mapped item
into its `ThreadItem` model and serializing the finished turn again cost about a third of a
history read (issue 17). The common items (user and agent messages, reasoning, commands) are
mapped by the same builders as before (`item_mapping`), and when the builder's data has a plain
shape the model would take unchanged (the right types, enum values and integer ranges) it is
rendered by orjson in the model's field order, which is byte for byte what pydantic writes
(`tests/rollout/test_rendered_items.py` compares the two on generated items). Anything else
(another kind, an unusual value, a malformed item) goes through the model as before, so what is
accepted, dropped or logged does not change.

A `RenderedItem` keeps the item's id and wire type beside its JSON: the fold upserts by id, and
the legacy reasoning events look at the type of the turn's last item. `model()` parses it back
for code that wants the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from app_server.rollout import item_mapping
from app_server.rollout.item_mapping import THREAD_ITEM
from app_server.rollout.lines import JsonObject
from protocol.types import ThreadItem

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_COMMAND_STATUSES = frozenset({"inProgress", "completed", "failed", "declined"})
_COMMAND_SOURCES = frozenset({"agent", "userShell", "unifiedExecStartup", "unifiedExecInteraction"})
_MESSAGE_PHASES = frozenset({None, "commentary", "partial_answer", "final_answer"})


class RenderedItem:
    """One wire item as its compact JSON (see the module docstring)."""

    __slots__ = ("id", "json", "type")

    def __init__(self, item_id: str, wire_type: str, json: bytes) -> None:
        self.id = item_id
        self.type = wire_type
        self.json = json

    def model(self) -> ThreadItem:
        """The item as its model (parsed anew on each call)."""
        return THREAD_ITEM.validate_json(self.json)

    def __repr__(self) -> str:
        return f"RenderedItem({self.type!r}, {self.id!r})"


def item_json(item: ThreadItem | RenderedItem) -> bytes:
    """An item's compact wire JSON, whichever form it is kept in."""
    if isinstance(item, RenderedItem):
        return item.json
    return THREAD_ITEM.dump_json(item)


def rendered_item_from_core(
    item: JsonObject, *, started_at_ms: Any = None, completed_at_ms: Any = None
) -> RenderedItem | None:
    """The wire item of a persisted core TurnItem, rendered; `None` when it is unknown or
    malformed (exactly when `item_mapping.thread_item_from_core` says so)."""
    kind = item.get("type")
    fast = _FAST_RENDERERS.get(kind) if isinstance(kind, str) else None
    if fast is not None and _is_int64_or_none(started_at_ms) and _is_int64_or_none(completed_at_ms):
        try:
            data = fast(item)
        except (KeyError, TypeError, ValueError):
            data = None  # the model path logs and drops it
        if data is not None:
            data["completedAtMs"] = completed_at_ms
            data["startedAtMs"] = started_at_ms
            return RenderedItem(data["id"], data["type"], orjson.dumps(data))
    model = item_mapping.thread_item_from_core(
        item, started_at_ms=started_at_ms, completed_at_ms=completed_at_ms
    )
    if model is None:
        return None
    return RenderedItem(model.id, model.type, THREAD_ITEM.dump_json(model))


# ---------------------------------------------------------------------------------------------
# The fast renderers: the builder's data in the model's field order, or None when it is not of a
# shape they are sure the model takes unchanged. The timestamps are added by the caller, last.


def _user_message(item: JsonObject) -> dict[str, Any] | None:
    data = item_mapping.core_builder("UserMessage")(item)
    assert data is not None
    client_id = data["client_id"]
    if not _is_str(data["id"]) or not (client_id is None or _is_str(client_id)):
        return None
    content = []
    for entry in data["content"]:
        if entry["type"] != "text" or entry["text_elements"]:
            return None
        content.append({"text": entry["text"], "text_elements": [], "type": "text"})
    return {"clientId": client_id, "content": content, "id": data["id"], "type": "userMessage"}


def _agent_message(item: JsonObject) -> dict[str, Any] | None:
    data = item_mapping.core_builder("AgentMessage")(item)
    assert data is not None
    phase = data["phase"]
    if not _is_str(data["id"]) or data["memory_citation"] is not None:
        return None
    if not (phase is None or (_is_str(phase) and phase in _MESSAGE_PHASES)):
        return None
    return {
        "delivery": None,
        "id": data["id"],
        "memoryCitation": None,
        "moderation": None,
        "phase": phase,
        "questions": None,
        "text": data["text"],
        "type": "agentMessage",
    }


def _reasoning(item: JsonObject) -> dict[str, Any] | None:
    data = item_mapping.core_builder("Reasoning")(item)
    assert data is not None
    summary, content = data["summary"], data["content"]
    if not _is_str(data["id"]) or not _all_str(summary) or not _all_str(content):
        return None
    return {"content": content, "id": data["id"], "summary": summary, "type": "reasoning"}


def _command_execution(item: JsonObject) -> dict[str, Any] | None:
    data = item_mapping.core_builder("CommandExecution")(item)
    assert data is not None
    if not (_is_str(data["id"]) and _is_str(data["command"]) and _is_str(data["cwd"])):
        return None
    if not (_is_str(data["source"]) and data["source"] in _COMMAND_SOURCES):
        return None
    if not (_is_str(data["status"]) and data["status"] in _COMMAND_STATUSES):
        return None
    output, exit_code, duration = data["aggregated_output"], data["exit_code"], data["duration_ms"]
    optional_strings = (output, data["plugin_id"], data["process_id"], data["script_path"])
    if not all(value is None or _is_str(value) for value in optional_strings):
        return None
    if not (_is_int_or_none(exit_code, _INT32) and _is_int64_or_none(duration)):
        return None
    actions = [_command_action(action) for action in data["command_actions"]]
    if any(action is None for action in actions):
        return None
    return {
        "aggregatedOutput": output,
        "command": data["command"],
        "commandActions": actions,
        "cwd": data["cwd"],
        "durationMs": duration,
        "exitCode": exit_code,
        "id": data["id"],
        "pluginId": data["plugin_id"],
        "processId": data["process_id"],
        "scriptPath": data["script_path"],
        "source": data["source"],
        "status": data["status"],
        "type": "commandExecution",
    }


def _command_action(action: dict[str, Any]) -> dict[str, Any] | None:
    """A `CommandAction` in its model's field order (None: not plainly valid)."""
    kind, command = action["type"], action["command"]
    if not _is_str(command):
        return None
    if kind == "read":
        name, path = action["name"], action["path"]
        if not (_is_str(name) and _is_str(path)):
            return None
        return {"command": command, "name": name, "path": path, "type": "read"}
    path = action.get("path")
    if not (path is None or _is_str(path)):
        return None
    if kind == "listFiles":
        return {"command": command, "path": path, "type": "listFiles"}
    if kind == "search":
        query = action["query"]
        if not (query is None or _is_str(query)):
            return None
        return {"command": command, "path": path, "query": query, "type": "search"}
    if kind == "unknown":
        return {"command": command, "type": "unknown"}
    return None


def _is_str(value: Any) -> bool:
    return type(value) is str


def _all_str(values: list[Any]) -> bool:
    return all(type(value) is str for value in values)


def _is_int_or_none(value: Any, bounds: tuple[int, int]) -> bool:
    return value is None or (type(value) is int and bounds[0] <= value <= bounds[1])


def _is_int64_or_none(value: Any) -> bool:
    return _is_int_or_none(value, _INT64)


_FAST_RENDERERS: dict[str, Callable[[JsonObject], dict[str, Any] | None]] = {
    "UserMessage": _user_message,
    "AgentMessage": _agent_message,
    "Reasoning": _reasoning,
    "CommandExecution": _command_execution,
}
